"""A zero-shot SevenNet-0 teacher's energy reference: per-element shifts (eV/atom) that put its energies
(MPtrj's PBE, VASP's zero) on a campaign's DFT energy zero (QE's pseudopotentials), fitted by least squares
on the seed structures' DFT labels. Forces and the weights are untouched; without the shift the teacher's
energies could not be mixed with DFT labels in one ACE fit (QE's Si sits ~100 eV/atom from VASP's).
"""
import json
import os

import numpy as np

from activities.mace.sevennet_engine import MODEL, sevennet_oracle
from activities.runtime.protocol import HelperError
from activities.structures.reading import read_all


def fit_reference(p):
    """Input: dataset (extxyz with REF_energy), output (the reference JSON to write), device."""
    frames = read_all(p["dataset"])
    labelled = [a for a in frames if "REF_energy" in a.info]
    if not labelled:
        raise HelperError("InvalidInput", f"{p['dataset']}: no structure with REF_energy to fit SevenNet's energy reference on")
    engine, _ = sevennet_oracle(p.get("device", "cpu"))
    rows = engine.evaluate(labelled)
    pairs = [(a, r) for a, r in zip(labelled, rows) if not r["flag"]]
    elements = sorted({el for a, _ in pairs for el in a.get_chemical_symbols()})
    if len(pairs) < max(1, len(elements)):
        raise HelperError("InvalidInput", f"{p['dataset']}: SevenNet judged {len(pairs)} of {len(labelled)} structures, too few to fit a reference for {elements}")
    x = np.array([[a.get_chemical_symbols().count(el) for el in elements] for a, _ in pairs], dtype=float)
    y = np.array([float(a.info["REF_energy"]) - r["energy"] for a, r in pairs])
    shift, *_ = np.linalg.lstsq(x, y, rcond=None)
    n_atoms = x.sum(axis=1)
    before = float(np.sqrt(np.mean(np.square(y / n_atoms))) * 1000)
    after = float(np.sqrt(np.mean(np.square((y - x @ shift) / n_atoms))) * 1000)
    out = {
        "kind": "sevennet-reference",
        "model": MODEL,
        "version": engine.version,
        "shift_ev_atom": {el: float(v) for el, v in zip(elements, shift)},
        "fitted_on": {"dataset": os.path.abspath(p["dataset"]), "structures": len(pairs), "flagged": len(labelled) - len(pairs)},
        "energy_rmse_before_shift_mev_atom": before,
        "energy_rmse_after_shift_mev_atom": after,
    }
    os.makedirs(os.path.dirname(os.path.abspath(p["output"])), exist_ok=True)
    tmp = p["output"] + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(out, fh, indent=1)
    os.replace(tmp, p["output"])
    return {"reference": os.path.abspath(p["output"]), "shift_ev_atom": out["shift_ev_atom"], "structures": len(pairs),
            "energy_rmse_before_shift_mev_atom": before, "energy_rmse_after_shift_mev_atom": after}
