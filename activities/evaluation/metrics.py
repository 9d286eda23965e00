"""Error statistics of predicted against reference labels: one definition for `autopipe evaluate`, the
campaign's validation set and the benchmarks, so every accuracy figure means the same thing.

Per group (config type) and overall:
  energy_rmse_mev_atom / energy_mae_mev_atom    per-atom energy error as predicted (absolute energies)
  energy_rmse_mev_atom_offset / ..._mae_...     after removing one constant per element, fitted by least
                                                squares over the whole set (for one element: the mean
                                                per-atom error). A potential whose energy zero differs from
                                                the reference's (Pacemaker's fitted reference energies, a
                                                foundation model's DFT settings) is judged on this.
  forces_rmse_mev_a / forces_mae_mev_a          over Cartesian force components
  forces_max_mev_a                              largest component error
  forces_ref_rms_mev_a                          rms of the reference components (the scale of the problem)
  stress_rmse_gpa / stress_mae_gpa              over Voigt components, fully periodic structures with a
                                                reference stress only (null otherwise)
"""
import numpy as np

EV_A3_TO_GPA = 160.21766208


def element_offsets(records, elements):
    """Least-squares per-element energy offsets (eV/atom) of the per-atom energy errors."""
    if not records:
        return {el: 0.0 for el in elements}
    x = np.array([[r["counts"].get(el, 0) / r["natoms"] for el in elements] for r in records], dtype=float)
    y = np.array([r["de"] / r["natoms"] for r in records], dtype=float)
    c, *_ = np.linalg.lstsq(x, y, rcond=None)
    return {el: float(v) for el, v in zip(elements, c)}


def _stats(values):
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return None, None, None
    return float(np.sqrt(np.mean(v**2))), float(np.mean(np.abs(v))), float(np.max(np.abs(v)))


def summarize(records, offsets):
    """Metrics of a list of records {natoms, counts, de (eV), df (n,3 eV/Å), f_ref (n,3), ds (6, eV/Å³) | None}."""
    if not records:
        return None
    e = [r["de"] / r["natoms"] for r in records]
    e_off = [(r["de"] - sum(offsets.get(el, 0.0) * n for el, n in r["counts"].items())) / r["natoms"] for r in records]
    df = np.concatenate([np.asarray(r["df"], dtype=float).ravel() for r in records])
    fref = np.concatenate([np.asarray(r["f_ref"], dtype=float).ravel() for r in records])
    ds = [np.asarray(r["ds"], dtype=float) for r in records if r.get("ds") is not None]
    e_rmse, e_mae, e_max = _stats(e)
    o_rmse, o_mae, o_max = _stats(e_off)
    f_rmse, f_mae, f_max = _stats(df)
    s_rmse, s_mae, _ = _stats(np.concatenate(ds) * EV_A3_TO_GPA) if ds else (None, None, None)
    mev = lambda x: None if x is None else x * 1000  # noqa: E731
    return {
        "n_structures": len(records),
        "n_atoms": int(sum(r["natoms"] for r in records)),
        "energy_rmse_mev_atom": mev(e_rmse),
        "energy_mae_mev_atom": mev(e_mae),
        "energy_max_mev_atom": mev(e_max),
        "energy_rmse_mev_atom_offset": mev(o_rmse),
        "energy_mae_mev_atom_offset": mev(o_mae),
        "energy_max_mev_atom_offset": mev(o_max),
        "forces_rmse_mev_a": mev(f_rmse),
        "forces_mae_mev_a": mev(f_mae),
        "forces_max_mev_a": mev(f_max),
        "forces_ref_rms_mev_a": mev(float(np.sqrt(np.mean(fref**2)))),
        "stress_rmse_gpa": s_rmse,
        "stress_mae_gpa": s_mae,
        "n_stress": len(ds),
    }


def grouped(records, key="group"):
    """Metrics overall and per value of record[key], with the offsets fitted once over all records."""
    elements = sorted({el for r in records for el in r["counts"]})
    offsets = element_offsets(records, elements)
    groups = sorted({r[key] for r in records})
    return {
        "offsets_ev_atom": offsets,
        "overall": summarize(records, offsets),
        "by_group": {g: summarize([r for r in records if r[key] == g], offsets) for g in groups},
    }
