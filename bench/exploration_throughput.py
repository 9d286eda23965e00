"""Exploration throughput, measured in one process so every ratio comes from the same run (driven by
bench/exploration-throughput.ts, which prepares the potential and the MACE model).

usage: python bench/exploration_throughput.py POTENTIAL.yaml POTENTIAL.asi MACE.model --sizes 64,512,4096
           --threads 1,2 [--seconds 3]

Routes, each MD at 900 K (1 fs), atom-steps per wall second:
  ase-loop     today's exploration loop (the former activities/md/explore.py): ASE Langevin with pyace's
               PyACECalculator and its active set, gamma read every step. Single-threaded by construction.
  pyace-eval   pyace's evaluator alone (ACECalculator.compute with the B-basis evaluator and active set) on
               a prebuilt neighbour environment: no neighbour list, no integrator (environment_build_ms: what
               building that environment costs, which the ASE calculator pays every call). The ceiling of any route
               that evaluates through pyace (pair_style mliap unified with a Python model calling pyace,
               pyace batches) on one thread.
  engine       activities/md: compiled kernel + Verlet lists (numba cell lists) + BAOAB/NPT, one trajectory of the size,
               gamma every step, on 1 or 2 numba threads.
  engine-batch the same with 8 trajectories of the size at once (how exploration runs the ladder).
  mace         ASE Langevin with MACECalculator (float64, as the teacher labels) on 1 or 2 torch threads.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

T_K = 900.0


def cell(natoms, seed=0):
    from ase.build import bulk

    n = round((natoms / 8) ** (1 / 3))
    a = bulk("Si", "diamond", a=5.43, cubic=True).repeat((n, n, n))
    assert len(a) == natoms, f"{natoms} is not 8 n^3"
    a.rattle(0.02, seed=seed)
    return a


def timed(run_steps, natoms, seconds, min_steps=3):
    """Steps until `seconds` of wall time have passed (after one warm-up step); atom-steps per second."""
    run_steps(1)
    steps, t0, c0 = 0, time.perf_counter(), time.process_time()
    while steps < min_steps or time.perf_counter() - t0 < seconds:
        run_steps(1)
        steps += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"steps": steps, "wall_s": round(wall, 3), "atom_steps_per_s": round(natoms * steps / wall, 1),
            "cpu_us_per_atom_step": round(1e6 * cpu / (natoms * steps), 3)}


def ase_loop(pot, asi, natoms, seconds):
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from pyace import PyACECalculator

    calc = PyACECalculator(pot, gamma_upper_bound=1e12, gamma_lower_bound=1e12)
    calc.set_active_set(asi)
    atoms = cell(natoms)
    atoms.calc = calc
    rng = np.random.default_rng(1)
    MaxwellBoltzmannDistribution(atoms, temperature_K=T_K, rng=rng)
    dyn = Langevin(atoms, units.fs, temperature_K=T_K, friction=0.01 / units.fs, rng=rng)
    gmax = []

    def steps(k):
        for _ in range(k):
            dyn.run(1)
            gmax.append(float(np.asarray(calc.results["gamma"]).max()))

    return timed(steps, natoms, seconds)


def pyace_eval(pot, asi, natoms, seconds):
    from pyace.atomicenvironment import aseatoms_to_atomicenvironment
    from pyace.basis import ACEBBasisSet
    from pyace.calculator import ACECalculator
    from pyace.evaluator import ACEBEvaluator

    basis = ACEBBasisSet(pot)
    ev = ACEBEvaluator(basis)
    ev.load_active_set(asi)
    calc = ACECalculator()
    calc.set_evaluator(ev)
    mapping = {e: i for i, e in enumerate(np.array(basis.elements_name).astype("S2"))}
    atoms = cell(natoms)
    t0 = time.perf_counter()
    for _ in range(3):
        env = aseatoms_to_atomicenvironment(atoms, cutoff=basis.cutoffmax, elements_mapper_dict=mapping)
    env_ms = (time.perf_counter() - t0) / 3 * 1e3  # what the ASE calculator spends building it, every call
    r = timed(lambda k: [calc.compute(env, compute_projections=True) for _ in range(k)], natoms, seconds)
    r["environment_build_ms"] = round(env_ms, 2)
    r["compute_ms"] = round(r["wall_s"] / r["steps"] * 1e3, 2)
    return r


def engine_md(model, natoms, seconds, copies=1):
    from ase.data import atomic_masses

    from activities.md.dynamics import Dynamics
    from activities.md.engine import Batch

    cells = [cell(natoms, seed=k) for k in range(copies)]
    b = Batch(model, [a.numbers for a in cells], [a.positions for a in cells], [a.cell.array for a in cells])
    dyn = Dynamics(b, atomic_masses[b.numbers], [T_K] * copies, [0.0] * copies, [True] * copies, 1.0, 1)
    r = timed(lambda k: [dyn.step() for _ in range(k)], natoms * copies, seconds)
    r["neighbour_list_builds"] = b.rebuilds
    return r


def mace_md(model_file, natoms, seconds):
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from mace.calculators import MACECalculator

    calc = MACECalculator(model_paths=model_file, device="cpu", default_dtype="float64")
    atoms = cell(natoms)
    atoms.calc = calc
    rng = np.random.default_rng(1)
    MaxwellBoltzmannDistribution(atoms, temperature_K=T_K, rng=rng)
    dyn = Langevin(atoms, units.fs, temperature_K=T_K, friction=0.01 / units.fs, rng=rng)
    return timed(lambda k: dyn.run(k), natoms, seconds, min_steps=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("potential")
    ap.add_argument("active_set")
    ap.add_argument("mace")
    ap.add_argument("--sizes", default="64,512,4096")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--routes", default="ase-loop,pyace-eval,engine,engine-batch,mace")
    a = ap.parse_args()
    import numba
    import torch

    from activities.md import engine

    sizes = [int(x) for x in a.sizes.split(",")]
    threads = [int(x) for x in a.threads.split(",")]
    routes = a.routes.split(",")
    model = engine.load(a.potential, a.active_set, threads=max(threads))
    engine.evaluate_atoms(model, [cell(64)])  # compile / load the kernel before timing
    rows = []
    for n in sizes:
        for th in threads:
            numba.set_num_threads(th)
            torch.set_num_threads(th)
            for route in routes:
                if route in ("ase-loop", "pyace-eval") and th != 1:
                    continue  # single-threaded code: a second thread changes nothing
                if route == "engine-batch" and n > 512:
                    continue  # large cells fill the threads on their own
                t0 = time.perf_counter()
                if route == "ase-loop":
                    r = ase_loop(a.potential, a.active_set, n, a.seconds)
                elif route == "pyace-eval":
                    r = pyace_eval(a.potential, a.active_set, n, a.seconds)
                elif route == "engine":
                    r = engine_md(model, n, a.seconds)
                elif route == "engine-batch":
                    r = engine_md(model, n, a.seconds, copies=8)
                else:
                    r = mace_md(a.mace, n, a.seconds)
                rows.append({"atoms": n, "threads": th, "route": route, **r, "total_s": round(time.perf_counter() - t0, 1)})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"rows": rows, "numba": numba.__version__, "threading_layer": numba.threading_layer(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
