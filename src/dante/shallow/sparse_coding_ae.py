"""The sparse-coding ReLU autoencoder of the Mukherjee thesis, Ch. 4.

``003_a707f9d83869f5a2.txt``, eq. (1.3) and Ch. 4.2-4.6: data ``y = A* x*`` with
``A* in R^{n x h}`` (unit, incoherent columns) and a non-negative code ``x*``
with ``k = h^p`` nonzeros in ``[a, b]``; the weight-tied autoencoder

    r = ReLU(W y - eps),   y_hat = W^T r,   L = 1/2 ||y_hat - y||^2,

with ``W in R^{h x n}`` whose rows ``W_i`` (the columns of ``W^T``) should sit
near the columns ``A*_i``. Theorem 4.3.1 sets ``eps = 2 m_1 k (delta + mu/sqrt(n))``
and Theorem 4.3.2 bounds ``||E[dL/dW_i]|| = o(max(m_1^2, m_2) h^{p-1})`` inside the
columnwise ``delta``-ball of ``A*``.

The gradient of ``L`` with respect to ``W`` (both occurrences: encoder ``W y``
and decoder ``W^T r``) is, per sample, with ``f = y_hat - y`` and
``s = 1{W y - eps > 0}``,

    dL/dW = r f^T  +  (s * (W f)) y^T,

:func:`sc_gradient` returns its batch mean and the tests check it against
autograd.

Choices for Sec. 4.6 (Tables 4.6.1, 4.6.2), which the thesis does not fully
pin down, are stated in :func:`thesis_eps`, :func:`expected_gradient_norm` and
:func:`gradient_descent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .generative import BilinearModel, random_dictionary

__all__ = [
    "GDResult",
    "expected_gradient_norm",
    "gradient_descent",
    "perturb_rows",
    "sc_forward",
    "sc_gradient",
    "sc_loss",
    "support_size",
    "thesis_data",
    "thesis_eps",
]


def _mat(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype != np.float32:
        arr = arr.astype(float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    return arr


def _check(W: Any, Y: Any, eps: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | float]:
    W = _mat(W, "W")
    Y = _mat(Y, "Y")
    if Y.shape[1] != W.shape[1]:
        raise ValueError(f"Y has {Y.shape[1]} features but W (h, n) has n = {W.shape[1]}")
    e = np.asarray(eps, dtype=float)
    if e.ndim > 1 or (e.ndim == 1 and e.shape[0] != W.shape[0]) or not np.all(np.isfinite(e)):
        raise ValueError(f"eps must be a finite scalar or a vector of length h = {W.shape[0]}")
    return W.astype(Y.dtype, copy=False), Y, (float(e) if e.ndim == 0 else e.astype(Y.dtype))


def support_size(h: int, p: float) -> int:
    """``k = h^p`` rounded to the nearest integer, at least 1 (thesis Sec. 4.6: "h^p non-zero")."""
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
        raise ValueError(f"h must be a positive integer, got {h!r}")
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p}")
    return int(min(h, max(1, round(h**p))))


def thesis_data(
    n: int, h: int, p: float, N: int, *, a: float = 1.0, b: float = 10.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sec. 4.6 data: Gaussian ``A*`` (n x h, unit columns), ``N`` codes with
    ``k = support_size(h, p)`` nonzeros ``U[a, b]`` on uniform supports, ``Y = X* A*^T``.

    Returns ``(A, Y, X)`` with samples as rows.
    """
    rng = np.random.default_rng(seed)
    A = random_dictionary(n, h, seed=rng)
    gen = BilinearModel(A, "nonneg_sparse", k=support_size(h, p), a1=a, a2=b, seed=rng)
    Y, X = gen.sample(N)
    return A, Y, X


def thesis_eps(
    h: int, p: float, delta: float, coherence: float, m1: float = 5.5, k: float | None = None
) -> float:
    """Bias of Theorem 4.3.1: ``eps = 2 m_1 k (delta + mu/sqrt(n))``.

    ``k`` defaults to ``h^p`` (real valued, as in the theorem); ``m1 = E x_i``
    (5.5 for ``U[1, 10]``). ``delta`` is the columnwise radius and ``coherence``
    the value used for ``mu/sqrt(n)``; which values Sec. 4.6 plugged in is
    discussed in :mod:`dante.shallow.recovery_study`.
    """
    if not (delta >= 0 and coherence >= 0 and m1 >= 0):
        raise ValueError(f"delta, coherence, m1 must be >= 0, got {delta}, {coherence}, {m1}")
    kk = float(h) ** p if k is None else float(k)
    return 2.0 * m1 * kk * (delta + coherence)


def sc_forward(W: np.ndarray, Y: np.ndarray, eps: float | np.ndarray) -> np.ndarray:
    """Reconstructions ``y_hat = W^T ReLU(W y - eps)`` of the rows of ``Y`` (eq. (1.3))."""
    W, Y, eps = _check(W, Y, eps)
    return np.maximum(Y @ W.T - eps, 0.0) @ W


def sc_loss(W: np.ndarray, Y: np.ndarray, eps: float | np.ndarray) -> float:
    """Mean over rows of ``1/2 ||y_hat - y||^2`` (eq. (4.1))."""
    F = sc_forward(W, Y, eps) - _mat(Y, "Y")
    return 0.5 * float(np.einsum("ij,ij->", F, F)) / F.shape[0]


def _loss_grad(W: np.ndarray, Y: np.ndarray, eps: Any) -> tuple[float, np.ndarray]:
    R = np.maximum(Y @ W.T - eps, 0.0)  # (N, h)
    F = R @ W - Y  # (N, n)
    N = Y.shape[0]
    loss = 0.5 * float(np.einsum("ij,ij->", F, F)) / N
    G = R.T @ F  # decoder occurrence: sum_s r f^T
    G += ((R > 0) * (F @ W.T)).T @ Y  # encoder occurrence: sum_s (s * W f) y^T
    return loss, G / N


def sc_gradient(W: np.ndarray, Y: np.ndarray, eps: float | np.ndarray) -> np.ndarray:
    """Closed-form batch-mean gradient of eq. (4.1) with respect to ``W`` (h x n).

    Row ``i`` is ``E_hat[dL/dW_i]`` (the thesis's gradient with respect to the
    ``i``-th column of ``W^T``).
    """
    W, Y, eps = _check(W, Y, eps)
    return _loss_grad(W, Y, eps)[1]


def perturb_rows(
    A: np.ndarray, radius: float, count: int = 1, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    """``count`` matrices ``W`` (h x n) whose rows are at distance exactly ``radius``
    from the columns of ``A`` (n x h), in uniformly random directions.

    Sec. 4.6: "random points which are columnwise delta/2 away from A*". Rows are
    not renormalised (the thesis does not constrain ``||W_i||``). Shape
    ``(count, h, n)``.
    """
    A = _mat(A, "A")
    if not (np.isfinite(radius) and radius >= 0):
        raise ValueError(f"radius must be a finite number >= 0, got {radius}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n, h = A.shape
    D = rng.standard_normal((count, h, n))
    D /= np.linalg.norm(D, axis=2, keepdims=True)
    return A.T[None] + radius * D


def expected_gradient_norm(
    A: np.ndarray,
    Y: np.ndarray,
    eps: float,
    radius: float,
    n_points: int = 200,
    seed: int | np.random.Generator | None = None,
    dtype: Any = np.float32,
) -> dict[str, float]:
    """Table 4.6.1's statistic (thesis Sec. 4.6, "Results").

    At ``n_points`` random ``W`` columnwise ``radius`` away from ``A*`` the
    empirical mean gradient over ``Y`` is computed; these gradients are
    averaged over the points, and the column norms of the average are averaged
    over the ``h`` columns ("We average the gradient over the 200 points ...
    and compare the average column norm of the gradient to ``h^{p-1}``").

    Returns
    -------
    dict
        ``grad_norm`` (the statistic above), ``grad_norm_per_point`` (the mean
        column norm at a single point, averaged over points; no cancellation
        across points), ``grad_norm_at_A`` (the mean column norm at ``W = A*^T``),
        ``active_frac`` (share of ReLUs on at the points).
    """
    A = _mat(A, "A").astype(dtype)
    Y = _mat(Y, "Y").astype(dtype)
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 1:
        raise ValueError(f"n_points must be a positive integer, got {n_points!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    acc = np.zeros((A.shape[1], A.shape[0]))
    per_point, active = 0.0, 0.0
    for _ in range(n_points):
        W = perturb_rows(A, radius, 1, rng)[0].astype(dtype)
        _, G = _loss_grad(W, Y, eps)
        acc += G
        per_point += float(np.linalg.norm(G, axis=1).mean())
        active += float(np.mean(Y @ W.T > eps))
    G0 = _loss_grad(A.T.copy(), Y, eps)[1]
    return {
        "grad_norm": float(np.linalg.norm(acc / n_points, axis=1).mean()),
        "grad_norm_per_point": per_point / n_points,
        "grad_norm_at_A": float(np.linalg.norm(G0, axis=1).mean()),
        "active_frac": active / n_points,
    }


@dataclass
class GDResult:
    """Outcome of :func:`gradient_descent`."""

    W: np.ndarray
    dist0: float
    dist: float
    covered: float  # 1 - dist / dist0
    steps: int
    grad_ratio: float  # final / initial gradient norm
    converged: bool  # grad_ratio <= rel_tol
    losses: list[float] = field(default_factory=list)


def gradient_descent(
    W0: np.ndarray,
    Y: np.ndarray,
    A: np.ndarray,
    eps: float,
    *,
    rel_tol: float = 2e-5,
    max_steps: int = 2000,
    lr0: float = 1.0,
) -> GDResult:
    """Full-batch gradient descent on eq. (4.1) from ``W0`` (Table 4.6.2 of ``003``).

    Stops when ``||grad|| <= rel_tol * ||grad_0||`` (the thesis's criterion,
    ``2e-5``) or after ``max_steps``. The thesis gives no step size; we use
    Armijo backtracking (start from twice the last accepted step, halve until
    ``L(W - t g) <= L(W) - t ||g||^2 / 2``), which is monotone and needs no
    tuning across ``h``. Distances are the average columnwise distance
    ``mean_i ||W_i - A*_i||``.
    """
    W = _mat(W0, "W0").copy()
    Y = _mat(Y, "Y")
    A = _mat(A, "A")
    if W.shape != (A.shape[1], A.shape[0]):
        raise ValueError(f"W0 must have shape (h, n) = {(A.shape[1], A.shape[0])}, got {W.shape}")
    if not (rel_tol > 0 and max_steps >= 1 and lr0 > 0):
        raise ValueError("need rel_tol > 0, max_steps >= 1 and lr0 > 0")
    W = W.astype(Y.dtype)
    At = A.T.astype(Y.dtype)

    def dist(M: np.ndarray) -> float:
        return float(np.linalg.norm(M - At, axis=1).mean())

    d0 = dist(W)
    loss, G = _loss_grad(W, Y, eps)
    g0 = float(np.linalg.norm(G))
    gn, t, steps = g0, lr0, 0
    losses = [loss]
    while steps < max_steps and gn > rel_tol * g0 and g0 > 0:
        t *= 2.0
        while True:
            Wn = W - t * G
            ln = _loss_grad(Wn, Y, eps)
            if ln[0] <= loss - 0.5 * t * gn * gn or t < 1e-12:
                break
            t *= 0.5
        W, (loss, G) = Wn, ln
        gn = float(np.linalg.norm(G))
        losses.append(loss)
        steps += 1
    d = dist(W)
    ratio = gn / g0 if g0 > 0 else 0.0
    return GDResult(
        W=W,
        dist0=d0,
        dist=d,
        covered=1.0 - d / d0 if d0 > 0 else 0.0,
        steps=steps,
        grad_ratio=ratio,
        converged=ratio <= rel_tol,
        losses=losses,
    )
