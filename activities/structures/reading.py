"""Reading structures for helpers, with the checks every oracle needs before it spends time."""
import os
from collections import OrderedDict

import numpy as np
from ase.io import iread, read

from activities.runtime.protocol import HelperError


def _read_error(path, err, what):
    """One typed error for every way a structure file can be unreadable."""
    if isinstance(err, FileNotFoundError) or not os.path.exists(path):
        return HelperError("InvalidInput", f"structure file not found: {path}")
    if isinstance(err, PermissionError):
        return HelperError("InvalidInput", f"cannot read {path}: permission denied")
    if isinstance(err, KeyError):  # ASE looks chemical symbols up in a dict
        return HelperError("InvalidInput", f"cannot read {what} from {path}: unknown element {err}; use real chemical symbols")
    return HelperError("InvalidInput", f"cannot read {what} from {path}: {type(err).__name__}: {err} (is it an ASE-readable structure file?)")


def read_one(path, index=0):
    try:
        return read(path, index=index)
    except Exception as err:
        raise _read_error(path, err, f"structure [{index}]") from err


def read_all(path):
    try:
        return read(path, index=":")
    except Exception as err:
        raise _read_error(path, err, "structures") from err


def iter_frames(path, fmt=None):
    """Stream (index, Atoms) from a file of any ASE-readable format without loading all of it."""
    i = -1
    try:
        for i, atoms in enumerate(iread(path, index=":", format=fmt)):
            yield i, atoms
    except HelperError:
        raise
    except Exception as err:
        raise _read_error(path, err, f"frame {i + 1}") from err


def min_distance(atoms):
    """Smallest interatomic distance under the minimum-image convention (periodic images included)."""
    from ase.neighborlist import neighbor_list

    if len(atoms) == 0:
        return float("inf")
    d = neighbor_list("d", atoms, 3.0, self_interaction=False)
    return float(d.min()) if len(d) else 3.0


def check_physical(atoms, min_dist, label="structure"):
    """Raise UnphysicalStructure / InvalidInput for structures no oracle should run."""
    pos = atoms.get_positions()
    if not np.all(np.isfinite(pos)):
        raise HelperError("InvalidInput", f"{label}: positions contain NaN or infinite values")
    pbc = atoms.get_pbc()
    cell = np.asarray(atoms.get_cell())
    if pbc.any():
        periodic = cell[pbc]
        if np.linalg.matrix_rank(periodic, tol=1e-6) < int(pbc.sum()):
            raise HelperError("InvalidInput", f"{label}: the cell is singular along a periodic direction")
        if pbc.all() and abs(np.linalg.det(cell)) < 1e-6:
            raise HelperError("InvalidInput", f"{label}: the cell has zero volume")
    dmin = min_distance(atoms)
    if dmin < min_dist:
        raise HelperError(
            "UnphysicalStructure",
            f"{label}: atoms are {dmin:.3f} Å apart, closer than the minimum {min_dist} Å (overlapping atoms)",
        )
    return dmin


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
