"""md-explore: molecular dynamics with the current ACE potential, watching the extrapolation grade at
every step, harvesting uncertain frames as DFT candidates.

Trajectories are start structure x temperature x pressure (NPT by default, see dynamics.py), all run in
lockstep as one batch by the compiled engine (engine.py), on the threads the worker grants
(AUTOPIPE_ML_THREADS, else all cores). Each step every trajectory's largest per-atom gamma is checked:
above gamma_halt the trajectory stops and its frame is harvested (md_halt: the potential is
extrapolating, continuing would sample nonsense); at or above gamma_select a frame is harvested
(md_select), at most one per sample_interval steps per trajectory. A trajectory whose atoms come closer
than half of min_distance, or whose coordinates stop being finite, halts too (a potential blowing up).
Frames larger than max_atoms_dft become a periodic cut-out around their most uncertain atom
(cutout.py). Start structures are the given file plus, optionally, the most uncertain structures of the
training history (uncertain_from), so trajectories begin where the potential is least sure.
"""
import os
import time

import numpy as np

from activities.runtime.protocol import HelperError, progress
from activities.structures.commands import structure_id, write_frames
from activities.structures.reading import min_distance, read_all

ENGINE = "ace-numba"  # what doctor and results report
MAX_BATCH_ATOMS = 200_000  # trajectories beyond this many atoms run in further waves (memory)
PROGRESS_SECONDS = 2.0


def _uncertain_training_structures(model, dataset, count):
    """The `count` structures of a Pacemaker dataset (.pckl.gzip) with the largest gamma."""
    import pandas as pd

    from activities.md.engine import evaluate_atoms

    df = pd.read_pickle(dataset, compression="gzip")
    frames = [a for a in df["ase_atoms"] if np.all(a.pbc)]
    if not frames:
        return []
    grades = [float(r["gamma"].max()) for r in evaluate_atoms(model, frames)]
    order = np.argsort(grades)[::-1][:count]
    picked = []
    for k in order:
        a = frames[int(k)].copy()
        a.calc = None
        a.info = {"start": "uncertain_training", "start_gamma": round(grades[int(k)], 4)}
        picked.append(a)
    return picked


def _trajectories(starts, p):
    temps = p["temperatures"]
    npt = p.get("ensemble", "npt") == "npt"
    pressures = (p.get("pressures") or [0.0]) if npt else [0.0]
    out = []
    for si in range(len(starts)):
        for t in temps:
            for pr in pressures:
                out.append({"start": si, "temperature": float(t), "pressure": float(pr), "npt": npt,
                            "id": f"s{si}-T{t:g}-P{pr:g}" if npt else f"s{si}-T{t:g}-nvt"})
    return out


def _frame(atoms_numbers, positions, cell, gamma, info):
    from ase import Atoms

    a = Atoms(atoms_numbers, positions=positions.copy(), cell=cell.copy(), pbc=True)
    a.info.update(info)
    a.arrays["gamma"] = gamma.copy()
    return a


def _candidate(frame, p, cutoff):
    """The DFT candidate of a harvested frame: itself, or its cut-out around the most uncertain atom."""
    from activities.md.cutout import local_cell

    gamma = frame.arrays.pop("gamma")
    centre = int(np.argmax(gamma))
    if len(frame) > p["max_atoms_dft"]:
        sub = local_cell(frame, centre, p["max_atoms_dft"], p["min_distance"], cutoff)
        sub.info.update({k: v for k, v in frame.info.items()})
        sub.info["centre_gamma_in_cell"] = round(float(gamma[centre]), 6)
        frame = sub
    if len(frame) == 0 or (len(frame) > 1 and min_distance(frame) < p["min_distance"]):
        return None
    frame.info["structure_id"] = structure_id(frame)
    return frame


def _run_wave(model, starts, trajs, p, seed, clock):
    from ase.data import atomic_masses

    from activities.md.dynamics import Dynamics
    from activities.md.engine import Batch

    sc = tuple(p.get("supercell", [1, 1, 1]))
    cells = [starts[t["start"]].repeat(sc) if t["start"] < p["_file_starts"] else starts[t["start"]] for t in trajs]
    batch = Batch(model, [a.numbers for a in cells], [a.positions for a in cells], [a.cell.array for a in cells])
    masses = atomic_masses[batch.numbers]
    dyn = Dynamics(batch, masses, [t["temperature"] for t in trajs], [t["pressure"] for t in trajs],
                   [t["npt"] for t in trajs], p.get("timestep_fs", 1.0), seed)
    select, halt = p["gamma_select"], p["gamma_halt"]
    interval = p.get("sample_interval", 10)
    floor = 0.5 * p["min_distance"]
    active = list(range(len(trajs)))  # trajectory index of each batch system
    state = {k: {"harvested": [], "last": -interval, "gamma_max": 0.0, "halted": False, "steps": 0, "reason": "budget",
                 "natoms": len(cells[k]), "volume0": float(cells[k].get_volume())} for k in range(len(trajs))}
    for step in range(0, p["steps"] + 1):
        if step > 0:
            dyn.step()
        b = dyn.b
        gmax = np.maximum.reduceat(dyn.gamma, b.offsets[:-1])
        rmin = np.minimum.reduceat(dyn.rmin, b.offsets[:-1])
        finite = np.isfinite(np.add.reduceat(b.positions.sum(axis=1), b.offsets[:-1])) & np.isfinite(dyn.energy)
        T_inst = dyn.temperature()
        vols = b.volumes()
        done = []
        for s, k in enumerate(active):
            st = state[k]
            g = float(gmax[s]) if np.isfinite(gmax[s]) else float("inf")
            st["gamma_max"] = max(st["gamma_max"], g)
            st["steps"] = step
            st["volume"] = float(vols[s])
            st["temperature_sum"] = st.get("temperature_sum", 0.0) + float(T_inst[s])
            tag = None
            if not finite[s]:
                st.update(halted=True, reason="coordinates or energy not finite (the potential blew up)")
            elif rmin[s] < floor:
                st.update(halted=True, reason=f"atoms {rmin[s]:.2f} Å apart (< {floor:g} Å): the potential blew up")
                tag = "md_halt"
            elif g > halt:
                st.update(halted=True, reason=f"gamma {g:.2f} > {halt}")
                tag = "md_halt"
            elif g >= select and step - st["last"] >= interval:
                tag = "md_select"
            if tag:
                a, z = b.offsets[s], b.offsets[s + 1]
                t = trajs[k]
                st["harvested"].append(_frame(b.numbers[a:z], b.positions[a:z], b.cells[s], dyn.gamma[a:z], {
                    "gamma_max": g, "source": tag, "temperature": t["temperature"], "pressure": t["pressure"],
                    "ensemble": "npt" if t["npt"] else "nvt", "step": step, "trajectory": t["id"],
                    "start": starts[t["start"]].info.get("start", "generated"),
                }))
                st["last"] = step
            if st["halted"]:
                done.append(s)
        clock["atom_steps"] += b.n if step > 0 else 0
        if done:
            keep = [s for s in range(len(active)) if s not in done]
            dyn = _compact(dyn, keep)
            active = [active[s] for s in keep]
        if time.monotonic() - clock["last_progress"] > PROGRESS_SECONDS or not active or step == p["steps"]:
            clock["last_progress"] = time.monotonic()
            progress(step=step, steps=p["steps"], trajectories=clock["total"], running=len(active) + clock["waiting"],
                     halted=clock["halted"] + sum(1 for k in state if state[k]["halted"]),
                     gamma_max=round(max([clock["gamma_max"]] + [state[k]["gamma_max"] for k in state]), 3),
                     harvested=clock["harvested"] + sum(len(state[k]["harvested"]) for k in state),
                     atom_steps_per_s=round(clock["atom_steps"] / max(1e-9, time.monotonic() - clock["t0"])))
        if not active:
            break
    return state, dyn.b.rebuilds


def _compact(dyn, keep):
    """Drop finished systems from the batch (and the dynamics' per-atom arrays)."""
    b = dyn.b
    idx = np.concatenate([np.arange(b.offsets[s], b.offsets[s + 1]) for s in keep]) if keep else np.zeros(0, np.int64)
    dyn.b = b.subset(keep)
    dyn.velocities = dyn.velocities[idx]
    dyn.forces = dyn.forces[idx]
    dyn.gamma = dyn.gamma[idx]
    dyn.rmin = dyn.rmin[idx]
    dyn.m = dyn.m[idx]
    dyn.sigma = dyn.sigma[idx]
    dyn.energy = dyn.energy[keep]
    dyn.stress = dyn.stress[keep]
    dyn.T, dyn.P, dyn.npt = dyn.T[keep], dyn.P[keep], dyn.npt[keep]
    return dyn


def explore(p):
    """Input: potential, active_set, structures (start file), temperatures, pressures, ensemble (npt|nvt),
    steps, timestep_fs, gamma_select, gamma_halt, max_atoms_dft, min_distance, supercell, seed, output,
    sample_interval, threads, uncertain_from (optional dataset), uncertain_count, frames_output (optional:
    the harvested frames uncut, with per-atom gamma)."""
    from activities.md import engine

    # gamma_select < gamma_halt is the contract's rule (common/rules.ts), validated before this runs.
    for key, f in (("potential", p["potential"]), ("active set", p["active_set"])):
        if not os.path.isfile(f):
            raise HelperError("InvalidInput", f"exploration needs the potential and its active set: {key} {f} not found")
    try:
        model = engine.load(p["potential"], p["active_set"], p.get("threads"))
    except ValueError as err:
        raise HelperError("InvalidInput", f"{p['potential']}: {err}") from err
    starts = read_all(p["structures"]) if p.get("structures") else []
    p = {**p, "_file_starts": len(starts)}  # these are repeated by `supercell`; training starts are sized below
    for a in starts:
        a.info = {"start": a.info.get("config_type", a.info.get("source", "generated"))}
    if p.get("uncertain_from") and os.path.isfile(p["uncertain_from"]) and p.get("uncertain_count", 0) > 0:
        # Training cells are usually smaller than MD cells: repeat them to about the MD starts' size.
        size = max([len(a) for a in starts] or [0]) * int(np.prod(p.get("supercell", [1, 1, 1])))
        for a in _uncertain_training_structures(model, p["uncertain_from"], p["uncertain_count"]):
            r = max(1, int(round((size / len(a)) ** (1 / 3)))) if size else 1
            big = a.repeat((r, r, r))
            big.info = a.info
            starts.append(big)
    if not starts:
        raise HelperError("InvalidInput", f"{p.get('structures')}: no start structures")
    bad = [i for i, a in enumerate(starts) if not np.all(a.pbc)]
    if bad:
        raise HelperError("InvalidInput", f"start structures {bad} are not periodic in all three directions")
    trajs = _trajectories(starts, p)
    sc = np.prod(p.get("supercell", [1, 1, 1]))
    waves, cur, size = [], [], 0
    for t in trajs:
        n = len(starts[t["start"]]) * (sc if t["start"] < p["_file_starts"] else 1)
        if cur and size + n > MAX_BATCH_ATOMS:
            waves.append(cur)
            cur, size = [], 0
        cur.append(t)
        size += n
    waves.append(cur)
    clock = {"t0": time.monotonic(), "last_progress": 0.0, "atom_steps": 0, "total": len(trajs), "waiting": len(trajs),
             "halted": 0, "gamma_max": 0.0, "harvested": 0}
    pool, summaries, rebuilds, full = [], [], 0, []
    for w, wave in enumerate(waves):
        clock["waiting"] -= len(wave)
        state, nreb = _run_wave(model, starts, wave, p, p["seed"] + 7919 * w, clock)
        rebuilds += nreb
        for k, t in enumerate(wave):
            st = state[k]
            clock["halted"] += int(st["halted"])
            clock["gamma_max"] = max(clock["gamma_max"], st["gamma_max"])
            clock["harvested"] += len(st["harvested"])
            for f in st["harvested"]:
                if p.get("frames_output"):
                    full.append(f.copy())
                c = _candidate(f, p, model.cutoff)
                if c is not None:
                    pool.append(c)
            summaries.append({
                "id": t["id"], "harvested": len(st["harvested"]), "halted": st["halted"], "steps": st["steps"],
                "reason": st["reason"], "gamma_max": st["gamma_max"], "temperature": t["temperature"],
                "pressure": t["pressure"], "ensemble": "npt" if t["npt"] else "nvt", "natoms": st["natoms"],
                "start": starts[t["start"]].info.get("start", "generated"),
                "volume_ratio": round(st.get("volume", st["volume0"]) / st["volume0"], 5),
                "mean_temperature": round(st.get("temperature_sum", 0.0) / max(1, st["steps"] + 1), 1),
            })
    wall = time.monotonic() - clock["t0"]
    seen, unique = set(), []
    for f in pool:
        if f.info["structure_id"] not in seen:
            seen.add(f.info["structure_id"])
            unique.append(f)
    # Exact extxyz: the ids above are hashes of these very positions, and whoever reads the file
    # (the store, the DFT oracle) must compute the same ids.
    write_frames(p["output"], [(f, f.info) for f in unique])
    if p.get("frames_output"):  # the harvested frames before any cut-out, with per-atom gamma
        from ase.io import write

        write(p["frames_output"], full, format="extxyz")
    import numba

    return {
        "output": p["output"],
        "candidates": len(unique),
        "ids": [f.info["structure_id"] for f in unique],
        "gamma": [float(f.info["gamma_max"]) for f in unique],
        "halted": sum(1 for t in summaries if t["halted"]),
        "above_select": sum(1 for f in unique if f.info["gamma_max"] >= p["gamma_select"]),
        "trajectories": summaries,
        "gamma_max": max([t["gamma_max"] for t in summaries] or [0.0]),
        "largest_cell": max([t["natoms"] for t in summaries] or [0]),
        "cutouts": sum(1 for f in unique if "carved_from_atoms" in f.info),
        "engine": {"name": ENGINE, "threads": numba.get_num_threads(), "wall_seconds": round(wall, 2),
                   "atom_steps": clock["atom_steps"], "atom_steps_per_s": round(clock["atom_steps"] / max(wall, 1e-9)),
                   "neighbour_list_builds": rebuilds},
    }
