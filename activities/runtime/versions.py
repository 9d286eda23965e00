"""Versions of the Python stack, for `autopipe doctor`."""
import importlib


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
    return out
