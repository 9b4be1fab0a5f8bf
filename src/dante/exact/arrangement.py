"""Linearly separable dichotomies of ``D`` points in ``R^n`` (the hyperplane arrangement).

Step 1 of Algorithm 1 of ``003_a707f9d83869f5a2.txt`` (Ch. 2.4, Theorem 2.4.1):
a hidden ReLU unit ``max(0, w . x + b)`` is active on the data exactly on a
set ``P_+ = {i : w . x_i + b > 0}``, a *dichotomy* cut by an affine
hyperplane. Lifting ``x -> (x, 1)`` turns the affine hyperplanes of ``R^n``
into linear ones of ``R^{n+1}``, i.e. the dichotomies are the cells of the
central arrangement of the ``D`` hyperplanes ``{theta : theta . (x_i, 1) = 0}``
in the weight space ``R^{n+1}``. For points in general position (no ``n + 1``
of them on an affine hyperplane) Cover (1965) counts them:

    C(D, n + 1) = 2 sum_{i=0}^{n} binom(D - 1, i)     (empty and full set included).

Enumeration (the thesis leaves it open): every nonempty cell of the
arrangement has a vertex-like witness: a separating hyperplane can be pivoted
until it passes through ``n`` data points, and the ``2^n`` ways of putting
those points on either side are then realised by a small perturbation. So for
every ``n``-subset ``S`` of the points the hyperplane through ``S`` (unique in
general position) is perturbed by the minimum-norm ``d theta`` with
``d theta . (x_i, 1) = eta sigma_i`` on ``S`` (``sigma in {-1, +1}^S``), with
``eta`` small enough that no other point changes side, in both orientations;
the empty and full sets are added. ``binom(D, n) 2^{n+1}`` candidates,
deduplicated; every dichotomy comes with a *strict* witness ``(w, b)``
(``|w . x_i + b| > 0`` for all ``i``), used as the feasible start of the
convex program of :mod:`dante.exact.convex_fit`. With ``D <= n`` points every
subset is separable and the ``2^D`` dichotomies are produced directly.

Cost: ``O(binom(D, n) 2^n (n^3 + D n))`` time, the count above in memory.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["check_general_position", "cover_count", "dichotomies"]


def cover_count(D: int, n: int) -> int:
    """Cover's number of linearly separable dichotomies of ``D`` points in general
    position in ``R^n`` by affine hyperplanes: ``2 sum_{i=0}^{n} binom(D - 1, i)``."""
    if D < 1 or n < 0:
        raise ValueError(f"need D >= 1 and n >= 0, got D={D}, n={n}")
    return 2 * sum(math.comb(D - 1, i) for i in range(n + 1))


def _as_points(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must have shape (D, n) or (D,), got {X.shape}")
    return X


def check_general_position(X, rtol: float = 1e-10) -> None:
    """Raise ``ValueError`` unless no ``n + 1`` points of ``X`` (shape ``(D, n)``)
    lie on an affine hyperplane (and no two coincide).

    Checked through the lifted points ``(x_i, 1)``: every ``min(D, n + 1)`` of
    them must be linearly independent (smallest singular value above
    ``rtol`` times the data scale). ``O(binom(D, n + 1) n^3)``.
    """
    X = _as_points(X)
    D, n = X.shape
    scale = max(1.0, float(np.abs(X).max()))
    X1 = np.hstack([X, np.ones((D, 1))])
    r = min(D, n + 1)
    for S in itertools.combinations(range(D), r):
        s = np.linalg.svd(X1[list(S)], compute_uv=False)
        if s[-1] <= rtol * scale * math.sqrt(n + 1):
            raise ValueError(
                f"X must be in general position (no {n + 1} points on an affine hyperplane, "
                f"no duplicates): rows {list(S)} are degenerate; add a tiny jitter"
            )


def dichotomies(X) -> tuple[np.ndarray, np.ndarray]:
    """All linearly separable dichotomies of the points, with strict witnesses.

    Parameters
    ----------
    X : array-like of shape (D, n) or (D,)
        Points in general position (:func:`check_general_position`; add a tiny
        jitter otherwise).

    Returns
    -------
    masks : ndarray of bool, shape (P, D)
        ``masks[k, i]``: point ``i`` on the positive side; row 0 is the empty
        set, row 1 the full set. ``P = cover_count(D, n)`` (``2^D`` if ``D <= n``).
    witnesses : ndarray of shape (P, n + 1)
        ``(w, b)`` with ``w . x_i + b > 0`` exactly on ``masks[k]`` (``< 0`` off it).
    """
    X = _as_points(X)
    D, n = X.shape
    check_general_position(X)
    X1 = np.hstack([X, np.ones((D, 1))])
    found: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def add(theta: np.ndarray) -> None:
        z = X1 @ theta
        if np.min(np.abs(z)) <= 1e-12 * (1.0 + np.abs(X1).max() * np.abs(theta).max()):
            raise AssertionError("witness is not strict")  # pragma: no cover
        m = z > 0
        found.setdefault(m.tobytes(), (m, theta))

    e = np.zeros(n + 1)
    e[-1] = 1.0
    add(-e)
    add(e)
    if D <= n:
        # every subset is separable: solve X1 theta = +-1 (full row rank in general position)
        pinv = np.linalg.pinv(X1)
        for sig in itertools.product((1.0, -1.0), repeat=D):
            add(pinv @ np.array(sig))
    else:
        for S in itertools.combinations(range(D), n):
            _add_subset(X1, list(S), add)
    vals = list(found.values())
    return np.array([v[0] for v in vals]), np.array([v[1] for v in vals])


def _add_subset(X1: np.ndarray, S: list[int], add) -> None:
    """The ``2^{|S|+1}`` perturbations of the hyperplane through the points ``S``."""
    D, q = X1.shape
    B = X1[S]  # (n, n+1), rank n
    _, _, Vt = np.linalg.svd(B)
    theta0 = Vt[-1]  # unit normal of the hyperplane through S (null space of B)
    others = np.ones(D, bool)
    others[S] = False
    z0 = X1[others] @ theta0
    pinv = np.linalg.pinv(B)
    for sig in itertools.product((1.0, -1.0), repeat=len(S)):
        d = pinv @ np.array(sig)  # B d = sig, minimum norm
        dz = np.abs(X1[others] @ d)
        ratio = np.abs(z0) / np.maximum(dz, 1e-300)
        eta = 0.5 * min(1.0, float(ratio.min())) if others.any() else 0.5
        for orient in (1.0, -1.0):
            add(orient * theta0 + eta * d)
