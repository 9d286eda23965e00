"""Seeded candidate generation: a starting structure, then per structure one operation mode (plain
strain, shear, vacancies, interstitials, antisites or a surface slab), an optional random alloy
occupancy, and a Gaussian rattle. The same recipe and seed give byte-identical output.

Modes and what bounds them:
- bulk:          isotropic strain, volume ratio uniform in volume_range.
- shear:         F = s (I + e): e symmetric with |e_ij| <= shear_max (diagonal and off-diagonal), s sets
                 the volume ratio, again uniform in volume_range.
- vacancy / interstitial / antisite: 1..max_defects point defects on an isotropically strained cell.
- surface:       a slab (ASE surface) of the starting cell with vacuum, non-periodic along z; the volume
                 bound does not apply (the cell is mostly vacuum).
"""
import math

import numpy as np
from ase.build import bulk, surface
from ase.data import atomic_numbers
from ase.geometry import get_distances

from activities.runtime.protocol import HelperError
from activities.safety.structures import check_occupancy
from activities.structures.geometry import closest_distance
from activities.structures.reading import read_one
from activities.structures.validation import check_structure

# Atoms of all structures of one generator call: the frames are kept in memory until written.
MAX_ATOMS = 5_000_000
MODES = ("bulk", "shear", "vacancy", "interstitial", "antisite", "surface")
TWO_SPECIES = ("rocksalt", "zincblende", "wurtzite", "cesiumchloride", "fluorite")


def prototype(spec, elements):
    symbols = spec.get("symbols") or elements
    kind = spec["kind"]
    a = spec["a"]
    try:
        if kind in TWO_SPECIES:
            if len(symbols) < 2:
                raise HelperError("InvalidConfig", f"system.prototype: {kind} needs two species in symbols (or two system.elements)")
            return bulk("".join(symbols[:2]), kind, a=a, c=spec.get("c"), cubic=spec.get("cubic", False))
        return bulk(symbols[0], kind, a=a, c=spec.get("c"), cubic=spec.get("cubic", False))
    except HelperError:
        raise
    except Exception as err:
        raise HelperError("InvalidConfig", f"system.prototype: ASE cannot build {kind} with a={a}: {err}") from err


def starting_cell(p):
    """The unit the recipe starts from (before the supercell): a prototype or a structure file."""
    if p.get("structure_file"):
        atoms = read_one(p["structure_file"], p.get("index", 0))
        where = f"{p['structure_file']}[{p.get('index', 0)}]"
        check_occupancy(atoms, where)
    elif p.get("prototype"):
        atoms = prototype(p["prototype"], p["elements"])
        where = "system.prototype"
    else:
        raise HelperError("InvalidConfig", "give system.prototype or system.structure_file")
    atoms.info.clear()
    atoms.calc = None
    check_structure(atoms, where, elements=p.get("elements") or None, min_distance=min(p.get("min_distance", 0.5), 0.5))
    return atoms


def plan_modes(count, fractions, rng):
    """Exactly `count` modes: each fraction's share by largest remainder, the rest bulk, shuffled."""
    shares = {m: float(fractions.get(m, 0) or 0) for m in MODES if m != "bulk"}
    total = sum(shares.values())
    if any(v < 0 for v in shares.values()) or total > 1 + 1e-9:
        raise HelperError("InvalidConfig", f"generation fractions must be >= 0 and sum to at most 1 (got {shares})")
    shares["bulk"] = max(0.0, 1.0 - total)
    raw = {m: shares[m] * count for m in MODES}
    counts = {m: int(math.floor(raw[m])) for m in MODES}
    for m in sorted(MODES, key=lambda m: (-(raw[m] - counts[m]), MODES.index(m)))[: count - sum(counts.values())]:
        counts[m] += 1
    schedule = [m for m in MODES for _ in range(counts[m])]
    return [schedule[i] for i in rng.permutation(len(schedule))], counts


def _strained(atoms, rng, vrange, shear_max, shear):
    v = rng.uniform(*vrange) if vrange[1] > vrange[0] else vrange[0]
    shape = np.eye(3)
    if shear and shear_max > 0:
        e = rng.uniform(-shear_max, shear_max, (3, 3))
        shape = shape + (e + e.T) / 2.0  # symmetric: no rigid rotation
    s = (v / np.linalg.det(shape)) ** (1.0 / 3.0)
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.get_cell()) @ (s * shape), scale_atoms=True)
    return out, v


def _substitute(atoms, composition, rng):
    """Random alloy occupancy with the exact composition (largest remainder over the sites)."""
    n = len(atoms)
    els = list(composition)
    raw = np.array([composition[e] for e in els], dtype=float) * n / sum(composition.values())
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    numbers = np.repeat([atomic_numbers[e] for e in els], counts)
    atoms.set_atomic_numbers(numbers[rng.permutation(n)])
    return atoms


def _vacancies(atoms, rng, k):
    if len(atoms) <= k:
        raise HelperError("InvalidConfig", f"a vacancy needs more than {k} atoms in the cell: raise system.supercell")
    del atoms[sorted(rng.choice(len(atoms), size=k, replace=False).tolist())]
    return atoms


def _interstitials(atoms, rng, k, elements):
    """k extra atoms, each at the most open of 64 random trial points (largest distance to any atom)."""
    for _ in range(k):
        frac = rng.random((64, 3))
        pbc = atoms.get_pbc()
        trials = frac @ np.asarray(atoms.get_cell())
        _, d = get_distances(trials, atoms.get_positions(), cell=atoms.get_cell(), pbc=pbc)
        best = trials[int(np.argmax(d.min(axis=1)))]
        atoms.append(elements[int(rng.integers(len(elements)))])
        atoms.positions[-1] = best
    return atoms


def _antisites(atoms, rng, k):
    z = atoms.get_atomic_numbers()
    if len(set(z.tolist())) < 2:
        raise HelperError(
            "InvalidConfig",
            "antisite defects need at least two species on the lattice: use a two-species prototype, a structure file, "
            "or generation.substitution; or set generation.antisite_fraction to 0",
        )
    free = np.ones(len(z), dtype=bool)  # each atom swaps at most once, so k swaps are k antisite pairs
    for _ in range(k):
        i = int(np.flatnonzero(free)[rng.integers(free.sum())])
        others = np.flatnonzero(free & (z != z[i]))
        if not len(others):
            break
        j = int(others[rng.integers(len(others))])
        z[i], z[j] = z[j], z[i]
        free[[i, j]] = False
    atoms.set_atomic_numbers(z)
    return atoms


def _slab(unit, rng, spec, supercell):
    millers = spec.get("miller") or [[1, 0, 0]]
    hkl = tuple(int(x) for x in millers[int(rng.integers(len(millers)))])
    try:
        slab = surface(unit, hkl, int(spec.get("layers", 4)), vacuum=float(spec.get("vacuum", 8.0)), periodic=False)
    except Exception as err:
        raise HelperError("InvalidConfig", f"generation.surface: ASE cannot cut a {hkl} slab: {err}") from err
    return slab.repeat((supercell[0], supercell[1], 1)), hkl


def generate(p, structure_id):
    """Input: structure_file|prototype, elements, supercell, count, seed, min_distance, rattle_sigma,
    volume_range, shear_max, fractions {shear, vacancy, interstitial, antisite, surface}, max_defects,
    substitution {El: share}, surface {miller, layers, vacuum}. Returns (frames, stats)."""
    count = int(p["count"])
    if count < 1:
        raise HelperError("InvalidConfig", "generation.count must be >= 1")
    rng = np.random.default_rng(p["seed"])
    elements = list(p.get("elements") or [])
    unit = starting_cell(p)
    supercell = tuple(p.get("supercell") or (1, 1, 1))
    base = unit.repeat(supercell)
    if count * len(base) > MAX_ATOMS:  # every frame is held until the file is written: bound the memory
        raise HelperError(
            "InvalidInput",
            f"generation.count: {count} structures of {len(base)} atoms ({count * len(base):.3g} atoms) exceed the generator's "
            f"limit of {MAX_ATOMS:.0e} atoms per call (a few GB of memory): generate in batches with different seeds",
        )
    substitution = p.get("substitution") or None
    if substitution:
        unknown = sorted(set(substitution) - set(elements)) if elements else []
        if unknown or any(v < 0 for v in substitution.values()) or sum(substitution.values()) <= 0:
            raise HelperError("InvalidConfig", f"generation.substitution: shares must be >= 0 over system.elements {elements} (got {substitution})")
    vrange = tuple(p.get("volume_range") or (1.0, 1.0))
    if not (0 < vrange[0] <= vrange[1]):
        raise HelperError("InvalidConfig", f"generation.volume_range must be 0 < min <= max (got {list(vrange)})")
    sigma = float(p.get("rattle_sigma", 0.05))
    shear_max = float(p.get("shear_max", 0.0))
    max_defects = int(p.get("max_defects", 1))
    min_dist = float(p.get("min_distance", 1.5))
    schedule, planned = plan_modes(count, p.get("fractions") or {}, rng)
    if planned["interstitial"] and not elements:
        raise HelperError("InvalidConfig", "interstitials need system.elements to choose species from")
    parent = structure_id(base)
    seen = {parent}
    frames, rejected, duplicates = [], 0, 0
    budget = 50 * count + 100
    for mode in schedule:
        while True:
            if budget == 0:
                raise HelperError(
                    "InvalidConfig",
                    f"could generate only {len(frames)} of {count} structures ({rejected} rejected by min_distance {min_dist} Å, "
                    f"{duplicates} duplicates): lower generation.min_distance or rattle_sigma, or widen volume_range",
                )
            budget -= 1
            atoms, meta = _one(mode, unit, base, rng, p, elements, supercell, vrange, shear_max, max_defects, substitution)
            if sigma > 0:
                atoms.positions += rng.normal(0.0, sigma, atoms.positions.shape)
            if closest_distance(atoms, min_dist) is not None:
                rejected += 1
                continue
            sid = structure_id(atoms)
            if sid in seen:
                duplicates += 1
                continue
            seen.add(sid)
            meta.update(structure_id=sid, parent_id=parent)
            frames.append((atoms, meta))
            break
    return frames, {"rejected": rejected, "duplicates": duplicates, "modes": planned, "parent_id": parent}


def _one(mode, unit, base, rng, p, elements, supercell, vrange, shear_max, max_defects, substitution):
    if mode == "surface":
        atoms, hkl = _slab(unit, rng, p.get("surface") or {}, supercell)
        if substitution:
            _substitute(atoms, substitution, rng)
        return atoms, {"config_type": "surface", "miller": "".join(map(str, hkl))}
    atoms = base.copy()
    if substitution:
        _substitute(atoms, substitution, rng)
    atoms, v = _strained(atoms, rng, vrange, shear_max, shear=(mode == "shear"))
    k = int(rng.integers(1, max_defects + 1))
    if mode == "vacancy":
        _vacancies(atoms, rng, k)
    elif mode == "interstitial":
        _interstitials(atoms, rng, k, elements)
    elif mode == "antisite":
        _antisites(atoms, rng, k)
    return atoms, {"config_type": mode, "volume_ratio": float(v)}
