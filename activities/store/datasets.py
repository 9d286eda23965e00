"""Dataset commands: export the store to Pacemaker's .pckl.gzip and MACE's extxyz (accumulated over
generations, one label per structure, split train/test stably by hash), import either format into the
store, and describe a dataset file. Every dataset a workflow trains on is an export of the store."""
import hashlib
import os

import numpy as np

from activities.runtime.protocol import HelperError, progress
from activities.store.commands import DEFAULT_MIN_DISTANCE, check_oracle, complete, provenance_defaults, read_members
from activities.store.dataset_files import DEFAULT_CUTOFF, ExtxyzSink, PcklSink, extxyz_rows, file_sha256, is_pckl, pckl_rows, sibling
from activities.store.store import Store, blob, label_summary
from activities.structures.commands import structure_id
from activities.structures.validation import check_label, check_structure

CHUNK = 2000


def split_of(sid, explicit, test_fraction):
    """train or test: an explicit split wins; otherwise a uniform number from the id's hash, so a
    structure's side never changes as the dataset grows (and raising the fraction only moves train->test)."""
    if explicit in ("test", "validation"):
        return "test"
    if explicit == "train" or test_fraction <= 0:
        return "train"
    u = int(hashlib.sha256(f"split:{sid}".encode()).hexdigest()[:13], 16) / float(16**13)
    return "test" if u < test_fraction else "train"


def _sinks(pckl, extxyz, refs, weights, cutoff=DEFAULT_CUTOFF):
    out = []
    if pckl:
        out.append(("pckl", PcklSink(pckl, refs, weights, cutoff)))
    if extxyz:
        out.append(("extxyz", ExtxyzSink(extxyz)))
    return out


def _rows_of(st, p, f, oracles):
    """(sid, atoms, prov, label, weight, config_type) by named sets (exact labels, per-member weights), or
    by filters with the first of `oracles` that labelled each structure."""
    if p.get("sets"):
        yield from st.iter_members(p["sets"], p.get("set_generation_min"), p.get("set_generation_max"), p.get("set_oracles"))
        return
    for sid, atoms, prov, lab in st.iter_labelled(f, oracles, p.get("settings_hash")):
        yield sid, atoms, prov, lab, None, None


def export(p):
    """Input: store; either sets [names] (with set_generation_min/max and set_oracles, the members' oracles to keep; `define` {set, generation, members
    or members_file} adds members to a set first, in the same call) or filters (generation, generations,
    generation_max, source(s), split) with oracles (priority list, default [dft]) and settings_hash;
    pckl and/or extxyz paths; test_fraction (adds .test. files); reference_energies; weights {oracle: w}
    (adds w_energy/w_forces); require_stress; cutoff (the ACE cutoff: a slab's vacuum must exceed it).
    A member's weight becomes Pacemaker's w_factor and MACE's config_weight."""
    if not p.get("pckl") and not p.get("extxyz"):
        raise HelperError("InvalidInput", "give a .pckl.gzip and/or an .extxyz output path")
    if p.get("pckl") and not is_pckl(p["pckl"]):
        raise HelperError("InvalidInput", f"{p['pckl']}: a Pacemaker dataset path must end in .pckl.gzip")
    oracles = [check_oracle(o) for o in (p.get("oracles") or ["dft"])]
    refs = p.get("reference_energies") or {}
    weights = p.get("weights")
    tf = float(p.get("test_fraction") or 0.0)
    if not 0 <= tf < 1:
        raise HelperError("InvalidInput", f"test_fraction must be in [0, 1) (got {tf})")
    f = {k: p.get(k) for k in ("generation", "generations", "generation_max", "source", "sources", "split")}
    st = Store(p["store"], create=False)
    if p.get("define"):
        d = p["define"]
        try:
            st.add_members(d["set"], d["generation"], read_members(d))
        except BaseException:
            st.close()
            raise
    cutoff = float(p.get("cutoff") or DEFAULT_CUTOFF)
    sinks = {"train": _sinks(p.get("pckl"), p.get("extxyz"), refs, weights, cutoff)}
    if tf > 0:
        sinks["test"] = _sinks(p.get("pckl") and sibling(p["pckl"], "test"), p.get("extxyz") and sibling(p["extxyz"], "test"), refs, weights, cutoff)
    by_oracle, elements, n, held_out = {}, set(), 0, 0
    try:
        selected = st.count_members(p["sets"], p.get("set_generation_min"), p.get("set_generation_max"), p.get("set_oracles")) if p.get("sets") else st.count(f)
        for sid, atoms, prov, lab, weight, config_type in _rows_of(st, p, f, oracles):
            where = f"store label {lab['oracle']}/{lab['settings_hash']} of {sid}"
            energy, forces, stress = check_label(where, len(atoms), lab["energy"], lab["forces"], lab["stress"], p.get("require_stress", False))
            meta = {"source": prov["source"], "generation": prov["generation"], "oracle": lab["oracle"], "settings_hash": lab["settings_hash"],
                    "config_type": config_type or prov["config_type"], "weight": weight}
            # Without a test file (test_fraction 0) the one file holds every selected row: a named set's
            # membership decides what a fit reads, and the store keeps validation structures out of those.
            # By filter, a structure the campaign holds out (split validation/test) never lands in a training
            # file unless that split was asked for: a user fitting on an export must not train on it.
            side = split_of(sid, prov["split"], tf)
            if side not in sinks and not p.get("sets") and prov["split"] in ("validation", "test") and f.get("split") != prov["split"]:
                held_out += 1
                continue
            for _, sink in sinks[side if side in sinks else "train"]:
                sink.add(sid, atoms, energy, forces, stress, meta, where)
            by_oracle[lab["oracle"]] = by_oracle.get(lab["oracle"], 0) + 1
            elements.update(atoms.get_chemical_symbols())
            n += 1
            if n % 5000 == 0:
                progress(exported=n, selected=selected)
        if n == 0:
            if held_out:
                raise HelperError("InvalidInput", f"the dataset would be empty: all {held_out} selected structures are held out (split validation/test); ask for them with split, or give a test fraction to write them as the test file")
            if p.get("sets"):
                raise HelperError("InvalidInput", f"the dataset would be empty: no labelled member in the set(s) {', '.join(p['sets'])}")
            raise HelperError("InvalidInput", f"the dataset would be empty: none of the {selected} selected structures has a {'/'.join(oracles)} label")
        files = []
        for split, group in sinks.items():
            for kind, sink in group:
                count = len(sink)
                path = sink.close()
                if path:
                    files.append({"split": split, "format": kind, "path": path, "count": count, "sha256": file_sha256(path)})
    except BaseException:
        for group in sinks.values():
            for _, sink in group:
                if isinstance(sink, ExtxyzSink):
                    sink.abort()
        raise
    finally:
        st.close()
    counts = {s: len(g[0][1]) for s, g in sinks.items()}
    return {"count": n, "train": counts["train"], "test": counts.get("test", 0), "held_out": held_out, "unlabelled": selected - n - held_out, "by_oracle": by_oracle,
            "elements": sorted(elements), "files": files}


def _rows(p):
    path = p["file"]
    if not os.path.exists(path):
        raise HelperError("InvalidInput", f"dataset not found: {path}")
    fmt = p.get("format") or ("pckl" if is_pckl(path) else "extxyz")
    if fmt == "pckl":
        return fmt, pckl_rows(path)
    return fmt, extxyz_rows(path, p.get("energy_key") or "REF_energy", p.get("forces_key") or "REF_forces", p.get("stress_key") or "REF_stress")


def import_(p):
    """Input: store, file (.pckl.gzip or extxyz/any ASE format), format; oracle, settings_hash, source,
    generation (override the file's own metadata when given); elements, min_distance, on_duplicate,
    require_stress, energy/forces/stress keys. Validates every row; one transaction: all or nothing."""
    fmt, rows = _rows(p)
    defaults = provenance_defaults(p)
    oracle_default = p.get("oracle")
    if oracle_default:
        check_oracle(oracle_default)
    min_dist = p.get("min_distance", DEFAULT_MIN_DISTANCE)
    seen = {}
    stats = {"rows": 0, "duplicates_in_file": 0, "structures_inserted": 0, "structures_existing": 0, "structures_skipped": 0,
             "labels_inserted": 0, "labels_existing": 0, "labels_skipped": 0}
    src = os.path.abspath(p["file"])
    st = Store(p["store"])
    try:
        with st.write():
            items, labels = [], []
            for where, atoms, energy, forces, stress, meta in rows:
                stats["rows"] += 1
                check_structure(atoms, where, elements=p.get("elements"), min_distance=min_dist)
                energy, forces, stress = check_label(where, len(atoms), energy, forces, stress, p.get("require_stress", False))
                sid = structure_id(atoms)
                fingerprint = hashlib.sha256(repr(energy).encode() + blob(forces) + (blob(stress) or b"")).digest()
                if sid in seen:
                    first, first_where = seen[sid]
                    if first != fingerprint:
                        raise HelperError("LabelConflict", f"{where}: structure {sid} appears twice in the file with different labels (first at {first_where}); nothing was written")
                    stats["duplicates_in_file"] += 1
                    continue
                seen[sid] = (fingerprint, where)
                prov = dict(defaults, where=where)
                for key in ("source", "generation", "config_type"):  # the file's own provenance, unless the caller set it
                    if prov.get(key) is None and meta.get(key) is not None:
                        prov[key] = meta[key]
                prov["source"] = prov.get("source") or "imported"
                complete(prov, where)
                oracle = oracle_default or check_oracle(str(meta.get("oracle") or "external"), where)
                settings = p.get("settings_hash") or str(meta.get("settings_hash") or "import")
                label = {"structure_id": sid, "oracle": oracle, "settings_hash": settings, "energy": energy, "forces": forces,
                         "stress": stress, "where": where,
                         "provenance": {"imported_from": src, "format": fmt, **({"name": meta["name"]} if meta.get("name") else {})}}
                prov["label_summary"] = label_summary(label)  # written with the row: no second update per structure
                items.append((sid, atoms, prov))
                labels.append(label)
                if len(items) >= CHUNK:
                    _flush(st, items, labels, p, stats)
                    progress(imported=stats["rows"])
            _flush(st, items, labels, p, stats)
    finally:
        st.close()
    if stats["rows"] == 0:
        raise HelperError("InvalidInput", f"{p['file']}: no structures in the file")
    return stats


def _flush(st, items, labels, p, stats):
    if not items:
        return
    on_dup = p.get("on_duplicate", "error")
    ins, ex, sk = st.insert_structures(items, on_duplicate=on_dup)
    stats["structures_inserted"] += ins
    stats["structures_existing"] += ex
    stats["structures_skipped"] += sk
    ins, ex, sk, _ = st.add_labels(labels, on_duplicate=on_dup, summarised=st.last_inserted)
    stats["labels_inserted"] += ins
    stats["labels_existing"] += ex
    stats["labels_skipped"] += sk
    items.clear()
    labels.clear()


def info(p):
    """What a dataset file (or a store) holds: counts, elements, sizes, energy range, stress, weights."""
    path = p["file"]
    if path.endswith((".sqlite", ".db")):
        st = Store(path, create=False)
        try:
            return {"kind": "store", **st.summary()}
        finally:
            st.close()
    fmt, rows = _rows(p)
    n, natoms, epa, fmax, with_stress, elements, ids, oracles = 0, [], [], 0.0, 0, set(), set(), {}
    for where, atoms, energy, forces, stress, meta in rows:
        energy, forces, stress = check_label(where, len(atoms), energy, forces, stress)
        n += 1
        natoms.append(len(atoms))
        epa.append(energy / len(atoms))
        fmax = max(fmax, float(np.abs(forces).max(initial=0.0)))
        with_stress += stress is not None
        elements.update(atoms.get_chemical_symbols())
        ids.add(structure_id(atoms))
        o = str(meta.get("oracle", "unknown"))
        oracles[o] = oracles.get(o, 0) + 1
    if n == 0:
        raise HelperError("InvalidInput", f"{path}: no structures in the file")
    out = {"kind": fmt, "file": path, "count": n, "unique_structures": len(ids), "elements": sorted(elements),
           "natoms": {"min": min(natoms), "max": max(natoms), "mean": float(np.mean(natoms))},
           "energy_per_atom": {"min": min(epa), "max": max(epa)}, "max_abs_force": fmax, "with_stress": with_stress,
           "by_oracle": oracles, "bytes": os.path.getsize(path)}
    if fmt == "pckl":
        from activities.store.dataset_files import read_pckl

        cols = list(read_pckl(path).columns)
        out["columns"] = cols
        out["weights"] = "w_energy" in cols and "w_forces" in cols
    return out
