"""Label a batch of structures with the fast oracle (a MACE committee, one model, or CHGNet) and store one
label file per structure with provenance; return only ids, uncertainties and flags.

Label files: <label_root>/<oracle key>/<structure id>.json (label_root is <run>/mace/labels). Same top-level
shape as the DFT labels (energy, forces, stress), so the dataset writer takes either. A label already on
disk is reused, so a retried batch never recomputes finished structures.
"""
import json
import os
import time
from collections import OrderedDict

from ase.io import read

from activities.runtime.protocol import HelperError, progress

_FRAMES = OrderedDict()


def frames_of(path, keep=2):
    """Parsed structure file, cached by (path, size, mtime): batches of one file parse it once per process."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise HelperError("InvalidInput", f"structure file not found: {path}") from None
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _FRAMES:
        try:
            _FRAMES[key] = read(path, index=":")
        except Exception as err:
            raise HelperError("InvalidInput", f"cannot read structures from {path}: {err}") from err
        while len(_FRAMES) > keep:
            _FRAMES.popitem(last=False)
    _FRAMES.move_to_end(key)
    return _FRAMES[key]


def oracle(p):
    """The engine named by the request: kind mace (models = local files) or chgnet (weights in its wheel)."""
    kind = p.get("kind", "mace")
    if kind == "mace":
        from activities.mace.engine import committee

        return committee(p.get("models") or [], p.get("device", "cpu"), p.get("dtype", "float64"))
    if kind == "chgnet":
        from activities.mace.chgnet_engine import chgnet_oracle

        return chgnet_oracle(p.get("device", "cpu"))
    raise HelperError("InvalidConfig", f"teacher.kind: unknown oracle kind {kind!r} (mace or chgnet)")


def _write_atomic(path, text):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _round(x):
    return None if x is None else float(x)


def label_batch(p):
    """Input: kind, models, device, dtype, structure_file, start, ids, label_root, provenance (extra keys).

    ids[j] names the structure at index start + j of structure_file.
    """
    t0 = time.time()
    engine, cached = oracle(p)
    load_seconds = time.time() - t0
    frames = frames_of(p["structure_file"])
    start, ids = int(p.get("start", 0)), list(p["ids"])
    if start < 0 or start + len(ids) > len(frames):
        raise HelperError("InvalidInput", f"{p['structure_file']} has {len(frames)} structures; batch asks for "
                                          f"indices {start}..{start + len(ids) - 1}")
    label_dir = os.path.join(p["label_root"], engine.key)
    os.makedirs(label_dir, exist_ok=True)
    desc = engine.describe()
    items = [None] * len(ids)
    todo, todo_frames = [], []
    reused = 0
    for j, sid in enumerate(ids):
        atoms = frames[start + j]
        info_id = atoms.info.get("structure_id")
        if info_id is not None and str(info_id) != sid:
            raise HelperError("InvalidInput", f"{p['structure_file']}[{start + j}] is structure {info_id}, not {sid}")
        path = os.path.join(label_dir, f"{sid}.json")
        if os.path.exists(path):
            with open(path) as fh:
                old = json.load(fh)
            u = old.get("uncertainty", {})
            items[j] = {"id": sid, "fStd": u.get("force_std_max"), "eStd": u.get("energy_std_per_atom")}
            reused += 1
        else:
            todo.append(j)
            todo_frames.append(atoms)

    total = len(todo)
    rows = engine.evaluate(todo_frames, on_progress=lambda n: progress(evaluated=n, total=total)) if todo else []
    finished_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    provenance = {"oracle": engine.kind, "oracle_key": engine.key, "committee_size": desc["size"], "models": desc["models"],
                  "version": desc["version"], "dtype": desc["dtype"], "device": desc["device"], "finished_at": finished_at,
                  **(p.get("provenance") or {})}
    flagged = 0
    for j, row in zip(todo, rows):
        sid = ids[j]
        if row["flag"]:
            items[j] = {"id": sid, "flag": row["flag"]}
            flagged += 1
            continue
        label = {
            "structureId": sid,
            "labelKey": engine.key,
            "energy": row["energy"],
            "forces": row["forces"].tolist(),
            "stress": None if row["stress"] is None else [float(x) for x in row["stress"]],
            "uncertainty": {"force_std_max": _round(row["force_std_max"]), "energy_std_per_atom": _round(row["energy_std_per_atom"])},
            "provenance": {**provenance, "structure_file": os.path.abspath(p["structure_file"]), "index": start + j},
        }
        _write_atomic(os.path.join(label_dir, f"{sid}.json"), json.dumps(label))
        items[j] = {"id": sid, "fStd": label["uncertainty"]["force_std_max"], "eStd": label["uncertainty"]["energy_std_per_atom"]}
    # Keep payloads small: omit absent uncertainties instead of sending nulls.
    items = [{k: v for k, v in it.items() if v is not None} for it in items]
    return {
        "oracle": {k: desc[k] for k in ("kind", "key", "committee", "size", "version")},
        "modelHashes": [m["sha256"][:16] for m in desc["models"]],
        "labelDir": label_dir,
        "computed": total - flagged,
        "reused": reused,
        "flagged": flagged,
        "items": items,
        "modelsCached": cached,
        "loadSeconds": round(load_seconds, 4),
        "wallSeconds": round(time.time() - t0, 4),
    }
