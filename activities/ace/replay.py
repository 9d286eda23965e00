"""Replay buffer for incremental refits.

The history is a Pacemaker DataFrame of every labelled structure so far (one row per `name`). A refit
trains on all new structures plus a replayed sample of the older history, so that the training set has
`buffer_size` rows (or all new rows, if they alone reach it); history grows by the new rows.

  uniform:   numpy's default_rng([seed, generation]) without replacement: reproducible per generation.
  d-optimal: pyace's MaxVol structure selection (what pace_select runs) over the older history with the
             previous potential; the most informative structures first, topped up uniformly.

Idempotent: rows of the new dataset replace same-named history rows, so a retried call after a crash
that already wrote the history gives the same training set and history.
"""
import json
import os

import numpy as np
import pandas as pd

from activities.ace.common import read_dataframe, write_dataframe
from activities.runtime.protocol import HelperError


def _dopt(old, k, potential, rng):
    from pyace import BBasisConfiguration
    from pyace.aceselect import select_structures_maxvol

    if not potential or not os.path.isfile(potential):
        raise HelperError("InvalidInput", "training.replay_selection 'd-optimal' needs the previous generation's potential (.yaml); none was found")
    sel = select_structures_maxvol(old, BBasisConfiguration(potential), extra_A0_projections_dict=None,
                                   max_structures=k, verbose=False)
    picked = [int(i) for i in sel.index][:k]
    if len(picked) < k:
        rest = np.setdiff1d(np.arange(len(old)), picked)
        picked += [int(i) for i in rng.choice(rest, size=k - len(picked), replace=False)]
    return picked


def _fill_weights(df):
    """Rows without per-structure weights get the datasets' default (w_energy 1, w_forces 1 per atom).

    Pacemaker uses w_energy/w_forces whenever both columns exist; a history that mixes weighted
    (surrogate) and unweighted (DFT) generations would otherwise hand it NaN weights.
    """
    if "w_factor" in df.columns:  # a DFT generation without factors mixed with weighted teacher data
        df = df.assign(w_factor=df["w_factor"].astype(float).fillna(1.0))
    if "w_energy" not in df.columns and "w_forces" not in df.columns:
        return df
    df = df.copy()
    if "w_energy" not in df.columns:
        df["w_energy"] = 1.0
    df["w_energy"] = df["w_energy"].astype(float).fillna(1.0)
    wf = df["w_forces"] if "w_forces" in df.columns else pd.Series([None] * len(df), index=df.index)
    df["w_forces"] = [w if isinstance(w, (list, np.ndarray)) else np.ones(len(a)) for w, a in zip(wf, df["ase_atoms"])]
    return df


def replay(p):
    """Input: history (pckl.gzip, may be absent), new (pckl.gzip), buffer_size, seed, generation,
    strategy, potential, training_out, history_out, manifest."""
    new = read_dataframe(p["new"], "new dataset")
    if "name" not in new.columns or new["name"].duplicated().any():
        raise HelperError("InvalidInput", f"new dataset {p['new']} needs a unique 'name' per structure (the structure id) for the history")
    generation = int(p.get("generation", 0))
    new = new.assign(generation_added=generation)
    if p.get("history") and os.path.isfile(p["history"]):
        history = read_dataframe(p["history"], "history")
        old = history[~history["name"].isin(set(new["name"]))].reset_index(drop=True)
    else:
        old = new.iloc[0:0]
    buffer_size = int(p["buffer_size"])
    k = max(0, min(len(old), buffer_size - len(new)))
    rng = np.random.default_rng([int(p["seed"]), generation])
    if k == len(old):
        picked = list(range(len(old)))
    elif p.get("strategy", "uniform") == "d-optimal":
        picked = sorted(_dopt(old, k, p.get("potential"), rng))
    else:
        picked = sorted(int(i) for i in rng.choice(len(old), size=k, replace=False))
    training = _fill_weights(pd.concat([old.iloc[picked], new], axis=0, ignore_index=True))
    history_out = _fill_weights(pd.concat([old, new], axis=0, ignore_index=True))
    write_dataframe(training, p["training_out"])
    write_dataframe(history_out, p["history_out"])
    manifest = {"generation": generation, "strategy": p.get("strategy", "uniform"), "buffer_size": buffer_size,
                "new": list(new["name"]), "replayed": list(old["name"].iloc[picked]) if k else []}
    tmp = p["manifest"] + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(manifest, fh, indent=1)
    os.replace(tmp, p["manifest"])
    return {"training": len(training), "history": len(history_out), "new": len(new), "replayed": k,
            "history_before": len(old)}
