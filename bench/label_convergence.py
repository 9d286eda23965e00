"""How much of a DFT label is the DFT settings: the same cells labelled again at other settings.

    # relabel test-set frames at denser k-point spacings (pw.x through ASE's Espresso, as make-testset.py)
    .venv/bin/python bench/label_convergence.py bench/testsets/al.extxyz --campaign examples/al.yaml \\
        --frames 0,16,19 --vary kspacing=0.04 --vary kspacing=0.03 --workdir /tmp/kconv --out R.json
    # two labelled files of the same cells (e.g. fixed occupations against smearing), by config type
    .venv/bin/python bench/label_convergence.py bench/testsets/si.extxyz --against bench/testsets/si-mv.extxyz

A potential fitted to labels can be no closer to converged DFT than the labels are, and a label error that
depends on the whole periodic cell (k-point sampling, occupations) is not a function of a local
environment, so a local potential cannot fit it either. Differences are RMS over force components (meV/Å)
and energy per atom (meV/atom), per frame and per config type.
"""
import argparse
import collections
import importlib.util
import json
import os
import sys

import numpy as np
from ase.io import read

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_testset():
    spec = importlib.util.spec_from_file_location("make_testset", os.path.join(ROOT, "bench", "make-testset.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def diff(a, b):
    """(force RMS difference meV/Å, energy difference b - a in meV/atom)."""
    df = float(np.sqrt(((a.get_forces() - b.get_forces()) ** 2).mean()) * 1000)
    de = float((b.get_potential_energy() - a.get_potential_energy()) / len(a) * 1000)
    return round(df, 1), round(de, 2)


def summary(rows):
    by = collections.defaultdict(list)
    for r in rows:
        by[r["config_type"]].append(r)
    out = {}
    for t, rs in sorted(by.items()):
        out[t] = {"frames": len(rs), "forces_rms_mev_a": round(float(np.sqrt(np.mean([r["dF"] ** 2 for r in rs]))), 1),
                  "energy_rms_mev_atom": round(float(np.sqrt(np.mean([r["dE"] ** 2 for r in rs]))), 2),
                  "energy_spread_mev_atom": round(float(np.std([r["dE"] for r in rs])), 2)}
    return out


def parse_vary(items):
    """Each --vary is one variant: KEY=VALUE[,KEY=VALUE...] of the campaign's dft section."""
    variants = []
    for item in items:
        changes = {}
        for part in item.split(","):
            key, _, value = part.partition("=")
            if not value:
                sys.exit(f"--vary {item}: expected KEY=VALUE[,KEY=VALUE], e.g. kspacing=0.03 or kspacing=0.04,degauss=0.05")
            try:
                changes[key] = float(value)
            except ValueError:
                changes[key] = value
        variants.append((item, changes))
    return variants


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("labelled", help="labelled extxyz (a test set made by bench/make-testset.py)")
    ap.add_argument("--against", help="a second labelled file of the same cells: compare the two, run nothing")
    ap.add_argument("--campaign", help="campaign file whose DFT settings the relabelling starts from")
    ap.add_argument("--frames", help="comma-separated frame indices to relabel (default all)")
    ap.add_argument("--vary", action="append", default=[], help="KEY=VALUE of the campaign's dft section, one variant each")
    ap.add_argument("--workdir", help="pw.x runs (resumable)")
    ap.add_argument("--out", help="results JSON")
    args = ap.parse_args()

    frames = read(args.labelled, index=":")
    result = {"command": " ".join(["python", "bench/label_convergence.py"] + sys.argv[1:]), "labelled": args.labelled}
    if args.against:
        other = read(args.against, index=":")
        if len(other) != len(frames):
            sys.exit(f"{args.against}: {len(other)} frames, {args.labelled} has {len(frames)}: not the same cells")
        rows = []
        for i, (a, b) in enumerate(zip(frames, other)):
            if len(a) != len(b) or not np.allclose(a.positions, b.positions, atol=1e-6):
                sys.exit(f"frame {i}: the two files hold different structures")
            df, de = diff(a, b)
            rows.append({"frame": i, "name": a.info.get("name"), "config_type": a.info.get("config_type"), "dF": df, "dE": de})
        result.update(against=args.against, rows=rows, by_config_type=summary(rows))
    else:
        if not args.campaign or not args.vary or not args.workdir:
            sys.exit("relabelling needs --campaign, --workdir and at least one --vary KEY=VALUE")
        mt = make_testset()
        base = mt.campaign_settings(args.campaign)["dft"]
        idx = [int(x) for x in args.frames.split(",")] if args.frames else list(range(len(frames)))
        variants = parse_vary(args.vary)
        for _, changes in variants:
            for key in changes:
                if key not in base:
                    sys.exit(f"--vary {key}: not a key of the campaign's dft section ({', '.join(sorted(base))})")
        labels = {}
        rows = []
        for tag, changes in variants:
            dft = {**base, **changes}
            for i in idx:
                res, meta = mt.label(frames[i], dft, os.path.join(args.workdir, tag.replace("=", "-").replace(",", "_"), f"{i:03d}"))
                if res is None:
                    print(f"frame {i} at {tag}: {meta['failed']}", file=sys.stderr)
                    continue
                labels[(tag, i)] = res
                df, de = diff(frames[i], res)
                rows.append({"frame": i, "config_type": frames[i].info.get("config_type"), "variant": tag, "against": "labelled file", "dF": df, "dE": de,
                             "wall_seconds": meta.get("wall_seconds")})
                print(f"frame {i} ({frames[i].info.get('config_type')}) {tag}: dF {df} meV/Å, dE {de} meV/atom against the labelled file", file=sys.stderr)
        # consecutive variants against each other: how far the last step still moves the labels
        tags = [t for t, _ in variants]
        for t0, t1 in zip(tags, tags[1:]):
            for i in idx:
                if (t0, i) in labels and (t1, i) in labels:
                    df, de = diff(labels[(t0, i)], labels[(t1, i)])
                    rows.append({"frame": i, "config_type": frames[i].info.get("config_type"), "variant": t1, "against": t0, "dF": df, "dE": de})
        result.update(campaign=args.campaign, base_dft={k: base[k] for k in ("kspacing", "smearing", "degauss", "ecutwfc", "ecutrho")},
                      rows=rows, by_variant={f"{t} vs {a}": summary([r for r in rows if r["variant"] == t and r["against"] == a])
                                             for t, a in sorted({(r["variant"], r["against"]) for r in rows})})
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
