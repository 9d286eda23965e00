"""Exploration: ASE molecular dynamics with the current ACE potential, watching the extrapolation grade.

Each trajectory (start structure x temperature x pressure) runs until its step budget or until the
largest per-atom gamma exceeds gamma_halt (the potential is extrapolating: continuing would sample
nonsense). Frames with gamma_select <= max gamma are harvested (at most one per `sample_interval`
steps, so a trajectory does not flood the pool with near-duplicates), plus the halting frame itself,
tagged md_halt. Cells larger than max_atoms_dft are cut down to a local periodic cell around the most
uncertain atom before they become DFT candidates (see carve_local_cell).
"""
import os

import numpy as np
from ase import units
from ase.md.langevin import Langevin
from ase.md.nptberendsen import NPTBerendsen
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

from activities.runtime.protocol import HelperError, progress
from activities.structures.commands import structure_id, write_frames
from activities.structures.reading import min_distance, read_all


def _calculator(potential, active_set):
    from pyace import PyACECalculator

    for f in (potential, active_set):
        if not os.path.isfile(f):
            raise HelperError("InvalidInput", f"exploration needs the potential and its active set: {f} not found")
    # Halting is decided here, not by pyace: never let the calculator raise or dump files.
    calc = PyACECalculator(potential, gamma_upper_bound=1e12, gamma_lower_bound=1e12)
    calc.set_active_set(active_set)
    return calc


def carve_local_cell(atoms, gamma, max_atoms, min_dist):
    """A periodic cube around the most uncertain atom holding about max_atoms atoms.

    Boundary handling: the cube's edge is chosen from the density so it holds ~max_atoms atoms; atoms
    are wrapped into it and the cube becomes the new periodic cell. Atoms that end up closer than
    min_dist to a periodic image across the new boundary (the cut broke their environment) are
    removed one at a time, the least uncertain first, until no pair is too close. The result is an
    honest local environment of the uncertain atom, not a cluster in vacuum (pw.x needs periodicity
    and vacuum would add surface states the bulk potential never sees).
    """
    from ase import Atoms

    centre = atoms.positions[int(np.argmax(gamma))]
    density = len(atoms) / atoms.get_volume()
    edge = (max_atoms / density) ** (1.0 / 3.0)
    # Positions relative to the centre under the old cell's minimum image.
    d = atoms.positions - centre
    frac = np.linalg.solve(atoms.cell.T, d.T).T
    frac -= np.round(frac)
    d = frac @ atoms.cell
    inside = np.all(np.abs(d) < edge / 2, axis=1)
    sub = Atoms(atoms.numbers[inside], positions=d[inside] + edge / 2, cell=np.eye(3) * edge, pbc=True)
    sub_gamma = np.asarray(gamma)[inside]
    while len(sub) > 1 and min_distance(sub) < min_dist:
        from ase.neighborlist import neighbor_list

        i, j, dist = neighbor_list("ijd", sub, min_dist)
        bad = np.unique(np.concatenate([i[dist < min_dist], j[dist < min_dist]]))
        drop = bad[np.argmin(sub_gamma[bad])]
        del sub[int(drop)]
        sub_gamma = np.delete(sub_gamma, drop)
    if len(sub) > max_atoms:  # density fluctuations: trim the farthest atoms
        r = np.linalg.norm(sub.positions - edge / 2, axis=1)
        keep = np.sort(np.argsort(r)[:max_atoms])
        sub = sub[keep]
    return sub


def _run_trajectory(start, calc, temperature, pressure, p, rng_seed, traj_id):
    atoms = start.repeat(tuple(p.get("supercell", [1, 1, 1])))
    atoms.calc = calc
    rng = np.random.default_rng(rng_seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
    Stationary(atoms)
    dt = p.get("timestep_fs", 1.0) * units.fs
    if pressure:
        dyn = NPTBerendsen(atoms, dt, temperature_K=temperature, pressure_au=pressure * units.GPa,
                           taut=100 * units.fs, taup=1000 * units.fs, compressibility_au=1.0 / (100 * units.GPa))
    else:
        dyn = Langevin(atoms, dt, temperature_K=temperature, friction=0.01 / units.fs, rng=rng)
    select, halt = p["gamma_select"], p["gamma_halt"]
    interval = p.get("sample_interval", 10)
    harvested, last_kept, max_seen = [], -interval, 0.0
    status = {"halted": False, "steps": 0, "reason": "budget"}
    for step in range(1, p["steps"] + 1):
        try:
            dyn.run(1)
        except Exception as err:  # an unstable potential can blow up an MD step: that is a halt
            status.update(halted=True, reason=f"MD step failed: {err}")
            break
        gamma = np.asarray(calc.results["gamma"])
        g = float(gamma.max())
        max_seen = max(max_seen, g)
        status["steps"] = step
        tag = None
        if g > halt or not np.all(np.isfinite(atoms.positions)):
            status.update(halted=True, reason=f"gamma {g:.2f} > {halt}")
            tag = "md_halt"
        elif g >= select and step - last_kept >= interval:
            tag = "md_select"
        if tag:
            frame = atoms.copy()
            frame.calc = None
            if len(frame) > p["max_atoms_dft"]:
                frame = carve_local_cell(frame, gamma, p["max_atoms_dft"], p["min_distance"])
                frame.info["carved_from_atoms"] = len(atoms)
            if len(frame) and min_distance(frame) >= p["min_distance"]:
                frame.info.update(gamma_max=g, source=tag, temperature=temperature, pressure=pressure, step=step, trajectory=traj_id)
                frame.info["structure_id"] = structure_id(frame)
                harvested.append(frame)
                last_kept = step
        if status["halted"]:
            break
        if step % 50 == 0:
            progress(trajectory=traj_id, step=step, gamma_max=round(max_seen, 3))
    status["gamma_max"] = max_seen
    return harvested, status


def explore(p):
    """Input: potential, active_set, structures (start file), temperatures, pressures, steps, timestep_fs,
    gamma_select, gamma_halt, max_atoms_dft, min_distance, supercell, seed, output, sample_interval."""
    if p["gamma_select"] >= p["gamma_halt"]:
        raise HelperError("InvalidInput", "exploration.gamma_select must be < exploration.gamma_halt")
    calc = _calculator(p["potential"], p["active_set"])
    starts = read_all(p["structures"])
    if not starts:
        raise HelperError("InvalidInput", f"{p['structures']}: no start structures")
    pool, trajectories = [], []
    k = 0
    for si, start in enumerate(starts):
        for temperature in p["temperatures"]:
            for pressure in p.get("pressures", [0]) or [0]:
                traj_id = f"s{si}-T{temperature:g}-P{pressure:g}"
                frames, status = _run_trajectory(start, calc, temperature, pressure, p, p["seed"] + k, traj_id)
                k += 1
                pool.extend(frames)
                trajectories.append({"id": traj_id, "harvested": len(frames), **status})
    # The same frame can be reached twice only by identical trajectories; dedupe by content anyway.
    seen, unique = set(), []
    for f in pool:
        if f.info["structure_id"] not in seen:
            seen.add(f.info["structure_id"])
            unique.append(f)
    # Exact extxyz: the ids above are hashes of these very positions, and whoever reads the file
    # (the store, the DFT oracle) must compute the same ids.
    write_frames(p["output"], [(f, f.info) for f in unique])
    return {
        "output": p["output"],
        "candidates": len(unique),
        "ids": [f.info["structure_id"] for f in unique],
        "gamma": [float(f.info["gamma_max"]) for f in unique],
        "halted": sum(1 for t in trajectories if t["halted"]),
        "above_select": sum(1 for f in unique if f.info["gamma_max"] >= p["gamma_select"]),
        "trajectories": trajectories,
        "gamma_max": max([t["gamma_max"] for t in trajectories] or [0.0]),
    }
