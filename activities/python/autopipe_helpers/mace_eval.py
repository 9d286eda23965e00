"""MACE inference over a structure file with one model or a committee, loaded once per call.

Uncertainty (committee of two or more models): the largest per-atom norm of the force standard
deviation (eV/Å) and the energy standard deviation per atom (eV/atom). A structure the models cannot
judge (overlapping atoms, non-finite or exploding output) never fails the batch: it gets infinite
uncertainty and a flag.
"""
import math
import os

import numpy as np
from ase.io import write

from .protocol import HelperError, progress
from .structures_io import min_distance, read_all

MIN_DISTANCE = 0.5     # Å: below this no learned potential is meaningful
MAX_FORCE = 1.0e3      # eV/Å: beyond this the prediction has exploded


def _calculator(models, device, dtype):
    for m in models:
        if not os.path.isfile(m):
            raise HelperError("InvalidInput", f"MACE model file not found: {m} (teacher.models must be local files)")
    from mace.calculators import MACECalculator

    return MACECalculator(model_paths=models if len(models) > 1 else models[0], device=device, default_dtype=dtype)


def evaluate(p):
    """Input: models [paths], structures (file), output (extxyz path), device, dtype. Writes MACE_* keys."""
    models = p["models"]
    if not models:
        raise HelperError("InvalidInput", "no MACE model given (teacher.models)")
    calc = _calculator(models, p.get("device", "cpu"), p.get("dtype", "float64"))
    frames = read_all(p["structures"])
    committee = len(models) > 1
    rows = []
    out_frames = []
    for i, atoms in enumerate(frames):
        row = {"index": i, "flag": None}
        try:
            if len(atoms) > 1 and min_distance(atoms) < MIN_DISTANCE:
                raise ValueError("overlapping atoms")
            atoms.calc = calc
            energy = float(atoms.get_potential_energy())
            forces = np.asarray(atoms.get_forces())
            stress = np.asarray(atoms.get_stress()) if atoms.pbc.all() else None
            if not (math.isfinite(energy) and np.all(np.isfinite(forces))) or np.abs(forces).max(initial=0) > MAX_FORCE:
                raise ValueError("non-finite or exploding prediction")
            row.update(energy=energy, forces=forces.tolist(), stress=None if stress is None else stress.tolist())
            if committee:
                fc = np.asarray(calc.results["forces_comm"])          # (models, atoms, 3)
                ec = np.asarray(calc.results["energy_comm"]).ravel()  # (models,)
                row["force_std_max"] = float(np.sqrt(fc.var(axis=0).sum(axis=-1)).max(initial=0.0))
                row["energy_std_per_atom"] = float(ec.std() / len(atoms))
            else:
                row["force_std_max"] = None
                row["energy_std_per_atom"] = None
        except Exception as err:  # judged, not failed: routing sends such structures nowhere
            row.update(energy=None, forces=None, stress=None, force_std_max=math.inf, energy_std_per_atom=math.inf,
                       flag=f"{type(err).__name__}: {err}")
        atoms.calc = None
        frame = atoms.copy()
        if row["energy"] is not None:
            frame.info["MACE_energy"] = row["energy"]
            frame.arrays["MACE_forces"] = np.asarray(row["forces"])
            if row["stress"] is not None:
                frame.info["MACE_stress"] = np.asarray(row["stress"])
        frame.info["MACE_force_std_max"] = row["force_std_max"] if row["force_std_max"] is not None else -1.0
        out_frames.append(frame)
        rows.append(row)
        if (i + 1) % 10 == 0:
            progress(evaluated=i + 1, total=len(frames))
    if p.get("output"):
        tmp = p["output"] + ".tmp"
        write(tmp, out_frames, format="extxyz")
        os.replace(tmp, p["output"])
    # JSON has no infinity: send it as a string the TypeScript schema turns back into Infinity.
    for r in rows:
        for k in ("force_std_max", "energy_std_per_atom"):
            if r[k] is not None and math.isinf(r[k]):
                r[k] = "inf"
    return {"committee": committee, "models": len(models), "results": rows}
