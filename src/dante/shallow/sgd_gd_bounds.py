"""Theorem 5.9 of Boob & Lan evaluated along an SGD-GD run, with the ``L`` it needs.

``002_16d5585f51d1d631.txt``: Theorem 5.9 bounds
``E[min_k ||grad_W f(W_k, theta_{k+1})||_F^2]`` by the right-hand side of
(5.21) (:func:`theorem59_bound`); with the recommended parameters
(``N_i = N_o``, ``sigma = 1/sqrt(N_i)``, ``gamma = 1/L``, ``beta`` by (5.19))
the text after the theorem simplifies it to
``2 L (f(W_0, theta_0) + R^2 (L_theta + 1/2) + 1) / N_o``
(:func:`corollary59_bound`). Both need one constant ``L`` with
``gamma_k < 2/L`` that makes ``grad_W f(., theta)`` ``L``-Lipschitz along the
run: Lemma 5.4's global ``L``
(:func:`~dante.shallow.sgd_gd_problem.lemma54_global_bound`) when ``h`` is
bounded, or, for softplus, whose values are unbounded so that no global ``L``
exists, Lemma 5.4 on the pre-activation box that holds every iterate of the
run (:func:`lemma54_run_bound`; it also holds the segments between them, so
the descent inequality (5.20) used by the proof holds along the run).
Re-exported by :mod:`dante.shallow.sgd_gd`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .sgd_gd_activations import SGDGDActivation, get_sgd_gd_activation
from .sgd_gd_algorithm import SGDGDResult
from .sgd_gd_problem import _check_data, _check_pos_float, lemma54_bound

__all__ = ["corollary59_bound", "lemma54_run_bound", "theorem59_bound"]


def _check_result(result: SGDGDResult) -> None:
    if not isinstance(result, SGDGDResult) or not result.history:
        raise ValueError("result must be a non-empty SGDGDResult from sgd_gd")


def theorem59_bound(result: SGDGDResult, lipschitz: float | None = None) -> np.ndarray:
    """Right-hand side of (5.21), Theorem 5.9 of ``002_16d5585f51d1d631.txt``, for every prefix.

    Entry ``K`` bounds ``E[min_{k <= K} ||grad_W f(W_k, theta_{k+1})||_F^2]``::

        (f(W_0, theta_0) + sum_{k<=K} (sum_tau beta_k)^{-1} [R^2/2
             + sum_tau beta_k^2 sigma^2 / (2 (1 - L_theta,k beta_k))])
        / sum_{k<=K} (gamma_k - L gamma_k^2 / 2)

    evaluated with the run's own ``beta_k``, ``L_theta(W_k)``, ``gamma_k``,
    inner-step counts and ``R``. It is a bound on an expectation; comparing it
    with one run's running minimum is a sanity check, not a test of the theorem.

    Parameters
    ----------
    result : SGDGDResult
    lipschitz : float, optional
        The theorem's constant ``L``. ``None`` (default): ``L = 1/gamma_k`` at
        each step, so each denominator term is ``gamma_k / 2``; this is the
        theorem's constant ``L`` when ``gamma`` was left at its default for a
        bounded ``h`` (Lemma 5.4's global bound, constant along the run), but
        for softplus it is the *local* bound of step ``k`` (box
        ``|x| <= max|W_k U| + 1``), which is not the theorem's hypothesis. A
        number: that one ``L`` for every step (e.g. :func:`lemma54_run_bound`);
        every ``gamma_k`` must then be ``< 2/L``.

    Raises
    ------
    ValueError
        If some ``gamma_k >= 2/lipschitz`` (Theorem 5.9 does not apply).
    """
    _check_result(result)
    R = 2.0 * result.radius
    h = result.history
    beta = np.array([x.beta for x in h])
    steps = np.array([x.inner_steps for x in h], dtype=float)
    lth = np.array([x.l_theta for x in h])
    gam = np.array([x.gamma for x in h])
    slack = 1 - lth * beta  # > 0 needed (Theorem 5.8 takes beta <= 1/(2 L_theta))
    with np.errstate(divide="ignore"):
        noise = np.where(slack > 0, beta**2 * result.sigma**2 / (2 * slack), np.inf)
    inner = (R**2 / 2 + steps * noise) / (steps * beta)
    num = h[0].f_start + np.cumsum(inner)
    if lipschitz is None:
        den = np.cumsum(gam / 2.0)
    else:
        L = _check_pos_float(lipschitz, "lipschitz")
        if not np.all(gam * L < 2.0):
            raise ValueError(
                f"Theorem 5.9 needs gamma_k < 2/L = {2.0 / L:.4g}; the run's largest gamma_k is "
                f"{float(gam.max()):.4g}"
            )
        den = np.cumsum(gam - L * gam**2 / 2.0)
    return num / den


def corollary59_bound(result: SGDGDResult) -> float:
    """The rate stated after Theorem 5.9 of ``002_16d5585f51d1d631.txt`` for one run.

    With ``N_i = N_o``, ``sigma = 1/sqrt(N_i)``, ``gamma_k = 1/L`` and ``beta``
    from (5.19) the paper gives
    ``E[min_{k <= N_o} ||grad_W f(W_k, theta_{k+1})||_F^2]
    <= 2 L (f(W_0, theta_0) + R^2 (L_theta + 1/2) + 1) / N_o``,
    the explicit ``O(1/N_o)`` of the theorem. Evaluated with ``L = 1/gamma``
    (the run's constant step), ``L_theta = max_k L_theta(W_k)`` (the paper
    treats it as a constant), ``R`` the run's ball diameter and
    ``f(W_0, theta_0)`` (after the projection onto the ball). Under those
    parameters it is at least the last entry of :func:`theorem59_bound`
    (``1 / beta_k <= 2 L_theta + 1`` and ``1 - L_theta beta_k >= 1/2``).

    Raises
    ------
    ValueError
        If the run's ``gamma_k`` are not all equal (no single ``L = 1/gamma``;
        softplus' default step changes every outer step).
    """
    _check_result(result)
    h = result.history
    gam = np.array([x.gamma for x in h])
    if not np.all(gam == gam[0]):
        raise ValueError(
            "the corollary after Theorem 5.9 takes gamma_k = 1/L constant; this run's gamma_k vary"
        )
    L = 1.0 / float(gam[0])
    n_outer = len(h) - 1
    if n_outer < 1:
        raise ValueError("the corollary needs N_o >= 1 (at least two outer steps)")
    R = 2.0 * result.radius
    l_theta = max(x.l_theta for x in h)
    return 2.0 * L * (h[0].f_start + R**2 * (l_theta + 0.5) + 1.0) / n_outer


def lemma54_run_bound(
    result: SGDGDResult,
    U: torch.Tensor,
    v: torch.Tensor,
    activation: str | SGDGDActivation,
) -> float:
    """Lemma 5.4's ``L`` on the pre-activation box holding every iterate of the run.

    ``x_max = max_{k <= N_o + 1} max |W_k U| + 1`` (the ``+ 1`` as in the
    per-step box :func:`~dante.shallow.sgd_gd_algorithm.sgd_gd` uses for
    softplus, so this ``L`` is at least every per-step one), uniform over the
    ball ``||theta|| <= R/2`` (``002_16d5585f51d1d631.txt``, Lemma 5.4,
    Remark 5.6). The box is convex, so it also holds every segment
    ``[W_k, W_{k+1}]``: one ``L`` valid along the whole run, the constant
    Theorem 5.9 needs, found after the run. For a bounded ``h`` it equals the
    global bound (the box does not matter); for the non-smooth ReLU types it
    is ``inf``.
    """
    _check_result(result)
    act = get_sgd_gd_activation(activation)
    if not act.smooth:
        return math.inf
    Ut, vt = _check_data(U, v)
    last = float((result.W @ Ut).abs().max())
    x_max = max(last, *(x.max_abs_preact for x in result.history))
    if not math.isfinite(x_max):
        raise ValueError("the run has no max_abs_preact record; rerun sgd_gd")
    n = result.W.shape[0]
    return lemma54_bound(Ut, vt, act, n=n, radius=result.radius, x_max=x_max + 1.0)
