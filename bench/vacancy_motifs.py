"""How long MD in a vacancy cell takes to reach each bonding motif: Langevin MD of the 8-atom diamond Si cube
less one atom, with a potential's own forces, recording the sorted coordination numbers (bonds < 2.75 Å) of
the cell every --every steps and the step each motif first appears. With the campaign's MD length
(exploration.steps) this says which vacancy configurations its exploration can reach at all.

    .venv/bin/python bench/vacancy_motifs.py runs/si-example-12/potentials/gen-6/potential.yaml --steps 2000 --out R.json

--frames FILE counts the same signature over the 7-atom (vacancy) cells of any extxyz: a test set, or a
campaign's DFT training data (`autopipe dataset export --run-dir RUN --oracle dft --split train --format
extxyz`). E.g. 3444445 is one five-fold and one three-fold atom, 3333444 the unreconstructed vacancy.
"""
import argparse
import collections
import json
import sys

import numpy as np
from ase import units
from ase.build import bulk
from ase.io import read
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.neighborlist import neighbor_list

BOND = 2.75  # Å: between the first (2.35) and second (3.84) neighbour shells of diamond Si


def motif(atoms):
    i = neighbor_list("i", atoms, BOND)
    return "".join(str(int(x)) for x in np.sort(np.bincount(i, minlength=len(atoms))))


def run(calc, temperature, seed, steps, every):
    a = bulk("Si", "diamond", a=5.43, cubic=True)
    rng = np.random.default_rng(seed)
    del a[int(rng.integers(len(a)))]
    a.rattle(0.02, seed=seed)
    a.calc = calc
    MaxwellBoltzmannDistribution(a, temperature_K=temperature, rng=rng)
    dyn = Langevin(a, 1.0 * units.fs, temperature_K=temperature, friction=0.02 / units.fs, rng=rng)
    seen, first = collections.Counter(), {}
    for k in range(steps // every):
        dyn.run(every)
        m = motif(a)
        seen[m] += 1
        first.setdefault(m, (k + 1) * every)
    return {m: {"frames": seen[m], "first_step": first[m]} for m in sorted(first, key=first.get)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("potential", help="an ACE potential.yaml (pyace's calculator); none: only count --frames")
    ap.add_argument("--temperatures", default="600,900", help="K, comma-separated")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--steps", type=int, default=2000, help="1 fs each")
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--frames", action="append", default=[], help="also count the motifs of this extxyz's 7-atom cells (a test set, a training set)")
    ap.add_argument("--out")
    args = ap.parse_args()
    from pyace import PyACECalculator

    calc = PyACECalculator(args.potential) if args.potential != "none" else None
    runs = []
    for t in [float(x) for x in args.temperatures.split(",")] if calc else []:
        for s in [int(x) for x in args.seeds.split(",")]:
            r = run(calc, t, s, args.steps, args.every)
            runs.append({"temperature": t, "seed": s, "motifs": r})
            print(f"{t:6.0f} K seed {s}: " + ", ".join(f"{m} from step {v['first_step']} ({v['frames']} frames)" for m, v in r.items()))
    counted = {}
    for f in args.frames:
        cells = [x for x in read(f, ":") if len(x) == 7]
        counted[f] = dict(collections.Counter(motif(x) for x in cells).most_common())
        print(f"{f}: {len(cells)} vacancy cells: " + ", ".join(f"{m} x{n}" for m, n in counted[f].items()))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"command": " ".join([".venv/bin/python", "bench/vacancy_motifs.py"] + sys.argv[1:]), "bond_cutoff": BOND, "potential": args.potential,
                       "steps": args.steps, "every": args.every, "runs": runs, "frames": counted}, fh, indent=1)


if __name__ == "__main__":
    main()
