"""L-BFGS for the output layer with line searches in output space.

The output block of a DANTE sweep is a generalized linear model on cached
features (Sec. 3 of ``001_1787bf99fca4a9f2.txt``), so along a search
direction ``D`` its pre-activations move linearly: ``Z(t) = Z + t U`` with
``U = D_W H^T + D_b``. :func:`lbfgs_output` exploits this: per iteration it
makes one matmul for ``U``, runs the line search on ``Z + t U`` (each trial is
elementwise over the ``n x k`` outputs, a few percent of a pass), and one
matmul for the gradient at the accepted step. An iteration therefore costs
one pass over the rows (the two matmuls of a function evaluation) however
many trials its line search makes, where ``torch.optim.LBFGS`` pays two
matmuls per trial (1.15 trials per iteration measured on MNIST features).

The direction is the usual two-loop recursion (Nocedal & Wright, Alg. 7.4)
in float64 on the flattened ``[W, b]``; the step satisfies the strong Wolfe
conditions when the line search finds one within its trials, and at least
sufficient decrease otherwise.
"""

from __future__ import annotations

import math

import torch

from .output_gauss_newton import gauss_newton_direction, has_gauss_newton
from .output_objectives import OutputObjective

__all__ = ["lbfgs_output"]

_C1 = 1e-4  # sufficient decrease
_MAX_TRIALS = 20  # line-search trials per iteration (elementwise, no pass)


def _flat(obj: OutputObjective) -> torch.Tensor:
    g = obj.grad_weight.reshape(-1)
    if obj.grad_bias is not None:
        g = torch.cat([g, obj.grad_bias])
    return g.double()


def _two_loop(
    g: torch.Tensor, hist: list[tuple[torch.Tensor, torch.Tensor, float]]
) -> torch.Tensor:
    """``-H g`` for the L-BFGS inverse-Hessian estimate from ``(s, y, 1 / y^T s)`` pairs."""
    q = g.neg()
    alphas = []
    for s, y, rho in reversed(hist):
        a = rho * float(s @ q)
        q.add_(y, alpha=-a)
        alphas.append(a)
    s, y, _ = hist[-1]
    q.mul_(float(s @ y) / float(y @ y))
    for (s, y, rho), a in zip(hist, reversed(alphas), strict=True):
        b = rho * float(y @ q)
        q.add_(s, alpha=a - b)
    return q


def _cubic_min(t1: float, f1: float, g1: float, t2: float, f2: float, g2: float) -> float:
    """The minimiser of the cubic through two points' values and slopes, kept
    inside the middle 80% of the bracket (bisection if it has none)."""
    lo, hi = min(t1, t2), max(t1, t2)
    mid = 0.5 * (lo + hi)
    if not all(map(math.isfinite, (f1, g1, f2, g2))):
        return mid
    d1 = g1 + g2 - 3 * (f1 - f2) / (t1 - t2)
    sq = d1 * d1 - g1 * g2
    if sq < 0:
        return mid
    d2 = math.copysign(math.sqrt(sq), t2 - t1)
    denom = g2 - g1 + 2 * d2
    if denom == 0:
        return mid
    t = t2 - (t2 - t1) * (g2 + d2 - d1) / denom
    width = hi - lo
    return min(max(t, lo + 0.1 * width), hi - 0.1 * width) if math.isfinite(t) else mid


def _line_search(obj: OutputObjective, f0: float, g0: float, t: float, c2: float) -> float:
    """A step along the objective's direction: strong Wolfe if found within
    :data:`_MAX_TRIALS` trials, else the best sufficient-decrease step seen
    (``0.0``: none)."""
    lo, f_lo, g_lo = 0.0, f0, g0
    hi = f_hi = g_hi = math.nan
    t_prev, g_prev = 0.0, g0
    for _ in range(_MAX_TRIALS):
        f, g = obj.line(t)
        if not math.isfinite(f) or f > f0 + _C1 * t * g0 or f >= f_lo or g >= 0:
            hi, f_hi, g_hi = t, f, g  # the minimum lies below t
        elif abs(g) <= -c2 * g0:
            return t  # strong Wolfe
        else:
            lo, f_lo, g_lo = t, f, g  # sufficient decrease, still descending
        if math.isnan(hi):  # no upper bracket yet: extrapolate, by the secant
            # through the slopes at the last two steps where it applies (exact
            # for a quadratic), by 4x otherwise, within [1.5 t, 10 t]
            sec = t + (t - t_prev) * g / (g_prev - g) if g_prev < g < 0 else 4.0 * t
            t_prev, g_prev = t, g
            t = min(max(sec, 1.5 * t), 10.0 * t)
        else:
            t = _cubic_min(lo, f_lo, g_lo, hi, f_hi, g_hi)
        if math.isfinite(hi) and hi - lo <= 1e-12 * hi:
            break
    return lo


def lbfgs_output(
    obj: OutputObjective,
    max_passes: int,
    *,
    history: int = 20,
    tol: float = 1e-6,
    c2: float = 0.5,
    gauss_newton: bool = True,
) -> tuple[float, int]:
    """Minimise the objective over the layer's weights in at most ``max_passes`` passes.

    Parameters
    ----------
    obj : OutputObjective
        The output layer's objective (its weights are updated in place).
    max_passes : int
        Passes over the rows: one for the first evaluation, one per iteration.
    history : int, default=20
        Correction pairs kept.
    tol : float, default=1e-6
        Stop once an iteration lowers the objective by less than ``tol`` times
        its value.
    c2 : float, default=0.5
        Curvature constant of the strong Wolfe conditions (smaller: a more
        exact line search, at more elementwise trials and no extra passes).
    gauss_newton : bool, default=True
        For ``mse`` on a generalized-ReLU output, first take one
        :func:`~dante.output_gauss_newton.gauss_newton_direction` step
        (two passes: the Gram matrices' read of the rows, and its iteration).

    Returns
    -------
    (float, int)
        The mean loss before (without the penalty) and the passes made.
    """
    f = obj.evaluate()
    first, passes = obj.last_loss, 1
    if not math.isfinite(f):
        return first, passes
    kw = obj.grad_weight.numel()
    dtype = obj.weight.dtype
    if gauss_newton and has_gauss_newton(obj) and passes + 2 <= max_passes:
        # one reweighted least-squares step (a read of the rows for the Gram
        # matrices, then an iteration along it); L-BFGS goes on from there
        dW, db = gauss_newton_direction(obj)
        gtd = float(obj.grad_weight.double().mul(dW).sum())
        if db is not None:
            gtd += float(obj.grad_bias.double().mul(db).sum())
        passes += 1
        if gtd < 0:
            obj.set_direction(dW, db)
            passes += 1
            t = _line_search(obj, f, gtd, 1.0, c2)
            if t > 0.0:
                f = obj.accept(t)
    g = _flat(obj)
    hist: list[tuple[torch.Tensor, torch.Tensor, float]] = []
    while passes < max_passes and float(g.abs().max()) > 1e-10:
        d = _two_loop(g, hist) if hist else g.neg()
        gtd = float(g @ d)
        if not gtd < 0:  # not a descent direction: restart from steepest descent
            hist.clear()
            d, gtd = g.neg(), -float(g @ g)
        dW = d[:kw].view_as(obj.grad_weight).to(dtype)
        db = d[kw:].to(dtype) if obj.grad_bias is not None else None
        obj.set_direction(dW, db)
        # the first step along -g: one unit of |g|_1 (torch's LBFGS), later 1
        t0 = min(1.0, 1.0 / float(g.abs().sum())) if not hist else 1.0
        t = _line_search(obj, f, gtd, t0, c2)
        passes += 1  # the direction's matmul is made either way
        if t == 0.0:
            break  # no decrease along d: converged to rounding
        f_new = obj.accept(t)
        g_new = _flat(obj)
        s, y = d.mul_(t), g_new - g
        ys = float(y @ s)
        if ys > 1e-10 * float(y @ y) ** 0.5 * float(s @ s) ** 0.5:
            hist.append((s, y, 1.0 / ys))
            del hist[:-history]
        done = f - f_new <= tol * abs(f_new)
        f, g = f_new, g_new
        if done:
            break
    return first, passes
