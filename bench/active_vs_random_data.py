"""Data steps of bench/active-vs-random.ts (Python only where ASE/pandas are needed).

    pools RUN_DIR OUT_DIR         the campaign's candidate pools as extxyz with structure ids:
                                  OUT_DIR/generated.extxyz (generation-0 candidates),
                                  OUT_DIR/md.extxyz (every generation's MD candidates, by temperature);
                                  prints counts
    campaign RUN_DIR OUT.extxyz   the campaign's DFT labels in the order it paid for them (validation
                                  labels excluded), from the run's store
    pick POOL.extxyz N SEED OUT   N structures of POOL in a seeded random order (the order is the budget
                                  ladder: the first B of them are the arm at budget B)
    pckl IN.extxyz N OUT          the first N labelled structures of IN as a Pacemaker DataFrame
"""
import glob
import json
import os
import sys

import numpy as np
import pandas as pd
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from activities.store.dataset_files import extxyz_rows  # noqa: E402
from activities.store.store import Store  # noqa: E402
from activities.structures.commands import structure_id  # noqa: E402


def _with_ids(frames, pool):
    out = []
    for a in frames:
        a = a.copy()
        a.calc = None
        a.info = {"structure_id": structure_id(a), "pool": pool, **({"temperature": a.info["temperature"]} if "temperature" in a.info else {})}
        out.append(a)
    return out


def pools(run, out):
    os.makedirs(out, exist_ok=True)
    gen = sorted(glob.glob(os.path.join(run, "structures", "gen-0-candidates*.extxyz")))
    md = sorted(glob.glob(os.path.join(run, "exploration", "gen-*", "candidates*.extxyz")))
    generated = _with_ids([a for f in gen for a in read(f, ":")], "generated")
    mdf = _with_ids([a for f in md for a in read(f, ":")], "md")
    seen, uniq = set(), {"generated": [], "md": []}
    for a in generated + mdf:
        if a.info["structure_id"] not in seen:
            seen.add(a.info["structure_id"])
            uniq[a.info["pool"]].append(a)
    for k, frames in uniq.items():
        write(os.path.join(out, f"{k}.extxyz"), frames, format="extxyz")
    temps = {}
    for a in uniq["md"]:
        t = str(a.info.get("temperature", "?"))
        temps[t] = temps.get(t, 0) + 1
    print(json.dumps({"generated": len(uniq["generated"]), "md": len(uniq["md"]), "md_by_temperature": temps,
                      "files": {k: os.path.join(out, f"{k}.extxyz") for k in uniq}}))


def campaign(run, out):
    """Every DFT label the campaign paid for and trained on (teacher seeds included, validation labels
    excluded), in the order it paid for them: from the run's store, the one source of labels."""
    st = Store(os.path.join(run, "store.sqlite"), create=False)
    try:
        rows = []
        for sid, atoms, prov, lab in st.iter_labelled({}, ["dft"]):
            if prov.get("split") == "validation":
                continue
            atoms.calc = SinglePointCalculator(atoms, energy=float(lab["energy"]), forces=np.asarray(lab["forces"], dtype=float))
            atoms.info["structure_id"] = sid
            rows.append((st.label(sid, "dft", lab["settings_hash"])["created_at"], sid, atoms))
    finally:
        st.close()
    rows.sort(key=lambda r: (r[0], r[1]))
    write(out, [a for _, _, a in rows], format="extxyz")
    print(json.dumps({"count": len(rows), "file": out}))


def pick(pool, n, seed, out):
    frames = read(pool, ":")
    order = np.random.default_rng(int(seed)).permutation(len(frames))[: int(n)]
    write(out, [frames[i] for i in order], format="extxyz")
    print(json.dumps({"count": len(order), "pool": len(frames), "file": out}))


def pckl(src, n, out):
    rows = []
    for _where, atoms, energy, forces, _stress, _meta in extxyz_rows(src):
        rows.append({"name": structure_id(atoms), "ase_atoms": atoms, "energy": float(energy), "forces": np.asarray(forces, dtype=float)})
        if len(rows) == int(n):
            break
    pd.DataFrame(rows).to_pickle(out, compression="gzip", protocol=4)
    print(json.dumps({"count": len(rows), "file": out}))


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"pools": pools, "campaign": campaign, "pick": pick, "pckl": pckl}[cmd](*args)
