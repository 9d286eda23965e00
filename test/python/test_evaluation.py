"""The error statistics behind `autopipe evaluate` and the campaign's validation set, and how labelled files
are read: known inputs, hand-computed answers."""
import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from activities.evaluation.evaluate import read_labelled
from activities.evaluation.metrics import EV_A3_TO_GPA, element_offsets, grouped, summarize
from activities.evaluation.predictors import ace_reference_energies
from activities.runtime.protocol import HelperError
from activities.store.dataset_files import ExtxyzSink


def record(group, counts, de, df, f_ref=None, ds=None):
    n = sum(counts.values())
    df = np.asarray(df, dtype=float).reshape(n, 3)
    return {"group": group, "natoms": n, "counts": counts, "de": de, "df": df,
            "f_ref": np.ones((n, 3)) if f_ref is None else f_ref, "ds": ds}


def test_one_element_offset_is_the_mean_per_atom_error_and_removing_it_leaves_the_spread():
    recs = [record("a", {"Si": 2}, 0.2, np.zeros(6)), record("b", {"Si": 4}, 0.0, np.zeros(12))]
    off = element_offsets(recs, ["Si"])
    assert off["Si"] == pytest.approx((0.1 + 0.0) / 2)
    m = summarize(recs, off)
    assert m["energy_rmse_mev_atom"] == pytest.approx(np.sqrt((100**2 + 0) / 2))
    assert m["energy_mae_mev_atom"] == pytest.approx(50)
    assert m["energy_rmse_mev_atom_offset"] == pytest.approx(50)
    assert m["energy_max_mev_atom_offset"] == pytest.approx(50)


def test_two_element_offsets_are_recovered_exactly_by_least_squares():
    # errors made of per-element constants only: after the fitted offsets nothing is left
    true = {"Al": 0.3, "Cu": -0.1}
    recs = []
    for na, nc in ((1, 3), (2, 2), (3, 1), (4, 4)):
        recs.append(record("x", {"Al": na, "Cu": nc}, na * true["Al"] + nc * true["Cu"], np.zeros(3 * (na + nc))))
    off = element_offsets(recs, ["Al", "Cu"])
    assert off["Al"] == pytest.approx(0.3) and off["Cu"] == pytest.approx(-0.1)
    assert summarize(recs, off)["energy_rmse_mev_atom_offset"] == pytest.approx(0, abs=1e-9)


def test_force_and_stress_statistics_over_components_with_units():
    df = np.array([[0.03, -0.04, 0.0], [0.0, 0.0, 0.0]])
    ds = np.array([0.001, 0, 0, 0, 0, 0])
    m = summarize([record("x", {"Si": 2}, 0.0, df, ds=ds)], {"Si": 0.0})
    assert m["forces_rmse_mev_a"] == pytest.approx(np.sqrt((30**2 + 40**2) / 6))
    assert m["forces_mae_mev_a"] == pytest.approx(70 / 6)
    assert m["forces_max_mev_a"] == pytest.approx(40)
    assert m["forces_ref_rms_mev_a"] == pytest.approx(1000)
    assert m["stress_rmse_gpa"] == pytest.approx(np.sqrt(EV_A3_TO_GPA**2 * 1e-6 / 6))
    assert m["n_stress"] == 1


def test_groups_share_the_offset_fitted_over_all_structures():
    recs = [record("md", {"Si": 1}, 0.1, np.zeros(3)), record("vacancy", {"Si": 1}, 0.3, np.zeros(3))]
    g = grouped(recs)
    assert g["offsets_ev_atom"]["Si"] == pytest.approx(0.2)
    assert set(g["by_group"]) == {"md", "vacancy"}
    assert g["by_group"]["md"]["energy_rmse_mev_atom_offset"] == pytest.approx(100)
    assert g["by_group"]["vacancy"]["energy_rmse_mev_atom"] == pytest.approx(300)
    assert g["overall"]["n_structures"] == 2


def labelled(n=3):
    out = []
    for i in range(n):
        a = bulk("Si", "diamond", a=5.43, cubic=True)
        a.rattle(0.02, seed=i)
        out.append((a, -860.0 - i, np.full((8, 3), 0.1 * i), np.arange(6) * 1e-3))
    return out


def test_reads_ase_calculator_keys_and_groups_by_config_type(tmp_path):
    frames = []
    for k, (a, e, f, s) in enumerate(labelled()):
        a.calc = SinglePointCalculator(a, energy=e, forces=f, stress=s)
        a.info["config_type"] = ["md", "md", "strain"][k]
        frames.append(a)
    write(tmp_path / "x.extxyz", frames, format="extxyz")
    rows = read_labelled(str(tmp_path / "x.extxyz"))
    assert [r[4] for r in rows] == ["md", "md", "strain"]
    assert rows[2][1] == -862.0 and rows[2][2][0, 0] == pytest.approx(0.2)
    assert np.allclose(rows[1][3], np.arange(6) * 1e-3)


def test_reads_the_dataset_writers_ref_keys_without_config_type(tmp_path):
    sink = ExtxyzSink(str(tmp_path / "d.extxyz"))
    for k, (a, e, f, s) in enumerate(labelled(2)):
        sink.add(f"s{k}", a, e, f, s, {}, "test")
    sink.close()
    rows = read_labelled(str(tmp_path / "d.extxyz"))
    assert [r[4] for r in rows] == ["unlabelled", "unlabelled"]  # the writer's "Default" means none
    assert rows[1][1] == -861.0


def test_refuses_pickles_and_missing_files_with_a_clear_error(tmp_path):
    with pytest.raises(HelperError, match="not found"):
        read_labelled(str(tmp_path / "none.extxyz"))
    p = tmp_path / "d.pckl.gzip"
    p.write_bytes(b"x")
    with pytest.raises(HelperError, match="pickled DataFrames are code"):
        read_labelled(str(p))


def test_pacemaker_reference_energies_come_from_the_yaml_metadata_also_for_a_yace(tmp_path):
    ref = {"Si": -108.18, "shift": 0.0095}
    (tmp_path / "potential.yaml").write_text("metadata:\n  reference_energy: " + json.dumps(json.dumps(ref)) + "\nelements: [Si]\n")
    (tmp_path / "potential.yace").write_text("elements: [Si]\n")
    assert ace_reference_energies(str(tmp_path / "potential.yaml")) == ref
    assert ace_reference_energies(str(tmp_path / "potential.yace")) == ref
    (tmp_path / "bare.yace").write_text("elements: [Si]\n")
    assert ace_reference_energies(str(tmp_path / "bare.yace")) is None


def test_sevennet_refuses_a_process_that_already_loaded_maces_e3nn():
    # MACE pins e3nn 0.4.4; SevenNet needs 0.5 from its overlay: one process cannot hold both.
    import subprocess
    import sys

    code = ("import e3nn\nfrom activities.mace.sevennet_engine import sevennet_oracle\n"
            "from activities.runtime.protocol import HelperError\n"
            "try:\n    sevennet_oracle()\nexcept HelperError as err:\n    print('refused:', err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "refused:" in out.stdout and "e3nn 0.4" in out.stdout and "own helper process" in out.stdout, out.stdout + out.stderr
