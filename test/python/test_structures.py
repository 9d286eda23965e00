"""Structure ids, the exact extxyz writer and the seeded generator."""
import numpy as np
import pytest
from ase.build import bulk
from ase.io import read

from activities.runtime.protocol import HelperError
from activities.structures.commands import structure_id, write_frames
from activities.structures.generator import generate, plan_modes
from activities.structures.validation import check_label


def test_structure_id_is_a_content_hash_rounded_to_a_micro_angstrom():
    a = bulk("Si", "diamond", a=5.43)
    b = a.copy()
    b.positions[0] += 1e-8  # below the rounding: same structure
    c = a.copy()
    c.positions[0] += 1e-4
    assert structure_id(a) == structure_id(b)
    assert structure_id(a) != structure_id(c)
    assert len(structure_id(a)) == 20


def test_written_frames_read_back_exactly(tmp_path):
    rng = np.random.default_rng(3)
    atoms = bulk("Cu", "fcc", a=3.6).repeat((2, 2, 2))
    atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
    out = tmp_path / "x.extxyz"
    write_frames(str(out), [(atoms, {"structure_id": structure_id(atoms), "config_type": "bulk"})])
    back = read(str(out), index=0)
    assert np.array_equal(back.positions, atoms.positions)
    assert np.array_equal(back.cell.array, atoms.cell.array)
    assert back.info["structure_id"] == structure_id(atoms) == structure_id(back)


@pytest.mark.parametrize("count", [1, 7, 10, 101])
def test_plan_modes_gives_exact_counts_by_largest_remainder(count):
    fractions = {"shear": 0.3, "vacancy": 0.2, "surface": 0.05}
    schedule, counts = plan_modes(count, fractions, np.random.default_rng(0))
    assert len(schedule) == count == sum(counts.values())
    for mode, share in fractions.items():
        assert abs(counts[mode] - share * count) < 1
        assert schedule.count(mode) == counts[mode]


def test_plan_modes_refuses_shares_above_one():
    with pytest.raises(HelperError, match="sum to at most 1"):
        plan_modes(10, {"shear": 0.7, "vacancy": 0.5}, np.random.default_rng(0))


def _recipe(**over):
    p = {"prototype": {"kind": "fcc", "a": 4.05}, "elements": ["Al"], "supercell": [2, 2, 2], "count": 12, "seed": 7,
         "min_distance": 1.8, "rattle_sigma": 0.02, "volume_range": [0.95, 1.05], "shear_max": 0.03,
         "fractions": {"shear": 0.25, "vacancy": 0.25}, "max_defects": 2}
    p.update(over)
    return p


def test_generator_is_seeded_and_applies_every_requested_mode():
    frames, stats = generate(_recipe(), structure_id)
    again, _ = generate(_recipe(), structure_id)
    assert [m["structure_id"] for _, m in frames] == [m["structure_id"] for _, m in again]
    assert stats["modes"]["vacancy"] == 3 and stats["modes"]["shear"] == 3
    vacancies = [a for a, m in frames if m["config_type"] == "vacancy"]
    assert len(vacancies) == 3 and all(len(a) in (6, 7) for a in vacancies)  # 8-atom cell minus 1..2
    for _, meta in frames:
        if meta["config_type"] in ("bulk", "shear"):
            assert 0.95 - 1e-9 <= meta["volume_ratio"] <= 1.05 + 1e-9


def test_generator_substitution_makes_an_alloy():
    frames, _ = generate(_recipe(elements=["Al", "Cu"], substitution={"Al": 3, "Cu": 1}, fractions={}), structure_id)
    symbols = [s for a, _ in frames for s in a.get_chemical_symbols()]
    assert 0.1 < symbols.count("Cu") / len(symbols) < 0.4


def test_label_validation_names_what_is_wrong():
    with pytest.raises(HelperError, match="energy is nan"):
        check_label("x.json", 2, float("nan"), [[0, 0, 0], [0, 0, 0]])
    with pytest.raises(HelperError, match="forces"):
        check_label("x.json", 2, -1.0, [[0, 0, 0]])
