"""Structure generation (seeded) and content hashing."""
import hashlib
import os

import numpy as np
from ase.build import bulk
from ase.io import write

from .protocol import HelperError
from .structures_io import min_distance


def structure_id(atoms):
    """Content hash: species, positions and cell rounded to 1e-6 Å, and pbc."""
    h = hashlib.sha256()
    h.update(np.asarray(atoms.get_atomic_numbers(), dtype=np.int64).tobytes())
    h.update(np.round(atoms.get_positions(), 6).astype(np.float64).tobytes())
    h.update(np.round(np.asarray(atoms.get_cell()), 6).astype(np.float64).tobytes())
    h.update(np.asarray(atoms.get_pbc(), dtype=np.int8).tobytes())
    return h.hexdigest()[:20]


def prototype(spec, elements):
    symbols = spec.get("symbols") or elements
    kind = spec["kind"]
    a = spec["a"]
    try:
        if kind in ("rocksalt", "zincblende", "wurtzite"):
            if len(symbols) < 2:
                raise HelperError("InvalidInput", f"system.prototype: {kind} needs two species in symbols")
            return bulk("".join(symbols[:2]), kind, a=a, c=spec.get("c"), cubic=spec.get("cubic", False))
        return bulk(symbols[0], kind, a=a, c=spec.get("c"), cubic=spec.get("cubic", False))
    except HelperError:
        raise
    except Exception as err:
        raise HelperError("InvalidInput", f"system.prototype: ASE cannot build {kind} with a={a}: {err}")


def make(p):
    """Input: prototype, elements, supercell, count, rattle_sigma, volume_range, seed, min_distance, output."""
    rng = np.random.default_rng(p["seed"])
    base = prototype(p["prototype"], p["elements"]).repeat(tuple(p.get("supercell", [1, 1, 1])))
    vmin, vmax = p.get("volume_range", [1.0, 1.0])
    out, ids, rejected = [], [], 0
    seen = set()
    for _ in range(p["count"] * 20):
        if len(out) == p["count"]:
            break
        atoms = base.copy()
        scale = rng.uniform(vmin, vmax) ** (1.0 / 3.0)
        atoms.set_cell(atoms.get_cell() * scale, scale_atoms=True)
        atoms.positions += rng.normal(0.0, p.get("rattle_sigma", 0.05), atoms.positions.shape)
        if min_distance(atoms) < p.get("min_distance", 1.5):
            rejected += 1
            continue
        sid = structure_id(atoms)
        if sid in seen:
            continue
        seen.add(sid)
        atoms.info["structure_id"] = sid
        out.append(atoms)
        ids.append(sid)
    if len(out) < p["count"]:
        raise HelperError("InvalidInput", f"could generate only {len(out)} of {p['count']} structures ({rejected} rejected by min_distance)")
    tmp = p["output"] + ".tmp"
    write(tmp, out, format="extxyz")
    os.replace(tmp, p["output"])
    return {"output": p["output"], "ids": ids, "rejected": rejected, "natoms": len(base)}
