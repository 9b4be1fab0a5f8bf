"""Weight-tied autoencoder of Nguyen, Wong and Hegde and its recovery algorithm.

``004_4ea39d312f58ea24.txt`` (NWH), Sec. 2.1 and Theorem 4: with ``W in R^{n x m}``,

    x = sigma(W^T y + b),   y_hat = W x,   L = 1/2 ||y - W x||^2,

and the update

    W <- normalize_columns(W - zeta g),
    g_i = -E[ 1{x_i != 0} ((W_i^T y + b_i) I + y W_i^T) (y - W x) ],

the gradient (4) with ``sigma'`` replaced by the indicator ``1{x_i != 0}``
(expectation replaced by the mean over the batch). For ReLU (and for the
hard threshold, whose indicator is held fixed) this *is* the autograd gradient
of the batch loss wherever no pre-activation sits exactly on a kink; the
tests check that.

Choices (NWH leaves them open or states them only up to ``Theta``):

* ``threshold_lambda(z) = z 1{|z| > lambda}`` is applied to ``W^T y + b``
  (NWH use ``b = 0`` with it).
* Initialisations (:func:`init_weights`): ``"perturbed"`` is NWH Sec. 6's
  ``A + delta E`` with ``E_ij ~ N(0, 1/n)`` (printed ``N(0, 1/sqrt(n))``; we read
  ``1/sqrt(n)`` as the standard deviation so that ``||E_i|| ~ 1`` and
  ``delta`` is the column distance); ``"delta_close"`` puts every column on the
  unit sphere at distance exactly ``delta`` from ``A_i``; ``"pca"`` is the top
  ``m`` right singular vectors of the centred data (standard PCA); ``"random"``
  draws ``W_ij ~ N(0, 1/n)``.
* Matching (:func:`match_columns`) maximises ``sum_j <W_pi(j), A_j>`` (or its
  absolute value with sign flips) with the Hungarian algorithm, which for unit
  columns is exactly the minimiser of ``||pi(W) - A||_F``.
* Contraction rate (:func:`fit_contraction`): least squares fit of the
  recursion of Theorem 4, ``e_{s+1} = (1 - tau) e_s + c`` with
  ``e_s = ||W_s - A||_F^2``, whose solution is ``floor + (e_0 - floor)(1 - tau)^s``
  with ``floor = c / tau``; or a log-linear fit on the early part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from .generative import normalize_columns

__all__ = [
    "ACTIVATIONS",
    "INITIALIZATIONS",
    "NWHResult",
    "constant_bias",
    "encode",
    "fit_contraction",
    "geometric_bias",
    "init_weights",
    "match_columns",
    "matched_error",
    "nwh_loss_and_gradient",
    "nwh_train",
]

ACTIVATIONS = ("relu", "threshold")
INITIALIZATIONS = ("perturbed", "delta_close", "pca", "random")

BiasSchedule = Callable[[int], float]


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def _as_matrix(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype != np.float32:  # float32 is kept (fast path); everything else -> float64
        arr = arr.astype(float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    return arr


def _check_wy(W: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    W = _as_matrix(W, "W")
    Y = _as_matrix(Y, "Y")
    if Y.shape[1] != W.shape[0]:
        raise ValueError(f"Y has {Y.shape[1]} features but W has {W.shape[0]} rows (n)")
    return W.astype(Y.dtype, copy=False), Y


def encode(
    W: np.ndarray,
    Y: np.ndarray,
    b: float | np.ndarray = 0.0,
    activation: str = "relu",
    threshold: float = 0.5,
) -> np.ndarray:
    """Codes ``x = sigma(W^T y + b)`` for the rows of ``Y``; shape ``(N, m)``.

    NWH eq. (2) (``004_4ea39d312f58ea24.txt``): ``"relu"`` or ``"threshold"``
    (``z 1{|z| > threshold}``).
    """
    W, Y = _check_wy(W, Y)
    _check_activation(activation)
    Z = Y @ W + b
    if activation == "relu":
        return np.maximum(Z, 0.0)
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    return Z * (np.abs(Z) > threshold)


def nwh_loss_and_gradient(
    W: np.ndarray,
    Y: np.ndarray,
    b: float | np.ndarray = 0.0,
    activation: str = "relu",
    threshold: float = 0.5,
) -> tuple[float, np.ndarray]:
    """Batch loss and the approximate gradient ``g`` of NWH Sec. 5, in one pass.

    The loss is the mean over rows of ``1/2 ||y - W sigma(W^T y + b)||^2`` (NWH
    Sec. 2.1); ``g`` is eq. (5) with the batch mean,
    ``g_i = -mean_s 1{x_i != 0} ((W_i^T y + b_i) I + y W_i^T)(y - W x)``,
    returned as an ``(n, m)`` matrix whose column ``i`` is ``g_i``. Arguments
    as for :func:`encode`.
    """
    W, Y = _check_wy(W, Y)
    X = encode(W, Y, b, activation, threshold)
    R = Y - X @ W.T  # residuals y - W x, shape (N, n)
    N = Y.shape[0]
    loss = 0.5 * float(np.einsum("ij,ij->", R, R)) / N
    # on the support x_i = W_i^T y + b_i for both activations, so 1{x_i != 0}(W_i^T y + b_i) = x_i
    term1 = R.T @ X  # sum_s x_i r_s
    term2 = Y.T @ ((X != 0) * (R @ W))  # sum_s 1{x_i != 0} (W_i^T r_s) y_s
    return loss, -(term1 + term2) / N


def geometric_bias(
    b0: float = -1.25, factor: float = 2.0, floor: float | None = None
) -> BiasSchedule:
    """Bias schedule ``b_s = b0 / factor^s`` (NWH Thm 4 (i.2)/(iii.2), ``C = factor``).

    NWH Sec. 6 uses ``b0 = -2.5 delta = -1.25`` and ``factor = 2``. With
    ``floor`` the magnitude stops shrinking at ``|floor|`` (``b_s`` never gets
    closer to 0 than ``floor``), keeping the bias inside Theorem 3 (ii)'s
    negative interval at finite ``n``.
    """
    if not np.isfinite(b0):
        raise ValueError(f"b0 must be finite, got {b0}")
    if not (np.isfinite(factor) and factor >= 1.0):
        raise ValueError(f"factor must be a finite number >= 1 (C > 1 shrinks), got {factor}")
    if floor is not None and not (np.isfinite(floor) and abs(floor) <= abs(b0)):
        raise ValueError(f"floor must be finite with |floor| <= |b0| = {abs(b0)}, got {floor}")

    def sched(s: int) -> float:
        b = b0 / factor**s
        if floor is not None and abs(b) < abs(floor):
            b = float(floor)
        return float(b)

    return sched


def constant_bias(b: float, interval: tuple[float, float] | None = None) -> BiasSchedule:
    """Constant bias, optionally checked to lie in ``interval`` (e.g. Thm 3 (ii)'s range)."""
    if not np.isfinite(b):
        raise ValueError(f"b must be finite, got {b}")
    if interval is not None:
        lo, hi = interval
        if not lo <= b <= hi:
            raise ValueError(f"b = {b} is outside the required interval [{lo}, {hi}]")
    return lambda s: float(b)


def init_weights(
    A: np.ndarray,
    kind: str,
    *,
    delta: float = 0.5,
    Y: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Initial ``W^0`` for the recovery experiments (NWH Sec. 6; choices in module notes).

    Parameters
    ----------
    A : ndarray (n, m)
        Ground truth (used by ``"perturbed"`` and ``"delta_close"`` only).
    kind : {"perturbed", "delta_close", "pca", "random"}
    delta : float, default=0.5
        Perturbation size for ``"perturbed"`` / exact column distance for ``"delta_close"``.
    Y : ndarray (N, n), optional
        Data; required by ``"pca"``.
    seed : int or Generator, optional
    """
    A = _as_matrix(A, "A")
    n, m = A.shape
    if kind not in INITIALIZATIONS:
        raise ValueError(f"kind must be one of {INITIALIZATIONS}, got {kind!r}")
    if not (np.isfinite(delta) and delta >= 0):
        raise ValueError(f"delta must be a finite number >= 0, got {delta}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if kind == "perturbed":
        return A + delta * rng.standard_normal((n, m)) / np.sqrt(n)
    if kind == "delta_close":
        if delta > 2:
            raise ValueError(f"delta must be <= 2 for unit columns (delta_close), got {delta}")
        U = rng.standard_normal((n, m))
        U -= A * np.sum(A * U, axis=0)  # orthogonal to A_i
        U = normalize_columns(U)
        theta = 2 * np.arcsin(delta / 2)  # ||cos t A + sin t U - A|| = 2 sin(t/2)
        return np.cos(theta) * A + np.sin(theta) * U
    if kind == "random":
        return rng.standard_normal((n, m)) / np.sqrt(n)
    if Y is None:
        raise ValueError("kind='pca' needs the data Y (N, n)")
    Y = _as_matrix(Y, "Y")
    if Y.shape[1] != n:
        raise ValueError(f"Y has {Y.shape[1]} features, A has n = {n} rows")
    Yc = Y - Y.mean(axis=0)
    _, _, Vt = np.linalg.svd(Yc, full_matrices=False)
    return Vt[:m].T.copy()


def match_columns(
    W: np.ndarray, A: np.ndarray, sign_flips: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching of the columns of ``W`` to those of ``A`` (NWH Def. 2, Sec. 6).

    Returns ``(perm, signs)`` such that ``signs[j] * W[:, perm[j]]`` is matched to
    ``A[:, j]``. Columns are compared by cosine; with ``sign_flips`` the cost is
    ``-|cos|`` (sparse coding), otherwise ``-cos`` (mixtures, non-negative codes).
    """
    W = _as_matrix(W, "W")
    A = _as_matrix(A, "A")
    if W.shape[0] != A.shape[0] or W.shape[1] < A.shape[1]:
        raise ValueError(f"W {W.shape} must have A's rows and at least its columns, A {A.shape}")
    C = normalize_columns(W).T @ normalize_columns(A)  # (m_W, m_A)
    score = np.abs(C) if sign_flips else C
    rows, cols = linear_sum_assignment(-score)
    perm = np.empty(A.shape[1], dtype=int)
    perm[cols] = rows
    signs = np.sign(C[perm, np.arange(A.shape[1])]) if sign_flips else np.ones(A.shape[1])
    signs[signs == 0] = 1.0
    return perm, signs


def matched_error(
    W: np.ndarray, A: np.ndarray, sign_flips: bool = False, normalize: bool = True
) -> dict[str, float]:
    """``||pi(W) - A||_F`` and the largest column error after :func:`match_columns`.

    With ``normalize`` the columns of ``W`` are scaled to unit norm first (needed
    for an untied decoder, whose scale is arbitrary).
    """
    W = _as_matrix(W, "W")
    perm, signs = match_columns(W, A, sign_flips)
    Wn = normalize_columns(W) if normalize else W
    P = Wn[:, perm] * signs
    col = np.linalg.norm(P - A, axis=0)
    return {"fro": float(np.sqrt(np.sum(col**2))), "max_col": float(col.max())}


def fit_contraction(
    errors_sq: Iterable[float], n_fit: int | None = None, method: str = "recursion"
) -> dict[str, float]:
    """Fit the linear contraction of NWH Thm 4 to ``e_s = ||W_s - A||_F^2``.

    Parameters
    ----------
    errors_sq : sequence of float
        ``e_s`` for ``s = 0, 1, ...`` (at least 3 values).
    n_fit : int, optional
        Use only the first ``n_fit`` values (the early, contracting part).
    method : {"recursion", "loglinear"}, default="recursion"
        ``"recursion"``: least squares fit of ``e_{s+1} = (1 - tau) e_s + c``
        (the theorem's recursion; its solution is ``floor + (e_0 - floor)(1 - tau)^s``
        with ``floor = c / tau``). ``"loglinear"``: least squares line through
        ``log e_s``, ``tau = 1 - exp(slope)``, ``floor = 0`` (for the early part,
        far above the floor, where it is the more stable estimate).

    Returns
    -------
    dict
        ``tau``, ``floor``, ``c`` and ``r2`` of the fit.
    """
    if method not in ("recursion", "loglinear"):
        raise ValueError(f"method must be 'recursion' or 'loglinear', got {method!r}")
    e = np.asarray(list(errors_sq), dtype=float)
    if n_fit is not None:
        if n_fit < 3:
            raise ValueError(f"n_fit must be >= 3, got {n_fit}")
        e = e[:n_fit]
    if e.ndim != 1 or e.size < 3 or not np.all(np.isfinite(e)):
        raise ValueError("errors_sq must hold at least 3 finite values")
    if method == "loglinear":
        if np.any(e <= 0):
            raise ValueError("errors_sq must be > 0 for method='loglinear'")
        s = np.arange(e.size)
        slope, icept = np.polyfit(s, np.log(e), 1)
        resid = np.log(e) - (slope * s + icept)
        ss = np.sum((np.log(e) - np.log(e).mean()) ** 2)
        r2 = 1.0 - np.sum(resid**2) / ss if ss > 0 else 1.0
        return {"tau": float(1.0 - np.exp(slope)), "floor": 0.0, "c": 0.0, "r2": float(r2)}
    x, y = e[:-1], e[1:]
    if np.ptp(x) == 0:
        return {"tau": float("nan"), "floor": float(x[0]), "c": float("nan"), "r2": float("nan")}
    rho, c = np.polyfit(x, y, 1)
    tau = 1.0 - rho
    resid = y - (rho * x + c)
    ss = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - np.sum(resid**2) / ss if ss > 0 else 1.0
    floor = c / tau if tau != 0 else float("inf")
    return {"tau": float(tau), "floor": float(floor), "c": float(c), "r2": float(r2)}


@dataclass
class NWHResult:
    """Trajectory of :func:`nwh_train`."""

    W: np.ndarray
    errors: list[float] = field(default_factory=list)  # matched ||W_s - A||_F, s = 0..T
    losses: list[float] = field(default_factory=list)  # batch loss at W_s, s = 0..T
    biases: list[float] = field(default_factory=list)


def nwh_train(
    W0: np.ndarray,
    data: np.ndarray | Iterable[np.ndarray],
    *,
    steps: int = 50,
    zeta: float = 10.0,
    bias: BiasSchedule | float = -1.25,
    activation: str = "relu",
    threshold: float = 0.5,
    A: np.ndarray | None = None,
    sign_flips: bool = False,
) -> NWHResult:
    """Run ``steps`` NWH updates ``W <- normalize(W - zeta g)`` (Theorem 4 of ``004``).

    Parameters
    ----------
    W0 : ndarray (n, m)
    data : ndarray (N, n) or iterable of ndarrays
        A fixed batch (batch gradient descent, NWH Sec. 6) or an iterator of
        fresh batches (the "infinitely many fresh samples" of Theorem 4).
    steps : int, default=50
    zeta : float, default=10
        Step size; NWH use ``zeta = m``.
    bias : callable or float, default=-1.25
        ``s -> b_s`` (e.g. :func:`geometric_bias`) or a constant.
    activation, threshold : see :func:`encode`.
    A : ndarray, optional
        Ground truth; if given, the matched error is recorded at every step.
    sign_flips : bool, default=False
        Matching with sign flips (sparse coding).
    """
    W = _as_matrix(W0, "W0").copy()
    _check_activation(activation)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not (np.isfinite(zeta) and zeta > 0):
        raise ValueError(f"zeta must be a finite number > 0, got {zeta}")
    sched: BiasSchedule = bias if callable(bias) else constant_bias(float(bias))
    if isinstance(data, np.ndarray):
        fixed = _as_matrix(data, "data")

        def batches():
            while True:
                yield fixed

        it = batches()
    else:
        it = iter(data)
    res = NWHResult(W=W)
    for s in range(steps + 1):
        W, Y = _check_wy(W, next(it))
        b = sched(s)
        if A is not None:
            res.errors.append(matched_error(W, A, sign_flips, normalize=False)["fro"])
        loss, g = nwh_loss_and_gradient(W, Y, b, activation, threshold)
        res.losses.append(loss)
        res.biases.append(b)
        if s == steps:
            break
        Wt = W - zeta * g
        norms = np.linalg.norm(Wt, axis=0)
        Wt[:, norms == 0] = W[:, norms == 0]  # keep a column the step annihilated
        W = normalize_columns(Wt)
    res.W = W
    return res
