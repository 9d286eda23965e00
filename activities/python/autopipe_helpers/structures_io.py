"""Reading structures for helpers, with the checks every oracle needs before it spends time."""
import numpy as np
from ase.io import read

from .protocol import HelperError


def read_one(path, index=0):
    try:
        return read(path, index=index)
    except FileNotFoundError:
        raise HelperError("InvalidInput", f"structure file not found: {path}")
    except Exception as err:
        raise HelperError("InvalidInput", f"cannot read structure {path}[{index}]: {err}")


def read_all(path):
    try:
        return read(path, index=":")
    except FileNotFoundError:
        raise HelperError("InvalidInput", f"structure file not found: {path}")
    except Exception as err:
        raise HelperError("InvalidInput", f"cannot read structures from {path}: {err}")


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
