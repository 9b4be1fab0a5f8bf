"""SNGD (Algorithm 1 of ``001_1787bf99fca4a9f2.txt``) on a GLM teacher with theory-set parameters.

:func:`run_sngd_glm` steps ``w <- w - eta g_t/||g_t||`` through
:func:`dante.sngd.sngd_step_` and records ``f - f*`` along the way, the first
step with ``f - f* <= 3 eps`` (Theorem 8) and the empirical SLQC constant of
the trajectory (:class:`~dante.theory.slqc.EmpiricalKappa`). Re-exported by
:mod:`dante.theory.slqc`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from dante.sngd import sngd_step_
from dante.theory.glm_teacher import GLMTeacher
from dante.theory.slqc_arguments import _positive
from dante.theory.slqc_definition import EmpiricalKappa

__all__ = ["SNGDTrace", "run_sngd_glm"]

# ----------------------------------------------------------------------------
# SNGD with theory-set parameters
# ----------------------------------------------------------------------------


@dataclass
class SNGDTrace:
    """What :func:`run_sngd_glm` records.

    Attributes
    ----------
    steps_run : int
        SNGD steps taken.
    first_hit : int or None
        Number of steps after which ``f - f* <= target`` held for the first
        time (``0`` if it held at ``w_1``), ``None`` if never.
    final_excess : float
        ``f(w) - f*`` at the last iterate (Algorithm 1 of ``001`` outputs it).
    best_excess : float
        ``min_t f(w_t) - f*`` over the run.
    tail_max_excess : float
        ``max f - f*`` over the iterates after ``first_hit`` (nan if no hit):
        whether SNGD stays below the target once there.
    kappa_emp : EmpiricalKappa
        :func:`empirical_kappa` along the trajectory (full gradients of ``f``).
    record_steps, record_excess : numpy.ndarray
        ``f - f*`` at every ``record_every``-th iterate, for plots.
    w_final : torch.Tensor
        The last iterate.
    batch_size : int
        The minibatch size used (``m`` means full batch).
    """

    steps_run: int
    first_hit: int | None
    final_excess: float
    best_excess: float
    tail_max_excess: float
    kappa_emp: EmpiricalKappa
    record_steps: np.ndarray
    record_excess: np.ndarray
    w_final: torch.Tensor
    batch_size: int


def run_sngd_glm(
    teacher: GLMTeacher,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    eta: float,
    steps: int,
    batch_size: int,
    eps: float,
    target: float | None = None,
    seed: int = 0,
    w1: torch.Tensor | None = None,
    stop_after_hit: int | None = None,
    record_every: int = 1,
    chunk: int = 1024,
) -> SNGDTrace:
    """SNGD (Algorithm 1 of ``001_1787bf99fca4a9f2.txt``) on the GLM of ``teacher``.

    ``f`` is the empirical loss on ``(X, y)`` (realizable, so ``f* = f(w*) = 0``
    up to rounding). Each step draws ``batch_size`` indices uniformly *with
    replacement* (i.i.d. draws from the empirical distribution, as Theorem 8
    assumes) and steps ``w <- w - eta g_t/||g_t||`` with
    :func:`dante.sngd.sngd_step_`. If ``batch_size >= m`` the exact gradient
    of ``f`` is used instead (``f_t = f``: the concentration Theorem 8 asks of
    the minibatch then holds with no error) -- the choice the study makes
    when the theory batch size exceeds the sample.

    At every iterate ``f(w_t) - f*`` and the full gradient are evaluated to
    record the first step with ``f - f* <= target`` and the empirical SLQC
    constant (:func:`empirical_kappa`, with ``z = w*`` and ``eps``).

    Parameters
    ----------
    teacher : GLMTeacher
    X, y : torch.Tensor
        The sample defining ``f`` (float64).
    eta : float
        Step length (``eps/kappa`` in theory).
    steps : int
        Maximum number of steps (``T``, or a cap).
    batch_size : int
        Minibatch size ``b`` (``>= m``: full batch).
    eps : float
        The ``eps`` of Definition 1 used for the empirical kappa.
    target : float, optional
        Success level for ``first_hit``; default ``3 eps`` (Theorem 8).
    seed : int, default=0
        Seed of the minibatch draws.
    w1 : torch.Tensor, optional
        Start; default the origin (so ``||w_1 - w*|| = ||w*||``).
    stop_after_hit : int, optional
        Stop once at least this many steps were taken after ``first_hit``
        (checked every ``chunk`` steps, so the run may go on up to ``chunk - 1``
        steps longer; never beyond ``steps``). ``None``: run all ``steps``.
    record_every : int, default=1
        Keep every ``record_every``-th ``f - f*`` for plots.
    chunk : int, default=1024
        Steps between host synchronisations (bookkeeping only).

    Returns
    -------
    SNGDTrace
    """
    eta = _positive("eta", eta)
    eps = _positive("eps", eps)
    target = 3.0 * eps if target is None else _positive("target", target)
    for name, v in (
        ("steps", steps),
        ("batch_size", batch_size),
        ("record_every", record_every),
        ("chunk", chunk),
    ):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name!r} must be a positive int, got {v!r}")
    if stop_after_hit is not None and (isinstance(stop_after_hit, bool) or stop_after_hit < 0):
        raise ValueError(
            f"'stop_after_hit' must be a non-negative int or None, got {stop_after_hit}"
        )
    m = X.shape[0]
    full = batch_size >= m
    gen = torch.Generator().manual_seed(int(seed))
    w_star = teacher.w_star.to(X.dtype)
    w = torch.zeros_like(w_star) if w1 is None else w1.detach().clone().to(X.dtype).reshape(-1)
    f_star = float(teacher.loss_and_grad(w_star, X, y)[0])

    stats_buf = torch.empty(chunk, 3, dtype=torch.float64)  # f, ||grad f||, <grad f, w* - w>
    rec_steps: list[np.ndarray] = []
    rec_vals: list[np.ndarray] = []
    kmins: list[np.ndarray] = []
    n_bad = 0
    first_hit: int | None = None
    best = math.inf
    tail_max = -math.inf
    last_excess = math.nan
    t = 0  # index of the next iterate to evaluate (= steps taken so far)
    pending: torch.Tensor | None = None
    while t <= steps:
        n = min(chunk, steps + 1 - t)  # evaluate iterates t .. t+n-1, stepping after each
        for i in range(n):
            if pending is not None:  # the step from the previous iterate
                sngd_step_([w], [pending], lr=eta, eps=1e-300)
            loss, g = teacher.loss_and_grad(w, X, y)
            stats_buf[i] = torch.stack((loss, torch.linalg.vector_norm(g), g @ (w_star - w)))
            if full:
                pending = g
            else:
                idx = torch.randint(m, (batch_size,), generator=gen)
                pending = teacher.loss_and_grad(w, X[idx], y[idx])[1]
        stats = stats_buf[:n].numpy()
        ex = stats[:, 0] - f_star
        gn = stats[:, 1]
        inn = stats[:, 2]
        idx_t = np.arange(t, t + n)
        mask = ex > eps  # only these points need the ball clause
        if mask.any():
            bad = (inn[mask] >= 0.0) | (gn[mask] == 0.0)
            n_bad += int(bad.sum())
            km = np.full(int(mask.sum()), math.inf)
            km[~bad] = eps * gn[mask][~bad] / (-inn[mask][~bad])
            kmins.append(km)
        sel = idx_t % record_every == 0
        rec_steps.append(idx_t[sel])
        rec_vals.append(ex[sel])
        best = min(best, float(ex.min()))
        if first_hit is None:
            hits = np.nonzero(ex <= target)[0]
            if hits.size:
                first_hit = int(t + hits[0])
                tail_max = float(ex[hits[0] :].max())
        else:
            tail_max = max(tail_max, float(ex.max()))
        last_excess = float(ex[-1])
        t += n
        if (
            first_hit is not None
            and stop_after_hit is not None
            and t - 1 >= first_hit + stop_after_hit
        ):
            break
    karr = np.concatenate(kmins) if kmins else np.zeros(0)
    kemp = EmpiricalKappa(
        kappa=float(karr.max()) if karr.size else 0.0,
        n_points=t,
        n_checked=int(karr.size),
        n_not_slqc=n_bad,
        kappa_min=karr,
    )
    return SNGDTrace(
        steps_run=t - 1,
        first_hit=first_hit,
        final_excess=last_excess,
        best_excess=best,
        tail_max_excess=tail_max if first_hit is not None else math.nan,
        kappa_emp=kemp,
        record_steps=np.concatenate(rec_steps),
        record_excess=np.concatenate(rec_vals),
        w_final=w,
        batch_size=m if full else int(batch_size),
    )
