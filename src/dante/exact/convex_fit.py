"""The convex program of one guess of Algorithm 1 (``003_a707f9d83869f5a2.txt``, Ch. 2.4).

With the active set ``P_j`` and output sign ``s_j`` of every hidden unit
fixed, a depth-2 ReLU net is *linear* in its weights on the data,

    f_i = c + sum_j s_j 1{i in P_j} (w_j . x_i + b_j) = (A theta)_i,

and the guess is feasible iff ``w_j . x_i + b_j >= 0`` on ``P_j`` and ``<= 0``
off it (``G theta >= 0``). For a loss ``l(f, y)`` convex in ``f`` the problem
``min sum_i l((A theta)_i, y_i)  s.t.  G theta >= 0`` is convex (the loss of
the summed output; the thesis prints it per unit, ``docs/ERRATA.md`` sec. 5).

Solvers, one per kind of loss (each returns a certificate):

* ``"squared"`` ``(f - y)^2``: a primal active-set method for convex least
  squares with inequalities (Nocedal & Wright, Alg. 16.3, minimum-norm
  least-squares steps so that a singular Hessian is fine), started at the
  strictly feasible witness; certificate = largest scaled KKT violation.
  When it stalls short of a KKT point (rare), SLSQP polishes from there.
* ``"hinge"`` ``max(0, 1 - y f)``, ``y in {-1, +1}``: the linear program
  ``min sum xi  s.t.  xi_i >= 1 - y_i (A theta)_i, xi >= 0, G theta >= 0``
  solved by HiGHS (:func:`scipy.optimize.linprog`); certificate = the
  relative primal-dual objective gap plus primal infeasibility.
* a user :class:`ConvexLoss` (convex and differentiable in ``f``):
  :func:`scipy.optimize.minimize` with ``method="SLSQP"`` and the linear
  constraints; certificate = the KKT residual ``||grad - G_act^T lambda||``
  with ``lambda >= 0`` fitted by NNLS on the (nearly) active constraints,
  scaled by ``1 + ||grad||``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["HINGE", "SQUARED", "ConvexLoss", "pattern_problem", "resolve_loss", "solve_pattern"]


@dataclass(frozen=True)
class ConvexLoss:
    """A loss ``sum_i l(f_i, y_i)``, convex in the network outputs ``f``.

    Interface for :func:`dante.exact.exact_erm` (``loss=``).

    Attributes
    ----------
    name : str
    value : callable ``(f, y) -> float``
        The *summed* loss over the data (``f``, ``y`` of shape ``(D,)``).
    grad : callable ``(f, y) -> ndarray of shape (D,)``
        ``d value / d f_i`` (a subgradient for the built-in hinge). A user loss
        must be convex and continuously differentiable in ``f`` (logistic,
        Huber, ...): it is solved by SLSQP and certified by its KKT residual.
    floor : float, default=-inf
        A known lower bound of ``value`` (0 for the squared loss and the
        hinge); the search stops once a guess reaches it.
    """

    name: str
    value: Callable[[np.ndarray, np.ndarray], float]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    floor: float = -np.inf


SQUARED = ConvexLoss(
    "squared",
    lambda f, y: float(np.sum((f - y) ** 2)),
    lambda f, y: 2.0 * (f - y),
    0.0,
)
HINGE = ConvexLoss(
    "hinge",
    lambda f, y: float(np.sum(np.maximum(0.0, 1.0 - y * f))),
    lambda f, y: -y * (1.0 - y * f > 0),
    0.0,
)


def resolve_loss(loss: str | ConvexLoss) -> ConvexLoss:
    """``"squared"``, ``"hinge"`` or a :class:`ConvexLoss` -> a :class:`ConvexLoss`."""
    if isinstance(loss, ConvexLoss):
        return loss
    if loss == "squared":
        return SQUARED
    if loss == "hinge":
        return HINGE
    raise ValueError(f"loss must be 'squared', 'hinge' or a ConvexLoss, got {loss!r}")


# ------------------------------------------------------------- the program


def design(X1: np.ndarray, masks: np.ndarray, signs: np.ndarray | None, bias: bool) -> np.ndarray:
    """Columns: per unit ``s_j 1{on} [x, 1]``, then the output-bias column."""
    cols = []
    for j, m in enumerate(masks):
        blk = X1 * m[:, None]
        cols.append(blk if signs is None else signs[j] * blk)
    if bias:
        cols.append(np.ones((X1.shape[0], 1)))
    return np.hstack(cols)


def constraints(X1: np.ndarray, masks: np.ndarray, n_vars: int) -> np.ndarray:
    """Rows ``g`` with ``g . theta >= 0``; only the points that can bind (the
    extreme points of each side: min/max in 1-D, hull vertices in 2-D to 6-D)."""
    q = X1.shape[1]
    rows = []
    for j, m in enumerate(masks):
        for side, sgn in ((m, 1.0), (~m, -1.0)):
            idx = _extreme(X1[side, :-1])
            pts = X1[side][idx]
            G = np.zeros((pts.shape[0], n_vars))
            G[:, j * q : (j + 1) * q] = sgn * pts
            rows.append(G)
    return np.vstack(rows) if rows else np.zeros((0, n_vars))


def _extreme(P: np.ndarray) -> np.ndarray:
    """Indices of the vertices of the convex hull of ``P`` (all points when unsure)."""
    if P.shape[0] <= P.shape[1] + 1 or P.shape[1] > 6:
        return np.arange(P.shape[0])
    if P.shape[1] == 1:
        return np.unique([int(np.argmin(P[:, 0])), int(np.argmax(P[:, 0]))])
    from scipy.spatial import ConvexHull

    try:
        return np.asarray(ConvexHull(P).vertices)
    except Exception:  # degenerate hull: keep all points
        return np.arange(P.shape[0])


def pattern_problem(
    X, masks, signs, *, output_bias: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, G, X1)`` of one guess: outputs ``A theta``, feasibility ``G theta >= 0``."""
    X = np.asarray(X, dtype=np.float64)
    X1 = np.hstack([X, np.ones((X.shape[0], 1))])
    A = design(X1, masks, np.asarray(signs, dtype=np.float64), output_bias)
    return A, constraints(X1, masks, A.shape[1]), X1


# ----------------------------------------------------------- squared loss


def _min_norm_lstsq(B: np.ndarray, r: np.ndarray, cutoff: float) -> np.ndarray:
    """Minimum-norm least-squares solution of ``B z = r``, singular values
    below the *absolute* ``cutoff`` treated as zero."""
    U, S, Vt = np.linalg.svd(B, full_matrices=False)
    keep = S > cutoff
    return Vt[keep].T @ ((U[:, keep].T @ r) / S[keep])


def active_set_lsq(
    A: np.ndarray, y: np.ndarray, G: np.ndarray, theta0: np.ndarray, max_iter: int = 500
) -> tuple[np.ndarray, float, float, bool]:
    """``min ||A th - y||^2  s.t.  G th >= 0`` from a feasible ``theta0``.

    Primal active set with minimum-norm least-squares steps. Returns
    ``(theta, value, kkt_residual, converged)``.
    """
    th = theta0.astype(np.float64).copy()
    m = A.shape[1]
    W: list[int] = []
    gnorm = np.linalg.norm(G, axis=1) + 1e-300
    anorm = float(np.linalg.norm(A, 2)) + 1e-300
    scale = 1.0 + anorm * (np.linalg.norm(y) + 1.0)
    lam = np.zeros(0)
    it = 0
    while it < max_iter:
        it += 1
        r = A @ th - y
        if W:
            _, _, Vt = np.linalg.svd(G[W], full_matrices=True)
            N = Vt[len(W) :].T
        else:
            N = np.eye(m)
        p = N @ _min_norm_lstsq(A @ N, -r, 1e-10 * anorm) if N.shape[1] else np.zeros(m)
        f0 = float(r @ r)
        rp = r + A @ p
        small = np.linalg.norm(p) <= 1e-13 * (1 + np.linalg.norm(th)) or float(
            rp @ rp
        ) >= f0 - 1e-15 * (1 + f0)
        if small:
            grad = 2 * A.T @ r
            if not W:
                lam = np.zeros(0)
                break
            lam = np.linalg.lstsq(G[W].T, grad, rcond=None)[0]
            j = int(np.argmin(lam))
            if lam[j] >= -1e-10 * scale:
                break
            W.pop(j)
            continue
        Gp = G @ p
        Gth = G @ th
        block = Gp < -1e-13 * gnorm * np.linalg.norm(p)
        if W:
            block[W] = False
        alpha, hit = 1.0, -1
        if block.any():
            idx = np.flatnonzero(block)
            ratios = np.maximum(Gth[idx], 0.0) / (-Gp[idx])
            k = int(np.argmin(ratios))
            if ratios[k] < 1.0:
                alpha, hit = float(ratios[k]), int(idx[k])
        th = th + alpha * p
        if hit >= 0:
            W.append(hit)
    else:
        it = max_iter + 1
    r = A @ th - y
    grad = 2 * A.T @ r
    stat = grad - (G[W].T @ lam if W and lam.size == len(W) else 0.0)
    kkt = max(
        float(np.max(np.abs(stat))) / scale,
        float(max(0.0, -lam.min())) / scale if lam.size else 0.0,
        float(max(0.0, -np.min(G @ th / gnorm))) / (1 + np.linalg.norm(th)) if G.size else 0.0,
    )
    return th, float(r @ r), kkt, it <= max_iter


# ------------------------------------------------------------- hinge loss


def hinge_lp(A: np.ndarray, y: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, float, float, bool]:
    """``min sum_i max(0, 1 - y_i (A th)_i)  s.t.  G th >= 0`` as an LP (HiGHS).

    Returns ``(theta, value, certificate, solved)``; the certificate is the
    relative gap between the primal and the dual objective plus the largest
    scaled constraint violation.
    """
    from scipy.optimize import linprog

    D, p = A.shape
    c = np.concatenate([np.zeros(p), np.ones(D)])
    # -y_i (A th)_i - xi_i <= -1 ;  -G th <= 0
    A_ub = np.vstack(
        [np.hstack([-y[:, None] * A, -np.eye(D)]), np.hstack([-G, np.zeros((G.shape[0], D))])]
    )
    b_ub = np.concatenate([-np.ones(D), np.zeros(G.shape[0])])
    bounds = [(None, None)] * p + [(0, None)] * D
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:
        return np.zeros(p), float("inf"), float("inf"), False
    th = res.x[:p]
    val = float(np.sum(np.maximum(0.0, 1.0 - y * (A @ th))))
    dual = float(b_ub @ res.ineqlin.marginals)  # marginals <= 0 for <= rows
    viol = float(max(0.0, -np.min(G @ th))) / (1 + np.abs(th).max()) if G.size else 0.0
    return th, val, abs(val - dual) / (1.0 + abs(val)) + viol, True


# ---------------------------------------------------------- general convex


def general_convex(
    A: np.ndarray, y: np.ndarray, G: np.ndarray, theta0: np.ndarray, loss: ConvexLoss
) -> tuple[np.ndarray, float, float, bool]:
    """``min loss(A th, y)  s.t.  G th >= 0`` by SLSQP, certified by the KKT residual."""
    from scipy.optimize import minimize, nnls

    def fun(t):
        return loss.value(A @ t, y)

    def jac(t):
        return A.T @ np.asarray(loss.grad(A @ t, y), dtype=np.float64)

    cons = [{"type": "ineq", "fun": lambda t: G @ t, "jac": lambda t: G}] if G.shape[0] else []
    res = minimize(
        fun,
        theta0,
        jac=jac,
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 2000},
    )
    th = res.x
    g = jac(th)
    gnorm = np.linalg.norm(G, axis=1) + 1e-300 if G.size else np.zeros(0)
    slack = G @ th / gnorm if G.size else np.zeros(0)
    act = slack <= 1e-7 * (1 + np.abs(th).max())
    if act.any():
        lam, resid = nnls(G[act].T, g)
    else:
        resid = float(np.linalg.norm(g))
    viol = float(max(0.0, -slack.min())) / (1 + np.abs(th).max()) if G.size else 0.0
    gf = np.asarray(loss.grad(A @ th, y), dtype=np.float64)
    scale = 1.0 + float(np.linalg.norm(A, 2)) * (1.0 + float(np.linalg.norm(gf)))
    kkt = float(resid) / scale + viol
    return th, float(fun(th)), kkt, bool(res.success) or kkt < 1e-7


def solve_pattern(
    A: np.ndarray, y: np.ndarray, G: np.ndarray, theta0: np.ndarray, loss: ConvexLoss
) -> tuple[np.ndarray, float, float, bool]:
    """Solve one guess' convex program with the solver of ``loss`` (module docstring).

    Returns ``(theta, value, certificate, converged)``.
    """
    if loss is SQUARED:
        th, val, kkt, conv = active_set_lsq(A, y, G, theta0)
        if conv and kkt <= 1e-9:
            return th, val, kkt, conv
        # rare stalls of the active set (about 1 in 3000 programs at D = 18, n = 2,
        # width 2): polish from its point with SLSQP, keep the better certified one
        th2, val2, kkt2, conv2 = general_convex(A, y, G, th, loss)
        if kkt2 < kkt and val2 <= val + 1e-9 * (1.0 + val):
            return th2, val2, kkt2, conv2
        return th, val, kkt, conv
    if loss is HINGE:
        return hinge_lp(A, y, G)
    return general_convex(A, y, G, theta0, loss)


def lower_bound(A0: np.ndarray, y: np.ndarray, loss: ConvexLoss) -> float:
    """A lower bound on every sign vector's program with the design ``A0`` (unsigned).

    Dropping the constraints leaves ``min_theta loss(A theta, y)``, which does
    not depend on the signs (they flip columns). Exact for the squared loss
    (least squares) and the hinge (an LP); ``-inf`` for user losses (an
    inexact unconstrained minimiser would be an *upper* bound).
    """
    if loss is SQUARED:
        coef = np.linalg.lstsq(A0, y, rcond=None)[0]
        r = A0 @ coef - y
        return float(r @ r)
    if loss is HINGE:
        _, val, _, ok = hinge_lp(A0, y, np.zeros((0, A0.shape[1])))
        return val - 1e-9 * (1.0 + val) if ok else -np.inf
    return -np.inf
