"""The two dataset formats, written atomically and read back row by row.

Pacemaker: a gzip-pickled pandas DataFrame (pandas.read_pickle) with columns name, ase_atoms, energy,
forces, energy_corrected (energy minus the per-element reference energies), optional stress (ASE Voigt
order, eV/Å³; pyace 0.4 does not fit stress but keeps the column), optional w_energy/w_forces (fixed
weights: Pacemaker then skips its weighting policy), optional w_factor (a per-structure factor Pacemaker
multiplies into its policy's weights before normalising: how teacher labels weigh less than DFT), and the
provenance columns source, generation, oracle, settings_hash, config_type (Pacemaker ignores extra
columns), and stored_pbc for slabs (see pacemaker_atoms).
MACE: extxyz with REF_energy, REF_forces, REF_stress, so MACE's own keys never shadow the labels.
"""
import hashlib
import os

import numpy as np
import pandas as pd
from ase import Atoms

from activities.runtime.protocol import HelperError
from activities.structures.extxyz import ENERGY_KEY, FORCES_KEY, STRESS_KEY, format_frame, labelled_info
from activities.structures.reading import iter_frames

PCKL_SUFFIXES = (".pckl.gzip", ".pckl.gz", ".pkl.gz", ".pckl", ".pkl")
META_KEYS = ("source", "generation", "oracle", "settings_hash", "config_type")
# pyace takes only fully periodic or fully open cells; a slab goes in periodic (its vacuum must exceed the
# cutoff) and this column keeps the stored pbc so an import restores the exact structure.
PBC_COLUMN = "stored_pbc"
DEFAULT_CUTOFF = 5.0
# gzip level 1: float arrays barely compress at higher levels, which cost several times the time.
PCKL_COMPRESSION = {"method": "gzip", "compresslevel": 1}


def is_pckl(path):
    return path.endswith(PCKL_SUFFIXES)


def sibling(path, tag):
    """gen-3.pckl.gzip -> gen-3.test.pckl.gzip; gen-3.extxyz -> gen-3.test.extxyz."""
    for suffix in PCKL_SUFFIXES + (".extxyz", ".xyz"):
        if path.endswith(suffix):
            return path[: -len(suffix)] + f".{tag}" + suffix
    return f"{path}.{tag}"


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def vacuum_gap(atoms, axis):
    """Empty space along cell vector `axis` between the atoms and their periodic image (Å)."""
    cell = np.asarray(atoms.get_cell(), dtype=float)
    normal = np.cross(cell[(axis + 1) % 3], cell[(axis + 2) % 3])
    norm = np.linalg.norm(normal)
    if norm == 0:
        return 0.0
    normal /= norm
    spacing = abs(float(cell[axis] @ normal))
    heights = atoms.get_positions() @ normal
    return spacing - float(heights.max() - heights.min())


def pacemaker_atoms(atoms, cutoff, where):
    """A copy Pacemaker accepts: partially periodic cells become periodic when the vacuum exceeds the cutoff."""
    out = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    pbc = np.asarray(atoms.get_pbc(), dtype=bool)
    if pbc.all() or not pbc.any():
        return out
    for axis in np.flatnonzero(~pbc):
        gap = vacuum_gap(atoms, int(axis))
        if gap < cutoff:
            raise HelperError(
                "InvalidInput",
                f"{where}: Pacemaker takes only fully periodic or fully open cells, and this slab's vacuum along cell vector {int(axis)} "
                f"is {gap:.2f} Å, less than the cutoff {cutoff} Å: give the slab more vacuum (generation.surface.vacuum)",
            )
    out.pbc = True
    return out


def corrected(atoms, energy, refs, where):
    if not refs:
        return energy
    symbols = atoms.get_chemical_symbols()
    missing = sorted(set(symbols) - set(refs))
    if missing:
        raise HelperError("InvalidInput", f"{where}: no reference energy for {missing} (training.reference_energies / --reference-energies)")
    return energy - sum(refs[s] for s in symbols)


class PcklSink:
    """Collects columns, then one DataFrame pickled to a temp file and renamed into place."""

    def __init__(self, path, refs, weights, cutoff=DEFAULT_CUTOFF):
        self.path, self.refs, self.weights, self.cutoff = path, refs, weights, cutoff
        self.cols = {k: [] for k in ("name", "ase_atoms", "energy", "forces", "energy_corrected", "stress", *META_KEYS, PBC_COLUMN)}
        self.w_energy, self.w_forces = [], []
        self.w_factor = []  # per-structure training weight (meta["weight"]); column written when any is set

    def add(self, sid, atoms, energy, forces, stress, meta, where):
        c = self.cols
        c["name"].append(sid)
        c["ase_atoms"].append(pacemaker_atoms(atoms, self.cutoff, where))
        c[PBC_COLUMN].append(None if atoms.pbc.all() or not atoms.pbc.any() else "".join("T" if p else "F" for p in atoms.pbc))
        c["energy"].append(energy)
        c["forces"].append(forces)
        c["energy_corrected"].append(corrected(atoms, energy, self.refs, where))
        c["stress"].append(stress)
        for k in META_KEYS:
            c[k].append(meta.get(k))
        if self.weights is not None:
            w = float(self.weights.get(meta["oracle"], 1.0))
            self.w_energy.append(w)
            self.w_forces.append(np.full(len(atoms), w))
        self.w_factor.append(meta.get("weight"))

    def __len__(self):
        return len(self.cols["name"])

    def close(self):
        if not len(self):
            return None
        cols = dict(self.cols)
        for optional in ("stress", PBC_COLUMN):
            if all(v is None for v in cols[optional]):
                del cols[optional]
        if self.weights is not None:
            cols["w_energy"], cols["w_forces"] = self.w_energy, self.w_forces
        if any(w is not None for w in self.w_factor):
            cols["w_factor"] = [1.0 if w is None else float(w) for w in self.w_factor]
        df = pd.DataFrame(cols)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        tmp = f"{self.path}.tmp-{os.getpid()}"
        df.to_pickle(tmp, compression=PCKL_COMPRESSION, protocol=4)
        os.replace(tmp, self.path)
        return self.path


class ExtxyzSink:
    """Streams exact extxyz frames into a temp file, renamed into place on close."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.tmp = f"{path}.tmp-{os.getpid()}"
        self.fh = open(self.tmp, "w")
        self.n = 0

    def add(self, sid, atoms, energy, forces, stress, meta, where):
        # MACE reads config_type (for config_type_weights); "Default" is its name for none.
        info = labelled_info(energy, stress, {"structure_id": sid, **{k: meta[k] for k in META_KEYS if meta.get(k) is not None}})
        info.setdefault("config_type", "Default")
        if meta.get("weight") is not None:
            info["config_weight"] = float(meta["weight"])  # MACE multiplies it into the loss of this structure
        self.fh.write(format_frame(atoms, info, forces))
        self.n += 1

    def __len__(self):
        return self.n

    def close(self):
        self.fh.close()
        if not self.n:
            os.remove(self.tmp)
            return None
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self):
        self.fh.close()
        if os.path.exists(self.tmp):
            os.remove(self.tmp)


def read_pckl(path):
    """A Pacemaker DataFrame, gzip or not, read without executing anything the file names."""
    from activities.safety.pickles import read_dataframe

    return read_dataframe(path, "dataset")


def pckl_rows(path):
    """(where, atoms, energy, forces, stress, meta) per row of a Pacemaker DataFrame."""
    df = read_pckl(path)
    for col in ("ase_atoms", "forces"):
        if col not in df.columns:
            raise HelperError("InvalidInput", f"{path}: no '{col}' column (columns: {list(df.columns)})")
    if "energy" not in df.columns:
        hint = " (only energy_corrected: the total energies cannot be restored without the reference energies)" if "energy_corrected" in df.columns else ""
        raise HelperError("InvalidInput", f"{path}: no 'energy' column{hint}")
    has = {c: c in df.columns for c in ("stress", "name", PBC_COLUMN, *META_KEYS)}
    for i, row in enumerate(df.itertuples(index=False)):
        r = row._asdict() if hasattr(row, "_asdict") else dict(zip(df.columns, row))
        atoms = r["ase_atoms"]
        where = f"{path} row {i}"
        if not isinstance(atoms, Atoms):
            raise HelperError("InvalidInput", f"{where}: ase_atoms is a {type(atoms).__name__}, not an ASE Atoms")
        if has[PBC_COLUMN] and isinstance(r.get(PBC_COLUMN), str):
            atoms = atoms.copy()
            atoms.pbc = [c == "T" for c in r[PBC_COLUMN]]
        stress = r.get("stress") if has["stress"] else None
        if stress is not None and not isinstance(stress, (list, tuple, np.ndarray)) and pd.isna(stress):
            stress = None
        meta = {k: r.get(k) for k in META_KEYS if has[k] and r.get(k) is not None and not _isnan(r.get(k))}
        if has["name"] and r.get("name") is not None:
            meta["name"] = str(r["name"])
        yield where, atoms, r["energy"], r["forces"], stress, meta


def _isnan(v):
    return isinstance(v, float) and np.isnan(v)


def extxyz_rows(path, energy_key=ENERGY_KEY, forces_key=FORCES_KEY, stress_key=STRESS_KEY):
    """The same rows from extxyz (or any ASE-readable file): REF_* keys, else the calculator's results."""
    for i, atoms in iter_frames(path):
        where = f"{path} frame {i}"
        calc = atoms.calc.results if atoms.calc is not None else {}
        energy = atoms.info.get(energy_key, calc.get("energy"))
        forces = atoms.arrays.get(forces_key, calc.get("forces"))
        stress = atoms.info.get(stress_key, calc.get("stress"))
        if energy is None:
            raise HelperError("InvalidInput", f"{where}: no energy ({energy_key} in the comment line, or energy=); pass --energy-key if it has another name")
        if forces is None:
            raise HelperError("InvalidInput", f"{where}: no forces ({forces_key} column, or forces); pass --forces-key if it has another name")
        meta = {k: atoms.info[k] for k in META_KEYS if k in atoms.info}
        if meta.get("config_type") == "Default":
            del meta["config_type"]
        if "structure_id" in atoms.info:
            meta["name"] = str(atoms.info["structure_id"])
        atoms.calc = None
        yield where, atoms, energy, forces, stress, meta
