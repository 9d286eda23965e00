"""`evaluation-score`: errors of a potential against labelled structures, by config type, with parity plots.

Input: potential (see predictors.py), data (any ASE-readable labelled file: extxyz with REF_energy /
REF_forces / REF_stress as the datasets carry them, or ASE's own energy=/forces/stress keys, pw.x output,
...), results (JSON path for the per-structure rows), plot_dir (optional), group_key (info key to group
by, default config_type), energy_key/forces_key/stress_key, device.
Output: the metrics of metrics.py overall and per group, the fitted per-element offsets, the predictor's
energy scale and reference energies, and the files written.
"""
import json
import os
from collections import Counter

import numpy as np

from activities.evaluation.metrics import grouped
from activities.evaluation.predictors import predictor
from activities.runtime.protocol import HelperError
from activities.store.dataset_files import extxyz_rows
from activities.structures.extxyz import ENERGY_KEY, FORCES_KEY, STRESS_KEY


def _voigt(stress):
    if stress is None:
        return None
    s = np.asarray(stress, dtype=float)
    if s.shape == (3, 3):
        return np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    if s.shape != (6,):
        return None
    return s


def read_labelled(path, group_key="config_type", energy_key=ENERGY_KEY, forces_key=FORCES_KEY, stress_key=STRESS_KEY):
    """(atoms, energy, forces, stress|None, group, name) per structure."""
    if not os.path.isfile(path):
        raise HelperError("InvalidInput", f"labelled data not found: {path}")
    if path.endswith((".pckl.gzip", ".pkl.gz", ".pckl", ".pkl")):
        raise HelperError("InvalidInput", f"{path}: pickled DataFrames are code, not data; export the dataset as extxyz (autopipe dataset export)")
    out = []
    for where, atoms, energy, forces, stress, meta in extxyz_rows(path, energy_key, forces_key, stress_key):
        forces = np.asarray(forces, dtype=float)
        if forces.shape != (len(atoms), 3):
            raise HelperError("InvalidInput", f"{where}: forces have shape {forces.shape}, expected ({len(atoms)}, 3)")
        group = atoms.info.get(group_key, meta.get(group_key))
        group = "unlabelled" if group in (None, "", "Default") else str(group)
        name = str(atoms.info.get("name", meta.get("name", where.rsplit(" ", 1)[-1])))
        out.append((atoms, float(energy), forces, _voigt(stress) if atoms.pbc.all() else None, group, name))
    if not out:
        raise HelperError("InvalidInput", f"{path}: no labelled structures")
    return out


def evaluate(p):
    data = read_labelled(p["data"], p.get("group_key") or "config_type", p.get("energy_key") or ENERGY_KEY,
                         p.get("forces_key") or FORCES_KEY, p.get("stress_key") or STRESS_KEY)
    pred = predictor(p["potential"], p.get("device", "cpu"))
    rows = pred.evaluate([d[0] for d in data])
    records, table, flagged = [], [], []
    for i, ((atoms, e_ref, f_ref, s_ref, group, name), row) in enumerate(zip(data, rows)):
        n = len(atoms)
        if row["flag"]:
            flagged.append({"index": i, "name": name, "group": group, "flag": row["flag"]})
            continue
        ds = None if s_ref is None or row.get("stress") is None else np.asarray(row["stress"], dtype=float) - s_ref
        rec = {"index": i, "name": name, "group": group, "natoms": n, "counts": dict(Counter(atoms.get_chemical_symbols())),
               "de": row["energy"] - e_ref, "df": row["forces"] - f_ref, "f_ref": f_ref, "ds": ds,
               "e_ref": e_ref, "e_pred": row["energy"], "f_pred": row["forces"], "s_ref": s_ref, "s_pred": row.get("stress")}
        records.append(rec)
    if not records:
        raise HelperError("InvalidInput", f"the potential could not evaluate any of the {len(data)} structures: {flagged[0]['flag']}")
    m = grouped(records)
    offsets = m["offsets_ev_atom"]
    for r in records:
        shift = sum(offsets.get(el, 0.0) * k for el, k in r["counts"].items())
        table.append({"index": r["index"], "name": r["name"], "group": r["group"], "natoms": r["natoms"],
                      "energy_ref": r["e_ref"], "energy_pred": r["e_pred"],
                      "energy_error_mev_atom": r["de"] / r["natoms"] * 1000,
                      "energy_error_mev_atom_offset": (r["de"] - shift) / r["natoms"] * 1000,
                      "forces_rmse_mev_a": float(np.sqrt(np.mean(np.square(r["df"]))) * 1000),
                      "forces_max_error_mev_a": float(np.abs(r["df"]).max() * 1000),
                      "stress_rmse_gpa": None if r["ds"] is None else float(np.sqrt(np.mean(np.square(r["ds"]))) * 160.21766208)})
    files = {}
    if p.get("results"):
        os.makedirs(os.path.dirname(os.path.abspath(p["results"])), exist_ok=True)
        tmp = p["results"] + ".tmp"
        with open(tmp, "w") as fh:
            json.dump({"structures": table, "flagged": flagged}, fh, indent=1)
        os.replace(tmp, p["results"])
        files["results"] = p["results"]
    if p.get("plot_dir"):
        from activities.evaluation.plots import parity_plots

        files["plots"] = parity_plots(records, offsets, m, p["plot_dir"], title=p.get("title") or os.path.basename(p["potential"]))
    return {
        "potential": p["potential"],
        "data": p["data"],
        "predictor": pred.describe(),
        "structures": len(data),
        "evaluated": len(records),
        "flagged": flagged,
        **m,
        "files": files,
    }
