"""DFT-sized periodic cut-outs of large MD cells, centred on the most uncertain atom.

Boundary handling. The cut-out is the Wigner-Seitz cell of an fcc lattice (a rhombic dodecahedron)
centred on the chosen atom, filled with the big cell's atoms that fall inside it, and made periodic with
that lattice. Two facts make the centre's environment exact:
  * every atom within the inscribed radius R_in (half the shortest lattice vector) of the centre is kept
    at its original relative position, and
  * no periodic image of a kept atom comes closer to the centre than R_in (an image lies in a
    neighbouring Wigner-Seitz cell, all of whose points are at least R_in away).
So whenever R_in >= the potential's cutoff, the centre atom sees exactly its environment in the big
cell (smaller cut-outs are checked neighbour by neighbour: centre_intact says which held), and its extrapolation grade (and ACE energy) in the cut-out equals the big cell's. The fcc
Wigner-Seitz cell is the periodic shape that holds the largest sphere per atom (5.66 R^3 against a
cube's 8 R^3), so for a given max_atoms_dft it keeps the widest intact environment; the lattice constant
is the largest for which the cut-out holds at most max_atoms_dft atoms.
Atoms near the faces meet images of atoms near the opposite faces: where two come closer than
min_distance, the one farther from the centre is removed (repeatedly), which only ever touches atoms
far from the centre. How many go depends on how the lattice sits in the structure, so a dozen fixed
orientations are tried and the one keeping the most atoms wins (deterministic). Vacuum is never added: pw.x needs periodicity and a bulk potential was not trained on
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


def _cut(atoms, idx, disp, lattice, max_atoms, min_dist, cutoff):
    """Atoms of the Wigner-Seitz cell of `lattice` (centre first), close contacts across the faces
    removed farthest-first; and whether an atom within `cutoff` of the centre had to go."""
    from ase.neighborlist import neighbor_list

    inside = _ws_members(disp, lattice)
    keep_idx, keep_d = idx[inside], disp[inside]
    order = np.argsort(np.einsum("ni,ni->n", keep_d, keep_d), kind="stable")
    keep_idx, keep_d = keep_idx[order], keep_d[order]
    sub = Atoms(atoms.numbers[keep_idx], positions=keep_d + 0.5 * lattice.sum(axis=0), cell=lattice, pbc=True)
    dist = np.linalg.norm(keep_d, axis=1)
    removed_within = False
    while len(sub) > 1:
        i, j, _ = neighbor_list("ijd", sub, min_dist)
        if len(i) == 0:
            break
        pairs = np.stack([i, j], axis=1)
        far = pairs[np.arange(len(pairs)), np.argmax(dist[pairs], axis=1)]
        drop = int(far[np.argmax(dist[far])])
        removed_within |= bool(dist[drop] < cutoff)
        del sub[drop]
        dist = np.delete(dist, drop)
    return sub, removed_within


def _same_environment(sub, disp, cutoff):
    """Whether the cut-out's centre (atom 0) has exactly the big cell's neighbours within `cutoff`
    (relative positions to 1e-6 Å), periodic images included."""
    from ase.neighborlist import neighbor_list

    i, D = neighbor_list("iD", sub, cutoff)
    mine = D[i == 0]
    theirs = disp[(np.einsum("ni,ni->n", disp, disp) < cutoff * cutoff) & (np.einsum("ni,ni->n", disp, disp) > 0)]
    if len(mine) != len(theirs):
        return False
    key = lambda v: v[np.lexsort(np.round(v, 6).T[::-1])]  # noqa: E731
    return bool(np.allclose(key(mine), key(theirs), atol=1e-6))


def _rotations(k, seed=0):
    """The identity and k-1 fixed pseudo-random rotations (deterministic: same cut-out every run)."""
    from scipy.spatial.transform import Rotation

    yield np.eye(3)
    if k > 1:
        yield from Rotation.random(k - 1, random_state=seed).as_matrix()


def local_cell(atoms, centre, max_atoms, min_dist, cutoff, orientations=12):
    """The cut-out around atom `centre` as periodic Atoms with info: cutout_centre (its index there),
    inscribed_radius, cutoff, centre_intact, carved_from_atoms. The lattice is the largest fcc lattice
    whose Wigner-Seitz cell holds at most max_atoms atoms; of `orientations` fixed orientations the one
    that loses the fewest atoms to close contacts across the faces is kept."""
    density = len(atoms) / atoms.get_volume()
    a0 = (4.0 * max_atoms / density) ** (1.0 / 3.0)  # fcc cell volume a^3/4 holds ~max_atoms
    idx, disp = _neighbours_of(atoms, centre, a0 / 2.0 * 1.05)  # circumradius a/2, with margin
    best = None
    for R in _rotations(orientations):
        a = a0
        for _ in range(50):
            lattice = (a * FCC) @ R.T
            n_in = int(_ws_members(disp, lattice).sum())
            if n_in <= max_atoms:
                break
            a *= (max_atoms / n_in) ** (1.0 / 3.0) * 0.998
        sub, removed_within = _cut(atoms, idx, disp, lattice, max_atoms, min_dist, cutoff)
        r_in = a / (2.0 * np.sqrt(2.0))
        intact = bool(r_in >= cutoff and not removed_within) or _same_environment(sub, disp, cutoff)
        key = (intact, len(sub))
        if best is None or key > best[0]:
            best = (key, sub, r_in, intact)
    _, sub, r_in, intact = best
    sub.info.update(
        cutout_centre=0,
        inscribed_radius=round(float(r_in), 4),
        cutoff=float(cutoff),
        centre_intact=intact,
        carved_from_atoms=len(atoms),
    )
    return sub
