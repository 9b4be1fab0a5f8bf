"""Verdicts over seeds: difference-of-means intervals and the paper's claims.

Section 5 of ``docs/PROTOCOL.md``. Every comparison of a method with its
baseline is the difference of the per-seed means with a 95% Welch interval
(a seeded bootstrap over seeds is offered beside it). The verdict is
``"held"`` when the interval excludes 0 on the side the paper claims,
``"not held"`` when it excludes 0 on the other side, ``"inconclusive"`` when
it contains 0, and ``"too few seeds"`` below :data:`MIN_SEEDS` seeds a side.

The paper's central claim (``001_1787bf99fca4a9f2.txt``, Sec. 4.1: "Even in
cases where the final losses of DANTE and SGD are almost equal, DANTE always
minimizes the loss faster than SGD") is tested per cell by
:func:`central_claim` on the per-seed training-loss curves.

Everything here is a pure function of numbers and records; nothing is run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

__all__ = [
    "MIN_SEEDS",
    "Interval",
    "bootstrap_interval",
    "central_claim",
    "compare",
    "loss_at_fraction",
    "verdict",
    "weights_to_reach",
    "welch_interval",
]

#: Fewest seeds per side for a verdict (PROTOCOL.md, section 5).
MIN_SEEDS = 5

#: Verdict words.
HELD, NOT_HELD, INCONCLUSIVE, TOO_FEW = "held", "not held", "inconclusive", "too few seeds"


class Interval(NamedTuple):
    """A difference of means ``mean(a) - mean(b)`` and its interval.

    Attributes
    ----------
    diff : float
    lo, hi : float
        Bounds of the interval at the requested level.
    dof : float
        Welch-Satterthwaite degrees of freedom (``nan`` for a bootstrap).
    """

    diff: float
    lo: float
    hi: float
    dof: float


def _values(x: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size < 2:
        raise ValueError(f"an interval needs at least 2 values a side, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite (drop failed seeds first)")
    return arr


def welch_interval(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, level: float = 0.95
) -> Interval:
    """Welch t interval for ``mean(a) - mean(b)`` (unequal variances).

    Parameters
    ----------
    a, b : sequence of float
        Per-seed values of the two methods (at least 2 each, all finite).
    level : float, default=0.95
        Confidence level.

    Returns
    -------
    Interval
        ``(diff, lo, hi, dof)``: ``diff +- t_{(1+level)/2, dof} * se`` with
        ``se = sqrt(s_a^2/n_a + s_b^2/n_b)`` and the Welch-Satterthwaite
        ``dof``. When both samples are constant the interval is the point
        ``diff`` and ``dof = n_a + n_b - 2``.

    Notes
    -----
    The same interval as ``scipy.stats.ttest_ind(a, b, equal_var=False)
    .confidence_interval(level)`` (SciPy >= 1.11), computed from
    ``scipy.stats.t`` so that older SciPy gives it too.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    a, b = _values(a), _values(b)
    na, nb = a.size, b.size
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    diff = float(a.mean() - b.mean())
    se2 = va + vb
    if se2 == 0.0:
        return Interval(diff, diff, diff, float(na + nb - 2))
    dof = se2**2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = float(stats.t.ppf((1 + level) / 2, dof)) * math.sqrt(se2)
    return Interval(diff, diff - half, diff + half, float(dof))


def bootstrap_interval(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    level: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval for ``mean(a) - mean(b)`` over seeds.

    Each replicate resamples ``a`` and ``b`` independently with replacement
    (the seeds of the two methods are independent runs).

    Parameters
    ----------
    a, b : sequence of float
        Per-seed values (at least 2 each, all finite).
    level : float, default=0.95
    n_boot : int, default=10000
        Replicates.
    seed : int, default=0
        Seed of the resampling; the same seed gives the same interval.

    Returns
    -------
    Interval
        ``(diff, lo, hi, nan)`` with ``diff`` the observed difference.

    Notes
    -----
    With 5 seeds a side the percentile interval is narrower than the Welch
    interval (it ignores the t distribution's heavier tails); the verdicts
    use :func:`welch_interval`.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    a, b = _values(a), _values(b)
    rng = np.random.default_rng(seed)
    ma = a[rng.integers(0, a.size, (n_boot, a.size))].mean(axis=1)
    mb = b[rng.integers(0, b.size, (n_boot, b.size))].mean(axis=1)
    lo, hi = np.quantile(ma - mb, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(a.mean() - b.mean()), float(lo), float(hi), float("nan"))


def verdict(
    diff_interval: Interval | tuple[float, ...],
    higher_is_better: bool,
    claimed_better: bool,
    *,
    n_seeds: int | None = None,
    min_seeds: int = MIN_SEEDS,
) -> str:
    """The verdict on a claim from the interval of ``method - baseline``.

    Parameters
    ----------
    diff_interval : Interval or tuple
        ``(diff, lo, hi, ...)`` of the method minus the baseline, in the
        metric's own units (not oriented).
    higher_is_better : bool
        True for accuracies, False for losses and weights updated.
    claimed_better : bool
        Whether the paper claims the method better than the baseline.
    n_seeds : int, optional
        The smaller of the two seed counts; below ``min_seeds`` there is no
        verdict. ``None``: the caller has checked.
    min_seeds : int, default=MIN_SEEDS

    Returns
    -------
    str
        ``"held"``, ``"not held"``, ``"inconclusive"`` (the interval contains
        0) or ``"too few seeds"``.
    """
    if n_seeds is not None and n_seeds < min_seeds:
        return TOO_FEW
    _, lo, hi = diff_interval[:3]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return INCONCLUSIVE
    if lo <= 0.0 <= hi:
        return INCONCLUSIVE
    method_better = (lo > 0.0) == higher_is_better
    return HELD if method_better == bool(claimed_better) else NOT_HELD


def compare(
    method: Sequence[float | None],
    baseline: Sequence[float | None],
    *,
    higher_is_better: bool,
    claimed_better: bool | None = None,
    level: float = 0.95,
    n_boot: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """One comparison over seeds, oriented so that a positive difference favours the method.

    Parameters
    ----------
    method, baseline : sequence of float or None
        Per-seed values; ``None`` and non-finite values (failed seeds) are
        dropped and counted.
    higher_is_better : bool
    claimed_better : bool, optional
        The paper's direction; ``None``: no verdict (``"verdict": None``).
    level : float, default=0.95
    n_boot : int, default=0
        Bootstrap replicates (0: no bootstrap interval).
    seed : int, default=0
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``method_mean``, ``baseline_mean``, ``n_method``, ``n_baseline``,
        ``dropped`` (failed seeds, both sides), ``diff``/``lo``/``hi``
        (oriented: ``method - baseline`` when higher is better, else
        ``baseline - method``; ``None`` below 2 seeds a side), ``dof``,
        ``boot_lo``/``boot_hi`` (with ``n_boot``) and ``verdict``.
    """
    m = [float(v) for v in method if v is not None and math.isfinite(v)]
    b = [float(v) for v in baseline if v is not None and math.isfinite(v)]
    out: dict[str, Any] = {
        "method_mean": float(np.mean(m)) if m else None,
        "baseline_mean": float(np.mean(b)) if b else None,
        "n_method": len(m),
        "n_baseline": len(b),
        "dropped": len(method) - len(m) + len(baseline) - len(b),
        "diff": None,
        "lo": None,
        "hi": None,
        "dof": None,
        "verdict": None,
    }
    if len(m) >= 2 and len(b) >= 2:
        sign = 1.0 if higher_is_better else -1.0
        iv = welch_interval(m, b, level)
        lo, hi = sorted((sign * iv.lo, sign * iv.hi))
        out.update(diff=sign * iv.diff, lo=lo, hi=hi, dof=iv.dof)
        if n_boot:
            bi = bootstrap_interval(m, b, level, n_boot, seed)
            out["boot_lo"], out["boot_hi"] = sorted((sign * bi.lo, sign * bi.hi))
    if claimed_better is not None:
        n = min(len(m), len(b))
        if n < max(MIN_SEEDS, 2):
            out["verdict"] = TOO_FEW
        else:
            # the oriented interval: "higher" now always favours the method
            out["verdict"] = verdict((out["diff"], out["lo"], out["hi"]), True, claimed_better)
    return out


def _xy(curve: Mapping[str, Sequence[float]], key: str) -> tuple[np.ndarray, np.ndarray]:
    if "weights_updated" not in curve or key not in curve:
        raise ValueError(f"a curve needs 'weights_updated' and {key!r}, got {sorted(curve)}")
    x = np.asarray(curve["weights_updated"], dtype=float)
    y = np.asarray(curve[key], dtype=float)
    if x.size == 0 or x.size != y.size:
        raise ValueError(f"a curve needs as many weights_updated as {key} values (and some)")
    if np.any(np.diff(x) < 0):
        raise ValueError("a curve's weights_updated must not decrease")
    return x, y


def loss_at_fraction(
    curve: Mapping[str, Sequence[float]],
    budget: float,
    fraction: float,
    key: str = "train_loss",
) -> float:
    """A seed's ``key`` at ``fraction * budget`` weights updated.

    Parameters
    ----------
    curve : mapping
        ``{"weights_updated": [...], key: [...]}``, one seed's evaluation
        curve, ``weights_updated`` non-decreasing.
    budget : float
        The cell's cap of weights updated.
    fraction : float
        In ``[0, 1]``.
    key : str, default="train_loss"

    Returns
    -------
    float
        Linear interpolation between the two evaluations around the point;
        before the first evaluation the first value, after the last (a run
        that stopped early) the last value.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    x, y = _xy(curve, key)
    return float(np.interp(fraction * float(budget), x, y))


def weights_to_reach(
    curve: Mapping[str, Sequence[float]],
    target: float,
    budget: float,
    key: str = "train_loss",
) -> tuple[float, bool]:
    """Weights updated until a seed's ``key`` first falls to ``target`` or below.

    Parameters
    ----------
    curve : mapping
        One seed's evaluation curve (see :func:`loss_at_fraction`).
    target : float
        The loss to reach.
    budget : float
        What a seed that never reaches ``target`` counts as.
    key : str, default="train_loss"

    Returns
    -------
    weights : float
        At the first evaluation ``i`` with ``y[i] <= target``: the linear
        interpolation of the crossing between evaluations ``i - 1`` and ``i``
        (``x[0]`` when the first evaluation is already there); ``budget``
        when no evaluation reaches it.
    reached : bool
    """
    x, y = _xy(curve, key)
    hits = np.flatnonzero(y <= target)
    if hits.size == 0:
        return float(budget), False
    i = int(hits[0])
    if i == 0:
        return float(x[0]), True
    x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
    t = (y0 - target) / (y0 - y1) if math.isfinite(y0) else 1.0
    return float(x0 + t * (x1 - x0)), True


#: Fractions of the budget at which :func:`central_claim` compares training losses.
FRACTIONS = (0.25, 0.5)


def central_claim(
    cell_record: Mapping[str, Any],
    method: str = "dante",
    baseline: str = "sgd",
    *,
    fractions: Sequence[float] = FRACTIONS,
    key: str = "train_loss",
    level: float = 0.95,
) -> dict[str, Any]:
    """The claim "DANTE minimizes the loss faster than SGD" on one cell.

    Parameters
    ----------
    cell_record : mapping
        A cell of ``results/<name>.json``: ``budget_weights`` and
        ``methods.<key>.runs[i]`` with the final ``train_loss`` and the
        seed's ``curve`` (``weights_updated`` and ``train_loss``).
    method, baseline : str, default="dante", "sgd"
    fractions : sequence of float, default=(0.25, 0.5)
    key : str, default="train_loss"
    level : float, default=0.95

    Returns
    -------
    dict
        ``status``: ``"ok"``, ``"missing method"`` or ``"no per-seed
        curves"``; ``budget``; ``target`` (the baseline's mean final
        ``key``); ``measures``: a list of :func:`compare` dicts with ``name``
        added, all oriented so that positive favours ``method``:

        - ``"loss@25%"``, ``"loss@50%"``: ``key`` at that fraction of the
          budget (lower is better);
        - ``"final loss"``: the final ``key`` (lower is better);
        - ``"weights to reach"``: weights updated until the seed first
          reaches ``target`` (fewer is better), with ``never_method`` /
          ``never_baseline``, the seeds that never reached it and count as
          the budget.

        The paper's direction is "method better" for every measure.
    """
    methods = cell_record.get("methods", {})
    out: dict[str, Any] = {"method": method, "baseline": baseline, "measures": []}
    if method not in methods or baseline not in methods:
        out["status"] = "missing method"
        return out
    runs_m = [r for r in methods[method].get("runs", []) if "error" not in r]
    runs_b = [r for r in methods[baseline].get("runs", []) if "error" not in r]
    budget = float(cell_record["budget_weights"])
    out["budget"] = budget
    finals_b = [r.get(key) for r in runs_b]
    finals_b = [float(v) for v in finals_b if v is not None and math.isfinite(v)]
    out["target"] = float(np.mean(finals_b)) if finals_b else None
    if (
        not runs_m
        or not runs_b
        or not all(
            isinstance(r.get("curve"), Mapping) and key in r["curve"] for r in runs_m + runs_b
        )
    ):
        out["status"] = "no per-seed curves"
        return out
    out["status"] = "ok"

    def measure(name: str, a: list, b: list, **extra: Any) -> None:
        res = compare(a, b, higher_is_better=False, claimed_better=True, level=level)
        # failed seeds: the runs dropped above count too
        res["dropped"] += len(methods[method]["runs"]) - len(runs_m)
        res["dropped"] += len(methods[baseline]["runs"]) - len(runs_b)
        out["measures"].append({"name": name, **res, **extra})

    for f in fractions:
        measure(
            f"loss@{f:.0%}",
            [loss_at_fraction(r["curve"], budget, f, key) for r in runs_m],
            [loss_at_fraction(r["curve"], budget, f, key) for r in runs_b],
            fraction=f,
        )
    measure("final loss", [r.get(key) for r in runs_m], [r.get(key) for r in runs_b])
    if out["target"] is not None:
        reach_m = [weights_to_reach(r["curve"], out["target"], budget, key) for r in runs_m]
        reach_b = [weights_to_reach(r["curve"], out["target"], budget, key) for r in runs_b]
        measure(
            "weights to reach",
            [w for w, _ in reach_m],
            [w for w, _ in reach_b],
            never_method=sum(not ok for _, ok in reach_m),
            never_baseline=sum(not ok for _, ok in reach_b),
        )
    return out
