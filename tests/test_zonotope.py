"""Ch. 2 of the thesis in ``R^n`` (``003_a707f9d83869f5a2.txt``): Theorem 2.2.1's nets,
the zonotope family of Lemma 2.3.8 / Proposition 2.3.9 / Theorem 2.3.10, and the
grid piece counter.

Oracles: the closed forms evaluated in numpy (exact construction equality),
the vertices of a zonotope by brute force over sign vectors, the exact 1-D
piece counter of :mod:`dante.exact.pwl`, and the region count of a line
arrangement.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dante.exact.pieces import (
    breakpoints_1d,
    count_pieces_grid,
    local_affine,
    zonotope_min_inradius,
)
from dante.exact.pwl import ReLUNet, count_pieces, hard_function_net
from dante.exact.zonotope import (
    lattice_eval,
    lattice_net,
    thm221_depth,
    wang_sun_eval,
    wang_sun_net,
    zonotope_net,
    zonotope_piece_counts,
    zonotope_support_net,
)

# ------------------------------------------------------------- Theorem 2.2.1


def _random_form(n: int, seed: int, p: int = 6):
    rng = np.random.default_rng(seed)
    K = 3 * (n + 1)
    alpha, beta = rng.normal(size=(K, n)), rng.normal(size=K)
    groups = [sorted(rng.choice(K, size=rng.integers(1, n + 2), replace=False)) for _ in range(p)]
    groups[0] = list(range(n + 1))  # one set of the largest size n + 1 allowed by (2.1)
    signs = rng.choice([-1.0, 1.0], size=p)
    return alpha, beta, groups, signs


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8])
def test_wang_sun_net_equals_form_at_depth_bound(n):
    alpha, beta, groups, signs = _random_form(n, seed=n)
    net = wang_sun_net(alpha, beta, groups, signs)
    assert net.depth == thm221_depth(n) == math.ceil(math.log2(n + 1)) + 1
    X = np.random.default_rng(100 + n).normal(scale=3.0, size=(10_000, n))
    f = wang_sun_eval(X, alpha, beta, groups, signs)
    # float64: the tree adds and halves O(log n) terms; 1e-9 relative is the brief's bar
    assert np.max(np.abs(net(X) - f)) <= 1e-9 * max(1.0, np.max(np.abs(f)))


@pytest.mark.parametrize(("n", "sizes"), [(2, (3, 1, 2)), (3, (4, 4, 2, 1, 3)), (5, (2, 6, 5))])
def test_lattice_net_equals_max_min_form(n, sizes):
    rng = np.random.default_rng(n)
    K = sum(sizes)
    alpha, beta = rng.normal(size=(K, n)), rng.normal(size=K)
    cuts = np.cumsum((0, *sizes))
    groups = [list(range(cuts[i], cuts[i + 1])) for i in range(len(sizes))]
    net = lattice_net(alpha, beta, groups)
    expect = math.ceil(math.log2(max(sizes))) + math.ceil(math.log2(len(sizes))) + 1
    assert net.depth == expect
    X = rng.normal(scale=2.0, size=(10_000, n))
    f = lattice_eval(X, alpha, beta, groups)
    assert np.max(np.abs(net(X) - f)) <= 1e-9 * max(1.0, np.max(np.abs(f)))


def test_form_argument_errors():
    with pytest.raises(ValueError, match="one sign per group"):
        wang_sun_net(np.eye(2), np.zeros(2), [[0, 1]], [1.0, -1.0])
    with pytest.raises(ValueError, match="groups"):
        lattice_net(np.eye(2), np.zeros(2), [[0, 2]])
    with pytest.raises(ValueError, match="n must be"):
        thm221_depth(0)


# --------------------------------------------------------------- zonotopes


#: Fig. 2.2 of ``003`` (middle, right): c^1..c^4
FIG22 = np.array([[0.25, 0.5], [-0.5, 0.0], [0.0, -0.25], [-0.25, -0.25]])


def _generators(m: int, n: int, seed: int) -> np.ndarray:
    if (m, n) == (4, 2):
        return FIG22.copy()
    return np.random.default_rng(seed).normal(size=(m, n))


@pytest.mark.parametrize(("m", "n"), [(2, 2), (4, 2), (3, 3), (5, 3)])
def test_support_net_is_abs_sum_and_max_over_vertices(m, n):
    """Theorem 2.3.7 (2)-(3) and Lemma 2.3.8: gamma_Z = sum |<r, b_i>| = max over the
    vertices; 2m units; the vertex count is 2 sum_{i<n} binom(m-1, i) (twice the printed)."""
    B = _generators(m, n, seed=m + 10 * n)
    net = zonotope_support_net(B)
    assert net.size == 2 * m and net.depth == 2
    R = np.random.default_rng(0).normal(size=(20_000, n))
    corners = np.array([s @ B for s in itertools.product((-1.0, 1.0), repeat=m)])
    ref = np.max(R @ corners.T, axis=1)
    np.testing.assert_allclose(net(R), np.abs(R @ B.T).sum(1), rtol=1e-12)
    np.testing.assert_allclose(net(R), ref, rtol=1e-12)
    # vertices: the corners that are the unique maximiser for some direction
    hit = np.unique(np.argmax(R @ corners.T, axis=1))
    counts = zonotope_piece_counts(n, m, 2, 1)
    # 20k random directions hit every normal cone of these generic zonotopes
    # (the smallest cone's solid angle is far above 1/20k for these seeds)
    assert hit.size == counts["vertices"] == 2 * sum(math.comb(m - 1, i) for i in range(n))
    assert counts["thm_2_3_10"] * 2 == counts["vertices"] * 2**1  # the printed count, halved


@pytest.mark.parametrize(
    ("m", "w", "k"), [(2, 2, 1), (2, 2, 2), (3, 2, 2), (3, 3, 1), (4, 2, 2), (2, 2, 3)]
)
def test_zonotope_net_size_depth_and_2d_grid_pieces(m, w, k):
    """Prop. 2.3.9 / Thm 2.3.10 (i): depth k + 2, size 2m + wk; the pieces counted on a
    grid equal the corrected count V w^k + 1{w even, k >= 2} (V = 2m in 2-D)."""
    B = _generators(m, 2, seed=7 * m + w + 100 * k)
    a = [np.arange(1, w) / w] * k
    net = zonotope_net(a, B)
    assert net.depth == k + 2 and net.size == 2 * m + w * k
    R = np.random.default_rng(1).normal(size=(2000, 2))
    H = hard_function_net(a, 1.0)
    np.testing.assert_allclose(net(R), H(np.abs(R @ B.T).sum(1)), rtol=1e-12, atol=1e-12)
    # box: {gamma <= 1} lies within radius 1 / min_{|u|=1} gamma(u); margin 1.5
    u = np.stack([np.cos(t := np.linspace(0, 2 * np.pi, 7201)), np.sin(t)], 1)
    box = 1.5 / np.abs(u @ B.T).sum(1).min()
    rho = zonotope_min_inradius(B, breakpoints_1d(H), 1.0, box)
    # spacing rho/2 < sqrt(2) rho: every piece holds a grid point (pieces.py docstring)
    got = count_pieces_grid(net, [-box, -box], [box, box], rho / 2)
    want = zonotope_piece_counts(2, m, w, k)
    assert got["pieces"] == want["total"] == 2 * m * w**k + (w % 2 == 0 and k >= 2)
    assert got["pieces"] != want["thm_2_3_10"]


@pytest.mark.parametrize(
    ("m", "w", "k"), [(1, 2, 1), (3, 2, 2), (2, 3, 2), (2, 4, 2), (3, 3, 2), (1, 4, 2)]
)
def test_zonotope_1d_exact_pieces(m, w, k):
    """n = 1: gamma = |r| sum |b_i| (V = 2); exact breakpoint propagation (the last two
    cells have breakpoints of two units equal up to float64 rounding: counted once)."""
    B = _generators(m, 1, seed=m + w + k)
    net = zonotope_net([np.arange(1, w) / w] * k, B)
    assert count_pieces(net) == zonotope_piece_counts(1, m, w, k)["total"]


def test_grid_counter_on_a_line_arrangement():
    """A one-hidden-layer net with 4 generic lines: 1 + 4 + 6 = 11 regions, each its own
    affine map (random output weights); all crossings lie inside the box."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(4, 2))
    b = rng.normal(size=4) * 0.5
    net = ReLUNet([W], [b], rng.normal(size=4), 0.0)
    cross = [np.linalg.solve(W[[i, j]], -b[[i, j]]) for i, j in itertools.combinations(range(4), 2)]
    box = 1.5 * np.abs(cross).max()
    got = count_pieces_grid(net, [-box, -box], [box, box], box / 400)
    assert got["pieces"] == 11
    g, c, _ = local_affine(net, np.array([[0.1, 0.2]]))
    assert abs(g[0] @ [0.1, 0.2] + c[0] - net(np.array([[0.1, 0.2]]))[0]) < 1e-12
