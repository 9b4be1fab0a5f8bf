"""Boob & Lan SGD-GD for two-layer networks, with its global-optimality certificate.

Paper: ``002_16d5585f51d1d631.txt`` (Boob & Lan), problem (2.1), first-order
condition (3.1)-(3.3), Algorithm 1, condition C1 (Sec. 4), Lemma 5.4,
Lemma 5.7, Theorem 5.8, Theorem 5.9. The printed first-order condition (3.1)
drops a minus sign; the gradients here carry it (``docs/ERRATA.md``, sec. 2).

Problem (2.1)::

    f(W, theta) = (1/2N) sum_i (v_i - theta^T h(W u_i))^2,   W: n x d (n <= d), theta: n

Notation: ``U`` is ``d x N`` (column ``i`` is ``u_i``), ``v`` has length ``N``,
``A = h(WU)`` and ``A' = h'(WU)`` are ``n x N``, ``s = v - A^T theta``.
Gradients (the printed (3.1) of ``002`` drops a minus; ``docs/ERRATA.md``, sec. 2)::

    grad_theta f = -(1/N) A s
    grad_W f     = -(1/N) sum_i s_i (theta * h'(W u_i)) u_i^T  =  -(1/N) (B * s) U^T,
    B = diag(theta) A'.

Certificate (Sec. 3): ``vec(grad_W f) = -(1/N) D s`` where column ``i`` of the
``nd x N`` matrix ``D`` is ``vec(b_i u_i^T)``. Since ``D^T D = (U^T U) * (B^T B)``
(Hadamard product), ``sigma_min(D)^2 = lambda_min((U^T U) * (B^T B))`` when
``N <= nd``, and ``||grad_W f||_F^2 >= sigma_min(D)^2 ||s||^2 / N^2`` gives::

    f = ||s||^2 / (2N) <= N ||grad_W f||_F^2 / (2 sigma_min(D)^2).

Everything is computed in ``torch.float64`` on the CPU: the problems are tiny
(``n, d <= ~10``, ``N <= nd``) and the certificate needs the smallest
eigenvalue of an ill-conditioned Gram matrix, where float32 is not enough.

Choices the paper leaves open (all documented again where they are made):

* ``n <= d`` (the paper's analysis takes ``n = d``); the noise is
  ``xi ~ N(0, sigma^2/n I_n)`` so that ``E||xi||^2 = sigma^2`` exactly as in
  (3.5) (Sec. 3 of ``002``, before (3.4), draws ``xi`` in ``R^d`` with i.i.d.
  zero-mean Gaussian entries, taking ``n = d``; per-entry variance
  ``sigma^2/d`` there is the same).
* Lemma 5.4 is implemented with ``sqrt(2n)`` (``n`` = rows of ``W``, the size
  of the ``h' h^T`` matrix in the proof) where the paper, with ``n = d``,
  writes ``sqrt(2d)``; and with ``L_{hh'}`` replaced by the closed-form upper
  bound ``sqrt(sup|h'|^4 + sup|h|^2 sup|h''|^2) >= sup ||grad H||``,
  ``H(x1, x2) = h(x1) h'(x2)``. Both keep the result an upper bound on ``L``.
* Softplus has unbounded values, so Lemma 5.4's assumptions fail globally
  (Remark 5.5 omits it); for it the constants are taken over the pre-activation
  box ``|x| <= x_max`` and the step size is recomputed every outer step with
  ``x_max = max|W_k U| + 1`` (a local bound, documented as such).
* ReLU / leaky ReLU are registered only for the comparison experiment and are
  flagged non-smooth: ``h'`` is discontinuous, Lemma 5.4 gives ``L = inf``, and
  :func:`sgd_gd` then requires an explicit ``gamma``. ``h'(0) := 0`` for ReLU.
* Default ball radius: ``R/2 = 2 max(||theta_0||, sqrt(n))`` when ``R`` is not
  given (the paper keeps ``R`` a free constant, (3.6)).
* Default initialisation (Algorithm 1 says only "random"): ``W_0`` has i.i.d.
  ``N(0, 1/d)`` entries, ``theta_0`` i.i.d. ``N(0, 1/n)`` entries, projected
  onto the ball.
* The inner-loop step is constant, ``beta = min(1/(2 L_theta), 1)`` (5.19 with
  ``sigma = 1/sqrt(N_i)``), with ``L_theta = lambda_max(A A^T)/N`` recomputed at
  each ``W_k`` (the exact Hessian bound of Lemma 5.7's proof, not its looser
  ``u^2 d``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = [
    "ACTIVATIONS",
    "SMOOTH_ACTIVATIONS",
    "C1Screen",
    "OuterDiagnostics",
    "SGDGDActivation",
    "SGDGDResult",
    "certificate_bound",
    "d_matrix",
    "get_sgd_gd_activation",
    "gradients",
    "lemma54_bound",
    "lemma54_constants",
    "objective",
    "project_ball",
    "screen_condition_c1",
    "sgd_gd",
    "sigma_min_d_sq",
    "theorem59_bound",
    "theta_smoothness",
]

DTYPE = torch.float64
Fn = Callable[[torch.Tensor], torch.Tensor]


# ------------------------------------------------------------------ activations


@dataclass(frozen=True)
class SGDGDActivation:
    """An activation ``h`` with ``h'``, ``h''`` and the sup-norms Lemma 5.4 needs.

    ``sup_h``, ``sup_dh``, ``sup_d2h`` are global suprema of ``|h|``, ``|h'|``,
    ``|h''|`` over the real line (``inf`` where unbounded or, for non-smooth
    activations, where ``h'`` jumps). ``smooth`` is False for ReLU-type
    activations, which are registered only for the comparison experiment.
    """

    name: str
    h: Fn
    dh: Fn
    d2h: Fn
    smooth: bool
    sup_h: float
    sup_dh: float
    sup_d2h: float

    def sup_h_on(self, x_max: float) -> float:
        """``sup_{|x| <= x_max} |h(x)|`` (exact for the registered activations)."""
        if math.isfinite(self.sup_h):
            return self.sup_h
        x = torch.tensor([-x_max, x_max], dtype=DTYPE)
        return float(self.h(x).abs().max())


def _sigmoid_d2(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1 - s) * (1 - 2 * s)


def _tanh_d2(x: torch.Tensor) -> torch.Tensor:
    t = torch.tanh(x)
    return -2 * t * (1 - t * t)


ACTIVATIONS: dict[str, SGDGDActivation] = {
    "sigmoid": SGDGDActivation(
        "sigmoid",
        torch.sigmoid,
        lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
        _sigmoid_d2,
        True,
        1.0,
        0.25,
        math.sqrt(3.0) / 18.0,  # |s(1-s)(1-2s)| max at s = (3 +- sqrt 3)/6
    ),
    "tanh": SGDGDActivation(
        "tanh",
        torch.tanh,
        lambda x: 1 - torch.tanh(x) ** 2,
        _tanh_d2,
        True,
        1.0,
        1.0,
        4.0 / (3.0 * math.sqrt(3.0)),  # |2 t (1 - t^2)| max at t = 1/sqrt 3
    ),
    "softplus": SGDGDActivation(
        "softplus",
        torch.nn.functional.softplus,
        torch.sigmoid,
        lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
        True,
        math.inf,
        1.0,
        0.25,
    ),
    "gaussian": SGDGDActivation(
        "gaussian",
        lambda x: torch.exp(-x * x),
        lambda x: -2 * x * torch.exp(-x * x),
        lambda x: (4 * x * x - 2) * torch.exp(-x * x),
        True,
        1.0,
        math.sqrt(2.0) * math.exp(-0.5),  # |2x e^{-x^2}| max at x^2 = 1/2
        2.0,  # |(4x^2 - 2) e^{-x^2}| max at x = 0
    ),
    "relu": SGDGDActivation(
        "relu",
        torch.relu,
        lambda x: (x > 0).to(x.dtype),
        torch.zeros_like,
        False,
        math.inf,
        1.0,
        math.inf,
    ),
    "leaky_relu": SGDGDActivation(
        "leaky_relu",
        lambda x: torch.where(x > 0, x, 0.01 * x),
        lambda x: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, 0.01)),
        torch.zeros_like,
        False,
        math.inf,
        1.0,
        math.inf,
    ),
}

#: the smooth activations of Sec. 4 that Algorithm 1 is meant for.
SMOOTH_ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "softplus", "gaussian")


def get_sgd_gd_activation(activation: str | SGDGDActivation) -> SGDGDActivation:
    """Look an activation up by name in :data:`ACTIVATIONS`."""
    if isinstance(activation, SGDGDActivation):
        return activation
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
    return ACTIVATIONS[activation]


# ------------------------------------------------------------------ validation


def _as_tensor(x: object, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach().to(DTYPE)
    elif isinstance(x, np.ndarray | list | tuple):
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy array; got {type(x).__name__}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return t


def _check_data(
    U: object, v: object | None, d: int | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``U`` as a d x N tensor (``d`` rows when given) and ``v`` (if given) of length N."""
    Ut = _as_tensor(U, "U")
    if Ut.ndim != 2 or (d is not None and Ut.shape[0] != d):
        rows = "" if d is None else f" with d = W.shape[1] = {d}"
        raise ValueError(
            f"U must be d x N{rows} (columns are the inputs u_i); got shape {tuple(Ut.shape)}"
        )
    if v is None:
        return Ut, None
    vt = _as_tensor(v, "v")
    if vt.ndim != 1 or vt.shape[0] != Ut.shape[1]:
        raise ValueError(
            f"v must be a vector of length N = U.shape[1] = {Ut.shape[1]}; "
            f"got shape {tuple(vt.shape)}"
        )
    return Ut, vt


def _check_problem(
    W: object, theta: object, U: object, v: object | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    Wt = _as_tensor(W, "W")
    th = _as_tensor(theta, "theta")
    if Wt.ndim != 2:
        raise ValueError(f"W must be a 2-D (n x d) matrix; got shape {tuple(Wt.shape)}")
    Ut, vt = _check_data(U, v, d=Wt.shape[1])
    if th.ndim != 1 or th.shape[0] != Wt.shape[0]:
        raise ValueError(
            f"theta must be a vector of length n = W.shape[0] = {Wt.shape[0]}; "
            f"got shape {tuple(th.shape)}"
        )
    return Wt, th, Ut, vt


def _check_pos_int(x: object, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int | np.integer) or int(x) < 1:
        raise ValueError(f"{name} must be a positive integer; got {x!r}")
    return int(x)


def _check_pos_float(x: object, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | np.floating | np.integer):
        raise ValueError(f"{name} must be a positive number; got {x!r}")
    xf = float(x)
    if not math.isfinite(xf) or xf < 0 or (xf == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a finite {kind} number; got {x!r}")
    return xf


# ------------------------------------------------------------------ model pieces


def objective(
    W: torch.Tensor,
    theta: torch.Tensor,
    U: torch.Tensor,
    v: torch.Tensor,
    activation: str | SGDGDActivation = "sigmoid",
) -> float:
    """Problem (2.1) of ``002_16d5585f51d1d631.txt``.

    ``f(W, theta) = (1/2N) sum_i (v_i - theta^T h(W u_i))^2``.
    """
    act = get_sgd_gd_activation(activation)
    W, theta, U, v = _check_problem(W, theta, U, v)
    s = v - act.h(W @ U).T @ theta
    return float(s @ s) / (2 * U.shape[1])


def gradients(
    W: torch.Tensor,
    theta: torch.Tensor,
    U: torch.Tensor,
    v: torch.Tensor,
    activation: str | SGDGDActivation = "sigmoid",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hand gradients ``(grad_W f, grad_theta f)`` of (2.1), minus restored (docs/ERRATA.md sec. 2).

    ``grad_theta f = -(1/N) A s`` and ``grad_W f = -(1/N) (diag(theta) h'(WU) * s) U^T``
    (eq. (3.1)-(3.2) of ``002_16d5585f51d1d631.txt`` with the missing minus restored).
    """
    act = get_sgd_gd_activation(activation)
    W, theta, U, v = _check_problem(W, theta, U, v)
    return _grads(W, theta, U, v, act)


def _grads(
    W: torch.Tensor, theta: torch.Tensor, U: torch.Tensor, v: torch.Tensor, act: SGDGDActivation
) -> tuple[torch.Tensor, torch.Tensor]:
    N = U.shape[1]
    Z = W @ U
    A = act.h(Z)
    s = v - A.T @ theta
    g_theta = -(A @ s) / N
    B = theta[:, None] * act.dh(Z)
    g_W = -((B * s[None, :]) @ U.T) / N
    return g_W, g_theta


def d_matrix(
    W: torch.Tensor,
    theta: torch.Tensor,
    U: torch.Tensor,
    activation: str | SGDGDActivation = "sigmoid",
) -> torch.Tensor:
    """The ``nd x N`` matrix ``D`` of (3.3): column ``i`` is ``vec((theta * h'(W u_i)) u_i^T)``.

    Built explicitly (row-major ``vec``); use it for checks on small problems,
    :func:`sigma_min_d_sq` for the cheap ``N x N`` route.
    """
    act = get_sgd_gd_activation(activation)
    W, theta, U, _ = _check_problem(W, theta, U, None)
    B = theta[:, None] * act.dh(W @ U)  # n x N
    n, d, N = W.shape[0], W.shape[1], U.shape[1]
    return (B[:, None, :] * U[None, :, :]).reshape(n * d, N)


def sigma_min_d_sq(
    W: torch.Tensor,
    theta: torch.Tensor,
    U: torch.Tensor,
    activation: str | SGDGDActivation = "sigmoid",
) -> float:
    """``sigma_min(D)^2 = lambda_min((U^T U) * (B^T B))``, ``B = diag(theta) h'(WU)``.

    Exact when ``N <= nd`` (then the ``N`` singular values of ``D`` are the
    square roots of the eigenvalues of ``D^T D``); for ``N > nd`` ``D^T D`` is
    singular and the value is ~0. Can come out slightly negative by rounding.
    """
    act = get_sgd_gd_activation(activation)
    W, theta, U, _ = _check_problem(W, theta, U, None)
    return _sigma_min_d_sq(W, theta, U, act)


def _sigma_min_d_sq(
    W: torch.Tensor, theta: torch.Tensor, U: torch.Tensor, act: SGDGDActivation
) -> float:
    B = theta[:, None] * act.dh(W @ U)
    G = (U.T @ U) * (B.T @ B)
    return float(torch.linalg.eigvalsh(G)[0])


def certificate_bound(f_grad_sq: float, sigma_min_sq: float, N: int, nd: int) -> float:
    """Global-optimality certificate ``f <= N ||grad_W f||_F^2 / (2 sigma_min(D)^2)``.

    Sec. 3 of ``002_16d5585f51d1d631.txt`` (``D s = 0``, eq. (3.3), forces ``s = 0``
    when ``D`` has full column rank); the bound follows from
    ``vec(grad_W f) = -(1/N) D s`` (module docstring). Returns
    ``inf`` (no certificate) when ``N > nd`` or when ``sigma_min(D)^2`` is not
    positive (``D`` numerically rank deficient).
    """
    N = _check_pos_int(N, "N")
    nd = _check_pos_int(nd, "nd")
    if N > nd or not sigma_min_sq > 0:
        return math.inf
    return N * float(f_grad_sq) / (2.0 * float(sigma_min_sq))


def theta_smoothness(
    W: torch.Tensor, U: torch.Tensor, activation: str | SGDGDActivation = "sigmoid"
) -> float:
    """``L_theta = lambda_max(A A^T) / N``, the exact Hessian norm of ``f(W, .)`` (Lemma 5.7)."""
    act = get_sgd_gd_activation(activation)
    W, _, U, _ = _check_problem(W, torch.zeros(W.shape[0], dtype=DTYPE), U, None)
    A = act.h(W @ U)
    return float(torch.linalg.eigvalsh(A @ A.T / U.shape[1])[-1])


def lemma54_constants(
    activation: str | SGDGDActivation, x_max: float | None = None
) -> tuple[float, float]:
    """``(L_{h'}, L_{hh'})`` of Lemma 5.4 of ``002_16d5585f51d1d631.txt``.

    ``L_{h'} = sup|h''|`` (Lipschitz constant of ``h'``) and
    ``L_{hh'} = sqrt(sup|h'|^4 + sup|h|^2 sup|h''|^2)``, an upper bound on
    ``sup ||grad H||_2`` for ``H(x1, x2) = h(x1) h'(x2)`` (the proof's constant).
    For activations with unbounded ``h`` (softplus) the suprema are over
    ``|x| <= x_max`` (required then); for non-smooth ones both are ``inf``.
    """
    act = get_sgd_gd_activation(activation)
    if not act.smooth:
        return math.inf, math.inf
    sup_h = act.sup_h
    if not math.isfinite(sup_h):
        if x_max is None:
            raise ValueError(
                f"x_max is required for activation {act.name!r}: its values are unbounded, so "
                "Lemma 5.4's constants exist only on a bounded pre-activation box |x| <= x_max"
            )
        sup_h = act.sup_h_on(_check_pos_float(x_max, "x_max"))
    l_dh = act.sup_d2h
    l_hdh = math.sqrt(act.sup_dh**4 + sup_h**2 * act.sup_d2h**2)
    return l_dh, l_hdh


def lemma54_bound(
    U: torch.Tensor,
    v: torch.Tensor,
    activation: str | SGDGDActivation,
    *,
    n: int,
    theta: torch.Tensor | None = None,
    radius: float | None = None,
    x_max: float | None = None,
) -> float:
    """Lemma 5.4's upper bound on the Lipschitz constant ``L`` of ``grad_W f(., theta)``.

    ``L <= (1/N) theta_max (L_{h'} sum_i ||u_i||^2 |v_i|
    + sqrt(2n) L_{hh'} ||theta|| sum_i ||u_i||^2)``

    (``002_16d5585f51d1d631.txt``, Lemma 5.4, with ``sqrt(2n)``, ``n`` = rows
    of ``W``, for the printed ``sqrt(2d)`` and ``n = d``). Give ``theta`` for
    the bound at that ``theta``, or ``radius`` (``= R/2``) for the bound uniform
    over the ball ``||theta|| <= R/2`` (``theta_max, ||theta|| <= R/2``;
    Remark 5.6: then ``L`` is constant along Algorithm 1).
    """
    act = get_sgd_gd_activation(activation)
    Ut, vt = _check_data(U, v)
    n = _check_pos_int(n, "n")
    if (theta is None) == (radius is None):
        raise ValueError("give exactly one of theta (bound at theta) or radius (uniform bound)")
    if theta is not None:
        th = _as_tensor(theta, "theta")
        if th.ndim != 1 or th.shape[0] != n:
            raise ValueError(f"theta must have length n = {n}; got shape {tuple(th.shape)}")
        th_max, th_norm = float(th.abs().max()), float(th.norm())
    else:
        th_max = th_norm = _check_pos_float(radius, "radius")
    l_dh, l_hdh = lemma54_constants(act, x_max)
    N = Ut.shape[1]
    un2 = (Ut * Ut).sum(0)
    term1 = l_dh * float((un2 * vt.abs()).sum()) if l_dh > 0 else 0.0
    term2 = math.sqrt(2 * n) * l_hdh * th_norm * float(un2.sum())
    return th_max * (term1 + term2) / N


def project_ball(theta: torch.Tensor, radius: float) -> torch.Tensor:
    """Euclidean projection onto ``{||theta|| <= radius}``: the prox-map (3.7) on the ball (3.6)."""
    radius = _check_pos_float(radius, "radius")
    nrm = float(theta.norm())
    return theta * (radius / nrm) if nrm > radius else theta


# ------------------------------------------------------------------ Algorithm 1


@dataclass
class OuterDiagnostics:
    """Per-outer-step record of :func:`sgd_gd`, all at ``(W_k, theta_{k+1})``.

    ``grad_w_sq = ||grad_W f(W_k, theta_{k+1})||_F^2`` is the quantity of
    Theorem 5.9; ``certificate = N grad_w_sq / (2 sigma_min(D)^2)`` (``inf`` if
    ``D`` is rank deficient or ``N > nd``) upper-bounds ``f``.
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
            smin_d = _sigma_min_d_sq(W, theta, Ut, act)
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
                )
            )
            W = W - gamma_k * g_W
            if not torch.isfinite(W).all():
                raise FloatingPointError(
                    f"W became non-finite at outer step {k}; gamma = {gamma_k:g} is too large"
                )
    return SGDGDResult(W=W, theta=theta, history=hist, radius=radius, sigma=sigma, n_inner=n_inner)


def theorem59_bound(result: SGDGDResult) -> np.ndarray:
    """Right-hand side of (5.21), Theorem 5.9 of ``002_16d5585f51d1d631.txt``, for every prefix.

    Entry ``K`` bounds ``E[min_{k <= K} ||grad_W f(W_k, theta_{k+1})||_F^2]``::

        (f(W_0, theta_0) + sum_{k<=K} (sum_tau beta_k)^{-1} [R^2/2
             + sum_tau beta_k^2 sigma^2 / (2 (1 - L_theta,k beta_k))])
        / sum_{k<=K} (gamma_k - L gamma_k^2 / 2)

    evaluated with the run's own ``beta_k``, ``L_theta(W_k)``, ``gamma_k``,
    inner-step counts and ``R``, and ``L = 1/gamma_k`` (the Lemma 5.4 bound
    when ``gamma`` was left at its default, so each denominator term is
    ``gamma_k / 2``). It is a bound on an expectation; comparing it with one
    run's running minimum is a sanity check, not a test of the theorem.
    """
    if not isinstance(result, SGDGDResult) or not result.history:
        raise ValueError("result must be a non-empty SGDGDResult from sgd_gd")
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
    den = np.cumsum(gam / 2.0)
    return num / den


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
