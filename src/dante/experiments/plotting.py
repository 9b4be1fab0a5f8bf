"""Figure helpers shared by the studies and the experiment report.

Every figure is a PNG written atomically next to the study's JSON (or into
the figures folder of ``docs/RESULTS.md``), on the non-interactive Agg
backend. :func:`plot_experiment` draws an experiment's curves against the
weights updated: each method's mean curve, and each seed's own curve faintly
where the record has them; paper-rate rows are dashed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .slim import decode_image

__all__ = ["plot_experiment", "pyplot", "save_figure", "style_axes"]

_COLORS = {
    "dante": "tab:blue",
    "sgd": "tab:green",
    "adam": "tab:orange",
    "adagrad": "tab:brown",
    "rmsprop": "tab:pink",
    "momentum": "tab:olive",
    "dante_momentum": "tab:cyan",
    "sgd_altmin": "tab:purple",
    "am_adam": "tab:red",
    "admm": "tab:gray",
}
_CURVE_KEYS = ("train_loss", "test_accuracy", "test_loss")


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (studies only write files)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def style_axes(
    ax: Any,
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    xscale: str | dict[str, Any] | None = None,
    yscale: str | dict[str, Any] | None = None,
    legend: int | None = None,
) -> Any:
    """Label one axes; ``xscale``/``yscale`` is a name or ``{"value": name, **kw}``;
    ``legend`` is the legend font size (``None``: no legend). Returns ``ax``."""
    for setter, scale in ((ax.set_xscale, xscale), (ax.set_yscale, yscale)):
        if isinstance(scale, dict):
            setter(**scale)
        elif scale is not None:
            setter(scale)
    for setter, text in ((ax.set_xlabel, xlabel), (ax.set_ylabel, ylabel), (ax.set_title, title)):
        if text is not None:
            setter(text)
    if legend is not None:
        ax.legend(fontsize=legend)
    return ax


def save_figure(fig: Any, out_dir: str | Path, name: str, dpi: int = 110) -> str:
    """Lay out, write ``out_dir/name`` as PNG atomically, close ``fig``; return ``name``."""
    fig.tight_layout()
    path = Path(out_dir) / name
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=dpi, format="png")
    os.replace(tmp, path)
    pyplot().close(fig)
    return name


def _color(key: str, i: int) -> str:
    return _COLORS.get(key.removesuffix("@paper"), f"C{i % 10}")


def _seed_curves(m: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [
        r["curve"]
        for r in m.get("runs", [])
        if isinstance(r.get("curve"), dict) and key in r["curve"]
    ]


def _has_curve(m: dict[str, Any], key: str) -> bool:
    return key in m.get("curve", {}) or bool(_seed_curves(m, key))


def _plot_method(ax: Any, mk: str, m: dict[str, Any], key: str, color: str) -> None:
    paper_rate = bool(m.get("paper_rate")) or mk.endswith("@paper")
    style = "--" if paper_rate else "-"
    label = f"{mk} (lr {m['lr']:g}{', paper rate' if paper_rate else ''})"
    for curve in _seed_curves(m, key):
        ax.plot(curve["weights_updated"], curve[key], style, color=color, alpha=0.25, lw=0.7)
    curve = m.get("curve", {})
    if key in curve:
        ax.plot(curve["weights_updated"], curve[key], style, color=color, label=label)
    elif _seed_curves(m, key):
        ax.plot([], [], style, color=color, label=label)


def plot_experiment(payload: dict[str, Any], fig_dir: str | Path) -> list[Path]:
    """Curves (x = weights updated) per cell, and reconstruction grids.

    Parameters
    ----------
    payload : dict
        ``results/<name>.json``.
    fig_dir : path
        Where ``<name>_curves.png`` and ``<name>_<cell>_reconstructions.png`` go.

    Returns
    -------
    list of Path
        The figures written.
    """
    plt = pyplot()
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    cells = payload["cells"]
    written: list[Path] = []
    methods = [m for c in cells for m in c["methods"].values()]
    keys = [k for k in _CURVE_KEYS if any(_has_curve(m, k) for m in methods)]
    if keys and cells:
        fig, axes = plt.subplots(
            len(cells), len(keys), figsize=(4 * len(keys), 2.6 * len(cells)), squeeze=False
        )
        for r, cell in enumerate(cells):
            for c, key in enumerate(keys):
                ax = axes[r][c]
                for i, (mk, m) in enumerate(cell["methods"].items()):
                    if _has_curve(m, key):
                        _plot_method(ax, mk, m, key, _color(mk, i))
                if "loss" in key:
                    ax.set_yscale("log")
                ax.set_title(f"{cell['label']}: {key.replace('_', ' ')}", fontsize=8)
                ax.tick_params(labelsize=7)
                ax.grid(alpha=0.3)
                if r == len(cells) - 1:
                    ax.set_xlabel("weights updated", fontsize=8)
                if c == 0:
                    ax.legend(fontsize=6)
        name = save_figure(fig, fig_dir, f"{payload['name']}_curves.png", dpi=100)
        written.append(fig_dir / name)
    for cell in cells:
        rec = cell.get("reconstructions")
        if not rec or not rec.get("feature_shape"):
            continue
        shape = tuple(rec["feature_shape"])
        rows = ["original"] + [k for k in rec if k not in ("original", "feature_shape")]
        fig, axes = plt.subplots(
            len(rows),
            len(rec["original"]),
            figsize=(len(rec["original"]) * 0.9, len(rows) * 1.0),
            squeeze=False,
        )
        for r, row in enumerate(rows):
            for c, img in enumerate(rec[row]):
                ax = axes[r][c]
                pixels = np.clip(decode_image(img).reshape(shape), 0, 1)
                ax.imshow(pixels, cmap="gray", vmin=0, vmax=1)  # one scale for every image
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_ylabel(row, fontsize=7)
        name = f"{payload['name']}_{cell['cell']}_reconstructions.png"
        written.append(fig_dir / save_figure(fig, fig_dir, name, dpi=100))
    return written
