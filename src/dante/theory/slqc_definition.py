"""The SLQC check of Definitions 1 and 4 and the empirical SLQC constant.

``001_1787bf99fca4a9f2.txt`` Sec. 3.2 (after Hazan, Levy and Shalev-Shwartz,
2015): :func:`slqc_check` decides whether ``f`` is ``(eps, kappa, z)``-SLQC
at a point, in closed form and with margins; :func:`empirical_kappa` is the
smallest constant a set of points (e.g. an SNGD trajectory) needs, a lower
bound on any valid theoretical constant. Re-exported by
:mod:`dante.theory.slqc`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dante.theory.slqc_arguments import (
    ArrayLike,
    _positive,
    _real,
    _scalar,
    _to_numpy,
)

__all__ = [
    "EmpiricalKappa",
    "SLQCCheck",
    "empirical_kappa",
    "slqc_check",
]

# ----------------------------------------------------------------------------
# Definition 1 / 4: the SLQC check
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SLQCCheck:
    """Outcome of :func:`slqc_check` at one point ``x``.

    Attributes
    ----------
    holds : bool
        Whether ``f`` is ``(eps, kappa, z)``-SLQC at ``x``.
    excess : float
        ``f(x) - f(z)``.
    within_eps : bool
        First clause of Definition 1: ``excess <= eps``.
    grad_norm : float
        ``||grad f(x)||`` (Frobenius for matrices, Definition 4).
    inner : float
        ``<grad f(x), z - x>``.
    ball_margin : float
        ``max_{y in B(z, eps/kappa)} <grad f(x), y - x> = inner + (eps/kappa) ||g||``;
        the second clause holds iff ``grad_norm > 0`` and ``ball_margin <= 0``.
    ball_clause : bool
        Second clause of Definition 1.
    kappa_min : float
        The smallest ``kappa`` for which the ball clause holds at ``x``:
        ``eps ||g|| / (-inner)`` when ``inner < 0``, ``inf`` otherwise (no
        ``kappa`` makes the ball clause hold: ``x`` is SLQC only through the
        first clause, if at all).
    """

    holds: bool
    excess: float
    within_eps: bool
    grad_norm: float
    inner: float
    ball_margin: float
    ball_clause: bool
    kappa_min: float


def slqc_check(
    f: Callable[[Any], Any] | float,
    grad: Callable[[Any], Any] | ArrayLike,
    x: ArrayLike,
    z: ArrayLike,
    eps: float,
    kappa: float,
) -> SLQCCheck:
    """Check Definition 1/4 of ``001_1787bf99fca4a9f2.txt`` at ``x``, with margins.

    ``f`` is ``(eps, kappa, z)``-SLQC at ``x`` if ``f(x) - f(z) <= eps``, or
    ``||g|| > 0`` and ``<g, y - x> <= 0`` for every ``y`` in the ball
    ``B(z, eps/kappa)``, ``g = grad f(x)``. The maximum of ``<g, y - x>`` over
    that ball is attained at ``y = z + (eps/kappa) g/||g||``, so the second
    clause is the closed form ``<g, z - x> + (eps/kappa) ||g|| <= 0``
    (Cauchy-Schwarz; the paper states only the ball form). No tolerance is applied.

    Parameters
    ----------
    f : callable or float
        The function (called as ``f(x)`` and ``f(z)``), or the number
        ``f(x) - f(z)`` when it is already known.
    grad : callable or array-like
        ``grad f`` (called as ``grad(x)``) or the gradient at ``x`` itself. For
        non-differentiable ``f`` pass the subgradient the proofs use.
    x, z : torch.Tensor or numpy.ndarray
        The point and the reference point (``z = w*``); any shape, flattened
        (matrices use the Frobenius inner product, Definition 4).
    eps : float
        ``eps > 0``.
    kappa : float
        ``kappa > 0``.

    Returns
    -------
    SLQCCheck
    """
    eps = _positive("eps", eps)
    kappa = _positive("kappa", kappa)
    xv = _to_numpy("x", x)
    zv = _to_numpy("z", z)
    if xv.shape != zv.shape:
        raise ValueError(f"'x' and 'z' must have the same size, got {xv.size} and {zv.size}")
    if callable(f):
        excess = _scalar("f", f(x)) - _scalar("f", f(z))
    else:
        excess = _scalar("f", f)
    g = _to_numpy("grad", grad(x) if callable(grad) else grad)
    if g.shape != xv.shape:
        raise ValueError(f"the gradient has {g.size} entries but 'x' has {xv.size}")
    gnorm = float(np.linalg.norm(g))
    inner = float(np.dot(g, zv - xv))
    margin = inner + (eps / kappa) * gnorm
    ball = gnorm > 0.0 and margin <= 0.0
    within = excess <= eps
    kmin = eps * gnorm / (-inner) if inner < 0.0 else math.inf
    return SLQCCheck(
        holds=bool(within or ball),
        excess=float(excess),
        within_eps=bool(within),
        grad_norm=gnorm,
        inner=inner,
        ball_margin=float(margin),
        ball_clause=bool(ball),
        kappa_min=float(kmin),
    )


# ----------------------------------------------------------------------------
# empirical kappa
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmpiricalKappa:
    """Outcome of :func:`empirical_kappa`.

    Attributes
    ----------
    kappa : float
        The smallest ``kappa`` for which every checked point satisfies the ball
        clause: the max of ``kappa_min`` over them (``0.0`` if no point was
        checked; ``inf`` if some checked point is not SLQC for any kappa).
    n_points : int
        Points seen.
    n_checked : int
        Points with ``f(w) - f(z) > eps`` (only these need the ball clause).
    n_not_slqc : int
        Checked points with ``<g, z - w> >= 0`` or ``g = 0``: no ``kappa``
        makes them SLQC.
    kappa_min : numpy.ndarray
        ``kappa_min`` of each checked point (``inf`` for the non-SLQC ones).
    """

    kappa: float
    n_points: int
    n_checked: int
    n_not_slqc: int
    kappa_min: np.ndarray = field(repr=False)


def empirical_kappa(
    points: Iterable[ArrayLike],
    f: Callable[[Any], Any],
    grad: Callable[[Any], Any],
    z: ArrayLike,
    eps: float,
    f_star: float | None = None,
) -> EmpiricalKappa:
    """The smallest SLQC constant a set of points needs (e.g. an SNGD trajectory).

    For a point ``w`` with ``f(w) - f* > eps`` the ball clause of Definition 1
    of ``001_1787bf99fca4a9f2.txt``, ``<g, z - w> + (eps/kappa) ||g|| <= 0``,
    holds exactly for ``kappa >= kappa_min(w) = eps ||g|| / (-<g, z - w>)``
    when ``<g, z - w> < 0``, and for no ``kappa`` otherwise. (A larger
    ``kappa`` is a smaller ball, hence a weaker condition.) The SLQC constant
    certified by the points is therefore

        ``kappa_emp = max over {w : f(w) - f* > eps} of kappa_min(w)``,

    and a valid theoretical constant (e.g. ``2 b^3 W / a``) must be
    ``>= kappa_emp``: ``kappa_emp`` is a lower bound on any constant that
    makes all the points SLQC. Points with ``f(w) - f* <= eps`` are SLQC
    through the first clause for every ``kappa`` and are skipped.

    Parameters
    ----------
    points : iterable of tensors or arrays
        The points ``w``.
    f, grad : callable
        The function and its (sub)gradient.
    z : torch.Tensor or numpy.ndarray
        The reference point (the minimizer ``w*``).
    eps : float
        ``eps > 0``.
    f_star : float, optional
        ``f(z)``; computed when omitted.

    Returns
    -------
    EmpiricalKappa
    """
    eps = _positive("eps", eps)
    fz = _scalar("f", f(z)) if f_star is None else _real("f_star", f_star)
    kmins: list[float] = []
    n_points = 0
    n_bad = 0
    for w in points:
        n_points += 1
        excess = _scalar("f", f(w)) - fz
        if excess <= eps:
            continue
        chk = slqc_check(excess, grad(w), w, z, eps, 1.0)
        if chk.grad_norm == 0.0 or chk.inner >= 0.0:
            n_bad += 1
            kmins.append(math.inf)
        else:
            kmins.append(chk.kappa_min)
    arr = np.asarray(kmins, dtype=np.float64)
    return EmpiricalKappa(
        kappa=float(arr.max()) if arr.size else 0.0,
        n_points=n_points,
        n_checked=int(arr.size),
        n_not_slqc=n_bad,
        kappa_min=arr,
    )
