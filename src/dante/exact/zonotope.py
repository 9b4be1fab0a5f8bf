"""``R^n -> R`` constructions of Ch. 2 of the Mukherjee thesis, and piece counting.

``003_a707f9d83869f5a2.txt``:

* **Theorem 2.2.1** (constructive part). The proof writes a PWL function as
  ``f = sum_j s_j max_{i in S_j} l_i`` with ``|S_j| <= n + 1`` (eq. (2.1), the
  representation of Wang and Sun 2005, Theorem 1, whose *existence* the
  thesis cites), and builds each max by the pairwise tree of Lemma 2.A.4
  (``ceil(log2(n + 1))`` hidden layers) and the sum by Lemma 2.A.3: depth
  ``ceil(log2(n + 1)) + 1``. :func:`wang_sun_net` is that construction, from
  the affine maps, the index sets and the signs. :func:`lattice_net` builds the
  other standard representation, the max-min (lattice) form
  ``f = max_j min_{i in T_j} l_i`` (every PWL function has one, with the
  ``l_i`` its affine pieces), with depth ``ceil(log2 max|T_j|) +
  ceil(log2 #groups) + 1``; turning a lattice form into form (2.1) is the
  non-constructive step and is not attempted.
* **Lemma 2.3.8** (:func:`zonotope_support_net`): the support function
  ``gamma_Z(r) = sum_i |<r, b_i>|`` of the zonotope ``Z(b_1, ..., b_m)`` by
  ``2 m`` units; **Proposition 2.3.9 / Theorem 2.3.10** (:func:`zonotope_net`):
  ``ZONOTOPE^n_{k,w,m} = H_{a^1..a^k} o gamma_Z``, depth ``k + 2``, size ``2m + wk``.
* **Piece counts** (Definition 3: maximal connected sets on which ``f`` is
  affine). :func:`zonotope_piece_counts` gives the printed counts and the
  corrected one; :mod:`dante.exact.pieces` counts the pieces of any
  ``R^2 -> R`` (or ``R -> R``) ReLU net on a grid.

The printed count. A zonotope with ``m`` generators in general position in
``R^n`` has ``2 sum_{i=0}^{n-1} binom(m-1, i)`` vertices (Ziegler 1995, Cor.
7.18; e.g. the square ``Z(e_1, e_2)`` has 4), twice what Theorem 2.3.7 (1) and
Definition 8 print; Proposition 2.3.9 prints yet another number,
``(m-1)^{n-1} w^k``. Since ``gamma_Z`` is linear on each of the ``V`` normal cones
and ``H`` has ``w^k`` pieces on ``[0, M]`` (Lemma 2.3.5; for
``a^l in Delta_M^{w-1}``), ``f`` has ``V w^k`` pieces meeting ``{gamma_Z < M}``
(each cone times each piece of ``H``; the slopes of ``H`` there are nonzero, so
all are distinct affine maps). ``h_a`` has no breakpoint at ``M`` (its last
piece continues), so beyond ``M`` the last pieces continue, except when ``w`` is
even and ``k >= 2``: then ``h_{a^1}`` is negative beyond ``M``, ``H = 0`` there,
one more piece (connected for ``n >= 2``; two rays for ``n = 1``). Corrected
count: ``V w^k + c 1{w even, k >= 2}`` with ``c = 1`` (``n >= 2``) or ``2`` (``n = 1``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .pwl import ReLUNet, hard_function_net

__all__ = [
    "lattice_eval",
    "lattice_net",
    "thm221_depth",
    "wang_sun_eval",
    "wang_sun_net",
    "zonotope_net",
    "zonotope_piece_counts",
    "zonotope_support_net",
]


# ------------------------------------------------------------ max/min trees


class _Builder:
    """Layers under construction; the current values are ``L h + l`` (``h`` the
    last hidden layer's output, or ``x`` before the first layer)."""

    def __init__(self, A: np.ndarray, c: np.ndarray) -> None:
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        self.L, self.lv = A.astype(np.float64), c.astype(np.float64)

    def max_groups(self, groups: list[list[int]], force_layer: bool = False) -> None:
        """Replace the values by one per group, the max over the group (Lemma 2.A.4):
        pairs by ``max(u, v) = (u+v)/2 + |u-v|/2`` (4 units), the odd one carried
        by ``relu(u) - relu(-u)`` (2 units, Lemma 2.A.5); all groups in lockstep."""
        cur = [list(g) for g in groups]
        while any(len(g) > 1 for g in cur) or (force_layer and not self.weights):
            rows, offs, outs, new = [], [], [], []
            for g in cur:
                ng = []
                for i in range(0, len(g) - 1, 2):
                    u, v = g[i], g[i + 1]
                    lu, ou, lw, ow = self.L[u], self.lv[u], self.L[v], self.lv[v]
                    base = len(rows)
                    rows += [lu + lw, -lu - lw, lu - lw, lw - lu]
                    offs += [ou + ow, -ou - ow, ou - ow, ow - ou]
                    ng.append(len(outs))
                    outs.append((base, np.array([0.5, -0.5, 0.5, 0.5])))
                if len(g) % 2 == 1:
                    u = g[-1]
                    base = len(rows)
                    rows += [self.L[u], -self.L[u]]
                    offs += [self.lv[u], -self.lv[u]]
                    ng.append(len(outs))
                    outs.append((base, np.array([1.0, -1.0])))
                new.append(ng)
            self.weights.append(np.array(rows))
            self.biases.append(np.array(offs))
            L = np.zeros((len(outs), len(rows)))
            for j, (base, coef) in enumerate(outs):
                L[j, base : base + coef.size] = coef
            self.L, self.lv = L, np.zeros(len(outs))
            cur = new
            force_layer = False
        idx = [g[0] for g in cur]
        self.L, self.lv = self.L[idx], self.lv[idx]

    def negate(self) -> None:
        self.L, self.lv = -self.L, -self.lv

    def net(self, coef: np.ndarray) -> ReLUNet:
        return ReLUNet(self.weights, self.biases, coef @ self.L, float(coef @ self.lv))


def _check_affine(alpha, beta) -> tuple[np.ndarray, np.ndarray]:
    A = np.asarray(alpha, dtype=np.float64)
    if A.ndim == 1:
        A = A[:, None]
    c = np.asarray(beta, dtype=np.float64).reshape(-1)
    if A.ndim != 2 or A.shape[0] != c.size or c.size < 1:
        raise ValueError(f"alpha must be (K, n) and beta (K,), got {A.shape}, {c.shape}")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(c))):
        raise ValueError("alpha and beta must be finite")
    return A, c


def _check_groups(groups: Sequence[Sequence[int]], K: int) -> list[list[int]]:
    out = [[int(i) for i in g] for g in groups]
    if not out or any(not g for g in out) or any(i < 0 or i >= K for g in out for i in g):
        raise ValueError(f"groups must be non-empty lists of indices in [0, {K})")
    return out


def thm221_depth(n: int) -> int:
    """Theorem 2.2.1's depth bound ``ceil(log2(n + 1)) + 1`` for ``R^n -> R``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return math.ceil(math.log2(n + 1)) + 1


def wang_sun_eval(x, alpha, beta, groups, signs) -> np.ndarray:
    """Reference value of ``f = sum_j s_j max_{i in S_j} (alpha_i . x + beta_i)``."""
    A, c = _check_affine(alpha, beta)
    X = np.asarray(x, dtype=np.float64).reshape(-1, A.shape[1])
    Lx = X @ A.T + c
    return sum(float(s) * Lx[:, g].max(axis=1) for s, g in zip(signs, groups))


def wang_sun_net(alpha, beta, groups, signs) -> ReLUNet:
    """Theorem 2.2.1's net for ``f = sum_j s_j max_{i in S_j} l_i`` (eq. (2.1) of ``003``).

    Parameters
    ----------
    alpha : array-like (K, n), beta : array-like (K,)
        The affine maps ``l_i(x) = alpha_i . x + beta_i``.
    groups : sequence of index lists
        ``S_1, ..., S_p``; (2.1) has ``|S_j| <= n + 1``, which gives the depth
        ``ceil(log2(n + 1)) + 1`` (:func:`thm221_depth`); larger sets are
        allowed (depth ``ceil(log2 max|S_j|) + 1``).
    signs : sequence of float
        ``s_j`` (``+-1`` in (2.1); any reals are accepted).

    Returns
    -------
    ReLUNet
        ``ceil(log2 max_j |S_j|)`` hidden layers (at least 1), all maxima in
        parallel (Lemma 2.A.3), ``4`` units per pair and ``2`` per carried value.
    """
    A, c = _check_affine(alpha, beta)
    gs = _check_groups(groups, c.size)
    s = np.asarray(signs, dtype=np.float64).reshape(-1)
    if s.size != len(gs):
        raise ValueError(f"need one sign per group: {s.size} signs, {len(gs)} groups")
    b = _Builder(A, c)
    b.max_groups(gs, force_layer=True)
    return b.net(s)


def lattice_eval(x, alpha, beta, groups) -> np.ndarray:
    """Reference value of ``f = max_j min_{i in T_j} (alpha_i . x + beta_i)``."""
    A, c = _check_affine(alpha, beta)
    X = np.asarray(x, dtype=np.float64).reshape(-1, A.shape[1])
    Lx = X @ A.T + c
    return np.max(np.stack([Lx[:, g].min(axis=1) for g in groups], axis=1), axis=1)


def lattice_net(alpha, beta, groups) -> ReLUNet:
    """The max-min (lattice) form ``max_j min_{i in T_j} l_i`` as a ReLU net.

    ``min = -max(-.)``: the min trees of all groups run in parallel
    (``ceil(log2 max|T_j|)`` hidden layers), then one max tree over the groups
    (``ceil(log2 #groups)`` more), by Lemma 2.A.4 of ``003_a707f9d83869f5a2.txt``.
    """
    A, c = _check_affine(alpha, beta)
    gs = _check_groups(groups, c.size)
    b = _Builder(-A, -c)
    b.max_groups(gs, force_layer=True)
    b.negate()
    b.max_groups([list(range(len(gs)))])
    return b.net(np.ones(1))


# ---------------------------------------------------------------- zonotopes


def _check_generators(B) -> np.ndarray:
    B = np.asarray(B, dtype=np.float64)
    if B.ndim == 1:
        B = B[:, None]
    if B.ndim != 2 or B.shape[0] < 1 or not np.all(np.isfinite(B)):
        raise ValueError(f"generators must be a finite (m, n) array, got shape {B.shape}")
    return B


def zonotope_support_net(B) -> ReLUNet:
    """``gamma_Z(r) = sum_i |<r, b_i>|`` by ``2 m`` units (Lemma 2.3.8 of ``003``).

    ``B`` has the generators ``b_1, ..., b_m`` as rows, shape ``(m, n)``;
    ``|t| = relu(t) + relu(-t)``.
    """
    B = _check_generators(B)
    return ReLUNet([np.vstack([B, -B])], [np.zeros(2 * B.shape[0])], np.ones(2 * B.shape[0]), 0.0)


def zonotope_net(a_list: Sequence[Sequence[float]], B, M: float = 1.0) -> ReLUNet:
    """``ZONOTOPE^n_{k,w,m}[a^1..a^k, b^1..b^m] = H_{a^1..a^k} o gamma_Z`` (Prop. 2.3.9).

    ``a^l in Delta_M^{w-1}`` (``0 < a_1 < ... < a_{w-1} < M``); ``B`` of shape
    ``(m, n)``. Depth ``k + 2`` and size ``2m + wk`` (Lemmas 2.3.8 and 2.A.2;
    ``H`` from :func:`dante.exact.pwl.hard_function_net`, ``w`` units per layer).
    """
    B = _check_generators(B)
    H = hard_function_net(a_list, M)
    g = zonotope_support_net(B)
    W1 = H.weights[0] @ g.out_weight[None, :]  # (w, 2m): H's first layer on gamma
    return ReLUNet(
        [g.weights[0], W1, *H.weights[1:]],
        [g.biases[0], H.biases[0] + H.weights[0][:, 0] * g.out_bias, *H.biases[1:]],
        H.out_weight.copy(),
        H.out_bias,
    )


def zonotope_piece_counts(n: int, m: int, w: int, k: int) -> dict[str, int]:
    """Piece counts of ``ZONOTOPE^n_{k,w,m}`` for generators in general position.

    Returns
    -------
    dict
        ``thm_2_3_10``: the printed ``(sum_{i<n} binom(m-1, i)) w^k``;
        ``prop_2_3_9``: the printed ``(m-1)^{n-1} w^k``; ``vertices``: the true
        vertex count ``V = 2 sum_{i<n} binom(m-1, i)``; ``inner``: ``V w^k``
        (the pieces meeting ``{gamma < M}``); ``outer``: further pieces (the
        region ``{gamma >= M}`` where ``H = 0`` when ``w`` is even and
        ``k >= 2``: 1 piece for ``n >= 2``, 2 rays for ``n = 1``; else 0); ``total``.
    """
    for name, v, lo in (("n", n, 1), ("m", m, 1), ("w", w, 2), ("k", k, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    s = sum(math.comb(m - 1, i) for i in range(n))
    V = 2 * s
    outer = (2 if n == 1 else 1) if (w % 2 == 0 and k >= 2) else 0
    return {
        "thm_2_3_10": s * w**k,
        "prop_2_3_9": (m - 1) ** (n - 1) * w**k,
        "vertices": V,
        "inner": V * w**k,
        "outer": outer,
        "total": V * w**k + outer,
    }
