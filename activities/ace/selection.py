"""The Python halves of D-optimal selection around Pacemaker's own `pace_select` CLI.

candidates: any structure file -> the DataFrame pace_select reads (name = candidate index), checked
            against the potential's elements; without a potential it also writes the campaign's basis,
            unfitted, for the documented fallback.
selected:   pace_select's pickle -> candidate indices in its order (most atoms entering the active set
            first), topped up to n when MaxVol picked fewer: by extrapolation grade against the
            potential's active set, or (no active set) uniformly at random with the given seed.
"""
import json
import os

import numpy as np
import pandas as pd
from ase.io import write

from activities.ace.common import build_basis, finite, read_structures, write_dataframe
from activities.runtime.protocol import HelperError
from activities.safety.pickles import read_dataframe


def candidates(p):
    """Input: structures, out (pckl.gzip), potential (.yaml) or basis (spec) + basis_out (.yaml)."""
    frames, names = read_structures(p["structures"], "candidate structures")
    if not frames:
        raise HelperError("InvalidInput", f"no candidate structures in {p['structures']}")
    if p.get("potential"):
        from pyace import ACEBBasisSet, BBasisConfiguration

        try:
            elements = set(ACEBBasisSet(BBasisConfiguration(p["potential"])).elements_name)
        except Exception as err:
            raise HelperError("InvalidInput", f"potential {p['potential']} cannot be read by pyace: {err}") from err
    else:
        bconf = build_basis(p["basis"])
        tmp = p["basis_out"] + ".tmp.yaml"
        bconf.save(tmp)
        os.replace(tmp, p["basis_out"])
        elements = set(p["basis"]["elements"])
    present = {s for a in frames for s in a.get_chemical_symbols()}
    if present - elements:
        raise HelperError("InvalidInput", f"candidates contain {', '.join(sorted(present - elements))}, which the potential does not know ({', '.join(sorted(elements))})")
    df = pd.DataFrame({"ase_atoms": frames, "name": [str(i) for i in range(len(frames))], "source_name": names})
    write_dataframe(df, p["out"])
    return {"count": len(frames)}


def _gammas(potential, active_set, frames):
    from activities.ace.gamma import calculator

    calc = calculator(potential, active_set)
    out = []
    for atoms in frames:
        a = atoms.copy()
        a.calc = calc
        try:
            a.get_potential_energy()
            out.append(float(np.max(calc.results["gamma"])))
        except Exception:
            out.append(float("inf"))
    return out


def selected(p):
    """Input: candidates (pckl.gzip from `candidates`), selected (pace_select output), n, seed, fill,
    potential, active_set (optional), output (extxyz), report (JSON)."""
    cands = read_dataframe(p["candidates"], "candidates")
    n = min(int(p["n"]), len(cands))
    sel = read_dataframe(p["selected"], "pace_select output") if os.path.isfile(p["selected"]) else pd.DataFrame({"name": []})
    picked = [int(x) for x in sel["name"]][:n]
    how = {i: "maxvol" for i in picked}
    gamma = {}
    rest = [i for i in range(len(cands)) if i not in how]
    if len(picked) < n and p.get("fill", True) and rest:
        need = n - len(picked)
        if p.get("active_set") and os.path.isfile(p["active_set"]):
            g = _gammas(p["potential"], p["active_set"], [cands["ase_atoms"][i] for i in rest])
            order = np.argsort(-np.asarray(g), kind="stable")[:need]
            extra = [rest[k] for k in order]
            gamma.update({rest[k]: g[k] for k in order})
            label = "gamma"
        else:
            rng = np.random.default_rng(int(p.get("seed", 0)))
            extra = sorted(int(x) for x in rng.choice(rest, size=need, replace=False))
            label = "uniform"
        picked += extra
        how.update({i: label for i in extra})
    frames = []
    for i in picked:
        a = cands["ase_atoms"][i].copy()
        a.calc = None
        a.info.update(candidate_index=i, name=str(cands["source_name"][i]), selected_by=how[i])
        frames.append(a)
    if p.get("output"):
        tmp = p["output"] + ".tmp.extxyz"
        write(tmp, frames, format="extxyz")
        os.replace(tmp, p["output"])
    report = [{"index": i, "name": str(cands["source_name"][i]), "selected_by": how[i],
               "gamma": finite(gamma[i]) if i in gamma else None} for i in picked]
    with open(p["report"], "w") as fh:
        json.dump(report, fh, indent=1)
    return {
        "indices": picked,
        "maxvol": sum(1 for i in picked if how[i] == "maxvol"),
        "filled": sum(1 for i in picked if how[i] != "maxvol"),
    }
