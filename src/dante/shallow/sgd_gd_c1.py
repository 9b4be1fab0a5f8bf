"""Numerical screen of condition C1 (Sec. 4 of Boob & Lan, ``002_16d5585f51d1d631.txt``).

:func:`screen_condition_c1` looks for intervals on which ``h`` or ``h'``
satisfies one of the identities C1 forbids, and draws random ``(W, U)`` to
check the full-rank property of ``{h'(W u_i) u_i^T}`` (Corollary 4.2 /
Lemma 5.2) that C1 is used for. Re-exported by :mod:`dante.shallow.sgd_gd`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .sgd_gd_activations import DTYPE, SGDGDActivation, get_sgd_gd_activation
from .sgd_gd_problem import (
    _check_pos_float,
    _check_pos_int,
    d_matrix,
)

__all__ = ["C1Screen", "screen_condition_c1"]

# ------------------------------------------------------------------ condition C1


@dataclass
class C1Screen:
    """Result of :func:`screen_condition_c1`.

    ``h_passes`` / ``dh_passes``: no sampled interval on which ``g' = c1`` or
    ``(x + c2) g'(x) + g(x) = c3`` (condition C1, Sec. 4) for ``g = h`` /
    ``g = h'``; ``worst_*`` are the smallest relative residuals seen (``~0``
    means the identity holds on that interval). ``d_full_rank_frac`` is the
    fraction of random ``(W, U)`` draws (``N = nd``) whose collection
    ``{h'(W u_i) u_i^T}`` (Corollary 4.2 / Lemma 5.2) has full rank ``N``, and
    ``d_rel_sigma_min`` the median ``sigma_min / sigma_max`` of that collection.
    """

    activation: str
    smooth: bool
    h_passes: bool
    dh_passes: bool
    worst_h_residual: float
    worst_dh_residual: float
    d_full_rank_frac: float
    d_rel_sigma_min: float
    passes: bool


def _c1_residuals(g: np.ndarray, dg: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Relative residuals of ``dg = c1`` and ``x dg + g = c2 dg + c3`` on one interval."""
    # (i) dg constant: relative spread of dg
    scale1 = max(np.abs(dg).max(), 1e-300)
    r1 = float(np.std(dg) / scale1)
    # (ii) y = x dg + g in span{1, dg}: least-squares residual relative to ||y - mean y||
    y = x * dg + g
    yc = y - y.mean()
    ny = np.linalg.norm(yc)
    if ny < 1e-14 * max(np.abs(y).max(), 1e-300):
        return r1, 0.0  # y itself constant on the interval (c2 = 0)
    M = np.stack([np.ones_like(x), dg], axis=1)
    coef, *_ = np.linalg.lstsq(M, y, rcond=None)
    r2 = float(np.linalg.norm(y - M @ coef) / ny)
    return r1, r2


def screen_condition_c1(
    activation: str | SGDGDActivation,
    *,
    n_intervals: int = 200,
    n_points: int = 64,
    n: int = 3,
    d: int = 3,
    n_trials: int = 20,
    tol: float = 1e-6,
    rank_tol: float = 1e-9,
    seed: int = 0,
) -> C1Screen:
    """Numerical screen of condition C1 (Sec. 4 of ``002_16d5585f51d1d631.txt``).

    C1 for ``g``: on no interval ``(a, b)`` is ``g' = c1`` constant, nor
    ``(x + c2) g'(x) + g(x) = c3`` for some ``c2, c3``. Lemma 4.1 applies C1 to
    ``h`` (collection ``h(x_i) x_i^T``); the full-rank property of ``D`` uses it
    for ``h'`` (text before Lemma 4.1), so both are screened:

    1. Functional screen: ``n_intervals`` random intervals ``(a, b)`` in
       ``[-4, 4]`` of width ``U(0.25, 2)``, ``n_points`` points each. For each,
       the relative spread of ``g'`` and the relative least-squares residual of
       ``x g' + g`` on ``span{1, g'}`` (the second identity rearranged). The
       function fails C1 if either residual is ``< tol`` on some interval.
    2. Rank screen (the property C1 is used for; Corollary 4.2): ``n_trials``
       draws of ``W`` (``n x d``, ``N(0, 1)``) and ``U`` (``d x N``, ``N(0, 1)``)
       with ``N = nd``; rank of ``[vec(h'(W u_i) u_i^T)]`` judged full when
       ``sigma_min / sigma_max > rank_tol``.

    ``passes`` = functional screen passed for both ``h`` and ``h'`` and every
    draw full rank. ReLU fails (``h' = 0`` or ``1`` on intervals; ``h'' = 0``)
    -- the paper's Sec. 4 list contains only smooth activations.
    """
    act = get_sgd_gd_activation(activation)
    n_intervals = _check_pos_int(n_intervals, "n_intervals")
    n_points = _check_pos_int(n_points, "n_points")
    if n_points < 4:
        raise ValueError(f"n_points must be >= 4 to fit the C1 identities; got {n_points}")
    n = _check_pos_int(n, "n")
    d = _check_pos_int(d, "d")
    n_trials = _check_pos_int(n_trials, "n_trials")
    tol = _check_pos_float(tol, "tol")
    rank_tol = _check_pos_float(rank_tol, "rank_tol")
    rng = np.random.default_rng(seed)
    worst_h = worst_dh = math.inf
    for _ in range(n_intervals):
        a = rng.uniform(-4.0, 4.0)
        w = rng.uniform(0.25, 2.0)
        x = np.linspace(a - w / 2, a + w / 2, n_points)
        xt = torch.as_tensor(x, dtype=DTYPE)
        h = act.h(xt).numpy()
        dh = act.dh(xt).numpy()
        d2h = act.d2h(xt).numpy()
        worst_h = min(worst_h, *_c1_residuals(h, dh, x))
        worst_dh = min(worst_dh, *_c1_residuals(dh, d2h, x))
    N = n * d
    full = 0
    rel: list[float] = []
    for _ in range(n_trials):
        W = torch.as_tensor(rng.standard_normal((n, d)), dtype=DTYPE)
        U = torch.as_tensor(rng.standard_normal((d, N)), dtype=DTYPE)
        Dm = d_matrix(W, torch.ones(n, dtype=DTYPE), U, act)
        sv = torch.linalg.svdvals(Dm)
        r = float(sv[-1] / sv[0]) if float(sv[0]) > 0 else 0.0
        rel.append(r)
        full += int(r > rank_tol)
    h_ok = worst_h >= tol
    dh_ok = worst_dh >= tol
    frac = full / n_trials
    return C1Screen(
        activation=act.name,
        smooth=act.smooth,
        h_passes=bool(h_ok),
        dh_passes=bool(dh_ok),
        worst_h_residual=float(worst_h),
        worst_dh_residual=float(worst_dh),
        d_full_rank_frac=float(frac),
        d_rel_sigma_min=float(np.median(rel)),
        passes=bool(h_ok and dh_ok and frac == 1.0),
    )
