"""Compiled ACE energy, forces, virial and extrapolation grade (numba), for the exploration engine.

One call evaluates every atom of a batch of systems (several trajectories at once): atoms are split into
chunks run in parallel (numba threads), each atom's forces on its neighbours are written to that pair's
slot, then summed per atom. The per-atom algorithm is python-ace's ACEBEvaluator::compute_atom
(lib/ace/src/ace/ace_b_evaluator.cpp) step by step: radial functions and spherical harmonics per
neighbour, atomic base A, B-basis products and projections, Finnis-Sinclair embedding, ZBL / rho-core
inner cutoff, weights, pair forces. The extrapolation grade comes from the projections (or dE/dc for a
non-linear active set) times the inverted active set, as pyace does it.
"""
import numba as nb
import numpy as np

FLOAT = np.float64


@nb.njit(cache=True, inline="always")
def _cutoff_poly(r, r_in, delta_in):
    if r <= r_in - delta_in:
        return 1.0, 0.0
    if r >= r_in:
        return 0.0, 0.0
    x = 1.0 - 2.0 * (1.0 + (r - r_in) / delta_in)
    fc = 0.5 + 7.5 / 2.0 * (x / 4.0 - x**3 / 6.0 + x**5 / 20.0)
    dfc = -7.5 / delta_in * (0.25 - x * x / 2.0 + x**4 / 4.0)
    return fc, dfc


@nb.njit(cache=True, inline="always")
def _embedding_offsets(mexp):
    """The constant offsets of FexpShiftedScaled, x_off and y_off over exp(-|rho|): once per call, not per atom."""
    if abs(mexp - 1.0) < 1e-10:
        return 0.0, 0.0
    nx = 1.0 / mexp
    return nx ** (nx / (1.0 - nx)), nx ** (1.0 / (1.0 - nx))


@nb.njit(cache=True, inline="always")
def _embedding(rho, npot, wpre, mexp, xoff0, yoff0):
    """F and dF/drho of one density (FexpShiftedScaled / Fexp in ace_abstract_basis.cpp), times wpre."""
    if npot == 1:
        if abs(mexp - 1.0) < 1e-10:
            return wpre * rho, wpre
        a = abs(rho)
        exprho = np.exp(-a)
        xoff = xoff0 * exprho
        yoff = yoff0 * exprho
        s = -1.0 if rho < 0 else 1.0
        b = xoff + a
        bm1 = b ** (mexp - 1.0)  # one power for F and DF
        F = s * (bm1 * b - yoff)
        DF = yoff + mexp * (-xoff + 1.0) * bm1
        return wpre * F, wpre * DF
    w = 1.0e6
    lam = (1.0 / w) ** (mexp - 1.0)
    if abs(rho) > 1e-10:
        a = abs(rho)
        am1 = a ** (mexp - 1.0)
        am = am1 * a
        w3x3 = (w * a) ** 3
        g = 0.0 if w3x3 > 30.0 else np.exp(-w3x3)
        s = -1.0 if rho < 0 else 1.0
        omg = 1.0 - g
        F = s * (omg * am + lam * g * a)
        dg = -3.0 * w * w * w * a * a * g
        DF = mexp * am1 * omg - am * dg + lam * dg * a + lam * g
        return wpre * F, wpre * DF
    return wpre * lam * rho, wpre * lam


@nb.njit(cache=True, parallel=True, fastmath=True)
def compute(
    pos, cells, system, species, nl_start, nl_j, nl_S, nchunks,
    # model
    NB, NR, L, rscale, nlut, rad_tab, cut, cut_in, dcut_in, zbl,
    alm, blm, cl, dl, ndensity, npot, fs_params, rho_core_cut, drho_core_cut,
    r1_start, r1_mu, r1_n, r1_coeff, f_start, f_rank, f_coeff, f_ms_start, ms_aidx, ms_anidx, ms_sign, ms_gcg,
    c_start, c_col, u_start, u_c, u_k, u_a, u_m, asi_linear, a_size, nel, pmax, asi, asi_size,
    # outputs
    energies, forces_t, virial_out, gamma_out, rmin_out,
):
    """Per-atom energies, forces (each pair's f_ji acts on i, its negative on j; every thread adds into
    its own slice forces_t[thread], zeroed by the caller and summed over threads after the call, so
    threads never write the same atom), per-atom virials sum_j r_ij (x) f_ji (Voigt order xx, yy, zz, yz, xz, xy),
    per-atom extrapolation grades (max_k |v_i . asi[mu_i][:, k]| with v_i the projections, or dE/dc for a
    non-linear active set; 0 without an active set: asi_size 0), and each atom's closest neighbour
    (rmin_out; 1e300 when it has none). Pair p of atom i (system s) joins i to the image of atom j at
    pos[j] + nl_S[p] @ cells[s]: the shifts are applied here, so a changed cell (NPT) costs nothing extra.

    Only the radial functions and A(n, l, m) that some basis function uses are computed: c_* lists the
    used radial columns n*(L+1)+l per neighbour species, u_* the used (n, l, |m|) entries (u_c: position in
    the species' column list, u_k: l(l+1)/2+m, u_a: flat A index, u_m: m). Per-neighbour quantities are
    stored feature-major ([feature, neighbour]) and the neighbours of an atom are grouped by species, so
    the inner loops run over contiguous neighbours and vectorise. Loops over a species' neighbour range
    use unsigned bounds: with a signed index numba wraps negative indices, and that branch keeps LLVM
    from vectorising (measured 3x on such a loop)."""
    n = pos.shape[0]
    nlm = (L + 1) * (L + 2) // 2
    maxc = 0
    for mj in range(nel):
        maxc = max(maxc, c_start[mj + 1] - c_start[mj])
    maxp = 1  # basis functions (projections) per element
    for mu in range(nel):
        maxp = max(maxp, r1_start[mu + 1] - r1_start[mu] + f_start[mu + 1] - f_start[mu])
    maxnb = 1
    for i in range(n):
        if nl_start[i + 1] - nl_start[i] > maxnb:
            maxnb = nl_start[i + 1] - nl_start[i]
    # explicit loops, not np.zeros: outside the prange numba would run that as a parallel region of its own
    emb_off = np.empty((nel, pmax, 2))
    for mu in range(nel):
        for q in range(pmax):
            emb_off[mu, q, 0], emb_off[mu, q, 1] = _embedding_offsets(fs_params[mu, q, 1]) if q < ndensity[mu] else (0.0, 0.0)
    sq3 = 1.73205080756887719318
    sq3o2 = 1.22474487139158894067
    for c in nb.prange(nchunks):
        i0 = c * n // nchunks
        i1 = (c + 1) * n // nchunks
        fo = forces_t[nb.get_thread_id()]
        K = maxnb
        tr = np.empty(K)
        tx = np.empty(K)
        ty = np.empty(K)
        tz = np.empty(K)
        tmu = np.empty(K, np.int64)
        tp = np.empty(K, np.int64)
        rr = np.empty(K)
        hx = np.empty(K)
        hy = np.empty(K)
        hz = np.empty(K)
        ir = np.empty(K)
        pk = np.empty(K, np.int64)
        ks = np.zeros(nel + 1, np.int64)
        fill = np.empty(nel, np.int64)
        G = np.empty((NB, K))
        DG = np.empty((NB, K))
        R = np.empty((maxc, K))
        DR = np.empty((maxc, K))
        CR = np.empty(K)
        DCR = np.empty(K)
        plm = np.empty((nlm, K))
        dplm = np.empty((nlm, K))
        Yre = np.empty((nlm, K))
        Yim = np.empty((nlm, K))
        DXre = np.empty((nlm, K))
        DXim = np.empty((nlm, K))
        DYre = np.empty((nlm, K))
        DYim = np.empty((nlm, K))
        DZre = np.empty((nlm, K))
        DZim = np.empty((nlm, K))
        phre = np.empty(K)
        phim = np.empty(K)
        mpre = np.empty(K)
        mpim = np.empty(K)
        WRre = np.empty((nlm, K))
        WRim = np.empty((nlm, K))
        radial = np.empty(K)
        row = np.empty(K, np.uint64)
        wv = np.empty(K)
        FX = np.empty(K)
        FY = np.empty(K)
        FZ = np.empty(K)
        A1 = np.empty((nel, NB))
        Are = np.empty(a_size)
        Aim = np.empty(a_size)
        Wre = np.empty(a_size)
        Wim = np.empty(a_size)
        W1 = np.empty((nel, NB))
        rhos = np.empty(pmax)
        dF = np.empty(pmax)
        proj = np.empty(maxp)
        vec = np.empty(max(1, asi.shape[1]))
        acc = np.empty(max(1, asi.shape[2]))
        for i in range(i0, i1):
            mui = species[i]
            xi0, xi1, xi2 = pos[i, 0], pos[i, 1], pos[i, 2]
            cs = cells[system[i]]
            c00, c01, c02 = cs[0, 0], cs[0, 1], cs[0, 2]
            c10, c11, c12 = cs[1, 0], cs[1, 1], cs[1, 2]
            c20, c21, c22 = cs[2, 0], cs[2, 1], cs[2, 2]
            # neighbours within the cutoff, then grouped by species (counting sort)
            nt = 0
            rmin = 1e300
            for q in range(nel + 1):
                ks[q] = 0
            for p in range(nl_start[i], nl_start[i + 1]):
                j = nl_j[p]
                s0, s1, s2 = nl_S[p, 0], nl_S[p, 1], nl_S[p, 2]
                dx = pos[j, 0] - xi0 + (s0 * c00 + s1 * c10 + s2 * c20)
                dy = pos[j, 1] - xi1 + (s0 * c01 + s1 * c11 + s2 * c21)
                dz = pos[j, 2] - xi2 + (s0 * c02 + s1 * c12 + s2 * c22)
                r2 = dx * dx + dy * dy + dz * dz
                mj = species[j]
                rc = cut[mui, mj]
                if r2 >= rc * rc:
                    continue
                r = np.sqrt(r2)
                if r < rmin:
                    rmin = r
                tr[nt] = r
                tx[nt] = dx
                ty[nt] = dy
                tz[nt] = dz
                tmu[nt] = mj
                tp[nt] = p
                ks[mj + 1] += 1
                nt += 1
            rmin_out[i] = rmin
            for q in range(nel):
                ks[q + 1] += ks[q]
                fill[q] = ks[q]
            for t in range(nt):
                k = fill[tmu[t]]
                fill[tmu[t]] += 1
                r = tr[t]
                inv = 1.0 / r
                rr[k] = r
                ir[k] = inv
                hx[k] = tx[t] * inv
                hy[k] = ty[t] * inv
                hz[k] = tz[t] * inv
                pk[k] = tp[t]
            nn = nt
            # ZBL: the neighbour closest to the inner cutoff
            dmin = 1e300
            jmin = -1
            if zbl:
                for mj in range(nel):
                    off = cut_in[mui, mj] - dcut_in[mui, mj]
                    for k in range(ks[mj], ks[mj + 1]):
                        d = rr[k] - off
                        if d < dmin:
                            dmin = d
                            jmin = k
            # radial functions (cubic Hermite tables), per neighbour
            for mj in range(nel):
                rs = rscale[mui, mj]
                nlt = nlut[mui, mj]
                ncol = c_start[mj + 1] - c_start[mj]
                k0 = ks[mj]
                k1 = ks[mj + 1]
                # interval and offset per neighbour, then one vectorisable loop per function
                for k in range(np.uint64(k0), np.uint64(k1)):
                    x = rr[k] * rs
                    nl = int(x)
                    if nl < 1:
                        nl = 1
                    if nl >= nlt:
                        nl = nlt  # the table's last row is all zero (beyond the cutoff)
                        x = float(nlt)
                    row[k] = np.uint64(nl)
                    wv[k] = x - nl
                for q in range(NB):
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        w = wv[k]
                        nl = row[k]
                        a1 = rad_tab[mui, mj, nl, q, 1]
                        a2 = rad_tab[mui, mj, nl, q, 2]
                        a3 = rad_tab[mui, mj, nl, q, 3]
                        G[q, k] = rad_tab[mui, mj, nl, q, 0] + w * (a1 + w * (a2 + w * a3))
                        DG[q, k] = (a1 + w * (2.0 * a2 + 3.0 * w * a3)) * rs
                for q in range(ncol):
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        w = wv[k]
                        nl = row[k]
                        a1 = rad_tab[mui, mj, nl, NB + q, 1]
                        a2 = rad_tab[mui, mj, nl, NB + q, 2]
                        a3 = rad_tab[mui, mj, nl, NB + q, 3]
                        R[q, k] = rad_tab[mui, mj, nl, NB + q, 0] + w * (a1 + w * (a2 + w * a3))
                        DR[q, k] = (a1 + w * (2.0 * a2 + 3.0 * w * a3)) * rs
                hcol = rad_tab.shape[3] - 1
                for k in range(np.uint64(k0), np.uint64(k1)):
                    w = wv[k]
                    nl = row[k]
                    a1 = rad_tab[mui, mj, nl, hcol, 1]
                    a2 = rad_tab[mui, mj, nl, hcol, 2]
                    a3 = rad_tab[mui, mj, nl, hcol, 3]
                    CR[k] = rad_tab[mui, mj, nl, hcol, 0] + w * (a1 + w * (a2 + w * a3))
                    DCR[k] = (a1 + w * (2.0 * a2 + 3.0 * w * a3)) * rs
            # spherical harmonics (ACECartesianSphericalHarmonics, Y00 = 1), vectorised over neighbours
            for k in range(nn):
                plm[0, k] = 1.0
                dplm[0, k] = 0.0
            if L > 0:
                for k in range(nn):
                    plm[1, k] = sq3 * hz[k]
                    dplm[1, k] = sq3
                    plm[2, k] = -sq3o2
                    dplm[2, k] = 0.0
            for ll in range(2, L + 1):
                b0 = ll * (ll + 1) // 2
                b1 = (ll - 1) * ll // 2
                b2 = (ll - 2) * (ll - 1) // 2
                for m in range(0, ll - 1):
                    al = alm[ll, m]
                    bl = blm[ll, m]
                    for k in range(nn):
                        plm[b0 + m, k] = al * (hz[k] * plm[b1 + m, k] + bl * plm[b2 + m, k])
                        dplm[b0 + m, k] = al * (plm[b1 + m, k] + hz[k] * dplm[b1 + m, k] + bl * dplm[b2 + m, k])
                dll = dl[ll]
                cll = cl[ll]
                for k in range(nn):
                    t = dll * plm[b1 + ll - 1, k]
                    plm[b0 + ll - 1, k] = t * hz[k]
                    dplm[b0 + ll - 1, k] = t
                    plm[b0 + ll, k] = cll * plm[b1 + ll - 1, k]
                    dplm[b0 + ll, k] = 0.0
            for ll in range(0, L + 1):
                q = ll * (ll + 1) // 2
                for k in range(nn):
                    p0 = plm[q, k]
                    dz_ = dplm[q, k]
                    rdy = dz_ * hz[k]
                    Yre[q, k] = p0
                    Yim[q, k] = 0.0
                    DXre[q, k] = -rdy * hx[k]
                    DXim[q, k] = 0.0
                    DYre[q, k] = -rdy * hy[k]
                    DYim[q, k] = 0.0
                    DZre[q, k] = dz_ - rdy * hz[k]
                    DZim[q, k] = 0.0
            for ll in range(1, L + 1):
                q = ll * (ll + 1) // 2 + 1
                for k in range(nn):
                    rx_ = hx[k]
                    ry_ = hy[k]
                    rz_ = hz[k]
                    p1 = plm[q, k]
                    dp = dplm[q, k]
                    Yre[q, k] = rx_ * p1
                    Yim[q, k] = ry_ * p1
                    dyz_re = rx_ * dp
                    dyz_im = ry_ * dp
                    rdy_re = rx_ * p1 + rz_ * dyz_re
                    rdy_im = ry_ * p1 + rz_ * dyz_im
                    DXre[q, k] = p1 - rdy_re * rx_
                    DXim[q, k] = -rdy_im * rx_
                    DYre[q, k] = -rdy_re * ry_
                    DYim[q, k] = p1 - rdy_im * ry_
                    DZre[q, k] = dyz_re - rdy_re * rz_
                    DZim[q, k] = dyz_im - rdy_im * rz_
            for k in range(nn):
                phre[k] = hx[k]
                phim[k] = hy[k]
            for m in range(2, L + 1):
                for k in range(nn):
                    mpre[k] = phre[k] * m
                    mpim[k] = phim[k] * m
                    t_re = phre[k] * hx[k] - phim[k] * hy[k]
                    t_im = phre[k] * hy[k] + phim[k] * hx[k]
                    phre[k] = t_re
                    phim[k] = t_im
                for ll in range(m, L + 1):
                    q = ll * (ll + 1) // 2 + m
                    for k in range(nn):
                        rx_ = hx[k]
                        ry_ = hy[k]
                        rz_ = hz[k]
                        p1 = plm[q, k]
                        dp = dplm[q, k]
                        Yre[q, k] = phre[k] * p1
                        Yim[q, k] = phim[k] * p1
                        dyx_re = mpre[k] * p1
                        dyx_im = mpim[k] * p1
                        dyy_re = -dyx_im
                        dyy_im = dyx_re
                        dyz_re = phre[k] * dp
                        dyz_im = phim[k] * dp
                        rdy_re = rx_ * dyx_re + ry_ * dyy_re + rz_ * dyz_re
                        rdy_im = rx_ * dyx_im + ry_ * dyy_im + rz_ * dyz_im
                        DXre[q, k] = dyx_re - rdy_re * rx_
                        DXim[q, k] = dyx_im - rdy_im * rx_
                        DYre[q, k] = dyy_re - rdy_re * ry_
                        DYim[q, k] = dyy_im - rdy_im * ry_
                        DZre[q, k] = dyz_re - rdy_re * rz_
                        DZim[q, k] = dyz_im - rdy_im * rz_
            # atomic base A (only the used entries), rank 1, core repulsion
            for q in range(a_size):
                Are[q] = 0.0
                Aim[q] = 0.0
            rho_core = 0.0
            for k in range(nn):
                rho_core += CR[k]
            for mj in range(nel):
                k0 = ks[mj]
                k1 = ks[mj + 1]
                for q in range(NB):
                    s = 0.0
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        s += G[q, k]
                    A1[mj, q] = s
                for u in range(u_start[mj], u_start[mj + 1]):
                    cu = u_c[u]
                    qu = u_k[u]
                    s_re = 0.0
                    s_im = 0.0
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        s_re += R[cu, k] * Yre[qu, k]
                        s_im += R[cu, k] * Yim[qu, k]
                    Are[u_a[u]] = s_re
                    Aim[u_a[u]] = s_im
                    m = u_m[u]
                    if m > 0:  # A(l, -m) = (-1)^m conj(A(l, m))
                        sg = 1.0 if m % 2 == 0 else -1.0
                        Are[u_a[u] - 2 * m] = sg * s_re
                        Aim[u_a[u] - 2 * m] = -sg * s_im
            # B-basis: projections and densities
            nd = ndensity[mui]
            for q in range(pmax):
                rhos[q] = 0.0
            npr = 0
            for f in range(r1_start[mui], r1_start[mui + 1]):
                a = A1[r1_mu[f], r1_n[f]]
                proj[npr] = a
                npr += 1
                for q in range(nd):
                    rhos[q] += r1_coeff[f, q] * a
            for f in range(f_start[mui], f_start[mui + 1]):
                pf = 0.0
                rank = f_rank[f]
                for s in range(f_ms_start[f], f_ms_start[f + 1]):
                    ia = ms_aidx[s, 0]
                    ib = ms_aidx[s, 1]
                    x_re = Are[ia] * Are[ib] - Aim[ia] * Aim[ib]
                    if rank == 2:
                        pf += x_re * ms_gcg[s]
                    elif rank == 3:
                        x_im = Are[ia] * Aim[ib] + Aim[ia] * Are[ib]
                        ic = ms_aidx[s, 2]
                        pf += (x_re * Are[ic] - x_im * Aim[ic]) * ms_gcg[s]
                    else:
                        p_re = 1.0
                        p_im = 0.0
                        for t in range(rank):
                            it = ms_aidx[s, t]
                            q_re = p_re * Are[it] - p_im * Aim[it]
                            p_im = p_re * Aim[it] + p_im * Are[it]
                            p_re = q_re
                        pf += p_re * ms_gcg[s]
                proj[npr] = pf
                npr += 1
                for q in range(nd):
                    rhos[q] += pf * f_coeff[f, q]
            # embedding
            evdwl = 0.0
            for q in range(nd):
                Fv, DFv = _embedding(rhos[q], npot[mui], fs_params[mui, q, 0], fs_params[mui, q, 1], emb_off[mui, q, 0], emb_off[mui, q, 1])
                evdwl += Fv
                dF[q] = DFv
            # extrapolation grade
            P = asi_size[mui]
            if P > 0:
                if asi_linear:
                    for q in range(npr):
                        vec[q] = proj[q]
                else:
                    for q in range(nd):
                        for k in range(npr):
                            vec[q * npr + k] = dF[q] * proj[k]
                for k in range(P):
                    acc[k] = 0.0
                for j in range(P):
                    vj = vec[j]
                    for k in range(P):  # row access: vectorises
                        acc[k] += vj * asi[mui, j, k]
                g = 0.0
                for k in range(P):
                    if abs(acc[k]) > g:
                        g = abs(acc[k])
                gamma_out[i] = g
            else:
                gamma_out[i] = 0.0
            # inner cutoff
            if zbl:
                if jmin >= 0:
                    mjm = 0
                    for q in range(nel):
                        if ks[q] <= jmin < ks[q + 1]:
                            mjm = q
                    dcin = dcut_in[mui, mjm]
                    fcut, dfcut = _cutoff_poly(dcin - dmin, dcin, dcin)
                    dfcut = -dfcut
                else:
                    fcut, dfcut = 1.0, 0.0
                e_atom = evdwl * fcut + rho_core * (1.0 - fcut)
                dF_core = 1.0 - fcut
                dF_fcut = evdwl * dfcut - rho_core * dfcut
            else:
                rcc, drc = rho_core_cut[mui], drho_core_cut[mui]
                if rho_core >= rcc:
                    fcut, dfcut = 0.0, 0.0
                elif rho_core <= rcc - drc:
                    fcut, dfcut = 1.0, 0.0
                else:
                    fcut, dfcut = _cutoff_poly(rho_core, rcc, drc)
                e_atom = evdwl * fcut + rho_core
                dF_core = evdwl * dfcut + 1.0
                dF_fcut = 0.0
            energies[i] = e_atom
            for q in range(nd):
                dF[q] *= fcut
            # weights dE/dA
            for mj in range(nel):
                for q in range(NB):
                    W1[mj, q] = 0.0
            for q in range(a_size):
                Wre[q] = 0.0
                Wim[q] = 0.0
            for f in range(r1_start[mui], r1_start[mui + 1]):
                for q in range(nd):
                    W1[r1_mu[f], r1_n[f]] += dF[q] * r1_coeff[f, q]
            for f in range(f_start[mui], f_start[mui + 1]):
                rank = f_rank[f]
                th0 = 0.0
                for q in range(nd):
                    th0 += dF[q] * f_coeff[f, q]
                th0 *= 0.5
                for s in range(f_ms_start[f], f_ms_start[f + 1]):
                    theta = th0 * ms_gcg[s]
                    # dB_t = product of the other A's; W(m_t) += theta dB_t, W(-m_t) += theta conj(dB_t) (-1)^m_t
                    for t in range(rank):
                        if rank == 2:
                            it = ms_aidx[s, 1 - t]
                            d_re = Are[it]
                            d_im = Aim[it]
                        elif rank == 3:
                            i1 = ms_aidx[s, 1 if t == 0 else 0]
                            i2 = ms_aidx[s, 1 if t == 2 else 2]
                            d_re = Are[i1] * Are[i2] - Aim[i1] * Aim[i2]
                            d_im = Are[i1] * Aim[i2] + Aim[i1] * Are[i2]
                        else:
                            d_re = 1.0
                            d_im = 0.0
                            for u2 in range(rank):
                                if u2 != t:
                                    it = ms_aidx[s, u2]
                                    q_re = d_re * Are[it] - d_im * Aim[it]
                                    d_im = d_re * Aim[it] + d_im * Are[it]
                                    d_re = q_re
                        # only W(l, m >= 0) is read (the forces fold m < 0 in), so one write each
                        ia = ms_aidx[s, t]
                        ib = ms_anidx[s, t]
                        if ia > ib:  # m_t > 0
                            Wre[ia] += theta * d_re
                            Wim[ia] += theta * d_im
                        elif ia < ib:  # m_t < 0: its conjugate lands on W(l, -m_t)
                            sg = ms_sign[s, t]
                            Wre[ib] += theta * d_re * sg
                            Wim[ib] -= theta * d_im * sg
                        else:  # m_t = 0: d + conj(d)
                            Wre[ia] += 2.0 * theta * d_re
            # forces: f = r_hat * dE/dr + (1/r) sum_lm Re(sum_n w_nlm R_nl * dY_lm), per neighbour
            v0 = v1 = v2 = v3 = v4 = v5 = 0.0
            fi0 = fi1 = fi2 = 0.0
            for mj in range(nel):
                k0 = ks[mj]
                k1 = ks[mj + 1]
                for k in range(np.uint64(k0), np.uint64(k1)):
                    radial[k] = dF_core * DCR[k]
                for q in range(NB):
                    w1 = W1[mj, q]
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        radial[k] += w1 * DG[q, k]
                for q in range(nlm):
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        WRre[q, k] = 0.0
                        WRim[q, k] = 0.0
                for u in range(u_start[mj], u_start[mj + 1]):
                    w_re = Wre[u_a[u]]
                    w_im = Wim[u_a[u]]
                    if u_m[u] > 0:
                        w_re *= 2.0
                        w_im *= 2.0
                    cu = u_c[u]
                    qu = u_k[u]
                    # one output array per loop: fewer aliasing checks, so LLVM vectorises each
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        radial[k] += (w_re * Yre[qu, k] - w_im * Yim[qu, k]) * DR[cu, k]
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        WRre[qu, k] += w_re * R[cu, k]
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        WRim[qu, k] += w_im * R[cu, k]
                for k in range(np.uint64(k0), np.uint64(k1)):
                    FX[k] = 0.0
                    FY[k] = 0.0
                    FZ[k] = 0.0
                for q in range(nlm):
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        FX[k] += WRre[q, k] * DXre[q, k] - WRim[q, k] * DXim[q, k]
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        FY[k] += WRre[q, k] * DYre[q, k] - WRim[q, k] * DYim[q, k]
                    for k in range(np.uint64(k0), np.uint64(k1)):
                        FZ[k] += WRre[q, k] * DZre[q, k] - WRim[q, k] * DZim[q, k]
                if zbl and k0 <= jmin < k1:
                    radial[jmin] += dF_fcut
                for k in range(np.uint64(k0), np.uint64(k1)):
                    p = pk[k]
                    fx = FX[k] * ir[k] + radial[k] * hx[k]
                    fy = FY[k] * ir[k] + radial[k] * hy[k]
                    fz = FZ[k] * ir[k] + radial[k] * hz[k]
                    fi0 += fx
                    fi1 += fy
                    fi2 += fz
                    j = nl_j[p]
                    fo[j, 0] -= fx
                    fo[j, 1] -= fy
                    fo[j, 2] -= fz
                    r = rr[k]
                    dx = hx[k] * r
                    dy = hy[k] * r
                    dz = hz[k] * r
                    v0 += dx * fx
                    v1 += dy * fy
                    v2 += dz * fz
                    v3 += dy * fz
                    v4 += dx * fz
                    v5 += dx * fy
            virial_out[i, 0] = v0
            virial_out[i, 1] = v1
            virial_out[i, 2] = v2
            virial_out[i, 3] = v3
            virial_out[i, 4] = v4
            virial_out[i, 5] = v5
            fo[i, 0] += fi0
            fo[i, 1] += fi1
            fo[i, 2] += fi2
