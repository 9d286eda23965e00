"""An extended-XYZ writer that keeps every float exactly and streams frame by frame.

ASE's writer prints positions and per-atom arrays with "%16.8f", which loses precision (a round trip
changes positions by up to 5e-9 Å and small forces by far more in relative terms). This writer prints
the shortest repr that parses back to the same float64, in the standard format ASE and MACE read.
"""
import json
import re

import numpy as np
from ase.io.extxyz import key_val_str_to_dict

# Keys ASE turns into calculator results when reading; the REF_ prefix keeps labels in info/arrays.
ENERGY_KEY, FORCES_KEY, STRESS_KEY = "REF_energy", "REF_forces", "REF_stress"
# A string with any other character cannot be read back as a number or bool ("nan", "inf", "True").
_SURELY_TEXT = re.compile(r"[^0-9.+\-eEtTfFrRuUaAlLsSnNiIyY ]")


def _num(x):
    return repr(float(x))


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _info_value(key, value):
    """One key=value pair; strings ASE would misread (hex ids such as "0012" become ints) go as _JSON."""
    if isinstance(value, (bool, np.bool_)):
        return f"{key}={'T' if value else 'F'}"
    if isinstance(value, (int, np.integer)):
        return f"{key}={int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"{key}={_num(value)}"
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value, dtype=float).ravel()
        return f"{key}={_quote(' '.join(map(_num, arr)))}"
    text = str(value)
    pair = f"{key}={_quote(text)}"
    if not _SURELY_TEXT.search(text):
        parsed = key_val_str_to_dict(pair).get(key)
        if not (isinstance(parsed, str) and parsed == text):
            pair = f"{key}={_quote('_JSON ' + json.dumps(text))}"
    return pair


def format_frame(atoms, info=None, forces=None):
    """One extxyz frame: species, positions and optional REF_forces columns; `info` key-value pairs."""
    n = len(atoms)
    cell = np.asarray(atoms.get_cell(), dtype=float)
    pbc = np.asarray(atoms.get_pbc(), dtype=bool)
    parts = []
    if pbc.any() or np.any(cell):
        parts.append(f"Lattice={_quote(' '.join(map(_num, cell.ravel())))}")
    props = "species:S:1:pos:R:3" + (f":{FORCES_KEY}:R:3" if forces is not None else "")
    parts.append(f"Properties={props}")
    for key, value in (info or {}).items():
        if value is not None:
            parts.append(_info_value(key, value))
    parts.append(f"pbc={_quote(' '.join('T' if p else 'F' for p in pbc))}")
    symbols = atoms.get_chemical_symbols()
    pos = atoms.get_positions().tolist()
    lines = [str(n), " ".join(parts)]
    if forces is None:
        lines += [f"{s} {_num(p[0])} {_num(p[1])} {_num(p[2])}" for s, p in zip(symbols, pos)]
    else:
        f = np.asarray(forces, dtype=float).tolist()
        lines += [
            f"{s} {_num(p[0])} {_num(p[1])} {_num(p[2])} {_num(g[0])} {_num(g[1])} {_num(g[2])}"
            for s, p, g in zip(symbols, pos, f)
        ]
    return "\n".join(lines) + "\n"


def labelled_info(energy, stress, meta):
    """Info for a labelled frame: REF_energy, REF_stress (Voigt 6) and metadata, in a stable order."""
    info = {ENERGY_KEY: float(energy)}
    if stress is not None:
        info[STRESS_KEY] = np.asarray(stress, dtype=float)
    info.update(meta)
    return info
