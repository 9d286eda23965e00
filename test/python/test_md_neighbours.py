"""The exploration engine's neighbour lists (activities/md/neighbours.py) against ASE's: the same pairs and
image shifts for small, sheared and large cells, unwrapped positions, and a crowded spot."""
import numpy as np
import pytest
from ase.build import bulk
from ase.neighborlist import neighbor_list

from activities.md.neighbours import neighbour_list


def _pairs_ours(pos, cell, rc):
    start, j, S = neighbour_list(pos, cell, rc)
    i = np.repeat(np.arange(len(pos)), np.diff(start))
    assert np.array_equal(S, np.round(S))
    return i, j, S.astype(int)


def _length(a, pair):
    i, j, S = pair
    return np.linalg.norm(a.positions[j] + np.array(S) @ a.cell.array - a.positions[i])


def _as_set(i, j, S):
    out = set(zip(i.tolist(), j.tolist(), map(tuple, S.tolist())))
    assert len(out) == len(i)  # no pair twice
    return out


def _cases():
    rng = np.random.default_rng(0)
    for reps, shear in [((1, 1, 1), 0.0), ((2, 1, 1), 0.0), ((2, 2, 2), 0.0), ((1, 1, 1), 0.6), ((2, 3, 2), 0.4)]:
        a = bulk("Si", "diamond", a=5.43, cubic=True).repeat(reps)
        a.rattle(0.1, seed=1)
        c = a.cell.array @ (np.eye(3) + rng.uniform(-0.05, 0.05, (3, 3)))
        c[1] += shear * c[0]
        c[2] += 0.7 * shear * c[1]
        a.set_cell(c, scale_atoms=True)
        # MD positions drift out of the cell: whole cells and a few Å off
        a.positions += rng.integers(-3, 4, (len(a), 3)) @ a.cell.array + rng.normal(0, 2, (len(a), 3))
        yield a
    crowded = bulk("Si", "diamond", a=5.43, cubic=True).repeat((3, 3, 3))
    crowded.positions[:40] = crowded.positions[0] + rng.uniform(0, 2.0, (40, 3))  # far above the mean density
    yield crowded


@pytest.mark.parametrize("rc", [3.0, 5.5, 8.0])
def test_neighbour_list_matches_ase(rc):
    for a in _cases():
        i, j, S = _pairs_ours(a.positions, a.cell.array, rc)
        ours = _as_set(i, j, S)
        ia, ja, Sa = neighbor_list("ijS", a, rc)
        theirs = _as_set(ia, ja, Sa)
        # a pair at rc within rounding may be in one list only
        assert all(abs(_length(a, p) - rc) < 1e-9 for p in ours ^ theirs), (len(a), rc)
        assert np.all(np.diff(i) >= 0)  # grouped by atom, as the kernel reads them
        vec = a.positions[j] + S @ a.cell.array - a.positions[i]
        assert np.all(np.einsum("pi,pi->p", vec, vec) < rc * rc)
