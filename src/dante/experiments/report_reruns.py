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

Beside each interval test stands the test a replication should pass: the
95% *prediction* interval of a fresh mean (or difference) over the rerun's
seed count. A confidence interval is about the reported mean, not about a new
run's: even under exact replication (the same rate, normal per-seed noise) a
fresh 5-seed mean lands inside another 5-seed mean's 95% t interval only with
probability ``P(|t_4| <= t_{0.975,4} / sqrt(2)) = 0.88``
(:func:`fresh_mean_coverage`), while it lands inside the prediction interval
``mean +- t_{0.975,n-1} s sqrt(1/n + 1/n')`` with probability 0.95. The
section counts both, with the count each would give under exact replication,
so a reader can tell seed noise from a cell whose reported interval
understates its uncertainty (most often because the rate selection is noisy
there). A rerun outside either interval is printed, not hidden.
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

__all__ = [
    "RERUN_DIR",
    "diff_prediction_interval",
    "fresh_mean_coverage",
    "mean_interval",
    "prediction_interval",
    "rerun_section",
]

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


def _finite(values: Sequence[float | None]) -> np.ndarray:
    return np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)


def prediction_interval(
    values: Sequence[float], n_new: int, level: float = 0.95
) -> tuple[float, float, float]:
    """Where the mean of ``n_new`` fresh seeds lands with probability ``level``.

    Parameters
    ----------
    values : sequence of float
        The reported per-seed values (non-finite ones dropped; at least 2).
    n_new : int
        Seeds of the fresh run (at least 1).
    level : float, default=0.95

    Returns
    -------
    tuple of float
        ``(mean, lo, hi)`` with ``mean +- t_{(1+level)/2, n-1} s sqrt(1/n + 1/n_new)``:
        under normal per-seed noise of one variance, ``(fresh mean - mean) /
        (s sqrt(1/n + 1/n_new))`` is t-distributed with ``n - 1`` degrees of
        freedom, so the coverage is exact.
    """
    v = _finite(values)
    if v.size < 2 or n_new < 1:
        raise ValueError(f"needs at least 2 reported values and 1 new seed, got {v.size}, {n_new}")
    t = float(stats.t.ppf((1 + level) / 2, v.size - 1))
    half = t * float(v.std(ddof=1)) * math.sqrt(1 / v.size + 1 / n_new)
    m = float(v.mean())
    return m, m - half, m + half


def diff_prediction_interval(
    a: Sequence[float], b: Sequence[float], n_a_new: int, n_b_new: int, level: float = 0.95
) -> tuple[float, float, float]:
    """Where a fresh ``mean(a') - mean(b')`` lands with probability about ``level``.

    Parameters
    ----------
    a, b : sequence of float
        The reported per-seed values of the method and its baseline (non-finite
        ones dropped; at least 2 a side).
    n_a_new, n_b_new : int
        Seeds of the fresh run, a side.
    level : float, default=0.95

    Returns
    -------
    tuple of float
        ``(diff, lo, hi)``, unoriented: the Welch analogue of
        :func:`prediction_interval`, ``mean(a) - mean(b) +- t_{(1+level)/2, dof}
        sqrt(s_a^2 (1/n_a + 1/n_a') + s_b^2 (1/n_b + 1/n_b'))`` with the
        Welch-Satterthwaite ``dof`` of those two terms (approximate, as Welch's
        interval is).
    """
    x, y = _finite(a), _finite(b)
    if x.size < 2 or y.size < 2 or n_a_new < 1 or n_b_new < 1:
        raise ValueError("needs at least 2 values a side and 1 new seed a side")
    va = float(x.var(ddof=1)) * (1 / x.size + 1 / n_a_new)
    vb = float(y.var(ddof=1)) * (1 / y.size + 1 / n_b_new)
    d = float(x.mean() - y.mean())
    if va + vb == 0.0:
        return d, d, d
    dof = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    half = float(stats.t.ppf((1 + level) / 2, dof)) * math.sqrt(va + vb)
    return d, d - half, d + half


def fresh_mean_coverage(n: int, n_new: int, level: float = 0.95) -> float:
    """How often a fresh mean lands inside a reported mean's t interval.

    Parameters
    ----------
    n : int
        Seeds behind the reported mean and its ``level`` t interval.
    n_new : int
        Seeds of the fresh run.
    level : float, default=0.95

    Returns
    -------
    float
        ``P(|T_{n-1}| <= t_{(1+level)/2, n-1} / sqrt(1 + n/n_new))``, exact under
        replication with normal per-seed noise of one variance: 0.88 for 5
        seeds a side, so a confidence interval is not a replication interval.
    """
    if n < 2 or n_new < 1:
        raise ValueError(f"needs n >= 2 and n_new >= 1, got {n}, {n_new}")
    c = float(stats.t.ppf((1 + level) / 2, n - 1)) / math.sqrt(1 + n / n_new)
    return float(2 * stats.t.cdf(c, n - 1) - 1)


def _yes(inside: bool) -> str:
    return "yes" if inside else "**no**"


def _vals(m: Mapping[str, Any], metric: str) -> list[float]:
    return [r.get(metric) for r in m.get("runs", []) if "error" not in r]


def _fmt(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:+.{digits}f}"


def _rows(
    reported: Mapping[str, Any], rerun: Mapping[str, Any], tally: dict[str, float]
) -> list[list[str]]:
    """One table row per cell and method both sides have; counts go to ``tally``."""
    spec = reported["spec"]
    metric, baseline = spec["metric"], spec["baseline"]
    higher = metric in HIGHER_BETTER
    sign = 1.0 if higher else -1.0
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
            a, b = _finite(_vals(m, metric)), _finite(_vals(rm, metric))
            if a.size < 2 or not b.size:
                continue
            mean, lo, hi = mean_interval(a)
            _, plo, phi = prediction_interval(a, b.size)
            rmean = float(b.mean())
            tally["means"] += 1
            tally["means_ci"] += lo <= rmean <= hi
            tally["means_pi"] += plo <= rmean <= phi
            tally["means_ci_expected"] += fresh_mean_coverage(a.size, b.size)
            comp, rcomp, comp_ci, comp_pi = "-", "-", "-", "-"
            if key != baseline and baseline in cell["methods"] and baseline in rc["methods"]:
                claimed = _claimed_better(_paper_row(paper, cell["cell"], key), metric)
                base, rbase = (
                    _vals(cell["methods"][baseline], metric),
                    _vals(rc["methods"][baseline], metric),
                )
                old = verdicts.compare(a, base, higher_is_better=higher, claimed_better=claimed)
                new = verdicts.compare(b, rbase, higher_is_better=higher, claimed_better=claimed)
                if old["diff"] is not None and new["diff"] is not None:
                    comp = (
                        f"{_fmt(old['diff'], digits)} [{_fmt(old['lo'], digits)}, "
                        f"{_fmt(old['hi'], digits)}] {old['verdict'] or ''}".strip()
                    )
                    rcomp = f"{_fmt(new['diff'], digits)} {new['verdict'] or ''}".strip()
                    _, dlo, dhi = diff_prediction_interval(
                        a, base, new["n_method"], new["n_baseline"]
                    )
                    dlo, dhi = sorted((sign * dlo, sign * dhi))
                    in_ci = old["lo"] <= new["diff"] <= old["hi"]
                    in_pi = dlo <= new["diff"] <= dhi
                    comp_ci, comp_pi = _yes(in_ci), _yes(in_pi)
                    tally["diffs"] += 1
                    tally["diffs_ci"] += in_ci
                    tally["diffs_pi"] += in_pi
            rows.append(
                [
                    cell["label"],
                    key,
                    f"{m['lr']:g} / {rm['lr']:g}",
                    f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]",
                    f"{rmean:.{digits}f}",
                    _yes(lo <= rmean <= hi),
                    _yes(plo <= rmean <= phi),
                    comp,
                    rcomp,
                    comp_ci,
                    comp_pi,
                ]
            )
    return rows


def _tally_line(t: Mapping[str, float]) -> str:
    n, k = int(t["means"]), int(t["diffs"])
    share = t["means_ci_expected"] / n if n else 0.0
    return (
        f"Over the reruns below: {int(t['means_ci'])} of {n} rerun means lie inside the "
        f"reported 95% interval, where exact replication (the same rate, normal per-seed "
        f"noise) would put about {t['means_ci_expected']:.1f} of {n} ({share:.0%}): a "
        f"confidence interval is about the reported mean, not about a new run's; "
        f"{int(t['means_pi'])} of {n} lie inside the 95% prediction interval, where exact "
        f"replication would put 95%. Differences: {int(t['diffs_ci'])} of {k} inside the "
        f"reported Welch interval, {int(t['diffs_pi'])} of {k} inside its prediction "
        f"interval (about 95% under exact replication)."
    )


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
    keys = ("means", "means_ci", "means_pi", "means_ci_expected", "diffs", "diffs_ci", "diffs_pi")
    tally: dict[str, float] = dict.fromkeys(keys, 0.0)
    for path in sorted((Path(results_dir) / RERUN_DIR).glob("*.json")):
        try:
            rerun = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        reported = by_name.get(rerun.get("name"))
        if reported is None:
            continue
        rows = _rows(reported, rerun, tally)
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
                    "in 95% interval?",
                    "in prediction interval?",
                    f"reported Δ vs {reported['spec']['baseline']} [95% Welch]",
                    "rerun Δ",
                    "in 95% interval?",
                    "in prediction interval?",
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
        "--seeds K --seed-offset S --out DIR`) reselects its rates on its own seeds (the "
        "validation split is the same, [PROTOCOL.md](PROTOCOL.md) section 2). Each rerun mean "
        "and difference is set against the reported 95% interval and against the 95% "
        "prediction interval of a fresh run with the rerun's seed count (mean ± t s √(1/n + "
        "1/n'); Welch's analogue for a difference), the interval a replication lands in 95% of "
        "the time. Outside the prediction interval (**no**) the cell varies more between "
        "reruns than its seeds do, most often because the rate selection itself is noisy "
        "there, and the reported interval, which is conditional on the chosen rate, "
        "understates its uncertainty.",
        "",
        _tally_line(tally),
        "",
        *lines,
    ]
