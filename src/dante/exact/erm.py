"""Exact (certified) empirical risk minimization for depth-2 ReLU nets.

Algorithm 1 / Theorem 2.4.1 of ``003_a707f9d83869f5a2.txt`` (Ch. 2.4): by the
positive homogeneity of ReLU a width-``w`` net is

    f(x) = c + sum_j s_j max(0, w_j . x + b_j),   s_j in {-1, +1},

(``|a'_j|`` absorbed into ``(w_j, b_j)``; ``c`` is the output bias, present in
:class:`dante.MLP` and optional here). Guess, for every unit, the dichotomy
``P_+^j`` of the data on which it is active and the sign ``s_j``; then ``f`` is
*linear* in the weights on the data and the squared loss of the **summed
output**

    min  sum_i (y_i - c - sum_j s_j 1{i in P_+^j} (w_j . x_i + b_j))^2
    s.t. w_j . x_i + b_j >= 0 (i in P_+^j),  w_j . x_i + b_j <= 0 (i not in P_+^j)

is a convex QP (least squares with linear inequalities). The printed objective
puts the loss per unit, ``sum_j sum_{i in P_+^j} l(y_i, s_j(...))``, which is
not the loss of the network (proof of Theorem 2.4.1; ``docs/ERRATA.md``, sec. 5);
the summed output is used here. The global optimum is the least QP value
over all guesses.

Choices made here (the thesis leaves them open):

* **Dichotomies.** Input dimension 1: the sets ``{x > t}`` and ``{x < t}``
  over thresholds between distinct sorted inputs. Dimension 2 (points in
  general position): every linearly separable dichotomy is that of a line
  through two data points, slightly perturbed so that each of the two points
  falls on the side wanted (4 ways, both orientations), plus the empty and
  full sets: ``D^2 - D + 2`` dichotomies. Each comes with a strictly
  separating ``(w, b)``, used as the QP's feasible start. The thesis' separate
  1-D algorithm (fit a PWL function with ``w`` pieces) is *not* used: a
  width-``w`` net can have ``w`` breakpoints (``w + 1`` pieces) on the data,
  so that class is smaller than the network class; Algorithm 1 itself is valid
  for every input dimension.
* **Symmetry and redundancy** (exact, they only drop guesses whose feasible
  set is contained in another guess's): the empty dichotomy is never needed
  (any unit may be 0, since the constraints are closed); units are unordered;
  two units with the same dichotomy and the same sign add nothing; with an
  output bias the all-active unit is an arbitrary affine map, so its sign is
  fixed and one such unit suffices.
* **Search order / pruning** (exact): the QP value of a guess is at least the
  unconstrained least-squares value with the same active sets (independent of
  the signs); guesses are visited in increasing order of this bound and the
  search stops once the bound reaches the incumbent.
* **QP solver**: a primal active-set method for convex least squares with
  inequality constraints (Nocedal & Wright, Alg. 16.3, with minimum-norm
  least-squares steps so that a singular Hessian is fine), started at the
  strictly feasible witness. It stops at a KKT point (stationarity, primal
  and dual feasibility), which for a convex QP is a global minimum; the
  largest scaled KKT violation is returned as the certificate
  (``ERMResult.kkt_residual``, about 1e-12 in practice).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from .pwl import ReLUNet

__all__ = ["ERMResult", "dichotomies", "exact_erm", "pattern_qp"]


@dataclass
class ERMResult:
    """Certified global minimum of the squared loss over width-``w`` depth-2 ReLU nets.

    Attributes
    ----------
    loss : float
        ``sum_i (f(x_i) - y_i)^2`` at the optimum.
    mse : float
        ``loss / D`` (the mean squared error :func:`dante.fit` reports).
    weights : ndarray of shape (w, n)
    biases : ndarray of shape (w,)
    signs : ndarray of shape (w,)
        Output weights ``s_j in {-1, +1}``.
    out_bias : float
        ``c`` (0 when ``output_bias=False``).
    patterns : ndarray of bool, shape (w, D)
        The guessed active sets ``P_+^j`` of the winning QP.
    n_qps : int
        Convex programs solved (the cost counter).
    n_bounds : int
        Unconstrained least-squares bounds computed (one per set of active sets).
    n_guesses : int
        (signs, active sets) guesses in the search space after symmetry.
    n_dichotomies : int
        Dichotomies of the data per unit (including the empty one).
    kkt_residual : float
        Largest scaled KKT violation of the winning QP.
    certified : bool
        Every QP solved reached a KKT point within tolerance.
    seconds : float
    """

    loss: float
    mse: float
    weights: np.ndarray
    biases: np.ndarray
    signs: np.ndarray
    out_bias: float
    patterns: np.ndarray
    n_qps: int
    n_bounds: int
    n_guesses: int
    n_dichotomies: int
    kkt_residual: float
    certified: bool
    seconds: float

    def predict(self, X) -> np.ndarray:
        """Network output on ``X`` of shape ``(N, n)`` (or ``(N,)`` for ``n = 1``)."""
        return self.to_relu_net()(X)

    def to_relu_net(self) -> ReLUNet:
        """The optimum as a :class:`~dante.exact.pwl.ReLUNet`."""
        return ReLUNet(
            [self.weights.copy()], [self.biases.copy()], self.signs.astype(float), self.out_bias
        )

    def to_mlp(self, dtype=None):
        """The optimum as a :class:`dante.MLP` ``[n, w, 1]`` (ReLU, identity output)."""
        return self.to_relu_net().to_mlp(dtype)


# ----------------------------------------------------------------- validation


def _check_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must have shape (D, n) or (D,), got {X.shape}")
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} entries")
    if X.shape[0] < 2:
        raise ValueError(f"need at least 2 data points, got {X.shape[0]}")
    if X.shape[1] not in (1, 2):
        raise ValueError(
            f"exact ERM is implemented for input dimension 1 or 2, got {X.shape[1]} "
            "(the number of dichotomies grows like D^n)"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite")
    return X, y


# ---------------------------------------------------------------- dichotomies


def dichotomies(X) -> tuple[np.ndarray, np.ndarray]:
    """All linearly separable dichotomies of the points, with strict witnesses.

    Parameters
    ----------
    X : array-like of shape (D, n), n in {1, 2}
        For ``n = 2`` the points must be in general position (no three on a
        line); add a tiny jitter otherwise.

    Returns
    -------
    masks : ndarray of bool, shape (P, D)
        ``masks[k, i]``: point ``i`` on the positive side; row 0 is the empty
        set, row 1 the full set.
    witnesses : ndarray of shape (P, n + 1)
        ``(w, b)`` with ``w . x_i + b > 0`` exactly on ``masks[k]`` (``< 0`` off it).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    D, n = X.shape
    masks: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def add(w: np.ndarray, b: float) -> None:
        z = X @ w + b
        if np.min(np.abs(z)) <= 1e-12 * (1 + np.abs(X @ w).max() + abs(b)):
            raise AssertionError("witness is not strict")  # pragma: no cover
        m = z > 0
        masks.setdefault(m.tobytes(), (m, np.concatenate([w, [b]])))

    add(np.zeros(n), -1.0)
    add(np.zeros(n), 1.0)
    if n == 1:
        u = np.unique(X[:, 0])
        for t in (u[:-1] + u[1:]) / 2:
            add(np.array([1.0]), -t)
            add(np.array([-1.0]), t)
    else:
        _check_general_position(X)
        for i in range(D):
            for j in range(i + 1, D):
                m = (X[i] + X[j]) / 2
                u = X[j] - X[i]
                nrm = np.array([-u[1], u[0]])
                nrm /= np.linalg.norm(nrm)
                uu = float(u @ u)
                others = np.ones(D, bool)
                others[[i, j]] = False
                dist = np.abs((X[others] - m) @ nrm)
                along = np.abs((X[others] - m) @ u) / uu
                eta = 0.5 * float(np.min(dist / (1 + 2 * along))) if others.any() else 0.5
                for orient in (1.0, -1.0):
                    for si, sj in itertools.product((1.0, -1.0), repeat=2):
                        d1 = eta * (si + sj) / 2
                        d2 = eta * (sj - si)
                        # f(x) = orient*nrm.(x-m) + d1 + d2 u.(x-m)/|u|^2
                        w = orient * nrm + d2 * u / uu
                        b = -orient * float(nrm @ m) + d1 - d2 * float(u @ m) / uu
                        add(w, b)
    vals = list(masks.values())
    return np.array([v[0] for v in vals]), np.array([v[1] for v in vals])


def _check_general_position(X: np.ndarray) -> None:
    D = X.shape[0]
    scale = max(1.0, float(np.abs(X).max()))
    for i, j in itertools.combinations(range(D), 2):
        if np.linalg.norm(X[i] - X[j]) <= 1e-9 * scale:
            raise ValueError(f"X has duplicate points (rows {i}, {j}); jitter them")
    d = X[:, None, None, :] - X[None, :, None, :]
    e = X[None, None, :, :] - X[None, :, None, :]
    cross = d[..., 0] * e[..., 1] - d[..., 1] * e[..., 0]
    idx = np.arange(D)
    distinct = (idx[:, None, None] != idx[None, :, None]) & (
        idx[:, None, None] != idx[None, None, :]
    )
    distinct &= idx[None, :, None] != idx[None, None, :]
    if np.any(np.abs(cross[distinct]) <= 1e-10 * scale**2):
        raise ValueError(
            "X must be in general position (no three points on a line) for the 2-D "
            "dichotomy enumeration; add a tiny jitter"
        )


# ------------------------------------------------------------------- one QP


def _design(X1: np.ndarray, masks: np.ndarray, signs: np.ndarray | None, bias: bool) -> np.ndarray:
    """Columns: per unit ``s_j 1{on} [x, 1]``, then the output-bias column."""
    cols = []
    for j, m in enumerate(masks):
        blk = X1 * m[:, None]
        cols.append(blk if signs is None else signs[j] * blk)
    if bias:
        cols.append(np.ones((X1.shape[0], 1)))
    return np.hstack(cols)


def _constraints(X1: np.ndarray, masks: np.ndarray, n_vars: int) -> np.ndarray:
    """Rows ``g`` with ``g . theta >= 0``; only the points that can bind (the
    extreme points of each side: min/max in 1-D, hull vertices in 2-D)."""
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
    if P.shape[0] <= 3:
        return np.arange(P.shape[0])
    if P.shape[1] == 1:
        return np.unique([int(np.argmin(P[:, 0])), int(np.argmax(P[:, 0]))])
    from scipy.spatial import ConvexHull

    try:
        return np.asarray(ConvexHull(P).vertices)
    except Exception:  # degenerate hull: keep all points  # pragma: no cover
        return np.arange(P.shape[0])


def _min_norm_lstsq(B: np.ndarray, r: np.ndarray, cutoff: float) -> np.ndarray:
    """Minimum-norm least-squares solution of ``B z = r``, singular values
    below the *absolute* ``cutoff`` treated as zero."""
    U, S, Vt = np.linalg.svd(B, full_matrices=False)
    keep = S > cutoff
    return Vt[keep].T @ ((U[:, keep].T @ r) / S[keep])


def _active_set_lsq(
    A: np.ndarray, y: np.ndarray, G: np.ndarray, theta0: np.ndarray, max_iter: int = 500
) -> tuple[np.ndarray, float, float, bool, int]:
    """``min ||A th - y||^2  s.t.  G th >= 0`` from a feasible ``theta0``.

    Primal active set with minimum-norm least-squares steps. Returns
    ``(theta, value, kkt_residual, converged, iterations)``.
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
    return th, float(r @ r), kkt, it <= max_iter, it


def pattern_qp(
    X, y, masks, signs, *, output_bias: bool = False, theta0=None
) -> tuple[float, np.ndarray, float]:
    """Solve the convex program of one guess (active sets ``masks``, signs ``signs``).

    ``min sum_i (y_i - c - sum_j s_j 1{i in P_j} (w_j.x_i + b_j))^2`` subject
    to ``w_j.x_i + b_j >= 0`` on ``P_j`` and ``<= 0`` off it (the corrected
    objective of Algorithm 1, ``003_a707f9d83869f5a2.txt``, Ch. 2.4).

    Returns
    -------
    value : float
        Minimum sum of squares.
    theta : ndarray
        ``[w_1, b_1, ..., w_w, b_w, (c)]``.
    kkt_residual : float
        Scaled KKT violation at ``theta`` (the optimality certificate).
    """
    X, y = _check_data(X, y)
    masks = np.atleast_2d(np.asarray(masks, dtype=bool))
    signs = np.asarray(signs, dtype=np.float64).reshape(-1)
    if masks.shape[1] != X.shape[0] or signs.size != masks.shape[0]:
        raise ValueError("masks must have shape (w, D) and signs shape (w,)")
    X1 = np.hstack([X, np.ones((X.shape[0], 1))])
    A = _design(X1, masks, signs, output_bias)
    G = _constraints(X1, masks, A.shape[1])
    th0 = np.zeros(A.shape[1]) if theta0 is None else np.asarray(theta0, dtype=np.float64)
    th, val, kkt, _, _ = _active_set_lsq(A, y, G, th0)
    return val, th, kkt


# ----------------------------------------------------------------- the search


def exact_erm(
    X,
    y,
    width: int,
    *,
    output_bias: bool = False,
    max_qps: int | None = None,
    kkt_tol: float = 1e-7,
) -> ERMResult:
    """Global minimum of the squared loss over depth-2 ReLU nets of a given width.

    Algorithm 1 of ``003_a707f9d83869f5a2.txt`` (Ch. 2.4, Theorem 2.4.1), with
    the loss of the summed output, exact symmetry reductions and a
    lower-bound search order (module docstring).

    Parameters
    ----------
    X : array-like of shape (D, n) or (D,)
        Inputs, ``n in {1, 2}``; in 2-D in general position.
    y : array-like of shape (D,)
    width : int
        Number of hidden units ``w >= 1``.
    output_bias : bool, default=False
        Include the output bias ``c`` (:class:`dante.MLP` has one; the thesis'
        problem (2.3) has none).
    max_qps : int, optional
        Stop after this many QPs (the result is then *not* certified optimal:
        ``certified=False``).
    kkt_tol : float, default=1e-7
        A QP counts as solved when its scaled KKT violation is below this.

    Returns
    -------
    ERMResult
    """
    t0 = time.perf_counter()
    X, y = _check_data(X, y)
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    if max_qps is not None and (not isinstance(max_qps, int) or max_qps < 1):
        raise ValueError(f"max_qps must be a positive int or None, got {max_qps!r}")
    width = int(width)
    D, n = X.shape
    q = n + 1
    X1 = np.hstack([X, np.ones((D, 1))])
    masks, wit = dichotomies(X)
    n_dich = masks.shape[0]
    nonempty = [k for k in range(n_dich) if masks[k].any()]
    full = int(np.flatnonzero(masks.all(axis=1))[0])

    # candidate sets of active sets (multisets), with their least-squares bound
    combos = []
    for combo in itertools.combinations_with_replacement(nonempty, width):
        n_full = combo.count(full)
        if max(combo.count(c) for c in set(combo)) > 2 or (output_bias and n_full > 1):
            continue
        combos.append(combo)
    bounds = np.empty(len(combos))
    for k, combo in enumerate(combos):
        A = _design(X1, masks[list(combo)], None, output_bias)
        coef = np.linalg.lstsq(A, y, rcond=None)[0]
        r = A @ coef - y
        bounds[k] = float(r @ r)
    order = np.argsort(bounds, kind="stable")

    best = (math.inf, None, None, None, math.inf)
    n_qps = 0
    n_guesses = 0
    all_ok = True
    stopped = False
    for k in order:
        combo = combos[k]
        sign_list = _sign_vectors(combo, full, output_bias)
        n_guesses += len(sign_list)
        if stopped or bounds[k] >= best[0] - 1e-12 * (1.0 + best[0]):
            continue
        M = masks[list(combo)]
        A0 = _design(X1, M, None, output_bias)
        G = _constraints(X1, M, A0.shape[1])
        th0 = np.concatenate([wit[c] for c in combo] + ([np.zeros(1)] if output_bias else []))
        for s in sign_list:
            if bounds[k] >= best[0] - 1e-12 * (1.0 + best[0]):
                break
            A = A0 * np.concatenate([np.repeat(s, q), [1.0] if output_bias else []])
            th, val, kkt, conv, _ = _active_set_lsq(A, y, G, th0)
            n_qps += 1
            ok = conv and kkt <= kkt_tol
            all_ok &= ok
            feasible = G.size == 0 or float(np.min(G @ th)) >= -1e-9 * (1 + np.abs(th).max())
            if feasible and val < best[0]:
                best = (val, th, combo, s, kkt)
            if max_qps is not None and n_qps >= max_qps:
                stopped = True
                break
    val, th, combo, s, kkt = best
    assert th is not None
    Wb = th[: width * q].reshape(width, q)
    c = float(th[-1]) if output_bias else 0.0
    res = ERMResult(
        loss=float(val),
        mse=float(val) / D,
        weights=Wb[:, :n].copy(),
        biases=Wb[:, n].copy(),
        signs=np.asarray(s, dtype=float),
        out_bias=c,
        patterns=masks[list(combo)].copy(),
        n_qps=n_qps,
        n_bounds=len(combos),
        n_guesses=n_guesses,
        n_dichotomies=n_dich,
        kkt_residual=float(kkt),
        certified=bool(all_ok and not stopped),
        seconds=time.perf_counter() - t0,
    )
    return res


def _sign_vectors(combo: tuple[int, ...], full: int, output_bias: bool) -> list[np.ndarray]:
    """Sign vectors up to the symmetries of the multiset ``combo``."""
    out = []
    for s in itertools.product((-1.0, 1.0), repeat=len(combo)):
        ok = True
        for i in range(len(combo)):
            if output_bias and combo[i] == full and s[i] < 0:
                ok = False
            if i + 1 < len(combo) and combo[i] == combo[i + 1] and not s[i] < s[i + 1]:
                ok = False
        if ok:
            out.append(np.array(s))
    return out
