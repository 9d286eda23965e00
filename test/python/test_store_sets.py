"""The store as the single source of labels: an oracle records structures and labels in one transaction,
labels are looked up by key, named sets pin exact labels with weights, and datasets are exports of sets."""
import json

import numpy as np
import pandas as pd
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import read

from activities.runtime.protocol import HelperError
from activities.store import commands, datasets
from activities.store.store import Store
from activities.structures.commands import structure_id, write_frames


@pytest.fixture()
def run(tmp_path):
    rng = np.random.default_rng(1)
    frames = []
    for _ in range(4):
        a = bulk("Cu", "fcc", a=3.6).repeat((2, 1, 1))
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        frames.append((a, {"structure_id": structure_id(a), "source": "initial_random"}))
    f = tmp_path / "s.extxyz"
    write_frames(str(f), frames)
    labels = []
    for a, info in frames:
        a = a.copy()
        a.calc = EMT()
        labels.append({"structure_id": info["structure_id"], "oracle": "dft", "settings_hash": "k1", "energy": a.get_potential_energy(),
                       "forces": a.get_forces().tolist(), "stress": a.get_stress().tolist()})
    return {"store": str(tmp_path / "store.sqlite"), "file": str(f), "ids": [i["structure_id"] for _, i in frames], "labels": labels, "dir": tmp_path}


def test_record_is_one_idempotent_write_and_the_label_is_found_by_key(run):
    out = commands.record({"store": run["store"], "file": run["file"], "indices": [0, 1], "generation": 2, "labels": run["labels"][:2]})
    assert out["structures"] == {"inserted": 2, "existing": 0, "skipped": 0}
    assert out["labels"]["inserted"] == 2
    again = commands.record({"store": run["store"], "file": run["file"], "indices": [0, 1], "generation": 2, "labels": run["labels"][:2]})
    assert again["structures"]["existing"] == 2 and again["labels"]["existing"] == 2
    found = commands.label({"store": run["store"], "structure_id": run["ids"][0], "oracle": "dft", "settings_hash": "k1"})["label"]
    assert found["energy"] == pytest.approx(run["labels"][0]["energy"])
    assert commands.label({"store": run["store"], "structure_id": run["ids"][2], "oracle": "dft", "settings_hash": "k1"})["label"] is None
    assert commands.label({"store": str(run["dir"] / "none.sqlite"), "structure_id": "x", "oracle": "dft", "settings_hash": "k1"})["label"] is None


def test_a_failure_flag_is_replaced_by_a_newer_flag_and_then_by_the_real_label(run):
    flag = {"structure_id": run["ids"][3], "oracle": "dft", "settings_hash": "k1", "flag": "failed after 4 attempts: A"}
    commands.record({"store": run["store"], "file": run["file"], "indices": [3], "labels": [flag]})
    commands.record({"store": run["store"], "file": run["file"], "indices": [3], "labels": [{**flag, "flag": "failed after 4 attempts: B"}]})
    assert commands.label({"store": run["store"], "structure_id": run["ids"][3], "oracle": "dft", "settings_hash": "k1"})["label"]["flag"].endswith("B")
    out = commands.record({"store": run["store"], "file": run["file"], "indices": [3], "labels": [run["labels"][3]]})
    assert out["labels"]["replaced"] == 1


def test_sets_pin_exact_labels_with_weights_and_export_them(run):
    commands.record({"store": run["store"], "file": run["file"], "labels": run["labels"]})
    members = [{"id": i, "oracle": "dft", "settings_hash": "k1", "config_type": "dft"} for i in run["ids"][:3]]
    mfile = run["dir"] / "m.json"
    mfile.write_text(json.dumps({"members": members[2:]}))
    commands.add_members({"store": run["store"], "set": "training", "generation": 0, "members": members[:2], "weight": 0.3})
    pckl, xyz = str(run["dir"] / "t.pckl.gzip"), str(run["dir"] / "t.extxyz")
    r = datasets.export({"store": run["store"], "sets": ["training"], "define": {"set": "training", "generation": 1, "members_file": str(mfile)},
                         "pckl": pckl, "extxyz": xyz})
    assert r["count"] == 3
    df = pd.read_pickle(pckl, compression="gzip")
    assert list(df["name"]) == run["ids"][:3]
    assert list(df["w_factor"]) == [0.3, 0.3, 1.0]
    assert [a.info["config_weight"] for a in read(xyz, ":")] == [0.3, 0.3, 1.0]
    only1 = datasets.export({"store": run["store"], "sets": ["training"], "set_generation_min": 1, "pckl": pckl})
    assert only1["count"] == 1
    with pytest.raises(HelperError, match="has no dft label with settings nope"):
        commands.add_members({"store": run["store"], "set": "x", "generation": 0, "members": [{"id": run["ids"][0], "oracle": "dft", "settings_hash": "nope"}]})
    with pytest.raises(HelperError, match="dataset would be empty: no labelled member"):
        datasets.export({"store": run["store"], "sets": ["nothing"], "pckl": pckl})


def test_validation_structures_never_join_a_training_set_and_export_on_their_own(run):
    commands.record({"store": run["store"], "file": run["file"], "labels": run["labels"]})
    m = lambda ids, oracle="dft": [{"id": i, "oracle": oracle, "settings_hash": "k1"} for i in ids]  # noqa: E731
    commands.add_members({"store": run["store"], "set": "validation", "generation": 0, "members": m(run["ids"][:2])})
    commands.add_members({"store": run["store"], "set": "training", "generation": 0, "members": m(run["ids"][2:3])})
    # a validation structure is refused by every set a fit reads, whichever path adds it; nothing is written
    for name in ("training", "teacher-gen-1-finetune"):
        with pytest.raises(HelperError, match="in the validation set and are never trained on"):
            commands.add_members({"store": run["store"], "set": name, "generation": 1, "members": m(run["ids"][1:4])})
    # a structure already trained on cannot become validation
    with pytest.raises(HelperError, match="already training data"):
        commands.add_members({"store": run["store"], "set": "validation", "generation": 1, "members": m(run["ids"][2:4])})
    # ... unless the caller asks for the trained ones to be left out (a DFT pick that was teacher training data)
    r = commands.add_members({"store": run["store"], "set": "validation", "generation": 1, "members": m(run["ids"][2:4]), "skip_trained": True})
    assert r == {"set": "validation", "count": 1, "skipped": [run["ids"][2]]}
    assert run["ids"][2] not in Store(run["store"], create=False).validation_ids(run["ids"])
    assert run["ids"][3] in Store(run["store"], create=False).validation_ids(run["ids"])
    xyz = str(run["dir"] / "v.extxyz")
    # the validation set exports into the one file asked for (test_fraction 0), its split recorded
    v = datasets.export({"store": run["store"], "sets": ["validation"], "extxyz": xyz})
    assert v["count"] == 3 and sorted(a.info["structure_id"] for a in read(xyz, ":")) == sorted(run["ids"][:2] + run["ids"][3:4])
    t = datasets.export({"store": run["store"], "sets": ["training"], "extxyz": xyz})
    assert t["count"] == 1 and [a.info["structure_id"] for a in read(xyz, ":")] == run["ids"][2:3]
    # set_oracles keeps only those oracles' members (a fit without the teacher's labels)
    with pytest.raises(HelperError, match="dataset would be empty"):
        datasets.export({"store": run["store"], "sets": ["training"], "set_oracles": ["mace"], "extxyz": xyz})
    assert datasets.export({"store": run["store"], "sets": ["training"], "set_oracles": ["dft"], "extxyz": xyz})["count"] == 1
