"""The teacher's variants of bench/teacher-ablation.ts, composed from two exports of the run's store.

    .venv/bin/python bench/teacher_ablation_data.py DFT.pckl.gzip TRAINING.pckl.gzip OUT_DIR [TEACHER.pckl.gzip WEIGHT]

DFT.pckl.gzip is the variant "dft": every DFT label the campaign paid for (exportDataset by filter, which
leaves the validation structures out). TRAINING.pckl.gzip is the campaign's training set (exportDataset of
the set "training": the exact labels its fits read, at the weights it gave them; the store never lets a
validation structure in). Python only for the DataFrames: an export cannot join the two, nor tell the
teacher's surrogates from its other labels. Writes OUT_DIR/<variant>.pckl.gzip, each the previous plus:

    dft+teacher              the teacher's labels it trained on (any oracle but dft), config_type not surrogate
    dft+teacher+surrogates   the teacher's surrogates (config_type surrogate), when there are any
    dft+all-teacher-labels   dft plus every label the teacher made (TEACHER.pckl.gzip: an export of its
                             oracle) at WEIGHT (teacher.label_weight), when the campaign trained on fewer:
                             what its labels would have done had the validation gate not set them aside

A teacher label of a structure that has a DFT label is left out (the DFT label wins). Prints counts, files
and weights as JSON.
"""
import json
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from activities.store.dataset_files import read_pckl  # noqa: E402


def weights(df):
    return sorted(set(map(float, df["w_factor"].fillna(1.0)))) if "w_factor" in df else [1.0]


def main():
    dft_file, training_file, out = sys.argv[1:4]
    dft, trained = read_pckl(dft_file), read_pckl(training_file)
    teacher = trained[trained["oracle"] != "dft"]  # mace, chgnet or sevennet: the teacher's kind
    has_dft = teacher["name"].isin(dft["name"])
    teacher = teacher[~has_dft]
    surrogate = teacher["config_type"].astype(str) == "surrogate"
    counts = {"dft": len(dft), "teacher": int((~surrogate).sum()), "surrogates": int(surrogate.sum())}
    variants = {}
    if counts["teacher"]:
        variants["dft+teacher"] = pd.concat([dft, teacher[~surrogate]], ignore_index=True)
    if counts["surrogates"]:
        variants["dft+teacher+surrogates"] = pd.concat([dft, teacher], ignore_index=True)
    if len(sys.argv) > 5:
        every = read_pckl(sys.argv[4])
        every = every[~every["name"].isin(dft["name"]) & (every["config_type"].astype(str) != "surrogate")]
        if len(every) > counts["teacher"]:
            counts["all_teacher_labels"] = len(every)
            variants["dft+all-teacher-labels"] = pd.concat([dft, every.assign(w_factor=float(sys.argv[5]))], ignore_index=True)
    os.makedirs(out, exist_ok=True)
    files = {"dft": dft_file}
    for name, df in variants.items():
        path = os.path.join(out, f"{name}.pckl.gzip")
        df.assign(w_factor=df["w_factor"].fillna(1.0).astype(float)).to_pickle(path, compression="gzip", protocol=4)
        files[name] = path
    print(json.dumps({"counts": counts, "files": files, "teacher_with_dft": int(has_dft.sum()),
                      "weights": {"dft": weights(dft), **{k: weights(v) for k, v in variants.items()}}}))


if __name__ == "__main__":
    main()
