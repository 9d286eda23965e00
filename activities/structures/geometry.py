"""Geometry checks fast enough to run on every structure of a 50,000-structure import.

ASE's neighbor_list costs ~6 ms per 64-atom cell (Python set-up dominates); a vectorised minimum-image
search over the few periodic images that can matter costs well under 1 ms for cells of a few hundred
atoms, so it is used there and neighbor_list only for large cells.
"""
import math

import numpy as np

_VECTORISED_MAX_ATOMS = 300


def plane_spacings(cell):
    """Distance between lattice planes along each cell vector (inf for a degenerate cell)."""
    cell = np.asarray(cell, dtype=float)
    vol = abs(np.linalg.det(cell))
    out = []
    for i in range(3):
        cross = np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])
        norm = np.linalg.norm(cross)
        out.append(vol / norm if norm > 0 else math.inf)
    return np.array(out)


def closest_distance(atoms, cutoff):
    """The smallest interatomic distance (periodic images included) if it is below `cutoff`, else None."""
    n = len(atoms)
    if n == 0:
        return None
    pbc = np.asarray(atoms.get_pbc(), dtype=bool)
    if n > _VECTORISED_MAX_ATOMS:
        from ase.neighborlist import neighbor_list

        d = neighbor_list("d", atoms, cutoff, self_interaction=False)
        return float(d.min()) if len(d) else None
    pos = atoms.get_positions()
    cell = np.asarray(atoms.get_cell(), dtype=float)
    diff = pos[None, :, :] - pos[:, None, :]  # (n, n, 3)
    shifts = [np.zeros(3)]
    if pbc.any():
        inv = np.linalg.inv(cell) if abs(np.linalg.det(cell)) > 0 else None
        if inv is None:
            raise ValueError("singular cell")
        frac = diff @ inv
        frac[..., pbc] -= np.round(frac[..., pbc])  # wrap periodic components into [-0.5, 0.5]
        diff = frac @ cell
        # With |f_j| <= 0.5 after wrapping, image n_j is closer than the cutoff only if
        # (|n_j| - 0.5) * spacing_j < cutoff: a cell much larger than the cutoff needs no images at all.
        spacing = plane_spacings(cell)
        reach = [max(0, int(math.ceil(cutoff / spacing[j] - 0.5 + 1e-9))) if pbc[j] else 0 for j in range(3)]
        grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), -1).reshape(-1, 3)
        shifts = list(grid @ cell)
    best = math.inf
    eye = np.eye(n, dtype=bool)
    for s in shifts:
        v = diff + s
        d2 = np.einsum("ijk,ijk->ij", v, v)
        if not np.any(s):
            d2 = np.where(eye, np.inf, d2)  # an atom is not its own neighbour in the home cell
        m = float(d2.min())
        if m < best:
            best = m
    best = math.sqrt(best)
    return best if best < cutoff else None
