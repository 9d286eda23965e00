"""Datasets in the exact formats the trainers read.

Pacemaker: a gzip-pickled pandas DataFrame with columns ase_atoms, energy, forces, energy_corrected
(energy minus per-element reference energies), stress (optional), name. MACE: extxyz with REF_energy,
REF_forces and REF_stress, so MACE's own keys never shadow the reference labels.
"""
import json
import os

import numpy as np
import pandas as pd
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from .protocol import HelperError
from .structures_io import read_one


def _labelled(entry, reference_energies):
    atoms = read_one(entry["structure_file"], entry.get("index", 0))
    with open(entry["label_file"]) as fh:
        label = json.load(fh)
    energy = float(label["energy"])
    forces = np.asarray(label["forces"], dtype=float)
    if forces.shape != (len(atoms), 3):
        raise HelperError("InvalidInput", f"{entry['label_file']}: forces shape {forces.shape} != ({len(atoms)}, 3)")
    stress = np.asarray(label["stress"], dtype=float) if label.get("stress") is not None else None
    if not np.isfinite(energy) or not np.all(np.isfinite(forces)) or (stress is not None and not np.all(np.isfinite(stress))):
        raise HelperError("InvalidInput", f"{entry['label_file']}: energy, forces or stress is not finite")
    missing = sorted({s for s in atoms.get_chemical_symbols() if reference_energies and s not in reference_energies})
    if missing:
        raise HelperError("InvalidInput", f"no reference energy for {missing} (training.reference_energies)")
    e_ref = sum(reference_energies.get(s, 0.0) for s in atoms.get_chemical_symbols())
    return atoms, energy, forces, stress, energy - e_ref


def write_dataset(p):
    """Input: entries [{structure_file, index, label_file, name}], reference_energies, pckl, extxyz."""
    refs = p.get("reference_energies") or {}
    rows, frames = [], []
    for i, entry in enumerate(p["entries"]):
        atoms, energy, forces, stress, e_corr = _labelled(entry, refs)
        name = entry.get("name", f"s{i}")
        rows.append({"name": name, "ase_atoms": atoms.copy(), "energy": energy, "forces": forces,
                     "energy_corrected": e_corr, "stress": stress, "NUMBER_OF_ATOMS": len(atoms)})
        frame = atoms.copy()
        frame.info.update({"REF_energy": energy, "config_type": entry.get("config_type", "Default"), "name": name})
        frame.arrays["REF_forces"] = forces
        if stress is not None:
            frame.info["REF_stress"] = stress
        frames.append(frame)
    if not rows:
        raise HelperError("InvalidInput", "the dataset would be empty")
    out = {"count": len(rows)}
    if p.get("pckl"):
        df = pd.DataFrame(rows)
        tmp = p["pckl"] + ".tmp"
        df.to_pickle(tmp, compression="gzip", protocol=4)
        os.replace(tmp, p["pckl"])
        out["pckl"] = p["pckl"]
    if p.get("extxyz"):
        tmp = p["extxyz"] + ".tmp"
        write(tmp, frames, format="extxyz")
        os.replace(tmp, p["extxyz"])
        out["extxyz"] = p["extxyz"]
    return out
