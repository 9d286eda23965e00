"""The report's figures: numbers in (JSON), PNG files out, one per figure. matplotlib with the Agg backend
(no display), small figures so the self-contained HTML stays light. Kinds:
  lines      {series: [{label, x, y}], xlabel, ylabel, logy?}  learning curves
  parity     {series: [{label, ref, pred}], unit}              predicted against DFT, with y = x and RMSE
  histogram  {values, xlabel, vlines: [{x, label}]}            extrapolation grades of an exploration
"""
import math
import os

from activities.runtime.protocol import HelperError, progress

SIZE = (5.4, 3.5)
DPI = 96


def _finite(xs):
    return [float(x) for x in xs if x is not None and math.isfinite(float(x))]


def _lines(ax, f):
    for s in f.get("series", []):
        pts = [(x, y) for x, y in zip(s.get("x", []), s.get("y", [])) if x is not None and y is not None]
        if not pts:
            continue
        xs, ys = zip(*pts)
        ax.plot(xs, ys, marker="o", label=s.get("label"), linestyle=s.get("linestyle", "-"))
        for x, y, t in zip(xs, ys, s.get("annotate", [])):
            ax.annotate(str(t), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    if f.get("logy"):
        ax.set_yscale("log")
    ax.set_xlabel(f.get("xlabel", ""))
    ax.set_ylabel(f.get("ylabel", ""))
    ax.grid(alpha=0.3)
    if any(s.get("label") for s in f.get("series", [])):
        ax.legend(fontsize=8)


def _parity(ax, f):
    lo, hi = math.inf, -math.inf
    for s in f.get("series", []):
        ref, pred = s.get("ref", []), s.get("pred", [])
        if len(ref) != len(pred):
            raise HelperError("InvalidInput", f"parity {f.get('name')}: {len(ref)} reference values but {len(pred)} predictions")
        pairs = [(r, q) for r, q in zip(ref, pred) if r is not None and q is not None]
        if not pairs:
            continue
        r, q = zip(*pairs)
        rmse = math.sqrt(sum((a - b) ** 2 for a, b in pairs) / len(pairs))
        ax.scatter(r, q, s=6 if len(pairs) > 200 else 14, alpha=0.6, label=f"{s.get('label', '')} (RMSE {rmse:.3g} {f.get('unit', '')})".strip())
        lo, hi = min(lo, *r, *q), max(hi, *r, *q)
    if lo < hi:
        pad = 0.03 * (hi - lo)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="grey", linewidth=0.8)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(f"DFT ({f.get('unit', '')})")
    ax.set_ylabel(f"predicted ({f.get('unit', '')})")
    ax.set_aspect("equal", adjustable="box")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _histogram(ax, f):
    values = _finite(f.get("values", []))
    if values:
        ax.hist(values, bins=f.get("bins", min(30, max(5, len(values) // 2))), color="#4c72b0", alpha=0.8)
    for v in f.get("vlines", []):
        ax.axvline(v["x"], color=v.get("color", "#c44e52"), linestyle="--", linewidth=1, label=v.get("label"))
    ax.set_xlabel(f.get("xlabel", ""))
    ax.set_ylabel("frames")
    ax.grid(alpha=0.3)
    if f.get("vlines"):
        ax.legend(fontsize=8)


KINDS = {"lines": _lines, "parity": _parity, "histogram": _histogram}


def plots(p):
    """Input: out_dir, figures [{name, kind, title, ...}]. Output: {name: png file}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = p["out_dir"]
    os.makedirs(out_dir, exist_ok=True)
    files = {}
    figures = p.get("figures", [])
    for i, f in enumerate(figures):
        progress(done=i, total=len(figures), what="figures")
        name, kind = f.get("name"), f.get("kind")
        if kind not in KINDS or not name or any(c in name for c in "/\\"):
            raise HelperError("InvalidInput", f"figure {name!r}: kind must be one of {sorted(KINDS)} and the name a plain file name")
        fig, ax = plt.subplots(figsize=tuple(f.get("size", SIZE)), dpi=DPI)
        try:
            KINDS[kind](ax, f)
            ax.set_title(f.get("title", ""), fontsize=10)
            fig.tight_layout()
            path = os.path.join(out_dir, f"{name}.png")
            fig.savefig(path)
            files[name] = path
        finally:
            plt.close(fig)
    return files
