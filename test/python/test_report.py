"""The report's Python helpers: figures from numbers, store counts per generation, one structure's history."""
import numpy as np
import pytest
from ase.build import bulk

from activities.report.collect import collect, history
from activities.report.plots import plots
from activities.runtime.protocol import HelperError
from activities.store.store import Store
from activities.structures.commands import structure_id, write_frames

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_figure_kind_is_a_png(tmp_path):
    figures = [
        {"name": "lc", "kind": "lines", "title": "t", "xlabel": "DFT calls", "ylabel": "RMSE",
         "series": [{"label": "val", "x": [6, 9, 12], "y": [120, None, 80], "annotate": ["gen 0", "gen 1", "gen 2"]}]},
        {"name": "pe", "kind": "parity", "title": "t", "unit": "eV/atom", "series": [{"label": "gen 1", "ref": [1.0, 2.0, 3.0], "pred": [1.1, 1.9, 3.2]}]},
        {"name": "gh", "kind": "histogram", "title": "t", "xlabel": "gamma", "values": [1.2, 2.5, float("inf"), 4.0],
         "vlines": [{"x": 2, "label": "select"}, {"x": 5, "label": "halt"}]},
    ]
    files = plots({"out_dir": str(tmp_path), "figures": figures})
    assert sorted(files) == ["gh", "lc", "pe"]
    for f in files.values():
        assert open(f, "rb").read(8) == PNG


def test_a_bad_figure_is_a_typed_error(tmp_path):
    with pytest.raises(HelperError, match="kind must be one of"):
        plots({"out_dir": str(tmp_path), "figures": [{"name": "../x", "kind": "lines"}]})
    with pytest.raises(HelperError, match="2 reference values but 1 predictions"):
        plots({"out_dir": str(tmp_path), "figures": [{"name": "p", "kind": "parity", "series": [{"ref": [1, 2], "pred": [1]}]}]})


def _store(tmp_path):
    """Three structures over two generations: a seed with a DFT label, its surrogate child with a MACE label."""
    path = str(tmp_path / "store.sqlite")
    st = Store(path)
    a = bulk("Si", "diamond", a=5.43, cubic=True)
    b = a.copy()
    b.positions[0] += 0.05
    c = a.copy()
    c.positions[1] += 0.07
    ids = [structure_id(x) for x in (a, b, c)]
    st.insert_structures([
        (ids[0], a, {"source": "teacher_seed", "generation": 0}),
        (ids[1], b, {"source": "surrogate", "generation": 1, "parent_id": ids[0]}),
        (ids[2], c, {"source": "md_select", "generation": 1}),
    ])
    forces = np.zeros((8, 3))
    forces[0] = [0.3, 0.4, 0.0]
    st.add_labels([
        {"structure_id": ids[0], "oracle": "dft", "settings_hash": "k1", "energy": -860.0, "forces": forces, "stress": np.zeros(6),
         "provenance": {"attempt": 2, "rung": "beta-0.3-local-TF", "workflow_id": "c/gen-0/teacher/dft", "activity_id": "4"}},
        {"structure_id": ids[1], "oracle": "mace", "settings_hash": "m1", "energy": -859.0, "forces": forces, "stress": None, "uncertainty": 0.02},
    ])
    st.close()
    return path, ids


def test_collect_counts_structures_and_labels_per_generation(tmp_path):
    path, ids = _store(tmp_path)
    frames = bulk("Si", "diamond", a=5.43, cubic=True)
    cand = str(tmp_path / "candidates.extxyz")
    write_frames(cand, [(frames, {"gamma_max": 3.5, "structure_id": structure_id(frames)})])
    out = collect({"store": path, "ids": [ids[0], "nope"], "candidates": {"0": cand, "1": str(tmp_path / "missing.extxyz")}})
    assert out["store"] is True
    assert out["by_generation"] == {
        "0": {"by_source": {"teacher_seed": 1}, "by_oracle": {"dft": 1}},
        "1": {"by_source": {"surrogate": 1, "md_select": 1}, "by_oracle": {"mace": 1}},
    }
    assert out["provenance"] == {ids[0]: {"source": "teacher_seed", "generation": 0, "parent_id": None}}
    assert out["gamma"] == {"0": [3.5], "1": []}


def test_collect_without_a_store_says_so(tmp_path):
    assert collect({"store": str(tmp_path / "none.sqlite")})["store"] is False
    assert not (tmp_path / "none.sqlite").exists()


def test_history_of_a_structure_by_prefix_with_labels_parents_and_children(tmp_path):
    path, ids = _store(tmp_path)
    h = history({"stores": [path], "structure_id": ids[1][:8]})
    s = h["structure"]
    assert s["structure_id"] == ids[1] and s["source"] == "surrogate" and s["parent_id"] == ids[0]
    assert [(x["oracle"], x["uncertainty"]) for x in s["labels"]] == [("mace", 0.02)]
    assert s["labels"][0]["max_force"] == pytest.approx(0.5)
    assert [a["structure_id"] for a in h["ancestors"]] == [ids[0]]
    seed = history({"stores": [path], "structure_id": ids[0]})["structure"]
    assert seed["children"] == [{"structure_id": ids[1], "source": "surrogate", "generation": 1}]
    assert seed["labels"][0]["provenance"]["rung"] == "beta-0.3-local-TF"


def test_history_refuses_unknown_and_malformed_ids(tmp_path):
    path, _ = _store(tmp_path)
    with pytest.raises(HelperError, match="no structure 'abcdef12'"):
        history({"stores": [path], "structure_id": "abcdef12"})
    with pytest.raises(HelperError, match="unique prefix of at least 6"):
        history({"stores": [path], "structure_id": "xyz"})
