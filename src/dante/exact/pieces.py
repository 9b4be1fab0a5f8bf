"""Counting the pieces of ``R^n -> R`` ReLU nets (``n`` = 1, 2) on a grid.

Definition 3 of ``003_a707f9d83869f5a2.txt``: the number of pieces of a PWL
function is the number of maximal connected subsets on which it is affine.
:func:`count_pieces_grid` finds them on a grid from the exact local affine maps
(:func:`local_affine`); :func:`zonotope_min_inradius` gives the resolution
that provably sees every piece of a 2-D zonotope function
(:func:`dante.exact.zonotope.zonotope_net`): the smallest inradius of its
pieces, each the intersection of a normal cone of the zonotope with a slab
``t_j <= gamma_Z(r) <= t_{j+1}`` between consecutive breakpoints of ``H``.
:func:`breakpoints_1d` lists the breakpoints of an ``R -> R`` net exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .pwl import ReLUNet, _hidden_affine

__all__ = ["breakpoints_1d", "count_pieces_grid", "local_affine", "zonotope_min_inradius"]


def local_affine(net: ReLUNet, P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact local affine map of ``net`` at the points ``P`` (shape ``(N, n)``).

    Returns ``(grad, intercept, pattern)``: ``f(x) = grad . x + intercept`` on
    the activation region of each point (``grad`` ``(N, n)``), and the packed
    activation pattern (``(N, bytes)`` uint8) that identifies the region.
    """
    P = np.asarray(P, dtype=np.float64)
    if P.ndim == 1:
        P = P[:, None]
    h = P
    J = np.broadcast_to(np.eye(P.shape[1]), (P.shape[0], P.shape[1], P.shape[1]))
    bits = []
    for W, b in zip(net.weights, net.biases):
        z = h @ W.T + b
        on = z > 0
        bits.append(on)
        h = np.where(on, z, 0.0)
        J = on[:, :, None] * np.matmul(W, J)
    grad = np.matmul(net.out_weight, J)
    f = h @ net.out_weight + net.out_bias
    return grad, f - np.sum(grad * P, axis=1), np.packbits(np.hstack(bits), axis=1)


def count_pieces_grid(
    net: ReLUNet,
    lo: Sequence[float],
    hi: Sequence[float],
    spacing: float,
    *,
    atol: float = 1e-7,
    seg_samples: int = 400,
    max_points: int = 5_000_000,
) -> dict[str, int]:
    """Number of pieces of an ``R^n -> R`` net (``n`` = 1 or 2) seen on a grid.

    Grid points (spacing ``spacing`` in the box ``[lo, hi]``, offset by an
    irrational fraction of a cell so that no point falls on a region boundary
    of a net with simple coefficients) get their exact local affine map
    (:func:`local_affine`). Neighbours (4-neighbourhood) are joined when they
    share the activation pattern or, across patterns, when their affine maps
    agree within ``atol`` (relative to the map's size): the components are
    the maximal connected sets with one affine map (Definition 3 of ``003``).
    A thin part of a piece can cut its grid points into several components;
    components with the same affine map are then merged when the segment
    between them (``seg_samples`` points) stays on that map.

    Resolution. Every piece containing a disk of radius ``rho >= spacing /
    sqrt(2)`` inside the box contains a grid point, so a spacing below
    ``sqrt(2) rho_min`` sees every piece; the caller justifies ``spacing``
    (e.g. by the inradius of the pieces, as the ``zonotope`` study does).

    Returns
    -------
    dict
        ``pieces`` (after the merge), ``components`` (before it),
        ``patterns`` (distinct activation patterns seen), ``points``.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    lo_a, hi_a = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    n = lo_a.size
    if n not in (1, 2) or hi_a.shape != lo_a.shape or np.any(hi_a <= lo_a) or spacing <= 0:
        raise ValueError("need a 1-D or 2-D box lo < hi and a positive spacing")
    if net.in_features != n:
        raise ValueError(f"net has {net.in_features} inputs, box has {n} dimensions")
    n_pts = float(np.prod((hi_a - lo_a) / spacing + 1))
    if n_pts > max_points:
        raise ValueError(f"the grid would have {n_pts:.3g} points > max_points={max_points}")
    off = (math.sqrt(2) - 1) * 0.5 * spacing  # irrational shift of the grid
    axes = [np.arange(lo_a[d] + off, hi_a[d], spacing) for d in range(n)]
    shape = tuple(a.size for a in axes)
    P = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
    grad, icpt, pat = local_affine(net, P)
    aff = np.hstack([grad, icpt[:, None]])
    _, pid = np.unique(pat, axis=0, return_inverse=True)
    pid = pid.ravel()
    idx = np.arange(P.shape[0]).reshape(shape)
    src, dst = [], []
    for d in range(n):
        a = np.take(idx, np.arange(shape[d] - 1), axis=d).ravel()
        b = np.take(idx, np.arange(1, shape[d]), axis=d).ravel()
        src.append(a)
        dst.append(b)
    src_a, dst_a = np.concatenate(src), np.concatenate(dst)
    tol = atol * (1.0 + np.max(np.abs(aff), axis=1))
    same = (pid[src_a] == pid[dst_a]) | (
        np.max(np.abs(aff[src_a] - aff[dst_a]), axis=1) <= np.minimum(tol[src_a], tol[dst_a])
    )
    N = P.shape[0]
    g = coo_matrix((np.ones(int(same.sum())), (src_a[same], dst_a[same])), shape=(N, N))
    n_comp, lab = connected_components(g, directed=False)
    # merge components of the same affine map joined by a straight segment on that map
    first = np.full(n_comp, -1)
    first[lab[::-1]] = np.arange(N)[::-1]
    rep = aff[first]
    parent = list(range(n_comp))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    t = np.linspace(0.0, 1.0, seg_samples)[:, None]
    order = np.lexsort(rep.T[::-1])
    for ii in range(n_comp):
        i = order[ii]
        for jj in range(ii + 1, n_comp):
            j = order[jj]
            if np.max(np.abs(rep[j] - rep[i])) > atol * (1.0 + np.abs(rep[i]).max()):
                if rep[j][0] - rep[i][0] > atol * (1.0 + np.abs(rep[i]).max()):
                    break
                continue
            if find(i) == find(j):
                continue
            seg = P[first[i]] + t * (P[first[j]] - P[first[i]])
            gs, cs, _ = local_affine(net, seg)
            a2 = np.hstack([gs, cs[:, None]])
            if np.max(np.abs(a2 - rep[i])) <= atol * (1.0 + np.abs(rep[i]).max()):
                parent[find(j)] = find(i)
    pieces = len({find(i) for i in range(n_comp)})
    return {
        "pieces": pieces,
        "components": int(n_comp),
        "patterns": int(pid.max() + 1),
        "points": int(N),
    }


def breakpoints_1d(net: ReLUNet) -> np.ndarray:
    """All breakpoints of the units of an ``R -> R`` ReLU net, sorted (exact).

    Layer by layer, as :func:`dante.exact.pwl.count_pieces`: on each interval
    between the breakpoints found so far every unit is affine, so each unit
    adds at most one zero crossing per interval. A superset of the breakpoints
    of the output (a unit's kink need not show in the output).
    """
    if net.in_features != 1:
        raise ValueError(f"breakpoints_1d needs an R -> R net, got {net.in_features} inputs")
    bps = np.zeros(0)
    for layer in range(len(net.weights)):
        W, b = net.weights[layer], net.biases[layer]
        if bps.size:
            span = max(1.0, float(bps[-1] - bps[0]))
            probes = np.concatenate([[bps[0] - span], (bps[:-1] + bps[1:]) / 2, [bps[-1] + span]])
        else:
            probes = np.array([0.0])
        lo = np.concatenate([[-np.inf], bps])
        hi = np.concatenate([bps, [np.inf]])
        new = [bps]
        for k, x in enumerate(probes):
            s, i0 = _hidden_affine(net, layer, float(x))
            zs, zi = W @ s, W @ i0 + b
            nz = zs != 0
            roots = -zi[nz] / zs[nz]
            new.append(roots[(roots > lo[k]) & (roots < hi[k])])
        bps = np.unique(np.concatenate(new))  # float64 near-duplicates (< 1e-12) are one
        bps = bps[np.concatenate([[True], np.diff(bps) > 1e-12 * (1 + np.abs(bps[1:]))])]
    return bps


def zonotope_min_inradius(B: np.ndarray, t_breaks: np.ndarray, M: float, box: float) -> float:
    """Smallest inradius of the pieces of ``H o gamma_Z`` in ``[-box, box]^2`` (2-D).

    ``B`` (m, 2) generators; ``t_breaks`` the breakpoints of ``H`` (any
    superset, e.g. :func:`breakpoints_1d`; those in ``(0, M)`` are used, with
    ``0`` and ``M``). The pieces are ``{r : sigma_i <r, b_i> >= 0,
    t_j <= sigma . (B r) <= t_{j+1}}`` over the sign vectors ``sigma`` of the
    ``2m`` normal cones and consecutive ``t``'s, plus ``sigma . (B r) >= M``
    clipped to the box; each inradius is a Chebyshev-centre LP. A lower bound
    for merged pieces (a union has at least the inradius of its parts).
    """
    from scipy.optimize import linprog

    B = np.asarray(B, dtype=np.float64)
    if B.ndim != 2 or B.shape[1] != 2:
        raise ValueError(f"B must have shape (m, 2), got {B.shape}")
    ang = np.arctan2(B[:, 0], -B[:, 1])  # direction of the line <r, b_i> = 0
    rays = np.sort(np.concatenate([ang, ang + np.pi]) % (2 * np.pi))
    mids = (rays + np.diff(np.concatenate([rays, [rays[0] + 2 * np.pi]])) / 2) % (2 * np.pi)
    t = np.asarray(t_breaks, dtype=np.float64)
    t = np.unique(np.concatenate([[0.0, M], t[(t > 0) & (t < M)]]))
    box_rows = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    best = math.inf
    for th in mids:
        sig = np.sign(B @ np.array([np.cos(th), np.sin(th)]))
        g = sig @ B  # gamma(r) = g . r on this cone
        cone = -(sig[:, None] * B)  # -sigma_i b_i . r <= 0
        slabs = [(t[j], t[j + 1]) for j in range(t.size - 1)] + [(M, None)]
        for a, b in slabs:
            rows = [cone, -g[None, :], box_rows]
            rhs = [np.zeros(B.shape[0]), [-a], np.full(4, box)]
            if b is not None:
                rows.append(g[None, :])
                rhs.append([b])
            Aub = np.vstack(rows)
            bub = np.concatenate([np.asarray(r, dtype=float) for r in rhs])
            nrm = np.linalg.norm(Aub, axis=1)
            res = linprog(
                [0.0, 0.0, -1.0],
                A_ub=np.hstack([Aub, nrm[:, None]]),
                b_ub=bub,
                bounds=[(None, None), (None, None), (0, None)],
                method="highs",
            )
            if res.status == 0:
                best = min(best, float(res.x[2]))
    return best
