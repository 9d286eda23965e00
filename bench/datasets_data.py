"""Benchmark data and the bare-pandas baseline for bench/datasets.ts.

  python datasets_data.py make N OUT.extxyz            N labelled 64-atom Si cells (exact extxyz, seeded)
  python datasets_data.py baseline-write N OUT.pckl.gzip LEVEL
                                                      the same N rows as a DataFrame with the columns the
                                                      export writes, then only df.to_pickle is timed
  python datasets_data.py baseline-read FILE          only pd.read_pickle is timed

Each prints one JSON line with the timed seconds; peak memory is measured from outside (GNU time).
Labels are synthetic (random forces, energies, stresses): the formats, not the physics, are measured.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from ase import Atoms
from ase.build import bulk

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from activities.structures.commands import structure_id  # noqa: E402
from activities.structures.extxyz import format_frame, labelled_info  # noqa: E402


def frames(n, seed=0):
    """(id, atoms, energy, forces, stress) for n rattled 64-atom diamond Si cells."""
    base = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 2, 2))
    rng = np.random.default_rng(seed)
    for _ in range(n):
        a = base.copy()
        a.positions += rng.normal(0.0, 0.05, a.positions.shape)
        yield structure_id(a), a, float(-5.4 * len(a) + rng.normal()), rng.normal(0.0, 0.5, (len(a), 3)), rng.normal(0.0, 0.01, 6)


def make(n, out):
    t = time.time()
    with open(out, "w") as fh:
        for sid, a, e, f, s in frames(n):
            fh.write(format_frame(a, labelled_info(e, s, {"structure_id": sid, "oracle": "dft", "settings_hash": "bench"}), f))
    return {"seconds": time.time() - t}


def baseline_write(n, out, level):
    cols = {k: [] for k in ("name", "ase_atoms", "energy", "forces", "energy_corrected", "stress", "source", "generation", "oracle", "settings_hash", "config_type")}
    for sid, a, e, f, s in frames(n):
        for k, v in (("name", sid), ("ase_atoms", Atoms(numbers=a.numbers, positions=a.positions, cell=a.cell, pbc=a.pbc)), ("energy", e),
                     ("forces", f), ("energy_corrected", e), ("stress", s), ("source", "imported"), ("generation", 0), ("oracle", "dft"),
                     ("settings_hash", "bench"), ("config_type", None)):
            cols[k].append(v)
    df = pd.DataFrame(cols)
    t = time.time()
    df.to_pickle(out, compression={"method": "gzip", "compresslevel": int(level)}, protocol=4)
    return {"seconds": time.time() - t, "rows": len(df)}


def baseline_read(path):
    t = time.time()
    df = pd.read_pickle(path, compression="gzip")
    return {"seconds": time.time() - t, "rows": len(df)}


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "make":
        r = make(int(args[0]), args[1])
    elif cmd == "baseline-write":
        r = baseline_write(int(args[0]), args[1], args[2])
    elif cmd == "baseline-read":
        r = baseline_read(args[0])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(r))
