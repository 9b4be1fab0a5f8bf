"""Teachers and single-cell runs of the ``relu_gate`` study (Ch. 3 of ``003_a707f9d83869f5a2.txt``).

:func:`make_teacher` draws inputs from a non-symmetric distribution and a
teacher ``w*``; the cell functions run one learner on one teacher and return
what :mod:`dante.shallow.relu_gate_study` tabulates: modified SGD (Algorithm 2,
Theorem 3.3.1), GLM-Tron under bounded adversarial noise (Algorithm 4,
Theorem 3.5.2) and the noise-assisted dynamics with their confinement radius
(Algorithm 3, Theorem 3.4.1). :func:`fitted_rate` fits a linear rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import relu_gate as rg

__all__ = ["DISTRIBUTIONS", "W_NORM", "fitted_rate", "make_teacher"]

DISTRIBUTIONS = ("shifted_gaussian", "exponential", "skewed_box")
W_NORM = 2.0


def make_teacher(
    kind: str, n_samples: int, dim: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs from a non-symmetric distribution, rescaled to ``max ||x_i|| = 1``, and ``w*``.

    ``shifted_gaussian``: ``N(mu, I)`` with ``mu = (1, 0.5, 0.25, ...)``;
    ``exponential``: i.i.d. ``Exp(1) - 0.3`` coordinates; ``skewed_box``:
    uniform on ``[-0.25, 1]^dim``. The whole sample is divided by its largest
    norm (GLM-Tron's ``||x|| <= 1``; the shape is unchanged). ``w*`` is Gaussian
    scaled to ``||w*|| = 2``, redrawn until at least a quarter of the labels
    are positive.
    """
    if kind == "shifted_gaussian":
        mu = 0.5 ** np.arange(dim)
        X = rng.standard_normal((n_samples, dim)) + mu
    elif kind == "exponential":
        X = rng.exponential(1.0, (n_samples, dim)) - 0.3
    elif kind == "skewed_box":
        X = rng.uniform(-0.25, 1.0, (n_samples, dim))
    else:
        raise ValueError(f"kind must be one of {DISTRIBUTIONS}, got {kind!r}")
    X /= np.linalg.norm(X, axis=1).max()
    while True:
        w = rng.standard_normal(dim)
        w *= W_NORM / np.linalg.norm(w)
        if np.mean(X @ w > 0) >= 0.25:
            return X, w


def fitted_rate(d2: np.ndarray, floor: float = 1e-20) -> float:
    """``exp(slope)`` of a least-squares line through ``log d2_t`` while ``d2_t > floor``."""
    d2 = np.asarray(d2, dtype=np.float64)
    below = np.nonzero(d2 <= floor)[0]
    stop = int(below[0]) if below.size else len(d2)
    if stop < 10:
        raise ValueError("fewer than 10 points above the floor; lower the floor or step count")
    t = np.arange(stop)
    slope = np.polyfit(t, np.log(d2[:stop]), 1)[0]
    return float(math.exp(slope))


def _sgd_cell(X, w_star, T, runs, rng, seed) -> dict[str, Any]:
    n = X.shape[1]
    y = np.maximum(X @ w_star, 0.0)
    lam, c1 = rg.relu_gate_moments(X, y)
    lam_true, c1_true = rg.relu_gate_moments(X, w_star=w_star)
    eta = rg.modified_sgd_step_size(X, y)
    pred = rg.modified_sgd_rate(X, y)
    exact = rg.modified_sgd_exact_rate(X, y, eta)
    w1 = rng.standard_normal(n)
    w1 *= W_NORM / np.linalg.norm(w1)
    trajs = [
        rg.modified_sgd_relu(X, y, eta, T, w1=w1, seed=seed * 1000 + r).trajectory
        for r in range(runs)
    ]
    d2 = np.sum((np.stack(trajs) - w_star) ** 2, axis=2)  # (runs, T + 1)
    per_run = [fitted_rate(row) for row in d2]
    ms = d2.mean(axis=0)
    ms_rate = fitted_rate(ms)
    t = np.arange(len(ms))
    keep = (ms > 1e-24) & (t >= 1)
    envelope = float(np.max(ms[keep] / (pred ** t[keep] * ms[0])))
    return {
        "pred": pred,
        "exact": exact,
        "per_run": per_run,
        "ms_rate": ms_rate,
        "envelope": envelope,
        "indicator_match": abs(lam - lam_true) + abs(c1 - c1_true) == 0.0,
        "curve": np.sqrt(d2[0]),
    }


def _glm_cell(X, w_star, act, nu, adversary, eps) -> dict[str, Any]:
    fn, L = rg.GATE_ACTIVATIONS[act]
    clean = fn(X @ w_star)
    y = clean.copy()
    adv = None
    if adversary == "against_wstar":
        # static: push every label against the sign of w*.x (zero counts as negative)
        y = clean - nu * np.where(X @ w_star > 0, 1.0, -1.0)
    elif adversary == "shifted_teacher":
        # labels realizable by w' = w* + nu u, u the top eigenvector of E[x x^T]:
        # |xi| = |sigma(w'.x) - sigma(w*.x)| <= L nu ||x|| <= nu (L <= 1 here)
        u = np.linalg.eigh(X.T @ X)[1][:, -1]
        y = fn(X @ (w_star + nu * u))
    elif adversary == "against_prediction":
        # adaptive, per step: move the labels toward the current prediction's error,
        # hiding it from the update (|xi| = nu always)
        def adv(t: int, w: np.ndarray) -> np.ndarray:
            return nu * np.where(fn(X @ w) >= clean, 1.0, -1.0)

    T = rg.glmtron_steps(W_NORM, eps)
    res = rg.glmtron(X, y, act, T, adversary=adv)
    risks = np.mean((fn(res.trajectory @ X.T) - clean) ** 2, axis=1)
    bound = rg.glmtron_risk_bound(eps, nu, W_NORM, L)
    return {
        "final": float(risks[-1]),
        "best": float(risks.min()),
        "bound": bound,
        "T": T,
        "curve": np.linalg.norm(res.trajectory - w_star, axis=1),
    }


def _noise_cell(X, w_star, i_max, runs, s1, s2, delta, rng, seed) -> dict[str, Any]:
    n = X.shape[1]
    y = np.maximum(X @ w_star, 0.0)
    C = float(np.linalg.norm(X, axis=1).max())
    u = rng.standard_normal(n)
    w0 = w_star + 3.0 * u / np.linalg.norm(u)
    # largest step (as a fraction of the printed limit 1/(C^2 sqrt(2 i_max))) for which
    # the Azuma-exponent version of Theorem 3.4.1 gives failure probability <= delta
    for frac in (0.5, 0.25, 0.1, 0.05, 0.025, 0.01, 0.005):
        eta = frac / (C * C * math.sqrt(2 * i_max))
        try:
            guar = rg.confinement_guarantee(
                eta, i_max, C=C, n=n, dist0=3.0, S1=s1, zeta2_std=s2, delta=delta
            )
            break
        except ValueError:
            continue
    else:  # pragma: no cover - the grid always reaches a valid step for these sizes
        raise RuntimeError("no step size gives a nontrivial confinement guarantee")
    printed = rg.confinement_guarantee(
        eta, i_max, C=C, n=n, dist0=3.0, S1=s1, zeta2_std=s2, delta=delta, k_power=1
    )
    half = 0.5 / (C * C * math.sqrt(2 * i_max))
    printed_half = rg.confinement_guarantee(
        half, i_max, C=C, n=n, dist0=3.0, S1=s1, zeta2_std=s2, delta=delta, k_power=1
    ).radius
    maxd, final = [], []
    curve = None
    for r in range(runs):
        res = rg.noise_assisted_subgradient(
            X, y, eta, i_max, zeta1_radius=s1, zeta2_std=s2, w0=w0, seed=seed * 1000 + r
        )
        d = res.distances(w_star)
        maxd.append(float(d.max()))
        final.append(float(d[-1]))
        if curve is None:
            curve = d
    return {
        "eta": eta,
        "frac": frac,
        "radius": guar.radius,
        "radius_printed": printed.radius,
        "radius_printed_half": printed_half,
        "maxd": maxd,
        "final": final,
        "curve": curve,
    }


def _row(method, dist, setting, quantity, measured, thesis, within) -> dict[str, Any]:
    measured = np.asarray(measured, dtype=np.float64)
    thesis = np.asarray(thesis, dtype=np.float64)
    return {
        "method": method,
        "distribution": dist,
        "setting": setting,
        "quantity": quantity,
        "measured_mean": float(measured.mean()),
        "measured_worst": float(measured.max()),
        "thesis_mean": float(thesis.mean()),
        # runs are paired with their own thesis value (it depends on the seed's data)
        "worst_margin": float(np.max(measured - thesis)),
        "within_thesis": f"{int(within[0])}/{int(within[1])}",
    }
