"""Parity plots (PNG) of predicted against reference energies, forces and stresses, coloured by group."""
import os

import numpy as np

EV_A3_TO_GPA = 160.21766208


def _panel(ax, groups, title, unit):
    lo = min(float(np.min(np.concatenate([r, p]))) for r, p, _ in groups.values())
    hi = max(float(np.max(np.concatenate([r, p]))) for r, p, _ in groups.values())
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=1, zorder=0)
    for g, (ref, pred, size) in sorted(groups.items()):
        ax.scatter(ref, pred, s=size, alpha=0.7, label=g, edgecolors="none")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"reference ({unit})")
    ax.set_ylabel(f"predicted ({unit})")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, markerscale=1.5, loc="upper left")


def parity_plots(records, offsets, metrics, out_dir, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    o = metrics["overall"]
    files = []

    def save(fig, name):
        path = os.path.join(out_dir, name)
        fig.tight_layout()
        fig.savefig(path, dpi=130)
        plt.close(fig)
        files.append(path)

    by = {}
    for r in records:
        by.setdefault(r["group"], []).append(r)

    # Energies per atom, the prediction shifted by the fitted per-element offsets, so the panel shows what
    # the offset-corrected RMSE measures.
    eg = {}
    for g, rs in by.items():
        ref = np.array([x["e_ref"] / x["natoms"] for x in rs])
        pred = np.array([(x["e_pred"] - sum(offsets.get(el, 0.0) * k for el, k in x["counts"].items())) / x["natoms"] for x in rs])
        eg[g] = (ref, pred, 18)
    fig, ax = plt.subplots(figsize=(5, 5))
    _panel(ax, eg, f"{title}\nenergy: RMSE {o['energy_rmse_mev_atom_offset']:.2f} meV/atom (offset removed)", "eV/atom")
    save(fig, "energy.png")

    fg = {g: (np.concatenate([np.ravel(x["f_ref"]) for x in rs]), np.concatenate([np.ravel(x["f_pred"]) for x in rs]), 5) for g, rs in by.items()}
    fig, ax = plt.subplots(figsize=(5, 5))
    _panel(ax, fg, f"{title}\nforce components: RMSE {o['forces_rmse_mev_a']:.1f} meV/Å", "eV/Å")
    save(fig, "forces.png")

    sg = {}
    for g, rs in by.items():
        rs = [x for x in rs if x["s_ref"] is not None and x["s_pred"] is not None]
        if rs:
            sg[g] = (np.concatenate([x["s_ref"] for x in rs]) * EV_A3_TO_GPA, np.concatenate([x["s_pred"] for x in rs]) * EV_A3_TO_GPA, 10)
    if sg:
        fig, ax = plt.subplots(figsize=(5, 5))
        _panel(ax, sg, f"{title}\nstress components: RMSE {o['stress_rmse_gpa']:.3f} GPa", "GPa")
        save(fig, "stress.png")
    return files
