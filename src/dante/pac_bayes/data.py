"""Synthetic two-cluster data of ``003`` Sec. 6.4.2.

"We randomly sample m = 1000 points in R^n from two different isotropic
variance 1 normal distributions centered at 1 = (1, ..., 1) and a1 ... We
reject a sample x if min(||x - 1||_inf, ||x - a1||_inf) > 1." Accepted
points therefore lie in the union of the two cubes ``C_c = {x : ||x -
c||_inf <= 1}``. Plain rejection accepts only about ``0.683^n`` of the draws
(``5e-4`` at ``n = 20``, ``2e-7`` at ``n = 40``), so
:func:`two_clusters` samples the same distribution exactly in another way:
the law of ``x ~ N(c_y, I)`` given ``x in C_1 u C_a`` has density
proportional to ``phi(x) 1[C_1 u C_a]``. Draw from the mixture of the two
truncated normals ``N(c_y, I) | C_c`` (independent coordinates) with weights
``P(C_c)``, whose density is proportional to ``phi(x) (1[C_1] + 1[C_a])``,
and keep a draw with probability ``1 / (1[C_1] + 1[C_a])``: what is kept has
density proportional to ``phi(x) 1[C_1 u C_a]``. The cubes overlap only for
``a <= 3``.

Labels: the two normals are drawn with probability 1/2 each (the thesis does
not say; by the symmetry ``x -> (1 + a)1 - x`` both are accepted equally
often, so the labels of the accepted points stay fair coin flips).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, truncnorm

__all__ = ["input_bound", "rejection_rule", "two_clusters"]


def rejection_rule(X: np.ndarray, a: float) -> np.ndarray:
    """Whether each row is kept: ``min(||x - 1||_inf, ||x - a 1||_inf) <= 1``."""
    X = np.asarray(X, dtype=np.float64)
    d1 = np.max(np.abs(X - 1.0), axis=1)
    da = np.max(np.abs(X - float(a)), axis=1)
    return np.minimum(d1, da) <= 1.0


def input_bound(n: int) -> float:
    """``B`` of Sec. 6.4.2: 50 for ``n = 20`` and 100 otherwise."""
    return 50.0 if n == 20 else 100.0


def _cube_prob(center: float, lo: float, hi: float, n: int) -> float:
    return float((norm.cdf(hi - center) - norm.cdf(lo - center)) ** n)


def two_clusters(
    m: int, n: int, a: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``m`` labelled points of Sec. 6.4.2 in ``R^n`` with separation ``a``.

    Parameters
    ----------
    m : int
        Number of samples, >= 1.
    n : int
        Dimension, >= 1.
    a : float
        The second centre is ``a 1``; ``a != 1``.
    rng : numpy.random.Generator

    Returns
    -------
    X : ndarray, shape (m, n), float32
    y : ndarray, shape (m,), int64
        0 for the normal centred at ``1``, 1 for the one at ``a 1``.
    """
    if int(m) != m or m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not np.isfinite(a) or a == 1:
        raise ValueError(f"a must be a finite number other than 1, got {a!r}")
    centers = (1.0, float(a))
    Xs, ys, have = [], [], 0
    while have < m:
        size = 2 * (m - have) + 16
        y = rng.integers(0, 2, size)
        X = np.empty((size, n))
        for label, c in enumerate(centers):
            rows = np.flatnonzero(y == label)
            # which cube to draw in, weights P(C_1), P(C_a) under N(c, I)
            p = np.array([_cube_prob(c, k - 1, k + 1, n) for k in centers])
            cube = rng.choice(2, size=rows.size, p=p / p.sum())
            for k_idx, k in enumerate(centers):
                r = rows[cube == k_idx]
                lo, hi = (k - 1) - c, (k + 1) - c
                X[r] = c + truncnorm.rvs(lo, hi, size=(r.size, n), random_state=rng)
        inside = (np.max(np.abs(X - 1.0), axis=1) <= 1).astype(int) + (
            np.max(np.abs(X - float(a)), axis=1) <= 1
        ).astype(int)
        keep = rng.random(size) < 1.0 / np.maximum(inside, 1)
        Xs.append(X[keep])
        ys.append(y[keep])
        have += int(keep.sum())
    X = np.concatenate(Xs)[:m].astype(np.float32)
    y = np.concatenate(ys)[:m].astype(np.int64)
    return X, y
