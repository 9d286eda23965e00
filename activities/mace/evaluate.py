"""MACE inference over a whole structure file, returning the numbers inline (small sets: smoke runs,
scoring). Large sets go through mace_label, which stores label files and returns references.

A structure the models cannot judge never fails the call: it gets infinite uncertainty and a flag
(see mace_engine for the definitions).
"""
import os

import numpy as np
from ase.io import write

from activities.mace.engine import committee
from activities.runtime.protocol import HelperError, progress
from activities.structures.reading import read_all


def evaluate(p):
    """Input: models [paths], structures (file), output (extxyz path), device, dtype. Writes MACE_* keys."""
    if not p.get("models"):
        raise HelperError("InvalidConfig", "teacher.models is empty: give one MACE model file or two or more for a committee")
    engine, _ = committee(p["models"], p.get("device", "cpu"), p.get("dtype", "float64"))
    frames = read_all(p["structures"])
    rows = engine.evaluate(frames, on_progress=lambda n: progress(evaluated=n, total=len(frames)))
    out_rows, out_frames = [], []
    for i, (atoms, row) in enumerate(zip(frames, rows)):
        frame = atoms.copy()
        if row["flag"]:
            # JSON has no infinity: "inf" is turned back into Infinity by the TypeScript schema.
            out_rows.append({"index": i, "flag": f"{row['flag']}: {row['message']}", "energy": None, "forces": None, "stress": None,
                             "force_std_max": "inf", "energy_std_per_atom": "inf"})
            frame.info["MACE_force_std_max"] = -1.0
        else:
            out_rows.append({"index": i, "flag": None, "energy": row["energy"], "forces": row["forces"].tolist(),
                             "stress": None if row["stress"] is None else [float(x) for x in row["stress"]],
                             "force_std_max": row["force_std_max"], "energy_std_per_atom": row["energy_std_per_atom"]})
            frame.info["MACE_energy"] = row["energy"]
            frame.arrays["MACE_forces"] = np.asarray(row["forces"])
            if row["stress"] is not None:
                frame.info["MACE_stress"] = np.asarray(row["stress"])
            frame.info["MACE_force_std_max"] = row["force_std_max"] if row["force_std_max"] is not None else -1.0
        out_frames.append(frame)
    if p.get("output"):
        tmp = p["output"] + ".tmp"
        write(tmp, out_frames, format="extxyz")
        os.replace(tmp, p["output"])
    return {"committee": engine.size > 1, "models": engine.size, "results": out_rows}
