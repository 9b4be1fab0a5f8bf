"""Strict local quasi-convexity (SLQC), SLQC constants and theory-set SNGD.

The theory the DANTE papers build on (``001_1787bf99fca4a9f2.txt`` Sec. 3.2-3.4,
``000_16cd8e47eb5a686b.txt`` Sec. 3; after Hazan, Levy and Shalev-Shwartz, 2015)
turned into functions that software can call:

* :func:`slqc_check` -- Definition 1 (vectors) and Definition 4 (matrices,
  Frobenius inner product) of ``001``, checked in closed form with margins
  (``.holds`` is the verdict);
* ``kappa_*`` -- the SLQC constants of Theorems 1, 3, 4/5, 6, 7 and
  Corollaries 1/2 of ``001`` (and the sigmoid constant of Hazan et al.);
* :func:`theory_hyperparameters` -- learning rate, number of steps and
  minibatch size of Theorem 8 of ``001`` (Theorem 3.6 of ``000``);
* :func:`empirical_kappa` -- the smallest SLQC constant that a set of points
  (e.g. an SNGD trajectory) actually needs;
* :class:`GLMTeacher`, :func:`make_glm_teacher`,
  :func:`glm_loss_and_grad` -- the idealized (realizable) GLM of Definition 2
  of ``001`` with the sigmoid or generalized ReLU link;
* :func:`run_sngd_glm` -- SNGD (Algorithm 1 of ``001``, through
  :func:`dante.sngd.sngd_step_`) on such a GLM with theory-set parameters,
  recording ``f - f*`` and the empirical SLQC constant along the way.

Loss convention. Like the proofs in ``001`` (Sec. 5.1) the GLM loss is
``f(w) = (1/m) sum_i (y_i - phi(<w, x_i>))^2`` *without* a factor 1/2, so that
``f(w) - f(w*) <= eps`` in Definition 1 means what the theorems mean. The ball
clause of Definition 1 does not depend on the scale of ``f``; the first clause
and ``M`` of Theorem 8 do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dante._numerics import ceil_tolerant
from dante.sngd import sngd_step_

__all__ = [
    "GLM_ACTIVATIONS",
    "EmpiricalKappa",
    "GLMTeacher",
    "SLQCCheck",
    "SNGDTrace",
    "TheoryHyperparameters",
    "empirical_kappa",
    "glm_loss_and_grad",
    "glm_loss_bound",
    "kappa_generalized_relu",
    "kappa_hidden_layer",
    "kappa_relu",
    "kappa_sigmoid_bce",
    "kappa_sigmoid_glm",
    "kappa_softmax_ce",
    "make_glm_teacher",
    "run_sngd_glm",
    "slqc_check",
    "theory_hyperparameters",
]

ArrayLike = Any  # torch.Tensor, numpy.ndarray, or anything numpy.asarray accepts

#: Link functions understood by the GLM helpers.
GLM_ACTIVATIONS: tuple[str, ...] = ("sigmoid", "generalized_relu", "relu")


# ----------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name!r} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name!r} must be finite, got {value!r}")
    return value


def _positive(name: str, value: Any) -> float:
    value = _real(name, value)
    if value <= 0.0:
        raise ValueError(f"{name!r} must be > 0, got {value!r}")
    return value


def _nonnegative(name: str, value: Any) -> float:
    value = _real(name, value)
    if value < 0.0:
        raise ValueError(f"{name!r} must be >= 0, got {value!r}")
    return value


def _slopes(a: Any, b: Any, *, allow_zero_a: bool) -> tuple[float, float]:
    a = _nonnegative("a", a)
    b = _positive("b", b)
    if a > b:
        raise ValueError(f"the generalized ReLU needs 0 < a <= b, got a={a} > b={b}")
    if a == 0.0 and not allow_zero_a:
        raise ValueError(
            "'a' must be > 0 for the generalized-ReLU constant 2 b^3 W / a "
            "(Theorem 1 of 001); for the standard ReLU (a = 0) use kappa_relu"
        )
    return a, b


def _to_numpy(name: str, value: ArrayLike) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        arr = value.detach().to("cpu", torch.float64).numpy()
    else:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name!r} must be a torch tensor or a numeric array, got {type(value).__name__}"
            ) from exc
    return arr.reshape(-1)


def _scalar(name: str, value: Any) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name!r} must return a scalar, got shape {tuple(value.shape)}")
        return float(value.detach().cpu().item())
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"{name!r} must return a scalar, got shape {arr.shape}")
    return float(arr.reshape(-1)[0])


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
# SLQC constants
# ----------------------------------------------------------------------------


def kappa_sigmoid_glm(w_norm: float) -> float:
    """``kappa = exp(||w*||)``: the idealized sigmoid GLM (Hazan et al., Sec. 3.2 of ``001``).

    Parameters
    ----------
    w_norm : float
        ``||w*||`` (or a bound ``W`` on it), ``>= 0``.
    """
    return math.exp(_nonnegative("w_norm", w_norm))


def kappa_generalized_relu(w_norm: float, a: float, b: float) -> float:
    """``kappa = 2 b^3 W / a``: generalized-ReLU GLM (Theorem 1) or layer (Theorem 3) of ``001``.

    Parameters
    ----------
    w_norm : float
        ``W >= ||w*||`` (``||W*||_F`` for a layer), ``> 0``.
    a, b : float
        Slopes of the generalized ReLU, ``0 < a <= b``.
    """
    w_norm = _positive("w_norm", w_norm)
    a, b = _slopes(a, b, allow_zero_a=False)
    return 2.0 * b**3 * w_norm / a


def kappa_relu(w_norm: float, b: float = 1.0) -> float:
    """``kappa = 2 b^2 W``: standard ReLU (``a = 0``), Corollaries 1/2 of ``001``.

    Parameters
    ----------
    w_norm : float
        ``W >= ||w*||``, ``> 0``.
    b : float, default=1.0
        Slope of the positive side.
    """
    return 2.0 * _positive("b", b) ** 2 * _positive("w_norm", w_norm)


def kappa_hidden_layer(w1_norm: float, w2_norm: float, eps: float, a: float, b: float) -> float:
    """``kappa = (a / (4 b^5 W2^2 W1) - W1/eps)^{-1}``: hidden layer, Theorems 4/5 of ``001``.

    Parameters
    ----------
    w1_norm, w2_norm : float
        Bounds ``W1 >= ||W1*||_F`` and ``W2 >= ||W2*||``, both ``> 0``.
    eps : float
        The accuracy ``eps > 0`` (this constant depends on it).
    a, b : float
        Generalized-ReLU slopes, ``0 < a <= b``.

    Raises
    ------
    ValueError
        If the bracket is ``<= 0``, i.e. ``eps <= 4 b^5 W2^2 W1^2 / a``: then
        Theorem 4's proof gives no positive ``kappa`` (the term ``W1/eps``
        comes from ``||W1 - W1*|| <= 2 W1`` and swamps the curvature term), so
        no SLQC constant is certified.
    """
    w1 = _positive("w1_norm", w1_norm)
    w2 = _positive("w2_norm", w2_norm)
    eps = _positive("eps", eps)
    a, b = _slopes(a, b, allow_zero_a=False)
    bracket = a / (4.0 * b**5 * w2**2 * w1) - w1 / eps
    if bracket <= 0.0:
        raise ValueError(
            f"Theorem 4 of 001 certifies no kappa here: a/(4 b^5 W2^2 W1) - W1/eps = {bracket:.4g}"
            f" <= 0; it needs eps > 4 b^5 W2^2 W1^2 / a = {4 * b**5 * w2**2 * w1**2 / a:.4g}"
            " (raise eps or shrink the weight bounds)"
        )
    return 1.0 / bracket


def kappa_sigmoid_bce(eps: float) -> float:
    """``kappa = eps / (1 - e^{-eps})^2``: sigmoid + binary cross-entropy, Theorem 6 of ``001``."""
    eps = _positive("eps", eps)
    return eps / (-math.expm1(-eps)) ** 2


def kappa_softmax_ce(eps: float, n_outputs: int) -> float:
    """``kappa = eps d' / (1 - e^{-eps})^2``: softmax + cross-entropy, Theorem 7 of ``001``.

    Parameters
    ----------
    eps : float
        ``eps > 0``.
    n_outputs : int
        ``d'``, the number of softmax outputs (``>= 1``).
    """
    eps = _positive("eps", eps)
    if isinstance(n_outputs, bool) or not isinstance(n_outputs, (int, np.integer)):
        raise TypeError(f"'n_outputs' must be an int, got {n_outputs!r}")
    if n_outputs < 1:
        raise ValueError(f"'n_outputs' must be >= 1, got {n_outputs}")
    return eps * int(n_outputs) / (-math.expm1(-eps)) ** 2


# ----------------------------------------------------------------------------
# Theorem 8 / 3.6: theory-set hyperparameters
# ----------------------------------------------------------------------------


def _ceil(x: float) -> int:
    """``ceil`` that ignores float noise of relative size 1e-12 (``1600.0000000000002 -> 1600``)."""
    if not math.isfinite(x):
        raise OverflowError(f"theory hyperparameter is not finite ({x}); kappa or 1/eps too large")
    return ceil_tolerant(x)


@dataclass(frozen=True)
class TheoryHyperparameters:
    """``(eta, T, b)`` of Theorem 8 of ``001`` / Theorem 3.6 of ``000`` and their inputs.

    Attributes
    ----------
    eta : float
        Learning rate ``eps / kappa``.
    T : int
        Number of SNGD steps ``ceil(kappa^2 dist0^2 / eps^2)`` (at least 1).
    b : int
        Minibatch size ``ceil(M^2 log(4T/delta) / (2 eps^2))`` (at least 1).
    eps, delta, kappa, M, dist0 : float
        The inputs.
    """

    eta: float
    T: int
    b: int
    eps: float
    delta: float
    kappa: float
    M: float
    dist0: float

    def __iter__(self):  # allows ``eta, T, b = theory_hyperparameters(...)``
        return iter((self.eta, self.T, self.b))


def theory_hyperparameters(
    eps: float, delta: float, kappa: float, M: float, dist0: float
) -> TheoryHyperparameters:
    """Learning rate, steps and minibatch size from Theorem 8 of ``001_1787bf99fca4a9f2.txt``.

    With ``eta = eps/kappa``, ``T >= kappa^2 ||w_1 - w*||^2 / eps^2`` and
    ``b >= M^2 log(4T/delta) / (2 eps^2)`` SNGD reaches ``f - f* <= 3 eps``
    with probability ``1 - 2 delta`` (the printed ``3 eps^3`` is a typo;
    Theorem 3.6 of ``000`` and Hazan et al. have ``3 eps``). The smallest
    admissible integers are returned; the ``b_0`` of the theorem (the batch
    size that makes the minibatch loss SLQC) is problem specific and not
    included.

    Parameters
    ----------
    eps : float
        Target accuracy ``eps > 0``.
    delta : float
        Failure probability, ``0 < delta < 1/2``.
    kappa : float
        SLQC constant ``kappa > 0``.
    M : float
        Bound ``|f_t| <= M`` on the minibatch losses, ``> 0``.
    dist0 : float
        ``||w_1 - w*||``, ``>= 0`` (``T`` is at least 1 even when it is 0).

    Returns
    -------
    TheoryHyperparameters
        Unpacks as ``eta, T, b``.
    """
    eps = _positive("eps", eps)
    delta = _positive("delta", delta)
    if delta >= 0.5:
        raise ValueError(
            f"'delta' must be in (0, 1/2) (success probability 1 - 2 delta), got {delta}"
        )
    kappa = _positive("kappa", kappa)
    M = _positive("M", M)
    dist0 = _nonnegative("dist0", dist0)
    T = max(1, _ceil(kappa**2 * dist0**2 / eps**2))
    b = max(1, _ceil(M**2 * math.log(4.0 * T / delta) / (2.0 * eps**2)))
    return TheoryHyperparameters(
        eta=eps / kappa, T=T, b=b, eps=eps, delta=delta, kappa=kappa, M=M, dist0=dist0
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


# ----------------------------------------------------------------------------
# the idealized GLM
# ----------------------------------------------------------------------------


def _check_activation(activation: str) -> str:
    if not isinstance(activation, str):
        raise TypeError(f"'activation' must be a string, got {type(activation).__name__}")
    key = activation.strip().lower().replace("-", "_")
    if key not in GLM_ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {activation!r}; choose one of {', '.join(GLM_ACTIVATIONS)}"
        )
    return key


def _link(
    u: torch.Tensor, activation: str, a: float, b: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``phi(u)`` and the (sub)derivative the proofs use (``b`` at 0 for the ReLU family)."""
    if activation == "sigmoid":
        s = torch.sigmoid(u)
        return s, s * (1.0 - s)
    slope = (u >= 0).to(u.dtype).mul_(b - a).add_(a)
    return u * slope, slope  # phi(0) = 0 whichever slope is used


def glm_loss_and_grad(
    w: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    activation: str,
    a: float = 0.5,
    b: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GLM squared loss ``f(w) = (1/m) sum_i (phi(<w, x_i>) - y_i)^2`` and its (sub)gradient.

    ``grad f(w) = (2/m) sum_i phi'(<w, x_i>) (phi(<w, x_i>) - y_i) x_i``, the
    ``G`` of the proof of Theorem 1 in ``001_1787bf99fca4a9f2.txt`` (Sec. 5.1),
    with ``phi' = a`` for ``u < 0`` and ``b`` for ``u >= 0`` for the
    generalized ReLU (``a = 0`` for ``"relu"``) and ``s (1 - s)`` for the
    sigmoid.

    Parameters
    ----------
    w : torch.Tensor
        Weights, shape ``(d,)``.
    X : torch.Tensor
        Inputs, shape ``(m, d)``.
    y : torch.Tensor
        Targets, shape ``(m,)``.
    activation : {"sigmoid", "generalized_relu", "relu"}
        The link ``phi``.
    a, b : float, default=0.5, 1.0
        Generalized-ReLU slopes (ignored for the sigmoid; ``a`` is forced to 0
        for ``"relu"``).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The loss (0-dim) and the gradient (shape ``(d,)``); no host sync.
    """
    act = _check_activation(activation)
    if act != "sigmoid":
        a, b = _slopes(0.0 if act == "relu" else a, b, allow_zero_a=True)
    if X.ndim != 2 or w.ndim != 1 or X.shape[1] != w.shape[0]:
        raise ValueError(
            f"need w of shape (d,) and X of shape (m, d); got {tuple(w.shape)}, {tuple(X.shape)}"
        )
    if y.shape != (X.shape[0],):
        raise ValueError(f"'y' must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    phi, dphi = _link(X @ w, act, a, b)
    r = phi - y
    loss = (r * r).mean()
    grad = X.T @ (dphi * r) * (2.0 / X.shape[0])
    return loss, grad


def glm_loss_bound(activation: str, radius: float, a: float = 0.5, b: float = 1.0) -> float:
    """A bound ``M`` on the per-sample GLM loss for ``||w - w*|| <= radius``, ``||x|| <= 1``.

    ``(phi(<w,x>) - phi(<w*,x>))^2 <= (L ||w - w*||)^2`` with ``L`` the Lipschitz
    constant of the link (``b`` for the ReLU family, ``1/4`` for the sigmoid,
    whose loss is also ``<= 1``). This is the ``M`` of Theorem 8 of ``001``
    (``|f_t| <= M``) on the region SNGD stays in: while the ball clause holds
    ``||w_{t+1} - w*||^2 <= ||w_t - w*||^2 - eta^2``, so from ``w_1`` the
    iterates stay within ``||w_1 - w*|| + eta`` of ``w*``.
    """
    act = _check_activation(activation)
    radius = _nonnegative("radius", radius)
    if act == "sigmoid":
        return min(1.0, (radius / 4.0) ** 2)
    _, b = _slopes(0.0 if act == "relu" else a, b, allow_zero_a=True)
    return (b * radius) ** 2


@dataclass
class GLMTeacher:
    """A realizable GLM ``y = phi(<w*, x>)`` (Definition 2 of ``001``, idealized case).

    Inputs are drawn from a seeded distribution inside the unit ball:
    ``x_dist="sphere"`` (uniform on the unit sphere, ``||x|| = 1``, the
    default: it maximises the signal ``Var <w*, x> = ||w*||^2/d`` allowed by
    ``||x|| <= 1``) or ``"ball"`` (uniform in the unit ball).

    Attributes
    ----------
    activation : str
        ``"sigmoid"``, ``"generalized_relu"`` or ``"relu"``.
    w_star : torch.Tensor
        Teacher weights, float64, shape ``(d,)``.
    a, b : float
        Generalized-ReLU slopes. The default ``a = 0.5, b = 1`` keeps
        ``kappa = 2 b^3 W / a = 4 W`` moderate (leaky ReLU ``a = 0.01`` would
        give ``200 W``, so ``T`` would be ``2500x`` larger).
    x_dist : str
        ``"sphere"`` or ``"ball"``.
    """

    activation: str
    w_star: torch.Tensor
    a: float = 0.5
    b: float = 1.0
    x_dist: str = "sphere"

    def __post_init__(self) -> None:
        self.activation = _check_activation(self.activation)
        if self.activation == "relu":
            self.a = 0.0
        if self.activation != "sigmoid":
            self.a, self.b = _slopes(self.a, self.b, allow_zero_a=self.activation == "relu")
        if self.x_dist not in ("sphere", "ball"):
            raise ValueError(f"'x_dist' must be 'sphere' or 'ball', got {self.x_dist!r}")
        self.w_star = torch.as_tensor(self.w_star, dtype=torch.float64).reshape(-1)

    @property
    def d(self) -> int:
        return int(self.w_star.numel())

    @property
    def w_norm(self) -> float:
        return float(torch.linalg.vector_norm(self.w_star))

    @property
    def kappa(self) -> float:
        """The formula constant with ``W = ||w*||``: ``e^W``, ``2 b^3 W / a`` or ``2 b^2 W``."""
        if self.activation == "sigmoid":
            return kappa_sigmoid_glm(self.w_norm)
        if self.activation == "relu":
            return kappa_relu(self.w_norm, self.b)
        return kappa_generalized_relu(self.w_norm, self.a, self.b)

    def link(self, u: torch.Tensor) -> torch.Tensor:
        return _link(u, self.activation, self.a, self.b)[0]

    def sample(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` pairs ``(x, phi(<w*, x>))``, float64, deterministic given ``seed``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"'n' must be a positive int, got {n!r}")
        gen = torch.Generator().manual_seed(int(seed))
        X = torch.randn(int(n), self.d, generator=gen, dtype=torch.float64)
        X /= torch.linalg.vector_norm(X, dim=1, keepdim=True)
        if self.x_dist == "ball":
            r = torch.rand(int(n), 1, generator=gen, dtype=torch.float64) ** (1.0 / self.d)
            X *= r
        return X, self.link(X @ self.w_star)

    def loss_and_grad(
        self, w: torch.Tensor, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return glm_loss_and_grad(w, X, y, self.activation, self.a, self.b)


def make_glm_teacher(
    activation: str,
    d: int,
    w_norm: float,
    seed: int,
    *,
    a: float = 0.5,
    b: float = 1.0,
    x_dist: str = "sphere",
) -> GLMTeacher:
    """A :class:`GLMTeacher` with ``w*`` uniform on the sphere of radius ``w_norm``.

    The direction depends only on ``(d, seed)``, so teachers with different
    activations and the same seed share ``w*`` exactly.
    """
    act = _check_activation(activation)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"'d' must be a positive int, got {d!r}")
    w_norm = _positive("w_norm", w_norm)
    gen = torch.Generator().manual_seed(int(seed) + 7919)
    u = torch.randn(int(d), generator=gen, dtype=torch.float64)
    w_star = u / torch.linalg.vector_norm(u) * w_norm
    return GLMTeacher(act, w_star, a=a, b=b, x_dist=x_dist)


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
