"""Training sets of one campaign run with and without the teacher's data, for bench/teacher-ablation.ts.

    .venv/bin/python bench/teacher_ablation_data.py RUN_DIR OUT_DIR

From RUN_DIR: every DFT label the campaign paid for (datasets/dft-history.json: teacher seeds included,
validation labels excluded), and the teacher's labels it trained on (datasets/ace-history.pckl.gzip,
rows whose oracle is not dft: the distilled generation-0 labels and the surrogates, each with the weight
the campaign gave it). Writes OUT_DIR/{dft,dft+teacher,dft+teacher+surrogates}.pckl.gzip (the variants
that differ from the previous one only) and prints their counts as JSON.
"""
import json
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from activities.store.dataset_files import read_pckl  # noqa: E402
from activities.store.datasets import write_dataset  # noqa: E402


def main():
    run, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(run, "datasets", "dft-history.json")) as fh:
        entries = [e for e in json.load(fh) if e.get("split") != "validation"]
    dft_file = os.path.join(out, "dft.pckl.gzip")
    write_dataset({"entries": [{k: e[k] for k in ("structure_file", "index", "label_file", "name")} for e in entries], "pckl": dft_file})
    dft = read_pckl(dft_file)
    dft["w_factor"] = 1.0
    hist = read_pckl(os.path.join(run, "datasets", "ace-history.pckl.gzip"))
    teacher = hist[hist["oracle"] != "dft"]
    surrogate = teacher["config_type"].astype(str) == "surrogate"
    counts = {"dft": len(dft), "teacher": int((~surrogate).sum()), "surrogates": int(surrogate.sum())}
    variants = {"dft": dft}
    if counts["teacher"]:
        variants["dft+teacher"] = pd.concat([dft, teacher[~surrogate]], ignore_index=True)
    if counts["surrogates"]:
        variants["dft+teacher+surrogates"] = pd.concat([dft, teacher], ignore_index=True)
    files = {}
    for name, df in variants.items():
        if "w_factor" in df:
            df["w_factor"] = df["w_factor"].fillna(1.0).astype(float)
        path = os.path.join(out, f"{name}.pckl.gzip")
        df.to_pickle(path, compression="gzip", protocol=4)
        files[name] = path
    print(json.dumps({"counts": counts, "files": files, "weights": {k: sorted(set(map(float, v["w_factor"]))) for k, v in variants.items()}}))


if __name__ == "__main__":
    main()
