"""DFT-sized periodic cut-outs of large MD cells, centred on the most uncertain atom.

Boundary handling. The cut-out is the Wigner-Seitz cell of an fcc lattice (a rhombic dodecahedron)
centred on the chosen atom, filled with the big cell's atoms that fall inside it, and made periodic with
that lattice. Two facts make the centre's environment exact:
  * every atom within the inscribed radius R_in (half the shortest lattice vector) of the centre is kept
    at its original relative position, and
  * no periodic image of a kept atom comes closer to the centre than R_in (an image lies in a
    neighbouring Wigner-Seitz cell, all of whose points are at least R_in away).
So whenever R_in >= the potential's cutoff, the centre atom sees exactly its environment in the big
cell, and its extrapolation grade (and ACE energy) in the cut-out equals the big cell's. The fcc
Wigner-Seitz cell is the periodic shape that holds the largest sphere per atom (5.66 R^3 against a
cube's 8 R^3), so for a given max_atoms_dft it keeps the widest intact environment; the lattice constant
is the largest for which the cut-out holds at most max_atoms_dft atoms.
Atoms near the faces meet images of atoms near the opposite faces: where two come closer than
min_distance, the one farther from the centre is removed (repeatedly), which only ever touches atoms
far from the centre. Vacuum is never added: pw.x needs periodicity and a bulk potential was not trained on
surfaces. Each cut-out records R_in, the cutoff and whether the centre's cutoff sphere is intact.
"""
import numpy as np
from ase import Atoms

FCC = 0.5 * np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])  # primitive vectors / a


def _neighbours_of(atoms, centre, radius):
    """(index, displacement) of every atom image within `radius` of atom `centre` (any cell shape)."""
    cell = atoms.cell.array
    inv = np.linalg.inv(cell)
    spacing = 1.0 / np.linalg.norm(inv, axis=0)  # distances between lattice planes
    reps = np.ceil(radius / spacing).astype(int)
    d0 = atoms.positions - atoms.positions[centre]
    frac = d0 @ inv
    frac -= np.round(frac)
    d0 = frac @ cell
    idx, disp = [], []
    for i in range(-reps[0], reps[0] + 1):
        for j in range(-reps[1], reps[1] + 1):
            for k in range(-reps[2], reps[2] + 1):
                d = d0 + np.array([i, j, k]) @ cell
                sel = np.einsum("ni,ni->n", d, d) <= radius * radius
                idx.append(np.nonzero(sel)[0])
                disp.append(d[sel])
    return np.concatenate(idx), np.concatenate(disp)


def _ws_members(disp, lattice):
    """Mask of displacements inside the Wigner-Seitz cell of `lattice` (closer to 0 than to any of the
    12 nearest lattice points)."""
    near = np.array([i * lattice[0] + j * lattice[1] + k * lattice[2]
                     for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) != (0, 0, 0)])
    proj = disp @ near.T
    return np.all(proj < 0.5 * np.einsum("ij,ij->i", near, near) + 1e-9, axis=1)


def local_cell(atoms, centre, max_atoms, min_dist, cutoff):
    """The cut-out around atom `centre` as periodic Atoms with info: cutout_centre (its index there),
    inscribed_radius, cutoff, centre_intact, carved_from_atoms."""
    density = len(atoms) / atoms.get_volume()
    a = (4.0 * max_atoms / density) ** (1.0 / 3.0)  # fcc cell volume a^3/4 holds ~max_atoms
    circ = a / 2.0  # circumradius of the rhombic dodecahedron
    idx, disp = _neighbours_of(atoms, centre, circ * 1.05)
    for _ in range(50):
        lattice = a * FCC
        inside = _ws_members(disp, lattice)
        if inside.sum() <= max_atoms:
            break
        a *= (max_atoms / inside.sum()) ** (1.0 / 3.0) * 0.998
    r_in = a / (2.0 * np.sqrt(2.0))
    keep_idx, keep_d = idx[inside], disp[inside]
    order = np.argsort(np.einsum("ni,ni->n", keep_d, keep_d), kind="stable")  # centre first
    keep_idx, keep_d = keep_idx[order], keep_d[order]
    offset = 0.5 * lattice.sum(axis=0)
    sub = Atoms(atoms.numbers[keep_idx], positions=keep_d + offset, cell=lattice, pbc=True)
    dist_from_centre = np.linalg.norm(keep_d, axis=1)
    removed_within_cutoff = False
    while len(sub) > 1:
        from ase.neighborlist import neighbor_list

        i, j, d = neighbor_list("ijd", sub, min_dist)
        if len(i) == 0:
            break
        pairs = np.stack([i, j], axis=1)
        # of the close pairs, drop the atom farthest from the centre
        far = pairs[np.arange(len(pairs)), np.argmax(dist_from_centre[pairs], axis=1)]
        drop = int(far[np.argmax(dist_from_centre[far])])
        if dist_from_centre[drop] < cutoff:
            removed_within_cutoff = True
        del sub[drop]
        dist_from_centre = np.delete(dist_from_centre, drop)
    sub.info.update(
        cutout_centre=0,
        inscribed_radius=round(float(r_in), 4),
        cutoff=float(cutoff),
        centre_intact=bool(r_in >= cutoff and not removed_within_cutoff),
        carved_from_atoms=len(atoms),
    )
    return sub
