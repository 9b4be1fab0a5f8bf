"""Algorithm 1 (SGD-GD) of Boob & Lan, with per-step diagnostics.

``002_16d5585f51d1d631.txt``: :func:`sgd_gd` runs the alternating
inner-SGD-on-``theta`` / outer-GD-on-``W`` scheme and records an
:class:`OuterDiagnostics` per outer step (``f``, ``||grad_W f||^2``,
``sigma_min(D)^2``, the certificate, the step sizes); the bounds of Theorem 5.9
along a run are in :mod:`dante.shallow.sgd_gd_bounds`. Re-exported by
:mod:`dante.shallow.sgd_gd`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .sgd_gd_activations import DTYPE, SGDGDActivation, get_sgd_gd_activation
from .sgd_gd_problem import (
    _as_tensor,
    _check_data,
    _check_pos_float,
    _check_pos_int,
    _d_gram_extremes,
    _grads,
    certificate_bound,
    lemma54_bound,
    project_ball,
)

__all__ = [
    "OuterDiagnostics",
    "SGDGDResult",
    "sgd_gd",
]

# ------------------------------------------------------------------ Algorithm 1


@dataclass
class OuterDiagnostics:
    """Per-outer-step record of :func:`sgd_gd`, all at ``(W_k, theta_{k+1})``.

    ``grad_w_sq = ||grad_W f(W_k, theta_{k+1})||_F^2`` is the quantity of
    Theorem 5.9; ``certificate = N grad_w_sq / (2 sigma_min(D)^2)`` (``inf`` if
    ``D`` is rank deficient or ``N > nd``) upper-bounds ``f``. ``sigma_max_d_sq``
    (``sigma_max(D)^2``, for the rank test of
    :func:`~dante.shallow.sgd_gd_problem.d_full_column_rank`) and
    ``max_abs_preact = max |W_k U|`` (the pre-activation box of step ``k``, for
    :func:`~dante.shallow.sgd_gd_bounds.lemma54_run_bound`) were added later and
    default to ``nan``.
    """

    k: int
    f: float
    f_start: float
    grad_w_sq: float
    running_min_grad_w_sq: float
    sigma_min_w: float
    min_abs_theta: float
    sigma_min_d_sq: float
    certificate: float
    l_theta: float
    lemma54_l: float
    gamma: float
    beta: float
    inner_steps: int
    sigma_max_d_sq: float = math.nan
    max_abs_preact: float = math.nan


@dataclass
class SGDGDResult:
    """Output of :func:`sgd_gd`: final ``W``, ``theta`` and the diagnostics list."""

    W: torch.Tensor
    theta: torch.Tensor
    history: list[OuterDiagnostics] = field(default_factory=list)
    radius: float = 0.0
    sigma: float = 0.0
    n_inner: int = 0

    def column(self, name: str) -> np.ndarray:
        """One diagnostics field along the trajectory as a numpy array."""
        return np.array([getattr(h, name) for h in self.history], dtype=float)


def sgd_gd(
    U: torch.Tensor | np.ndarray,
    v: torch.Tensor | np.ndarray,
    *,
    n: int,
    activation: str | SGDGDActivation = "sigmoid",
    n_outer: int = 100,
    n_inner: int | None = None,
    sigma: float | None = None,
    beta: float | None = None,
    gamma: float | None = None,
    R: float | None = None,
    W0: torch.Tensor | np.ndarray | None = None,
    theta0: torch.Tensor | np.ndarray | None = None,
    early_exit: bool = False,
    seed: int = 0,
) -> SGDGDResult:
    """Algorithm 1 (SGD-GD) of ``002_16d5585f51d1d631.txt``.

    For ``k = 0..N_o`` (``N_o + 1`` outer steps, as printed)::

        theta_bar_1 = theta_k
        for i = 1..N_i:
            G = grad_theta f(W_k, theta_bar_i) + xi,      xi ~ N(0, sigma^2/n I)   (3.4)
            theta_bar_{i+1} = Proj_{||.|| <= R/2}(theta_bar_i - beta G)          (3.7)
            theta_av = (sum beta)^{-1} sum_tau beta theta_bar_{tau+1}
            [early_exit: stop once f(W_k, theta_av) <= f(W_k, theta_k)]          (3.8)
        theta_{k+1} = theta_av
        W_{k+1} = W_k - gamma_k grad_W f(W_k, theta_{k+1})

    Parameters
    ----------
    U : (d, N) array
        Inputs as columns; ``N <= n d`` is needed for the certificate.
    v : (N,) array
        Targets.
    n : int
        Hidden width, ``1 <= n <= d``.
    activation : str, default="sigmoid"
        A name in :data:`ACTIVATIONS`. ReLU-type activations need ``gamma``.
    n_outer : int, default=100
        ``N_o``.
    n_inner : int, optional
        ``N_i``; default ``N_o`` (the paper's recommendation after Thm. 5.9).
    sigma : float, optional
        Noise level; default ``1/sqrt(N_i)``. ``0`` gives deterministic projected GD.
    beta : float, optional
        Inner step; default ``min(1/(2 L_theta(W_k)), 1)`` recomputed per outer
        step ((5.19) with ``sigma = 1/sqrt(N_i)``; Theorem 5.8 needs
        ``beta <= 1/(2 L_theta)``).
    gamma : float, optional
        Outer step; default ``1/L`` with ``L`` Lemma 5.4's bound uniform over the
        ball ``||theta|| <= R/2`` (constant, Remark 5.6). For softplus (unbounded
        ``h``) it is recomputed each step on the box ``|x| <= max|W_k U| + 1``.
        Required for non-smooth activations.
    R : float, optional
        Diameter of the ``theta`` ball (3.6); default ``4 max(||theta_0||, sqrt(n))``.
    W0, theta0 : array, optional
        Start; default ``N(0, 1/d)`` and ``N(0, 1/n)`` entries from ``seed``.
    early_exit : bool, default=False
        Leave the inner loop once (3.8) holds (the paper's optional shortcut).
    seed : int, default=0
        Seeds a ``torch.Generator`` for the start and the noise.

    Returns
    -------
    SGDGDResult
        ``W = W_{N_o+1}``, ``theta = theta_{N_o+1}`` and one
        :class:`OuterDiagnostics` per outer step.
    """
    act = get_sgd_gd_activation(activation)
    Ut, vt = _check_data(U, v)
    d, N = Ut.shape
    n = _check_pos_int(n, "n")
    if n > d:
        raise ValueError(f"n must satisfy n <= d = {d} (Sec. 3 of the paper); got n = {n}")
    n_outer = _check_pos_int(n_outer, "n_outer")
    n_inner = n_outer if n_inner is None else _check_pos_int(n_inner, "n_inner")
    sigma = (
        1.0 / math.sqrt(n_inner)
        if sigma is None
        else _check_pos_float(sigma, "sigma", allow_zero=True)
    )
    if beta is not None:
        beta = _check_pos_float(beta, "beta")
    if gamma is not None:
        gamma = _check_pos_float(gamma, "gamma")
    elif not act.smooth:
        raise ValueError(
            f"gamma is required for the non-smooth activation {act.name!r}: Lemma 5.4 needs a "
            "bounded h'' and gives L = inf; pass gamma explicitly"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an int; got {seed!r}")
    if not isinstance(early_exit, bool):
        raise ValueError(f"early_exit must be a bool; got {early_exit!r}")

    gen = torch.Generator().manual_seed(int(seed))
    W = (
        torch.randn(n, d, generator=gen, dtype=DTYPE) / math.sqrt(d)
        if W0 is None
        else _as_tensor(W0, "W0").clone()
    )
    theta = (
        torch.randn(n, generator=gen, dtype=DTYPE) / math.sqrt(n)
        if theta0 is None
        else _as_tensor(theta0, "theta0").clone()
    )
    if W.shape != (n, d):
        raise ValueError(f"W0 must have shape (n, d) = {(n, d)}; got {tuple(W.shape)}")
    if theta.shape != (n,):
        raise ValueError(f"theta0 must have shape ({n},); got {tuple(theta.shape)}")
    if R is None:
        R = 4.0 * max(float(theta.norm()), math.sqrt(n))
    radius = _check_pos_float(R, "R") / 2.0
    theta = project_ball(theta, radius)

    bounded_h = math.isfinite(act.sup_h)
    gamma_fixed = gamma
    if gamma_fixed is None and bounded_h:
        gamma_fixed = 1.0 / lemma54_bound(Ut, vt, act, n=n, radius=radius)

    c0 = float(vt @ vt) / (2 * N)
    noise_scale = sigma / math.sqrt(n)
    eye_nd = n * d
    hist: list[OuterDiagnostics] = []
    run_min = math.inf
    with torch.no_grad():
        for k in range(n_outer + 1):
            Z = W @ Ut
            A = act.h(Z)
            H = A @ A.T / N
            b = A @ vt / N
            l_theta = float(torch.linalg.eigvalsh(H)[-1])
            beta_k = min(1.0 / (2.0 * l_theta), 1.0) if beta is None else beta

            def fq(t: torch.Tensor, H: torch.Tensor = H, b: torch.Tensor = b) -> float:
                return float(0.5 * t @ (H @ t) - b @ t) + c0

            f_start = fq(theta)
            xi = torch.randn(n_inner, n, generator=gen, dtype=DTYPE) * noise_scale
            tb = theta.clone()
            avg = torch.zeros_like(theta)
            wsum = 0.0
            steps = 0
            for i in range(n_inner):
                G = H @ tb - b + xi[i]
                tb = project_ball(tb - beta_k * G, radius)
                wsum += beta_k
                avg = avg + (beta_k / wsum) * (tb - avg)
                steps = i + 1
                if early_exit and fq(avg) <= f_start:
                    break
            theta = avg

            g_W, _ = _grads(W, theta, Ut, vt, act)
            gsq = float((g_W * g_W).sum())
            run_min = min(run_min, gsq)
            f_k = fq(theta)
            if gamma_fixed is not None:
                gamma_k = gamma_fixed
            else:
                x_max = float(Z.abs().max()) + 1.0
                gamma_k = 1.0 / lemma54_bound(Ut, vt, act, n=n, radius=radius, x_max=x_max)
            smin_d, smax_d = _d_gram_extremes(W, theta, Ut, act)
            if act.smooth:
                x_loc = None if bounded_h else float(Z.abs().max())
                l_loc = lemma54_bound(Ut, vt, act, n=n, theta=theta, x_max=x_loc)
            else:
                l_loc = math.inf
            hist.append(
                OuterDiagnostics(
                    k=k,
                    f=f_k,
                    f_start=f_start,
                    grad_w_sq=gsq,
                    running_min_grad_w_sq=run_min,
                    sigma_min_w=float(torch.linalg.svdvals(W)[-1]),
                    min_abs_theta=float(theta.abs().min()),
                    sigma_min_d_sq=smin_d,
                    certificate=certificate_bound(gsq, smin_d, N, eye_nd),
                    l_theta=l_theta,
                    lemma54_l=l_loc,
                    gamma=gamma_k,
                    beta=beta_k,
                    inner_steps=steps,
                    sigma_max_d_sq=smax_d,
                    max_abs_preact=float(Z.abs().max()),
                )
            )
            W = W - gamma_k * g_W
            if not torch.isfinite(W).all():
                raise FloatingPointError(
                    f"W became non-finite at outer step {k}; gamma = {gamma_k:g} is too large"
                )
    return SGDGDResult(W=W, theta=theta, history=hist, radius=radius, sigma=sigma, n_inner=n_inner)
