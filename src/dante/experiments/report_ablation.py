"""Which part of DANTE's gain the alternation explains (issue 13, Figures 2 and 5).

With sigmoid activations DANTE beats SGD; that could come from the
alternation itself or only from normalising each layer's step. Cells that
also run the two ablations of the specs, ``sngd_backprop`` (backprop with an
SNGD step on every layer at once: one norm per layer, all layers stepping
together) and ``adam`` (backprop with Adam), split DANTE's difference to SGD
into two measured parts::

    DANTE - SGD = (DANTE - SNGD-backprop)   the alternation
                + (SNGD-backprop - SGD)     per-layer step normalisation

each with its 95% Welch interval over seeds (oriented so that a positive
difference favours the first method), and put Adam beside them as the other
adaptive-step baseline. The share of the gain the alternation explains is
printed only where the total difference's interval excludes 0; otherwise the
ratio of two noisy differences means nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import verdicts
from .markdown import markdown_table

__all__ = ["ablation_section", "split_gain"]

#: (label, method, against) rows of the decomposition, in print order
PARTS = (
    ("DANTE vs SGD (the whole difference)", "dante", "sgd"),
    ("the alternation: DANTE vs SNGD-backprop", "dante", "sngd_backprop"),
    ("per-layer normalisation: SNGD-backprop vs SGD", "sngd_backprop", "sgd"),
    ("Adam vs SGD", "adam", "sgd"),
    ("DANTE vs Adam", "dante", "adam"),
)


def _vals(m: Mapping[str, Any], metric: str) -> list[float]:
    return [r.get(metric) for r in m.get("runs", []) if "error" not in r]


def split_gain(
    cell: Mapping[str, Any], metric: str, higher_is_better: bool
) -> dict[str, dict[str, Any]]:
    """The comparisons of :data:`PARTS` that ``cell`` can make, keyed by label.

    Parameters
    ----------
    cell : mapping
        A cell record (``methods.<name>.runs[i].<metric>``).
    metric : str
    higher_is_better : bool

    Returns
    -------
    dict
        label -> :func:`dante.experiments.verdicts.compare` result (no
        verdict; ``diff``/``lo``/``hi`` oriented to favour the first method),
        plus ``"share"`` -> ``{"value": float | None}``: the alternation's part
        of the whole difference, ``None`` when the whole difference's interval
        contains 0 or a part is missing.
    """
    methods = cell.get("methods", {})
    out: dict[str, dict[str, Any]] = {}
    for label, a, b in PARTS:
        if a in methods and b in methods:
            out[label] = verdicts.compare(
                _vals(methods[a], metric),
                _vals(methods[b], metric),
                higher_is_better=higher_is_better,
            )
    total, alt = out.get(PARTS[0][0]), out.get(PARTS[1][0])
    share = None
    if total and alt and total["diff"] is not None and alt["diff"] is not None:
        if total["lo"] > 0 or total["hi"] < 0:
            share = alt["diff"] / total["diff"]
    out["share"] = {"value": share}
    return out


def _interval(res: Mapping[str, Any], digits: int) -> str:
    if res.get("diff") is None:
        return "-"
    return f"{res['diff']:+.{digits}f} [{res['lo']:+.{digits}f}, {res['hi']:+.{digits}f}]"


def _reading(res: Mapping[str, Any]) -> str:
    if res.get("diff") is None:
        return "-"
    if res["lo"] > 0:
        return "favours the first"
    if res["hi"] < 0:
        return "favours the second"
    return "contains 0"


def ablation_section(payload: Mapping[str, Any], higher_is_better: bool) -> list[str]:
    """Markdown lines of the decomposition for every cell that ran ``sngd_backprop``.

    Returns
    -------
    list of str
        Empty when no cell has DANTE, SGD and SNGD-backprop results.
    """
    metric = payload["spec"]["metric"]
    digits = 4 if higher_is_better else 6
    rows = []
    for cell in payload.get("cells", []):
        if not {"dante", "sgd", "sngd_backprop"} <= set(cell.get("methods", {})):
            continue
        parts = split_gain(cell, metric, higher_is_better)
        share = parts.pop("share")["value"]
        for label, res in parts.items():
            rows.append([cell["label"], label, _interval(res, digits), _reading(res)])
        rows.append(
            [
                cell["label"],
                "share of the whole difference the alternation explains",
                "-" if share is None else f"{share:.0%}",
                "-" if share is None else "point estimate",
            ]
        )
    if not rows:
        return []
    return [
        "What makes DANTE win (ablations): DANTE's difference to SGD split into the "
        "alternation (DANTE vs backprop with an SNGD step on every layer at once) and the "
        f"per-layer step normalisation (that backprop vs SGD), on `{metric}`, Δ oriented so "
        "that positive favours the first method, 95% Welch interval over seeds; the share is "
        "printed only where the whole difference's interval excludes 0.",
        "",
        *markdown_table(["cell", "comparison", "Δ [95% Welch]", "reading"], rows, escape=False),
        "",
    ]
