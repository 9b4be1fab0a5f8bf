"""Tests of the SLQC / theory-set SNGD toolkit (``dante.theory.slqc``).

Oracles: convexity (a convex quadratic is SLQC with kappa = its gradient bound),
a brute-force maximum over the ball of Definition 1, hand-computed constants
of ``001_1787bf99fca4a9f2.txt`` (Theorems 1, 4, 6, 7, 8), torch autograd for the
GLM gradient, a hand-written SNGD loop, and the planted teacher ``w*``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dante.activations import generalized_relu
from dante.theory.slqc import (
    empirical_kappa,
    glm_loss_and_grad,
    glm_loss_bound,
    kappa_generalized_relu,
    kappa_hidden_layer,
    kappa_relu,
    kappa_sigmoid_bce,
    kappa_sigmoid_glm,
    kappa_softmax_ce,
    make_glm_teacher,
    run_sngd_glm,
    slqc_check,
    theory_hyperparameters,
)

# ----------------------------------------------------------------------------
# Definition 1 / 4
# ----------------------------------------------------------------------------


def _quadratic(d: int, seed: int):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.linspace(0.5, 3.0, d)
    A = Q @ np.diag(lam) @ Q.T
    z = rng.standard_normal(d)

    def f(x):
        x = np.asarray(x)
        return 0.5 * (x - z) @ A @ (x - z)

    def grad(x):
        return A @ (np.asarray(x) - z)

    return f, grad, z, lam.max(), rng


def test_convex_quadratic_is_slqc_with_gradient_bound_kappa() -> None:
    # Convex f with ||grad f|| <= G on B(z, R) is (eps, G, z)-SLQC there
    # (Hazan et al.): <g, x - z> >= f(x) - f(z) > eps >= (eps/G) ||g||.
    d, R, eps = 5, 2.0, 0.05
    f, grad, z, lam_max, rng = _quadratic(d, 0)
    kappa = lam_max * R
    n_ball = 0
    for _ in range(400):
        u = rng.standard_normal(d)
        x = z + u / np.linalg.norm(u) * R * rng.uniform() ** (1 / d)
        chk = slqc_check(f, grad, x, z, eps, kappa)
        assert chk.holds
        if chk.excess > eps:
            n_ball += 1
            assert chk.ball_clause and chk.ball_margin <= 0.0
            assert chk.kappa_min <= kappa
    assert n_ball > 300  # the ball clause was actually exercised


def test_slqc_violations() -> None:
    # Non-quasi-convex double well: at x = -0.5 the gradient points away from z = 1.
    def f(x):
        return float((x[0] ** 2 - 1) ** 2)

    def grad(x):
        return np.array([4 * x[0] * (x[0] ** 2 - 1)])

    x, z = np.array([-0.5]), np.array([1.0])
    chk = slqc_check(f, grad, x, z, eps=0.1, kappa=1e9)
    assert chk.excess == pytest.approx(0.5625)
    assert chk.inner == pytest.approx(1.5 * 1.5)  # g = 1.5, z - x = 1.5
    assert not chk.holds and not chk.ball_clause and chk.kappa_min == math.inf
    assert not slqc_check(f, grad, x, z, 0.1, 1e9).holds
    # the other well's minimum is SLQC through the first clause only
    assert slqc_check(f, grad, np.array([-1.0]), z, 0.1, 1e-9).holds

    # A quadratic point SLQC exactly for kappa >= kappa_min = eps ||g|| / <g, x - z>.
    def q(x):
        return float(np.asarray(x) @ np.asarray(x))

    x, z = np.array([1.0, 1.0]), np.zeros(2)  # g = (2, 2), <g, x - z> = 4, ||g|| = 2 sqrt 2
    eps = 0.5
    k_min = eps * 2 * math.sqrt(2) / 4
    assert slqc_check(q, lambda v: 2 * np.asarray(v), x, z, eps, k_min).kappa_min == pytest.approx(
        k_min
    )
    assert slqc_check(q, lambda v: 2 * np.asarray(v), x, z, eps, k_min * 1.001).holds
    assert not slqc_check(q, lambda v: 2 * np.asarray(v), x, z, eps, k_min * 0.999).holds
    # zero gradient with f - f* > eps is never SLQC
    assert not slqc_check(5.0, np.zeros(2), x, z, eps, 1.0).holds


def test_closed_form_ball_clause_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    d, n = 3, 200_000
    for _ in range(5):
        g, x, z = rng.standard_normal((3, d))
        r = rng.uniform(0.1, 2.0)
        u = rng.standard_normal((n, d))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        ys = z + u * r * rng.uniform(size=(n, 1)) ** (1 / d)
        ys[: n // 2] = z + u[: n // 2] * r  # half on the sphere, where the max lies
        brute = float(np.max((ys - x) @ g))
        chk = slqc_check(10.0, g, x, z, eps=r, kappa=1.0)  # radius eps/kappa = r
        assert brute <= chk.ball_margin + 1e-12
        assert brute >= chk.ball_margin - 2e-3 * r * np.linalg.norm(g)
        assert chk.ball_clause == (chk.ball_margin <= 0)


def test_torch_numpy_and_matrix_inputs_agree() -> None:
    rng = np.random.default_rng(2)
    G, X, Z = rng.standard_normal((3, 4, 3))
    a = slqc_check(1.0, G, X, Z, 0.3, 2.0)
    b = slqc_check(1.0, torch.from_numpy(G), torch.from_numpy(X), torch.from_numpy(Z), 0.3, 2.0)
    c = slqc_check(1.0, G.ravel(), X.ravel(), Z.ravel(), 0.3, 2.0)
    assert a == b == c
    expect = float(np.sum(G * (Z - X)) + 0.15 * np.linalg.norm(G))  # Frobenius, Def. 4
    assert a.ball_margin == pytest.approx(expect)
    with pytest.raises(ValueError, match="'kappa' must be > 0"):
        slqc_check(1.0, G, X, Z, 0.3, 0.0)
    with pytest.raises(ValueError, match="same size"):
        slqc_check(1.0, G, X, Z[:2], 0.3, 1.0)


# ----------------------------------------------------------------------------
# constants and Theorem 8
# ----------------------------------------------------------------------------


def test_kappa_formulas() -> None:
    assert kappa_sigmoid_glm(2.0) == pytest.approx(7.38905609893065)
    assert kappa_generalized_relu(3.0, a=0.5, b=2.0) == pytest.approx(96.0)  # 2*8*3/0.5
    assert kappa_generalized_relu(1.0, a=0.01, b=1.0) == pytest.approx(200.0)
    assert kappa_relu(3.0, b=2.0) == pytest.approx(24.0)  # 2*4*3
    # (a/(4 b^5 W2^2 W1) - W1/eps)^-1 = (0.5/0.4 - 0.1)^-1 = 1/1.15
    assert kappa_hidden_layer(0.1, 1.0, eps=1.0, a=0.5, b=1.0) == pytest.approx(1 / 1.15)
    with pytest.raises(ValueError, match="certifies no kappa"):
        kappa_hidden_layer(0.1, 1.0, eps=0.01, a=0.5, b=1.0)
    assert kappa_sigmoid_bce(1.0) == pytest.approx(1 / (1 - math.exp(-1)) ** 2)
    assert kappa_sigmoid_bce(1e-4) == pytest.approx(1e4, rel=2e-4)  # ~ 1/eps for small eps
    assert kappa_softmax_ce(1.0, 10) == pytest.approx(10 / (1 - math.exp(-1)) ** 2)
    with pytest.raises(ValueError, match="kappa_relu"):
        kappa_generalized_relu(1.0, a=0.0, b=1.0)
    with pytest.raises(ValueError, match="a <= b"):
        kappa_generalized_relu(1.0, a=2.0, b=1.0)


def test_theory_hyperparameters() -> None:
    hp = theory_hyperparameters(eps=0.1, delta=0.05, kappa=4.0, M=1.0, dist0=1.0)
    eta, T, b = hp
    assert eta == pytest.approx(0.025)
    assert T == 1600  # 4^2 * 1^2 / 0.1^2, no float-noise round-up
    # ln(4 * 1600 / 0.05) / (2 * 0.01) = 11.7598 / 0.02 = 587.99
    assert b == 588
    hp2 = theory_hyperparameters(eps=0.01, delta=0.1, kappa=math.e, M=2.0, dist0=3.0)
    assert hp2.T == math.ceil(math.e**2 * 9 / 1e-4)
    assert hp2.b == math.ceil(4 * math.log(4 * hp2.T / 0.1) / 2e-4)
    with pytest.raises(ValueError, match="delta"):
        theory_hyperparameters(0.1, 0.5, 4.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="'eps' must be > 0"):
        theory_hyperparameters(-0.1, 0.05, 4.0, 1.0, 1.0)


# ----------------------------------------------------------------------------
# the GLM
# ----------------------------------------------------------------------------


def _autograd_glm_loss(w, X, y, act, a, b):
    """The GLM loss written with torch ops only, so autograd gives the papers' subgradient."""
    u = X @ w
    if act == "sigmoid":
        phi = torch.sigmoid(u)
    else:
        phi = generalized_relu(u, 0.0 if act == "relu" else a, b)
    return ((phi - y) ** 2).mean()


@pytest.mark.parametrize(
    "act,a,b",
    [
        ("sigmoid", 0.5, 1.0),
        ("generalized_relu", 0.5, 1.0),
        ("generalized_relu", 0.01, 2.0),
        ("relu", 0.0, 1.0),
    ],
)
def test_glm_gradient_matches_autograd(act: str, a: float, b: float) -> None:
    teacher = make_glm_teacher(act, 6, 2.0, seed=3, a=a if act != "relu" else 0.5, b=b)
    X, y = teacher.sample(300, seed=4)
    w = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    w.requires_grad_(True)
    loss_ag = _autograd_glm_loss(w, X, y, act, teacher.a, teacher.b)
    (g_ag,) = torch.autograd.grad(loss_ag, w)
    loss, g = glm_loss_and_grad(w.detach(), X, y, act, a=teacher.a, b=teacher.b)
    assert float(loss) == pytest.approx(float(loss_ag.detach()), rel=1e-12)
    torch.testing.assert_close(g, g_ag, rtol=1e-10, atol=1e-12)
    # the teacher is realizable: f(w*) = 0 and ||x|| = 1
    assert float(glm_loss_and_grad(teacher.w_star, X, y, act, teacher.a, teacher.b)[0]) < 1e-28
    torch.testing.assert_close(torch.linalg.vector_norm(X, dim=1), torch.ones(300, dtype=X.dtype))


def test_teachers_share_w_star_and_ball_inputs() -> None:
    s = make_glm_teacher("sigmoid", 5, 3.0, seed=7)
    r = make_glm_teacher("generalized_relu", 5, 3.0, seed=7)
    torch.testing.assert_close(s.w_star, r.w_star)
    assert s.w_norm == pytest.approx(3.0)
    rb = make_glm_teacher("relu", 5, 3.0, seed=7, x_dist="ball")
    X, _ = rb.sample(2000, seed=1)
    norms = torch.linalg.vector_norm(X, dim=1)
    assert float(norms.max()) <= 1.0 and float(norms.min()) < 0.5
    assert rb.kappa == pytest.approx(6.0)  # 2 b^2 W
    assert glm_loss_bound("generalized_relu", 2.0, a=0.5, b=1.5) == pytest.approx(9.0)
    assert glm_loss_bound("sigmoid", 10.0) == 1.0


# ----------------------------------------------------------------------------
# SNGD
# ----------------------------------------------------------------------------


def test_run_sngd_matches_hand_loop() -> None:
    teacher = make_glm_teacher("sigmoid", 3, 1.5, seed=0)
    X, y = teacher.sample(200, seed=1)
    tr = run_sngd_glm(teacher, X, y, eta=0.01, steps=37, batch_size=500, eps=1e-3, chunk=8)
    Xn, yn, ws = X.numpy(), y.numpy(), teacher.w_star.numpy()
    w = np.zeros(3)
    excess = []
    for _ in range(38):
        s = 1 / (1 + np.exp(-Xn @ w))
        excess.append(np.mean((s - yn) ** 2))
        g = 2 / 200 * Xn.T @ (s * (1 - s) * (s - yn))
        w = w - 0.01 * g / np.linalg.norm(g)
    w_last = w + 0.01 * g / np.linalg.norm(g)  # the 38th step is not taken
    assert tr.steps_run == 37 and tr.batch_size == 200
    np.testing.assert_allclose(tr.w_final.numpy(), w_last, rtol=1e-10)
    np.testing.assert_allclose(tr.record_excess, excess, rtol=1e-9, atol=1e-15)
    assert np.linalg.norm(w_last - ws) < np.linalg.norm(ws)


def test_theory_sngd_reaches_3eps_on_generalized_relu_teacher() -> None:
    eps, delta = 0.01, 0.05
    teacher = make_glm_teacher("generalized_relu", 3, 1.0, seed=11, a=0.5, b=1.0)
    X, y = teacher.sample(512, seed=12)
    kappa = teacher.kappa
    assert kappa == pytest.approx(4.0)
    hp = theory_hyperparameters(eps, delta, kappa, glm_loss_bound("generalized_relu", 1.0), 1.0)
    assert hp.T == 160_000 and hp.eta == pytest.approx(0.0025)
    tr = run_sngd_glm(
        teacher,
        X,
        y,
        eta=hp.eta,
        steps=hp.T,
        batch_size=hp.b,
        eps=eps,
        stop_after_hit=200,
        chunk=256,
    )
    assert tr.first_hit is not None and tr.first_hit <= hp.T
    # moving at speed eta from distance 1, the 3 eps level needs at least (1 - r)/eta steps
    assert tr.first_hit >= 100
    assert tr.final_excess <= 3 * eps and tr.tail_max_excess <= 3 * eps
    assert float(torch.linalg.vector_norm(tr.w_final - teacher.w_star)) < 0.2
    # empirical kappa along the trajectory is below the formula (Theorem 1 is an upper bound)
    assert tr.kappa_emp.n_checked > 50 and tr.kappa_emp.n_not_slqc == 0
    assert 0 < tr.kappa_emp.kappa <= kappa


def test_minibatch_sngd_reaches_3eps() -> None:
    eps = 0.01
    teacher = make_glm_teacher("generalized_relu", 3, 1.0, seed=21)
    X, y = teacher.sample(1024, seed=22)
    tr = run_sngd_glm(
        teacher,
        X,
        y,
        eta=eps / teacher.kappa,
        steps=5000,
        batch_size=32,
        eps=eps,
        seed=3,
        stop_after_hit=100,
        chunk=128,
    )
    assert tr.batch_size == 32
    assert tr.first_hit is not None and tr.final_excess <= 3 * eps


@pytest.mark.parametrize(
    "act,a", [("generalized_relu", 0.5), ("generalized_relu", 0.05), ("sigmoid", 0.5)]
)
def test_empirical_kappa_below_formula_on_theorem_domain(act: str, a: float) -> None:
    # Theorem 1 (and Hazan et al. for the sigmoid): SLQC for every w in B(0, W), W = ||w*||.
    W, eps, d = 2.0, 0.01, 4
    teacher = make_glm_teacher(act, d, W, seed=31, a=a, b=1.0)
    X, y = teacher.sample(1000, seed=32)
    rng = np.random.default_rng(33)
    u = rng.standard_normal((1500, d))
    pts = u / np.linalg.norm(u, axis=1, keepdims=True) * W * rng.uniform(size=(1500, 1)) ** (1 / d)
    pts = torch.from_numpy(pts)

    def f(w):
        return teacher.loss_and_grad(w, X, y)[0]

    def grad(w):
        return teacher.loss_and_grad(w, X, y)[1]

    res = empirical_kappa(pts, f, grad, teacher.w_star, eps, f_star=0.0)
    assert res.n_points == 1500 and res.n_checked > 1000
    assert res.n_not_slqc == 0
    assert res.kappa <= teacher.kappa
    # the definition: the worst point passes the check with a slightly larger kappa and fails
    # it with a slightly smaller one. At kappa_emp itself the ball margin is 0 up to rounding
    # (3.5e-18 on an AMD EPYC), so its sign is the BLAS's choice; a relative step of 1e-3 moves
    # the margin by ~1e-3 * |<g, z - w>|, many orders above float64 rounding.
    worst = int(np.argmax(res.kappa_min))
    checked = [p for p in pts if float(f(p)) > eps]
    assert slqc_check(f, grad, checked[worst], teacher.w_star, eps, 1.001 * res.kappa).holds
    assert not slqc_check(f, grad, checked[worst], teacher.w_star, eps, 0.999 * res.kappa).holds


# ----------------------------------------------------------------------------
# verdict rule of the slqc study's "increasingly so" claim (issue 15)
# ----------------------------------------------------------------------------


def test_measured_ratio_rises_needs_measured_increases():
    from dante.theory.study import measured_ratio_rises

    # the full run's numbers: 0.419, 0.696, 2.57 measured, then a lower bound 1.42 (capped)
    assert not measured_ratio_rises([0.419, 0.696, 2.57, 1.42], [True, True, True, False])
    # a lower bound above the previous measured ratio does show a rise
    assert measured_ratio_rises([0.419, 0.696, 2.57, 3.0], [True, True, True, False])
    # after a lower bound nothing can be shown; nan is unknown; a fall is a fall
    assert not measured_ratio_rises([2.0, 5.0], [False, True])
    assert not measured_ratio_rises([0.4, math.nan], [True, False])
    assert not measured_ratio_rises([0.7, 0.4], [True, True])
    assert measured_ratio_rises([0.7], [True])
    with pytest.raises(ValueError, match="differ in length"):
        measured_ratio_rises([0.1, 0.2], [True])
