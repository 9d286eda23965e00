"""What a fit leaves unfitted in its own training data: per-structure energy and force residuals of a
potential on a Pacemaker dataset, by cell size and source (e.g. the Si example's 15-atom vacancy cells
against its 8- and 16-atom bulk cells). A systematic energy residual between groups that a larger basis
does not remove is a property of the data (labels, weights), not of the basis size.

    .venv/bin/python bench/fit_residuals.py POTENTIAL.yaml DATASET.pckl.gzip [--json OUT]

Energies per atom after one mean offset over all structures (meV/atom); forces RMS over components (meV/Å).
"""
import argparse
import json

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("potential")
    ap.add_argument("dataset")
    ap.add_argument("--json")
    args = ap.parse_args()
    from pyace import PyACECalculator

    df = pd.read_pickle(args.dataset, compression="gzip")
    calc = PyACECalculator(args.potential)
    rows = []
    for _, r in df.iterrows():
        a = r.ase_atoms.copy()
        a.calc = calc
        f_ref = np.asarray(np.stack(r.forces), dtype=float)
        rows.append({
            "source": str(r.get("source", "-")),
            "atoms": len(a),
            "de": (a.get_potential_energy() - r.energy) / len(a) * 1000,
            "f2": float(np.mean((a.get_forces() - f_ref) ** 2)) * 1e6,
        })
    d = pd.DataFrame(rows)
    d["de"] -= d["de"].mean()
    out = {"potential": args.potential, "dataset": args.dataset, "structures": len(d),
           "energy_rmse_mev_atom_offset": float(np.sqrt((d.de ** 2).mean())), "groups": []}
    print(f"{len(d)} structures; energy RMSE after the mean offset {out['energy_rmse_mev_atom_offset']:.2f} meV/atom")
    print(f"{'atoms':>5}  {'source':<16} {'n':>4}  {'E mean':>7}  {'E RMSE':>7}  {'F RMSE':>7}")
    for by in (["atoms"], ["atoms", "source"]):
        for key, g in d.groupby(by):
            key = key if isinstance(key, tuple) else (key,)
            row = {"atoms": int(key[0]), "source": key[1] if len(key) > 1 else "all", "n": len(g),
                   "energy_mean_mev_atom": float(g.de.mean()), "energy_rmse_mev_atom": float(np.sqrt((g.de ** 2).mean())),
                   "forces_rmse_mev_a": float(np.sqrt(g.f2.mean()))}
            out["groups"].append(row)
            print(f"{row['atoms']:>5}  {row['source']:<16} {row['n']:>4}  {row['energy_mean_mev_atom']:>7.1f}  {row['energy_rmse_mev_atom']:>7.1f}  {row['forces_rmse_mev_a']:>7.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
