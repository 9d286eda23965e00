"""Is every frame of a test set one the target ensemble visits? Per frame of an MD-made test set: its DFT
potential energy above the coldest frame of the same kind and size, against the harmonic expectation
3/2 N k (T - T_cold), in units of the thermal spread sqrt(3N/2) k T; optionally a potential's force RMSE
and extrapolation grade on it. A frame many spreads above expectation came from a reference potential
whose landscape differs from DFT's (e.g. Tersoff's vacancy reconstructs), not from the DFT ensemble.

    .venv/bin/python bench/testset_audit.py bench/testsets/si.extxyz [--potential P.yaml [--within S]] [--json OUT]

--within S (with a potential): the potential's force RMSE and energy RMSE after the mean offset over the
frames within S spreads of expectation (with the coldest frames and the cells not made by MD), and over
the frames above: how much of a test error comes from frames the DFT ensemble would not visit.
"""
import argparse
import json
import math
from collections import defaultdict

import numpy as np
from ase.io import read

KB = 8.617333262e-5  # eV/K


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("testset")
    ap.add_argument("--potential", help="ACE .yaml (its .asi beside it gives the extrapolation grade)")
    ap.add_argument("--within", type=float, help="with --potential: errors within and above this many spreads")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args()
    frames = read(args.testset, ":")
    calc = None
    if args.potential:
        from pyace import PyACECalculator
        calc = PyACECalculator(args.potential)
        try:
            calc.set_active_set(args.potential.rsplit(".", 1)[0] + ".asi")
        except Exception:  # no active set beside the potential: grades are left out
            pass
    groups = defaultdict(list)
    for i, a in enumerate(frames):
        if a.info.get("temperature") is not None:
            groups[(a.info.get("config_type"), len(a))].append(i)
    cold = {k: min(v, key=lambda i: (frames[i].info["temperature"], frames[i].get_potential_energy())) for k, v in groups.items()}
    rows = []
    for i, a in enumerate(frames):
        row = {"name": a.info.get("name", str(i)), "config_type": a.info.get("config_type"), "natoms": len(a), "temperature": a.info.get("temperature")}
        key = (row["config_type"], len(a))
        if key in cold and i != cold[key]:
            c = frames[cold[key]]
            n, t, t0 = len(a), a.info["temperature"], c.info["temperature"]
            excess = (a.get_potential_energy() - c.get_potential_energy()) - 1.5 * n * KB * (t - t0)
            row.update(excess_ev=round(excess, 3), spreads=round(excess / (math.sqrt(1.5 * n) * KB * t), 1))
        if calc is not None:
            b = a.copy()
            b.calc = calc
            f = b.get_forces()
            row["force_rmse_mev_a"] = round(1000 * float(np.sqrt(((f - a.get_forces()) ** 2).mean())), 1)
            row["_f2"] = float(((f - a.get_forces()) ** 2).sum()) * 1e6
            row["_de"] = (b.get_potential_energy() - a.get_potential_energy()) / len(a) * 1000
            if "gamma" in calc.results:
                row["max_gamma"] = round(float(np.max(calc.results["gamma"])), 3)
        rows.append(row)
    keys = ["name", "config_type", "natoms", "temperature", "excess_ev", "spreads", "force_rmse_mev_a", "max_gamma"]
    print("  ".join(f"{k:>16}" for k in keys))
    for r in rows:
        print("  ".join(f"{'' if r.get(k) is None else r[k]!s:>16}" for k in keys))
    summary = {}
    if calc is not None and args.within is not None:
        def errors(sel):
            if not sel:
                return None
            de = np.array([r["_de"] for r in sel])
            comps = 3 * sum(r["natoms"] for r in sel)
            return {"frames": len(sel), "forces_rmse_mev_a": round(float(np.sqrt(sum(r["_f2"] for r in sel) / comps)), 1),
                    "energy_rmse_mev_atom_offset": round(float(np.sqrt(((de - de.mean()) ** 2).mean())), 2)}
        far = [(r.get("spreads") or 0) > args.within for r in rows]
        summary = {"within": args.within, "inside": errors([r for r, f in zip(rows, far) if not f]),
                   "above": errors([r for r, f in zip(rows, far) if f])}
        for k in ("inside", "above"):
            e = summary[k]
            what = f"within {args.within} spreads (and not MD-made)" if k == "inside" else f"above {args.within} spreads"
            print(f"{what}: " + ("none" if e is None else f"{e['frames']} frames, forces {e['forces_rmse_mev_a']} meV/Å, energy {e['energy_rmse_mev_atom_offset']} meV/atom after the mean offset"))
    for r in rows:
        r.pop("_f2", None)
        r.pop("_de", None)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"testset": args.testset, "potential": args.potential, "rows": rows, **summary}, fh, indent=1)


if __name__ == "__main__":
    main()
