"""Exact oracles of the Mukherjee thesis (``003_a707f9d83869f5a2.txt``, Ch. 2).

PWL constructions against a reference interpolator, the tent map in closed
form, ``max`` in numpy, and a dense-sampling piece counter; the piece bound
of Lemma 2.A.6 on random nets; Cover's count of planar dichotomies; exact
ERM against planted teachers, random-restart Adam, a grid search and SLSQP.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dante.exact.erm import dichotomies, exact_erm, pattern_qp
from dante.exact.oracle import restart_upper_bound
from dante.exact.pwl import (
    ReLUNet,
    count_pieces,
    max_affine_net,
    piece_bound,
    pwl_eval,
    pwl_to_relu,
    random_relu_net,
    sawtooth_net,
)

# ------------------------------------------------------------- constructions


@pytest.mark.parametrize(
    ("p", "sl", "sr", "units"),
    [(2, 1.0, -2.0, 2), (5, 0.5, 3.0, 5), (7, -1.0, 0.0, 6), (7, 0.0, 2.0, 6), (6, 0.0, 0.0, 5)],
)
def test_pwl_to_relu_reproduces_function(p, sl, sr, units):
    rng = np.random.default_rng(p)
    a = np.sort(rng.uniform(-3, 3, p - 1))
    b = rng.normal(size=p - 1)
    net = pwl_to_relu(a, b, sl, sr)
    assert net.size == units <= p  # Theorem 2.2.2 / Corollary 2.A.1
    x = np.concatenate([rng.uniform(-8, 8, 500), a])
    np.testing.assert_allclose(net(x), pwl_eval(x, a, b, sl, sr), atol=1e-11)
    assert count_pieces(net) == p


def test_printed_back_substitution_factor_is_wrong():
    # the thesis prints b_i = sum_{j>i} t_j (a_{j-1} - a_j); with that factor the
    # flaps miss the values, with (a_i - a_j) they hit them (pwl_to_relu above)
    a = np.array([0.0, 1.0, 3.0, 4.0])
    b = np.array([2.0, -1.0, 0.5, 0.0])
    t = np.zeros(4)
    for i in range(2, -1, -1):
        rest = sum(t[j] * (a[j - 1] - a[j]) for j in range(i + 2, 4))
        t[i + 1] = (b[i] - rest) / (a[i] - a[i + 1])
    t[0] = 1.0 - t[1:].sum()
    printed = ReLUNet([-np.ones((4, 1))], [a], -t, 0.0)
    assert np.max(np.abs(printed(a) - b)) > 0.1
    np.testing.assert_allclose(pwl_to_relu(a, b, 1.0, 0.0)(a), b, atol=1e-12)


def test_relu_net_to_mlp_same_function():
    net = random_relu_net([3, 4], seed=1, n_in=2)
    X = np.random.default_rng(0).normal(size=(50, 2))
    mlp = net.to_mlp()
    with torch.no_grad():
        out = mlp(torch.as_tensor(X)).numpy()[:, 0]
    np.testing.assert_allclose(out, net(X), atol=1e-12)


@pytest.mark.parametrize(("k", "n"), [(1, 1), (2, 3), (5, 2), (8, 4)])
def test_max_affine_net(k, n):
    rng = np.random.default_rng(k)
    A, c = rng.normal(size=(k, n)), rng.normal(size=k)
    net = max_affine_net(A, c)
    X = rng.normal(size=(400, n)) * 3
    np.testing.assert_allclose(net(X), np.max(X @ A.T + c, axis=1), atol=1e-12)
    assert len(net.widths) == max(1, int(np.ceil(np.log2(k))))  # Lemma 2.A.4 depth


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_sawtooth_has_2_to_the_k_pieces(k):
    net = sawtooth_net(k)
    assert net.widths == [2] * k
    assert count_pieces(net, interval=(0.0, 1.0)) == 2**k
    x = np.linspace(0, 1, 2001)
    tent = x.copy()
    for _ in range(k):
        tent = 1 - np.abs(2 * tent - 1)
    np.testing.assert_allclose(net(x), tent, atol=1e-12)
    assert count_pieces(net) <= piece_bound(net.widths)


def test_sawtooth_w3_has_w_to_the_k_pieces():
    for k in (1, 2, 3):
        assert count_pieces(sawtooth_net(k, w=3), interval=(0.0, 1.0)) == 3**k


def _sampled_pieces(net: ReLUNet, lo: float, hi: float, n: int = 200_001) -> int:
    """Independent counter: slopes on a fine grid, changes that persist."""
    x = np.linspace(lo, hi, n)
    s = np.diff(net(x)) / np.diff(x)
    scale = max(1.0, np.abs(s).max())
    change = np.abs(np.diff(s)) > 1e-6 * scale
    # a kink inside a grid cell shows up as one or two consecutive changes
    starts = change & ~np.concatenate([[False], change[:-1]])
    return int(1 + starts.sum())


@pytest.mark.parametrize("seed", range(4))
def test_count_pieces_matches_dense_sampling(seed):
    net = random_relu_net([3, 3], seed=seed)
    exact = count_pieces(net, interval=(-4.0, 4.0))
    assert exact == _sampled_pieces(net, -4.0, 4.0)


def test_piece_counts_of_random_nets_within_bound():
    rng = np.random.default_rng(0)
    worst = 0.0
    for trial in range(60):
        widths = list(rng.integers(1, 6, size=rng.integers(1, 4)))
        widths = [int(w) for w in widths]
        net = random_relu_net(widths, seed=trial)
        pieces = count_pieces(net)
        assert pieces <= np.prod([w + 1 for w in widths]) <= piece_bound(widths)
        worst = max(worst, pieces / piece_bound(widths))
    assert worst > 0.3  # the counter is not trivially small
    assert piece_bound([3, 2, 2]) == 2**2 * 4 * 2 * 2


def test_construction_argument_errors():
    with pytest.raises(ValueError, match="strictly increasing"):
        pwl_to_relu([1.0, 0.0], [0.0, 1.0], 1.0, 1.0)
    with pytest.raises(ValueError, match="one entry per breakpoint"):
        pwl_to_relu([0.0, 1.0], [0.0], 1.0, 1.0)
    with pytest.raises(ValueError, match="positive int"):
        sawtooth_net(0)
    with pytest.raises(ValueError, match="widths"):
        piece_bound([])
    with pytest.raises(ValueError, match="R -> R"):
        count_pieces(random_relu_net([2], n_in=2))


# ------------------------------------------------------------------ dichotomies


@pytest.mark.parametrize("D", [4, 7, 11])
def test_planar_dichotomies_count_and_witnesses(D):
    X = np.random.default_rng(D).normal(size=(D, 2))
    masks, wit = dichotomies(X)
    assert masks.shape[0] == D * D - D + 2  # Cover (1965): 2 sum_{i<=2} C(D-1, i)
    assert len({m.tobytes() for m in masks}) == masks.shape[0]
    z = X @ wit[:, :2].T + wit[:, 2]
    assert np.all((z > 0) == masks.T) and np.all(np.abs(z) > 0)


def test_line_dichotomies_are_thresholds():
    x = np.array([0.3, -1.0, 2.0, 0.1])
    masks, _ = dichotomies(x)
    assert masks.shape[0] == 2 * 4  # empty, full, 3 suffixes, 3 prefixes


# ------------------------------------------------------------------------ ERM


def _teacher(X, width, rng):
    W = rng.normal(size=(width, X.shape[1]))
    b = rng.normal(size=width) * 0.5
    v = rng.normal(size=width)
    return np.maximum(X @ W.T + b, 0) @ v + 0.3


@pytest.mark.parametrize(
    ("n", "width", "D"), [(1, 1, 12), (1, 2, 12), (1, 3, 10), (2, 1, 9), (2, 2, 8)]
)
def test_erm_realizable_teacher_has_zero_loss(n, width, D):
    rng = np.random.default_rng(10 * n + width)
    X = rng.uniform(-1, 1, size=(D, n))
    y = _teacher(X, width, rng)
    res = exact_erm(X, y, width, output_bias=True)
    assert res.certified and res.loss < 1e-18 * (1 + y @ y) + 1e-20
    np.testing.assert_allclose(res.predict(X), y, atol=1e-9)
    with torch.no_grad():
        out = res.to_mlp()(torch.as_tensor(X)).numpy()[:, 0]
    np.testing.assert_allclose(out, y, atol=1e-9)


def _adam_restarts(X, y, width, bias, steps=400, seed=0, loss="squared", lr=0.03) -> float:
    """Brute-force oracle: the least loss over 64 full-batch Adam restarts (float64), an
    upper bound on the optimum (:func:`dante.exact.oracle.restart_upper_bound`)."""
    return restart_upper_bound(
        X, y, width, loss=loss, output_bias=bias, steps=steps, lr=lr, seed=seed
    )


@pytest.mark.parametrize(
    ("n", "width", "D", "bias", "seed"),
    [
        (1, 2, 8, True, 0),
        (1, 3, 7, False, 1),
        (2, 1, 8, False, 2),
        (2, 2, 7, True, 3),
        (3, 1, 8, True, 50),  # R^3: the general arrangement enumeration
        (3, 2, 6, False, 51),
    ],
)
def test_erm_not_beaten_by_random_restart_adam(n, width, D, bias, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(D, n))
    y = rng.normal(size=D)
    res = exact_erm(X, y, width, output_bias=bias)
    assert res.certified and res.kkt_residual < 1e-9
    # achievable: the returned net has the returned loss
    assert abs(np.sum((res.predict(X) - y) ** 2) - res.loss) < 1e-9
    adam = _adam_restarts(X, y, width, bias, seed=seed)
    # exact <= every local fit (1e-9: the active-set solution's float64 rounding)
    assert res.loss <= adam + 1e-9
    assert res.loss < np.sum((y - y.mean()) ** 2)  # beats the constant fit
    if n == 3:  # and 64 restarts of 400 Adam steps land within 1e-3 relative of it
        assert adam <= res.loss + 1e-3 * (1 + res.loss)


def test_erm_width1_line_matches_grid_search():
    rng = np.random.default_rng(5)
    x = np.sort(rng.uniform(-1, 1, 15))
    y = np.abs(x - 0.2) + 0.3 * np.sin(5 * x) + 0.1 * rng.normal(size=15)
    for bias in (False, True):
        res = exact_erm(x, y, 1, output_bias=bias)
        # f = c + a relu(+-(x - t)): linear in (c, a) for fixed (t, direction)
        best = np.inf
        for t in np.linspace(-1.2, 1.2, 4001):
            for d in (1.0, -1.0):
                h = np.maximum(d * (x - t), 0)
                A = np.stack([h, np.ones_like(h)], 1) if bias else h[:, None]
                coef = np.linalg.lstsq(A, y, rcond=None)[0]
                best = min(best, float(np.sum((A @ coef - y) ** 2)))
        assert res.loss <= best + 1e-10
        assert best <= res.loss + 1e-3 * (1 + res.loss)


def test_pattern_qp_matches_slsqp():
    from scipy.optimize import minimize

    rng = np.random.default_rng(7)
    X = rng.normal(size=(9, 2))
    y = rng.normal(size=9)
    masks, wit = dichotomies(X)
    for _ in range(5):
        k = rng.choice(masks.shape[0], size=2, replace=False)
        s = rng.choice([-1.0, 1.0], size=2)
        val, th, kkt = pattern_qp(X, y, masks[k], s, output_bias=True)
        assert kkt < 1e-9
        X1 = np.hstack([X, np.ones((9, 1))])
        on = masks[k]

        def f(t, X1=X1, on=on, s=s):
            z = [X1 @ t[3 * j : 3 * j + 3] for j in range(2)]
            return np.sum((t[-1] + sum(s[j] * on[j] * z[j] for j in range(2)) - y) ** 2)

        cons = [
            {
                "type": "ineq",
                "fun": lambda t, j=j, on=on, X1=X1: (
                    np.where(on[j], 1, -1) * (X1 @ t[3 * j : 3 * j + 3])
                ),
            }
            for j in range(2)
        ]
        t0 = np.concatenate([wit[k[0]], wit[k[1]], [0.0]])
        ref = minimize(f, t0, constraints=cons, method="SLSQP", options={"ftol": 1e-12})
        assert val <= ref.fun + 1e-7
        assert abs(val - ref.fun) < 1e-4 * (1 + ref.fun)
        assert abs(f(th) - val) < 1e-9


def test_erm_argument_errors():
    with pytest.raises(ValueError, match="width"):
        exact_erm(np.zeros((3, 1)) + np.arange(3)[:, None], np.zeros(3), 0)
    with pytest.raises(ValueError, match="general position"):
        exact_erm(np.zeros((4, 3)), np.zeros(4), 1)
    with pytest.raises(ValueError, match="labels"):
        exact_erm(np.arange(4.0), np.arange(4.0), 1, loss="hinge")
    with pytest.raises(ValueError, match="loss must be"):
        exact_erm(np.arange(4.0), np.zeros(4), 1, loss="absolute")
    with pytest.raises(ValueError, match="rows"):
        exact_erm(np.arange(4.0), np.zeros(3), 1)
    with pytest.raises(ValueError, match="general position"):
        exact_erm(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 1.0]]), np.zeros(4), 1)


# ------------------------------------------------ ERM in R^n, hinge, user losses


@pytest.mark.parametrize(("D", "n"), [(6, 3), (8, 3), (7, 4), (3, 4), (9, 1)])
def test_dichotomies_in_rn_match_cover_count_and_brute_force(D, n):
    from itertools import product

    from dante.exact.arrangement import cover_count

    X = np.random.default_rng(D + 10 * n).normal(size=(D, n))
    masks, wit = dichotomies(X)
    assert masks.shape[0] == (cover_count(D, n) if D > n else 2**D)
    z = X @ wit[:, :n].T + wit[:, n]
    assert np.all((z > 0) == masks.T) and np.all(np.abs(z) > 0)
    # brute force: a labelling is separable iff the LP feasibility problem has a solution
    from scipy.optimize import linprog

    X1 = np.hstack([X, np.ones((D, 1))])
    seen = {m.tobytes() for m in masks}
    n_sep = 0
    for lab in product((False, True), repeat=D):
        s = np.where(lab, 1.0, -1.0)
        r = linprog(np.zeros(n + 1), A_ub=-(s[:, None] * X1), b_ub=-np.ones(D), bounds=(None, None))
        if r.status == 0:
            n_sep += 1
            assert np.array(lab).tobytes() in seen
    assert n_sep == masks.shape[0]


@pytest.mark.parametrize(("n", "width", "D", "seed"), [(1, 1, 9, 0), (2, 1, 9, 1), (2, 2, 8, 2)])
def test_erm_hinge_not_beaten_by_brute_force(n, width, D, seed):
    rng = np.random.default_rng(70 + seed)
    X = rng.normal(size=(D, n))
    y = np.where(rng.random(D) < 0.5, -1.0, 1.0)
    res = exact_erm(X, y, width, output_bias=True, loss="hinge")
    assert res.certified and res.loss_name == "hinge"
    f = res.predict(X)
    # the returned net achieves the returned value (LP tolerance 1e-9)
    assert abs(np.sum(np.maximum(0, 1 - y * f)) - res.loss) < 1e-7
    brute = _adam_restarts(X, y, width, True, steps=600, seed=seed, loss="hinge", lr=0.02)
    assert res.loss <= brute + 1e-7  # 1e-7: HiGHS' feasibility tolerance on the LP
    # the hinge is piecewise linear, so Adam oscillates near kinks: 2% of the optimum + 0.02
    assert brute <= res.loss * 1.02 + 0.02


def test_erm_hinge_separable_by_width2_teacher_is_zero():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(12, 2))
    y = np.where(_teacher(X, 2, rng) > 0.3, 1.0, -1.0)
    res = exact_erm(X, y, 2, output_bias=True, loss="hinge")
    assert res.loss < 1e-9 and np.all(y * res.predict(X) >= 1 - 1e-7)


def test_erm_user_loss_squared_matches_builtin_and_logistic_beats_restarts():
    from dante.exact.convex_fit import ConvexLoss

    rng = np.random.default_rng(9)
    X = rng.normal(size=(7, 2))
    y = rng.normal(size=7)
    user_sq = ConvexLoss(
        "user_squared", lambda f, t: float(np.sum((f - t) ** 2)), lambda f, t: 2 * (f - t)
    )
    a = exact_erm(X, y, 1, output_bias=True)
    b = exact_erm(X, y, 1, output_bias=True, loss=user_sq)
    # SLSQP (ftol 1e-14) vs the active-set QP on the same convex programs
    assert b.certified and abs(a.loss - b.loss) <= 1e-6 * (1 + a.loss)
    lab = np.where(y > 0, 1.0, -1.0)
    logistic = ConvexLoss(
        "logistic",
        lambda f, t: float(np.sum(np.logaddexp(0.0, -t * f))),
        lambda f, t: -t / (1.0 + np.exp(t * f)),
    )
    res = exact_erm(X, lab, 1, output_bias=True, loss=logistic)
    assert res.loss_name == "logistic"
    # no restart of a local method may beat the certified optimum
    brute = _adam_restarts(X, lab, 1, True, steps=500, loss="logistic")
    # 1e-5: SLSQP's stopping accuracy on a smooth loss of size ~1
    assert res.loss <= brute + 1e-5
