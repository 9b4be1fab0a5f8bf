"""Problem (2.1) of Boob & Lan: objective, gradients, certificate and smoothness bounds.

``002_16d5585f51d1d631.txt``: ``f(W, theta) = (1/2N) sum_i (v_i - theta^T h(W u_i))^2``
(:func:`objective`), its gradients with the minus the printed (3.1) drops
(:func:`gradients`, ``docs/ERRATA.md`` sec. 2), the matrix ``D`` of (3.3)
(:func:`d_matrix`, :func:`sigma_min_d_sq`), the global-optimality certificate
of Sec. 3 (:func:`certificate_bound`), the smoothness constants of Lemma 5.7
(:func:`theta_smoothness`) and Lemma 5.4 (:func:`lemma54_constants`,
:func:`lemma54_bound`), and the prox-map (3.7) on the ball (3.6)
(:func:`project_ball`); also the argument checks the other SGD-GD modules
share. Re-exported by :mod:`dante.shallow.sgd_gd`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .sgd_gd_activations import DTYPE, SGDGDActivation, get_sgd_gd_activation

__all__ = [
    "certificate_bound",
    "certificate_tightness",
    "d_full_column_rank",
    "d_matrix",
    "gradients",
    "lemma54_bound",
    "lemma54_constants",
    "lemma54_global_bound",
    "objective",
    "project_ball",
    "sigma_min_d_sq",
    "theta_smoothness",
]

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


def _d_gram_extremes(
    W: torch.Tensor, theta: torch.Tensor, U: torch.Tensor, act: SGDGDActivation
) -> tuple[float, float]:
    """``(sigma_min(D)^2, sigma_max(D)^2)``: the extreme eigenvalues of ``(U^T U) * (B^T B)``.

    The same eigendecomposition as :func:`_sigma_min_d_sq` (its first value is
    bit-identical to it); exact for ``N <= nd``.
    """
    B = theta[:, None] * act.dh(W @ U)
    ev = torch.linalg.eigvalsh((U.T @ U) * (B.T @ B))
    return float(ev[0]), float(ev[-1])


def d_full_column_rank(sigma_min_sq: float, sigma_max_sq: float, N: int, nd: int) -> bool:
    """Whether ``D`` (``nd x N``) has full column rank, judged as ``numpy.linalg.matrix_rank`` does.

    ``sigma_min(D) > sigma_max(D) max(nd, N) eps`` with ``eps`` the float64
    machine epsilon (the default tolerance of ``numpy.linalg.matrix_rank``;
    a standard rule, not a constant chosen for the study), and ``N <= nd``.
    Full column rank is what Sec. 3 of ``002_16d5585f51d1d631.txt`` needs to
    turn a stationary point into a global optimum, and what Lemmas 5.2-5.3
    assert along Algorithm 1's trajectory (with measure one).
    """
    N = _check_pos_int(N, "N")
    nd = _check_pos_int(nd, "nd")
    if N > nd or not sigma_max_sq > 0 or not sigma_min_sq > 0:
        return False
    tol = math.sqrt(float(sigma_max_sq)) * max(nd, N) * float(np.finfo(np.float64).eps)
    return bool(math.sqrt(float(sigma_min_sq)) > tol)


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


def certificate_tightness(
    W: torch.Tensor,
    theta: torch.Tensor,
    U: torch.Tensor,
    v: torch.Tensor,
    activation: str | SGDGDActivation = "sigmoid",
) -> float:
    """How loose the certificate of Sec. 3 is at ``(W, theta)``: ``certificate / f``.

    ``certificate = N ||grad_W f||_F^2 / (2 sigma_min(D)^2)``
    (:func:`certificate_bound`) and ``f`` is (2.1) of
    ``002_16d5585f51d1d631.txt``. ``certificate >= f`` holds by algebra
    whenever ``D`` has full column rank (``||D s||^2 >= sigma_min(D)^2 ||s||^2``),
    so the ratio is ``>= 1``; it equals ``||D s||^2 / (sigma_min(D)^2 ||s||^2)``
    and is ``1`` exactly when the residual ``s`` lies along the smallest right
    singular vector of ``D``. A ratio far above 1 means the certificate, though
    valid, says little about ``f``. ``inf`` when there is no certificate
    (``N > nd`` or ``D`` rank deficient), ``nan`` when ``f = 0``.
    """
    act = get_sgd_gd_activation(activation)
    W, theta, U, v = _check_problem(W, theta, U, v)
    g_W, _ = _grads(W, theta, U, v, act)
    cert = certificate_bound(
        float((g_W * g_W).sum()), _sigma_min_d_sq(W, theta, U, act), U.shape[1], W.numel()
    )
    f = objective(W, theta, U, v, act)
    if f == 0.0:
        return math.nan
    return cert / f


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


def lemma54_global_bound(
    U: torch.Tensor,
    v: torch.Tensor,
    activation: str | SGDGDActivation,
    *,
    n: int,
    radius: float,
) -> float:
    """The constant ``L`` of Lemma 5.4, uniform over all ``W`` and the ball ``||theta|| <= radius``.

    Lemma 5.4 of ``002_16d5585f51d1d631.txt`` assumes ``h``, ``h'`` and ``h''``
    bounded on the whole real line; then :func:`lemma54_bound` with ``radius``
    is one ``L`` for every ``W`` (Remark 5.6), the ``L`` of Theorem 5.9. For
    softplus (``sup |h| = inf``) and the non-smooth ReLU types the lemma gives
    no finite constant and this returns ``inf``: indeed the ``W``-Hessian of
    (2.1) then grows without bound (for softplus the cross term
    ``theta_j theta_k h(x_k) h''(x_j)`` grows linearly in ``x_k``), so no
    global ``L`` exists and any finite one is local to a pre-activation box.
    """
    act = get_sgd_gd_activation(activation)
    if not act.smooth or not math.isfinite(act.sup_h):
        return math.inf
    return lemma54_bound(U, v, act, n=n, radius=radius)


def project_ball(theta: torch.Tensor, radius: float) -> torch.Tensor:
    """Euclidean projection onto ``{||theta|| <= radius}``: the prox-map (3.7) on the ball (3.6)."""
    radius = _check_pos_float(radius, "radius")
    nrm = float(theta.norm())
    return theta * (radius / nrm) if nrm > radius else theta
