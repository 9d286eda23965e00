"""An independent DFT test set for a campaign: structures the campaign never generates itself, labelled by
pw.x through ASE's own Espresso calculator at the campaign's DFT settings.

    nice -n 5 .venv/bin/python bench/make-testset.py examples/si.yaml --out bench/testsets/si.extxyz

Independence from the code under test: structures are built here with ase.build (not the project's
generator), hot MD runs with a classical reference potential (Tersoff for Si, EMT for Al and the other EMT
metals; CHGNet or SevenNet-0 on request), and labels come from pw.x driven by ase.calculators.espresso (not the project's
DFT oracle). Only the settings are the campaign's: `npx tsx bench/campaign-settings.ts` prints them as the
campaign derives them (pseudopotentials, cutoffs, smearing, k-spacing), so both see the same physics.

What it makes (config_type in each frame's info):
  md        hot NVT Langevin snapshots of the campaign cell at each --temperatures, volume within +-3 %
  md_large  the same in a cell twice as large (a few, to check size transfer)
  strain    random diagonal strain up to +-4 % (small rattle)
  shear     random off-diagonal strain up to +-4 % (small rattle)
  vacancy   one atom removed, then a short MD at 300-900 K
  surface   slabs of the campaign's generation.surface (only when generation.surface_fraction > 0)

Resumable: each structure's pw.x run lives in WORKDIR/<name>/ and a converged output is read back instead of
being recomputed. Unconverged SCFs are retried once with lower mixing, then left out (listed in the
manifest). The output is extxyz with ASE's own keys (energy=, forces, stress=), readable by any ASE code,
plus OUT.json: the settings, the pw.x version, the command, and per-structure wall times.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
from ase import units
from ase.build import bulk, surface
from ase.calculators.espresso import Espresso, EspressoProfile
from ase.io import read, write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMT_ELEMENTS = {"Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt"}


def campaign_settings(path):
    """The campaign as it runs: schema defaults plus derived values, from the project's own resolver."""
    out = subprocess.run(["npx", "tsx", os.path.join(ROOT, "bench", "campaign-settings.ts"), path], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{path}: {out.stderr.strip()}")
    return json.loads(out.stdout)["campaign"]


def reference_calculator(kind, elements):
    if kind == "auto":
        if elements == ["Si"]:
            kind = "tersoff"
        elif set(elements) <= EMT_ELEMENTS:
            kind = "emt"
        else:
            sys.exit(f"no classical reference potential for {elements}: pass --reference chgnet")
    if kind == "tersoff":
        from ase.calculators.tersoff import Tersoff, TersoffParameters

        # Tersoff's Si(B), PRB 37, 6991 (1988), as LAMMPS' Si.tersoff: a0 5.432 Å, -4.63 eV/atom.
        si = TersoffParameters(m=3.0, gamma=1.0, lambda3=1.3258, c=4.8381, d=2.0417, h=0.0, n=22.956, beta=0.33675,
                               lambda2=1.3258, B=95.373, R=3.0, D=0.2, lambda1=3.2394, A=3264.7)
        return kind, lambda: Tersoff({("Si", "Si", "Si"): si})
    if kind == "emt":
        from ase.calculators.emt import EMT

        return kind, EMT
    if kind == "chgnet":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from chgnet.model.dynamics import CHGNetCalculator

        calc = CHGNetCalculator(use_device="cpu")
        return kind, lambda: calc
    if kind == "sevennet":
        # SevenNet-0 from the sevenn wheel, through the overlay setup.sh installs (e3nn 0.5; nothing here loads MACE).
        sys.path.insert(0, ROOT)
        from activities.mace.sevennet_engine import MODEL, import_sevenn

        calc = import_sevenn()[1](model=MODEL, device="cpu")
        return kind, lambda: calc
    sys.exit(f"--reference: unknown {kind}")


def base_cell(system):
    p = system.get("prototype")
    if not p:
        if not system.get("structure_file"):
            sys.exit("the campaign has neither system.prototype nor system.structure_file")
        atoms = read(system["structure_file"])
    else:
        symbols = p.get("symbols") or system["elements"]
        kw = {"a": p["a"], "cubic": p.get("cubic", False)}
        if p.get("c"):
            kw["c"] = p["c"]
        atoms = bulk("".join(symbols) if p["kind"] in ("rocksalt", "zincblende", "wurtzite", "cesiumchloride", "fluorite") else symbols[0],
                     p["kind"], **kw)
    return atoms.repeat(tuple(system.get("supercell") or [1, 1, 1]))


def strained(atoms, eps):
    a = atoms.copy()
    a.set_cell(np.asarray(a.get_cell()) @ (np.eye(3) + eps), scale_atoms=True)
    return a


def md_snapshots(start, make_calc, temperature, n, rng, equil=400, spacing=250, dt=1.0):
    """n snapshots of one NVT Langevin trajectory, `spacing` fs apart after `equil` fs."""
    atoms = start.copy()
    atoms.calc = make_calc()
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
    Stationary(atoms)
    dyn = Langevin(atoms, dt * units.fs, temperature_K=temperature, friction=0.02 / units.fs, rng=rng)
    dyn.run(equil)
    out = []
    for _ in range(n):
        dyn.run(spacing)
        snap = atoms.copy()
        snap.calc = None
        out.append(snap)
    return out


def build(c, args, make_calc, rng):
    base = base_cell(c["system"])
    frames = []

    def add(atoms, config_type, **info):
        atoms = atoms.copy()
        atoms.calc = None
        atoms.info.clear()
        atoms.info.update(config_type=config_type, **info)
        frames.append(atoms)

    for t in args.temperatures:
        vol = rng.uniform(0.97, 1.03)
        start = strained(base, np.eye(3) * (vol ** (1 / 3) - 1))
        start.rattle(0.02, seed=int(rng.integers(1 << 30)))
        for s in md_snapshots(start, make_calc, t, args.md_per_temperature, rng):
            add(s, "md", temperature=float(t), volume_ratio=float(vol))
    if args.md_large:
        axis = int(np.argmin(base.cell.lengths()))
        big = base.repeat(tuple(2 if i == axis else 1 for i in range(3)))
        temps = np.linspace(min(args.temperatures), max(args.temperatures), args.md_large)
        for t in temps:
            start = big.copy()
            start.rattle(0.02, seed=int(rng.integers(1 << 30)))
            for s in md_snapshots(start, make_calc, float(t), 1, rng):
                add(s, "md_large", temperature=float(t))
    for _ in range(args.strain):
        eps = np.diag(rng.uniform(-args.strain_max, args.strain_max, 3))
        a = strained(base, eps)
        a.rattle(0.03, seed=int(rng.integers(1 << 30)))
        add(a, "strain", strain=eps.diagonal().tolist())
    for _ in range(args.shear):
        e = rng.uniform(-args.strain_max, args.strain_max, 3)
        eps = np.array([[0, e[0], e[1]], [e[0], 0, e[2]], [e[1], e[2], 0]])
        a = strained(base, eps)
        a.rattle(0.03, seed=int(rng.integers(1 << 30)))
        add(a, "shear", shear=e.tolist())
    for k in range(args.vacancy):
        a = base.copy()
        del a[int(rng.integers(len(a)))]
        t = float([300, 600, 900][k % 3])
        a.rattle(0.02, seed=int(rng.integers(1 << 30)))
        for s in md_snapshots(a, make_calc, t, 1, rng, equil=300):
            add(s, "vacancy", temperature=t)
    g = c["generation"]
    if g.get("surface_fraction", 0) > 0 and args.surface:
        sp = g["surface"]
        for k in range(args.surface):
            miller = tuple(sp["miller"][k % len(sp["miller"])])
            slab = surface(base, miller, sp["layers"], vacuum=sp["vacuum"], periodic=True)
            slab.rattle(0.05, seed=int(rng.integers(1 << 30)))
            add(slab, "surface", miller=list(miller))
    return frames


def pw_input_data(dft, beta=None):
    system = {"ecutwfc": dft["ecutwfc"], "ecutrho": dft["ecutrho"]}
    if dft["smearing"] == "none":
        system["occupations"] = "fixed"
    else:
        system.update(occupations="smearing", smearing=dft["smearing"], degauss=dft["degauss"])
    if dft.get("spin"):
        system["nspin"] = 2
        for el, m in dft.get("starting_magnetization", {}).items():
            system[f"starting_magnetization({el})"] = m
    electrons = {"conv_thr": dft["conv_thr"], "mixing_beta": beta or dft["mixing_beta"], "electron_maxstep": max(dft["electron_maxstep"], 200)}
    if beta:
        electrons["mixing_mode"] = "local-TF"
    return {"control": {"calculation": "scf", "tprnfor": True, "tstress": True, "disk_io": "low"}, "system": system, "electrons": electrons}


def label(atoms, dft, directory):
    """pw.x through ASE's Espresso calculator; None when the SCF does not converge (after one gentler retry)."""
    for attempt, beta in enumerate((None, 0.2)):
        data = pw_input_data(dft, beta)
        directory_k = os.path.join(directory, f"attempt-{attempt}")
        out = os.path.join(directory_k, "espresso.pwo")
        # everything pw.x is given: the namelists, k-spacing and pseudopotentials (passed beside them), the cell
        stamp = hashlib.sha256(json.dumps([data, dft["kspacing"], dft["pseudopotentials"], atoms.positions.round(10).tolist(),
                                           atoms.cell.array.round(10).tolist()]).encode()).hexdigest()
        stamp_file = os.path.join(directory_k, "input.sha256")
        reuse = os.path.exists(out) and os.path.exists(stamp_file) and open(stamp_file).read() == stamp
        t0 = time.time()
        if not reuse:
            os.makedirs(directory_k, exist_ok=True)
            with open(stamp_file, "w") as fh:
                fh.write("")
            calc = Espresso(
                profile=EspressoProfile(command=dft["command"].replace("{ranks}", str(dft["ranks"])), pseudo_dir=dft["pseudo_dir"]),
                directory=directory_k,
                input_data=data,
                pseudopotentials={el: dft["pseudopotentials"][el] for el in set(atoms.get_chemical_symbols())},
                kspacing=dft["kspacing"],
            )
            a = atoms.copy()
            a.calc = calc
            try:
                a.get_potential_energy()
            except Exception as err:  # ASE raises on an output it cannot parse; the text decides below
                print(f"  {directory_k}: {type(err).__name__}: {err}", file=sys.stderr)
            with open(stamp_file, "w") as fh:
                fh.write(stamp)
        text = open(out, errors="replace").read() if os.path.exists(out) else ""
        # pw.x prints JOB DONE after an unconverged SCF too: the convergence line decides.
        if "convergence has been achieved" in text and "convergence NOT achieved" not in text:
            res = read(out, format="espresso-out")
            wall = time.time() - t0
            version = re.search(r"Program PWSCF v\.(\S+)", text)
            return res, {"wall_seconds": None if reuse else round(wall, 1), "mixing_beta": data["electrons"]["mixing_beta"], "reused": reuse,
                         "pw_version": version.group(1) if version else None}
    return None, {"failed": "SCF not converged with mixing_beta default and 0.2"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("campaign", help="campaign file (its system and DFT settings are used)")
    ap.add_argument("--out", required=True, help="output extxyz; OUT.json gets the manifest")
    ap.add_argument("--workdir", help="pw.x runs (default: OUT without suffix + '.work' under /tmp)")
    ap.add_argument("--temperatures", default="300,600,900,1200,1500", help="K, comma-separated")
    ap.add_argument("--md-per-temperature", type=int, default=4)
    ap.add_argument("--md-large", type=int, default=2, help="snapshots in a cell twice as large")
    ap.add_argument("--strain", type=int, default=6)
    ap.add_argument("--shear", type=int, default=6)
    ap.add_argument("--strain-max", type=float, default=0.04)
    ap.add_argument("--vacancy", type=int, default=6)
    ap.add_argument("--surface", type=int, default=4, help="slabs, only when the campaign generates surfaces")
    ap.add_argument("--reference", default="auto", help="MD potential: auto (tersoff for Si, emt for EMT metals), tersoff, emt, chgnet, sevennet")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--structures-only", action="store_true", help="write the unlabelled structures and stop")
    ap.add_argument("--structures", help="label these structures (an extxyz with name and config_type, e.g. an earlier test set) "
                    "instead of building new ones: the same cells at other DFT settings")
    args = ap.parse_args()
    args.temperatures = [float(t) for t in args.temperatures.split(",")]

    c = campaign_settings(args.campaign)
    dft = c["dft"]
    rng = np.random.default_rng(args.seed)
    ref_kind, make_calc = reference_calculator(args.reference, sorted(c["system"]["elements"]))
    out = os.path.abspath(args.out)
    workdir = os.path.abspath(args.workdir or os.path.join("/tmp", os.path.basename(out).rsplit(".", 1)[0] + ".work"))
    os.makedirs(workdir, exist_ok=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    structures_file = os.path.join(workdir, "structures.extxyz")
    if os.path.exists(structures_file):
        frames = read(structures_file, index=":")  # resume with the very same structures
    elif args.structures:
        frames = read(args.structures, index=":")
        for i, a in enumerate(frames):
            if "config_type" not in a.info:
                sys.exit(f"{args.structures}: frame {i} has no config_type in its info line")
            a.info.setdefault("name", f"{i:03d}-{a.info['config_type']}")
            a.calc = None  # only the cell and positions are taken, never an earlier label
        write(structures_file, frames, format="extxyz")
        frames = read(structures_file, index=":")
        source_manifest = args.structures.rsplit(".", 1)[0] + ".json"
        earlier = json.load(open(source_manifest)).get("reference_potential") if os.path.exists(source_manifest) else None
        ref_kind = f"{earlier or 'unknown'} (the structures of {os.path.relpath(os.path.abspath(args.structures), ROOT)})"
    else:
        t0 = time.time()
        frames = build(c, args, make_calc, rng)
        for i, a in enumerate(frames):
            a.info["name"] = f"{i:03d}-{a.info['config_type']}"
        write(structures_file, frames, format="extxyz")
        frames = read(structures_file, index=":")  # the written (rounded) positions are what pw.x gets, now and on resume
        print(f"{len(frames)} structures built with the {ref_kind} reference in {time.time() - t0:.0f} s", file=sys.stderr)
    if args.structures_only:
        print(structures_file)
        return

    labelled, rows = [], []
    for i, atoms in enumerate(frames):
        name = atoms.info["name"]
        res, meta = label(atoms, dft, os.path.join(workdir, name))
        rows.append({"name": name, "config_type": atoms.info["config_type"], "natoms": len(atoms), **meta})
        if res is None:
            print(f"[{i + 1}/{len(frames)}] {name}: {meta['failed']} (left out)", file=sys.stderr)
            continue
        frame = atoms.copy()
        frame.calc = res.calc  # ASE's SinglePointCalculator: written as energy=, forces, stress=
        labelled.append(frame)
        took = "reused" if meta["reused"] else f"{meta['wall_seconds']} s"
        print(f"[{i + 1}/{len(frames)}] {name}: E {res.get_potential_energy():.4f} eV, |F|max {np.abs(res.get_forces()).max():.3f} eV/Å ({took})",
              file=sys.stderr)
    write(out + ".tmp.extxyz", labelled, format="extxyz")
    os.replace(out + ".tmp.extxyz", out)
    manifest = {
        "command": " ".join(["python", "bench/make-testset.py"] + sys.argv[1:]),
        "campaign_file": os.path.relpath(os.path.abspath(args.campaign), ROOT),
        "dft": {k: dft[k] for k in ("pseudopotentials", "ecutwfc", "ecutrho", "kspacing", "smearing", "degauss", "spin", "conv_thr")},
        "labeller": "ase.calculators.espresso.Espresso (pw.x), convergence checked in the output",
        "pw_version": sorted({r["pw_version"] for r in rows if r.get("pw_version")}),
        "reference_potential": ref_kind,
        "seed": args.seed,
        **({"structures_from": os.path.relpath(os.path.abspath(args.structures), ROOT)} if args.structures else {}),
        "structures": len(frames),
        "labelled": len(labelled),
        "by_config_type": {t: sum(1 for a in labelled if a.info["config_type"] == t) for t in sorted({a.info["config_type"] for a in labelled})},
        "rows": rows,
    }
    with open(out.rsplit(".", 1)[0] + ".json", "w") as fh:
        json.dump(manifest, fh, indent=1)
    print(f"{len(labelled)} of {len(frames)} labelled -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
