"""Figure helpers shared by the studies and the experiment report.

Every figure is a PNG written atomically next to the study's JSON (or into
the figures folder of ``docs/RESULTS.md``), on the non-interactive Agg
backend.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["pyplot", "save_figure", "style_axes"]


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
