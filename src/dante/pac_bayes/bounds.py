"""The two PAC-Bayesian margin bounds of Chapter 6 of the thesis (``003``).

A net here is a list of weight matrices ``[W_1, ..., W_d]`` of a bias-free
ReLU network ``f(x) = W_d relu(W_{d-1} ... relu(W_1 x))`` (Definition 23),
each ``W_l`` of shape ``(out, in)`` as :class:`torch.nn.Linear` stores it.

* :func:`nbs_bound` -- Theorem 6.1.3, the thesis's restatement of the
  spectrally-normalised margin bound of Neyshabur, Bhojanapalli and Srebro
  (2017), eqs. (6.2)-(6.3) with its beta-grid of ``K`` points.
* :func:`cluster_bound` -- Theorem 6.3.1, the Gaussian-mixture bound, eq.
  (6.4), with the two-indexed prior grid of Definition 26 (``K = 314 K_1``).
* the smallest ``(epsilon, gamma)`` of Definition 25 is
  :func:`dante.pac_bayes.nets.niceness`; the thesis evaluates both bounds at
  that ``gamma`` (Sec. 6.4.1).

Both theorems hold with probability ``1 - K delta``; the thesis tests them at
``K delta = 0.05`` (Sec. 6.4.1), so ``delta = confidence_delta / K``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .geometry import ANGLE_GRID, angle, lambda_star
from .nets import Weights, _weights, beta, margin_risk, max_width, net_outputs

__all__ = ["cluster_bound", "nbs_bound"]


def _positive(value: float, name: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def _confidence(value: float) -> float:
    v = float(value)
    if not (0 < v < 1):
        raise ValueError(f"confidence_delta must lie in (0, 1), got {value!r}")
    return v


def _data(X: np.ndarray, y: np.ndarray, ws: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != ws[0].shape[1]:
        raise ValueError(f"X must have shape (m, {ws[0].shape[1]}), got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"X must hold at least 2 samples (m - 1 > 0), got {X.shape[0]}")
    return X, y.astype(np.int64)


def _grid_point(lo: float, hi: float, n: int, value: float) -> float:
    """The point of ``n`` uniformly spaced points on ``[lo, hi]`` nearest ``value``.

    Computed without building the grid (``K_1`` can be astronomically large
    for a tiny ``d_min``: it enters the bounds only through a logarithm).
    """
    if n == 1 or hi == lo:
        return lo
    step = (hi - lo) / (n - 1)
    k = min(max(round((value - lo) / step), 0), n - 1)
    return lo + k * step


def nbs_bound(
    weights: Weights,
    X: np.ndarray,
    y: np.ndarray,
    gamma: float,
    input_bound: float,
    confidence_delta: float = 0.05,
) -> dict[str, Any]:
    """Theorem 6.1.3 (NBS), eqs. (6.2)-(6.3) of ``003``, at confidence ``1 - confidence_delta``.

    ``K = ceil(d/2 (sqrt(m-1) / (2 exp(3 - 2/(d-1))))^(1/d))`` grid points
    spaced uniformly over ``[(gamma/2B)^(1/d), (sqrt(m-1) gamma / (4
    exp(3-2/(d-1)) B))^(1/d)]``; ``beta~`` the grid point nearest ``beta(W)``;

    ``sigma = min{gamma / (4 e^2 B beta~^(d-1)), beta~ / e^(1/(d-1))} / (d sqrt(2h log(4dh)))``

    and the bound ``L^_{gamma/2}(f_W) + sqrt((KL + log(3m/delta)) / (m-1))``,
    ``KL = sum_l ||W_l||_F^2 / (2 sigma^2)`` (eq. 6.52),
    with ``delta = confidence_delta / K`` (the theorem holds w.p. ``1 - K delta``).

    Parameters
    ----------
    weights : sequence of ndarray
        ``[W_1, ..., W_d]``, ``d >= 2``.
    X, y : ndarray
        The training set ``S`` (``m`` samples) and its labels in ``[0, k)``.
    gamma : float
        The margin, > 0.
    input_bound : float
        ``B``: every input has ``||x|| <= B``.
    confidence_delta : float, default=0.05
        ``K delta``: the bound holds with probability ``1 - confidence_delta``.

    Returns
    -------
    dict
        ``bound``, ``margin_loss`` (``L^_{gamma/2}``), ``kl`` (the KL term of
        eq. 6.52), ``sigma``, ``beta``, ``beta_tilde``, ``K``, ``delta``,
        ``h``, ``beta_in_interval`` (whether ``beta`` lies in the grid's
        interval; outside it the proof says the bound holds trivially, and
        ``beta~`` is the nearest end of the interval).
    """
    ws = _weights(weights)
    X, y = _data(X, y, ws)
    gamma = _positive(gamma, "gamma")
    B = _positive(input_bound, "input_bound")
    conf = _confidence(confidence_delta)
    d, m, h = len(ws), X.shape[0], max_width(ws)
    c = math.exp(3 - 2 / (d - 1))
    K = max(1, math.ceil(d / 2 * (math.sqrt(m - 1) / (2 * c)) ** (1 / d)))
    lo = (gamma / (2 * B)) ** (1 / d)
    hi = (math.sqrt(m - 1) * gamma / (4 * c * B)) ** (1 / d)
    b = beta(ws)
    bt = _grid_point(lo, hi, K, b)
    sigma = min(gamma / (4 * math.e**2 * B * bt ** (d - 1)), bt / math.e ** (1 / (d - 1)))
    sigma /= d * math.sqrt(2 * h * math.log(4 * d * h))
    delta = conf / K
    frob2 = sum(float(np.sum(w * w)) for w in ws)
    kl = frob2 / (2 * sigma**2)
    loss = margin_risk(net_outputs(ws, X), y, gamma / 2)
    bound = loss + math.sqrt((kl + math.log(3 * m / delta)) / (m - 1))
    return {
        "bound": bound,
        "margin_loss": loss,
        "kl": kl,
        "sigma": sigma,
        "beta": b,
        "beta_tilde": bt,
        "K": K,
        "delta": delta,
        "h": h,
        "beta_in_interval": bool(lo <= b <= hi),
    }


def _k1(gamma: float, B: float, d: int, h: int, m: int, d_min: float, delta: float) -> tuple:
    """Definition 26: the interval ``I`` and ``K_1 = ceil(d/2 * hi/lo)`` at this ``delta``."""
    lo = (gamma / (2 * B)) ** (1 / d)
    root = math.sqrt(2 * h * math.log(2 * d * h / delta))
    hi = (gamma * math.sqrt(2 * (m - 1)) / (8 * B * math.e**3 * d * d_min * root)) ** (1 / (d - 1))
    return lo, hi, max(1, math.ceil(d / 2 * hi / lo))


def _solve_k1(gamma: float, B: float, d: int, h: int, m: int, d_min: float, conf: float) -> int:
    """Smallest ``K_1`` whose grid is large enough at ``delta = conf / (314 K_1)``.

    ``K_1`` of Definition 26 depends on ``delta`` (through ``log(2dh/delta)``)
    and ``delta = conf / K`` on ``K = 314 K_1``. ``g(n) = K_1(conf / (314 n))``
    does not increase with ``n``; a grid of ``n >= g(n)`` points covers ``I``
    at the accuracy the proof needs (Sec. 6.7), so the smallest such ``n`` is
    taken (bisection on ``[1, g(1)]``; ``g(g(1)) <= g(1)``).
    """

    def g(n: int) -> int:
        return _k1(gamma, B, d, h, m, d_min, conf / (ANGLE_GRID * n))[2]

    lo, hi = 1, g(1)
    while lo < hi:
        mid = (lo + hi) // 2
        if g(mid) <= mid:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _flat(ws: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([w.ravel() for w in ws])


def cluster_bound(
    trained: Weights,
    init: Weights,
    init_cluster: Sequence[Weights],
    trained_cluster: Sequence[Weights],
    X: np.ndarray,
    y: np.ndarray,
    gamma: float,
    input_bound: float,
    confidence_delta: float = 0.05,
    d_min: float | None = None,
) -> dict[str, Any]:
    """Theorem 6.3.1 (the thesis's Gaussian-mixture bound), eq. (6.4) of ``003``.

    ``alpha`` is the angle between ``A`` (``trained``) and ``B`` (``init``),
    ``lambda* = argmin_lambda |0.01 lambda - alpha|`` over ``{1..314}``; the
    ``k_1`` nets ``init_cluster`` (``B_{lambda*, j}``) must lie in the cone of
    half-angle ``0.01 lambda*`` around ``B`` (the caller builds them, e.g. with
    :func:`dante.pac_bayes.geometry.cone_cluster`) and ``trained_cluster``
    (``A_i``) are those nets trained on ``S``. With ``h`` the width,
    ``delta = confidence_delta / K``, ``K = 314 K_1`` (Definition 26),
    ``beta~_i`` the point of the ``K_1``-point grid on ``I`` nearest
    ``beta(A_i)`` and

    ``sigma~_i = min{beta~_i / (d e^(1/(d-1))), g / (e^2 d B beta~_i^(d-1))}
    / sqrt(2h log(2dh/delta))``,

    the bound for ``A_i`` is ``L^_{gamma/2}(f_A) + sqrt((KL_i + log(3m/delta)) / (m-1))``,
    ``KL_i = -log(1/k_1 sum_j exp(-||A_i - B_{lambda*,j}||^2 / (2 sigma~_i^2)))``,
    for every ``i`` with ``d_{i,*} = min_j ||A_i - B_{lambda*,j}||^2 >= d_min``;
    the reported ``bound`` is the lowest of these (Sec. 6.4.1).

    ``g`` is ``gamma / 8`` for ``bound`` (eq. 6.26 of the proof: Theorem
    6.2.1 must give an output perturbation ``2 g <= gamma / 4`` for Theorem
    6.1.2 to apply) and ``gamma`` for ``bound_statement`` (the formula
    printed under eq. 6.4, which yields only a ``2 gamma`` perturbation
    guarantee, so it does not follow from the proof; reported for
    comparison with the thesis's figures).

    Parameters
    ----------
    trained, init : sequence of ndarray
        ``A`` and ``B``, layer matrices as in :func:`nbs_bound`.
    init_cluster, trained_cluster : sequence of nets
        ``{B_{lambda*, j}}`` and ``{A_i}``, ``k_1 >= 1`` each (same length).
    X, y, gamma, input_bound, confidence_delta
        As in :func:`nbs_bound`; ``gamma`` should make ``S`` nice
        (:func:`niceness`), which the theorem conditions on.
    d_min : float, optional
        Definition 26's ``d_min`` (> 0); it must leave ``I`` non-empty. By
        default the thesis's rule ("choose ``d_min`` low enough so that the
        interval ``I`` is non-empty", Sec. 6.3; "a very small value", Sec.
        6.4.1): the largest of ``1e-3, 1e-4, ..., 1e-30`` that does. It
        enters the bound only through ``K_1`` (a logarithm).

    Returns
    -------
    dict
        ``bound``, ``best_index``, ``bounds`` (per ``i``, ``nan`` where
        ``d_{i,*} < d_min``), ``kl`` and ``sigma_tilde`` (per ``i``), the same
        for the printed constant (``bound_statement``, ``bounds_statement``),
        ``d_star`` (per ``i``), ``margin_loss``, ``alpha``, ``lambda_star``,
        ``K1``, ``K``, ``delta``, ``h``, ``interval`` (``I``), ``d_min``,
        ``betas`` and ``beta_in_interval`` (per ``i``: ``beta(A_i)`` and
        whether it lies in ``I``; outside it Sec. 6.7 shows the bound exceeds
        1, i.e. holds trivially, and ``beta~_i`` is the nearest end of ``I``).
    """
    A = _weights(trained, "trained")
    Bw = _weights(init, "init")
    if len(init_cluster) != len(trained_cluster) or not len(init_cluster):
        raise ValueError(
            "init_cluster and trained_cluster must hold the same number k_1 >= 1 of nets, "
            f"got {len(init_cluster)} and {len(trained_cluster)}"
        )
    Bj = [_weights(b, "init_cluster") for b in init_cluster]
    Ai = [_weights(a, "trained_cluster") for a in trained_cluster]
    shapes = [w.shape for w in A]
    for name, nets in (("init", [Bw]), ("init_cluster", Bj), ("trained_cluster", Ai)):
        if any([w.shape for w in net] != shapes for net in nets):
            raise ValueError(f"{name} must have the layer shapes of trained, {shapes}")
    X, y = _data(X, y, A)
    gamma = _positive(gamma, "gamma")
    B = _positive(input_bound, "input_bound")
    conf = _confidence(confidence_delta)
    if d_min is not None:
        d_min = _positive(d_min, "d_min")
    d, m, h, k1 = len(A), X.shape[0], max_width(A), len(Bj)
    alpha = angle(_flat(A), _flat(Bw))
    lam = lambda_star(A, Bw)
    candidates = [d_min] if d_min is not None else [10.0**-k for k in range(3, 31)]
    for d_min in candidates:
        K1 = _solve_k1(gamma, B, d, h, m, d_min, conf)
        delta = conf / (ANGLE_GRID * K1)
        lo, hi, _ = _k1(gamma, B, d, h, m, d_min, delta)
        if hi >= lo:
            break
    else:
        raise ValueError(
            f"d_min={d_min} leaves Definition 26's interval I = [{lo:.4g}, {hi:.4g}] empty; "
            "choose a smaller d_min"
        )
    K = ANGLE_GRID * K1
    log_term = math.log(2 * d * h / delta)
    flat_b = [_flat(b) for b in Bj]
    loss = margin_risk(net_outputs(A, X), y, gamma / 2)
    keys = ("proof", "statement", "kl", "kl_s", "sig", "d", "beta")
    rows: dict[str, list[float]] = {k: [] for k in keys}
    for a in Ai:
        rows["beta"].append(beta(a))
        bt = _grid_point(lo, hi, K1, rows["beta"][-1])
        fa = _flat(a)
        dist2 = np.array([float(np.sum((fb - fa) ** 2)) for fb in flat_b])
        ok = dist2.min() >= d_min
        rows["d"].append(float(dist2.min()))
        for key, kl_key, g in (("proof", "kl", gamma / 8), ("statement", "kl_s", gamma)):
            s2 = min(bt / (d * math.e ** (1 / (d - 1))), g / (math.e**2 * d * B * bt ** (d - 1)))
            s2 = s2**2 / (2 * h * log_term)
            z = -dist2 / (2 * s2)
            zmax = float(z.max())
            kl = -(zmax + math.log(float(np.mean(np.exp(z - zmax)))))
            rows[kl_key].append(kl)
            if key == "proof":
                rows["sig"].append(math.sqrt(s2))
            value = loss + math.sqrt((kl + math.log(3 * m / delta)) / (m - 1))
            rows[key].append(value if ok else math.nan)
    arr = np.asarray(rows["proof"])
    best = int(np.nanargmin(arr)) if np.any(np.isfinite(arr)) else -1
    arr_s = np.asarray(rows["statement"])
    best_s = int(np.nanargmin(arr_s)) if np.any(np.isfinite(arr_s)) else -1
    return {
        "bound": float(arr[best]) if best >= 0 else math.nan,
        "best_index": best,
        "bounds": rows["proof"],
        "kl": rows["kl"],
        "sigma_tilde": rows["sig"],
        "bound_statement": float(arr_s[best_s]) if best_s >= 0 else math.nan,
        "bounds_statement": rows["statement"],
        "kl_statement": rows["kl_s"],
        "d_star": rows["d"],
        "betas": rows["beta"],
        "beta_in_interval": [bool(lo <= b <= hi) for b in rows["beta"]],
        "margin_loss": loss,
        "alpha": alpha,
        "lambda_star": lam,
        "K1": K1,
        "K": K,
        "delta": delta,
        "h": h,
        "k1": k1,
        "interval": (lo, hi),
        "d_min": d_min,
    }
