"""The "Reruns on fresh seeds" section of ``docs/RESULTS.md``.

``dante reproduce NAME --seeds K --seed-offset S --out DIR`` reruns a spec
(or one cell with ``--only``) on seeds ``S..S+K-1``, with its own rate
selection on those seeds (``docs/PROTOCOL.md``), and writes ``DIR/NAME.json``
in the format of ``results/``. A rerun kept as ``results/reruns/NAME.json``
is set here beside the reported numbers, per cell and method:

* the reported mean with its 95% t interval over seeds, the rerun's mean,
  and whether it lands inside;
* the comparison against the spec's baseline: the reported difference of
  means with its 95% Welch interval (oriented so that positive favours the
  method) and verdict, the rerun's difference and verdict, and whether the
  rerun's difference lands inside the reported interval;
* the rates each run chose.

A rerun outside the reported interval is printed, not hidden: it says the
reported interval (conditional on the chosen rate) understates the
uncertainty of that cell, most often because the rate selection itself is
noisy there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from . import verdicts
from .report_tables import (
    HIGHER_BETTER,
    _claimed_better,
    _paper_row,
    markdown_table,
    paper_rows,
)

__all__ = ["RERUN_DIR", "mean_interval", "rerun_section"]

#: where kept reruns live, relative to the results folder
RERUN_DIR = "reruns"


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """The mean of ``values`` with its ``level`` t interval, ``(mean, lo, hi)``.

    Parameters
    ----------
    values : sequence of float
        Per-seed values (non-finite ones are dropped); at least 2 remain.
    level : float, default=0.95

    Returns
    -------
    tuple of float
        ``mean +- t_{(1+level)/2, n-1} * s / sqrt(n)``.
    """
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size < 2:
        raise ValueError(f"an interval needs at least 2 finite values, got {v.size}")
    half = float(stats.t.ppf((1 + level) / 2, v.size - 1)) * float(v.std(ddof=1)) / v.size**0.5
    m = float(v.mean())
    return m, m - half, m + half


def _vals(m: Mapping[str, Any], metric: str) -> list[float]:
    return [r.get(metric) for r in m.get("runs", []) if "error" not in r]


def _fmt(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:+.{digits}f}"


def _rows(reported: Mapping[str, Any], rerun: Mapping[str, Any]) -> list[list[str]]:
    spec = reported["spec"]
    metric, baseline = spec["metric"], spec["baseline"]
    higher = metric in HIGHER_BETTER
    digits = 4 if higher else 6
    paper = paper_rows(reported)
    cells = {c["cell"]: c for c in reported.get("cells", [])}
    rows = []
    for rc in rerun.get("cells", []):
        cell = cells.get(rc["cell"])
        if cell is None:
            continue
        for key, rm in rc["methods"].items():
            m = cell["methods"].get(key)
            if m is None:
                continue
            a, b = _vals(m, metric), _vals(rm, metric)
            if len([x for x in a if x is not None]) < 2 or not b:
                continue
            mean, lo, hi = mean_interval(a)
            rmean = float(np.mean([x for x in b if x is not None and math.isfinite(x)]))
            inside = "yes" if lo <= rmean <= hi else "**no**"
            comp, rcomp, comp_inside = "-", "-", "-"
            if key != baseline and baseline in cell["methods"] and baseline in rc["methods"]:
                claimed = _claimed_better(_paper_row(paper, cell["cell"], key), metric)
                old = verdicts.compare(
                    a,
                    _vals(cell["methods"][baseline], metric),
                    higher_is_better=higher,
                    claimed_better=claimed,
                )
                new = verdicts.compare(
                    b,
                    _vals(rc["methods"][baseline], metric),
                    higher_is_better=higher,
                    claimed_better=claimed,
                )
                if old["diff"] is not None and new["diff"] is not None:
                    comp = (
                        f"{_fmt(old['diff'], digits)} [{_fmt(old['lo'], digits)}, "
                        f"{_fmt(old['hi'], digits)}] {old['verdict'] or ''}".strip()
                    )
                    rcomp = f"{_fmt(new['diff'], digits)} {new['verdict'] or ''}".strip()
                    comp_inside = "yes" if old["lo"] <= new["diff"] <= old["hi"] else "**no**"
            rows.append(
                [
                    cell["label"],
                    key,
                    f"{m['lr']:g} / {rm['lr']:g}",
                    f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]",
                    f"{rmean:.{digits}f}",
                    inside,
                    comp,
                    rcomp,
                    comp_inside,
                ]
            )
    return rows


def rerun_section(results_dir: str | Path, experiments: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown lines comparing each kept rerun with the reported results.

    Parameters
    ----------
    results_dir : path
        The results folder; reruns are read from ``<results_dir>/reruns/*.json``.
    experiments : sequence of mapping
        The reported payloads (``results/<name>.json``), matched by ``name``.

    Returns
    -------
    list of str
        Empty when no rerun is kept.
    """
    by_name = {p["name"]: p for p in experiments}
    lines: list[str] = []
    for path in sorted((Path(results_dir) / RERUN_DIR).glob("*.json")):
        try:
            rerun = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        reported = by_name.get(rerun.get("name"))
        if reported is None:
            continue
        rows = _rows(reported, rerun)
        if not rows:
            continue
        seeds = rerun.get("seeds") or []
        span = f"seeds {seeds[0]}..{seeds[-1]}" if seeds else "fresh seeds"
        lines += [
            f"### {reported['name']} rerun on {span}",
            "",
            *markdown_table(
                [
                    "cell",
                    "method",
                    "lr reported / rerun",
                    f"reported {reported['spec']['metric']} [95%]",
                    "rerun mean",
                    "inside?",
                    f"reported Δ vs {reported['spec']['baseline']} [95% Welch]",
                    "rerun Δ",
                    "inside?",
                ],
                rows,
                escape=False,
            ),
            "",
        ]
    if not lines:
        return []
    return [
        "## Reruns on fresh seeds",
        "",
        "Each kept rerun (`results/reruns/NAME.json`, written by `dante reproduce NAME "
        "--seeds K --seed-offset S --out DIR`) reselects its rates on its own seeds and "
        "validation split. A rerun mean or difference outside the reported 95% interval is "
        "marked **no**: there the reported interval, which is conditional on the chosen rate, "
        "understates the cell's uncertainty.",
        "",
        *lines,
    ]
