"""Modified SGD for one ReLU gate, Algorithm 2 / Theorem 3.3.1 of ``003_a707f9d83869f5a2.txt``.

Ch. 3.3: stochastic updates ``w <- w + eta 1{y > 0} (y - w.x) x`` on
realizable data ``y = max(0, w*.x)``; with ``eta = lambda_min / c1``
(:func:`modified_sgd_step_size`, moments :func:`relu_gate_moments`) eq. (3.5)
and Lemma 3.E.1 give the contraction ``1 - lambda_min^2 / c1`` of
``E||w_t - w*||^2`` (:func:`modified_sgd_rate`); the exact mean-square rate
under uniform sampling is :func:`modified_sgd_exact_rate`. Re-exported by
:mod:`dante.shallow.relu_gate`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .relu_gate_common import (
    IterateResult,
    _count,
    _data,
    _positive,
    _vector,
)

__all__ = [
    "modified_sgd_exact_rate",
    "modified_sgd_rate",
    "modified_sgd_relu",
    "modified_sgd_step_size",
    "relu_gate_moments",
]

# --------------------------------------------------------- modified SGD (3.3)


def relu_gate_moments(X: Any, y: Any = None, *, w_star: Any = None) -> tuple[float, float]:
    """``(lambda_min(E[1 x x^T]), E[1 ||x||^4])`` on the empirical distribution of ``X``.

    The indicator is ``1{w*.x > 0}`` in Theorem 3.3.1 of ``003``; ``w*`` is
    unknown to a learner, so by default it is the *observable* label indicator
    ``1{y > 0}``, equal to ``1{w*.x > 0}`` for realizable labels
    ``y = max(0, w*.x)``. Pass exactly one of ``y`` and ``w_star``.
    """
    X, y = _data(X, y)
    if (w_star is None) == (y.size == 0):
        raise ValueError("pass exactly one of y (observable indicator 1{y>0}) and w_star")
    if w_star is not None:
        ind = X @ _vector("w_star", w_star, X.shape[1]) > 0
    else:
        ind = y > 0
    Xp = X[ind]
    m = len(X)
    A = Xp.T @ Xp / m
    lam = float(np.linalg.eigvalsh(A)[0])
    c1 = float(np.sum(np.einsum("ij,ij->i", Xp, Xp) ** 2) / m)
    return lam, c1


def modified_sgd_step_size(X: Any, y: Any = None, *, w_star: Any = None) -> float:
    """Theorem 3.3.1 of ``003`` (``alpha = -1``): ``eta = lambda_min / c1``.

    Estimated from the data with the label indicator ``1{y > 0}`` in place of
    ``1{w*.x > 0}`` (see :func:`relu_gate_moments`).

    Raises
    ------
    ValueError
        If ``E[1{y>0} x x^T]`` is singular (the theorem's positive-definiteness
        assumption fails: too few positive labels, or they span a subspace).
    """
    lam, c1 = relu_gate_moments(X, y, w_star=w_star)
    if not lam > 1e-12 * max(c1, 1e-300) ** 0.5:
        raise ValueError(
            f"E[1{{y>0}} x x^T] is singular (lambda_min = {lam:.3g}); Theorem 3.3.1 needs it "
            "positive definite: give more samples with y > 0 spanning all features"
        )
    return lam / c1


def modified_sgd_rate(X: Any, y: Any = None, *, w_star: Any = None) -> float:
    """Predicted per-step contraction ``1 - lambda_min^2 / c1`` of ``E||w_t - w*||^2``.

    Equation (3.5) and Lemma 3.E.1 (case 1, ``eta' = b / (2 c1)``,
    ``b = 2 lambda_min``) of ``003``: with ``eta = lambda_min / c1``,
    ``E||w_{t+1} - w*||^2 <= (1 - lambda_min^2 / c1) E||w_t - w*||^2``. It is a
    rate for the *mean squared* distance; per run, ``||w_t - w*||`` shrinks by
    about its square root per step.
    """
    lam, c1 = relu_gate_moments(X, y, w_star=w_star)
    if not lam > 0:
        raise ValueError("E[1 x x^T] is singular; Theorem 3.3.1 gives no rate")
    return 1.0 - lam * lam / c1


def modified_sgd_exact_rate(X: Any, y: Any, eta: float) -> float:
    """Exact asymptotic per-step rate of ``E||w_t - w*||^2`` under uniform sampling.

    On realizable data ``1{y>0} (y - w.x) x = 1{y>0} x x^T (w* - w)``, so
    ``d_{t+1} = (I - eta 1{y>0} x x^T) d_t`` with ``d = w - w*``: the second
    moment ``E[d d^T]`` evolves by the linear map ``S -> E[P S P]``,
    ``P = I - eta A``, ``A = 1{y>0} x x^T``, whose matrix is
    ``I (x) I - eta (E[A] (x) I + I (x) E[A]) + eta^2 E[A (x) A]``. Its spectral
    radius is the exact rate; it is at most ``lambda_max(E[P^2])``, which (3.4)
    of ``003`` bounds by ``1 - 2 eta lambda_min + eta^2 c1``. An independent
    oracle for :func:`modified_sgd_rate` (cost ``O(m n^4)``).
    """
    X, y = _data(X, y)
    eta = _positive("eta", eta)
    m, n = X.shape
    Xp = X[y > 0]
    EA = Xp.T @ Xp / m
    Z = np.einsum("ij,ik->ijk", Xp, Xp).reshape(len(Xp), n * n)
    EAA = Z.T @ Z / m
    eye = np.eye(n)
    M = np.eye(n * n) - eta * (np.kron(EA, eye) + np.kron(eye, EA)) + eta * eta * EAA
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def modified_sgd_relu(
    X: Any,
    y: Any,
    eta: float | None = None,
    T: int = 1000,
    *,
    w1: Any = None,
    seed: int = 0,
) -> IterateResult:
    """Modified SGD for a ReLU gate, Algorithm 2 of ``003_a707f9d83869f5a2.txt`` (Ch. 3.3).

    Each step samples one row ``(x_t, y_t)`` uniformly (with replacement, the
    thesis' fresh sample from ``D`` being a draw from the empirical
    distribution) and sets ``w <- w + eta 1{y_t > 0} (y_t - w.x_t) x_t``
    (``alpha = -1``).

    Parameters
    ----------
    X : array-like of shape (m, n)
    y : array-like of shape (m,)
        Labels, realizable ``max(0, w*.x)`` for the theorem.
    eta : float, optional
        Step. ``None``: :func:`modified_sgd_step_size`, the theorem's
        ``lambda_min / c1`` estimated with the observable indicator ``1{y>0}``
        (``w*`` is not observable).
    T : int, default=1000
        Number of single-sample steps.
    w1 : array-like of shape (n,), optional
        Start (any point; default ``0``).
    seed : int, default=0
        Seeds the sample order (``numpy.random.default_rng``).

    Returns
    -------
    IterateResult
    """
    X, y = _data(X, y)
    eta = modified_sgd_step_size(X, y) if eta is None else _positive("eta", eta)
    T = _count("T", T, 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    m, n = X.shape
    w = np.zeros(n) if w1 is None else _vector("w1", w1, n).copy()
    idx = np.random.default_rng(seed).integers(0, m, size=T)
    traj = np.empty((T + 1, n))
    traj[0] = w
    pos = y > 0
    for t, i in enumerate(idx):
        if pos[i]:
            x = X[i]
            w = w + (eta * (y[i] - w @ x)) * x
        traj[t + 1] = w
    return IterateResult(w=w, trajectory=traj, step=eta)
