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
def _embedding(rho, npot, wpre, mexp):
    """F and dF/drho of one density (FexpShiftedScaled / Fexp in ace_abstract_basis.cpp), times wpre."""
    if npot == 1:
        if abs(mexp - 1.0) < 1e-10:
            return wpre * rho, wpre
        a = abs(rho)
        exprho = np.exp(-a)
        nx = 1.0 / mexp
        xoff = nx ** (nx / (1.0 - nx)) * exprho
        yoff = nx ** (1.0 / (1.0 - nx)) * exprho
        s = -1.0 if rho < 0 else 1.0
        F = s * ((xoff + a) ** mexp - yoff)
        DF = yoff + mexp * (-xoff + 1.0) * (xoff + a) ** (mexp - 1.0)
        return wpre * F, wpre * DF
    w = 1.0e6
    lam = (1.0 / w) ** (mexp - 1.0)
    if abs(rho) > 1e-10:
        a = abs(rho)
        am = a**mexp
        w3x3 = (w * a) ** 3
        g = 0.0 if w3x3 > 30.0 else np.exp(-w3x3)
        s = -1.0 if rho < 0 else 1.0
        omg = 1.0 - g
        F = s * (omg * am + lam * g * a)
        dg = -3.0 * w * w * w * a * a * g
        DF = mexp * a ** (mexp - 1.0) * omg - am * dg + lam * dg * a + lam * g
        return wpre * F, wpre * DF
    return wpre * lam * rho, wpre * lam


@nb.njit(cache=True, inline="always")
def _spline(tab, mi, mj, rscale, nlut, r, nf, val, der):
    x = r * rscale
    nl = int(np.floor(x))
    if nl < 1:
        nl = 1  # closer than one table step: unphysical, the caller's min-distance check halts
    if nl >= nlut:
        for f in range(nf):
            val[f] = 0.0
            der[f] = 0.0
        return
    wl = x - nl
    wl2 = wl * wl
    wl3 = wl2 * wl
    for f in range(nf):
        c0 = tab[mi, mj, nl, f, 0]
        c1 = tab[mi, mj, nl, f, 1]
        c2 = tab[mi, mj, nl, f, 2]
        c3 = tab[mi, mj, nl, f, 3]
        val[f] = c0 + c1 * wl + c2 * wl2 + c3 * wl3
        der[f] = (c1 + 2.0 * c2 * wl + 3.0 * c3 * wl2) * rscale


@nb.njit(cache=True, inline="always")
def _spline_cols(tab, mi, mj, rscale, nlut, r, cols, c0, c1, val, der, row):
    """_spline for the table columns cols[c0:c1] only, into val/der[0:c1-c0]."""
    x = r * rscale
    nl = int(np.floor(x))
    if nl < 1:
        nl = 1
    if nl >= nlut:
        for f in range(c1 - c0):
            val[row, f] = 0.0
            der[row, f] = 0.0
        return
    wl = x - nl
    wl2 = wl * wl
    wl3 = wl2 * wl
    for f in range(c1 - c0):
        col = cols[c0 + f]
        a0 = tab[mi, mj, nl, col, 0]
        a1 = tab[mi, mj, nl, col, 1]
        a2 = tab[mi, mj, nl, col, 2]
        a3 = tab[mi, mj, nl, col, 3]
        val[row, f] = a0 + a1 * wl + a2 * wl2 + a3 * wl3
        der[row, f] = (a1 + 2.0 * a2 * wl + 3.0 * a3 * wl2) * rscale


@nb.njit(cache=True, inline="always")
def _ylm(rx, ry, rz, L, alm, blm, cl, dl, plm, dplm, yre, yim, dyre, dyim, row):
    """ACECartesianSphericalHarmonics::compute_ylm for m >= 0 (Y00 = 1), index lm = l(l+1)/2 + m."""
    plm[0, 0] = 1.0
    dplm[0, 0] = 0.0
    if L > 0:
        sq3 = 1.73205080756887719318
        sq3o2 = 1.22474487139158894067
        plm[1, 0] = sq3 * rz
        dplm[1, 0] = sq3
        plm[1, 1] = -sq3o2
        dplm[1, 1] = 0.0
        for ll in range(2, L + 1):
            for m in range(0, ll - 1):
                plm[ll, m] = alm[ll, m] * (rz * plm[ll - 1, m] + blm[ll, m] * plm[ll - 2, m])
                dplm[ll, m] = alm[ll, m] * (plm[ll - 1, m] + rz * dplm[ll - 1, m] + blm[ll, m] * dplm[ll - 2, m])
            t = dl[ll] * plm[ll - 1, ll - 1]
            plm[ll, ll - 1] = t * rz
            dplm[ll, ll - 1] = t
            plm[ll, ll] = cl[ll] * plm[ll - 1, ll - 1]
            dplm[ll, ll] = 0.0
    # m = 0
    for ll in range(0, L + 1):
        k = ll * (ll + 1) // 2
        yre[row, k] = plm[ll, 0]
        yim[row, k] = 0.0
        dyz = dplm[ll, 0]
        rdy = dyz * rz
        dyre[row, k, 0] = -rdy * rx
        dyim[row, k, 0] = 0.0
        dyre[row, k, 1] = -rdy * ry
        dyim[row, k, 1] = 0.0
        dyre[row, k, 2] = dyz - rdy * rz
        dyim[row, k, 2] = 0.0
    # m = 1
    for ll in range(1, L + 1):
        k = ll * (ll + 1) // 2 + 1
        p = plm[ll, 1]
        yre[row, k] = rx * p
        yim[row, k] = ry * p
        dyx_re = p
        dyy_im = p
        dyz_re = rx * dplm[ll, 1]
        dyz_im = ry * dplm[ll, 1]
        rdy_re = rx * dyx_re + rz * dyz_re
        rdy_im = ry * dyy_im + rz * dyz_im
        dyre[row, k, 0] = dyx_re - rdy_re * rx
        dyim[row, k, 0] = -rdy_im * rx
        dyre[row, k, 1] = -rdy_re * ry
        dyim[row, k, 1] = dyy_im - rdy_im * ry
        dyre[row, k, 2] = dyz_re - rdy_re * rz
        dyim[row, k, 2] = dyz_im - rdy_im * rz
    # m >= 2
    ph_re, ph_im = rx, ry
    for m in range(2, L + 1):
        mp_re = ph_re * m
        mp_im = ph_im * m
        t_re = ph_re * rx - ph_im * ry
        t_im = ph_re * ry + ph_im * rx
        ph_re, ph_im = t_re, t_im
        for ll in range(m, L + 1):
            k = ll * (ll + 1) // 2 + m
            p = plm[ll, m]
            yre[row, k] = ph_re * p
            yim[row, k] = ph_im * p
            dyx_re = mp_re * p
            dyx_im = mp_im * p
            dyy_re = -dyx_im
            dyy_im = dyx_re
            dyz_re = ph_re * dplm[ll, m]
            dyz_im = ph_im * dplm[ll, m]
            rdy_re = rx * dyx_re + ry * dyy_re + rz * dyz_re
            rdy_im = rx * dyx_im + ry * dyy_im + rz * dyz_im
            dyre[row, k, 0] = dyx_re - rdy_re * rx
            dyim[row, k, 0] = dyx_im - rdy_im * rx
            dyre[row, k, 1] = dyy_re - rdy_re * ry
            dyim[row, k, 1] = dyy_im - rdy_im * ry
            dyre[row, k, 2] = dyz_re - rdy_re * rz
            dyim[row, k, 2] = dyz_im - rdy_im * rz


@nb.njit(cache=True, parallel=True)
def compute(
    pos, species, nl_start, nl_j, nl_vec_shift, nchunks,
    # model
    NB, NR, L, rscale, nlut, gk_tab, rnl_tab, hc_tab, cut, cut_in, dcut_in, zbl,
    alm, blm, cl, dl, ndensity, npot, fs_params, rho_core_cut, drho_core_cut,
    r1_start, r1_mu, r1_n, r1_coeff, f_start, f_rank, f_coeff, f_ms_start, ms_aidx, ms_anidx, ms_sign, ms_gcg,
    c_start, c_col, u_start, u_c, u_k, u_a, u_m, asi_linear, a_size, nel, pmax,
    # outputs
    energies, pair_f, proj_out, rmin_out,
):
    """Per-atom energies, per-pair forces f_ji (force on i from the pair, its negative acts on j), the
    per-atom vector whose product with the inverted active set is the extrapolation grade, and each atom's
    closest neighbour (rmin_out; the cutoff when it has none).

    Only the radial functions and A(n, l, m) that some basis function uses are computed: c_* lists the
    used radial columns n*(L+1)+l per neighbour species, u_* the used (n, l, |m|) entries (u_c: position in
    the species' column list, u_k: l(l+1)/2+m, u_a: flat A index, u_m: m)."""
    n = pos.shape[0]
    nlm = (L + 1) * (L + 2) // 2
    maxc = 0
    for mj in range(nel):
        maxc = max(maxc, c_start[mj + 1] - c_start[mj])
    maxnb = 0
    for i in range(n):
        if nl_start[i + 1] - nl_start[i] > maxnb:
            maxnb = nl_start[i + 1] - nl_start[i]
    nms_t = ms_aidx.shape[1]
    nms = ms_gcg.shape[0]
    for c in nb.prange(nchunks):
        i0 = c * n // nchunks
        i1 = (c + 1) * n // nchunks
        # scratch, once per chunk
        rr = np.empty(maxnb)
        rh = np.empty((maxnb, 3))
        muj = np.empty(maxnb, np.int64)
        pidx = np.empty(maxnb, np.int64)
        DG = np.empty((maxnb, NB))
        Rv = np.empty((maxnb, maxc))
        DRv = np.empty((maxnb, maxc))
        DCR = np.empty(maxnb)
        Yre = np.empty((maxnb, nlm))
        Yim = np.empty((maxnb, nlm))
        DYre = np.empty((maxnb, nlm, 3))
        DYim = np.empty((maxnb, nlm, 3))
        gv = np.empty(NB)
        gd = np.empty(NB)
        hv = np.empty(1)
        hd = np.empty(1)
        plm = np.zeros((L + 1, L + 1))
        dplm = np.zeros((L + 1, L + 1))
        A1 = np.empty((nel, NB))
        Are = np.empty(a_size)
        Aim = np.empty(a_size)
        Wre = np.empty(a_size)
        Wim = np.empty(a_size)
        W1 = np.empty((nel, NB))
        WRre = np.empty(nlm)
        WRim = np.empty(nlm)
        dBre = np.empty((nms, nms_t))
        dBim = np.empty((nms, nms_t))
        fwd_re = np.empty(nms_t + 1)
        fwd_im = np.empty(nms_t + 1)
        bwd_re = np.empty(nms_t + 1)
        bwd_im = np.empty(nms_t + 1)
        cre = np.empty(nms_t)
        cim = np.empty(nms_t)
        rhos = np.empty(pmax)
        dF = np.empty(pmax)
        proj = np.empty(proj_out.shape[1])
        for i in range(i0, i1):
            mui = species[i]
            xi0, xi1, xi2 = pos[i, 0], pos[i, 1], pos[i, 2]
            nn = 0
            dmin = 1e300
            jmin = -1
            rmin = 1e300
            for p in range(nl_start[i], nl_start[i + 1]):
                pair_f[p, 0] = 0.0
                pair_f[p, 1] = 0.0
                pair_f[p, 2] = 0.0
                j = nl_j[p]
                dx = pos[j, 0] + nl_vec_shift[p, 0] - xi0
                dy = pos[j, 1] + nl_vec_shift[p, 1] - xi1
                dz = pos[j, 2] + nl_vec_shift[p, 2] - xi2
                r2 = dx * dx + dy * dy + dz * dz
                mj = species[j]
                rc = cut[mui, mj]
                if r2 >= rc * rc:
                    continue
                r = np.sqrt(r2)
                if r < rmin:
                    rmin = r
                if zbl:
                    d = r - (cut_in[mui, mj] - dcut_in[mui, mj])
                    if d < dmin:
                        dmin = d
                        jmin = nn
                inv = 1.0 / r
                rr[nn] = r
                rh[nn, 0] = dx * inv
                rh[nn, 1] = dy * inv
                rh[nn, 2] = dz * inv
                muj[nn] = mj
                pidx[nn] = p
                nn += 1
            rmin_out[i] = rmin
            # atomic base A
            A1[:, :] = 0.0
            Are[:] = 0.0
            Aim[:] = 0.0
            rho_core = 0.0
            for k in range(nn):
                mj = muj[k]
                r = rr[k]
                rs = rscale[mui, mj]
                nlt = nlut[mui, mj]
                _spline(gk_tab, mui, mj, rs, nlt, r, NB, gv, gd)
                _spline_cols(rnl_tab, mui, mj, rs, nlt, r, c_col, c_start[mj], c_start[mj + 1], Rv, DRv, k)
                _spline(hc_tab, mui, mj, rs, nlt, r, 1, hv, hd)
                _ylm(rh[k, 0], rh[k, 1], rh[k, 2], L, alm, blm, cl, dl, plm, dplm, Yre, Yim, DYre, DYim, k)
                for q in range(NB):
                    A1[mj, q] += gv[q]
                    DG[k, q] = gd[q]
                for u in range(u_start[mj], u_start[mj + 1]):
                    R = Rv[k, u_c[u]]
                    Are[u_a[u]] += R * Yre[k, u_k[u]]
                    Aim[u_a[u]] += R * Yim[k, u_k[u]]
                rho_core += hv[0]
                DCR[k] = hd[0]
            # A(l, -m) = (-1)^m conj(A(l, m))
            for mj in range(nel):
                for u in range(u_start[mj], u_start[mj + 1]):
                    m = u_m[u]
                    if m > 0:
                        s = 1.0 if m % 2 == 0 else -1.0
                        Are[u_a[u] - 2 * m] = s * Are[u_a[u]]
                        Aim[u_a[u] - 2 * m] = -s * Aim[u_a[u]]
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
                rank = f_rank[f]
                pf = 0.0
                for s in range(f_ms_start[f], f_ms_start[f + 1]):
                    fwd_re[0] = 1.0
                    fwd_im[0] = 0.0
                    for t in range(rank):
                        a_re = Are[ms_aidx[s, t]]
                        a_im = Aim[ms_aidx[s, t]]
                        cre[t] = a_re
                        cim[t] = a_im
                        fwd_re[t + 1] = fwd_re[t] * a_re - fwd_im[t] * a_im
                        fwd_im[t + 1] = fwd_re[t] * a_im + fwd_im[t] * a_re
                    bwd_re[rank - 1] = 1.0
                    bwd_im[rank - 1] = 0.0
                    for t in range(rank - 1, 0, -1):
                        bwd_re[t - 1] = bwd_re[t] * cre[t] - bwd_im[t] * cim[t]
                        bwd_im[t - 1] = bwd_re[t] * cim[t] + bwd_im[t] * cre[t]
                    for t in range(rank):
                        dBre[s, t] = fwd_re[t] * bwd_re[t] - fwd_im[t] * bwd_im[t]
                        dBim[s, t] = fwd_re[t] * bwd_im[t] + fwd_im[t] * bwd_re[t]
                    b = fwd_re[rank] * ms_gcg[s]
                    pf += b
                    for q in range(nd):
                        rhos[q] += b * f_coeff[f, q]
                proj[npr] = pf
                npr += 1
            # embedding
            evdwl = 0.0
            for q in range(nd):
                Fv, DFv = _embedding(rhos[q], npot[mui], fs_params[mui, q, 0], fs_params[mui, q, 1])
                evdwl += Fv
                dF[q] = DFv
            if asi_linear:
                for q in range(npr):
                    proj_out[i, q] = proj[q]
            else:
                for q in range(nd):
                    for k in range(npr):
                        proj_out[i, q * npr + k] = dF[q] * proj[k]
            # inner cutoff
            if zbl:
                if jmin >= 0:
                    dcin = dcut_in[mui, muj[jmin]]
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
            W1[:, :] = 0.0
            Wre[:] = 0.0
            Wim[:] = 0.0
            for f in range(r1_start[mui], r1_start[mui + 1]):
                for q in range(nd):
                    W1[r1_mu[f], r1_n[f]] += dF[q] * r1_coeff[f, q]
            for f in range(f_start[mui], f_start[mui + 1]):
                rank = f_rank[f]
                th0 = 0.0
                for q in range(nd):
                    th0 += dF[q] * f_coeff[f, q]
                for s in range(f_ms_start[f], f_ms_start[f + 1]):
                    theta = 0.5 * th0 * ms_gcg[s]
                    for t in range(rank):
                        db_re = dBre[s, t]
                        db_im = dBim[s, t]
                        ia = ms_aidx[s, t]
                        Wre[ia] += theta * db_re
                        Wim[ia] += theta * db_im
                        ib = ms_anidx[s, t]
                        sg = ms_sign[s, t]
                        Wre[ib] += theta * db_re * sg
                        Wim[ib] -= theta * db_im * sg
            # forces on neighbours: f = r_hat * sum(dE/dr) + (1/r) sum_lm Re(sum_n w_nlm R_nl * dY_lm)
            for k in range(nn):
                mj = muj[k]
                radial = 0.0
                for q in range(NB):
                    radial += DG[k, q] * W1[mj, q]
                for q in range(nlm):
                    WRre[q] = 0.0
                    WRim[q] = 0.0
                for u in range(u_start[mj], u_start[mj + 1]):
                    w_re = Wre[u_a[u]]
                    w_im = Wim[u_a[u]]
                    if u_m[u] > 0:
                        w_re *= 2.0
                        w_im *= 2.0
                    kk = u_k[u]
                    radial += (w_re * Yre[k, kk] - w_im * Yim[k, kk]) * DRv[k, u_c[u]]
                    R = Rv[k, u_c[u]]
                    WRre[kk] += w_re * R
                    WRim[kk] += w_im * R
                fx = 0.0
                fy = 0.0
                fz = 0.0
                for q in range(nlm):
                    a_re = WRre[q]
                    a_im = WRim[q]
                    fx += a_re * DYre[k, q, 0] - a_im * DYim[k, q, 0]
                    fy += a_re * DYre[k, q, 1] - a_im * DYim[k, q, 1]
                    fz += a_re * DYre[k, q, 2] - a_im * DYim[k, q, 2]
                radial += dF_core * DCR[k]
                if zbl and k == jmin:
                    radial += dF_fcut
                inv = 1.0 / rr[k]
                p = pidx[k]
                pair_f[p, 0] = fx * inv + radial * rh[k, 0]
                pair_f[p, 1] = fy * inv + radial * rh[k, 1]
                pair_f[p, 2] = fz * inv + radial * rh[k, 2]


@nb.njit(cache=True)
def reduce_forces(n, nl_start, nl_j, pair_f, pos, nl_vec_shift, system, forces, virial):
    """Sum pair forces into atoms (f on i, -f on j) and each system's virial sum_ij r_ij (x) f_ij in
    Voigt order (xx, yy, zz, yz, xz, xy); divided by the volume it is ASE's stress (pyace's convention)."""
    forces[:, :] = 0.0
    virial[:, :] = 0.0
    for i in range(n):
        s = system[i]
        for p in range(nl_start[i], nl_start[i + 1]):
            fx, fy, fz = pair_f[p, 0], pair_f[p, 1], pair_f[p, 2]
            if fx == 0.0 and fy == 0.0 and fz == 0.0:
                continue
            j = nl_j[p]
            forces[i, 0] += fx
            forces[i, 1] += fy
            forces[i, 2] += fz
            forces[j, 0] -= fx
            forces[j, 1] -= fy
            forces[j, 2] -= fz
            dx = pos[j, 0] + nl_vec_shift[p, 0] - pos[i, 0]
            dy = pos[j, 1] + nl_vec_shift[p, 1] - pos[i, 1]
            dz = pos[j, 2] + nl_vec_shift[p, 2] - pos[i, 2]
            virial[s, 0] += dx * fx
            virial[s, 1] += dy * fy
            virial[s, 2] += dz * fz
            virial[s, 3] += dy * fz
            virial[s, 4] += dx * fz
            virial[s, 5] += dx * fy


@nb.njit(cache=True, parallel=True)
def grades(proj, species, size, asi, nchunks, gamma):
    """gamma_i = max_k |sum_j proj[i, j] asi[mu_i][j, k]| (pyace's extrapolation grade), in chunks."""
    n = proj.shape[0]
    for c in nb.prange(nchunks):
        for i in range(c * n // nchunks, (c + 1) * n // nchunks):
            mu = species[i]
            P = size[mu]
            g = 0.0
            for k in range(P):
                s = 0.0
                for j in range(P):
                    s += proj[i, j] * asi[mu, j, k]
                if abs(s) > g:
                    g = abs(s)
            gamma[i] = g
