"""Bring any ASE-readable structure file into a run: a canonical extxyz copy plus content-hash ids."""

from activities.runtime.protocol import HelperError
from activities.safety.structures import check_occupancy
from activities.structures.commands import structure_id, write_frames
from activities.structures.reading import check_physical, read_all


def _physical_problem(atoms, where, min_dist):
    """What the DFT oracle's pre-flight (qe-write) would refuse in this frame, or None."""
    try:
        check_physical(atoms, min_dist, where)
    except HelperError as err:
        return err.message
    return None


def index(p):
    """Input: input (any ASE-readable file), output (extxyz). Output: ids in file order, count."""
    frames = read_all(p["input"])
    if not frames:
        raise HelperError("InvalidInput", f"{p['input']}: no structures in the file")
    for i, a in enumerate(frames):
        check_occupancy(a, f"{p['input']} frame {i}")
    ids = [structure_id(a) for a in frames]
    for a, sid in zip(frames, ids):
        a.calc = None
        a.info["structure_id"] = sid
    write_frames(p["output"], [(a, a.info) for a in frames])  # exact: ids are hashes of these very positions
    # Size and cell per frame: the DFT cost guard runs on them before any calculation starts.
    frames_info = [{"natoms": len(a), "cell": a.cell.array.tolist(), "symbols": a.get_chemical_symbols(),
                    "problem": _physical_problem(a, f"{p['input']} frame {i}", p.get("min_distance", 0.5))} for i, a in enumerate(frames)]
    return {"output": p["output"], "ids": ids, "count": len(ids), "frames": frames_info}
