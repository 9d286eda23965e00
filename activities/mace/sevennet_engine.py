"""SevenNet-0 as the fast oracle, behind the same interface as a MACE committee (describe, evaluate, key).

Its weights ship inside PyPI's sevenn wheel, so it runs offline. It needs e3nn >= 0.5 while MACE pins 0.4.4,
so sevenn lives in an overlay directory beside the venv (python/requirements.sevenn.txt, scripts/setup.sh)
that is put first on sys.path here, in a process that has not imported MACE's e3nn. Like CHGNet it is one
model (no committee uncertainty) trained on MPtrj (PBE): energies on its own scale, relative only, unless a
reference file (sevennet_reference.py: per-element shifts fitted on a campaign's seed DFT labels) puts them on
the campaign's DFT energy zero (zero-shot: the weights as shipped), or unless the model is a fine-tuned file
(sevennet_finetune.py), whose energy reference is folded into its weights.
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

    def __init__(self, device="cpu", reference_file=None, model_file=None):
        sevenn, calculator = import_sevenn()
        self.device = device
        if model_file:
            from activities.mace.sevennet_finetune import calculator as tuned_calculator

            self.calc = tuned_calculator(model_file, device)
            self.version = f"sevenn {sevenn.__version__}, {MODEL} fine-tuned"
            self.weights_file, self.sha256 = os.path.abspath(model_file), file_sha256(model_file)
        else:
            self.calc = calculator(model=MODEL, device=device)
            self.version = f"sevenn {sevenn.__version__}, weights {MODEL}"
            weights = getattr(self.calc, "checkpoint_path", None) or getattr(self.calc, "model_path", None)
            self.weights_file = f"sevenn-bundled:{MODEL}"
            self.sha256 = file_sha256(weights) if isinstance(weights, str) and os.path.isfile(weights) else None
        self._set_reference(reference_file)

    def _set_reference(self, reference_file):
        self.reference_file = os.path.abspath(reference_file) if reference_file else None
        self.shift = read_reference(reference_file) if reference_file else {}
        # Labels with another energy reference are other labels: the reference file's content is in the key.
        ref = {"reference": file_sha256(reference_file)} if reference_file else {}
        self.key = hashlib.sha256(json.dumps({"kind": "sevennet", "version": self.version, "sha256": self.sha256, **ref}).encode()).hexdigest()[:16]

    def describe(self):
        models = [{"file": self.weights_file, "sha256": self.sha256 or self.key}]
        if self.reference_file:
            models.append({"file": self.reference_file, "sha256": file_sha256(self.reference_file)})
        return {"kind": self.kind, "key": self.key, "committee": False, "size": 1, "dtype": "float32", "device": self.device,
                "version": self.version + (", DFT energy reference" if self.reference_file else ""), "models": models}

    def with_reference(self, reference_file):
        """The same loaded model with another energy reference (no second model load)."""
        other = SevennetOracle.__new__(SevennetOracle)
        other.__dict__.update(self.__dict__)
        other._set_reference(reference_file)
        return other

    def evaluate(self, frames, on_progress=None):
        rows = []
        for i, atoms in enumerate(frames):
            if len(atoms) > 1 and min_distance(atoms) < MIN_DISTANCE:
                rows.append({"flag": "overlapping_atoms", "message": f"atoms closer than {MIN_DISTANCE} Å"})
                continue
            try:
                a = atoms.copy()
                a.calc = self.calc
                energy = float(a.get_potential_energy()) + sum(self.shift.get(el, 0.0) for el in a.get_chemical_symbols())
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


def read_reference(path):
    """{element: eV} from a reference file (sevennet_reference.py), or a clear error naming the file."""
    try:
        with open(path) as fh:
            data = json.load(fh)
        shift = {str(k): float(v) for k, v in data["shift_ev_atom"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise HelperError("InvalidInput", f"{path}: not a SevenNet energy reference file ({type(err).__name__}: {err}); "
                                          "a campaign's teacher bootstrap writes one (teacher/gen-0/sevennet-reference.json)") from err
    if not all(math.isfinite(v) for v in shift.values()):
        raise HelperError("InvalidInput", f"{path}: non-finite energy shift")
    return shift


def is_reference(path):
    """A zero-shot teacher's one file is its energy reference (JSON); a fine-tuned teacher's is a model file."""
    return bool(path) and str(path).endswith(".json")


def sevennet_oracle(device="cpu", model_file=None):
    """SevenNet-0, loaded once per helper process: the bundled weights, with an energy reference file (.json)
    by its content (one calculator shared), or a fine-tuned model file (sevennet_finetune.py) by its content."""
    exists = bool(model_file) and os.path.isfile(model_file)
    if model_file and not exists:
        raise HelperError("InvalidConfig", f"SevenNet file not found: {model_file} (an energy reference .json or a fine-tuned model a campaign wrote in runs/<id>/teacher/gen-N/)")
    key = (device, os.path.abspath(model_file), file_sha256(model_file)) if exists else (device, None)
    hit = key in _CACHE
    if not hit:
        if model_file and not is_reference(model_file):
            _CACHE[key] = SevennetOracle(device, model_file=model_file)
        else:
            base = next((o for (d, f, *_), o in _CACHE.items() if d == device and (f is None or is_reference(f))), None)
            _CACHE[key] = SevennetOracle(device, model_file) if base is None else base.with_reference(model_file)
    return _CACHE[key], hit
