"""Batched MACE committee inference: the one place that turns structures into energy, forces, stress and
uncertainty. Used by the batch labeller (mace_label), the older single-file evaluator (mace_eval) and the
fine-tuning scorer.

Why batched: MACECalculator evaluates one structure per call; for the small cells of a campaign the
per-call Python overhead dominates. Collating several graphs into one torch_geometric batch gives the
same numbers (float64: differences ~1e-15) several times faster.

Uncertainty (two or more models): the largest per-atom norm of the force standard deviation across the
committee (eV/Å) and the committee's energy standard deviation per atom (eV/atom), both population
statistics. A structure the models cannot judge never fails the batch: it gets a flag, which means
infinite uncertainty (overlapping_atoms, non_finite, exploding, error).
"""
import hashlib
import json
import math
import os
from collections import OrderedDict

import numpy as np

from activities.runtime.protocol import HelperError
from activities.structures.reading import min_distance

MIN_DISTANCE = 0.5     # Å: below this no learned potential is meaningful
MAX_FORCE = 1.0e3      # eV/Å: beyond this the prediction has exploded
CHUNK_ATOMS = 512      # atoms per collated batch: bounds memory, keeps the batching gain
CHUNK_GRAPHS = 16


_HASHES: dict = {}  # (path, size, mtime) -> sha256


def file_sha256(path):
    """Content hash of a model file, cached by (path, size, mtime) so a batch never re-hashes."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def check_model_files(models, field="teacher.models"):
    if not models:
        raise HelperError("InvalidConfig", f"{field} is empty: give one MACE model file, or two or more for a committee "
                                           "(`autopipe teacher bootstrap --config FILE` trains a committee)")
    for m in models:
        if not os.path.isfile(m):
            raise HelperError("InvalidConfig", f"{field}: MACE model file not found: {m} (model files must be local; "
                                               "see docs/mace.md for bringing MACE-MP-0 from elsewhere)")


class Committee:
    """One MACE model or a committee, loaded once; evaluate() labels a list of Atoms."""

    kind = "mace"

    def __init__(self, models, device="cpu", dtype="float64"):
        check_model_files(models)
        import torch  # noqa: F401  (imported here so `qe-read` and friends never pay for torch)
        from mace import __version__ as mace_version
        from mace.calculators import MACECalculator

        self.paths = [os.path.abspath(m) for m in models]
        self.hashes = [file_sha256(m) for m in self.paths]
        try:
            self.calc = MACECalculator(model_paths=self.paths, device=device, default_dtype=dtype)
        except Exception as err:
            raise HelperError("InvalidConfig", f"teacher.models: MACE cannot load {self.paths}: {type(err).__name__}: {err}") from err
        self.device, self.dtype = device, dtype
        self.size = len(self.paths)
        self.version = f"mace-torch {mace_version}"
        self.key = hashlib.sha256(json.dumps({"kind": "mace", "models": self.hashes, "dtype": dtype}).encode()).hexdigest()[:16]

    def describe(self):
        return {"kind": self.kind, "key": self.key, "committee": self.size > 1, "size": self.size, "dtype": self.dtype,
                "device": self.device, "version": self.version,
                "models": [{"file": p, "sha256": h} for p, h in zip(self.paths, self.hashes)]}

    # -- evaluation -------------------------------------------------------------------------------
    def _graphs(self, frames):
        from mace import data as mace_data
        from mace.tools import torch_tools

        c = self.calc
        keyspec = mace_data.KeySpecification(info_keys={}, arrays_keys={})
        with torch_tools.default_dtype(c.default_dtype):
            return [mace_data.AtomicData.from_config(
                mace_data.config_from_atoms(a, key_specification=keyspec, head_name=c.head),
                z_table=c.z_table, cutoff=c.r_max, heads=c.available_heads) for a in frames]

    def _run_chunk(self, frames, with_stress):
        """Every model on one collated batch; returns per-frame (energies[M], forces[M,n,3], stress[M,3,3]|None)."""
        import torch
        from mace.tools import torch_geometric

        batch = torch_geometric.batch.Batch.from_data_list(self._graphs(frames)).to(self.calc.device)
        energies, forces, stresses = [], [], []
        for model in self.calc.models:
            b = batch.clone()
            out = model(b.to_dict(), compute_stress=with_stress, training=False)
            energies.append(out["energy"].detach())
            forces.append(out["forces"].detach())
            if with_stress:
                stresses.append(out["stress"].detach())
        E = torch.stack(energies)                    # (M, graphs)
        F = torch.stack(forces)                      # (M, atoms, 3)
        S = torch.stack(stresses) if with_stress else None
        ptr = batch.ptr.cpu().tolist()
        return [(E[:, g], F[:, ptr[g]:ptr[g + 1]], None if S is None else S[:, g]) for g in range(len(frames))]

    def _row(self, atoms, e, f, s):
        """Committee mean (as MACECalculator computes it) and the uncertainty of one structure."""
        import torch
        from ase.stress import full_3x3_to_voigt_6_stress

        energy = float(torch.mean(e, dim=0).item())
        forces = torch.mean(f, dim=0).cpu().numpy()
        stress = None if s is None else full_3x3_to_voigt_6_stress(torch.mean(s, dim=0).cpu().numpy())
        if not (math.isfinite(energy) and np.all(np.isfinite(forces))) or (stress is not None and not np.all(np.isfinite(stress))):
            return {"flag": "non_finite", "message": "the model returned NaN or infinite values"}
        if np.abs(forces).max(initial=0.0) > MAX_FORCE:
            return {"flag": "exploding", "message": f"forces above {MAX_FORCE:g} eV/Å"}
        row = {"flag": None, "energy": energy, "forces": forces, "stress": stress,
               "force_std_max": None, "energy_std_per_atom": None}
        if self.size > 1:
            fc = f.cpu().numpy()
            ec = e.cpu().numpy()
            row["force_std_max"] = float(np.sqrt(fc.var(axis=0).sum(axis=-1)).max(initial=0.0))
            row["energy_std_per_atom"] = float(ec.std() / len(atoms))
            row["forces_comm"] = fc
            row["energy_comm"] = ec
        return row

    def evaluate(self, frames, on_progress=None):
        """A row per frame, in order: energy, forces, stress (None unless fully periodic), uncertainty, flag."""
        rows = [None] * len(frames)
        todo = []
        for i, atoms in enumerate(frames):
            if len(atoms) > 1 and min_distance(atoms) < MIN_DISTANCE:
                rows[i] = {"flag": "overlapping_atoms", "message": f"atoms closer than {MIN_DISTANCE} Å"}
            else:
                todo.append(i)
        # Chunks of similar kind: stress only where every frame is fully periodic (zero volume otherwise).
        groups = [[i for i in todo if frames[i].pbc.all()], [i for i in todo if not frames[i].pbc.all()]]
        done = len(frames) - len(todo)
        for with_stress, idx in zip((True, False), groups):
            chunk = []
            natoms = 0
            for n, i in enumerate(idx):
                chunk.append(i)
                natoms += len(frames[i])
                if natoms >= CHUNK_ATOMS or len(chunk) >= CHUNK_GRAPHS or n == len(idx) - 1:
                    self._evaluate_chunk(frames, chunk, with_stress, rows)
                    done += len(chunk)
                    if on_progress:
                        on_progress(done)
                    chunk, natoms = [], 0
        return rows

    def _evaluate_chunk(self, frames, chunk, with_stress, rows):
        try:
            outs = self._run_chunk([frames[i] for i in chunk], with_stress)
        except Exception:
            if len(chunk) == 1:
                i = chunk[0]
                try:
                    outs = self._run_chunk([frames[i]], with_stress)
                except Exception as err:  # judged, not failed: this one structure gets the flag
                    rows[i] = {"flag": "error", "message": f"{type(err).__name__}: {err}"[:300]}
                    return
            else:  # isolate the structure that broke the batch
                for i in chunk:
                    self._evaluate_chunk(frames, [i], with_stress, rows)
                return
        for i, (e, f, s) in zip(chunk, outs):
            rows[i] = self._row(frames[i], e, f, s)


_COMMITTEES = OrderedDict()


def committee(models, device="cpu", dtype="float64", keep=2):
    """Models loaded once per process: a long-lived server keeps the last `keep` committees."""
    check_model_files(models)
    key = (tuple(os.path.abspath(m) for m in models), tuple((os.stat(m).st_size, os.stat(m).st_mtime_ns) for m in models), device, dtype)
    hit = key in _COMMITTEES
    if hit:
        _COMMITTEES.move_to_end(key)
    else:
        _COMMITTEES[key] = Committee(models, device, dtype)
        while len(_COMMITTEES) > keep:
            _COMMITTEES.popitem(last=False)
    return _COMMITTEES[key], hit
