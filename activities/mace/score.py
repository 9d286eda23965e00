"""Errors of a MACE model or committee, CHGNet or SevenNet-0, against reference labels (extxyz with REF_energy and
REF_forces, as the dataset writer produces): how fine-tuning is judged."""
import numpy as np

from activities.mace.label import oracle
from activities.runtime.protocol import HelperError
from activities.structures.reading import read_all


def score(p):
    """Input: kind (mace | chgnet | sevennet), models, dataset (extxyz), device, dtype. Errors of the committee mean."""
    engine, _ = oracle(p)
    frames = read_all(p["dataset"])
    if not frames:
        raise HelperError("InvalidInput", f"{p['dataset']} holds no structures")
    missing = [i for i, a in enumerate(frames) if "REF_energy" not in a.info or "REF_forces" not in a.arrays]
    if missing:
        raise HelperError("InvalidInput", f"{p['dataset']}: structures {missing[:5]} lack REF_energy/REF_forces")
    rows = engine.evaluate(frames)
    de, df, flagged = [], [], 0
    for atoms, row in zip(frames, rows):
        if row["flag"]:
            flagged += 1
            continue
        de.append((row["energy"] - float(atoms.info["REF_energy"])) / len(atoms))
        df.append((np.asarray(row["forces"]) - atoms.arrays["REF_forces"]).ravel())
    if not de:
        raise HelperError("InvalidInput", f"{p['dataset']}: the models could not judge any structure")
    f = np.concatenate(df)
    return {
        "n": len(de),
        "flagged": flagged,
        "rmse_energy_mev_atom": float(np.sqrt(np.mean(np.square(de))) * 1000),
        "mae_energy_mev_atom": float(np.mean(np.abs(de)) * 1000),
        "rmse_forces_mev_a": float(np.sqrt(np.mean(np.square(f))) * 1000),
        "oracle_key": engine.key,
    }
