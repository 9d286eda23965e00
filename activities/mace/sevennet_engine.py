"""SevenNet-0 as the fast oracle, behind the same interface as a MACE committee (describe, evaluate, key).

Its weights ship inside PyPI's sevenn wheel, so it runs offline. It needs e3nn >= 0.5 while MACE pins 0.4.4,
so sevenn lives in an overlay directory beside the venv (python/requirements.sevenn.txt, scripts/setup.sh)
that is put first on sys.path here, in a process that has not imported MACE's e3nn. Like CHGNet it is one
model (no committee uncertainty) trained on MPtrj (PBE): energies on its own scale, relative only.
"""
import hashlib
import json
import math
import os
import sys

import numpy as np

from activities.mace.engine import MAX_FORCE, MIN_DISTANCE, file_sha256
from activities.runtime.protocol import HelperError
from activities.structures.reading import min_distance

# The overlay scripts/setup.sh installs ($VENV/overlays/sevenn); sys.prefix is the venv.
OVERLAY = os.path.join(sys.prefix, "overlays", "sevenn")
MODEL = "7net-0"
_CACHE = {}


def import_sevenn():
    """sevenn with its e3nn 0.5, or a clear error (not installed; or MACE's e3nn 0.4 already loaded here)."""
    loaded = sys.modules.get("e3nn")
    if loaded is not None and not str(getattr(loaded, "__version__", "")).startswith("0.5"):
        raise HelperError("InvalidInput", f"SevenNet needs e3nn 0.5 but this process already loaded e3nn {loaded.__version__} (MACE): run SevenNet in its own helper process")
    if not os.path.isdir(OVERLAY):
        raise HelperError("ToolMissing", f"SevenNet is not installed ({OVERLAY} missing): run `npm run setup`")
    if OVERLAY not in sys.path:
        sys.path.insert(0, OVERLAY)
    import sevenn
    from sevenn.calculator import SevenNetCalculator

    return sevenn, SevenNetCalculator


class SevennetOracle:
    kind = "sevennet"
    size = 1

    def __init__(self, device="cpu"):
        sevenn, calculator = import_sevenn()
        self.calc = calculator(model=MODEL, device=device)
        self.device = device
        self.version = f"sevenn {sevenn.__version__}, weights {MODEL}"
        weights = getattr(self.calc, "checkpoint_path", None) or getattr(self.calc, "model_path", None)
        self.sha256 = file_sha256(weights) if isinstance(weights, str) and os.path.isfile(weights) else None
        self.key = hashlib.sha256(json.dumps({"kind": "sevennet", "version": self.version, "sha256": self.sha256}).encode()).hexdigest()[:16]

    def describe(self):
        return {"kind": self.kind, "key": self.key, "committee": False, "size": 1, "dtype": "float32", "device": self.device,
                "version": self.version, "models": [{"file": f"sevenn-bundled:{MODEL}", "sha256": self.sha256 or self.key}]}

    def evaluate(self, frames, on_progress=None):
        rows = []
        for i, atoms in enumerate(frames):
            if len(atoms) > 1 and min_distance(atoms) < MIN_DISTANCE:
                rows.append({"flag": "overlapping_atoms", "message": f"atoms closer than {MIN_DISTANCE} Å"})
                continue
            try:
                a = atoms.copy()
                a.calc = self.calc
                energy = float(a.get_potential_energy())
                forces = np.asarray(a.get_forces(), dtype=float)
                stress = np.asarray(a.get_stress(), dtype=float) if a.pbc.all() else None  # ASE's sign, eV/Å^3
            except Exception as err:
                rows.append({"flag": "error", "message": f"{type(err).__name__}: {err}"[:300]})
                continue
            if not (math.isfinite(energy) and np.all(np.isfinite(forces)) and (stress is None or np.all(np.isfinite(stress)))):
                rows.append({"flag": "non_finite", "message": "SevenNet returned NaN or infinite values"})
            elif np.abs(forces).max(initial=0.0) > MAX_FORCE:
                rows.append({"flag": "exploding", "message": f"forces above {MAX_FORCE:g} eV/Å"})
            else:
                rows.append({"flag": None, "energy": energy, "forces": forces, "stress": stress,
                             "force_std_max": None, "energy_std_per_atom": None})
            if on_progress and (i + 1) % 16 == 0:
                on_progress(i + 1)
        if on_progress:
            on_progress(len(frames))
        return rows


def sevennet_oracle(device="cpu"):
    """SevenNet-0, loaded once per helper process."""
    hit = device in _CACHE
    if not hit:
        _CACHE[device] = SevennetOracle(device)
    return _CACHE[device], hit
