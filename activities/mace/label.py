"""Label a batch of structures with the fast oracle (a MACE committee, one model, CHGNet or SevenNet-0)
into the run's store (oracle mace|chgnet|sevennet, settings hash = the engine key: the models' content hashes), with
provenance; return only ids, uncertainties and flags. A structure the engine could not judge gets a
flagged label with infinite uncertainty. A label already in the store is reused, so a retried batch
never recomputes finished structures.
"""
import os
import time

from activities.runtime.protocol import HelperError, progress
from activities.structures.reading import frames_of


def oracle(p):
    """The engine named by the request: kind mace (models = local files), chgnet (the weights in its
    wheel, or the one fine-tuned file in models) or sevennet (SevenNet-0's bundled weights; models: none, or
    one energy reference file). SevenNet needs e3nn 0.5: TypeScript sends it to its own helper server."""
    kind = p.get("kind", "mace")
    if kind == "mace":
        from activities.mace.engine import committee

        return committee(p.get("models") or [], p.get("device", "cpu"), p.get("dtype", "float64"))
    if kind == "chgnet":
        from activities.mace.chgnet_engine import chgnet_oracle

        models = p.get("models") or []
        if len(models) > 1:
            raise HelperError("InvalidConfig", f"teacher.models: teacher.kind chgnet takes at most one model file (a fine-tuned CHGNet), got {len(models)}")
        return chgnet_oracle(p.get("device", "cpu"), models[0] if models else None)
    if kind == "sevennet":
        from activities.mace.sevennet_engine import sevennet_oracle

        models = p.get("models") or []
        if len(models) > 1:
            raise HelperError("InvalidConfig", f"teacher.kind sevennet takes at most one file (its energy reference, or its fine-tuned model), got {len(models)}")
        return sevennet_oracle(p.get("device", "cpu"), models[0] if models else None)
    raise HelperError("InvalidConfig", f"teacher.kind: unknown oracle kind {kind!r} (mace, chgnet or sevennet)")


def _round(x):
    return None if x is None else float(x)


def _item(sid, energy, flag, fstd, estd):
    if flag:
        return {"id": sid, "flag": flag}
    return {"id": sid, "fStd": _round(fstd), "eStd": _round(estd)}


def label_batch(p):
    """Input: kind, models, device, dtype, structure_file, start, ids, store, provenance {source,
    generation} for structures the store does not hold yet, plus extra provenance keys for the labels.

    ids[j] names the structure at index start + j of structure_file. Labels already in the store (same
    engine key) are reused; new ones go in with their structures in one transaction.
    """
    from activities.store.commands import complete
    from activities.store.store import Store, label_summary
    from activities.structures.validation import check_structure

    t0 = time.time()
    engine, cached = oracle(p)
    load_seconds = time.time() - t0
    frames = frames_of(p["structure_file"])
    from activities.structures.commands import structure_id

    start = int(p.get("start", 0))
    n = len(p["ids"]) if p.get("ids") is not None else int(p["count"])
    if start < 0 or start + n > len(frames):
        raise HelperError("InvalidInput", f"{p['structure_file']} has {len(frames)} structures; batch asks for "
                                          f"indices {start}..{start + n - 1}")
    # Without ids (a large set whose ids stay in the file), each structure is its content hash.
    ids = list(p["ids"]) if p.get("ids") is not None else [structure_id(frames[start + j]) for j in range(n)]

    for j, sid in enumerate(ids):
        info_id = frames[start + j].info.get("structure_id")
        if info_id is not None and str(info_id) != sid:
            raise HelperError("InvalidInput", f"{p['structure_file']}[{start + j}] is structure {info_id}, not {sid}")
        if structure_id(frames[start + j]) != sid:  # the store keys structures by content, never by a name
            raise HelperError("InvalidInput", f"{p['structure_file']}[{start + j}]: id {sid!r} is not the structure's content hash "
                                              f"({structure_id(frames[start + j])}); index the file first (`autopipe dataset import`, structures-index)")
    desc = engine.describe()
    st = Store(p["store"])
    try:
        stored = st.labelled_keys(ids, engine.kind, engine.key)
        items = [None] * len(ids)
        todo = [j for j, sid in enumerate(ids) if sid not in stored]
        for j, sid in enumerate(ids):
            if sid in stored:
                s = stored[sid]
                items[j] = _item(sid, s["energy"], s["flag"], s["uncertainty"], s["energy_std_per_atom"])
        total = len(todo)
        rows = engine.evaluate([frames[start + j] for j in todo], on_progress=lambda n: progress(evaluated=n, total=total)) if todo else []
        finished_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        extra = dict(p.get("provenance") or {})
        caller = {k: extra.pop(k, None) for k in ("source", "generation")}
        provenance = {"oracle": engine.kind, "oracle_key": engine.key, "committee_size": desc["size"], "models": desc["models"],
                      "version": desc["version"], "dtype": desc["dtype"], "device": desc["device"], "finished_at": finished_at, **extra}
        structures, labels, flagged = [], [], 0
        for j, row in zip(todo, rows):
            sid, atoms = ids[j], frames[start + j]
            where = f"{p['structure_file']}[{start + j}]"
            check_structure(atoms, where)  # finite and well-formed; an overlapping one is stored with its flag
            if row["flag"]:
                flagged += 1
                lab = {"structure_id": sid, "oracle": engine.kind, "settings_hash": engine.key, "energy": None, "forces": None, "stress": None,
                       "uncertainty": float("inf"), "flag": row["flag"]}
            else:
                lab = {"structure_id": sid, "oracle": engine.kind, "settings_hash": engine.key, "energy": float(row["energy"]),
                       "forces": row["forces"], "stress": row["stress"], "uncertainty": _round(row["force_std_max"]),
                       "energy_std_per_atom": _round(row["energy_std_per_atom"])}
            lab.update(provenance={**provenance, "structure_file": os.path.abspath(p["structure_file"]), "index": start + j},
                       workflow_id=extra.get("workflow_id"), activity_id=extra.get("activity_id"), where=where)
            prov = {"source": caller["source"], "generation": caller["generation"], "workflow_id": extra.get("workflow_id"),
                    "activity_id": extra.get("activity_id"), "where": where}
            for key in ("source", "generation", "parent_id", "split", "config_type"):
                if prov.get(key) is None and key in atoms.info:
                    prov[key] = atoms.info[key] if key == "generation" else str(atoms.info[key])
            prov = complete(prov, where)
            prov["label_summary"] = label_summary(lab)  # written with the row: no second update per structure
            structures.append((sid, atoms, prov))
            labels.append(lab)
            items[j] = _item(sid, lab["energy"], lab.get("flag"), lab.get("uncertainty"), lab.get("energy_std_per_atom"))
        if structures:
            with st.write():
                st.insert_structures(structures, on_duplicate="skip")
                st.add_labels(labels, on_duplicate="skip", summarised=st.last_inserted)
    finally:
        st.close()
    # Keep payloads small: omit absent uncertainties instead of sending nulls.
    items = [{k: v for k, v in it.items() if v is not None} for it in items]
    return {
        "oracle": {k: desc[k] for k in ("kind", "key", "committee", "size", "version")},
        "modelHashes": [m["sha256"][:16] for m in desc["models"]],
        "computed": total - flagged,
        "reused": len(ids) - total,
        "flagged": flagged,
        "items": items,
        "modelsCached": cached,
        "loadSeconds": round(load_seconds, 4),
        "wallSeconds": round(time.time() - t0, 4),
    }
