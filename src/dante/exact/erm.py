"""Exact (certified) empirical risk minimization for depth-2 ReLU nets: the driver.

Algorithm 1 / Theorem 2.4.1 of ``003_a707f9d83869f5a2.txt`` (Ch. 2.4): by the
positive homogeneity of ReLU a width-``w`` net is

    f(x) = c + sum_j s_j max(0, w_j . x + b_j),   s_j in {-1, +1},

(``|a'_j|`` absorbed into ``(w_j, b_j)``; ``c`` is the output bias, present in
:class:`dante.MLP` and optional here). Guess, for every unit, the dichotomy
``P_+^j`` of the data on which it is active and the sign ``s_j``; then ``f`` is
*linear* in the weights on the data and, for any loss convex in ``f``,

    min  sum_i l(c + sum_j s_j 1{i in P_+^j} (w_j . x_i + b_j), y_i)
    s.t. w_j . x_i + b_j >= 0 (i in P_+^j),  w_j . x_i + b_j <= 0 (i not in P_+^j)

is a convex program. The printed objective puts the loss per unit, which is
not the loss of the network (``docs/ERRATA.md``, sec. 5); the summed output is
used here. The global optimum is the least value over all guesses.

The three steps live in three modules:

* :mod:`dante.exact.arrangement` -- the dichotomies in ``R^n`` (any ``n``; Cover's
  ``2 sum_{i<=n} binom(D-1, i)`` of them), each with a strict witness;
* :mod:`dante.exact.convex_fit` -- one guess' convex program: squared loss by an
  active-set QP, hinge by an LP (HiGHS), a user :class:`ConvexLoss` by SLSQP,
  each with a certificate;
* this module -- the search over guesses.

Search (exact reductions; they only drop guesses whose feasible set is
contained in another guess's): the empty dichotomy is never needed (any unit
may be 0, the constraints are closed); units are unordered; two units with the
same dichotomy and the same sign add nothing (the feasible set is a convex
cone); with an output bias the all-active unit is an arbitrary affine map, so
its sign is fixed and one such unit suffices. The value of a guess is at least
the unconstrained minimum with the same active sets, which does not depend on
the signs (least squares for the squared loss, an LP for the hinge; none for
user losses); guesses are visited in increasing order of this bound and the
search stops once the bound reaches the incumbent. For other losses the
guesses are visited in the least-squares order (a heuristic), the loss' own
bound is computed only for the guesses reached, and the search stops once
the incumbent reaches the loss' floor (0 for the hinge).

Cost: ``P = 2 sum_{i<=n} binom(D-1, i) = O(D^n)`` dichotomies per unit, about
``P^w / w!`` multisets of active sets (one bound each) times up to ``2^w``
sign vectors (one convex program each): exponential in ``w`` and ``n``,
polynomial in ``D`` (Theorem 2.4.1). Measured on one idle core (output bias,
``x ~ N(0, I)``, ``y ~ N(0, 1)``, hinge on its sign;
:data:`dante.exact.study.MINUTE_SIZES`), sizes that finish within a minute:
squared loss, ``n = 1``: width 2 at ``D = 320`` (24 s), width 3 at ``D = 60``
(12 s); ``n = 2``: width 1 at ``D = 240`` (23 s), width 2 at ``D = 30`` (36 s);
``n = 3``: width 1 at ``D = 80`` (38 s), width 2 at ``D = 14`` (37 s); ``n = 4``:
width 1 at ``D = 40`` (45 s); ``n = 5``: width 1 at ``D = 24`` (47 s). Hinge:
``n = 1``, width 3 at ``D = 24`` (47 s; ``D = 32``: 80 s); ``n = 2``, width 1 at
``D = 120`` (36 s), width 2 at ``D = 14`` (29 s; ``D = 18``: 66 s); ``n = 3``,
width 1 at ``D = 40`` (26 s). The hinge costs an LP per program and per bound but
stops at the first zero-loss guess. On a machine loaded ~10x the times grow ~20x.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from .arrangement import dichotomies
from .convex_fit import (
    SQUARED,
    ConvexLoss,
    constraints,
    design,
    lower_bound,
    pattern_problem,
    resolve_loss,
    solve_pattern,
)
from .pwl import ReLUNet

__all__ = ["ConvexLoss", "ERMResult", "dichotomies", "exact_erm", "pattern_qp"]


@dataclass
class ERMResult:
    """Certified global minimum of a convex loss over width-``w`` depth-2 ReLU nets.

    Attributes
    ----------
    loss : float
        The summed loss at the optimum (``sum_i (f(x_i) - y_i)^2`` for the
        squared loss, ``sum_i max(0, 1 - y_i f(x_i))`` for the hinge).
    mse : float
        ``loss / D`` (for the squared loss the mean squared error
        :func:`dante.fit` reports; for other losses the mean loss).
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
        Lower bounds computed (one per set of active sets reached).
    n_guesses : int
        (signs, active sets) guesses in the search space after symmetry.
    n_dichotomies : int
        Dichotomies of the data per unit (including the empty one).
    kkt_residual : float
        Certificate of the winning program (scaled KKT violation; for the
        hinge the relative primal-dual gap).
    certified : bool
        Every program solved reached its certificate tolerance and the search
        was not cut short by ``max_qps``.
    seconds : float
    loss_name : str
        ``"squared"``, ``"hinge"`` or the :class:`ConvexLoss` name.
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
    loss_name: str = "squared"

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
    if X.shape[1] < 1:
        raise ValueError("X must have at least one feature")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite")
    return X, y


def pattern_qp(
    X, y, masks, signs, *, output_bias: bool = False, theta0=None, loss="squared"
) -> tuple[float, np.ndarray, float]:
    """Solve the convex program of one guess (active sets ``masks``, signs ``signs``).

    ``min sum_i l(c + sum_j s_j 1{i in P_j} (w_j.x_i + b_j), y_i)`` subject
    to ``w_j.x_i + b_j >= 0`` on ``P_j`` and ``<= 0`` off it (the corrected
    objective of Algorithm 1, ``003_a707f9d83869f5a2.txt``, Ch. 2.4); solvers in
    :mod:`dante.exact.convex_fit`.

    Returns
    -------
    value : float
        Minimum summed loss.
    theta : ndarray
        ``[w_1, b_1, ..., w_w, b_w, (c)]``.
    kkt_residual : float
        The solver's certificate at ``theta`` (scaled KKT violation; for the
        hinge the relative primal-dual gap).
    """
    X, y = _check_data(X, y)
    lossf = resolve_loss(loss)
    masks = np.atleast_2d(np.asarray(masks, dtype=bool))
    signs = np.asarray(signs, dtype=np.float64).reshape(-1)
    if masks.shape[1] != X.shape[0] or signs.size != masks.shape[0]:
        raise ValueError("masks must have shape (w, D) and signs shape (w,)")
    A, G, _ = pattern_problem(X, masks, signs, output_bias=output_bias)
    th0 = np.zeros(A.shape[1]) if theta0 is None else np.asarray(theta0, dtype=np.float64)
    th, val, kkt, _ = solve_pattern(A, y, G, th0, lossf)
    return val, th, kkt


# ----------------------------------------------------------------- the search


def exact_erm(
    X,
    y,
    width: int,
    *,
    output_bias: bool = False,
    loss: str | ConvexLoss = "squared",
    max_qps: int | None = None,
    kkt_tol: float = 1e-7,
) -> ERMResult:
    """Global minimum of a convex loss over depth-2 ReLU nets of a given width.

    Algorithm 1 of ``003_a707f9d83869f5a2.txt`` (Ch. 2.4, Theorem 2.4.1), with
    the loss of the summed output, exact symmetry reductions and a
    lower-bound search order (module docstring). Any input dimension; the cost
    is exponential in ``width`` and ``n`` and polynomial in ``D`` (module
    docstring for the sizes that finish in a minute).

    Parameters
    ----------
    X : array-like of shape (D, n) or (D,)
        Inputs in general position (no ``n + 1`` on an affine hyperplane; add
        a tiny jitter otherwise).
    y : array-like of shape (D,)
        Targets (``{-1, +1}`` labels for the hinge).
    width : int
        Number of hidden units ``w >= 1``.
    output_bias : bool, default=False
        Include the output bias ``c`` (:class:`dante.MLP` has one; the thesis'
        problem (2.3) has none).
    loss : {"squared", "hinge"} or ConvexLoss, default="squared"
        ``"squared"``: ``sum (f - y)^2``; ``"hinge"``: ``sum max(0, 1 - y f)``;
        a :class:`~dante.exact.convex_fit.ConvexLoss` (``value(f, y)`` summed,
        ``grad(f, y)`` per sample; convex and C^1 in ``f``).
    max_qps : int, optional
        Stop after this many convex programs (the result is then *not*
        certified optimal: ``certified=False``).
    kkt_tol : float, default=1e-7
        A program counts as solved when its certificate is below this.

    Returns
    -------
    ERMResult
    """
    t0 = time.perf_counter()
    X, y = _check_data(X, y)
    lossf = resolve_loss(loss)
    if lossf.name == "hinge" and not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("the hinge loss needs labels y in {-1, +1}")
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

    # candidate sets of active sets (multisets), with their sign-free lower bound
    combos = []
    for combo in itertools.combinations_with_replacement(nonempty, width):
        n_full = combo.count(full)
        if max(combo.count(c) for c in set(combo)) > 2 or (output_bias and n_full > 1):
            continue
        combos.append(combo)
    # squared loss: every bound (least squares) up front, visited in increasing order;
    # other losses: a cheap least-squares order (a heuristic, not a bound) and the
    # loss' own bound (an LP for the hinge) computed only for the guesses reached
    lazy = lossf is not SQUARED
    heur = np.empty(len(combos))
    for k, combo in enumerate(combos):
        heur[k] = lower_bound(design(X1, masks[list(combo)], None, output_bias), y, SQUARED)
    order = np.argsort(heur, kind="stable")

    best = (math.inf, None, None, None, math.inf)
    n_qps = 0
    n_bounds = 0 if lazy else len(combos)
    n_guesses = 0
    all_ok = True
    stopped = False
    for k in order:
        combo = combos[k]
        sign_list = _sign_vectors(combo, full, output_bias)
        n_guesses += len(sign_list)
        if stopped or best[0] <= lossf.floor + 1e-12:
            continue
        A0 = design(X1, masks[list(combo)], None, output_bias)
        if lazy:
            bound = lower_bound(A0, y, lossf)
            n_bounds += 1
        else:
            bound = heur[k]
        if bound >= best[0] - 1e-12 * (1.0 + abs(best[0])):
            continue
        G = constraints(X1, masks[list(combo)], A0.shape[1])
        th0 = np.concatenate([wit[c] for c in combo] + ([np.zeros(1)] if output_bias else []))
        for s in sign_list:
            if bound >= best[0] - 1e-12 * (1.0 + abs(best[0])):
                break
            A = A0 * np.concatenate([np.repeat(s, q), [1.0] if output_bias else []])
            th, val, kkt, conv = solve_pattern(A, y, G, th0, lossf)
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
    return ERMResult(
        loss=float(val),
        mse=float(val) / D,
        weights=Wb[:, :n].copy(),
        biases=Wb[:, n].copy(),
        signs=np.asarray(s, dtype=float),
        out_bias=c,
        patterns=masks[list(combo)].copy(),
        n_qps=n_qps,
        n_bounds=n_bounds,
        n_guesses=n_guesses,
        n_dichotomies=n_dich,
        kkt_residual=float(kkt),
        certified=bool(all_ok and not stopped),
        seconds=time.perf_counter() - t0,
        loss_name=lossf.name,
    )


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
