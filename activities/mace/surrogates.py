"""Structure files the MACE tier derives from others: surrogates (perturbed copies of DFT structures, to
be labelled by the fine-tuned committee) and subsets (the structures the tiered oracle sends to DFT)."""
import numpy as np

from activities.runtime.protocol import HelperError
from activities.structures.commands import structure_id
from activities.structures.reading import min_distance, read_one


def _write(frames, output):
    """Exact extxyz (shortest round-trip floats), so the store recomputes the same content-hash ids."""
    from activities.structures.commands import write_frames

    write_frames(output, [(a, dict(a.info)) for a in frames])


def surrogates(p):
    """Input: parents [{structure_file, index, id}], per_structure, rattle_sigma (Å), strain_max, seed,
    min_distance, output. Each surrogate: Gaussian rattle plus a random symmetric strain (|e_ij| <= strain_max)."""
    rng = np.random.default_rng(p["seed"])
    per = int(p["per_structure"])
    sigma, strain_max, dmin = float(p["rattle_sigma"]), float(p["strain_max"]), float(p.get("min_distance", 1.5))
    frames, ids, parents, rejected = [], [], [], 0
    seen = set()
    for parent in p["parents"]:
        base = read_one(parent["structure_file"], parent.get("index", 0))
        made = 0
        for _ in range(per * 20):
            if made == per:
                break
            atoms = base.copy()
            atoms.info.clear()
            e = rng.uniform(-strain_max, strain_max, (3, 3))
            e = 0.5 * (e + e.T)
            if atoms.pbc.any():
                atoms.set_cell(np.asarray(atoms.get_cell()) @ (np.eye(3) + e), scale_atoms=True)
            atoms.positions += rng.normal(0.0, sigma, atoms.positions.shape)
            if len(atoms) > 1 and min_distance(atoms) < dmin:
                rejected += 1
                continue
            sid = structure_id(atoms)
            if sid in seen:
                continue
            seen.add(sid)
            atoms.info.update({"structure_id": sid, "parent_id": parent["id"], "source": "surrogate"})
            frames.append(atoms)
            ids.append(sid)
            parents.append(parent["id"])
            made += 1
        if made < per:
            raise HelperError("InvalidInput", f"could make only {made} of {per} surrogates of {parent['id']} "
                                              f"({rejected} rejected by min_distance {dmin} Å): lower teacher.surrogates.rattle_sigma")
    if not frames:
        raise HelperError("InvalidInput", "no surrogates requested (no parents, or teacher.surrogates.per_structure is 0)")
    _write(frames, p["output"])
    return {"output": p["output"], "ids": ids, "parents": parents, "rejected": rejected}


def subset(p):
    """Input: structure_file, indices, output. The structures at those indices, in that order."""
    from activities.structures.reading import frames_of

    frames = frames_of(p["structure_file"])
    bad = [i for i in p["indices"] if not 0 <= i < len(frames)]
    if bad:
        raise HelperError("InvalidInput", f"{p['structure_file']} has {len(frames)} structures; no index {bad[:5]}")
    _write([frames[i] for i in p["indices"]], p["output"])
    return {"output": p["output"], "count": len(p["indices"])}
