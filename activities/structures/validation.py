"""The invariants every structure and label must satisfy at the store's and datasets' boundaries.

Each check raises HelperError with the place (file, frame, field) and what to do, so nothing unphysical
or malformed ever reaches the store, a dataset, or an oracle.
"""
import numpy as np
from ase.data import chemical_symbols

from activities.runtime.protocol import HelperError
from activities.structures.geometry import closest_distance

# Z = 1..118; ASE's Z = 0 ("X", a ghost atom) is not an element any oracle can label.
KNOWN_Z = range(1, len(chemical_symbols))


def check_structure(atoms, where, elements=None, min_distance=None):
    """Finite positions, a cell that spans every periodic direction, known (and allowed) elements, no
    atoms closer than `min_distance`. Returns the closest distance found below the threshold, or None."""
    n = len(atoms)
    if n == 0:
        raise HelperError("InvalidInput", f"{where}: the structure has no atoms")
    numbers = atoms.get_atomic_numbers()
    bad_z = sorted({int(z) for z in numbers if int(z) not in KNOWN_Z})
    if bad_z:
        raise HelperError("InvalidInput", f"{where}: unknown element (atomic number {bad_z}); use real chemical symbols")
    if elements:
        extra = sorted({chemical_symbols[int(z)] for z in numbers} - set(elements))
        if extra:
            raise HelperError(
                "InvalidInput",
                f"{where}: element {', '.join(extra)} is not in the campaign's elements {list(elements)}; "
                "add it to system.elements or remove the structure",
            )
    pos = atoms.get_positions()
    if pos.shape != (n, 3):
        raise HelperError("InvalidInput", f"{where}: positions have shape {pos.shape}, expected ({n}, 3)")
    if not np.all(np.isfinite(pos)):
        rows = np.unique(np.nonzero(~np.isfinite(pos))[0])[:5].tolist()
        raise HelperError("InvalidInput", f"{where}: positions contain NaN or infinite values (atoms {rows}); fix or drop the structure")
    cell = np.asarray(atoms.get_cell(), dtype=float)
    if not np.all(np.isfinite(cell)):
        raise HelperError("InvalidInput", f"{where}: the cell contains NaN or infinite values")
    pbc = np.asarray(atoms.get_pbc(), dtype=bool)
    if pbc.any():
        lengths = np.linalg.norm(cell, axis=1)
        if np.any(lengths[pbc] < 1e-6) or np.linalg.matrix_rank(cell[pbc], tol=1e-6 * max(1.0, lengths.max())) < int(pbc.sum()):
            raise HelperError(
                "InvalidInput",
                f"{where}: the cell is singular (zero volume) along a periodic direction (pbc {pbc.tolist()}, cell {cell.round(6).tolist()}); "
                "give a full cell or set pbc False for that direction",
            )
        if pbc.all() and abs(np.linalg.det(cell)) < 1e-6:
            raise HelperError("InvalidInput", f"{where}: the cell has zero volume; give a full 3D cell")
    if min_distance:
        d = closest_distance(atoms, min_distance)
        if d is not None:
            raise HelperError(
                "UnphysicalStructure",
                f"{where}: atoms are {d:.3f} Å apart, closer than the minimum {min_distance} Å (overlapping atoms)",
            )
    return None


def check_label(where, natoms, energy, forces, stress=None, require_stress=False):
    """A label's energy, forces (natoms x 3) and optional stress (Voigt 6 or 3x3): present and finite.
    Returns (energy, forces, stress-as-Voigt-6 or None)."""
    if energy is None:
        raise HelperError("InvalidInput", f"{where}: energy is missing")
    try:
        energy = float(energy)
    except (TypeError, ValueError):
        raise HelperError("InvalidInput", f"{where}: energy {energy!r} is not a number") from None
    if not np.isfinite(energy):
        raise HelperError("InvalidInput", f"{where}: energy is {energy} (NaN or infinite)")
    if forces is None:
        raise HelperError("InvalidInput", f"{where}: forces are missing")
    forces = np.asarray(forces, dtype=float)
    if forces.shape != (natoms, 3):
        raise HelperError("InvalidInput", f"{where}: forces have shape {forces.shape}, expected ({natoms}, 3)")
    if not np.all(np.isfinite(forces)):
        raise HelperError("InvalidInput", f"{where}: forces contain NaN or infinite values")
    if stress is None:
        if require_stress:
            raise HelperError("InvalidInput", f"{where}: stress is missing but required (drop --require-stress or label with stress)")
        return energy, forces, None
    return energy, forces, voigt6(stress, where)


def voigt6(stress, where):
    """ASE's Voigt order (xx, yy, zz, yz, xz, xy) from 6 values or a 3x3 matrix; finite."""
    s = np.asarray(stress, dtype=float)
    if s.shape == (3, 3):
        s = s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    if s.shape != (6,):
        raise HelperError("InvalidInput", f"{where}: stress has shape {s.shape}, expected 6 Voigt components or 3x3")
    if not np.all(np.isfinite(s)):
        raise HelperError("InvalidInput", f"{where}: stress contains NaN or infinite values")
    return s
