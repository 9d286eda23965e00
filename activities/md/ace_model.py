"""An ACE potential (Pacemaker's B-basis .yaml) and its active set (.asi) as flat arrays for the compiled
exploration kernel (ace_kernel.py).

Everything is read through pyace itself, so the kernel evaluates exactly the potential Pacemaker fitted:
basis functions (species, n, l, m-combinations, generalised Clebsch-Gordan coefficients, coefficients
per density), the embedding (Finnis-Sinclair / shifted-scaled, per density), the inner cutoff (ZBL core
repulsion or the rho_core cut) and the radial functions. The radial functions are not re-derived: pyace's
own evaluation (values and derivatives of g_k, R_nl and the core repulsion) is sampled on a grid and
interpolated with the same cubic Hermite scheme pyace uses (SplineInterpolator in ace_radial.cpp), so
the kernel and pyace agree to the interpolation error (measured in test/python/test_md_kernel.py).

Conventions follow lib/ace/src/ace/ace_b_evaluator.cpp (ACEBEvaluator::compute_atom) of python-ace.
"""
from dataclasses import dataclass

import numpy as np

NPOT_FS, NPOT_FS_SHIFTED = 0, 1


@dataclass
class AceModel:
    elements: list
    cutoff: float  # the largest pair cutoff (Å)
    nradbase: int
    nradmax: int
    lmax: int
    # radial table, [mu_i, mu_j, row, function, 4] cubic coefficients of g_k (nradbase), the used R_nl
    # (c_col of mu_j) and the core repulsion (last); rscale = rows per Å
    rscale: np.ndarray
    nlut: np.ndarray
    rad_tab: np.ndarray
    cut: np.ndarray
    cut_in: np.ndarray
    dcut_in: np.ndarray
    zbl: bool
    # spherical harmonics recursion constants (ACECartesianSphericalHarmonics::pre_compute)
    alm: np.ndarray
    blm: np.ndarray
    cl: np.ndarray
    dl: np.ndarray
    # embedding per element
    ndensity: np.ndarray
    npot: np.ndarray
    fs_params: np.ndarray  # [mu, p, (wpre, mexp)]
    rho_core_cut: np.ndarray
    drho_core_cut: np.ndarray
    # rank-1 functions, per element block r1_start[mu]..r1_start[mu+1]
    r1_start: np.ndarray
    r1_mu: np.ndarray
    r1_n: np.ndarray
    r1_coeff: np.ndarray  # [f, p]
    # rank>1 functions, per element block f_start[mu]..f_start[mu+1]
    f_start: np.ndarray
    f_rank: np.ndarray
    f_coeff: np.ndarray  # [f, p]
    f_ms_start: np.ndarray  # [f+1] into the ms arrays
    ms_aidx: np.ndarray  # [ms, t]: flat index of A(mu_t, n_t, l_t, m_t)
    ms_anidx: np.ndarray  # [ms, t]: flat index of A(mu_t, n_t, l_t, -m_t)
    ms_sign: np.ndarray  # [ms, t]: (-1)^m_t
    ms_gcg: np.ndarray  # [ms]
    nproj: np.ndarray  # projections per element (rank-1 + rank>1 functions)
    # what the basis uses, per neighbour species mu_j: radial columns n*(L+1)+l (c_*), and the
    # (n, l, |m|) entries of A (u_*: position in the species' column list, l(l+1)/2+m, flat A index, m)
    c_start: np.ndarray
    c_col: np.ndarray
    u_start: np.ndarray
    u_c: np.ndarray
    u_k: np.ndarray
    u_a: np.ndarray
    u_m: np.ndarray
    # active set: inverse per element, padded [mu, P, P]; linear (projections) or not (dE/dc)
    asi: np.ndarray
    asi_linear: bool
    has_asi: bool
    asi_size: np.ndarray  # per element: rows of its active-set inverse in use (0: no active set)

    def a_index(self, mu, n, ll, m):
        L = self.lmax
        return ((mu * self.nradmax + n) * (L + 1) + ll) * (2 * L + 1) + (m + L)

    @property
    def a_size(self):
        L = self.lmax
        return len(self.elements) * self.nradmax * (L + 1) * (2 * L + 1)


def _harmonics_constants(lmax):
    alm = np.zeros((lmax + 1, lmax + 1))
    blm = np.zeros((lmax + 1, lmax + 1))
    cl = np.zeros(lmax + 1)
    dl = np.zeros(lmax + 1)
    for ll in range(1, lmax + 1):
        lsq, ld = ll * ll, 2 * ll
        l1, l2 = 4 * lsq - 1, lsq - ld + 1
        for m in range(0, ll - 1):
            msq = m * m
            alm[ll, m] = np.sqrt(l1 / (lsq - msq))
            blm[ll, m] = -np.sqrt((l2 - msq) / (4 * l2 - 1))
        cl[ll] = -np.sqrt(1.0 + 0.5 / ll)
        dl[ll] = np.sqrt(2 * (ll - 1) + 3)
    return alm, blm, cl, dl


def _hermite_table(values, derivs, rscale):
    """Cubic coefficients per interval [k, k+1) from values/derivatives at the nodes, exactly as
    SplineInterpolator::setupSplines (the last node's right neighbour is zero)."""
    f0, d0 = values, derivs / rscale
    f1 = np.zeros_like(values)
    d1 = np.zeros_like(values)
    f1[:-1], d1[:-1] = values[1:], derivs[1:] / rscale
    c = np.empty(values.shape + (4,))
    c[..., 0] = f0
    c[..., 1] = d0
    c[..., 2] = 3.0 * (f1 - f0) - d1 - 2.0 * d0
    c[..., 3] = -2.0 * (f1 - f0) + d1 + d0
    return c


def load_model(potential_yaml, active_set=None, spacing=0.002):
    """Read a B-basis potential (and optionally its .asi) into an AceModel. `spacing` (Å) is the radial
    table's node spacing (pyace's own is 0.001; 0.002 halves the table, keeps it in cache and agrees with
    pyace to ~1e-9 relative)."""
    from pyace.basis import ACEBBasisSet

    b = ACEBBasisSet(potential_yaml)
    elements = list(b.elements_name)
    nel = len(elements)
    rf = b.radial_functions
    NB, NR, L = int(b.nradbase), int(b.nradmax), int(b.lmax)
    cut = np.array(rf.cut, dtype=float).reshape(nel, nel)
    cut_in = np.array(rf.cut_in, dtype=float).reshape(nel, nel)
    dcut_in = np.array(rf.dcut_in, dtype=float).reshape(nel, nel)
    nlut = np.zeros((nel, nel), dtype=np.int64)
    rscale = np.zeros((nel, nel))
    for i in range(nel):
        for j in range(nel):
            nlut[i, j] = int(cut[i, j] / spacing)
            rscale[i, j] = nlut[i, j] / cut[i, j]
    rows = int(nlut.max()) + 1
    gk = np.zeros((nel, nel, rows, NB, 4))
    rnl = np.zeros((nel, nel, rows, NR * (L + 1), 4))
    hc = np.zeros((nel, nel, rows, 1, 4))
    for i in range(nel):
        for j in range(nel):
            n = nlut[i, j]
            vals_g = np.zeros((n + 1, NB))
            der_g = np.zeros((n + 1, NB))
            vals_r = np.zeros((n + 1, NR * (L + 1)))
            der_r = np.zeros((n + 1, NR * (L + 1)))
            vals_c = np.zeros((n + 1, 1))
            der_c = np.zeros((n + 1, 1))
            for k in range(1, n):  # node 0 (r = 0) is never used; node n (r = cut) is zero
                r = k / rscale[i, j]
                rf.evaluate(r, NB, NR, i, j)
                vals_g[k], der_g[k] = rf.gr, rf.dgr
                vals_r[k], der_r[k] = np.ravel(rf.fr), np.ravel(rf.dfr)
                vals_c[k, 0], der_c[k, 0] = rf.cr, rf.dcr
            gk[i, j, : n + 1] = _hermite_table(vals_g, der_g, rscale[i, j])
            rnl[i, j, : n + 1] = _hermite_table(vals_r, der_r, rscale[i, j])
            hc[i, j, : n + 1] = _hermite_table(vals_c, der_c, rscale[i, j])

    emb = [b.map_embedding_specifications[mu] for mu in range(nel)]
    ndens = np.array([e.ndensity for e in emb], dtype=np.int64)
    pmax = int(ndens.max())
    npot = np.array([NPOT_FS_SHIFTED if e.npoti == "FinnisSinclairShiftedScaled" else NPOT_FS for e in emb], dtype=np.int64)
    for e in emb:
        if e.npoti not in ("FinnisSinclair", "FinnisSinclairShiftedScaled"):
            raise ValueError(f"embedding {e.npoti} is not supported by the exploration kernel")
    fs = np.zeros((nel, pmax, 2))
    for mu, e in enumerate(emb):
        par = list(e.FS_parameters)
        for p in range(e.ndensity):
            fs[mu, p] = par[2 * p], par[2 * p + 1]

    inner = rf.inner_cutoff_type
    if inner not in ("zbl", "distance", "density"):
        raise ValueError(f"inner cutoff {inner} is not supported by the exploration kernel")

    r1_start, r1_mu, r1_n, r1_coeff = [0], [], [], []
    f_start, f_rank, f_coeff, f_ms_start = [0], [], [], [0]
    aidx, anidx, sign, gcg = [], [], [], []
    R = int(max((f.rank for mu in range(nel) for f in b.basis[mu]), default=1))
    model_stub = AceModel.__new__(AceModel)
    model_stub.lmax, model_stub.nradmax = L, NR
    nproj = []
    for mu in range(nel):
        for f in b.basis_rank1[mu]:
            r1_mu.append(f.mus[0])
            r1_n.append(f.ns[0] - 1)
            r1_coeff.append(list(f.coeffs) + [0.0] * (pmax - len(f.coeffs)))
        r1_start.append(len(r1_mu))
        for f in b.basis[mu]:
            f_rank.append(f.rank)
            f_coeff.append(list(f.coeffs) + [0.0] * (pmax - len(f.coeffs)))
            for ms, g in zip(f.ms_combs, f.gen_cgs):
                row_a, row_n, row_s = [0] * R, [0] * R, [0] * R
                for t in range(f.rank):
                    m = ms[t]
                    row_a[t] = model_stub.a_index(f.mus[t], f.ns[t] - 1, f.ls[t], m)
                    row_n[t] = model_stub.a_index(f.mus[t], f.ns[t] - 1, f.ls[t], -m)
                    row_s[t] = 1 if m % 2 == 0 else -1
                aidx.append(row_a)
                anidx.append(row_n)
                sign.append(row_s)
                gcg.append(g)
            f_ms_start.append(len(gcg))
        f_start.append(len(f_rank))
        nproj.append(len(b.basis_rank1[mu]) + len(b.basis[mu]))

    nproj = np.array(nproj, dtype=np.int64)
    used = set()  # (mu_j, n, l, |m|)
    for mu in range(nel):
        for f in b.basis[mu]:
            for ms in f.ms_combs:
                for t in range(f.rank):
                    used.add((f.mus[t], f.ns[t] - 1, f.ls[t], abs(ms[t])))
    c_start, c_col, u_start, u_c, u_k, u_a, u_m = [0], [], [0], [], [], [], []
    for mj in range(nel):
        cols = sorted({n * (L + 1) + ll for (m_, n, ll, _) in used if m_ == mj})
        for (_, n, ll, m) in sorted(x for x in used if x[0] == mj):
            u_c.append(cols.index(n * (L + 1) + ll))
            u_k.append(ll * (ll + 1) // 2 + m)
            u_a.append(model_stub.a_index(mj, n, ll, m))
            u_m.append(m)
        c_col.extend(cols)
        c_start.append(len(c_col))
        u_start.append(len(u_c))
    asi_linear, has_asi = True, active_set is not None
    asi = np.zeros((nel, 1, 1))
    if has_asi:
        data = np.load(active_set)
        missing = [e for e in elements if e not in data]
        if missing:
            raise ValueError(f"{active_set}: no active set for {', '.join(missing)}")
        mats = [np.asarray(data[e], dtype=float) for e in elements]
        sizes = {m.shape[0] for m in mats}
        asi_linear = all(m.shape[0] == nproj[mu] for mu, m in enumerate(mats))
        if not asi_linear and not all(m.shape[0] == nproj[mu] * ndens[mu] for mu, m in enumerate(mats)):
            raise ValueError(f"{active_set}: active-set shapes {sorted(sizes)} match neither the projections nor dE/dc of {potential_yaml}")
        P = max(sizes)
        asi = np.zeros((nel, P, P))
        for mu, m in enumerate(mats):
            asi[mu, : m.shape[0], : m.shape[1]] = m

    # One table row per distance holds everything a neighbour needs, contiguous.
    maxc = max(c_start[k + 1] - c_start[k] for k in range(nel))
    rad = np.zeros((nel, nel, rows, NB + maxc + 1, 4))
    for i in range(nel):
        for j in range(nel):
            cols = c_col[c_start[j]:c_start[j + 1]]
            rad[i, j, :, :NB] = gk[i, j]
            rad[i, j, :, NB:NB + len(cols)] = rnl[i, j][:, cols]
            rad[i, j, :, -1] = hc[i, j, :, 0]
    alm, blm, cl, dl = _harmonics_constants(L)
    arr = lambda x, t=np.int64: np.ascontiguousarray(np.array(x, dtype=t))  # noqa: E731
    return AceModel(
        elements=elements, cutoff=float(cut.max()), nradbase=NB, nradmax=NR, lmax=L,
        rscale=rscale, nlut=nlut, rad_tab=rad, cut=cut, cut_in=cut_in, dcut_in=dcut_in,
        zbl=inner == "zbl", alm=alm, blm=blm, cl=cl, dl=dl,
        ndensity=ndens, npot=npot, fs_params=fs,
        rho_core_cut=np.array([e.rho_core_cutoff for e in emb], dtype=float),
        drho_core_cut=np.array([e.drho_core_cutoff for e in emb], dtype=float),
        r1_start=arr(r1_start), r1_mu=arr(r1_mu), r1_n=arr(r1_n), r1_coeff=arr(r1_coeff, float).reshape(-1, pmax),
        f_start=arr(f_start), f_rank=arr(f_rank), f_coeff=arr(f_coeff, float).reshape(-1, pmax),
        f_ms_start=arr(f_ms_start), ms_aidx=arr(aidx).reshape(-1, R), ms_anidx=arr(anidx).reshape(-1, R),
        ms_sign=arr(sign, float).reshape(-1, R), ms_gcg=arr(gcg, float),
        asi_size=(np.zeros(nel, np.int64) if not has_asi else (nproj if asi_linear else nproj * ndens).astype(np.int64)),
        nproj=nproj, c_start=arr(c_start), c_col=arr(c_col), u_start=arr(u_start), u_c=arr(u_c), u_k=arr(u_k),
        u_a=arr(u_a), u_m=arr(u_m), asi=asi, asi_linear=asi_linear, has_asi=has_asi,
    )
