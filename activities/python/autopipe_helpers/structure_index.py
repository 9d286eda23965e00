"""Bring any ASE-readable structure file into a run: a canonical extxyz copy plus content-hash ids."""
import os

from ase.io import write

from .protocol import HelperError
from .structures import structure_id
from .structures_io import read_all


def index(p):
    """Input: input (any ASE-readable file), output (extxyz). Output: ids in file order, count."""
    frames = read_all(p["input"])
    if not frames:
        raise HelperError("InvalidInput", f"{p['input']}: no structures in the file")
    ids = [structure_id(a) for a in frames]
    for a, sid in zip(frames, ids):
        a.calc = None
        a.info["structure_id"] = sid
    os.makedirs(os.path.dirname(p["output"]), exist_ok=True)
    tmp = p["output"] + ".tmp"
    write(tmp, frames, format="extxyz")
    os.replace(tmp, p["output"])
    return {"output": p["output"], "ids": ids, "count": len(ids)}
