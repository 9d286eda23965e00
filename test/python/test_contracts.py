"""The helper contracts seen from the Python side: every command has one; an input shaped the way each
command reads it (SAMPLES, the Python side's expectation) follows the contract generated from the
TypeScript zod schemas, so a contract change on the TypeScript side fails here; real results of the
commands that need no model follow it too, and a result missing a field is refused, so a change on this
side fails here as well (and on the TypeScript side, which parses results with the same zod schemas)."""
import json
import os

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from activities.runtime import contracts
from activities.runtime.commands import COMMANDS
from activities.runtime.protocol import HelperError
from activities.structures.commands import structure_id, write_frames

F = "/runs/x/file.extxyz"
STORE = "/runs/x/store.sqlite"
RECIPE = {"prototype": {"kind": "fcc", "a": 3.6, "cubic": False}, "elements": ["Cu"], "supercell": [2, 1, 1], "count": 3, "seed": 1,
          "min_distance": 1.5, "rattle_sigma": 0.05, "volume_range": [0.97, 1.03], "shear_max": 0.03,
          "fractions": {"shear": 0.3, "vacancy": 0.1, "interstitial": 0, "antisite": 0, "surface": 0}, "max_defects": 1,
          "surface": {"miller": [[1, 0, 0]], "layers": 4, "vacuum": 8}}
LABEL = {"structure_id": "a" * 20, "oracle": "dft", "settings_hash": "k", "energy": -1.0, "forces": [[0, 0, 0]], "stress": [0] * 6,
         "uncertainty": "inf", "flag": "x", "provenance": {"label_file": F}}

# What each command reads, written from the Python side.
SAMPLES = {
    "versions": {},
    "qe-write": {"structure_file": F, "index": 0, "label": "s", "directory": "/d", "pseudo_dir": "/p", "pseudopotentials": {"Si": "Si.UPF"},
                 "input_data": {"control": {"calculation": "scf"}, "system": {"ecutwfc": 20}, "electrons": {"mixing_beta": 0.7}},
                 "kspacing": 0.04, "min_distance": 0.5},
    "qe-read": {"output_file": "/d/espresso.pwo"},
    "mace-eval": {"models": ["/m/a.model"], "structures": F, "output": "/o.extxyz", "device": "cpu"},
    "mace-label": {"kind": "mace", "models": ["/m/a.model", "/m/b.model"], "device": "cpu", "dtype": "float64", "structure_file": F, "start": 0,
                   "ids": ["a" * 20], "store": STORE, "provenance": {"source": "initial_random", "workflow_id": "w"}},
    "mace-score": {"kind": "chgnet", "models": ["/m/a.pt"], "dataset": "/d.extxyz"},
    "mace-sevennet-reference": {"dataset": "/d.extxyz", "output": "/t/sevennet-reference.json", "device": "cpu"},
    "mace-chgnet-finetune": {"foundation": "bundled", "train_file": "/d.extxyz", "output": "/t/chgnet.pt", "seed": 3, "max_epochs": 10, "lr": 0.001,
                             "energy_weight": 100, "batch_size": 4, "valid_fraction": 0.2, "threads": 1},
    "mace-sevennet-finetune": {"foundation": "bundled", "train_file": "/d.extxyz", "output": "/t/sevennet.pt", "seed": 3, "max_epochs": 10, "lr": 0.001,
                               "energy_weight": 100, "batch_size": 4, "valid_fraction": 0.2, "threads": 1},
    "mace-inspect": {"model": "/m/a.model"},
    "mace-prepare-foundation": {"model": "/m/a.model", "output": "/m/b.model", "field": "foundation model"},
    "mace-surrogates": {"parents": [{"structure_file": F, "index": 0, "id": "a" * 20}], "per_structure": 4, "rattle_sigma": 0.03, "strain_max": 0.02,
                        "seed": 1, "min_distance": 1.5, "output": "/o.extxyz"},
    "ace-gamma": {"potential": "/p.yaml", "active_set": "/p.asi", "structures": F, "results": "/r.json", "thresholds": [1.5, 5]},
    "ace-fit-check": {"potential": {"elements": ["Cu"]}, "elements": ["Cu"], "dataset": "/d.pckl.gzip", "test_size": 0.1, "reference_energies": None,
                      "active_set": True, "mode": "auto", "zbl_margin": 0.3},
    "ace-candidates": {"structures": F, "out": "/c.pckl.gzip", "potential": "/p.yaml"},
    "ace-selected": {"candidates": "/c.pckl.gzip", "selected": "/s.pkl.gz", "n": 3, "seed": 0, "fill": True, "potential": "/p.yaml",
                     "active_set": "/p.asi", "output": "/o.extxyz", "report": "/r.json"},
    "ace-replay": {"history": "/h.pckl.gzip", "new": "/n.pckl.gzip", "buffer_size": 15, "seed": 1, "generation": 1, "strategy": "uniform",
                   "training_out": "/t.pckl.gzip", "history_out": "/h.pckl.gzip", "manifest": "/m.json"},
    "md-explore": {"potential": "/p.yaml", "active_set": "/p.asi", "structures": F, "temperatures": [300], "pressures": [0], "steps": 10,
                   "timestep_fs": 1.0, "gamma_select": 1.5, "gamma_halt": 5, "max_atoms_dft": 64, "supercell": [1, 1, 1], "min_distance": 1.5,
                   "seed": 1, "sample_interval": 10, "output": "/o.extxyz", "ensemble": "npt", "uncertain_count": 2,
                   "uncertain_from": "/t.pckl.gzip", "threads": 2, "frames_output": "/f.extxyz"},
    "md-lammps": {"dir": "/p", "potential": "/p/potential.yaml", "yace": "/p/potential.yace", "active_set": "/p/potential.asi", "dataset": "/t.pckl.gzip"},
    "md-engine-info": {},
    "evaluation-score": {"potential": "/p.yaml", "data": F, "results": "/r.json", "plot_dir": "/plots", "group_key": "config_type",
                         "energy_key": "REF_energy", "forces_key": "REF_forces", "stress_key": "REF_stress", "title": "t", "device": "cpu"},
    "structures-generate": {**RECIPE, "output": F, "return_ids": True,
                            "insert": {"store": STORE, "source": "initial_random", "generation": 0, "on_duplicate": "skip"}},
    "structures-index": {"input": "/POSCAR", "output": F},
    "structures-subset": {"structure_file": F, "indices": [0, 2], "output": "/o.extxyz"},
    "store-insert": {"store": STORE, "file": F, "source": "md_halt", "generation": 1, "min_distance": 0.5, "on_duplicate": "error", "return_ids": False},
    "store-add-labels": {"store": STORE, "labels": [LABEL], "label_files": ["/dft/a/label-k.json"], "on_duplicate": "skip"},
    "store-query": {"store": STORE, "generation_max": 2, "oracle": "dft", "label_state": "labelled", "limit": 100},
    "store-structures": {"store": STORE, "output": F, "ids": ["a" * 20]},
    "store-labels": {"store": STORE, "ids": ["a" * 20]},
    "store-info": {"store": STORE},
    "store-record": {"store": STORE, "file": F, "indices": [0], "source": "dft", "generation": 0, "min_distance": 0.5, "labels": [LABEL],
                     "on_duplicate": "error"},
    "store-label": {"store": STORE, "structure_id": "a" * 20, "oracle": "dft", "settings_hash": "k"},
    "store-members": {"store": STORE, "set": "training", "generation": 0, "members_file": "/m.json", "weight": 0.3},
    "dataset-export": {"store": STORE, "sets": ["training"], "set_generation_max": 1, "oracles": ["dft"], "pckl": "/t.pckl.gzip",
                       "test_fraction": 0, "require_stress": False,
                       "define": {"set": "training", "generation": 1, "members": [{"id": "a" * 20, "oracle": "dft", "settings_hash": "k", "weight": 1}]}},
    "dataset-import": {"store": STORE, "file": F, "oracle": "emt", "min_distance": 0.5, "on_duplicate": "error", "require_stress": False},
    "dataset-info": {"file": "/t.pckl.gzip"},
    "safety-describe": RECIPE,
    "report-collect": {"store": STORE, "ids": ["a" * 20], "candidates": {"1": "/runs/x/exploration/gen-1/candidates.extxyz"}},
    "report-history": {"stores": [STORE], "structure_id": "a" * 8},
    "report-plots": {"out_dir": "/runs/x/report/figures", "figures": [
        {"name": "learning-forces", "kind": "lines", "title": "t", "xlabel": "DFT", "ylabel": "RMSE", "series": [{"label": "a", "x": [1, 2], "y": [3, None]}]},
        {"name": "gamma-gen-1", "kind": "histogram", "title": "t", "values": [1.2, 3.4], "vlines": [{"x": 2, "label": "select"}]}]},
}


def test_every_command_has_a_contract_and_a_sample():
    files = {f[:-5] for f in os.listdir(contracts.contracts_dir()) if f.endswith(".json")}
    assert files == set(COMMANDS), f"contracts without a command: {files - set(COMMANDS)}; commands without a contract: {set(COMMANDS) - files}"
    assert set(SAMPLES) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_what_python_reads_follows_the_contract(command):
    contracts.check_input(command, SAMPLES[command])


def test_an_input_that_breaks_the_contract_is_refused_naming_the_field():
    with pytest.raises(HelperError) as err:
        contracts.check_input("store-label", {"store": STORE, "structureId": "a", "oracle": "dft", "settings_hash": "k"})
    assert err.value.type == "InvalidInput"
    assert "structure_id" in err.value.message and "structureId" in err.value.message


def test_a_result_missing_a_field_is_refused():
    with pytest.raises(HelperError) as err:
        contracts.check_result("store-query", {"count": 1, "ids": ["a"]})
    assert err.value.type == "HelperFailed" and "truncated" in err.value.message


def test_real_results_of_the_store_and_dataset_commands_follow_their_contracts(tmp_path):
    """Through contracts.run, as both entry points call a command: input and result are validated."""
    store = str(tmp_path / "store.sqlite")
    gen = contracts.run("structures-generate", {**RECIPE, "output": str(tmp_path / "g.extxyz"), "return_ids": True,
                                                "insert": {"store": store, "source": "initial_random", "generation": 0, "on_duplicate": "error"}})
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(2):
        a = bulk("Cu", "fcc", a=3.6).repeat((2, 1, 1))
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        frames.append((a, {"structure_id": structure_id(a)}))
    f = str(tmp_path / "s.extxyz")
    write_frames(f, frames)
    labels = []
    for a, info in frames:
        b = a.copy()
        b.calc = EMT()
        labels.append({"structure_id": info["structure_id"], "oracle": "dft", "settings_hash": "k", "energy": b.get_potential_energy(),
                       "forces": b.get_forces().tolist(), "stress": b.get_stress().tolist()})
    contracts.run("store-record", {"store": store, "file": f, "min_distance": 0.5, "labels": labels, "on_duplicate": "error"})
    ids = [i["structure_id"] for _, i in frames]
    contracts.run("store-label", {"store": store, "structure_id": ids[0], "oracle": "dft", "settings_hash": "k"})
    contracts.run("store-members", {"store": store, "set": "t", "generation": 0, "members": [{"id": i, "oracle": "dft", "settings_hash": "k"} for i in ids]})
    contracts.run("store-query", {"store": store, "oracle": "dft", "limit": 10})
    contracts.run("store-labels", {"store": store, "ids": ids})
    contracts.run("store-info", {"store": store})
    contracts.run("store-structures", {"store": store, "output": str(tmp_path / "m.extxyz"), "ids": ids})
    contracts.run("structures-subset", {"structure_file": gen["output"], "indices": [0], "output": str(tmp_path / "sub.extxyz")})
    contracts.run("structures-index", {"input": f, "output": str(tmp_path / "i.extxyz")})
    out = contracts.run("dataset-export", {"store": store, "sets": ["t"], "oracles": ["dft"], "pckl": str(tmp_path / "t.pckl.gzip"),
                                           "extxyz": str(tmp_path / "t.extxyz"), "test_fraction": 0, "require_stress": False})
    contracts.run("dataset-info", {"file": out["files"][0]["path"]})
    contracts.run("report-collect", {"store": store, "ids": ids, "candidates": {}})
    hist = contracts.run("report-history", {"stores": [store], "structure_id": ids[0]})
    assert [m["set_name"] for m in hist["structure"]["sets"]] == ["t"]
    assert json.loads(json.dumps(out))["count"] == 2
