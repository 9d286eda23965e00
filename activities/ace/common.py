"""Shared helpers of the pace_* commands: reading datasets and structure files, building bases."""
import os

import numpy as np

from activities.runtime.protocol import HelperError
from activities.safety.pickles import read_dataframe as read_dataframe_safely
from activities.structures.reading import read_all


def is_dataframe_file(path):
    return path.endswith((".pckl.gzip", ".pkl.gz", ".pckl.gz"))


def read_dataframe(path, what="dataset"):
    if not os.path.isfile(path):
        raise HelperError("InvalidInput", f"{what} not found: {path}")
    df = read_dataframe_safely(path, what)  # a pickle can carry code: only a DataFrame's parts are loaded
    if "ase_atoms" not in df.columns:
        raise HelperError("InvalidInput", f"{what} {path} has no 'ase_atoms' column (Pacemaker's dataset format)")
    return df.reset_index(drop=True)


def read_structures(path, what="structures"):
    """Atoms and a name per structure from a Pacemaker DataFrame or any ASE-readable file."""
    if is_dataframe_file(path):
        df = read_dataframe(path, what)
        names = list(df["name"].astype(str)) if "name" in df.columns else [str(i) for i in range(len(df))]
        return list(df["ase_atoms"]), names
    frames = read_all(path)
    names = [str(a.info.get("name", a.info.get("id", i))) for i, a in enumerate(frames)]
    return frames, names


def atoms_per_element(atoms_list):
    counts = {}
    for atoms in atoms_list:
        for s in atoms.get_chemical_symbols():
            counts[s] = counts.get(s, 0) + 1
    return counts


def functions_per_element(bconf):
    """Number of B-functions per element: the active set of an element needs at least this many atoms."""
    from pyace import ACEBBasisSet
    from pyace.activelearning import compute_number_of_functions

    basis = ACEBBasisSet(bconf)
    return {el: int(n) for el, n in zip(basis.elements_name, compute_number_of_functions(basis))}


def build_basis(spec):
    """Pacemaker's own constructor for a `potential` section, so a bad section fails here, not mid-fit."""
    from pyace.basisextension import construct_bbasisconfiguration

    try:
        return construct_bbasisconfiguration(dict(spec))
    except Exception as err:
        raise HelperError("InvalidConfig", f"Pacemaker rejects the basis built from the training section: {type(err).__name__}: {err}") from err


def write_dataframe(df, path):
    tmp = path + ".tmp"
    df.to_pickle(tmp, compression="gzip", protocol=4)
    os.replace(tmp, path)


def finite(x):
    """JSON has no infinity: non-finite numbers travel as strings the TypeScript schemas turn back."""
    x = float(x)
    if np.isfinite(x):
        return x
    return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
