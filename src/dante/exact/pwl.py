"""Exact ReLU constructions of Chapter 2 of the Mukherjee thesis.

Everything here is a *closed-form* network, useful as an exact teacher or a
test oracle (``003_a707f9d83869f5a2.txt``, Ch. 2 and Appendix 2.A):

* :func:`pwl_to_relu` -- a continuous ``p``-piece function ``R -> R`` as a
  2-layer ReLU net with ``<= p`` hidden units (Theorem 2.2.2; ``p - 1`` units
  when an end slope is 0, Corollary 2.A.1). The thesis prints the
  back-substitution equations as ``b_i = sum_{j>i} t_j (a_{j-1} - a_j)``; the
  flap ``g_j(x) = t_j (x - a_j)`` (``x <= a_j``) evaluated at ``a_i`` gives
  ``t_j (a_i - a_j)``, which is what is solved here (``docs/ERRATA.md``, sec. 6).
* :func:`max_affine_net` -- ``max_i (alpha_i . x + beta_i)`` by the pairwise
  tree of Lemma 2.A.4, ``max(u, v) = (u+v)/2 + |u-v|/2`` with 4 units per pair.
* :func:`hard_function_net` / :func:`sawtooth_net` -- the composed functions
  ``H = h_a o ... o h_a`` of Definition 5 / Lemma 2.3.5 / Theorem 2.3.6 (the
  sawtooth ``s_{w^k}`` with ``w^k`` pieces on ``[0, 1]``); ``w = 2`` is the
  tent map composed ``k`` times (``2^k`` pieces on ``[0, 1]``).
* :func:`count_pieces` -- exact number of affine pieces of an ``R -> R`` ReLU
  net, by propagating the breakpoints layer by layer; :func:`piece_bound` --
  Lemma 2.A.6's ``2^{k-1} (w_1 + 1) w_2 ... w_k``.

Networks are :class:`ReLUNet`: hidden layers ``h_l = relu(W_l h_{l-1} + b_l)``
and a linear output ``v . h_k + c`` (numpy float64), convertible to a
:class:`dante.MLP` with ``activation="relu"`` and ``output_activation="identity"``
by :meth:`ReLUNet.to_mlp`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ReLUNet",
    "count_pieces",
    "hard_function_net",
    "max_affine_net",
    "piece_bound",
    "pwl_eval",
    "pwl_to_relu",
    "random_relu_net",
    "sawtooth_net",
]


@dataclass
class ReLUNet:
    """A feed-forward ReLU net ``x -> v . relu(W_k ... relu(W_1 x + b_1) ... + b_k) + c``.

    Attributes
    ----------
    weights : list of ndarray
        ``W_l`` of shape ``(w_l, w_{l-1})`` (``w_0`` = input dimension).
    biases : list of ndarray
        ``b_l`` of shape ``(w_l,)``.
    out_weight : ndarray of shape (w_k,)
    out_bias : float
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    out_weight: np.ndarray
    out_bias: float

    @property
    def widths(self) -> list[int]:
        """Hidden widths ``w_1, ..., w_k``."""
        return [int(W.shape[0]) for W in self.weights]

    @property
    def in_features(self) -> int:
        return int(self.weights[0].shape[1])

    @property
    def size(self) -> int:
        """Number of hidden units (the thesis' *size*)."""
        return int(sum(self.widths))

    @property
    def depth(self) -> int:
        """Number of layers ``k + 1`` (hidden layers plus the output)."""
        return len(self.weights) + 1

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate on ``x`` of shape ``(N,)`` (1-D input) or ``(N, n)``; returns ``(N,)``."""
        h = np.asarray(x, dtype=np.float64)
        if h.ndim == 1:
            h = h[:, None]
        if h.ndim != 2 or h.shape[1] != self.in_features:
            raise ValueError(
                f"x must have shape (N, {self.in_features}) (or (N,) for 1-D input), "
                f"got {np.shape(x)}"
            )
        for W, b in zip(self.weights, self.biases):
            h = np.maximum(h @ W.T + b, 0.0)
        return h @ self.out_weight + self.out_bias

    def to_mlp(self, dtype=None):
        """The same function as a :class:`dante.MLP` (ReLU hidden, identity output).

        Parameters
        ----------
        dtype : torch.dtype, default=torch.float64
        """
        import torch

        from ..models import MLP

        dtype = torch.float64 if dtype is None else dtype
        sizes = [self.in_features, *self.widths, 1]
        net = MLP(sizes, activation="relu", output_activation="identity", seed=0).to(dtype)
        mats = [*self.weights, self.out_weight[None, :]]
        vecs = [*self.biases, np.array([self.out_bias])]
        with torch.no_grad():
            for layer, W, b in zip(net.layers, mats, vecs):
                layer.linear.weight.copy_(torch.as_tensor(W, dtype=dtype))
                layer.linear.bias.copy_(torch.as_tensor(b, dtype=dtype))
        return net


def _as_1d(a, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _check_pwl(breakpoints, values, slope_left, slope_right):
    a = _as_1d(breakpoints, "breakpoints")
    b = _as_1d(values, "values")
    if a.size < 1:
        raise ValueError("breakpoints must hold at least one point (a p-piece function, p >= 2)")
    if b.shape != a.shape:
        raise ValueError(
            f"values must have one entry per breakpoint: got {b.size} values, {a.size} breakpoints"
        )
    if np.any(np.diff(a) <= 0):
        raise ValueError("breakpoints must be strictly increasing; sort them and drop duplicates")
    sl, sr = float(slope_left), float(slope_right)
    if not (math.isfinite(sl) and math.isfinite(sr)):
        raise ValueError("slope_left and slope_right must be finite")
    return a, b, sl, sr


def pwl_eval(x, breakpoints, values, slope_left: float, slope_right: float) -> np.ndarray:
    """Evaluate the continuous PWL function given by breakpoints, values and end slopes.

    The reference evaluator (linear interpolation between the breakpoints,
    linear continuation with the end slopes) used to test :func:`pwl_to_relu`.
    """
    a, b, sl, sr = _check_pwl(breakpoints, values, slope_left, slope_right)
    x = np.asarray(x, dtype=np.float64)
    out = np.interp(x, a, b)
    out = np.where(x < a[0], b[0] + sl * (x - a[0]), out)
    return np.where(x > a[-1], b[-1] + sr * (x - a[-1]), out)


def _flaps(a: np.ndarray, b: np.ndarray, sl: float, sr: float) -> ReLUNet:
    """Theorem 2.2.2's flap decomposition, left flaps ``g_j`` + right flap ``f``."""
    m1 = a.size  # m - 1 breakpoints
    c = b[-1]
    bs = b - c  # value 0 at the last breakpoint (the output bias carries c)
    t = np.zeros(m1)
    # b_i = sum_{j > i} t_j (a_i - a_j), i = m-2, ..., 1 (0-based: i = m1-2, ..., 0)
    for i in range(m1 - 2, -1, -1):
        rest = float(np.dot(t[i + 2 :], a[i] - a[i + 2 :]))
        t[i + 1] = (bs[i] - rest) / (a[i] - a[i + 1])
    t[0] = sl - t[1:].sum()
    # g_j(x) = t_j (x - a_j) for x <= a_j  ==  -t_j relu(a_j - x)
    w = [-np.ones(m1)]
    bias = [a.copy()]
    v = [-t]
    if sr != 0.0:  # f(x) = s_R relu(x - a_{m-1})
        w.append(np.ones(1))
        bias.append(np.array([-a[-1]]))
        v.append(np.array([sr]))
    W1 = np.concatenate(w)[:, None]
    return ReLUNet([W1], [np.concatenate(bias)], np.concatenate(v), float(c))


def pwl_to_relu(breakpoints, values, slope_left: float, slope_right: float) -> ReLUNet:
    """A continuous ``p``-piece PWL function ``R -> R`` as a 2-layer ReLU net.

    Theorem 2.2.2 and Corollary 2.A.1 of ``003_a707f9d83869f5a2.txt``
    (Appendix 2.A). With ``p - 1`` breakpoints ``a_1 < ... < a_{p-1}`` and
    values ``h(a_i) = b_i``, ``h = c + f + g_1 + ... + g_{p-1}`` with
    ``c = b_{p-1}``, the right flap ``f = s_R relu(x - a_{p-1})`` and the left
    flaps ``g_j = -t_j relu(a_j - x)``; the ``t_j`` solve
    ``b_i - c = sum_{j>i} t_j (a_i - a_j)`` by back-substitution (the corrected
    factor ``(a_i - a_j)``; the thesis prints ``(a_{j-1} - a_j)``) and
    ``t_1 + ... + t_{p-1} = s_L``.

    Size: ``p`` units; ``p - 1`` when ``slope_right == 0`` (``f`` dropped) or
    ``slope_left == 0`` (the construction applied to ``x -> h(-x)`` and
    mirrored), as in Corollary 2.A.1. A zero slope on a piece is allowed; the
    number of *distinct* pieces may then be smaller than ``p``.

    Parameters
    ----------
    breakpoints : array-like of shape (p-1,)
        Strictly increasing, at least one.
    values : array-like of shape (p-1,)
        ``h`` at the breakpoints.
    slope_left, slope_right : float
        Slopes of the leftmost and rightmost pieces.

    Returns
    -------
    ReLUNet
        One hidden layer of ``<= p`` units.
    """
    a, b, sl, sr = _check_pwl(breakpoints, values, slope_left, slope_right)
    if sl == 0.0 and sr != 0.0:
        # mirror: h~(x) = h(-x) has breakpoints -a (reversed), slopes (-s_R, -s_L = 0)
        net = _flaps(-a[::-1], b[::-1].copy(), -sr, -sl)
        net.weights[0] = -net.weights[0]
        return net
    return _flaps(a, b, sl, sr)


def max_affine_net(alpha, beta) -> ReLUNet:
    """``x -> max_i (alpha_i . x + beta_i)`` as a ReLU net (Lemma 2.A.4).

    The pairwise tree of Lemma 2.A.4 in ``003_a707f9d83869f5a2.txt``: each
    level replaces a pair ``(u, v)`` by ``max(u, v) = (u+v)/2 + |u-v|/2``,
    computed by 4 units ``relu(u+v), relu(-u-v), relu(u-v), relu(v-u)``; an odd
    one out is carried through 2 units ``relu(u), relu(-u)`` (Lemma 2.A.5). The
    net has ``ceil(log2 k)`` hidden layers (1 when ``k = 1``: an affine map
    needs 2 units).

    Parameters
    ----------
    alpha : array-like of shape (k, n)
    beta : array-like of shape (k,)
    """
    A = np.asarray(alpha, dtype=np.float64)
    if A.ndim == 1:
        A = A[:, None]
    c = _as_1d(beta, "beta")
    if A.ndim != 2 or A.shape[0] != c.size or c.size < 1:
        raise ValueError(
            f"alpha must have shape (k, n) and beta shape (k,), k >= 1; got {A.shape}, {c.shape}"
        )
    if not np.all(np.isfinite(A)):
        raise ValueError("alpha must be finite")
    # current values as affine maps of the previous layer's output: L h + l
    L, lv = A, c
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    while True:
        k = L.shape[0]
        rows, offs, outs = [], [], []  # next-layer pre-activations; output map per value
        for i in range(0, k - 1, 2):
            u, ub, v, vb = L[i], lv[i], L[i + 1], lv[i + 1]
            base = len(rows)
            rows += [u + v, -u - v, u - v, v - u]
            offs += [ub + vb, -ub - vb, ub - vb, vb - ub]
            outs.append((base, np.array([0.5, -0.5, 0.5, 0.5])))
        if k % 2 == 1:
            u, ub = L[-1], lv[-1]
            base = len(rows)
            rows += [u, -u]
            offs += [ub, -ub]
            outs.append((base, np.array([1.0, -1.0])))
        weights.append(np.array(rows))
        biases.append(np.array(offs))
        width = len(rows)
        newL = np.zeros((len(outs), width))
        for j, (base, coef) in enumerate(outs):
            newL[j, base : base + coef.size] = coef
        L, lv = newL, np.zeros(len(outs))
        if len(outs) == 1:
            return ReLUNet(weights, biases, L[0], 0.0)


def hard_function_net(a_list: Sequence[Sequence[float]], M: float = 1.0) -> ReLUNet:
    """``H = h_{a^k} o ... o h_{a^1}`` of Definition 5 as a ``(k+1)``-layer ReLU net.

    ``h_a`` (``a in Delta_M^p``, ``0 < a_1 < ... < a_p < M``) is 0 for
    ``x <= 0``, ``h_a(a_i) = M (i mod 2)``, ``h_a(M) = M - h_a(a_p)``, linear
    beyond ``a_p``; ``p + 2`` pieces, leftmost slope 0, so ``p + 1`` units by
    Corollary 2.A.1, and the composition (Lemma 2.A.2) has width ``p + 1`` in
    every hidden layer (proof of Theorem 2.3.2, ``003_a707f9d83869f5a2.txt``).
    By Lemma 2.3.5 ``H`` has ``prod_l (p_l + 1)`` pieces on ``[0, M]``.
    """
    if not isinstance(M, (int, float)) or not M > 0:
        raise ValueError(f"M must be a positive number, got {M!r}")
    if len(a_list) < 1:
        raise ValueError("a_list must hold at least one vector a (k >= 1)")
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    prev_v: np.ndarray | None = None
    prev_c = 0.0
    for a in a_list:
        a = _as_1d(a, "a_list[i]")
        if a.size < 1 or np.any(np.diff(a) <= 0) or a[0] <= 0 or a[-1] >= M:
            raise ValueError(f"each a must satisfy 0 < a_1 < ... < a_p < M={M}, got {a}")
        p = a.size
        vals = M * (np.arange(1, p + 1) % 2)
        bp = np.concatenate([[0.0], a])
        bv = np.concatenate([[0.0], vals])
        sr = ((M - vals[-1]) - vals[-1]) / (M - a[-1])
        block = pwl_to_relu(bp, bv, 0.0, sr)
        W, b = block.weights[0], block.biases[0]
        if prev_v is None:
            weights.append(W)
            biases.append(b)
        else:  # compose: pre-activation = W (prev_v . h + prev_c) + b
            weights.append(W @ prev_v[None, :])
            biases.append(W[:, 0] * prev_c + b)
        prev_v, prev_c = block.out_weight, block.out_bias
    assert prev_v is not None
    return ReLUNet(weights, biases, prev_v, float(prev_c))


def sawtooth_net(k: int, w: int = 2) -> ReLUNet:
    """The sawtooth ``s_{w^k}`` of Theorem 2.3.6: ``h_a`` composed ``k`` times,
    ``a = (1/w, ..., (w-1)/w)``, ``M = 1``.

    ``w^k`` pieces on ``[0, 1]`` (``2^k`` for the tent map, ``w = 2``), each
    rising or falling between 0 and 1, from a net of ``k`` hidden layers of
    width ``w`` (``003_a707f9d83869f5a2.txt``, Theorem 2.3.6, Lemma 2.3.5).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if isinstance(w, bool) or not isinstance(w, int) or w < 2:
        raise ValueError(f"w must be an int >= 2, got {w!r}")
    a = np.arange(1, w) / w
    return hard_function_net([a] * k, M=1.0)


def piece_bound(widths: Sequence[int]) -> int:
    """Lemma 2.A.6: an ``R -> R`` ReLU net with hidden widths ``w_1..w_k`` has
    at most ``2^{k-1} (w_1 + 1) w_2 ... w_k`` pieces (``003_a707f9d83869f5a2.txt``).

    (Counting the breakpoints added per layer gives the tighter
    ``prod_l (w_l + 1)``, which is ``<=`` this since ``w + 1 <= 2 w``.)
    """
    ws = list(widths)
    if not ws or any(
        isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1 for x in ws
    ):
        raise ValueError(f"widths must be a non-empty list of positive ints, got {widths!r}")
    out = 2 ** (len(ws) - 1) * (int(ws[0]) + 1)
    for x in ws[1:]:
        out *= int(x)
    return int(out)


def count_pieces(
    net: ReLUNet, *, interval: tuple[float, float] | None = None, rtol: float = 1e-9
) -> int:
    """Exact number of affine pieces of an ``R -> R`` ReLU net.

    Walks the layers keeping the sorted set of breakpoints of all units so
    far; on each interval between breakpoints every unit is affine
    (slope/intercept computed exactly by composing the affine maps), so each
    unit adds at most one zero crossing per interval. At the end adjacent
    intervals whose output slopes agree (within ``rtol`` relative) are merged:
    a breakpoint of a unit need not be one of the output.

    Parameters
    ----------
    net : ReLUNet
        With one input.
    interval : (lo, hi), optional
        Count only the pieces meeting the open interval ``(lo, hi)``; default
        the whole line.
    rtol : float, default=1e-9
        Relative tolerance on the slope when merging pieces.
    """
    if not isinstance(net, ReLUNet):
        raise TypeError(f"net must be a ReLUNet, got {type(net).__name__}")
    if net.in_features != 1:
        raise ValueError(f"count_pieces needs an R -> R net, got input dimension {net.in_features}")
    bps = np.zeros(0)

    def probes(points: np.ndarray) -> np.ndarray:
        if points.size == 0:
            return np.array([0.0])
        mids = (points[:-1] + points[1:]) / 2
        span = max(1.0, float(points[-1] - points[0]))
        return np.concatenate([[points[0] - span], mids, [points[-1] + span]])

    def lo_bound(pts: np.ndarray) -> np.ndarray:
        return np.concatenate([[-np.inf], pts])

    def hi_bound(pts: np.ndarray) -> np.ndarray:
        return np.concatenate([pts, [np.inf]])

    for layer in range(len(net.weights)):
        W, b = net.weights[layer], net.biases[layer]
        lo, hi = lo_bound(bps), hi_bound(bps)
        new = [bps]
        for k, x in enumerate(probes(bps)):
            s, i0 = _hidden_affine(net, layer, float(x))
            zs, zi = W @ s, W @ i0 + b  # pre-activations are affine on this interval
            nz = zs != 0
            roots = -zi[nz] / zs[nz]
            new.append(roots[(roots > lo[k]) & (roots < hi[k])])
        bps = np.unique(np.concatenate(new))  # float64 near-duplicates (< 1e-12) are one
        bps = bps[np.concatenate([[True], np.diff(bps) > 1e-12 * (1 + np.abs(bps[1:]))])]
    xs = probes(bps)
    slopes = np.array(
        [float(net.out_weight @ _hidden_affine(net, len(net.weights), float(x))[0]) for x in xs]
    )
    if interval is not None:
        lo_i, hi_i = float(interval[0]), float(interval[1])
        if not lo_i < hi_i:
            raise ValueError(f"interval must be (lo, hi) with lo < hi, got {interval!r}")
        keep = (hi_bound(bps) > lo_i) & (lo_bound(bps) < hi_i)
        slopes = slopes[keep]
    if slopes.size == 0:
        return 0
    scale = max(1.0, float(np.max(np.abs(slopes))))
    changes = np.abs(np.diff(slopes)) > rtol * scale
    return int(1 + np.count_nonzero(changes))


def _hidden_affine(net: ReLUNet, n_layers: int, x: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept, at ``x``, of the outputs of the first ``n_layers``
    hidden layers (exact composition of the locally active affine maps)."""
    s = np.ones(1)
    i0 = np.zeros(1)
    for W, b in zip(net.weights[:n_layers], net.biases[:n_layers]):
        zs = W @ s
        zi = W @ i0 + b
        on = (zs * x + zi) > 0
        s = np.where(on, zs, 0.0)
        i0 = np.where(on, zi, 0.0)
    return s, i0


def random_relu_net(widths: Sequence[int], seed: int = 0, n_in: int = 1) -> ReLUNet:
    """A ReLU net with Gaussian weights and biases (a test subject for the bounds)."""
    ws = [int(x) for x in widths]
    if not ws or min(ws) < 1:
        raise ValueError(f"widths must be a non-empty list of positive ints, got {widths!r}")
    rng = np.random.default_rng(seed)
    sizes = [n_in, *ws]
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(len(ws))]
    bs = [rng.standard_normal(sizes[i + 1]) for i in range(len(ws))]
    return ReLUNet(Ws, bs, rng.standard_normal(ws[-1]), float(rng.standard_normal()))
