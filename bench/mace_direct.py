"""Helpers for bench/mace-throughput.ts, run with the project venv.

  python bench/mace_direct.py emt-data OUT N SEED         EMT-labelled Cu cells (REF_*), to train bench models
  python bench/mace_direct.py structures OUT N SEED       N rattled/strained 8-atom Cu cells with structure_id
  python bench/mace_direct.py loop calc|engine FILE M1 M2 the direct Python loop; prints timings as JSON

The loop is the baseline the workflow is compared with: same structures, same models, same thread count,
the same numbers computed (energy, forces, stress, committee force std and energy std per atom), results
kept in memory (no files written). "calc" is the loop a user writes with MACECalculator; "engine" is the
batched engine the activity itself uses, called directly (no Temporal, no server, no label files).
"""
import json
import os
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402
from ase.build import bulk  # noqa: E402
from ase.io import read, write  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def cells(n, seed, sigma=0.05):
    rng = np.random.default_rng(seed)
    base = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))  # 8 atoms
    out = []
    for _ in range(n):
        a = base.copy()
        a.set_cell(a.get_cell() * rng.uniform(0.97, 1.03) ** (1 / 3), scale_atoms=True)
        a.positions += rng.normal(0, sigma, a.positions.shape)
        out.append(a)
    return out


def emt_data(out, n, seed):
    from ase.calculators.emt import EMT

    frames = []
    for a in cells(n, seed, sigma=0.08):
        a.calc = EMT()
        a.info["REF_energy"] = a.get_potential_energy()
        a.arrays["REF_forces"] = a.get_forces()
        a.info["REF_stress"] = a.get_stress()
        a.calc = None
        frames.append(a)
    write(out, frames, format="extxyz")


def structures(out, n, seed):
    from activities.structures.commands import structure_id, write_frames

    frames = cells(n, seed)
    for a in frames:
        a.info["structure_id"] = structure_id(a)
    write_frames(out, [(a, dict(a.info)) for a in frames])
    print(json.dumps([a.info["structure_id"] for a in frames]))


def loop(mode, file, models):
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    t_imports = time.perf_counter() - T_START
    t0 = time.perf_counter()
    frames = read(file, index=":")
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = []
    if mode == "calc":
        from mace.calculators import MACECalculator

        calc = MACECalculator(model_paths=models, device="cpu", default_dtype="float64")
        t_load = time.perf_counter() - t0
        for a in read(file, index=":16"):  # warm-up (lazy torch init), as the workflow's helper is warm
            a.calc = calc
            a.get_forces()
        t0 = time.perf_counter()
        for a in frames:
            a.calc = calc
            e, f, s = a.get_potential_energy(), a.get_forces(), a.get_stress()
            fc, ec = calc.results["forces_comm"], calc.results["energy_comm"]
            results.append((e, f, s, float(np.sqrt(fc.var(axis=0).sum(-1)).max()), float(np.std(ec) / len(a))))
    else:
        from activities.mace.engine import Committee

        engine = Committee(models, "cpu", "float64")
        t_load = time.perf_counter() - t0
        engine.evaluate(read(file, index=":16"))  # warm-up (lazy torch init), as the workflow's helper is warm
        t0 = time.perf_counter()
        results = engine.evaluate(frames)
    t_loop = time.perf_counter() - t0
    print(json.dumps({"mode": mode, "n": len(results), "imports_s": t_imports, "read_s": t_read, "load_s": t_load, "loop_s": t_loop,
                      "process_s": time.perf_counter() - T_START}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "emt-data":
        emt_data(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "structures":
        structures(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "loop":
        loop(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)
