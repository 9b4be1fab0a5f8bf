"""Tests of the Ch. 6 PAC-Bayes bounds (``003``), their data and geometry.

The bounds are checked against hand computations written out step by step
with numpy for a depth-2 net (so ``e^(1/(d-1)) = e``, ``beta^(d-1) = beta``
are substituted by hand). The same float64 arithmetic in another order
agrees to ~1e-15 relative; ``rel=1e-10`` leaves room for that and nothing
else, so any wrong constant (a factor 2, ``e`` vs ``e^2``, ``gamma`` vs
``gamma/8``) fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dante.pac_bayes import (
    angle,
    beta,
    cluster_bound,
    cone_cluster,
    lambda_star,
    layer_geometry,
    margin_risk,
    nbs_bound,
    net_outputs,
    niceness,
    rejection_rule,
    two_clusters,
)
from dante.pac_bayes.train import glorot_init, train_adam

REL = 1e-10


@pytest.fixture
def tiny():
    """Depth 2, width 3: W1 (3x2), W2 (2x3); m = 200 points in R^2, 2 classes."""
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((3, 2))
    W2 = rng.standard_normal((2, 3))
    X = rng.uniform(-1, 1, (200, 2))
    y = rng.integers(0, 2, 200)
    return [W1, W2], X, y


def _hand_outputs(ws, X):
    W1, W2 = ws
    return np.maximum(X @ W1.T, 0) @ W2.T


def _hand_margin_loss(out, y, gamma):
    losses = []
    for o, t in zip(out, y, strict=True):
        other = o[1 - t]  # two classes: the max over i != y is the other output
        losses.append(1.0 if o[t] <= gamma + other else 0.0)
    return sum(losses) / len(losses)


def test_margin_risk_counts_ties_and_margins():
    out = np.array([[2.0, 1.0], [1.0, 2.0], [1.5, 1.4], [1.0, 0.9]])
    y = np.array([0, 0, 0, 0])
    # row 4: 1.0 <= 0.1 + 0.9 holds with equality at gamma = 0.1 (Def. 22 uses <=)
    assert margin_risk(out, y, 0.05) == pytest.approx(1 / 4)
    assert margin_risk(out, y, 0.1) == pytest.approx(3 / 4)
    assert margin_risk(out, y, 0.0) == pytest.approx(1 / 4)
    # three classes: the max runs over both other classes
    out3 = np.array([[1.0, 0.2, 0.95]])
    assert margin_risk(out3, np.array([0]), 0.04) == 0.0
    assert margin_risk(out3, np.array([0]), 0.06) == 1.0


def test_net_outputs_and_beta_by_hand(tiny):
    ws, X, _ = tiny
    np.testing.assert_allclose(net_outputs(ws, X), _hand_outputs(ws, X), rtol=1e-12)
    s1 = np.linalg.svd(ws[0], compute_uv=False)[0]
    s2 = np.linalg.svd(ws[1], compute_uv=False)[0]
    assert beta(ws) == pytest.approx(math.sqrt(s1 * s2), rel=REL)


def test_nbs_bound_equals_hand_computation(tiny):
    ws, X, y = tiny
    W1, W2 = ws
    gamma, B, m, h = 0.3, 1.5, 200, 3
    beta_ = math.sqrt(
        np.linalg.svd(W1, compute_uv=False)[0] * np.linalg.svd(W2, compute_uv=False)[0]
    )
    # Thm 6.1.3 at d = 2: exp(3 - 2/(d-1)) = e; K = ceil((sqrt(m-1) / (2e))^(1/2)) = 2
    K = math.ceil((math.sqrt(199) / (2 * math.e)) ** 0.5)
    assert K == 2
    lo = math.sqrt(gamma / (2 * B))
    hi = math.sqrt(math.sqrt(199) * gamma / (4 * math.e * B))
    grid = np.array([lo, hi])
    bt = grid[np.argmin(np.abs(grid - beta_))]
    # eq. (6.2): sigma = min{gamma / (4 e^2 B bt), bt / e} / (2 sqrt(2 * 3 * log(24)))
    sigma = min(gamma / (4 * math.e**2 * B * bt), bt / math.e) / (2 * math.sqrt(6 * math.log(24)))
    frob = np.sum(W1**2) + np.sum(W2**2)
    delta = 0.05 / K
    loss = _hand_margin_loss(_hand_outputs(ws, X), y, gamma / 2)
    expected = loss + math.sqrt((frob / (2 * sigma**2) + math.log(3 * m / delta)) / (m - 1))
    got = nbs_bound(ws, X, y, gamma, B)
    assert got["K"] == K and got["h"] == h and got["beta_tilde"] == pytest.approx(bt, rel=REL)
    assert got["margin_loss"] == pytest.approx(loss, abs=1e-15)
    assert got["sigma"] == pytest.approx(sigma, rel=REL)
    assert got["bound"] == pytest.approx(expected, rel=REL)
    assert got["beta_in_interval"] == (lo <= beta_ <= hi)


def _cluster_case(tiny):
    ws, X, y = tiny
    rng = np.random.default_rng(1)
    B = [w + 0.3 * rng.standard_normal(w.shape) for w in ws]
    Bj = [[w + 0.1 * rng.standard_normal(w.shape) for w in B] for _ in range(2)]
    Ai = [[w + 0.05 * rng.standard_normal(w.shape) for w in ws] for _ in range(2)]
    return ws, B, Bj, Ai, X, y


def _hand_cluster(ws, B, Bj, Ai, X, y, gamma, Bin, d_min, g):
    m, d, h = 200, 2, 3
    flat = lambda net: np.concatenate([w.ravel() for w in net])  # noqa: E731
    a, b = flat(ws), flat(B)
    alpha = math.acos(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    lam = int(np.argmin([abs(0.01 * k - alpha) for k in range(1, 315)])) + 1

    def interval(delta):  # Def. 26 at d = 2: exponents 1/d = 1/2 and 1/(d-1) = 1
        lo = math.sqrt(gamma / (2 * Bin))
        root = math.sqrt(2 * h * math.log(2 * d * h / delta))
        hi = gamma * math.sqrt(2 * (m - 1)) / (8 * Bin * math.e**3 * d * d_min * root)
        return lo, hi

    # smallest n with K_1(delta = 0.05 / (314 n)) <= n, by a plain scan
    n = 1
    while math.ceil(d / 2 * interval(0.05 / (314 * n))[1] / interval(1)[0]) > n:
        n += 1
    delta = 0.05 / (314 * n)
    lo, hi = interval(delta)
    grid = np.linspace(lo, hi, n)
    loss = _hand_margin_loss(_hand_outputs(ws, X), y, gamma / 2)
    out, inside = [], []
    for net in Ai:
        beta_i = math.sqrt(np.prod([np.linalg.svd(w, compute_uv=False)[0] for w in net]))
        inside.append(lo <= beta_i <= hi)
        bt = grid[np.argmin(np.abs(grid - beta_i))]
        s2 = min(bt / (2 * math.e), g / (math.e**2 * 2 * Bin * bt)) ** 2 / (
            2 * h * math.log(2 * d * h / delta)
        )
        z = np.array([-np.sum((flat(net) - flat(bj)) ** 2) / (2 * s2) for bj in Bj])
        kl = -(z.max() + math.log(np.mean(np.exp(z - z.max()))))
        out.append(loss + math.sqrt((kl + math.log(3 * m / delta)) / (m - 1)))
    return out, n, lam, alpha, inside


def test_cluster_bound_equals_hand_computation(tiny):
    ws, B, Bj, Ai, X, y = _cluster_case(tiny)
    gamma, Bin, d_min = 0.3, 1.5, 1e-4
    got = cluster_bound(ws, B, Bj, Ai, X, y, gamma, Bin, d_min=d_min)
    proof, K1, lam, alpha, inside = _hand_cluster(ws, B, Bj, Ai, X, y, gamma, Bin, d_min, gamma / 8)
    printed, *_ = _hand_cluster(ws, B, Bj, Ai, X, y, gamma, Bin, d_min, gamma)
    assert K1 > 1  # the case exercises the grid, not a single point
    assert got["K1"] == K1 and got["K"] == 314 * K1
    assert got["lambda_star"] == lam and got["alpha"] == pytest.approx(alpha, rel=REL)
    assert got["bounds"] == pytest.approx(proof, rel=REL)
    assert got["bound"] == pytest.approx(min(proof), rel=REL)
    assert got["bounds_statement"] == pytest.approx(printed, rel=REL)
    assert got["beta_in_interval"] == inside
    # gamma/8 in sigma~ (eq. 6.26) makes sigma~ smaller, the KL and the bound larger
    assert got["bound"] > got["bound_statement"]


def test_cluster_bound_d_min_rule(tiny):
    ws, B, Bj, Ai, X, y = _cluster_case(tiny)
    got = cluster_bound(ws, B, Bj, Ai, X, y, 0.3, 1.5)
    lo, hi = got["interval"]
    assert hi >= lo and got["d_min"] <= 1e-3
    if got["d_min"] < 1e-3:  # the next larger power of ten leaves I empty
        with pytest.raises(ValueError, match="d_min"):
            cluster_bound(ws, B, Bj, Ai, X, y, 0.3, 1.5, d_min=got["d_min"] * 10)
    # a member closer to the initial cluster than d_min (here: equal to B_2) is excluded
    near = cluster_bound(ws, B, Bj, [Bj[1], Ai[1]], X, y, 0.3, 1.5, d_min=1e-4)
    assert near["d_star"][0] == 0.0 and np.isnan(near["bounds"][0])
    assert near["best_index"] == 1 and near["bound"] == near["bounds"][1]


def test_niceness_by_hand():
    fa = np.array([[3.0, 4.0], [1.0, 0.0]])  # norms 5 and 1
    f1 = np.array([[3.0, 4.5], [1.0, 0.1]])  # gaps 0.5 and 0.1: ratios 0.1, 0.1
    f2 = np.array([[3.0, 4.0], [1.2, 0.0]])  # gaps 0 and 0.2: ratio 0.2
    eps, gamma = niceness(fa, [f1, f2])
    assert eps == pytest.approx(0.2, rel=1e-12)
    assert gamma == pytest.approx(0.2 * 5.0, rel=1e-12)
    # f_A(x) = 0 where a cluster net is not 0: no epsilon satisfies Def. 25
    assert niceness(np.array([[0.0, 0.0], [1.0, 0.0]]), [np.array([[0.1, 0], [1, 0]])]) == (
        math.inf,
        math.inf,
    )


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": math.nan}, "gamma"),
        ({"input_bound": -1.0}, "input_bound"),
        ({"confidence_delta": 1.0}, "confidence_delta"),
    ],
)
def test_bound_argument_validation(tiny, kwargs, name):
    ws, X, y = tiny
    args = {"gamma": 0.3, "input_bound": 1.5, **kwargs}
    with pytest.raises(ValueError, match=name):
        nbs_bound(ws, X, y, **args)
    with pytest.raises(ValueError, match=name):
        cluster_bound(ws, ws, [ws], [ws], X, y, **args)


def test_structural_validation(tiny):
    ws, X, y = tiny
    with pytest.raises(ValueError, match="weights"):
        nbs_bound(ws[:1], X, y, 0.3, 1.5)
    with pytest.raises(ValueError, match="X"):
        nbs_bound(ws, X[:, :1], y, 0.3, 1.5)
    with pytest.raises(ValueError, match="init_cluster"):
        cluster_bound(ws, ws, [ws, ws], [ws], X, y, 0.3, 1.5)
    with pytest.raises(ValueError, match="d_min"):
        cluster_bound(ws, ws, [ws], [ws], X, y, 0.3, 1.5, d_min=0.0)
    with pytest.raises(ValueError, match="m must"):
        two_clusters(0, 20, 6, np.random.default_rng(0))
    with pytest.raises(ValueError, match="a must"):
        two_clusters(10, 20, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="half_angle"):
        cone_cluster(ws, 4.0, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="k must"):
        cone_cluster(ws, 0.1, 0, np.random.default_rng(0))


@pytest.mark.parametrize(("n", "a"), [(20, 2), (20, 6), (40, 4), (40, 10)])
def test_two_clusters_obey_rejection_rule(n, a):
    X, y = two_clusters(1000, n, a, np.random.default_rng(3))
    d1 = np.max(np.abs(X - 1.0), axis=1)
    da = np.max(np.abs(X - a), axis=1)
    # float32 storage can move a coordinate by ~1e-7 across the cube's face
    assert np.all(np.minimum(d1, da) <= 1 + 1e-6)
    assert rejection_rule(X.astype(np.float64), a).mean() > 0.999
    # labels are fair coins: 4 standard errors of a mean of 1000 coin flips
    assert abs(y.mean() - 0.5) < 4 * math.sqrt(0.25 / 1000)
    # each point sits in its own label's cube unless a <= 3 (overlapping cubes)
    own = np.where(y == 0, d1, da)
    if a > 3:
        assert np.all(own <= 1 + 1e-6)


def test_two_clusters_match_plain_rejection_in_2d():
    """The exact sampler and the thesis's plain rejection give the same law (n=2, a=2)."""
    rng = np.random.default_rng(5)
    X, y = two_clusters(20000, 2, 2.0, rng)
    c = np.where(y[:, None] == 0, 1.0, 2.0)
    draws = []
    while sum(len(d) for d in draws) < 20000:
        lab = rng.integers(0, 2, 50000)
        Z = rng.standard_normal((50000, 2)) + np.where(lab[:, None] == 0, 1.0, 2.0)
        draws.append((Z - np.where(lab[:, None] == 0, 1.0, 2.0))[rejection_rule(Z, 2.0)])
    R = np.concatenate(draws)[:20000]
    dev = (X - c)[:, 0]  # first coordinate's offset from its own centre
    # means of two 20000-samples: 5 standard errors of their difference
    se = math.sqrt(dev.var() / 20000 + R[:, 0].var() / 20000)
    assert abs(dev.mean() - R[:, 0].mean()) < 5 * se
    assert abs(np.mean(dev**2) - np.mean(R[:, 0] ** 2)) < 5 * math.sqrt(
        (np.var(dev**2) + np.var(R[:, 0] ** 2)) / 20000
    )


def test_geometry_on_a_known_rotation():
    theta = 0.3
    R = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    init = [np.eye(2), np.array([[1.0, 0.0]])]
    trained = [R, np.array([[2.0, 0.0]])]
    g = layer_geometry(init, trained)
    assert g["layer_angle"] == pytest.approx([theta, 0.0], abs=1e-7)
    assert g["layer_dilation"] == pytest.approx([1.0, 2.0], rel=1e-12)
    # whole vector: <A, B> = 2 cos(theta) + 2, ||B|| = sqrt(3), ||A|| = sqrt(6)
    assert g["angle"] == pytest.approx(
        math.acos((2 * math.cos(theta) + 2) / math.sqrt(18)), rel=1e-12
    )
    assert g["dilation"] == pytest.approx(math.sqrt(2), rel=1e-12)
    assert angle(np.eye(2), R) == pytest.approx(theta, rel=1e-12)


def test_cone_cluster_and_lambda_star():
    rng = np.random.default_rng(0)
    init = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    nets = cone_cluster(init, 0.37, 5, rng)
    norm_b = math.sqrt(sum(np.sum(w**2) for w in init))
    for net in nets:
        assert [w.shape for w in net] == [(4, 3), (2, 4)]
        assert math.sqrt(sum(np.sum(w**2) for w in net)) == pytest.approx(norm_b, rel=1e-12)
        flat = np.concatenate([w.ravel() for w in net])
        assert angle(flat, np.concatenate([w.ravel() for w in init])) == pytest.approx(
            0.37, rel=1e-9
        )
    assert not np.allclose(nets[0][0], nets[1][0])  # distinct directions
    # lambda* = argmin |0.01 lambda - alpha|, lambda in 1..314
    assert lambda_star(cone_cluster(init, 0.234, 1, rng)[0], init) == 23
    assert lambda_star(cone_cluster(init, 0.0, 1, rng)[0], init) == 1
    assert lambda_star([-w for w in init], init) == 314


def test_train_adam_matches_torch_forward_and_learns():
    rng = np.random.default_rng(0)
    X, y = two_clusters(200, 20, 6, rng)
    w0 = glorot_init([20, 128, 2], 0)
    bound = math.sqrt(6 / (20 + 128))
    assert np.abs(w0[0]).max() <= bound and np.abs(w0[0]).max() > 0.9 * bound
    w = train_adam(w0, X, y, epochs=20, seed=0, batch_size=100)
    net = torch.nn.Sequential(
        torch.nn.Linear(20, 128, bias=False), torch.nn.ReLU(), torch.nn.Linear(128, 2, bias=False)
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.as_tensor(w[0]))
        net[2].weight.copy_(torch.as_tensor(w[1]))
        ref = net(torch.as_tensor(X)).double().numpy()
    # float32 forward vs float64: agreement to ~1e-5 relative
    np.testing.assert_allclose(net_outputs(w, X), ref, rtol=1e-4, atol=1e-4)
    # clusters at 1 and 6*1 in R^20 are separable: ADAM reaches 95%+ in 20 epochs (40 steps;
    # 0.97 measured, an untrained net sits near 0.5)
    assert np.mean(net_outputs(w, X).argmax(1) == y) >= 0.95
