"""CHGNet as the fast oracle, behind the same interface as a MACE committee (describe, evaluate, key).

Its pretrained weights ship inside the chgnet wheel (chgnet/pretrained/), so it runs offline; or a model
file a campaign's fine-tune wrote (chgnet_finetune.py). It is a single model: no committee uncertainty, so
the tiered oracle routes its labels by the ACE extrapolation grade. The bundled weights' energies are on
CHGNet's own (MP-compatible) scale, not the project's DFT scale: a zero-shot teacher for forces and relative
energies. A fine-tuned file carries a reference refitted to the campaign's DFT labels (absolute energies).
"""
import hashlib
import json
import math
import os

import numpy as np

from activities.mace.engine import MAX_FORCE, MIN_DISTANCE, file_sha256
from activities.structures.reading import min_distance

_CACHE = {}


class ChgnetOracle:
    kind = "chgnet"
    size = 1

    def __init__(self, device="cpu", model_file=None):
        from activities.mace.chgnet_finetune import load_model

        self.model = load_model(model_file, device)
        import chgnet

        self.device = device
        self.file = os.path.abspath(model_file) if model_file else None
        weights = getattr(self.model, "version", None) or "unknown"
        self.version = f"chgnet {chgnet.__version__}, weights {weights}" + (", fine-tuned" if self.file else "")
        # A fine-tuned model is named by its content: two generations' files never share a store key.
        self.sha256 = file_sha256(self.file) if self.file else None
        self.key = hashlib.sha256(json.dumps({"kind": "chgnet", "version": self.version, **({"sha256": self.sha256} if self.file else {})}).encode()).hexdigest()[:16]

    def describe(self):
        model = {"file": self.file, "sha256": self.sha256} if self.file else {"file": f"chgnet-bundled:{getattr(self.model, 'version', 'unknown')}", "sha256": self.key}
        return {"kind": self.kind, "key": self.key, "committee": False, "size": 1, "dtype": "float32", "device": self.device,
                "version": self.version, "models": [model]}

    def evaluate(self, frames, on_progress=None):
        from ase import units
        from ase.stress import full_3x3_to_voigt_6_stress
        from pymatgen.io.ase import AseAtomsAdaptor

        rows = [None] * len(frames)
        graphs, where = [], []
        for i, atoms in enumerate(frames):
            if len(atoms) > 1 and min_distance(atoms) < MIN_DISTANCE:
                rows[i] = {"flag": "overlapping_atoms", "message": f"atoms closer than {MIN_DISTANCE} Å"}
                continue
            try:
                graphs.append(self.model.graph_converter(AseAtomsAdaptor.get_structure(atoms)))
                where.append(i)
            except Exception as err:  # CHGNet needs a periodic cell with neighbours
                rows[i] = {"flag": "error", "message": f"{type(err).__name__}: {err}"[:300]}
        for start in range(0, len(graphs), 16):
            part = graphs[start:start + 16]
            preds = self.model.predict_graph(part, task="efs", batch_size=16)
            preds = preds if isinstance(preds, list) else [preds]
            for i, pred in zip(where[start:start + 16], preds):
                n = len(frames[i])
                energy = float(pred["e"]) * (n if self.model.is_intensive else 1)
                forces = np.asarray(pred["f"], dtype=float)
                stress = np.asarray(pred["s"], dtype=float) * units.GPa  # GPa -> eV/Å^3, as CHGNetCalculator
                if stress.shape == (3, 3):
                    stress = full_3x3_to_voigt_6_stress(stress)
                if not (math.isfinite(energy) and np.all(np.isfinite(forces)) and np.all(np.isfinite(stress))):
                    rows[i] = {"flag": "non_finite", "message": "CHGNet returned NaN or infinite values"}
                elif np.abs(forces).max(initial=0.0) > MAX_FORCE:
                    rows[i] = {"flag": "exploding", "message": f"forces above {MAX_FORCE:g} eV/Å"}
                else:
                    rows[i] = {"flag": None, "energy": energy, "forces": forces, "stress": stress,
                               "force_std_max": None, "energy_std_per_atom": None}
            if on_progress:
                on_progress(min(start + 16, len(graphs)))
        return rows


def chgnet_oracle(device="cpu", model_file=None):
    """The bundled weights (model_file None) or a fine-tuned file, loaded once per helper process (a file by
    its content: a rewritten file is loaded again)."""
    key = (device, os.path.abspath(model_file), file_sha256(model_file)) if model_file and os.path.isfile(model_file) else (device, model_file)
    hit = key in _CACHE
    if not hit:
        _CACHE[key] = ChgnetOracle(device, model_file)
    return _CACHE[key], hit
