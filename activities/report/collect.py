"""What the campaign report and `autopipe history` need from the store and the structure files: counts per
generation by source and by oracle, the provenance of given structures, the extrapolation grades of each
exploration's candidates, and one structure's whole record. Read-only: the store is opened without the
write lock and never created."""
import json
import os

from activities.runtime.protocol import HelperError
from activities.store.store import Store, deblob
from activities.structures.reading import iter_frames


def _open(path):
    if not path or not os.path.isfile(path):
        return None
    return Store(path, create=False)


def _counts(con):
    out = {}
    for g, src, n in con.execute("SELECT generation, source, count(*) FROM autopipe_structures GROUP BY generation, source"):
        out.setdefault(str(g), {"by_source": {}, "by_oracle": {}})["by_source"][src] = n
    q = ("SELECT s.generation, l.oracle, count(DISTINCT l.structure_id) FROM autopipe_labels l "
         "JOIN autopipe_structures s ON s.structure_id = l.structure_id WHERE l.energy IS NOT NULL GROUP BY s.generation, l.oracle")
    for g, oracle, n in con.execute(q):
        out.setdefault(str(g), {"by_source": {}, "by_oracle": {}})["by_oracle"][oracle] = n
    return out


def _gammas(path):
    """Max extrapolation grade per candidate frame of an exploration (the frames MD harvested)."""
    if not path or not os.path.isfile(path):
        return []
    out = []
    for _, atoms in iter_frames(path):
        g = atoms.info.get("gamma_max")
        if g is not None:
            out.append(float(g))
    return out


def collect(p):
    """Input: store (path), ids (structure ids whose provenance to return), candidates ({generation: extxyz}).
    Output: {store: bool, by_generation, provenance, gamma}."""
    store = _open(p.get("store"))
    out = {"store": store is not None, "by_generation": {}, "provenance": {}, "gamma": {}}
    if store is not None:
        try:
            out["by_generation"] = _counts(store.con)
            out["provenance"] = store.provenance_of(p.get("ids") or [])
        finally:
            store.close()
    for g, f in (p.get("candidates") or {}).items():
        out["gamma"][str(g)] = _gammas(f)
    return out


def _resolve(con, sid):
    rows = [r[0] for r in con.execute("SELECT structure_id FROM autopipe_structures WHERE structure_id LIKE ? LIMIT 6", (sid + "%",))]
    return rows


def _record(store, sid):
    con = store.con
    r = con.execute(
        "SELECT structure_id, natoms, formula, source, generation, parent_id, split, config_type, workflow_id, activity_id, created_at "
        "FROM autopipe_structures WHERE structure_id = ?", (sid,)).fetchone()
    keys = ("structure_id", "natoms", "formula", "source", "generation", "parent_id", "split", "config_type", "workflow_id", "activity_id", "created_at")
    rec = dict(zip(keys, r))
    labels = []
    q = ("SELECT oracle, settings_hash, energy, forces, uncertainty, energy_std_per_atom, extrapolation_grade, flag, provenance, "
         "workflow_id, activity_id, created_at FROM autopipe_labels WHERE structure_id = ? ORDER BY created_at")
    for oracle, h, e, f, unc, estd, grade, flag, prov, wid, aid, at in con.execute(q, (sid,)):
        forces = deblob(f, (rec["natoms"], 3))
        labels.append({
            "oracle": oracle, "settings_hash": h, "energy": e,
            "energy_per_atom": None if e is None else e / rec["natoms"],
            "max_force": None if forces is None else float((forces ** 2).sum(axis=1).max() ** 0.5),
            "uncertainty": unc, "energy_std_per_atom": estd, "extrapolation_grade": grade, "flag": flag,
            "provenance": json.loads(prov or "{}"), "workflow_id": wid, "activity_id": aid, "created_at": at,
        })
    rec["labels"] = labels
    rec["sets"] = [
        {"set_name": n, "generation": g, "oracle": o, "weight": w, "config_type": ct}
        for n, g, o, w, ct in con.execute(
            "SELECT set_name, generation, oracle, weight, config_type FROM autopipe_sets WHERE structure_id = ? ORDER BY generation, set_name", (sid,))
    ]
    rec["children"] = [
        {"structure_id": c, "source": s, "generation": g}
        for c, s, g in con.execute("SELECT structure_id, source, generation FROM autopipe_structures WHERE parent_id = ? ORDER BY rowid", (sid,))
    ]
    return rec


def history(p):
    """Input: stores (paths, searched in order), structure_id (or a unique prefix of at least 6 characters).
    Output: {store, also_in, structure (with labels and children), ancestors: [records up the parent chain]}."""
    sid = str(p.get("structure_id") or "").strip().lower()
    if len(sid) < 6 or any(ch not in "0123456789abcdef" for ch in sid):
        raise HelperError("InvalidInput", f"structure id {sid!r}: give the id (20 hex digits) or a unique prefix of at least 6")
    stores = [s for s in (p.get("stores") or []) if os.path.isfile(s)]
    matches = []
    for path in stores:
        store = _open(path)
        try:
            matches += [(path, full) for full in _resolve(store.con, sid)]
        finally:
            store.close()
    distinct = sorted({full for _, full in matches})
    if not distinct:
        raise HelperError("InvalidInput", f"no structure {sid!r} in {len(stores)} store(s): {', '.join(stores) or 'none found'}")
    if len(distinct) > 1:
        raise HelperError("InvalidInput", f"structure id prefix {sid!r} is ambiguous: {', '.join(distinct)}")
    paths = [path for path, _ in matches]
    store = _open(paths[0])
    try:
        rec = _record(store, distinct[0])
        ancestors, parent, seen = [], rec["parent_id"], {rec["structure_id"]}
        while parent and parent not in seen:
            seen.add(parent)
            if store.con.execute("SELECT 1 FROM autopipe_structures WHERE structure_id = ?", (parent,)).fetchone() is None:
                ancestors.append({"structure_id": parent, "missing": True})
                break
            a = _record(store, parent)
            ancestors.append(a)
            parent = a["parent_id"]
    finally:
        store.close()
    return {"store": paths[0], "also_in": paths[1:], "structure": rec, "ancestors": ancestors}
