"""Helper commands over the store, each one process per batch: insert structures from a file, add labels
(the DFT and MACE label files, or inline), query ids, materialise ids as extxyz, summarise."""
import json
import math
import os
import re

from activities.runtime.protocol import HelperError
from activities.store.store import ORACLE_PATTERN, SPLITS, Store
from activities.structures.commands import structure_id, write_frames
from activities.structures.reading import frames_of, iter_frames
from activities.structures.validation import check_label, check_structure

DEFAULT_MIN_DISTANCE = 0.5  # Å: closer than this no oracle result means anything


def check_oracle(name, where="oracle"):
    if not isinstance(name, str) or not re.match(ORACLE_PATTERN, name):
        raise HelperError("InvalidInput", f"{where}: oracle name {name!r} must be lowercase letters, digits or _ (e.g. dft, mace)")
    return name


PROVENANCE_KEYS = ("source", "generation", "parent_id", "split", "config_type")


def provenance_defaults(p):
    """The caller's provenance; None where it gave none (a file's own info may fill those in)."""
    prov = {k: p.get(k) for k in PROVENANCE_KEYS}
    prov.update(workflow_id=p.get("workflow_id"), activity_id=p.get("activity_id"))
    return prov


def complete(prov, where):
    """Defaults for what neither the caller nor the file said, then the invariants."""
    prov["source"] = str(prov.get("source") or "initial_random")
    prov["generation"] = int(prov.get("generation") or 0)
    if prov["generation"] < 0:
        raise HelperError("InvalidInput", f"{where}: generation must be >= 0 (got {prov['generation']})")
    if prov.get("split") not in (None,) + SPLITS:
        raise HelperError("InvalidInput", f"{where}: split must be one of {SPLITS} (got {prov['split']!r})")
    return prov


def read_structures(path, prov, elements=None, min_distance=DEFAULT_MIN_DISTANCE, indices=None):
    """Validated (id, atoms, provenance) from a structure file (or the frames at `indices`), deduplicated
    within the file; the whole selection is checked before anything is written. What the caller gave
    wins; per-frame info in the file (source, generation, parent_id, split, config_type) fills in the rest."""
    items, seen, dupes = [], set(), 0
    # A few frames of a large file (an oracle's batch): the parsed file is cached per process.
    frames = iter_frames(path) if indices is None else ((int(i), frames_of(path)[int(i)]) for i in sorted(set(indices)))
    for i, atoms in frames:
        where = f"{path} frame {i}"
        check_structure(atoms, where, elements=elements, min_distance=min_distance)
        sid = structure_id(atoms)
        if sid in seen:
            dupes += 1
            continue
        seen.add(sid)
        frame_prov = dict(prov, where=where)
        for key in PROVENANCE_KEYS:
            if frame_prov.get(key) is None and key in atoms.info:
                frame_prov[key] = atoms.info[key] if key == "generation" else str(atoms.info[key])
        items.append((sid, atoms, complete(frame_prov, where)))
    if not items:
        raise HelperError("InvalidInput", f"{path}: no structures in the file")
    return items, dupes


def insert(p):
    """Input: store, file, source, generation, parent_id, split, workflow_id, activity_id, elements,
    min_distance, on_duplicate (error|skip), return_ids. Output: inserted, existing, skipped, duplicates_in_file, ids."""
    prov = provenance_defaults(p)
    items, dupes = read_structures(p["file"], prov, p.get("elements"), p.get("min_distance", DEFAULT_MIN_DISTANCE))
    st = Store(p["store"])
    try:
        inserted, existing, skipped = st.insert_structures(items, on_duplicate=p.get("on_duplicate", "error"))
    finally:
        st.close()
    out = {"inserted": inserted, "existing": existing, "skipped": skipped, "duplicates_in_file": dupes, "count": len(items)}
    if p.get("return_ids", True):
        out["ids"] = [sid for sid, _, _ in items]
    return out


def record(p):
    """Structures and their labels in one transaction: what an oracle activity calls as it produces a
    label. Input: store, file, indices (default all), source, generation, parent_id, elements,
    min_distance (0/None: no distance check, for structures an oracle flagged), labels [inline dicts],
    label_files, on_duplicate (labels; structures already stored keep their provenance). Output: counts."""
    prov = provenance_defaults(p)
    md = p.get("min_distance", DEFAULT_MIN_DISTANCE)
    items, _ = read_structures(p["file"], prov, p.get("elements"), md or None, indices=p.get("indices"))
    labels = [label_from_file(f) for f in p.get("label_files") or []] + list(p.get("labels") or [])
    for lab in labels:
        for key in ("workflow_id", "activity_id"):
            if not lab.get(key) and p.get(key):
                lab[key] = p[key]
    st = Store(p["store"])
    try:
        with st.write():
            inserted, existing, skipped = st.insert_structures(items, on_duplicate="skip")
            checked = validated_labels(st, labels)
            li, le, ls, lr = st.add_labels(checked, on_duplicate=p.get("on_duplicate", "error"))
    finally:
        st.close()
    return {"structures": {"inserted": inserted, "existing": existing, "skipped": skipped},
            "labels": {"inserted": li, "existing": le, "skipped": ls, "replaced": lr, "count": len(labels)}}


def label(p):
    """One label by key (structure_id, oracle, settings_hash), with provenance; null when absent (also when
    the run has no store yet)."""
    if not os.path.exists(p["store"]):
        return {"label": None}
    st = Store(p["store"], create=False)
    try:
        return {"label": st.label(p["structure_id"], p["oracle"], p["settings_hash"])}
    finally:
        st.close()


def read_members(p):
    """Members inline or from a members file ({"members": [...]}), each {id, oracle, settings_hash,
    weight?, config_type?}; `weight` is the default for members without one (else 1)."""
    members = list(p.get("members") or [])
    if p.get("members_file"):
        try:
            with open(p["members_file"]) as fh:
                members += json.load(fh)["members"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise HelperError("InvalidInput", f"cannot read members file {p['members_file']}: {err}") from err
    default = p.get("weight", 1.0)
    for m in members:
        check_oracle(m.get("oracle"), f"member {m.get('id')}")
        m.setdefault("weight", default)
        w = m["weight"]
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise HelperError("InvalidInput", f"member {m.get('id')}: weight must be a finite number >= 0 (got {w!r})")
    return members


def add_members(p):
    """Input: store, set, generation, members or members_file, skip_trained. Output: count, skipped ids."""
    members = read_members(p)
    st = Store(p["store"], create=False)
    try:
        n, skipped = st.add_members(p["set"], p["generation"], members, skip_trained=bool(p.get("skip_trained")))
    finally:
        st.close()
    return {"set": p["set"], "count": n, "skipped": skipped}


def _uncertainty(data):
    u = data.get("uncertainty")
    if isinstance(u, dict):
        return u.get("force_std_max"), u.get("energy_std_per_atom")
    return u, data.get("energy_std_per_atom")


def label_from_file(path):
    """A DFT label (activities/dft/qe.ts), a DFT failure record (failed-<key>.json) or a MACE label file
    (mace_label.py): the same top-level shape, oracle from provenance, settings hash = labelKey."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise HelperError("InvalidInput", f"label file not found: {path}") from None
    except (OSError, ValueError) as err:
        raise HelperError("InvalidInput", f"cannot read label file {path}: {err}") from err
    if not isinstance(data, dict) or not data.get("structureId") or not data.get("labelKey"):
        raise HelperError("InvalidInput", f"{path}: not a label file (needs structureId and labelKey)")
    if "energy" not in data and "reason" in data:  # a DFT structure the ladder could not heal
        return {"structure_id": data["structureId"], "oracle": "dft", "settings_hash": data["labelKey"], "energy": None, "forces": None,
                "stress": None, "flag": f"failed after {data.get('attempts', '?')} attempts: {str(data['reason'])[:500]}",
                "provenance": {"label_file": os.path.abspath(path), "failed_at": data.get("at")}, "where": path}
    prov = data.get("provenance") or {}
    fstd, estd = _uncertainty(data)
    return {
        "structure_id": data["structureId"], "oracle": check_oracle(prov.get("oracle", data.get("oracle")), path),
        "settings_hash": str(data["labelKey"]), "energy": data.get("energy"), "forces": data.get("forces"), "stress": data.get("stress"),
        "uncertainty": fstd, "energy_std_per_atom": estd, "extrapolation_grade": data.get("extrapolation_grade"),
        "flag": data.get("flag"),
        "provenance": {**prov, "label_file": os.path.abspath(path), **({"free_energy": data["free_energy"]} if "free_energy" in data else {})},
        "workflow_id": prov.get("workflow_id"), "activity_id": prov.get("activity_id"), "where": path,
    }


def validated_labels(st, labels, require_stress=False):
    """Shapes against the stored structure, finite values; unknown structures are an error."""
    natoms = st.natoms_of({lab["structure_id"] for lab in labels})
    out = []
    for lab in labels:
        where = lab.get("where") or f"label for {lab['structure_id']}"
        check_oracle(lab.get("oracle"), where)
        if not lab.get("settings_hash"):
            raise HelperError("InvalidInput", f"{where}: settings_hash is empty")
        n = natoms.get(lab["structure_id"])
        if n is None:
            raise HelperError("InvalidInput", f"{where}: structure {lab['structure_id']} is not in the store {st.path}; insert the structure first")
        lab = dict(lab)
        for key in ("uncertainty", "energy_std_per_atom", "extrapolation_grade"):
            lab[key] = _score(lab.get(key), f"{where}: {key}")
        if lab.get("energy") is None and lab.get("forces") is None:
            if not lab.get("flag"):
                raise HelperError("InvalidInput", f"{where}: a label without energy and forces must carry a flag saying why")
            lab["stress"] = None
        else:
            lab["energy"], lab["forces"], lab["stress"] = check_label(where, n, lab.get("energy"), lab.get("forces"), lab.get("stress"), require_stress)
        out.append(lab)
    return out


def _score(v, where):
    """An uncertainty or grade: a number >= 0, or infinity ("inf" in JSON) for a structure not judged."""
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise HelperError("InvalidInput", f"{where} is {v!r}, not a number") from None
    if math.isnan(x) or x < 0:
        raise HelperError("InvalidInput", f"{where} is {x}: must be >= 0 or inf")
    return x


def add_labels(p):
    """Input: store, label_files [paths], labels [inline dicts], labels_file (JSON list), on_duplicate,
    workflow_id, activity_id (defaults for labels without them). Output: counts."""
    labels = [label_from_file(f) for f in p.get("label_files") or []]
    labels += list(p.get("labels") or [])
    if p.get("labels_file"):
        try:
            with open(p["labels_file"]) as fh:
                labels += json.load(fh)
        except (OSError, ValueError) as err:
            raise HelperError("InvalidInput", f"cannot read labels file {p['labels_file']}: {err}") from err
    for lab in labels:
        for key in ("workflow_id", "activity_id"):
            if not lab.get(key) and p.get(key):
                lab[key] = p[key]
    st = Store(p["store"])
    try:
        checked = validated_labels(st, labels, p.get("require_stress", False))
        inserted, existing, skipped, replaced = st.add_labels(checked, on_duplicate=p.get("on_duplicate", "error"))
    finally:
        st.close()
    return {"inserted": inserted, "existing": existing, "skipped": skipped, "replaced": replaced, "count": len(labels)}


def _filters(p):
    return {k: p.get(k) for k in ("generation", "generations", "generation_max", "source", "sources", "split", "label_state", "oracle", "settings_hash")}


def query(p):
    """Input: store, filters (generation, generations, generation_max, source(s), split, label_state,
    oracle, settings_hash), limit. Output: count (all matches), ids (up to limit), truncated."""
    st = Store(p["store"], create=False)
    try:
        f = _filters(p)
        count = st.count(f)
        limit = p.get("limit")
        ids = st.select_ids(f, limit=limit)
    finally:
        st.close()
    return {"count": count, "ids": ids, "truncated": len(ids) < count}


def structures(p):
    """Materialise stored structures as exact extxyz for an oracle. Input: store, ids or filters, output."""
    st = Store(p["store"], create=False)
    try:
        rows = st.iter_structures(ids=p["ids"]) if p.get("ids") is not None else st.iter_structures(f=_filters(p))
        frames = [(atoms, {"structure_id": sid, "source": prov["source"], "generation": prov["generation"],
                           **({"parent_id": prov["parent_id"]} if prov["parent_id"] else {})}) for sid, atoms, prov in rows]
    finally:
        st.close()
    if not frames:
        raise HelperError("InvalidInput", "no stored structure matches the selection")
    write_frames(p["output"], frames)
    return {"output": p["output"], "ids": [f[1]["structure_id"] for f in frames], "count": len(frames)}


def labels(p):
    """Label summaries (no arrays) of the given ids: oracle, settings, energy, uncertainty, grade, flag."""
    st = Store(p["store"], create=False)
    try:
        found = st.labels_of(p["ids"])
    finally:
        st.close()
    def safe(v):  # JSON has no infinity: the TypeScript schema turns "inf" back into Infinity
        return "inf" if isinstance(v, float) and math.isinf(v) else v

    return {"labels": {sid: [{k: safe(v) for k, v in lab.items()} for lab in found.get(sid, [])] for sid in p["ids"]}}


def info(p):
    st = Store(p["store"], create=False)
    try:
        return st.summary()
    finally:
        st.close()

