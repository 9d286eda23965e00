"""Si training data labelled by Stillinger-Weber (matscipy), for the exploration benchmark and tests.

SW is a real three-body Si potential that takes milliseconds per cell, so the benchmark fits a genuine
Si ACE potential (the campaign's default basis) without DFT. Frames come from short SW Langevin runs of a
64-atom diamond cell at several temperatures and volumes, plus vacancy cells, so the fitted potential is
stable in MD at 300-1200 K (what the exploration benchmark runs).

usage: python si_sw_dataset.py --out data.pckl.gzip [--count 60] [--seed 1] [--extxyz data.xyz] [--mace-extxyz ref.xyz]
  --mace-extxyz: the same labels as REF_energy/REF_forces/REF_stress, what mace_run_train reads
"""
import argparse
import os

import numpy as np
import pandas as pd
from ase import units
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution


def sw():
    from matscipy.calculators.manybody import Manybody
    from matscipy.calculators.manybody.explicit_forms.stillinger_weber import (
        Stillinger_Weber_PRB_31_5262_Si,
        StillingerWeber,
    )

    return Manybody(**StillingerWeber(Stillinger_Weber_PRB_31_5262_Si))


def frames(count, rng):
    calc = sw()
    out = []
    temps = [300, 600, 900, 1200, 1500]
    while len(out) < count:
        atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 2, 2))  # 64 atoms
        scale = rng.uniform(0.95, 1.05) ** (1 / 3)
        atoms.set_cell(atoms.cell * scale, scale_atoms=True)
        if rng.random() < 0.3:
            del atoms[int(rng.integers(len(atoms)))]
        atoms.calc = calc
        t = float(rng.choice(temps))
        MaxwellBoltzmannDistribution(atoms, temperature_K=t, rng=rng)
        dyn = Langevin(atoms, 2 * units.fs, temperature_K=t, friction=0.02, rng=rng)
        for _ in range(4):
            dyn.run(15)
            out.append(atoms.copy())
    return out[:count]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--extxyz")
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mace-extxyz")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    calc = sw()
    rows, labelled = [], []
    for i, atoms in enumerate(frames(a.count, rng)):
        atoms.calc = calc
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f, stress=s)
        rows.append({"name": f"si-sw-{i}", "ase_atoms": atoms, "energy": e, "energy_corrected": e, "forces": f,
                     "stress": s, "NUMBER_OF_ATOMS": len(atoms)})
        labelled.append(atoms)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    pd.DataFrame(rows).to_pickle(a.out, compression="gzip", protocol=4)
    if a.extxyz:
        write(a.extxyz, labelled, format="extxyz")
    if a.mace_extxyz:
        ref = []
        for atoms in labelled:
            r = atoms.copy()
            r.info["REF_energy"] = atoms.get_potential_energy()
            r.arrays["REF_forces"] = atoms.get_forces()
            r.info["REF_stress"] = atoms.get_stress()
            ref.append(r)
        write(a.mace_extxyz, ref, format="extxyz")


if __name__ == "__main__":
    main()
