"""Bias-free ReLU nets as lists of layer matrices, and their margins (``003`` Ch. 6).

A net is ``[W_1, ..., W_d]``, ``f(x) = W_d relu(W_{d-1} ... relu(W_1 x))``
(Definition 23), each ``W_l`` of shape ``(out, in)`` as
:class:`torch.nn.Linear` stores it. Here: its outputs, ``beta`` (Definition
23), the width ``h``, the empirical margin risk (Definition 22) and the
smallest ``(epsilon, gamma)`` making a training set nice (Definition 25).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Weights", "beta", "margin_risk", "max_width", "net_outputs", "niceness"]

Weights = Sequence[np.ndarray]


def _weights(weights: Weights, name: str = "weights") -> list[np.ndarray]:
    ws = [np.asarray(w, dtype=np.float64) for w in weights]
    if len(ws) < 2:
        raise ValueError(f"{name} must hold at least 2 layer matrices (d >= 2), got {len(ws)}")
    for i, w in enumerate(ws):
        if w.ndim != 2:
            raise ValueError(f"{name}[{i}] must be a 2-D matrix, got shape {w.shape}")
        if i and w.shape[1] != ws[i - 1].shape[0]:
            raise ValueError(
                f"{name}[{i}] takes {w.shape[1]} inputs but {name}[{i - 1}] "
                f"gives {ws[i - 1].shape[0]}"
            )
        if not np.all(np.isfinite(w)):
            raise ValueError(f"{name}[{i}] has non-finite entries")
    return ws


def net_outputs(weights: Weights, X: np.ndarray) -> np.ndarray:
    """Outputs ``f_W(x)`` of the bias-free ReLU net (Definition 23), shape ``(m, k)``."""
    ws = _weights(weights)
    h = np.asarray(X, dtype=np.float64)
    for w in ws[:-1]:
        h = np.maximum(h @ w.T, 0.0)
    return h @ ws[-1].T


def beta(weights: Weights) -> float:
    """``beta(W) = (prod_l ||W_l||_2)^(1/d)``, the geometric mean of spectral norms (Def. 23)."""
    ws = _weights(weights)
    logs = [math.log(np.linalg.norm(w, 2)) for w in ws]
    return math.exp(sum(logs) / len(ws))


def max_width(weights: Weights) -> int:
    """``h``: the largest dimension of any layer matrix.

    Definition 23 calls ``h`` the net's maximum width; the proofs (eq. 6.44,
    Tropp's bound on an ``h x h`` Gaussian matrix) need every ``W_l`` to fit
    in ``h x h``, so the input and output dimensions count too.
    """
    return max(max(w.shape) for w in _weights(weights))


def margin_risk(outputs: np.ndarray, y: np.ndarray, gamma: float) -> float:
    """Empirical ``gamma``-margin risk (Definition 22).

    The share of samples with ``f(x)[y] <= gamma + max_{i != y} f(x)[i]``.
    """
    out = np.asarray(outputs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if out.ndim != 2 or out.shape[1] < 2:
        raise ValueError(f"outputs must have shape (m, k) with k >= 2 classes, got {out.shape}")
    if y.shape != (out.shape[0],) or y.min() < 0 or y.max() >= out.shape[1]:
        raise ValueError(f"y must hold {out.shape[0]} labels in [0, {out.shape[1]})")
    if not (math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}")
    rows = np.arange(out.shape[0])
    true = out[rows, y]
    other = out.copy()
    other[rows, y] = -np.inf
    return float(np.mean(true <= gamma + other.max(axis=1)))


def niceness(outputs: np.ndarray, cluster_outputs: Sequence[np.ndarray]) -> tuple[float, float]:
    """Smallest ``(epsilon, gamma)`` for which ``S`` is nice (Definition 25).

    Condition 1 asks ``||f_{A_i}(x) - f_A(x)|| <= epsilon ||f_A(x)||`` for
    every ``x`` in ``S`` and every ``i``, so the smallest ``epsilon`` is the
    largest ratio. Condition 2 asks ``gamma > epsilon max_x ||f_A(x)||``; the
    returned ``gamma`` is that infimum (both bounds are continuous in
    ``gamma``, so the bound at the infimum is the limit of admissible ones).
    Where ``f_A(x) = 0`` condition 1 needs ``f_{A_i}(x) = 0``; if some
    ``A_i`` differs there no ``epsilon`` works and ``(inf, inf)`` is returned.

    Parameters
    ----------
    outputs : ndarray, shape (m, k)
        ``f_A(x)`` on the training set.
    cluster_outputs : sequence of ndarray, each (m, k)
        ``f_{A_i}(x)``, ``i = 1..k_1``.
    """
    fa = np.asarray(outputs, dtype=np.float64)
    if not len(cluster_outputs):
        raise ValueError("cluster_outputs must hold at least one net's outputs")
    norms = np.linalg.norm(fa, axis=1)
    zero = norms == 0
    eps = 0.0
    for i, fi in enumerate(cluster_outputs):
        fi = np.asarray(fi, dtype=np.float64)
        if fi.shape != fa.shape:
            raise ValueError(f"cluster_outputs[{i}] has shape {fi.shape}, expected {fa.shape}")
        gap = np.linalg.norm(fi - fa, axis=1)
        if np.any(gap[zero] > 0):
            return math.inf, math.inf  # f_A(x) = 0 != f_{A_i}(x): no epsilon works
        eps = max(eps, float(np.max(gap[~zero] / norms[~zero], initial=0.0)))
    return eps, eps * float(norms.max())
