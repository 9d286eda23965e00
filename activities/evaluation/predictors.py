"""A potential as something that predicts energy, forces and stress for a list of structures.

  ACE   potential.yaml (B-basis) or potential.yace, through pyace's ASE calculator. Pacemaker fits
        energy_corrected = E - sum_i E_ref(el_i) + shift * N, so the potential predicts energies relative
        to its reference energies. They are in the .yaml's metadata (`reference_energy`, written by
        Pacemaker); with them the prediction is put back on the absolute scale
        (E = E_ace + sum_i E_ref(el_i) - shift * N). A .yace has no metadata: the .yaml beside it is read,
        and without one the energies are relative only (only offset-corrected energy errors mean anything).
  MACE  one .model file or several joined by commas (a committee: its mean), absolute energies (E0s).
  CHGNet  "chgnet": the weights in the chgnet wheel; MP-compatible energies, not on the scale of your DFT
        (relative only). "chgnet:FILE": a fine-tuned CHGNet, its reference refitted to the DFT it was
        fine-tuned on (absolute energies).
  SevenNet  "sevennet": SevenNet-0, the weights in the sevenn wheel (its own overlay, e3nn 0.5); MPtrj (PBE)
        energies, relative only. "sevennet:FILE": the same weights with a campaign's energy reference
        (a .json of per-element shifts fitted on its seed DFT labels), or a SevenNet-0 a campaign fine-tuned
        (its reference folded in): absolute energies.
"""
import json
import math
import os

import numpy as np
import yaml

from activities.runtime.protocol import HelperError, progress


def ace_reference_energies(potential):
    """{element: eV, 'shift': eV/atom} from Pacemaker's metadata, or None."""
    path = potential
    if potential.endswith(".yace"):
        path = potential[: -len(".yace")] + ".yaml"
        if not os.path.isfile(path):
            return None
    try:
        with open(path) as fh:
            meta = (yaml.safe_load(fh) or {}).get("metadata") or {}
    except Exception:
        return None
    ref = meta.get("reference_energy")
    if ref is None:
        return None
    if isinstance(ref, str):
        ref = json.loads(ref)
    return {str(k): float(v) for k, v in ref.items()}


class AcePredictor:
    kind = "ace"

    def __init__(self, potential):
        if not os.path.isfile(potential):
            raise HelperError("InvalidInput", f"potential not found: {potential}")
        from pyace import PyACECalculator

        try:
            self.calc = PyACECalculator(potential)
        except Exception as err:
            raise HelperError("InvalidInput", f"pyace cannot load {potential}: {type(err).__name__}: {err}") from err
        self.elements = set(self.calc.basis.elements_name)
        self.refs = ace_reference_energies(potential)
        self.energy_scale = "absolute" if self.refs is not None else "relative"

    def describe(self):
        return {"kind": self.kind, "energy_scale": self.energy_scale, "reference_energies": self.refs}

    def _absolute(self, atoms, energy):
        if self.refs is None:
            return energy
        symbols = atoms.get_chemical_symbols()
        return energy + sum(self.refs.get(s, 0.0) for s in symbols) - self.refs.get("shift", 0.0) * len(symbols)

    def evaluate(self, frames):
        rows = []
        for i, atoms in enumerate(frames):
            try:
                unknown = sorted(set(atoms.get_chemical_symbols()) - self.elements)
                if unknown:
                    raise ValueError(f"elements {unknown} are not in the potential ({sorted(self.elements)})")
                a = atoms.copy()
                a.calc = self.calc
                energy = float(a.get_potential_energy())
                forces = np.asarray(a.get_forces(), dtype=float)
                stress = np.asarray(a.get_stress(), dtype=float) if a.pbc.all() else None
                if not math.isfinite(energy) or not np.all(np.isfinite(forces)):
                    raise ValueError("non-finite energy or forces")
                rows.append({"flag": None, "energy": self._absolute(atoms, energy), "forces": forces, "stress": stress})
            except Exception as err:
                rows.append({"flag": f"{type(err).__name__}: {err}"[:300]})
            if (i + 1) % 50 == 0:
                progress(evaluated=i + 1, total=len(frames))
        return rows


class EnginePredictor:
    """The MACE committee engine or CHGNet (the same batched code the teacher labels with)."""

    def __init__(self, engine, kind, energy_scale):
        self.engine, self.kind, self.energy_scale = engine, kind, energy_scale

    def describe(self):
        return {"kind": self.kind, "energy_scale": self.energy_scale, "reference_energies": None}

    def evaluate(self, frames):
        out = []
        for row in self.engine.evaluate(frames, on_progress=lambda n: progress(evaluated=n, total=len(frames))):
            if row["flag"]:
                out.append({"flag": f"{row['flag']}: {row.get('message', '')}"})
            else:
                out.append({"flag": None, "energy": row["energy"], "forces": np.asarray(row["forces"]), "stress": row["stress"]})
        return out


def predictor(spec, device="cpu"):
    """ACE (.yaml/.yace), MACE (.model, comma-separated for a committee), 'chgnet' (bundled weights) or
    'chgnet:FILE' (a fine-tuned CHGNet) or 'sevennet' (SevenNet-0's bundled weights) or 'sevennet:FILE' (with
    a campaign's energy reference .json, or a fine-tuned SevenNet-0)."""
    if spec == "sevennet" or spec.startswith("sevennet:"):
        from activities.mace.sevennet_engine import sevennet_oracle

        # "sevennet:FILE": an energy reference (.json) beside the bundled weights, or a fine-tuned model file.
        model_file = spec.partition(":")[2] or None
        return EnginePredictor(sevennet_oracle(device, model_file)[0], "sevennet", "absolute" if model_file else "relative")
    if spec == "chgnet" or spec.startswith("chgnet:"):
        from activities.mace.chgnet_engine import chgnet_oracle

        # A fine-tuned file ("chgnet:FILE") carries a reference refitted to the campaign's DFT: absolute energies.
        model_file = spec.partition(":")[2] or None
        return EnginePredictor(chgnet_oracle(device, model_file)[0], "chgnet", "absolute" if model_file else "relative")
    if spec.endswith((".yaml", ".yace")):
        return AcePredictor(spec)
    models = [m for m in spec.split(",") if m]
    if models and all(m.endswith(".model") for m in models):
        from activities.mace.engine import committee

        return EnginePredictor(committee(models, device)[0], "mace", "absolute")
    raise HelperError("InvalidInput", f"potential {spec}: give an ACE potential (.yaml or .yace), MACE model file(s) (.model, "
                                      "comma-separated for a committee), 'chgnet', 'chgnet:FILE', 'sevennet' or 'sevennet:FILE'")
