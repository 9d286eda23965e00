"""Fine-tuning SevenNet-0 (the 7net-0 weights inside PyPI's sevenn wheel) on the campaign's DFT labels with
a plain torch loop, and the model file the teacher labels with afterwards. The counterpart of
chgnet_finetune.py; like sevennet_engine.py it runs in a process that has not imported MACE's e3nn 0.4.

The energy zero: as for CHGNet, Quantum ESPRESSO's total energies sit a per-element constant (~-100 eV/atom
for Si) away from MPtrj's VASP energies 7net-0 learned. SevenNet's last module (rescale_atomic_energy, a
SpeciesWiseRescale: E_i = scale[type] * e_i + shift[type]) already holds a per-species atomic energy, so
before any gradient step the least-squares per-element shift of the per-atom residuals E_DFT - E_7net
(chgnet_finetune.reference_shift) is added to that shift parameter: the written model predicts on the DFT
zero with no side file (unlike the zero-shot teacher's sevennet_reference.py JSON). The shift stays frozen
(7net-0 has train_shift_scale False), so the network learns only what the constant cannot.

Loss per batch: (energy_weight/100) * MSE(E/atom, eV) + MSE(F, eV/Å) + 0.1 * MSE(stress, GPa) when every
structure has a stress (MACE's energy_weight scale where forces weigh 100; stress in GPa and 0.1 as in
chgnet's trainer, which the CHGNet fine-tune uses, so the two recipes weigh stress alike). The weights kept
are those of the epoch with the lowest val force MAE (eV/Å) + val energy MAE (eV/atom), epoch 0 (the
shifted foundation) included, so a diverging run never ends worse than it started.

The model file is {"model": {"state_dict", "config"}, "autopipe": {...}} with the config made JSON-safe
(arrays to lists, the type map's atomic-number keys to strings, undone on load) and read with
torch.load(weights_only=True): a model file is data, never code. sevenn's model_build rebuilds the network.
"""
import os
import time

import numpy as np

from activities.mace.chgnet_finetune import finetune_result, reference_shift, split, voigt_or_full
from activities.runtime.protocol import HelperError, progress
from activities.structures.reading import read_all

BUNDLED = "bundled"
KIND = "sevennet-finetune"
EV_A3_TO_GPA = 160.21766208


def _sevenn():
    from activities.mace.sevennet_engine import import_sevenn

    sevenn, _ = import_sevenn()
    return sevenn


def _json_safe(v):
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if hasattr(v, "tolist"):  # numpy arrays and scalars, torch tensors
        return v.tolist()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)  # torch.device and the like: never read back by the model builder


def _from_json(config):
    config = dict(config)
    config["_type_map"] = {int(z): int(i) for z, i in config["_type_map"].items()}
    return config


def load_model(model_file=None, device="cpu"):
    """7net-0 from the sevenn wheel (model_file None or "bundled"), or a file written by finetune()."""
    _sevenn()
    import sevenn._const as const
    import sevenn.util as util
    import torch
    from sevenn.model_build import build_E3_equivariant_model

    if not model_file or model_file == BUNDLED:
        path = const.SEVENNET_0_11Jul2024
        if not os.path.isfile(path):  # sevenn would download it; we never do
            raise HelperError("ToolMissing", f"SevenNet-0's weights are not in the sevenn wheel ({path}): run `npm run setup`")
        return util.load_checkpoint(path).build_model().to(device)
    if not os.path.isfile(model_file):
        raise HelperError("InvalidConfig", f"teacher.models: SevenNet model file not found: {model_file}; give no file (the bundled "
                                           "7net-0) or one written by a teacher fine-tune (runs/<id>/teacher/gen-N/)")
    try:
        state = torch.load(model_file, map_location="cpu", weights_only=True)
        if state.get("autopipe", {}).get("kind") != KIND:
            raise ValueError("no autopipe.kind sevennet-finetune")
        model = build_E3_equivariant_model(_from_json(state["model"]["config"]))
        model.load_state_dict(state["model"]["state_dict"], strict=True)
    except Exception as err:
        raise HelperError("InvalidConfig", f"teacher.models: {model_file} is not a SevenNet model written by a fine-tune "
                                           f"({type(err).__name__}: {err}); with teacher.kind sevennet give no file (the bundled "
                                           "7net-0) or one written to runs/<id>/teacher/gen-N/") from err
    model.config = state["model"]["config"]
    return model.to(device)


def calculator(model_file=None, device="cpu"):
    """An ASE calculator (energy eV, forces eV/Å, stress eV/Å^3 in ASE's sign) for 7net-0 or a fine-tuned file."""
    _sevenn()
    from sevenn.calculator import SevenNetCalculator

    return SevenNetCalculator(model=load_model(model_file, device), device=device)


def _config(model, foundation):
    """The JSON-safe config of a model (the wheel's checkpoint config, or the one a finetune() file carried)."""
    if getattr(model, "config", None) is not None:
        return model.config
    import sevenn._const as const
    import sevenn.util as util

    assert foundation in (None, BUNDLED)
    return _json_safe(util.load_checkpoint(const.SEVENNET_0_11Jul2024).config)


def save_model(model, config, path, meta):
    import torch

    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save({"model": {"state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, "config": config},
                "autopipe": {"kind": KIND, **meta}}, tmp)
    os.replace(tmp, path)


def _graphs(frames, cutoff):
    """sevenn's graphs with labels in its own convention: stress = -ASE stress, Voigt order xx yy zz xy yz zx."""
    import ase
    from sevenn.atom_graph_data import AtomGraphData
    from sevenn.train.dataload import atoms_to_graph

    out = []
    for a in frames:
        b = ase.Atoms(numbers=a.numbers, positions=a.positions, cell=a.cell, pbc=a.pbc)
        b.info["y_energy"] = float(a.info["REF_energy"])
        b.arrays["y_force"] = np.asarray(a.arrays["REF_forces"], dtype=float)
        if "REF_stress" in a.info:
            s = -voigt_or_full(a.info["REF_stress"])
            b.info["y_stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[0, 1], s[1, 2], s[2, 0]])
        out.append(AtomGraphData.from_numpy_dict(atoms_to_graph(b, cutoff, transfer_info=False)))
    return out


def _run(model, batch):
    import sevenn._keys as KEY

    out = model(batch.clone())
    n = out[KEY.NUM_ATOMS].to(out[KEY.PRED_TOTAL_ENERGY].dtype)
    return out, n, out[KEY.PRED_TOTAL_ENERGY].view(-1) / n


def _evaluate(model, graphs, bs):
    """Per-structure energy errors (eV/atom), force errors (eV/Å), stress errors (GPa) and predicted energies."""
    import sevenn._keys as KEY
    from torch_geometric.loader import DataLoader

    model.eval()
    de, df, ds, pred = [], [], [], []
    for batch in DataLoader(graphs, batch_size=bs, shuffle=False):
        out, n, e = _run(model, batch)
        de.append((e - out[KEY.ENERGY].view(-1) / n).detach().numpy())
        pred.append(out[KEY.PRED_TOTAL_ENERGY].view(-1).detach().numpy())
        df.append((out[KEY.PRED_FORCE] - out[KEY.FORCE]).detach().numpy().ravel())
        ds.append(((out[KEY.PRED_STRESS] - out[KEY.STRESS]) * EV_A3_TO_GPA).detach().numpy().ravel())
    return np.concatenate(de), np.concatenate(df), np.concatenate(ds), np.concatenate(pred)


def refit_reference(model, graphs, frames, energies_per_atom):
    """Fold the least-squares per-element residual into the rescale module's per-species shift (module docstring)."""
    import torch

    _, _, _, pred = _evaluate(model, graphs, 16)
    residual = np.asarray(energies_per_atom) - pred / np.array([len(a) for a in frames])
    zs = sorted({int(z) for a in frames for z in a.numbers})
    fractions = [[float(np.mean(a.numbers == z)) for z in zs] for a in frames]
    shift = reference_shift(fractions, residual)
    rescale = model._modules.get("rescale_atomic_energy")
    if rescale is None or not hasattr(rescale, "shift") or rescale.shift.numel() != len(model.type_map):
        raise HelperError("InvalidConfig", "this SevenNet model has no per-species energy shift (rescale_atomic_energy) to "
                                           "take the DFT energy reference; fine-tune from the bundled 7net-0")
    with torch.no_grad():
        for z, d in zip(zs, shift):
            rescale.shift[model.type_map[z]] += float(d)
    return {str(z): float(d) for z, d in zip(zs, shift)}, float(np.sqrt(np.mean(np.square(residual))))


def finetune(p):
    """Input: foundation (a finetune() file or "bundled"), train_file (extxyz with REF_*), output, seed,
    max_epochs, lr, energy_weight (MACE's scale: forces weigh 100), batch_size, valid_fraction, threads.
    Output: the model file, the reference shift, MAEs per epoch (eV/atom, eV/Å)."""
    sevenn = _sevenn()
    import sevenn._keys as KEY
    import torch
    from torch_geometric.loader import DataLoader

    torch.set_num_threads(int(p.get("threads", 1)))
    t0 = time.time()
    frames = read_all(p["train_file"])
    if len(frames) < 2:
        raise HelperError("InvalidInput", f"{p['train_file']}: {len(frames)} structure(s); fine-tuning needs a training and a validation split")
    for i, a in enumerate(frames):
        if "REF_energy" not in a.info or "REF_forces" not in a.arrays:
            raise HelperError("InvalidInput", f"{p['train_file']}: structure {i} lacks REF_energy/REF_forces")
    with_stress = all("REF_stress" in a.info and a.pbc.all() for a in frames)
    e_per_atom = np.array([float(a.info["REF_energy"]) / len(a) for a in frames])
    foundation = p.get("foundation") or BUNDLED
    model = load_model(foundation)
    config = _config(model, foundation)
    graphs = _graphs(frames, float(model.cutoff))
    shift, residual_rmse = refit_reference(model, graphs, frames, e_per_atom)
    after_shift = float(np.sqrt(np.mean(np.square(_evaluate(model, graphs, 16)[0]))))
    progress(step="reference refitted", shift_ev_atom=shift)

    seed = int(p["seed"])
    torch.manual_seed(seed)
    train_idx, valid_idx = split(len(frames), float(p.get("valid_fraction", 0.2)), seed)
    bs = int(p.get("batch_size", 4))
    gen = torch.Generator().manual_seed(seed)
    train_loader = DataLoader([graphs[i] for i in train_idx], batch_size=bs, shuffle=True, generator=gen)
    valid = [graphs[i] for i in valid_idx]
    epochs = int(p["max_epochs"])
    w_e, w_s = float(p.get("energy_weight", 100)) / 100.0, (0.1 if with_stress else 0.0)
    params = [q for q in model.parameters() if q.requires_grad]
    optimizer = torch.optim.Adam(params, lr=float(p["lr"]))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    hist = {k: {"train": [], "val": []} for k in ("e", "f")}

    def validate():
        de, df, _, _ = _evaluate(model, valid, bs)
        return float(np.mean(np.abs(de))), float(np.mean(np.abs(df)))

    e0, f0 = validate()
    best = (f0 + e0, 0, {k: v.detach().clone() for k, v in model.state_dict().items()})
    for epoch in range(1, epochs + 1):
        model.train()
        ae, af, ne, nf = 0.0, 0.0, 0, 0
        for batch in train_loader:
            optimizer.zero_grad()
            out, n, e = _run(model, batch)
            e_err = e - out[KEY.ENERGY].view(-1) / n
            f_err = out[KEY.PRED_FORCE] - out[KEY.FORCE]
            loss = w_e * e_err.square().mean() + f_err.square().mean()
            if w_s:
                loss = loss + w_s * ((out[KEY.PRED_STRESS] - out[KEY.STRESS]) * EV_A3_TO_GPA).square().mean()
            loss.backward()
            optimizer.step()
            ae, ne = ae + float(e_err.detach().abs().sum()), ne + e_err.numel()
            af, nf = af + float(f_err.detach().abs().sum()), nf + f_err.numel()
        scheduler.step()
        val_e, val_f = validate()
        for k, tr, va in (("e", ae / ne, val_e), ("f", af / nf, val_f)):
            hist[k]["train"].append(tr)
            hist[k]["val"].append(va)
        if val_f + val_e < best[0]:
            best = (val_f + val_e, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
        progress(epoch=epoch, of=epochs, val_e_mae=val_e, val_f_mae=val_f)
    model.load_state_dict(best[2])
    model.eval()
    meta = {"foundation": foundation, "reference_shift_ev_atom": shift, "train": len(train_idx), "valid": len(valid_idx),
            "targets": "efs" if with_stress else "ef", "epochs": epochs, "best_epoch": best[1], "lr": float(p["lr"]), "seed": seed,
            "energy_weight": float(p.get("energy_weight", 100)), "sevenn": sevenn.__version__, "weights": "7net-0"}
    save_model(model, config, p["output"], meta)
    return {**finetune_result(p["output"], shift, residual_rmse, after_shift, train_idx, valid_idx, meta["targets"], hist, t0), "best_epoch": best[1]}

