"""Cut-outs of large MD cells (activities/md/cutout.py): DFT-sized, the centre's environment exact."""
import numpy as np
from ase.build import bulk
from ase.neighborlist import neighbor_list

from activities.md.cutout import local_cell


def _env(atoms, i, cutoff):
    idx, D = neighbor_list("iD", atoms, cutoff)
    v = D[idx == i]
    return v[np.lexsort(np.round(v, 6).T[::-1])]


def big_cell():
    a = bulk("Si", "diamond", a=5.43, cubic=True).repeat((6, 6, 6))  # 1728 atoms
    a.rattle(0.1, seed=4)
    return a


def test_cutout_keeps_the_centre_environment_and_fits_max_atoms():
    a = big_cell()
    centre = 777
    sub = local_cell(a, centre, max_atoms=64, min_dist=1.5, cutoff=5.0)
    assert len(sub) <= 64 and len(sub) >= 56  # the orientation search loses few atoms to the faces
    assert sub.info["carved_from_atoms"] == len(a)
    assert sub.info["inscribed_radius"] >= 5.0 and sub.info["centre_intact"] is True
    ours, theirs = _env(sub, 0, 5.0), _env(a, centre, 5.0)
    assert ours.shape == theirs.shape
    assert np.allclose(ours, theirs, atol=1e-6)
    # no close contacts across the new periodic boundary
    assert neighbor_list("i", sub, 1.5).size == 0


def test_cutout_too_small_for_the_cutoff_says_so():
    a = big_cell()
    sub = local_cell(a, 5, max_atoms=12, min_dist=1.5, cutoff=5.0)
    assert len(sub) <= 12
    assert sub.info["centre_intact"] is False  # a 12-atom cell cannot hold a 5 Å sphere of Si


def test_cutout_is_deterministic():
    a = big_cell()
    s1 = local_cell(a, 100, 48, 1.5, 5.0)
    s2 = local_cell(a, 100, 48, 1.5, 5.0)
    assert np.array_equal(s1.positions, s2.positions) and np.array_equal(s1.cell.array, s2.cell.array)
