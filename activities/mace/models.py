"""Inspecting and preparing local MACE model files for fine-tuning (nothing is downloaded)."""
import os

from activities.mace.engine import check_model_files, file_sha256
from activities.runtime.protocol import HelperError


def _load(path):
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise HelperError("InvalidConfig", f"{path} is not a loadable MACE model: {type(err).__name__}: {err}") from err


def _e0s(model):
    ae = model.atomic_energies_fn.atomic_energies.detach().cpu()
    if ae.ndim == 2:
        ae = ae[0]  # several heads: the first head's E0s, as mace_run_train does
    zs = [int(z) for z in model.atomic_numbers]
    return {str(z): float(ae.reshape(-1)[i]) for i, z in enumerate(zs)}


def inspect(p):
    """Input: model. Output: what fine-tuning needs to know about a foundation model."""
    check_model_files([p["model"]], p.get("field", "foundation model"))
    m = _load(p["model"])
    return {
        "model": os.path.abspath(p["model"]),
        "sha256": file_sha256(p["model"]),
        "class": type(m).__name__,
        "r_max": float(m.r_max),
        "atomic_numbers": [int(z) for z in m.atomic_numbers],
        "heads": list(getattr(m, "heads", ["Default"])),
        "e0s": _e0s(m),
    }


def prepare_foundation(p):
    """Input: model, output. A copy mace_run_train can fine-tune from.

    Why: mace_run_train (0.3.x) squeezes a foundation's (heads, elements) E0 table and then indexes it; a
    single-element, single-head model squeezes to a 0-d tensor and the run crashes before training
    (multihead mode always reads those E0s). Flattening that (1, 1) table to (1,) changes no prediction:
    the model's own forward pass applies torch.atleast_2d to it.
    """
    info = inspect(p)
    m = _load(p["model"])
    ae = m.atomic_energies_fn.atomic_energies
    patched = ae.ndim == 2 and ae.shape[0] == 1 and ae.shape[1] == 1
    if not patched:
        return {**info, "prepared": info["model"], "patched": False}
    import torch

    m.atomic_energies_fn.atomic_energies = ae.reshape(-1).clone()
    tmp = p["output"] + ".tmp"
    torch.save(m, tmp)
    os.replace(tmp, p["output"])
    return {**info, "prepared": os.path.abspath(p["output"]), "patched": True}
