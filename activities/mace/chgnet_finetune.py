"""Fine-tuning CHGNet on the campaign's DFT labels with chgnet's own trainer (chgnet.trainer.Trainer on a
chgnet.data.dataset.StructureData), and the model file the teacher labels with afterwards.

The energy zero: Quantum ESPRESSO's total energies sit at another zero than Materials Project's VASP/PAW
energies CHGNet learned (for Si with Si.pbe-rrkj.UPF about -107 eV/atom against MP's -5.4): a per-element
constant, set by the pseudopotentials, that no network should learn. So before any gradient step the
per-element reference (CHGNet's composition model, AtomRef: E = sum_el n_el * w_el + the graph network's
part) is refitted by least squares to the residuals E_DFT - E_CHGNet of the training labels, per atom
against the element fractions, i.e. the composition model absorbs exactly the offset the current network
leaves. It is frozen during training (train_composition_model=False), so the network learns only what
the reference cannot: the physics differences (PAW vs norm-conserving, smearing). A refit on raw energies
(AtomRef.fit) would throw away the network's own per-structure energy and start from a worse place.

The fine-tuned model is written as {"model": {"state_dict", "model_args"}, "autopipe": {...}} and read with
torch.load(weights_only=True): a model file is data, never code (no pickle of arbitrary objects).
"""
import contextlib
import os
import shutil
import sys
import time

import numpy as np

from activities.runtime.protocol import HelperError, progress
from activities.structures.reading import read_all

BUNDLED = "bundled"


def _chgnet():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the wheel's weights only; never reach for the network
    try:
        from chgnet.model import CHGNet
    except ImportError as err:
        raise HelperError("ToolMissing", f"teacher.kind chgnet: the chgnet package is not installed ({err}); run `npm run setup`") from err
    return CHGNet


def load_model(model_file=None, device="cpu"):
    """CHGNet's bundled weights (model_file None or "bundled"), or a file written by finetune()."""
    CHGNet = _chgnet()
    if not model_file or model_file == BUNDLED:
        with contextlib.redirect_stdout(sys.stderr):
            return CHGNet.load(verbose=False, use_device=device)
    import torch

    if not os.path.isfile(model_file):
        raise HelperError("InvalidConfig", f"teacher.models: CHGNet model file not found: {model_file}")
    try:
        state = torch.load(model_file, map_location="cpu", weights_only=True)
        model = CHGNet.from_dict(state["model"])
    except Exception as err:
        raise HelperError("InvalidConfig", f"teacher.models: {model_file} is not a CHGNet model written by a fine-tune "
                                           f"({type(err).__name__}: {err}); with teacher.kind chgnet give no file (the bundled "
                                           "weights) or one written to runs/<id>/teacher/gen-N/") from err
    return model.to(device)


def save_model(model, path, meta):
    import torch

    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save({"model": model.as_dict(), "autopipe": meta}, tmp)
    os.replace(tmp, path)


def split(n, valid_fraction, seed):
    """Deterministic training / validation indices: at least one of each when n >= 2."""
    order = np.random.default_rng(seed).permutation(n)
    n_valid = min(n - 1, max(1, int(round(valid_fraction * n)))) if n >= 2 else 0
    return sorted(order[n_valid:].tolist()), sorted(order[:n_valid].tolist())


def reference_shift(fractions, residuals):
    """Per-element energy shifts (eV/atom) that best explain the per-atom residuals: least squares over the
    element fractions (minimum-norm when the compositions cannot tell elements apart, e.g. one element)."""
    a = np.asarray(fractions, dtype=float)
    b = np.asarray(residuals, dtype=float)
    return np.linalg.lstsq(a, b, rcond=None)[0]


def voigt_or_full(stress):
    s = np.asarray(stress, dtype=float).reshape(-1)
    if s.size == 9:
        return s.reshape(3, 3)
    if s.size == 6:
        from ase.stress import voigt_6_to_full_3x3_stress

        return voigt_6_to_full_3x3_stress(s)
    raise ValueError(f"stress with {s.size} components")


def _labels(frames, path):
    energies, forces, stresses = [], [], []
    for i, a in enumerate(frames):
        if "REF_energy" not in a.info or "REF_forces" not in a.arrays:
            raise HelperError("InvalidInput", f"{path}: structure {i} lacks REF_energy/REF_forces")
        energies.append(float(a.info["REF_energy"]))
        forces.append(np.asarray(a.arrays["REF_forces"], dtype=float))
        stresses.append(voigt_or_full(a.info["REF_stress"]) if "REF_stress" in a.info else None)
    return energies, forces, stresses


def _predict_energies(model, structures):
    with contextlib.redirect_stdout(sys.stderr):
        preds = model.predict_structure(structures, task="e", batch_size=16)
    preds = preds if isinstance(preds, list) else [preds]
    return np.array([float(p["e"]) for p in preds])  # eV/atom (CHGNet is intensive)


def refit_reference(model, structures, energies_per_atom):
    """Shift the composition model so the mean residual per element is zero (module docstring: why)."""
    import torch

    pred = _predict_energies(model, structures)
    zs = sorted({site.specie.Z for s in structures for site in s})
    fractions = [[sum(1 for site in s if site.specie.Z == z) / len(s) for z in zs] for s in structures]
    shift = reference_shift(fractions, np.asarray(energies_per_atom) - pred)
    with torch.no_grad():
        w = model.composition_model.fc.weight
        for z, d in zip(zs, shift):
            w[0, z - 1] += float(d)
    return {str(z): float(d) for z, d in zip(zs, shift)}, float(np.sqrt(np.mean(np.square(np.asarray(energies_per_atom) - pred))))


def finetune(p):
    """Input: foundation (a finetune() file or "bundled"), train_file (extxyz with REF_*), output, seed,
    max_epochs, lr, energy_weight (MACE's scale: forces weigh 100, so energy_loss_ratio = energy_weight/100),
    batch_size, valid_fraction, threads. Output: the model file, the reference shift, the trainer's MAEs."""
    import torch
    from chgnet.data.dataset import StructureData, collate_graphs
    from chgnet.trainer import Trainer
    from pymatgen.io.ase import AseAtomsAdaptor
    from torch.utils.data import DataLoader, Subset

    torch.set_num_threads(int(p.get("threads", 1)))
    t0 = time.time()
    frames = read_all(p["train_file"])
    if len(frames) < 2:
        raise HelperError("InvalidInput", f"{p['train_file']}: {len(frames)} structure(s); fine-tuning needs a training and a validation split")
    energies, forces, stresses = _labels(frames, p["train_file"])
    structures = [AseAtomsAdaptor.get_structure(a) for a in frames]
    n_atoms = np.array([len(a) for a in frames])
    e_per_atom = np.asarray(energies) / n_atoms
    model = load_model(p.get("foundation"))
    shift, residual_rmse = refit_reference(model, structures, e_per_atom)
    after_shift = float(np.sqrt(np.mean(np.square(e_per_atom - _predict_energies(model, structures)))))
    progress(step="reference refitted", shift_ev_atom=shift)

    with_stress = all(s is not None for s in stresses)
    from ase import units
    # StructureData takes VASP's stress (kBar, compression positive) and multiplies by -0.1 into CHGNet's GPa
    # (ASE's sign); ASE's eV/Å^3 -> GPa is / units.GPa, so VASP kBar = -10 * that.
    vasp_stress = [(-10.0 / units.GPa) * s for s in stresses] if with_stress else None
    with contextlib.redirect_stdout(sys.stderr):
        data = StructureData(structures=structures, energies=e_per_atom.tolist(), forces=[f.tolist() for f in forces],
                             stresses=vasp_stress, graph_converter=model.graph_converter, shuffle=False)
    train_idx, valid_idx = split(len(frames), float(p.get("valid_fraction", 0.2)), int(p["seed"]))
    bs = int(p.get("batch_size", 4))
    gen = torch.Generator().manual_seed(int(p["seed"]))
    train_loader = DataLoader(Subset(data, train_idx), batch_size=bs, shuffle=True, collate_fn=collate_graphs, generator=gen)
    valid_loader = DataLoader(Subset(data, valid_idx), batch_size=bs, shuffle=False, collate_fn=collate_graphs)
    targets = "efs" if with_stress else "ef"
    epochs = int(p["max_epochs"])
    hist = {}
    if epochs > 0:  # 0 epochs (teacher.finetune.max_epochs 0): zero-shot, only the reference refitted above
        trainer = Trainer(model=model, targets=targets, energy_loss_ratio=float(p.get("energy_weight", 100)) / 100.0, force_loss_ratio=1.0,
                          stress_loss_ratio=0.1, optimizer="Adam", scheduler="CosLR", criterion="MSE", epochs=epochs,
                          learning_rate=float(p["lr"]), torch_seed=int(p["seed"]), data_seed=int(p["seed"]), use_device="cpu", print_freq=1000)
        work = os.path.join(os.path.dirname(os.path.abspath(p["output"])), os.path.basename(p["output"]) + ".checkpoints")
        with contextlib.redirect_stdout(sys.stderr):
            for epoch in range(epochs):
                # One epoch per call (chgnet's loop, resumed at `epoch`), so every epoch is a heartbeat.
                trainer.starting_epoch, trainer.epochs = epoch, epoch + 1
                trainer.train(train_loader, valid_loader, save_dir=work, train_composition_model=False)
                hist = trainer.training_history
                progress(epoch=epoch + 1, of=epochs, val_e_mae=hist["e"]["val"][-1], val_f_mae=hist["f"]["val"][-1])
        shutil.rmtree(work, ignore_errors=True)  # chgnet's per-epoch checkpoints: the final model is what we keep
        model = trainer.model
    model = model.to("cpu").eval()
    meta = {"foundation": p.get("foundation") or BUNDLED, "reference_shift_ev_atom": shift, "train": len(train_idx), "valid": len(valid_idx),
            "targets": targets, "epochs": epochs, "lr": float(p["lr"]), "seed": int(p["seed"])}
    save_model(model, p["output"], meta)
    return finetune_result(p["output"], shift, residual_rmse, after_shift, train_idx, valid_idx, targets, hist, t0)


def finetune_result(output, shift, rmse_before, rmse_after, train_idx, valid_idx, targets, hist, t0):
    """What a foundation fine-tune returns (the contract's FoundationFinetuneResultSchema): RMSEs in eV/atom in,
    meV/atom out; history {e, f: {train, val}} of MAEs per epoch (eV/atom, eV/Å)."""
    return {
        "model": os.path.abspath(output),
        "reference_shift_ev_atom": shift,
        "energy_rmse_before_shift_mev_atom": rmse_before * 1000,
        "energy_rmse_after_shift_mev_atom": rmse_after * 1000,
        "train": len(train_idx),
        "valid": len(valid_idx),
        "targets": targets,
        "history": {k: {"train": [float(x) for x in v["train"]], "val": [float(x) for x in v["val"]]} for k, v in hist.items()},
        "wall_seconds": round(time.time() - t0, 1),
    }
