"""Step-size tuning of ``003`` Appendix 5.D and the seed statistics of the study.

Appendix 5.D of ``003_a707f9d83869f5a2.txt`` (after Wilson et al., 2017):
start from a logarithmically spaced grid of five step sizes; if the best one
(lowest training loss at the end of the run, Sec. 5.5) is at an end of the
grid, try new points beyond it until the best is an interior point. The
thesis's initial grids:

* NAG: ``{3e-3, 1e-3, 3e-4, 1e-4, 3e-5}``, ``mu in {0.9, 0.99}``;
* RMSProp: ``{3e-4, 1e-4, 3e-5, 1e-5, 3e-6}``, ``beta2 in {0.9, 0.99}``,
  ``xi = 1e-10``;
* ADAM: ``{3e-4, 1e-4, 3e-5, 1e-5, 3e-6}``, ``beta1 in {0.9, 0.99}``,
  ``beta2 = 0.999``, ``zeta = 1e-8``.

New points continue the grid's 1-3-10 ladder (factors 3 and 10/3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "NAG_GRID",
    "RMSPROP_ADAM_GRID",
    "Comparison",
    "TuneResult",
    "compare",
    "ladder_step",
    "mean_se",
    "tune",
]

NAG_GRID = (3e-3, 1e-3, 3e-4, 1e-4, 3e-5)
RMSPROP_ADAM_GRID = (3e-4, 1e-4, 3e-5, 1e-5, 3e-6)


def ladder_step(lr: float, up: bool) -> float:
    """The next point of the 1-3-10 ladder above (``up``) or below ``lr``."""
    mant = lr / 10 ** math.floor(math.log10(lr) + 1e-9)
    three = mant > 2.0  # on the ladder the mantissa is 1 or 3
    if up:
        return lr * (10 / 3 if three else 3)
    return lr / (3 if three else 10 / 3)


@dataclass
class TuneResult:
    """Final training loss per tried step size and the chosen one."""

    best: float
    losses: dict[float, float] = field(default_factory=dict)
    extended: int = 0


def tune(
    final_train_loss: Callable[[float], float],
    grid: Sequence[float],
    *,
    max_extensions: int = 3,
) -> TuneResult:
    """Appendix 5.D's grid search: lowest final training loss, extend at the ends.

    ``final_train_loss(lr)`` runs one configuration and returns its final
    training loss (``inf`` or ``nan`` for a diverged run, which never wins).
    At most ``max_extensions`` new points are added.
    """
    res = TuneResult(best=float("nan"))

    def score(lr: float) -> float:
        if lr not in res.losses:
            v = float(final_train_loss(lr))
            res.losses[lr] = v if math.isfinite(v) else math.inf
        return res.losses[lr]

    for lr in grid:
        score(lr)
    while True:
        lrs = sorted(res.losses)
        best = min(lrs, key=lambda v: (res.losses[v], v))
        res.best = best
        if res.extended >= max_extensions or not math.isfinite(res.losses[best]):
            return res
        if best == lrs[-1]:
            score(ladder_step(best, up=True))
        elif best == lrs[0]:
            score(ladder_step(best, up=False))
        else:
            return res
        res.extended += 1


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (``std(ddof=1)/sqrt(n)``; 0 for one value)."""
    v = np.asarray(values, dtype=float)
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0
    return float(v.mean()), se


@dataclass
class Comparison:
    """``a`` lower than ``b``: difference of means and its standard error."""

    mean_a: float
    mean_b: float
    diff: float
    se: float

    @property
    def significant(self) -> bool:
        """``b - a > 2 SE`` (and, with one seed, merely ``b > a``)."""
        return self.diff > 2.0 * self.se

    def text(self, label_a: str, label_b: str) -> str:
        return (
            f"{label_a} {self.mean_a:.4g} vs {label_b} {self.mean_b:.4g} "
            f"(gap {self.diff:+.3g}, 2 SE {2 * self.se:.2g})"
        )


def compare(a: Sequence[float], b: Sequence[float]) -> Comparison:
    """How much lower ``a`` is than ``b`` (means over seeds; SE of the difference)."""
    ma, sa = mean_se(a)
    mb, sb = mean_se(b)
    return Comparison(ma, mb, mb - ma, math.sqrt(sa**2 + sb**2))
