"""GLM-Tron, Algorithm 4 / Theorem 3.5.2 of ``003_a707f9d83869f5a2.txt`` (Ch. 3.5).

``w_1 = 0, w <- w + (1/m) sum_i (y_i - sigma(w.x_i)) x_i`` for a
non-decreasing ``L``-Lipschitz ``sigma`` with ``L < 2``, ``||x_i|| <= 1`` and
bounded (even adversarial) label noise ``|xi_i| <= theta``; within
``T = ||w*||^2 / eps`` steps (the printed ``||w*|| / eps`` is a slip,
``docs/ERRATA.md``) the effective risk is below
``L / (2 - L) (eps + theta^2 + 2 theta W (L + 1))``: :func:`glmtron`,
:func:`glmtron_steps`, :func:`glmtron_risk_bound`, :func:`effective_risk`.
Re-exported by :mod:`dante.shallow.relu_gate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._numerics import ceil_tolerant
from .relu_gate_common import (
    GLMTronResult,
    _activation,
    _count,
    _data,
    _nonneg,
    _positive,
    _vector,
)

__all__ = [
    "effective_risk",
    "glmtron",
    "glmtron_risk_bound",
    "glmtron_steps",
]

# ---------------------------------------------------------------- GLM-Tron


def glmtron_steps(w_norm_bound: float, eps: float) -> int:
    """``T = ceil(W^2 / eps)``, GLM-Tron's step count (Theorem 3.5.2 of ``003``).

    The thesis prints ``||w*|| / eps``; its proof (Appendix 3.B) lowers the
    *squared* distance ``||w_t - w*||^2 <= W^2`` by ``eps`` per step, hence
    ``W^2 / eps`` (``docs/ERRATA.md``). Float noise of relative size 1e-12 does
    not add a step: a ``W = ||w*||`` computed one ulp above 2 still gives
    ``T = 400`` at ``eps = 0.01`` (:func:`dante._numerics.ceil_tolerant`, as
    :func:`dante.theory.slqc.theory_hyperparameters` rounds).

    Parameters
    ----------
    w_norm_bound : float
        ``W >= ||w_1 - w*|| = ||w*||`` (``w_1 = 0``).
    eps : float
        Target accuracy.
    """
    W = _positive("w_norm_bound", w_norm_bound)
    eps = _positive("eps", eps)
    return max(1, ceil_tolerant(W * W / eps))


def glmtron_risk_bound(eps: float, theta: float, w_norm_bound: float, lipschitz: float) -> float:
    """Theorem 3.5.2 of ``003``: ``L / (2 - L) * (eps + theta^2 + 2 theta W (L + 1))``.

    Bound on the effective risk ``(1/S) sum (sigma(w_T.x_i) - sigma(w*.x_i))^2``
    reached within ``T = W^2 / eps`` GLM-Tron steps when ``||x_i|| <= 1`` and the
    label noise is bounded by ``|xi_i| <= theta`` (any sign pattern).

    Parameters
    ----------
    eps : float
    theta : float
        Noise bound (``0``: realizable).
    w_norm_bound : float
        ``W``, with ``||w_t - w*|| <= W`` (the proof takes ``W = ||w*||``).
    lipschitz : float
        ``L < 2``.
    """
    eps = _positive("eps", eps)
    theta = _nonneg("theta", theta)
    W = _nonneg("w_norm_bound", w_norm_bound)
    L = _positive("lipschitz", lipschitz)
    if L >= 2:
        raise ValueError(f"lipschitz must be < 2 for the GLM-Tron bound, got {L}")
    return L / (2.0 - L) * (eps + theta * theta + 2.0 * theta * W * (L + 1.0))


def effective_risk(
    X: Any,
    w: Any,
    w_star: Any,
    activation: str | Callable[[np.ndarray], np.ndarray] = "relu",
) -> float:
    """``(1/S) sum_i (sigma(w.x_i) - sigma(w*.x_i))^2``, the thesis' ``L~_S`` (Lemma 3.5.1)."""
    X, _ = _data(X, None)
    fn, _ = _activation(activation, 1.0 if not isinstance(activation, str) else None)
    w = _vector("w", w, X.shape[1])
    w_star = _vector("w_star", w_star, X.shape[1])
    return float(np.mean((fn(X @ w) - fn(X @ w_star)) ** 2))


def glmtron(
    X: Any,
    y: Any,
    activation: str | Callable[[np.ndarray], np.ndarray] = "relu",
    T: int | None = None,
    *,
    eps: float | None = None,
    w_norm_bound: float | None = None,
    lipschitz: float | None = None,
    step: float = 1.0,
    w1: Any = None,
    adversary: Callable[[int, np.ndarray], np.ndarray] | None = None,
) -> GLMTronResult:
    """GLM-Tron, Algorithm 4 of ``003_a707f9d83869f5a2.txt`` (Ch. 3.5).

    ``w_1 = 0``; ``w_{t+1} = w_t + (step/m) sum_i (y_i - sigma(w_t.x_i)) x_i``.

    Parameters
    ----------
    X : array-like of shape (m, n)
        Inputs. Theorem 3.5.2 needs ``||x_i|| <= 1``; more generally the run is
        GLM-Tron on the rescaled inputs ``x / R`` whenever ``step <= 1 / R^2``
        with ``R = max ||x_i||`` (``w`` rescaled by ``R``), so the check is
        ``step * max ||x_i||^2 <= 1``.
    y : array-like of shape (m,)
        Labels ``sigma(w*.x_i) + xi_i``.
    activation : str or callable, default="relu"
        A name from :data:`GATE_ACTIVATIONS` or a non-decreasing callable (then
        ``lipschitz`` is required). ``L < 2`` is required (Theorem 3.5.2).
    T : int, optional
        Number of steps. Default: ``ceil(w_norm_bound^2 / eps)``
        (:func:`glmtron_steps`; the printed ``||w*||/eps`` is a slip).
    eps, w_norm_bound : float, optional
        Give both when ``T`` is omitted.
    lipschitz : float, optional
        Overrides the Lipschitz constant of a named activation.
    step : float, default=1.0
        The thesis' step is 1. Must satisfy ``step * max ||x_i||^2 <= 1``.
    w1 : array-like of shape (n,), optional
        Start (the thesis: ``0``; the bound then uses ``W >= ||w1 - w*||``).
    adversary : callable, optional
        ``adversary(t, w_t) -> xi`` of shape ``(m,)``, added to ``y`` at step
        ``t`` only. Lemma 3.5.1 holds step by step, so an adaptive bounded
        adversary is covered by Theorem 3.5.2 with ``theta = max |xi|``.

    Returns
    -------
    GLMTronResult
        ``trajectory[t]`` is ``w_{t+1}``, ``t = 0 .. T``.
    """
    X, y = _data(X, y)
    fn, L = _activation(activation, lipschitz)
    if L >= 2:
        raise ValueError(
            f"activation has Lipschitz constant {L} >= 2; GLM-Tron (Theorem 3.5.2) needs L < 2"
        )
    if T is None:
        if eps is None or w_norm_bound is None:
            raise ValueError(
                "T is not given: pass T, or both eps and w_norm_bound (T = ceil(W^2/eps))"
            )
        T = glmtron_steps(w_norm_bound, eps)
    T = _count("T", T, 1)
    step = _positive("step", step)
    r2 = float(np.max(np.einsum("ij,ij->i", X, X)))
    if step * r2 > 1.0 + 1e-9:
        raise ValueError(
            f"step * max ||x_i||^2 = {step * r2:.4g} > 1; GLM-Tron needs ||x_i|| <= 1 "
            f"(Theorem 3.5.2): rescale X by 1/{math.sqrt(r2):.4g} or pass step <= {1 / r2:.4g}"
        )
    m, n = X.shape
    w = np.zeros(n) if w1 is None else _vector("w1", w1, n).copy()
    traj = np.empty((T + 1, n))
    traj[0] = w
    for t in range(T):
        yt = y
        if adversary is not None:
            xi = np.asarray(adversary(t, w.copy()), dtype=np.float64)
            if xi.shape != y.shape or not np.isfinite(xi).all():
                raise ValueError(f"adversary must return a finite array of shape {y.shape}")
            yt = y + xi
        w = w + (step / m) * (X.T @ (yt - fn(X @ w)))
        traj[t + 1] = w
    return GLMTronResult(w=w, trajectory=traj, step=step, T=T, lipschitz=L)
