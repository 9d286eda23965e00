"""Structure ids (content hashes) and the generator commands: extxyz out, optionally into the store."""
import hashlib
import os

import numpy as np

from activities.structures.extxyz import format_frame
from activities.structures.generator import generate as generate_frames


def structure_id(atoms):
    """Content hash: species, positions and cell rounded to 1e-6 Å, and pbc."""
    h = hashlib.sha256()
    h.update(np.asarray(atoms.get_atomic_numbers(), dtype=np.int64).tobytes())
    h.update(np.round(atoms.get_positions(), 6).astype(np.float64).tobytes())
    h.update(np.round(np.asarray(atoms.get_cell()), 6).astype(np.float64).tobytes())
    h.update(np.asarray(atoms.get_pbc(), dtype=np.int8).tobytes())
    return h.hexdigest()[:20]


def write_frames(path, frames):
    """Exact extxyz, atomically (temp file + rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as fh:
        for atoms, info in frames:
            fh.write(format_frame(atoms, info))
    os.replace(tmp, path)


def _insert(p, frames):
    from activities.store.store import Store

    spec = p["insert"]
    st = Store(spec["store"])
    try:
        items = [
            (meta["structure_id"], atoms, {"source": spec.get("source", "initial_random"), "generation": int(spec.get("generation", 0)),
                                          "parent_id": meta.get("parent_id"), "config_type": meta.get("config_type"), "workflow_id": spec.get("workflow_id"),
                                          "activity_id": spec.get("activity_id"), "where": f"{p['output']}[{i}]"})
            for i, (atoms, meta) in enumerate(frames)
        ]
        inserted, existing, _ = st.insert_structures(items, on_duplicate=spec.get("on_duplicate", "error"))
    finally:
        st.close()
    return {"store": spec["store"], "inserted": inserted, "existing": existing}


def generate(p):
    """The generator command. Input: the recipe (see generator.generate), output (extxyz), and optional
    insert {store, source, generation, workflow_id, activity_id, on_duplicate}."""
    frames, stats = generate_frames(p, structure_id)
    if p.get("insert"):
        # Validate and insert before writing the file, so a refused insert leaves no new file behind.
        stored = _insert(p, frames)
    else:
        stored = None
    extra = {k: v for k, v in (p.get("insert") or {}).items() if k in ("source", "generation")}
    write_frames(p["output"], [(atoms, {**meta, **extra}) for atoms, meta in frames])
    natoms = [len(a) for a, _ in frames]
    out = {"output": p["output"], "count": len(frames), "rejected": stats["rejected"],
           "duplicates": stats["duplicates"], "modes": stats["modes"], "parent_id": stats["parent_id"],
           "natoms": min(natoms), "natoms_max": max(natoms)}
    if p.get("return_ids", True):
        out["ids"] = [m["structure_id"] for _, m in frames]
    if stored:
        out["store"] = stored
    return out
