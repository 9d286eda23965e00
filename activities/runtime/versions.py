"""Versions of the Python stack, for `autopipe doctor`."""
import importlib
import os


def versions(_p):
    out = {}
    for mod, attr in [("ase", "__version__"), ("numpy", "__version__"), ("pandas", "__version__"), ("torch", "__version__"),
                      ("mace", "__version__"), ("pyace", "__version__"), ("tensorflow", "__version__"),
                      ("tensorpotential", "__version__"), ("chgnet", "__version__")]:
        try:
            m = importlib.import_module(mod if mod != "mace" else "mace.__version__")
            out[mod] = str(getattr(m, attr, "unknown"))
        except Exception as err:  # report, don't fail: doctor shows which one is broken
            out[mod] = f"ERROR: {type(err).__name__}: {err}"
    # sevenn lives in its own overlay (e3nn 0.5, MACE's is 0.4 and loaded above): read its metadata, no import.
    from activities.mace.sevennet_engine import OVERLAY

    found = [d for d in (os.listdir(OVERLAY) if os.path.isdir(OVERLAY) else []) if d.startswith("sevenn-") and d.endswith(".dist-info")]
    out["sevenn"] = found[0][len("sevenn-"):-len(".dist-info")] if found else f"ERROR: no SevenNet overlay in {OVERLAY}"
    return out
