"""Quantum ESPRESSO input writing and output reading through ASE (no hand-written pw.x format)."""
import os
import re

import numpy as np
from ase.io.espresso import kspacing_to_grid, read_espresso_out, write_espresso_in

from activities.runtime.protocol import HelperError
from activities.structures.reading import check_physical, read_one


def write_input(p):
    """Pre-flight checks, then espresso.pwi in p['directory'].

    Input: structure_file, index, directory, pseudo_dir, pseudopotentials {El: file}, input_data (nested
    pw.x namelists, already including the self-healing rung), kspacing (1/Å, no 2π), min_distance.
    """
    atoms = read_one(p["structure_file"], p.get("index", 0))
    label = p.get("label", os.path.basename(p["structure_file"]))
    pseudo_dir = p["pseudo_dir"]
    pseudos = p["pseudopotentials"]
    for el in sorted(set(atoms.get_chemical_symbols())):
        if el not in pseudos:
            raise HelperError(
                "MissingPseudopotential",
                f"no pseudopotential for {el}: add dft.pseudopotentials.{el} (a UPF file in {pseudo_dir})",
            )
        f = os.path.join(pseudo_dir, pseudos[el])
        if not os.path.isfile(f):
            raise HelperError(
                "MissingPseudopotential",
                f"pseudopotential file for {el} not found: {f} (fix dft.pseudopotentials.{el} or dft.pseudo_dir)",
            )
    if not atoms.get_pbc().all():
        raise HelperError("InvalidInput", f"{label}: pw.x needs a fully periodic cell (pbc on all axes)")
    dmin = check_physical(atoms, p.get("min_distance", 0.5), label)
    from activities.structures.commands import structure_id

    if structure_id(atoms) != label:  # the label goes into the store, which keys structures by content
        raise HelperError("InvalidInput", f"structure id {label!r} is not the content hash of {p['structure_file']}[{p.get('index', 0)}] "
                                          f"({structure_id(atoms)}); index the file first (`autopipe label dft` does)")

    ks = float(p["kspacing"])
    kpts = [int(k) for k in kspacing_to_grid(atoms, ks)]
    input_data = p["input_data"]
    input_data.setdefault("control", {})["pseudo_dir"] = pseudo_dir
    input_data["control"].setdefault("outdir", "./tmp")
    os.makedirs(p["directory"], exist_ok=True)
    path = os.path.join(p["directory"], "espresso.pwi")
    with open(path + ".tmp", "w") as fh:
        write_espresso_in(fh, atoms, input_data=input_data, pseudopotentials={k: pseudos[k] for k in set(atoms.get_chemical_symbols())}, kpts=kpts)
    os.replace(path + ".tmp", path)
    return {"input_file": path, "kpts": kpts, "natoms": len(atoms), "min_distance": dmin}


_VERSION = re.compile(r"Program PWSCF v\.(\S+)")
_WALL = re.compile(r"PWSCF\s*:.*?CPU\s+(.*?)\s+WALL")
_ITER = re.compile(r"convergence has been achieved in\s+(\d+) iterations")


def _wall_seconds(s):
    # QE prints e.g. "1.12s", "1m 5.30s", "1h 2m"
    total = 0.0
    for val, unit in re.findall(r"([\d.]+)([hms])", s):
        total += float(val) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def read_output(p):
    """Read espresso.pwo; fail typed unless the SCF converged and results are complete.

    Input: output_file. Output: energy, free_energy (eV), forces (eV/Å), stress (Voigt, eV/Å^3),
    scf_iterations, qe_version, wall_seconds.
    """
    path = p["output_file"]
    try:
        with open(path, errors="replace") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise HelperError("ToolFailed", f"pw.x wrote no output file {path}") from None
    # pw.x prints JOB DONE even when the SCF did not converge: the convergence line decides.
    if "convergence NOT achieved" in text:
        n = len(re.findall(r"iteration #\s*\d+", text))
        raise HelperError("ScfNotConverged", f"SCF did not converge after {n} iterations ({path})")
    m = _ITER.search(text)
    if not m:
        if "Error" in text or "%%%%" in text:
            err = text[text.find("%%%%"):][:600] if "%%%%" in text else text[-600:]
            raise HelperError("ToolFailed", f"pw.x stopped with an error: {err.strip()}")
        raise HelperError("ToolFailed", f"pw.x output has no converged SCF (truncated or killed run?): {path}")
    with open(path) as fh:
        images = list(read_espresso_out(fh, index=slice(None)))
    if not images:
        raise HelperError("ToolFailed", f"ASE found no results in {path}")
    atoms = images[-1]
    calc = atoms.calc
    energy = float(atoms.get_potential_energy())
    free_energy = float(calc.results.get("free_energy", energy))
    if "forces" not in calc.results or "stress" not in calc.results:
        raise HelperError("ToolFailed", "pw.x output lacks forces or stress (tprnfor/tstress off?)")
    forces = np.asarray(calc.results["forces"], dtype=float)
    stress = np.asarray(calc.results["stress"], dtype=float)
    if not (np.isfinite(energy) and np.all(np.isfinite(forces)) and np.all(np.isfinite(stress))):
        raise HelperError("ToolFailed", "pw.x results contain NaN")
    v = _VERSION.search(text)
    w = _WALL.search(text)
    return {
        "energy": energy,
        "free_energy": free_energy,
        "forces": forces.tolist(),
        "stress": stress.tolist(),
        "scf_iterations": int(m.group(1)),
        "qe_version": v.group(1) if v else "unknown",
        "wall_seconds": _wall_seconds(w.group(1)) if w else None,
        "natoms": len(atoms),
    }
