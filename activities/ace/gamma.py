"""ACE energies, forces and extrapolation grades with pyace's ASE calculator and the potential's active set.

gamma of an atom is the largest coefficient expressing its B-projection in the active set's rows
(MaxVol): <= 1 inside the training data's span, > 1 extrapolation. A structure's grade is its atoms'
maximum. A structure the potential cannot evaluate never fails the batch: it gets gamma = inf and a flag.
"""
import json
import math
import os

import numpy as np
from ase.io import write

from activities.ace.common import finite, read_structures
from activities.runtime.protocol import HelperError, progress


def calculator(potential, active_set):
    if not potential.endswith(".yaml"):
        raise HelperError("InvalidInput", f"extrapolation grades need the B-basis potential (.yaml), not {potential}")
    for f, what in ((potential, "potential"), (active_set, "active set")):
        if not os.path.isfile(f):
            hint = " (fit with the active set on, or run pace_activeset)" if what == "active set" else ""
            raise HelperError("InvalidInput", f"{what} not found: {f}{hint}")
    from pyace import PyACECalculator

    calc = PyACECalculator(potential)
    calc.set_active_set(active_set)
    return calc


def evaluate(p):
    """Input: potential (.yaml), active_set (.asi), structures (file), results (JSON path), output (extxyz, optional)."""
    frames, names = read_structures(p["structures"])  # the untrusted input first, before the potential loads
    calc = calculator(p["potential"], p["active_set"])
    elements = set(calc.basis.elements_name)
    rows, out = [], []
    for i, (atoms, name) in enumerate(zip(frames, names)):
        row = {"index": i, "name": name, "natoms": len(atoms), "flag": None}
        try:
            unknown = sorted(set(atoms.get_chemical_symbols()) - elements)
            if unknown:
                raise ValueError(f"elements {unknown} are not in the potential ({sorted(elements)})")
            a = atoms.copy()
            a.calc = calc
            energy = float(a.get_potential_energy())
            gamma = np.asarray(calc.results["gamma"], dtype=float)
            forces = np.asarray(calc.results["forces"])
            if not math.isfinite(energy) or not np.all(np.isfinite(gamma)):
                raise ValueError("non-finite energy or extrapolation grade")
            row.update(max_gamma=float(gamma.max(initial=0.0)), energy=energy)
            frame = atoms.copy()
            frame.info.update(ACE_energy=energy, max_gamma=row["max_gamma"])
            frame.arrays["ACE_forces"] = forces
            frame.arrays["gamma"] = gamma
        except Exception as err:
            row.update(max_gamma=math.inf, energy=None, flag=f"{type(err).__name__}: {err}")
            frame = atoms.copy()
            frame.info["max_gamma"] = -1.0
        rows.append(row)
        out.append(frame)
        if (i + 1) % 50 == 0:
            progress(evaluated=i + 1, total=len(frames))
    gammas = np.array([r["max_gamma"] for r in rows], dtype=float)
    for r in rows:
        r["max_gamma"] = finite(r["max_gamma"])
    tmp = p["results"] + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(rows, fh)
    os.replace(tmp, p["results"])
    if p.get("output"):
        tmp = p["output"] + ".tmp.extxyz"
        write(tmp, out, format="extxyz")
        os.replace(tmp, p["output"])
    ok = gammas[np.isfinite(gammas)]
    thresholds = p.get("thresholds") or []
    return {
        "count": len(rows),
        "flagged": int(np.sum(~np.isfinite(gammas))),
        "max_gamma": finite(gammas.max(initial=0.0)),
        "median_gamma": finite(np.median(ok)) if len(ok) else None,
        "above": {str(t): int(np.sum(gammas > t)) for t in thresholds},
    }
