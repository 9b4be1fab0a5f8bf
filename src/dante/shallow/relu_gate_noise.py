"""Noise-assisted subgradient dynamics on a ReLU gate and their confinement bound.

Algorithm 3 and Theorem 3.4.1 of ``003_a707f9d83869f5a2.txt`` (Ch. 3.4):
``w <- w - eta (g + zeta1) + sqrt(eta) zeta2`` (:func:`noise_assisted_subgradient`,
subgradient :func:`relu_subgradient`). The guarantee is *confinement* of the
first ``i_max`` iterates in a ball around ``w*`` (:func:`confinement_radius`,
:func:`confinement_failure_bound`, :func:`confinement_guarantee`), not
convergence. Re-exported by :mod:`dante.shallow.relu_gate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .relu_gate_common import (
    IterateResult,
    _count,
    _data,
    _nonneg,
    _positive,
    _vector,
)

__all__ = [
    "ConfinementGuarantee",
    "confinement_failure_bound",
    "confinement_guarantee",
    "confinement_radius",
    "noise_assisted_subgradient",
    "relu_subgradient",
]

# ------------------------------------------------- noise-assisted GD (3.4)


def relu_subgradient(X: Any, y: Any, w: Any) -> np.ndarray:
    """``g = -(1/S) sum_i 1{w.x_i >= 0} (y_i - ReLU(w.x_i)) x_i`` (Algorithm 3, line 4, ``003``).

    The subgradient of ``(1/2S) sum (y_i - ReLU(w.x_i))^2`` with the choice
    ``ReLU'(0) = 1``.
    """
    X, y = _data(X, y)
    w = _vector("w", w, X.shape[1])
    z = X @ w
    r = (z >= 0) * (y - np.maximum(z, 0.0))
    return -(X.T @ r) / len(X)


def noise_assisted_subgradient(
    X: Any,
    y: Any,
    eta: float,
    T: int,
    *,
    zeta1_radius: float = 0.0,
    zeta2_std: float = 0.0,
    w0: Any = None,
    seed: int = 0,
) -> IterateResult:
    """Noise-assisted subgradient dynamics on a ReLU gate, Algorithm 3 of ``003`` (Ch. 3.4).

    ``w_{t+1} = w_t - eta (g_t + zeta_{t,1}) + sqrt(eta) zeta_{t,2}`` with ``g_t``
    from :func:`relu_subgradient` (full batch).

    Parameters
    ----------
    X : array-like of shape (S, n)
    y : array-like of shape (S,)
        Realizable labels ``max(0, w*.x)`` for Theorem 3.4.1.
    eta : float
        Constant step; Theorem 3.4.1 needs ``eta < 1 / (C^2 sqrt(2 i_max))``.
    T : int
        Number of steps (``i_max``).
    zeta1_radius : float, default=0.0
        ``S1``. Choice: ``zeta_{t,1}`` uniform on the sphere of radius ``S1``
        (mean zero, ``||zeta_1|| <= S1`` as the theorem needs).
    zeta2_std : float, default=0.0
        Choice: ``zeta_{t,2} ~ N(0, zeta2_std^2 I)`` (case (b) of the remark
        after Theorem 3.4.1); the theorem needs ``E||zeta_2||^2 = n std^2 < n``.
    w0 : array-like of shape (n,), optional
        Start (default ``0``).
    seed : int, default=0

    Returns
    -------
    IterateResult
        ``trajectory[t]`` is ``w_t``, ``t = 0 .. T``.
    """
    X, y = _data(X, y)
    eta = _positive("eta", eta)
    T = _count("T", T, 1)
    s1 = _nonneg("zeta1_radius", zeta1_radius)
    s2 = _nonneg("zeta2_std", zeta2_std)
    if s2 >= 1.0:
        raise ValueError(
            f"zeta2_std must be < 1 (Theorem 3.4.1 needs E||zeta_2||^2 = n std^2 < n), got {s2}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    S, n = X.shape
    rng = np.random.default_rng(seed)
    w = np.zeros(n) if w0 is None else _vector("w0", w0, n).copy()
    traj = np.empty((T + 1, n))
    traj[0] = w
    root = math.sqrt(eta)
    for t in range(T):
        z = X @ w
        g = -(X.T @ ((z >= 0) * (y - np.maximum(z, 0.0)))) / S
        if s1 > 0:
            u = rng.standard_normal(n)
            g = g + s1 * u / np.linalg.norm(u)
        w = w - eta * g
        if s2 > 0:
            w = w + root * s2 * rng.standard_normal(n)
        traj[t + 1] = w
    return IterateResult(w=w, trajectory=traj, step=eta)


def confinement_radius(
    eta: float, i_max: int, *, C: float, S1: float, n: int, dist0: float, lam: float
) -> float:
    """Smallest ``r*`` allowed by Theorem 3.4.1 of ``003``.

    ``r*^2 >= lam + ||w_0 - w*||^2 + i_max (2 eta^2 (C^4 r*^2 + S1^2) + eta n)``,
    i.e. (the remark after the theorem)
    ``r*^2 = (lam + dist0^2 + i_max (eta n + 2 eta^2 S1^2)) / (1 - 2 i_max eta^2 C^4)``.

    Parameters
    ----------
    eta : float
        Step; must satisfy ``eta < 1 / (C^2 sqrt(2 i_max))``.
    i_max : int
        Horizon.
    C : float
        ``max_i ||x_i||``.
    S1 : float
        Bound on ``||zeta_1||``.
    n : int
        Dimension.
    dist0 : float
        ``||w_0 - w*||``.
    lam : float
        The deviation ``lambda > 0`` of the martingale bound.
    """
    eta = _positive("eta", eta)
    i_max = _count("i_max", i_max, 1)
    C = _positive("C", C)
    S1 = _nonneg("S1", S1)
    n = _count("n", n, 1)
    dist0 = _nonneg("dist0", dist0)
    lam = _positive("lam", lam)
    denom = 1.0 - 2.0 * i_max * eta * eta * C**4
    if denom <= 0:
        raise ValueError(
            f"eta={eta:.4g} is too large: Theorem 3.4.1 needs eta < 1/(C^2 sqrt(2 i_max)) = "
            f"{1 / (C * C * math.sqrt(2 * i_max)):.4g}"
        )
    return math.sqrt((lam + dist0**2 + i_max * (eta * n + 2 * eta * eta * S1 * S1)) / denom)


def _increment_bound(eta: float, r: float, C: float, S1: float, n: int, C_L: float) -> float:
    """``k`` of Lemma 3.4.3 / eq. (3.20) of ``003``: ``|z_{t+1} - z_t| <= k``."""
    return 2 * math.sqrt(eta) * C_L * (r + eta * (C * C * r + S1)) + eta * (
        2 * S1 * r + n + 2 * C * C * r * r + 2 * eta * (C**4 * r * r + S1 * S1)
    )


def confinement_failure_bound(
    eta: float,
    i_max: int,
    r: float,
    lam: float,
    *,
    C: float,
    S1: float,
    n: int,
    C_L: float,
    p_zeta2: float,
    k_power: int = 2,
) -> float:
    """Right side of Theorem 3.4.1 of ``003``: ``P[exists i <= i_max: ||w_i - w*|| > r*]``.

    ``i_max (P[||zeta_2|| > C_L] + exp(-lam^2 / (2 i_max k^p)))`` with ``k`` of
    eq. (3.20). The printed theorem has ``p = 1``, but the Azuma-Hoeffding bound
    it invokes (Theorem 3.D.1: ``exp(-lam^2 / (2 sum c_i^2))`` with ``c_i = k``)
    gives ``p = 2``; ``k_power=2`` (default) follows the derivation,
    ``k_power=1`` reproduces the printed statement.

    With ``p = 2`` the exponent saturates as ``lam`` grows (``k`` grows like
    ``r*^2``, hence like ``lam``) at about ``(1 - a)^2 / (4 a)`` with
    ``a = 2 i_max eta^2 C^4``, so a guarantee at level ``delta`` needs a step
    well below the printed ``1 / (C^2 sqrt(2 i_max))``: roughly
    ``a < 1 / (4 log(i_max / delta))``.
    """
    if k_power not in (1, 2):
        raise ValueError(f"k_power must be 1 (as printed) or 2 (Azuma), got {k_power!r}")
    k = _increment_bound(eta, r, C, S1, n, C_L)
    return float(i_max * (p_zeta2 + math.exp(-(lam * lam) / (2.0 * i_max * k**k_power))))


@dataclass
class ConfinementGuarantee:
    """Theorem 3.4.1 instantiated: with probability ``>= 1 - failure_bound``
    every iterate ``w_1 .. w_{i_max}`` lies within ``radius`` of ``w*``."""

    radius: float
    lam: float
    failure_bound: float
    C_L: float
    p_zeta2: float
    k: float


def confinement_guarantee(
    eta: float,
    i_max: int,
    *,
    C: float,
    n: int,
    dist0: float,
    S1: float = 0.0,
    zeta2_std: float = 0.0,
    delta: float = 0.05,
    C_L: float | None = None,
    k_power: int = 2,
) -> ConfinementGuarantee:
    """Smallest ``lambda`` (hence radius) for which Theorem 3.4.1 of ``003`` gives failure <= delta.

    Choices the theorem leaves open: ``C_L = 0.9 sqrt(n)`` unless given (any
    value in ``(0, sqrt(n))`` is allowed); ``P[||zeta_2|| > C_L]`` is the exact
    chi-square tail for Gaussian ``zeta_2`` (0 when ``zeta2_std = 0``);
    ``lambda`` is found by bisection on :func:`confinement_failure_bound`
    (``k_power`` as there: 2 = the Azuma exponent the proof gives, 1 = as printed).

    Raises
    ------
    ValueError
        If no ``lambda`` reaches ``delta``: with ``k_power=2`` this happens when
        ``eta`` is too large (see :func:`confinement_failure_bound`).
    """
    from scipy.stats import chi2

    delta = _positive("delta", delta)
    if delta >= 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    n = _count("n", n, 1)
    C_L = 0.9 * math.sqrt(n) if C_L is None else _positive("C_L", C_L)
    if C_L >= math.sqrt(n):
        raise ValueError(f"C_L must be in (0, sqrt(n)) = (0, {math.sqrt(n):.4g}), got {C_L}")
    s2 = _nonneg("zeta2_std", zeta2_std)
    p2 = 0.0 if s2 == 0 else float(chi2.sf(C_L * C_L / (s2 * s2), n))
    i_max = _count("i_max", i_max, 1)
    if i_max * p2 >= delta:
        raise ValueError(
            f"zeta2_std={s2} is too large for delta={delta}: i_max P[||zeta_2|| > C_L] = "
            f"{i_max * p2:.3g}; lower zeta2_std"
        )

    def fail(lam: float) -> tuple[float, float]:
        r = confinement_radius(eta, i_max, C=C, S1=S1, n=n, dist0=dist0, lam=lam)
        return confinement_failure_bound(
            eta, i_max, r, lam, C=C, S1=S1, n=n, C_L=C_L, p_zeta2=p2, k_power=k_power
        ), r

    lo, hi = 0.0, 1.0
    while fail(hi)[0] > delta:
        lo, hi = hi, 2 * hi
        if hi > 1e12:
            raise ValueError(
                f"no lambda reaches delta={delta} at eta={eta:.4g}: the Theorem 3.4.1 bound "
                f"saturates; lower eta (about 2 i_max eta^2 C^4 < 1/(4 log(i_max/delta)) is "
                f"needed) or raise delta"
            )
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if mid <= 0 or fail(mid)[0] > delta:
            lo = mid
        else:
            hi = mid
    f, r = fail(hi)
    k = _increment_bound(_positive("eta", eta), r, C, S1, n, C_L)
    return ConfinementGuarantee(radius=r, lam=hi, failure_bound=f, C_L=C_L, p_zeta2=p2, k=k)
