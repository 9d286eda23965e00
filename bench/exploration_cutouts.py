"""Check an exploration's cut-outs against the frames they were cut from, with pyace (independent of the
exploration engine): each cut-out's centre atom must have the big frame's largest gamma (within 10 %),
and no cut-out may exceed max_atoms_dft.

usage: python bench/exploration_cutouts.py CANDIDATES.extxyz FRAMES.extxyz POTENTIAL.yaml POTENTIAL.asi MAX_ATOMS
Prints one JSON object.
"""
import json
import sys

import numpy as np
from ase.io import read


def main():
    cand_file, frames_file, pot, asi, max_atoms = sys.argv[1:6]
    from pyace import PyACECalculator

    calc = PyACECalculator(pot, gamma_upper_bound=1e12, gamma_lower_bound=1e12)
    calc.set_active_set(asi)

    def gamma(atoms):
        atoms = atoms.copy()
        atoms.calc = calc
        atoms.get_potential_energy()
        return np.array(calc.results["gamma"])

    frames = {(f.info["trajectory"], int(f.info["step"])): f for f in read(frames_file, ":")}
    rows = []
    for c in read(cand_file, ":"):
        if "carved_from_atoms" not in c.info:
            continue
        big = frames[(c.info["trajectory"], int(c.info["step"]))]
        g_big = gamma(big)
        g_cut = gamma(c)
        centre_big = float(g_big.max())
        centre_cut = float(g_cut[int(c.info.get("cutout_centre", 0))])
        rows.append({"atoms": len(c), "from_atoms": len(big), "gamma_big": round(centre_big, 5), "gamma_cut": round(centre_cut, 5),
                     "rel_diff": abs(centre_cut - centre_big) / centre_big, "centre_intact": bool(c.info.get("centre_intact")),
                     "inscribed_radius": float(c.info.get("inscribed_radius", 0))})
    diffs = [r["rel_diff"] for r in rows]
    print(json.dumps({
        "cutouts": len(rows),
        "max_atoms": max([r["atoms"] for r in rows] or [0]),
        "min_atoms": min([r["atoms"] for r in rows] or [0]),
        "within_max_atoms_dft": all(r["atoms"] <= int(max_atoms) for r in rows),
        "max_rel_gamma_diff": max(diffs or [0.0]),
        "all_within_10_percent": all(d <= 0.10 for d in diffs),
        "centre_intact": sum(r["centre_intact"] for r in rows),
        "from_atoms": max([r["from_atoms"] for r in rows] or [0]),
        "examples": rows[:5],
    }))


if __name__ == "__main__":
    main()
