"""Pre-flight check of an ACE fit: everything Pacemaker would reject, found before it starts.

Builds the basis with Pacemaker's own constructor, reads the dataset's shape (columns, elements, atoms
per element, sizes) and decides how a refit starts from a previous potential. Row-level validity of
labels (finite values, force shapes) is the dataset writer's job (datasets.py) and is not repeated here.
"""
import json

import numpy as np

from activities.ace.common import build_basis, functions_per_element, read_dataframe
from activities.runtime.protocol import HelperError


def _dataset_summary(path, what):
    df = read_dataframe(path, what)
    missing = [c for c in ("forces",) if c not in df.columns]
    if "energy" not in df.columns and "energy_corrected" not in df.columns:
        missing.append("energy (or energy_corrected)")
    if missing:
        raise HelperError("InvalidInput", f"{what} {path} lacks the column(s) {', '.join(missing)} Pacemaker needs")
    counts = {}
    for atoms in df["ase_atoms"]:
        for s in atoms.get_chemical_symbols():
            counts[s] = counts.get(s, 0) + 1
    return df, {"structures": len(df), "atoms_per_element": counts, "has_energy": "energy" in df.columns}


def _bond_key(block, with_r_in):
    key = (round(block.rcutij, 8), round(block.dcutij, 8), block.radbase, tuple(block.radparameters),
           block.NameOfCutoffFunctionij, block.npoti, tuple(block.fs_parameters), block.ndensityi)
    return key + ((round(block.r_in, 8),) if with_r_in else ())


def _funcs(block):
    return {(tuple(f.elements), tuple(f.ns), tuple(f.ls), tuple(f.LS)) for f in block.funcspecs}


def _compare(prev, target, explicit_r_in):
    """'same', 'grows' or a sentence saying why the previous potential cannot seed the target."""
    pb = {b.block_name: b for b in prev.funcspecs_blocks}
    tb = {b.block_name: b for b in target.funcspecs_blocks}
    if set(pb) != set(tb):
        return f"its element blocks {sorted(pb)} differ from the campaign's {sorted(tb)}"
    grows = False
    for name, t in tb.items():
        p = pb[name]
        if _bond_key(p, explicit_r_in) != _bond_key(t, explicit_r_in):
            return (f"block {name}: cutoff, radial basis, embedding or ZBL inner cutoff changed "
                    f"(previous rcut {p.rcutij:g}, {p.radbase}; now rcut {t.rcutij:g}, {t.radbase})")
        fp, ft = _funcs(p), _funcs(t)
        if not fp <= ft:
            return f"block {name}: {len(fp - ft)} of its functions are not in the campaign's basis (the basis shrank or changed shape)"
        grows = grows or len(ft) > len(fp)
    return "grows" if grows else "same"


def _min_distance_per_bond(df, cutoff):
    """Closest distance per element pair over all structures, e.g. {("Cu", "Cu"): 2.27}."""
    from ase.data import chemical_symbols
    from ase.neighborlist import neighbor_list

    best = {}
    for atoms in df["ase_atoms"]:
        i, j, d = neighbor_list("ijd", atoms, cutoff)
        if len(d) == 0:
            continue
        z = atoms.get_atomic_numbers()
        lo, hi = np.minimum(z[i], z[j]), np.maximum(z[i], z[j])
        key = lo * 1000 + hi
        for k in np.unique(key):
            r = float(d[key == k].min())
            if r < best.get(int(k), float("inf")):
                best[int(k)] = r
    return {(chemical_symbols[k // 1000], chemical_symbols[k % 1000]): r for k, r in best.items()}


def _pair_key(elements):
    """Pacemaker's bond key: "CuCu" for a unary block, "AlCu" for a binary one (sorted)."""
    els = sorted(elements)
    return "".join(els if len(els) == 2 else els * 2)


def _inner_cutoffs(df, elements, rcut, margin, prev):
    """ZBL inner cutoff per bond: the closest pair in the data minus the margin, never above the
    previous potential's (so a refit never hands distances ACE already covered over to ZBL)."""
    dmin = {"".join(k): v for k, v in _min_distance_per_bond(df, rcut).items()}
    pairs = sorted({_pair_key([a, b]) for a in elements for b in elements})
    fallback = min(dmin.values())  # bonds absent from the data: the closest pair of any bond
    out = {pair: max(0.3, dmin.get(pair, fallback) - margin) for pair in pairs}
    if prev is not None:
        for b in prev.funcspecs_blocks:
            key = _pair_key(b.block_name.split())
            if key in out and b.inner_cutoff_type == "zbl":
                out[key] = min(out[key], b.r_in)
    return out, dmin


def _check_fixed_inner_cutoff(df, rcut, r_in):
    """A fixed ZBL inner cutoff at or above a bond's closest pair in the data hands pairs the data covers to
    ZBL's bare repulsion, which ACE cannot correct (eV-scale errors). Only the data shows it: checked here."""
    bad = sorted((r, "-".join(pair)) for pair, r in _min_distance_per_bond(df, rcut).items() if r <= r_in)
    if bad:
        pairs = ", ".join(f"{name} {r:.2f} Å" for r, name in bad)
        raise HelperError("InvalidConfig", f"training.zbl_inner_cutoff {r_in:g} Å is not below the closest pairs in the training data ({pairs}): ZBL would replace ACE on bonds the data covers. Lower it below {bad[0][0]:.2f} Å, or drop the key to set one per bond from the data (training.zbl_margin)")


def _seed_potential(prev, cutoffs, path):
    """The previous potential with each bond's ZBL inner cutoff set to this fit's (never raised).

    New data often has closer atoms than the old; continuing from the saved potential would hand those
    pairs to ZBL instead of ACE and start far from the model the previous fit optimised.
    """
    seed = prev.copy()
    changed = {}
    for b in seed.funcspecs_blocks:
        key = _pair_key(b.block_name.split())
        if key in cutoffs and abs(cutoffs[key] - b.r_in) > 1e-9:
            changed[b.block_name] = [b.r_in, cutoffs[key]]
            b.r_in = cutoffs[key]
            b.inner_cutoff_type = "zbl"
    seed.save(path)
    return {"path": path, "lowered_r_in": changed}


# Share of a dataset's environments the basis may use: the active set needs as many linearly independent
# environments per element as functions, and a symmetric cell's atoms (a near-perfect crystal) add fewer.
ENVIRONMENT_SHARE = 0.9


def _basis_the_data_supports(spec, target, nfuncs, train, train_fraction, result):
    """A campaign's basis grows with its data: while the training data has fewer environments than the
    campaign's basis needs for an active set, the fit uses the largest basis it can build one for (later
    generations grow it; see _compare). Without this a campaign asking for 150 functions could not fit its
    first generation on the DFT labels alone."""
    have = min(int(train["atoms_per_element"].get(el, 0) * train_fraction) for el in nfuncs)
    cap = max(1, int(have * ENVIRONMENT_SHARE))
    if all(n <= have for n in nfuncs.values()):
        return target, nfuncs
    asked = int(spec["functions"]["number_of_functions_per_element"])
    smaller = dict(spec, functions=dict(spec["functions"], number_of_functions_per_element=min(asked, cap)))
    target = build_basis(smaller)
    result["basis_from_data"] = {"asked": asked, "used": min(asked, cap), "environments": have}
    return target, functions_per_element(target)


def check(p):
    """Input: potential (basis spec), elements, dataset, test_dataset, test_size, reference_energies,
    active_set, previous_potential, mode ('auto'|'continue'|'grow')."""
    elements = sorted(p["elements"])
    df, train = _dataset_summary(p["dataset"], "dataset")
    extra = sorted(set(train["atoms_per_element"]) - set(elements))
    if extra:
        raise HelperError("InvalidConfig", f"the dataset contains {', '.join(extra)}, which system.elements ({', '.join(elements)}) does not list: add them or remove those structures")
    absent = [e for e in elements if train["atoms_per_element"].get(e, 0) == 0]
    if absent:
        raise HelperError("InvalidConfig", f"the dataset has no {', '.join(absent)} atoms, so their ACE functions cannot be fitted: add structures with them or remove them from system.elements")
    refs = p.get("reference_energies")
    if refs is not None:
        miss = [e for e in elements if e not in refs]
        if miss:
            raise HelperError("InvalidConfig", f"training.reference_energies has no value for {', '.join(miss)}: give one per element or drop the key to let Pacemaker fit them")
    result = {"dataset": train}

    test_size = float(p.get("test_size") or 0)
    if p.get("test_dataset"):
        _, test = _dataset_summary(p["test_dataset"], "test dataset")
        if set(test["atoms_per_element"]) - set(elements):
            raise HelperError("InvalidConfig", f"the test dataset contains elements outside system.elements ({', '.join(elements)})")
        result["test_dataset"] = test
        train_fraction = 1.0
    elif test_size > 0:
        n_test = int(train["structures"] * test_size)  # Pacemaker's own rounding (preparedata.train_test_split)
        if n_test == 0 or n_test == train["structures"]:
            raise HelperError("InvalidConfig", f"training.test_size {test_size} of {train['structures']} structures leaves {n_test} test structures: set test_size to 0 or add structures")
        train_fraction = (train["structures"] - n_test) / train["structures"]
    else:
        train_fraction = 1.0

    target = build_basis(p["potential"])
    nfuncs = functions_per_element(target)
    if p.get("active_set", True) and p.get("basis_from_data"):
        target, nfuncs = _basis_the_data_supports(p["potential"], target, nfuncs, train, train_fraction, result)
    result["target_functions"] = nfuncs

    mode = "scratch"
    prev = None
    prev_path = p.get("previous_potential")
    if prev_path:
        from pyace import BBasisConfiguration

        try:
            prev = BBasisConfiguration(prev_path)
        except Exception as err:
            raise HelperError("InvalidInput", f"previous potential {prev_path} cannot be read by pyace: {err}") from err
        verdict = _compare(prev, target, explicit_r_in="r_in" in p["potential"]["bonds"]["ALL"])
        requested = p.get("mode", "auto")
        if verdict not in ("same", "grows"):
            raise HelperError("InvalidConfig", f"the previous potential {prev_path} cannot seed this fit: {verdict}. Fit from scratch (no previous potential) or restore the earlier training settings")
        if requested == "continue" and verdict != "same":
            raise HelperError("InvalidConfig", f"incremental 'continue' needs the same basis, but the campaign's basis is larger than {prev_path}: use 'grow' or 'auto'")
        if requested == "grow" and verdict != "grows":
            raise HelperError("InvalidConfig", f"incremental 'grow' needs a larger basis than {prev_path} (Pacemaker would add no function and fit nothing): use 'continue' or 'auto', or raise training.number_of_functions_per_element")
        mode = "continue" if verdict == "same" else "grow"
        result["previous_functions"] = functions_per_element(prev)
        meta = dict(prev.metadata)
        if "reference_energy" in meta:
            result["previous_reference_energy"] = json.loads(meta["reference_energy"])
    result["mode"] = mode
    all_bonds = p["potential"]["bonds"]["ALL"]
    rcut = float(all_bonds["rcut"])
    if all_bonds.get("r_in") is not None:  # training.zbl_inner_cutoff
        _check_fixed_inner_cutoff(df, rcut, float(all_bonds["r_in"]))
    if p.get("zbl_margin") is not None:  # no fixed zbl_inner_cutoff: one per bond from the data
        cutoffs, dmin = _inner_cutoffs(df, elements, rcut, float(p["zbl_margin"]), prev if prev_path else None)
        result["inner_cutoffs"] = cutoffs
        result["closest_pairs"] = dmin
        if prev_path and p.get("seed_potential"):
            result["seed_potential"] = _seed_potential(prev, cutoffs, p["seed_potential"])
    # Without configured references Pacemaker fits them ("auto") from the raw `energy` column,
    # except when continuing, where the previous potential's references are reused.
    fits_references = refs is None and (mode == "scratch" or (mode == "grow" and "previous_reference_energy" not in result))
    if fits_references and not train["has_energy"]:
        raise HelperError("InvalidInput", f"dataset {p['dataset']} has no 'energy' column to fit reference energies from: write it with the dataset writer or set training.reference_energies")

    if p.get("active_set", True):
        for el, n in nfuncs.items():
            have = int(train["atoms_per_element"].get(el, 0) * train_fraction)
            if have < n:
                raise HelperError("InvalidConfig", f"the active set of {el} needs at least {n} atomic environments (one per ACE function), but the training part of the dataset has about {have} {el} atoms: add structures or lower training.number_of_functions_per_element to {max(1, have)} or less")
    return result
