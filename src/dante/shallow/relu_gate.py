"""Provable learners for one ReLU / Lipschitz gate, and DANTE output-block solvers.

Chapter 3 of the Mukherjee thesis (``003_a707f9d83869f5a2.txt``):

* :func:`modified_sgd_relu` -- Algorithm 2, Theorem 3.3.1 (Ch. 3.3): stochastic
  updates ``w <- w + eta 1{y > 0} (y - w.x) x`` on realizable data
  ``y = max(0, w*.x)``. With ``eta = lambda_min / c1``, where
  ``lambda_min = lambda_min(E[1{w*.x > 0} x x^T])`` and
  ``c1 = E[1{w*.x > 0} ||x||^4]``, equation (3.5) and Lemma 3.E.1 give the
  linear rate ``E||w_{t+1} - w*||^2 <= (1 - lambda_min^2 / c1) E||w_t - w*||^2``
  (:func:`modified_sgd_rate`), with no symmetry assumption on the inputs.
* :func:`noise_assisted_subgradient` -- Algorithm 3, Theorem 3.4.1 (Ch. 3.4):
  ``w <- w - eta (g + zeta1) + sqrt(eta) zeta2`` with ``g`` the subgradient of
  the ReLU gate's squared loss. The guarantee is *confinement* of the first
  ``i_max`` iterates in a ball around ``w*`` (:func:`confinement_radius`,
  :func:`confinement_guarantee`), not convergence.
* :func:`glmtron` -- Algorithm 4, Theorem 3.5.2 (Ch. 3.5): GLM-Tron
  ``w_1 = 0, w <- w + (1/m) sum_i (y_i - sigma(w.x_i)) x_i`` for a
  non-decreasing ``L``-Lipschitz ``sigma`` with ``L < 2``, ``||x_i|| <= 1`` and
  bounded (even adversarial) label noise ``|xi_i| <= theta``. After
  ``T = ||w*||^2 / eps`` steps (the printed ``||w*|| / eps`` is a slip -- the
  proof, Appendix 3.B, removes ``eps`` from the *squared* distance per bad
  step; ``docs/ERRATA.md``) the effective risk is below
  ``L / (2 - L) (eps + theta^2 + 2 theta W (L + 1))`` (:func:`glmtron_risk_bound`).

DANTE integration: :class:`GLMTronSolver` and :class:`ModifiedSGDSolver` are
:class:`dante.solvers.StepSolver` subclasses that train the *output layer* of a
:class:`dante.LayeredNet` on the MSE loss, each output unit being an
independent GLM on the augmented input ``[x, 1]`` (weight row and bias
together). Importing this module registers them as the solver names
``"glmtron"`` and ``"relu_gate_sgd"``. A :class:`~dante.RoundRobin` stage has
one solver for all of its blocks, so on a net with hidden layers use
:class:`GLMOutputRoundRobin` (the output block with the GLM solver, the hidden
blocks with SNGD) -- see its docstring.

Examples
--------
>>> import numpy as np
>>> from dante.shallow.relu_gate import glmtron, effective_risk
>>> rng = np.random.default_rng(0)
>>> X = rng.random((200, 3)); X /= np.linalg.norm(X, axis=1).max()
>>> w_star = np.array([1.0, -0.5, 0.8]); y = np.maximum(X @ w_star, 0)
>>> res = glmtron(X, y, "relu", eps=1e-3, w_norm_bound=np.linalg.norm(w_star))
>>> bool(effective_risk(X, res.w, w_star, "relu") < 1e-3)
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._numerics import ceil_tolerant
from ..activations import GeneralizedReLU
from ..losses import get_loss
from ..models import Layer, LayeredNet
from ..schedules import Stage
from ..solvers import StepSolver, register_solver
from ..trainer import NonFiniteLossError

__all__ = [
    "GATE_ACTIVATIONS",
    "ConfinementGuarantee",
    "GLMOutputRoundRobin",
    "GLMTronResult",
    "GLMTronSolver",
    "IterateResult",
    "ModifiedSGDSolver",
    "confinement_failure_bound",
    "confinement_guarantee",
    "confinement_radius",
    "effective_risk",
    "glmtron",
    "glmtron_risk_bound",
    "glmtron_steps",
    "modified_sgd_exact_rate",
    "modified_sgd_rate",
    "modified_sgd_relu",
    "modified_sgd_step_size",
    "noise_assisted_subgradient",
    "relu_gate_moments",
    "relu_subgradient",
]

_SRC = "003_a707f9d83869f5a2.txt"

# ------------------------------------------------------------------ helpers


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


#: name -> (sigma, Lipschitz constant); all non-decreasing (GLM-Tron's assumption).
GATE_ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "relu": (lambda z: np.maximum(z, 0.0), 1.0),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), 1.0),
    "sigmoid": (_sigmoid, 0.25),
    "tanh": (np.tanh, 1.0),
    "identity": (lambda z: z, 1.0),
}


def _activation(
    activation: str | Callable[[np.ndarray], np.ndarray], lipschitz: float | None
) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    if isinstance(activation, str):
        key = activation.strip().lower().replace("-", "_")
        if key not in GATE_ACTIVATIONS:
            raise ValueError(
                f"activation {activation!r} is unknown; choose one of "
                f"{', '.join(GATE_ACTIVATIONS)} or pass a callable with lipschitz=..."
            )
        fn, L = GATE_ACTIVATIONS[key]
        if lipschitz is not None:
            L = _positive("lipschitz", lipschitz)
        return fn, L
    if not callable(activation):
        raise TypeError(f"activation must be a name or a callable, got {activation!r}")
    if lipschitz is None:
        raise ValueError(
            "lipschitz is required with a callable activation (GLM-Tron needs its "
            "Lipschitz constant L < 2, Theorem 3.5.2); pass lipschitz=L"
        )
    return activation, _positive("lipschitz", lipschitz)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def _nonneg(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a non-negative number, got {value!r}")
    value = float(value)
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return value


def _count(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _data(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n_samples, n_features), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or Inf; clean the inputs")
    if y is None:
        return X, np.empty(0)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-D with len(X)={len(X)} entries, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("y contains NaN or Inf; clean the labels")
    return X, y


def _vector(name: str, w: Any, n: int) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match X, got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError(f"{name} contains NaN or Inf")
    return w


@dataclass
class IterateResult:
    """Iterates of one run.

    Attributes
    ----------
    w : numpy.ndarray
        Final iterate.
    trajectory : numpy.ndarray of shape (T + 1, n)
        ``trajectory[0]`` is the start, ``trajectory[t]`` the iterate after ``t`` steps.
    step : float
        Step length used (``eta``; GLM-Tron's ``step``).
    """

    w: np.ndarray
    trajectory: np.ndarray
    step: float

    def distances(self, w_star: Any) -> np.ndarray:
        """``||w_t - w*||`` along the trajectory."""
        w_star = _vector("w_star", w_star, self.trajectory.shape[1])
        return np.linalg.norm(self.trajectory - w_star, axis=1)


@dataclass
class GLMTronResult(IterateResult):
    """GLM-Tron run; ``trajectory[t]`` is ``w_{t+1}`` in the thesis' indexing.

    Attributes
    ----------
    T : int
        Number of steps taken.
    lipschitz : float
        ``L`` of the activation.
    """

    T: int = 0
    lipschitz: float = 1.0


# ---------------------------------------------------------------- GLM-Tron


def glmtron_steps(w_norm_bound: float, eps: float) -> int:
    """``T = ceil(W^2 / eps)``, GLM-Tron's step count (Theorem 3.5.2 of ``003``).

    The thesis prints ``||w*|| / eps``; its proof (Appendix 3.B) lowers the
    *squared* distance ``||w_t - w*||^2 <= W^2`` by ``eps`` per step, hence
    ``W^2 / eps`` (``docs/ERRATA.md``). Float noise of relative size 1e-12 does
    not add a step: a ``W = ||w*||`` computed one ulp above 2 still gives
    ``T = 400`` at ``eps = 0.01`` (:func:`dante._numerics.ceil_tolerant`, as
    :func:`dante.theory.slqc.theory_hyperparameters` rounds).

    Parameters
    ----------
    w_norm_bound : float
        ``W >= ||w_1 - w*|| = ||w*||`` (``w_1 = 0``).
    eps : float
        Target accuracy.
    """
    W = _positive("w_norm_bound", w_norm_bound)
    eps = _positive("eps", eps)
    return max(1, ceil_tolerant(W * W / eps))


def glmtron_risk_bound(eps: float, theta: float, w_norm_bound: float, lipschitz: float) -> float:
    """Theorem 3.5.2 of ``003``: ``L / (2 - L) * (eps + theta^2 + 2 theta W (L + 1))``.

    Bound on the effective risk ``(1/S) sum (sigma(w_T.x_i) - sigma(w*.x_i))^2``
    reached within ``T = W^2 / eps`` GLM-Tron steps when ``||x_i|| <= 1`` and the
    label noise is bounded by ``|xi_i| <= theta`` (any sign pattern).

    Parameters
    ----------
    eps : float
    theta : float
        Noise bound (``0``: realizable).
    w_norm_bound : float
        ``W``, with ``||w_t - w*|| <= W`` (the proof takes ``W = ||w*||``).
    lipschitz : float
        ``L < 2``.
    """
    eps = _positive("eps", eps)
    theta = _nonneg("theta", theta)
    W = _nonneg("w_norm_bound", w_norm_bound)
    L = _positive("lipschitz", lipschitz)
    if L >= 2:
        raise ValueError(f"lipschitz must be < 2 for the GLM-Tron bound, got {L}")
    return L / (2.0 - L) * (eps + theta * theta + 2.0 * theta * W * (L + 1.0))


def effective_risk(
    X: Any,
    w: Any,
    w_star: Any,
    activation: str | Callable[[np.ndarray], np.ndarray] = "relu",
) -> float:
    """``(1/S) sum_i (sigma(w.x_i) - sigma(w*.x_i))^2``, the thesis' ``L~_S`` (Lemma 3.5.1)."""
    X, _ = _data(X, None)
    fn, _ = _activation(activation, 1.0 if not isinstance(activation, str) else None)
    w = _vector("w", w, X.shape[1])
    w_star = _vector("w_star", w_star, X.shape[1])
    return float(np.mean((fn(X @ w) - fn(X @ w_star)) ** 2))


def glmtron(
    X: Any,
    y: Any,
    activation: str | Callable[[np.ndarray], np.ndarray] = "relu",
    T: int | None = None,
    *,
    eps: float | None = None,
    w_norm_bound: float | None = None,
    lipschitz: float | None = None,
    step: float = 1.0,
    w1: Any = None,
    adversary: Callable[[int, np.ndarray], np.ndarray] | None = None,
) -> GLMTronResult:
    """GLM-Tron, Algorithm 4 of ``003_a707f9d83869f5a2.txt`` (Ch. 3.5).

    ``w_1 = 0``; ``w_{t+1} = w_t + (step/m) sum_i (y_i - sigma(w_t.x_i)) x_i``.

    Parameters
    ----------
    X : array-like of shape (m, n)
        Inputs. Theorem 3.5.2 needs ``||x_i|| <= 1``; more generally the run is
        GLM-Tron on the rescaled inputs ``x / R`` whenever ``step <= 1 / R^2``
        with ``R = max ||x_i||`` (``w`` rescaled by ``R``), so the check is
        ``step * max ||x_i||^2 <= 1``.
    y : array-like of shape (m,)
        Labels ``sigma(w*.x_i) + xi_i``.
    activation : str or callable, default="relu"
        A name from :data:`GATE_ACTIVATIONS` or a non-decreasing callable (then
        ``lipschitz`` is required). ``L < 2`` is required (Theorem 3.5.2).
    T : int, optional
        Number of steps. Default: ``ceil(w_norm_bound^2 / eps)``
        (:func:`glmtron_steps`; the printed ``||w*||/eps`` is a slip).
    eps, w_norm_bound : float, optional
        Give both when ``T`` is omitted.
    lipschitz : float, optional
        Overrides the Lipschitz constant of a named activation.
    step : float, default=1.0
        The thesis' step is 1. Must satisfy ``step * max ||x_i||^2 <= 1``.
    w1 : array-like of shape (n,), optional
        Start (the thesis: ``0``; the bound then uses ``W >= ||w1 - w*||``).
    adversary : callable, optional
        ``adversary(t, w_t) -> xi`` of shape ``(m,)``, added to ``y`` at step
        ``t`` only. Lemma 3.5.1 holds step by step, so an adaptive bounded
        adversary is covered by Theorem 3.5.2 with ``theta = max |xi|``.

    Returns
    -------
    GLMTronResult
        ``trajectory[t]`` is ``w_{t+1}``, ``t = 0 .. T``.
    """
    X, y = _data(X, y)
    fn, L = _activation(activation, lipschitz)
    if L >= 2:
        raise ValueError(
            f"activation has Lipschitz constant {L} >= 2; GLM-Tron (Theorem 3.5.2) needs L < 2"
        )
    if T is None:
        if eps is None or w_norm_bound is None:
            raise ValueError(
                "T is not given: pass T, or both eps and w_norm_bound (T = ceil(W^2/eps))"
            )
        T = glmtron_steps(w_norm_bound, eps)
    T = _count("T", T, 1)
    step = _positive("step", step)
    r2 = float(np.max(np.einsum("ij,ij->i", X, X)))
    if step * r2 > 1.0 + 1e-9:
        raise ValueError(
            f"step * max ||x_i||^2 = {step * r2:.4g} > 1; GLM-Tron needs ||x_i|| <= 1 "
            f"(Theorem 3.5.2): rescale X by 1/{math.sqrt(r2):.4g} or pass step <= {1 / r2:.4g}"
        )
    m, n = X.shape
    w = np.zeros(n) if w1 is None else _vector("w1", w1, n).copy()
    traj = np.empty((T + 1, n))
    traj[0] = w
    for t in range(T):
        yt = y
        if adversary is not None:
            xi = np.asarray(adversary(t, w.copy()), dtype=np.float64)
            if xi.shape != y.shape or not np.isfinite(xi).all():
                raise ValueError(f"adversary must return a finite array of shape {y.shape}")
            yt = y + xi
        w = w + (step / m) * (X.T @ (yt - fn(X @ w)))
        traj[t + 1] = w
    return GLMTronResult(w=w, trajectory=traj, step=step, T=T, lipschitz=L)


# --------------------------------------------------------- modified SGD (3.3)


def relu_gate_moments(X: Any, y: Any = None, *, w_star: Any = None) -> tuple[float, float]:
    """``(lambda_min(E[1 x x^T]), E[1 ||x||^4])`` on the empirical distribution of ``X``.

    The indicator is ``1{w*.x > 0}`` in Theorem 3.3.1 of ``003``; ``w*`` is
    unknown to a learner, so by default it is the *observable* label indicator
    ``1{y > 0}``, equal to ``1{w*.x > 0}`` for realizable labels
    ``y = max(0, w*.x)``. Pass exactly one of ``y`` and ``w_star``.
    """
    X, y = _data(X, y)
    if (w_star is None) == (y.size == 0):
        raise ValueError("pass exactly one of y (observable indicator 1{y>0}) and w_star")
    if w_star is not None:
        ind = X @ _vector("w_star", w_star, X.shape[1]) > 0
    else:
        ind = y > 0
    Xp = X[ind]
    m = len(X)
    A = Xp.T @ Xp / m
    lam = float(np.linalg.eigvalsh(A)[0])
    c1 = float(np.sum(np.einsum("ij,ij->i", Xp, Xp) ** 2) / m)
    return lam, c1


def modified_sgd_step_size(X: Any, y: Any = None, *, w_star: Any = None) -> float:
    """Theorem 3.3.1 of ``003`` (``alpha = -1``): ``eta = lambda_min / c1``.

    Estimated from the data with the label indicator ``1{y > 0}`` in place of
    ``1{w*.x > 0}`` (see :func:`relu_gate_moments`).

    Raises
    ------
    ValueError
        If ``E[1{y>0} x x^T]`` is singular (the theorem's positive-definiteness
        assumption fails: too few positive labels, or they span a subspace).
    """
    lam, c1 = relu_gate_moments(X, y, w_star=w_star)
    if not lam > 1e-12 * max(c1, 1e-300) ** 0.5:
        raise ValueError(
            f"E[1{{y>0}} x x^T] is singular (lambda_min = {lam:.3g}); Theorem 3.3.1 needs it "
            "positive definite: give more samples with y > 0 spanning all features"
        )
    return lam / c1


def modified_sgd_rate(X: Any, y: Any = None, *, w_star: Any = None) -> float:
    """Predicted per-step contraction ``1 - lambda_min^2 / c1`` of ``E||w_t - w*||^2``.

    Equation (3.5) and Lemma 3.E.1 (case 1, ``eta' = b / (2 c1)``,
    ``b = 2 lambda_min``) of ``003``: with ``eta = lambda_min / c1``,
    ``E||w_{t+1} - w*||^2 <= (1 - lambda_min^2 / c1) E||w_t - w*||^2``. It is a
    rate for the *mean squared* distance; per run, ``||w_t - w*||`` shrinks by
    about its square root per step.
    """
    lam, c1 = relu_gate_moments(X, y, w_star=w_star)
    if not lam > 0:
        raise ValueError("E[1 x x^T] is singular; Theorem 3.3.1 gives no rate")
    return 1.0 - lam * lam / c1


def modified_sgd_exact_rate(X: Any, y: Any, eta: float) -> float:
    """Exact asymptotic per-step rate of ``E||w_t - w*||^2`` under uniform sampling.

    On realizable data ``1{y>0} (y - w.x) x = 1{y>0} x x^T (w* - w)``, so
    ``d_{t+1} = (I - eta 1{y>0} x x^T) d_t`` with ``d = w - w*``: the second
    moment ``E[d d^T]`` evolves by the linear map ``S -> E[P S P]``,
    ``P = I - eta A``, ``A = 1{y>0} x x^T``, whose matrix is
    ``I (x) I - eta (E[A] (x) I + I (x) E[A]) + eta^2 E[A (x) A]``. Its spectral
    radius is the exact rate; it is at most ``lambda_max(E[P^2])``, which (3.4)
    of ``003`` bounds by ``1 - 2 eta lambda_min + eta^2 c1``. An independent
    oracle for :func:`modified_sgd_rate` (cost ``O(m n^4)``).
    """
    X, y = _data(X, y)
    eta = _positive("eta", eta)
    m, n = X.shape
    Xp = X[y > 0]
    EA = Xp.T @ Xp / m
    Z = np.einsum("ij,ik->ijk", Xp, Xp).reshape(len(Xp), n * n)
    EAA = Z.T @ Z / m
    eye = np.eye(n)
    M = np.eye(n * n) - eta * (np.kron(EA, eye) + np.kron(eye, EA)) + eta * eta * EAA
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def modified_sgd_relu(
    X: Any,
    y: Any,
    eta: float | None = None,
    T: int = 1000,
    *,
    w1: Any = None,
    seed: int = 0,
) -> IterateResult:
    """Modified SGD for a ReLU gate, Algorithm 2 of ``003_a707f9d83869f5a2.txt`` (Ch. 3.3).

    Each step samples one row ``(x_t, y_t)`` uniformly (with replacement, the
    thesis' fresh sample from ``D`` being a draw from the empirical
    distribution) and sets ``w <- w + eta 1{y_t > 0} (y_t - w.x_t) x_t``
    (``alpha = -1``).

    Parameters
    ----------
    X : array-like of shape (m, n)
    y : array-like of shape (m,)
        Labels, realizable ``max(0, w*.x)`` for the theorem.
    eta : float, optional
        Step. ``None``: :func:`modified_sgd_step_size`, the theorem's
        ``lambda_min / c1`` estimated with the observable indicator ``1{y>0}``
        (``w*`` is not observable).
    T : int, default=1000
        Number of single-sample steps.
    w1 : array-like of shape (n,), optional
        Start (any point; default ``0``).
    seed : int, default=0
        Seeds the sample order (``numpy.random.default_rng``).

    Returns
    -------
    IterateResult
    """
    X, y = _data(X, y)
    eta = modified_sgd_step_size(X, y) if eta is None else _positive("eta", eta)
    T = _count("T", T, 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    m, n = X.shape
    w = np.zeros(n) if w1 is None else _vector("w1", w1, n).copy()
    idx = np.random.default_rng(seed).integers(0, m, size=T)
    traj = np.empty((T + 1, n))
    traj[0] = w
    pos = y > 0
    for t, i in enumerate(idx):
        if pos[i]:
            x = X[i]
            w = w + (eta * (y[i] - w @ x)) * x
        traj[t + 1] = w
    return IterateResult(w=w, trajectory=traj, step=eta)


# ------------------------------------------------- noise-assisted GD (3.4)


def relu_subgradient(X: Any, y: Any, w: Any) -> np.ndarray:
    """``g = -(1/S) sum_i 1{w.x_i >= 0} (y_i - ReLU(w.x_i)) x_i`` (Algorithm 3, line 4, ``003``).

    The subgradient of ``(1/2S) sum (y_i - ReLU(w.x_i))^2`` with the choice
    ``ReLU'(0) = 1``.
    """
    X, y = _data(X, y)
    w = _vector("w", w, X.shape[1])
    z = X @ w
    r = (z >= 0) * (y - np.maximum(z, 0.0))
    return -(X.T @ r) / len(X)


def noise_assisted_subgradient(
    X: Any,
    y: Any,
    eta: float,
    T: int,
    *,
    zeta1_radius: float = 0.0,
    zeta2_std: float = 0.0,
    w0: Any = None,
    seed: int = 0,
) -> IterateResult:
    """Noise-assisted subgradient dynamics on a ReLU gate, Algorithm 3 of ``003`` (Ch. 3.4).

    ``w_{t+1} = w_t - eta (g_t + zeta_{t,1}) + sqrt(eta) zeta_{t,2}`` with ``g_t``
    from :func:`relu_subgradient` (full batch).

    Parameters
    ----------
    X : array-like of shape (S, n)
    y : array-like of shape (S,)
        Realizable labels ``max(0, w*.x)`` for Theorem 3.4.1.
    eta : float
        Constant step; Theorem 3.4.1 needs ``eta < 1 / (C^2 sqrt(2 i_max))``.
    T : int
        Number of steps (``i_max``).
    zeta1_radius : float, default=0.0
        ``S1``. Choice: ``zeta_{t,1}`` uniform on the sphere of radius ``S1``
        (mean zero, ``||zeta_1|| <= S1`` as the theorem needs).
    zeta2_std : float, default=0.0
        Choice: ``zeta_{t,2} ~ N(0, zeta2_std^2 I)`` (case (b) of the remark
        after Theorem 3.4.1); the theorem needs ``E||zeta_2||^2 = n std^2 < n``.
    w0 : array-like of shape (n,), optional
        Start (default ``0``).
    seed : int, default=0

    Returns
    -------
    IterateResult
        ``trajectory[t]`` is ``w_t``, ``t = 0 .. T``.
    """
    X, y = _data(X, y)
    eta = _positive("eta", eta)
    T = _count("T", T, 1)
    s1 = _nonneg("zeta1_radius", zeta1_radius)
    s2 = _nonneg("zeta2_std", zeta2_std)
    if s2 >= 1.0:
        raise ValueError(
            f"zeta2_std must be < 1 (Theorem 3.4.1 needs E||zeta_2||^2 = n std^2 < n), got {s2}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    S, n = X.shape
    rng = np.random.default_rng(seed)
    w = np.zeros(n) if w0 is None else _vector("w0", w0, n).copy()
    traj = np.empty((T + 1, n))
    traj[0] = w
    root = math.sqrt(eta)
    for t in range(T):
        z = X @ w
        g = -(X.T @ ((z >= 0) * (y - np.maximum(z, 0.0)))) / S
        if s1 > 0:
            u = rng.standard_normal(n)
            g = g + s1 * u / np.linalg.norm(u)
        w = w - eta * g
        if s2 > 0:
            w = w + root * s2 * rng.standard_normal(n)
        traj[t + 1] = w
    return IterateResult(w=w, trajectory=traj, step=eta)


def confinement_radius(
    eta: float, i_max: int, *, C: float, S1: float, n: int, dist0: float, lam: float
) -> float:
    """Smallest ``r*`` allowed by Theorem 3.4.1 of ``003``.

    ``r*^2 >= lam + ||w_0 - w*||^2 + i_max (2 eta^2 (C^4 r*^2 + S1^2) + eta n)``,
    i.e. (the remark after the theorem)
    ``r*^2 = (lam + dist0^2 + i_max (eta n + 2 eta^2 S1^2)) / (1 - 2 i_max eta^2 C^4)``.

    Parameters
    ----------
    eta : float
        Step; must satisfy ``eta < 1 / (C^2 sqrt(2 i_max))``.
    i_max : int
        Horizon.
    C : float
        ``max_i ||x_i||``.
    S1 : float
        Bound on ``||zeta_1||``.
    n : int
        Dimension.
    dist0 : float
        ``||w_0 - w*||``.
    lam : float
        The deviation ``lambda > 0`` of the martingale bound.
    """
    eta = _positive("eta", eta)
    i_max = _count("i_max", i_max, 1)
    C = _positive("C", C)
    S1 = _nonneg("S1", S1)
    n = _count("n", n, 1)
    dist0 = _nonneg("dist0", dist0)
    lam = _positive("lam", lam)
    denom = 1.0 - 2.0 * i_max * eta * eta * C**4
    if denom <= 0:
        raise ValueError(
            f"eta={eta:.4g} is too large: Theorem 3.4.1 needs eta < 1/(C^2 sqrt(2 i_max)) = "
            f"{1 / (C * C * math.sqrt(2 * i_max)):.4g}"
        )
    return math.sqrt((lam + dist0**2 + i_max * (eta * n + 2 * eta * eta * S1 * S1)) / denom)


def _increment_bound(eta: float, r: float, C: float, S1: float, n: int, C_L: float) -> float:
    """``k`` of Lemma 3.4.3 / eq. (3.20) of ``003``: ``|z_{t+1} - z_t| <= k``."""
    return 2 * math.sqrt(eta) * C_L * (r + eta * (C * C * r + S1)) + eta * (
        2 * S1 * r + n + 2 * C * C * r * r + 2 * eta * (C**4 * r * r + S1 * S1)
    )


def confinement_failure_bound(
    eta: float,
    i_max: int,
    r: float,
    lam: float,
    *,
    C: float,
    S1: float,
    n: int,
    C_L: float,
    p_zeta2: float,
    k_power: int = 2,
) -> float:
    """Right side of Theorem 3.4.1 of ``003``: ``P[exists i <= i_max: ||w_i - w*|| > r*]``.

    ``i_max (P[||zeta_2|| > C_L] + exp(-lam^2 / (2 i_max k^p)))`` with ``k`` of
    eq. (3.20). The printed theorem has ``p = 1``, but the Azuma-Hoeffding bound
    it invokes (Theorem 3.D.1: ``exp(-lam^2 / (2 sum c_i^2))`` with ``c_i = k``)
    gives ``p = 2``; ``k_power=2`` (default) follows the derivation,
    ``k_power=1`` reproduces the printed statement.

    With ``p = 2`` the exponent saturates as ``lam`` grows (``k`` grows like
    ``r*^2``, hence like ``lam``) at about ``(1 - a)^2 / (4 a)`` with
    ``a = 2 i_max eta^2 C^4``, so a guarantee at level ``delta`` needs a step
    well below the printed ``1 / (C^2 sqrt(2 i_max))``: roughly
    ``a < 1 / (4 log(i_max / delta))``.
    """
    if k_power not in (1, 2):
        raise ValueError(f"k_power must be 1 (as printed) or 2 (Azuma), got {k_power!r}")
    k = _increment_bound(eta, r, C, S1, n, C_L)
    return float(i_max * (p_zeta2 + math.exp(-(lam * lam) / (2.0 * i_max * k**k_power))))


@dataclass
class ConfinementGuarantee:
    """Theorem 3.4.1 instantiated: with probability ``>= 1 - failure_bound``
    every iterate ``w_1 .. w_{i_max}`` lies within ``radius`` of ``w*``."""

    radius: float
    lam: float
    failure_bound: float
    C_L: float
    p_zeta2: float
    k: float


def confinement_guarantee(
    eta: float,
    i_max: int,
    *,
    C: float,
    n: int,
    dist0: float,
    S1: float = 0.0,
    zeta2_std: float = 0.0,
    delta: float = 0.05,
    C_L: float | None = None,
    k_power: int = 2,
) -> ConfinementGuarantee:
    """Smallest ``lambda`` (hence radius) for which Theorem 3.4.1 of ``003`` gives failure <= delta.

    Choices the theorem leaves open: ``C_L = 0.9 sqrt(n)`` unless given (any
    value in ``(0, sqrt(n))`` is allowed); ``P[||zeta_2|| > C_L]`` is the exact
    chi-square tail for Gaussian ``zeta_2`` (0 when ``zeta2_std = 0``);
    ``lambda`` is found by bisection on :func:`confinement_failure_bound`
    (``k_power`` as there: 2 = the Azuma exponent the proof gives, 1 = as printed).

    Raises
    ------
    ValueError
        If no ``lambda`` reaches ``delta``: with ``k_power=2`` this happens when
        ``eta`` is too large (see :func:`confinement_failure_bound`).
    """
    from scipy.stats import chi2

    delta = _positive("delta", delta)
    if delta >= 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    n = _count("n", n, 1)
    C_L = 0.9 * math.sqrt(n) if C_L is None else _positive("C_L", C_L)
    if C_L >= math.sqrt(n):
        raise ValueError(f"C_L must be in (0, sqrt(n)) = (0, {math.sqrt(n):.4g}), got {C_L}")
    s2 = _nonneg("zeta2_std", zeta2_std)
    p2 = 0.0 if s2 == 0 else float(chi2.sf(C_L * C_L / (s2 * s2), n))
    i_max = _count("i_max", i_max, 1)
    if i_max * p2 >= delta:
        raise ValueError(
            f"zeta2_std={s2} is too large for delta={delta}: i_max P[||zeta_2|| > C_L] = "
            f"{i_max * p2:.3g}; lower zeta2_std"
        )

    def fail(lam: float) -> tuple[float, float]:
        r = confinement_radius(eta, i_max, C=C, S1=S1, n=n, dist0=dist0, lam=lam)
        return confinement_failure_bound(
            eta, i_max, r, lam, C=C, S1=S1, n=n, C_L=C_L, p_zeta2=p2, k_power=k_power
        ), r

    lo, hi = 0.0, 1.0
    while fail(hi)[0] > delta:
        lo, hi = hi, 2 * hi
        if hi > 1e12:
            raise ValueError(
                f"no lambda reaches delta={delta} at eta={eta:.4g}: the Theorem 3.4.1 bound "
                f"saturates; lower eta (about 2 i_max eta^2 C^4 < 1/(4 log(i_max/delta)) is "
                f"needed) or raise delta"
            )
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if mid <= 0 or fail(mid)[0] > delta:
            lo = mid
        else:
            hi = mid
    f, r = fail(hi)
    k = _increment_bound(_positive("eta", eta), r, C, S1, n, C_L)
    return ConfinementGuarantee(radius=r, lam=hi, failure_bound=f, C_L=C_L, p_zeta2=p2, k=k)


# ------------------------------------------------------ DANTE block solvers


def _gate_info(layer: Layer, solver: str) -> tuple[str, float, float]:
    """(kind, Lipschitz constant, positive-side slope) of a layer's activation."""
    act = layer.activation
    if isinstance(act, GeneralizedReLU):
        return "generalized_relu", act.b, act.b
    if isinstance(act, nn.Sigmoid):
        return "sigmoid", 0.25, 0.0
    if isinstance(act, nn.Tanh):
        return "tanh", 1.0, 0.0
    if isinstance(act, nn.Identity):
        return "identity", 1.0, 1.0
    raise ValueError(
        f"solver {solver!r} needs a known non-decreasing output activation (relu, leaky_relu, "
        f"generalized_relu, sigmoid, tanh, identity), got {type(act).__name__}"
    )


def _output_layer(
    model: Any, block: Sequence[int] | None, suffix: Sequence[int] | None, loss: Any, solver: str
) -> Layer:
    """The layer a GLM solver may train: the net's output layer, alone, on MSE."""
    if not isinstance(model, LayeredNet):
        raise TypeError(f"solver {solver!r} needs a dante.MLP or dante.Autoencoder model")
    last = model.n_layers - 1
    block = (last,) if block is None else tuple(block)
    suffix = block if suffix is None else tuple(suffix)
    if block != (last,) or suffix != (last,):
        raise ValueError(
            f"solver {solver!r} trains only the output layer (a single layer whose output is "
            f"the net output) but was given block {list(block)} on path {list(suffix)}. Fix: "
            f"use it for the output block only -- an MLP without hidden layers with "
            f"RoundRobin, or schedule=dante.shallow.relu_gate.GLMOutputRoundRobin() "
            f"(output block {solver!r}, hidden blocks SNGD) for a deeper net"
        )
    loss_obj = get_loss(loss if loss is not None else "mse")
    if loss_obj.name != "mse":
        raise ValueError(
            f"solver {solver!r} solves the squared-loss GLM problem; got loss="
            f"{loss_obj.name!r}. Fix: loss='mse'"
        )
    return model.layers[last]


def _augment(xb: torch.Tensor, bias: bool) -> torch.Tensor:
    if not bias:
        return xb
    return torch.cat([xb, torch.ones(len(xb), 1, dtype=xb.dtype, device=xb.device)], dim=1)


class _GateSolver(StepSolver):
    """What the GLM block solvers share: the layer check and the minibatch loss before a step."""

    def __init__(self, layer: Layer, name: str) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"layer must be a dante.Layer, got {type(layer).__name__}")
        self.layer = layer
        self.name = name

    def _forward(self, xb: torch.Tensor, tb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sigma(xb W^T + b), MSE)``; raises before any update when the loss is not finite."""
        out = self.layer.activation(self.layer.linear(xb))
        loss = F.mse_loss(out, tb)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(f"{self.name}: minibatch loss is {float(loss)}; no update")
        return out, loss


class GLMTronSolver(_GateSolver):
    """GLM-Tron (Algorithm 4 of ``003``) on one layer: every output unit is a GLM.

    With ``Wt = [W, b]`` (out x (in + 1)) and ``xt = [x, 1]``, one minibatch step is::

        Wt <- Wt + (step / m) * (T - sigma(xt Wt^T))^T xt

    i.e. GLM-Tron on each unit independently, with the layer's activation as
    ``sigma``. On the full batch this is exactly :func:`glmtron`.

    Parameters
    ----------
    layer : dante.Layer
    step : float or "auto", default="auto"
        ``"auto"``: ``1 / R^2`` with ``R`` the largest ``||[x, 1]||`` seen so far,
        i.e. GLM-Tron with its unit step on the inputs rescaled into the unit
        ball, as Theorem 3.5.2 needs (``R`` is a running maximum over the
        minibatches, so the step never grows). The run's ``lr`` is not used:
        the algorithm is parameter-free.
    name : str
        Used in error messages.

    Notes
    -----
    Activation must be non-decreasing with Lipschitz constant ``L < 2``:
    generalized ReLU with ``b < 2`` (ReLU, leaky ReLU), sigmoid, tanh, identity.
    """

    checkpoint_state = ("max_sq_norm",)

    def __init__(self, layer: Layer, step: float | str = "auto", *, name: str = "glmtron") -> None:
        super().__init__(layer, name)
        kind, L, _ = _gate_info(layer, name)
        if L >= 2:
            raise ValueError(
                f"solver {name!r}: activation {kind} has Lipschitz constant {L} >= 2; GLM-Tron "
                "(Theorem 3.5.2) needs L < 2 -- use generalized_relu with b < 2"
            )
        if step != "auto":
            step = _positive("step", step)
        self.step = step
        self.max_sq_norm = 0.0

    @torch.no_grad()
    def train_step(self, xb: torch.Tensor, tb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """One GLM-Tron step on the minibatch; returns the MSE before it."""
        out, loss = self._forward(xb, tb)
        lin = self.layer.linear
        has_bias = lin.bias is not None
        sq = (xb * xb).sum(dim=1) + (1.0 if has_bias else 0.0)
        self.max_sq_norm = max(self.max_sq_norm, float(sq.max()))
        step = (1.0 / self.max_sq_norm) if self.step == "auto" else float(self.step)
        if self.max_sq_norm == 0.0:
            return loss
        resid = (tb - out) * (step / len(xb))
        lin.weight.add_(resid.T @ xb)
        if has_bias:
            lin.bias.add_(resid.sum(dim=0))
        return loss


class ModifiedSGDSolver(_GateSolver):
    """Modified SGD (Algorithm 2 of ``003``) on one ReLU-type layer, unit by unit.

    For a generalized-ReLU output ``phi(z) = b z`` (``z > 0``), ``a z`` (``z <= 0``)
    a positive label means ``t = b w*.xt``, so the thesis' update becomes, per
    unit ``j`` and per sample (one sample per update, in the trainer's seeded
    minibatch order)::

        w_j <- w_j + eta_j 1{t_j > 0} (t_j - b w_j.xt) b xt,     xt = [x, 1]

    (``b = 1``: exactly Algorithm 2), and the theorem's step becomes
    ``eta_j = lambda_min(E[1{t_j>0} xt xt^T]) / (b^2 E[1{t_j>0} ||xt||^4])``.

    Parameters
    ----------
    layer : dante.Layer
        Output activation must be a generalized ReLU (``relu``, ``leaky_relu``).
    eta : float, optional
        Fixed step for every unit. ``None``: the moment step above, estimated
        from the label indicator ``1{t_j > 0}`` (observable; ``w*`` is not) over
        all samples seen so far, re-estimated after every minibatch until
        ``n_samples`` samples have been seen, then frozen. A unit whose
        estimated matrix is still singular (fewer positive labels than
        ``in + 1``) is not updated yet. Cost of an estimate:
        ``O(out * (in + 1)^3)``.
    n_samples : int, optional
        Training-set size (the trainer passes it).
    name : str
        Used in error messages.
    """

    checkpoint_state = ("second", "fourth", "seen", "steps")

    def __init__(
        self,
        layer: Layer,
        eta: float | None = None,
        *,
        n_samples: int | None = None,
        name: str = "relu_gate_sgd",
    ) -> None:
        super().__init__(layer, name)
        if not isinstance(layer.activation, GeneralizedReLU):
            raise ValueError(
                f"solver {name!r} is the modified SGD for a ReLU gate; the output activation "
                f"is {type(layer.activation).__name__}. Fix: output_activation='relu' "
                "(or leaky_relu/generalized_relu), or use solver 'glmtron'"
            )
        self.slope = float(layer.activation.b)
        self.eta = None if eta is None else _positive("eta", eta)
        self.n_samples = None if n_samples is None else _count("n_samples", n_samples, 1)
        lin = layer.linear
        p = lin.in_features + (1 if lin.bias is not None else 0)
        k = lin.out_features
        self.second = torch.zeros(k, p, p, dtype=torch.float64)
        self.fourth = torch.zeros(k, dtype=torch.float64)
        self.seen = 0
        self.steps = torch.zeros(k, dtype=torch.float64) if eta is None else None

    def _estimate(self) -> torch.Tensor:
        n = max(self.seen, 1)
        lam = torch.linalg.eigvalsh(self.second / n)[:, 0]
        c1 = self.slope**2 * self.fourth / n
        ok = (lam > 1e-10 * torch.sqrt(self.fourth / n).clamp_min(1e-300)) & (c1 > 0)
        return torch.where(ok, lam / c1.clamp_min(1e-300), torch.zeros_like(lam))

    @torch.no_grad()
    def train_step(self, xb: torch.Tensor, tb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Single-sample modified-SGD updates over the minibatch; returns the MSE before them."""
        _, loss = self._forward(xb, tb)
        lin = self.layer.linear
        has_bias = lin.bias is not None
        xt = _augment(xb, has_bias).to(torch.float64)
        t = tb.to(torch.float64)
        pos = (t > 0).to(torch.float64)  # (m, k)
        if self.eta is None:
            if self.n_samples is None or self.seen < self.n_samples:
                self.second += torch.einsum("mk,mp,mq->kpq", pos, xt, xt)
                self.fourth += pos.T @ ((xt * xt).sum(dim=1) ** 2)
                self.seen += len(xt)
                self.steps = self._estimate()
            eta = self.steps
        else:
            eta = torch.full((lin.out_features,), self.eta, dtype=torch.float64)
        W = lin.weight.to(torch.float64)
        if has_bias:
            W = torch.cat([W, lin.bias.to(torch.float64)[:, None]], dim=1)
        b = self.slope
        for i in range(len(xt)):
            x = xt[i]
            coef = eta * pos[i] * (t[i] - b * (W @ x)) * b
            W += coef[:, None] * x[None, :]
        lin.weight.copy_(W[:, : lin.in_features].to(lin.weight.dtype))
        if has_bias:
            lin.bias.copy_(W[:, -1].to(lin.bias.dtype))
        return loss


def glmtron_factory(params: Any, lr: float, momentum: float, **context: Any) -> GLMTronSolver:
    """``register_solver`` factory for ``"glmtron"`` (``lr``/``momentum`` unused)."""
    layer = _output_layer(
        context.get("model"),
        context.get("block"),
        context.get("suffix"),
        context.get("loss"),
        "glmtron",
    )
    return GLMTronSolver(layer, name="glmtron")


def relu_gate_sgd_factory(
    params: Any, lr: float, momentum: float, **context: Any
) -> ModifiedSGDSolver:
    """``register_solver`` factory for ``"relu_gate_sgd"`` (``lr``/``momentum`` unused)."""
    layer = _output_layer(
        context.get("model"),
        context.get("block"),
        context.get("suffix"),
        context.get("loss"),
        "relu_gate_sgd",
    )
    return ModifiedSGDSolver(layer, n_samples=context.get("n_samples"), name="relu_gate_sgd")


@dataclass(frozen=True)
class GLMOutputRoundRobin:
    """Round-robin DANTE with a GLM solver on the output block only.

    A :class:`~dante.Stage` carries one solver for all of its blocks, so a
    plain :class:`~dante.RoundRobin` with ``solver="glmtron"`` would hand the
    hidden blocks to GLM-Tron too (which raises). This schedule emits, per
    round, one single-round stage ``"glm_output"`` (block: the output layer,
    solver ``output_solver``) followed by one stage ``"hidden"`` (the hidden
    layers from the top down, solver ``hidden_solver``), repeated ``rounds``
    times. Stage names repeat, so each block keeps one solver object (and its
    state) across rounds. Difference from :class:`~dante.RoundRobin`: a fixed
    number of rounds instead of Algorithm 2's ``|f_t - f_{t-1}| < tol`` rule.

    Parameters
    ----------
    rounds : int, default=5
    output_solver : str, default="glmtron"
        ``"glmtron"`` or ``"relu_gate_sgd"`` (or any registered name).
    hidden_solver : str, default="sngd"
    """

    rounds: int = 5
    output_solver: str = "glmtron"
    hidden_solver: str = "sngd"

    def __post_init__(self) -> None:
        _count("rounds", self.rounds, 1)
        for name in ("output_solver", "hidden_solver"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a solver name, got {getattr(self, name)!r}")

    def stages(self, model: LayeredNet) -> list[Stage]:
        n = model.n_layers
        full = tuple(range(n))
        out = Stage(
            name="glm_output",
            path=full,
            input_depth=0,
            target="y",
            blocks=((n - 1,),),
            solver=self.output_solver,
            rounds=1,
        )
        if n == 1:
            return [out] * self.rounds
        hidden = Stage(
            name="hidden",
            path=full,
            input_depth=0,
            target="y",
            blocks=tuple((i,) for i in range(n - 2, -1, -1)),
            solver=self.hidden_solver,
            rounds=1,
        )
        return [out, hidden] * self.rounds


register_solver("glmtron", glmtron_factory)
register_solver("relu_gate_sgd", relu_gate_sgd_factory)
