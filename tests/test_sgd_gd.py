"""Boob & Lan SGD-GD (``002_16d5585f51d1d631.txt``) against independent oracles.

Hand gradients vs autograd; the Hadamard formula for sigma_min(D)^2 vs an SVD
of the explicit D; the certificate vs f; L_theta vs the autograd Hessian;
Lemma 5.4's bound vs the autograd W-Hessian; the projection; descent on a
planted teacher; Theorem 5.9's bound; condition C1 on known passes/failures;
determinism; argument validation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dante.shallow.sgd_gd import (
    ACTIVATIONS,
    SMOOTH_ACTIVATIONS,
    SGDGDActivation,
    certificate_bound,
    certificate_tightness,
    corollary59_bound,
    d_full_column_rank,
    d_matrix,
    gradients,
    lemma54_bound,
    lemma54_constants,
    lemma54_global_bound,
    lemma54_run_bound,
    objective,
    project_ball,
    screen_condition_c1,
    sgd_gd,
    sigma_min_d_sq,
    theorem59_bound,
    theta_smoothness,
)

F64 = torch.float64


def _problem(n=3, d=4, N=10, seed=0, act="tanh"):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n, d, generator=g, dtype=F64)
    theta = torch.randn(n, generator=g, dtype=F64)
    U = torch.randn(d, N, generator=g, dtype=F64) / math.sqrt(d)
    v = torch.randn(N, generator=g, dtype=F64)
    return W, theta, U, v


def _f_torch(W, theta, U, v, act):
    s = v - ACTIVATIONS[act].h(W @ U).T @ theta
    return (s @ s) / (2 * U.shape[1])


# ----------------------------------------------------------------- gradients


@pytest.mark.parametrize("act", [*SMOOTH_ACTIVATIONS, "relu", "leaky_relu"])
def test_hand_gradients_match_autograd(act):
    W, theta, U, v = _problem(seed=1)
    Wr = W.clone().requires_grad_(True)
    tr = theta.clone().requires_grad_(True)
    _f_torch(Wr, tr, U, v, act).backward()
    gW, gt = gradients(W, theta, U, v, act)
    # float64, two summation orders: measured relative difference <= 1.4e-15
    torch.testing.assert_close(gW, Wr.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gt, tr.grad, rtol=1e-10, atol=1e-12)
    assert objective(W, theta, U, v, act) == pytest.approx(float(_f_torch(W, theta, U, v, act)))


def test_derivative_registry_matches_autograd():
    x = torch.linspace(-4, 4, 101, dtype=F64).requires_grad_(True)
    for name in SMOOTH_ACTIVATIONS:
        a = ACTIVATIONS[name]
        (dh,) = torch.autograd.grad(a.h(x).sum(), x, create_graph=True)
        (d2h,) = torch.autograd.grad(dh.sum(), x)
        torch.testing.assert_close(a.dh(x).detach(), dh.detach())
        torch.testing.assert_close(a.d2h(x).detach(), d2h)
        # the registered suprema really bound |h'|, |h''| (and |h| where finite)
        xs = torch.linspace(-30, 30, 20001, dtype=F64)
        assert a.dh(xs).abs().max() <= a.sup_dh * (1 + 1e-12)
        assert a.d2h(xs).abs().max() <= a.sup_d2h * (1 + 1e-12)
        assert a.d2h(xs).abs().max() >= 0.999 * a.sup_d2h  # and are tight
        if math.isfinite(a.sup_h):
            # tanh(30) and exp(-0^2) equal sup |h| = 1 exactly (margin 0): a vectorized libm
            # one ulp high must not fail the check, so the same 1e-12 relative slack as above
            assert a.h(xs).abs().max() <= a.sup_h * (1 + 1e-12)


# ----------------------------------------------------------------- D and the certificate


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "softplus", "gaussian"])
def test_sigma_min_d_hadamard_equals_explicit_svd(act):
    n, d, N = 3, 4, 9  # N <= nd = 12
    W, theta, U, _ = _problem(n, d, N, seed=2)
    D = d_matrix(W, theta, U, act)
    assert D.shape == (n * d, N)
    # column i of D is vec((theta * h'(W u_i)) u_i^T), built independently here
    dh = ACTIVATIONS[act].dh
    i = 4
    col = torch.outer(theta * dh(W @ U[:, i]), U[:, i]).reshape(-1)
    torch.testing.assert_close(D[:, i], col)
    smin_svd = float(torch.linalg.svdvals(D)[-1]) ** 2
    # the SVD's sigma_min^2 carries relative error ~ eps * cond(D)^2 (cond <= 640 here:
    # ~1e-10); measured 2.6e-11
    assert sigma_min_d_sq(W, theta, U, act) == pytest.approx(smin_svd, rel=1e-8)


def test_gradient_is_minus_D_s_over_N():
    W, theta, U, v = _problem(3, 4, 9, seed=3)
    D = d_matrix(W, theta, U, "sigmoid")
    s = v - torch.sigmoid(W @ U).T @ theta
    gW, _ = gradients(W, theta, U, v, "sigmoid")
    torch.testing.assert_close(gW.reshape(-1), -(D @ s) / U.shape[1])


@pytest.mark.parametrize("seed", range(6))
def test_certificate_upper_bounds_f_at_random_points(seed):
    act = ["sigmoid", "tanh", "softplus"][seed % 3]
    n, d, N = 3, 4, 10
    W, theta, U, v = _problem(n, d, N, seed=10 + seed)
    smin = sigma_min_d_sq(W, theta, U, act)
    assert smin > 1e-10  # D full rank at a generic point (smallest measured: 1.5e-8)
    gW, _ = gradients(W, theta, U, v, act)
    f = objective(W, theta, U, v, act)
    bound = certificate_bound(float((gW * gW).sum()), smin, N, n * d)
    assert f <= bound  # measured bound / f >= 180
    # and the bound is an equality in the worst direction: s along D's smallest right singular
    # vector makes ||D s||^2 = sigma_min^2 ||s||^2 (the inequality is tight)
    D = d_matrix(W, theta, U, act)
    _, sv, Vh = torch.linalg.svd(D, full_matrices=False)
    s = Vh[-1]
    g_sq = float(((D @ s) ** 2).sum()) / N**2
    f_s = float(s @ s) / (2 * N)
    assert certificate_bound(g_sq, float(sv[-1]) ** 2, N, n * d) == pytest.approx(f_s, rel=1e-6)


def test_certificate_unavailable_when_n_exceeds_nd_or_rank_deficient():
    assert certificate_bound(1.0, 0.5, 13, 12) == math.inf
    assert certificate_bound(1.0, 0.0, 5, 12) == math.inf
    assert certificate_bound(1.0, -1e-17, 5, 12) == math.inf
    assert certificate_bound(2.0, 0.5, 5, 12) == pytest.approx(10.0)


# ----------------------------------------------------------------- smoothness constants


@pytest.mark.parametrize("act", SMOOTH_ACTIVATIONS)
def test_l_theta_is_exact_theta_hessian_norm(act):
    W, theta, U, v = _problem(seed=4)
    Hess = torch.autograd.functional.hessian(lambda t: _f_torch(W, t, U, v, act), theta)
    lam = float(torch.linalg.eigvalsh(Hess)[-1])
    assert theta_smoothness(W, U, act) == pytest.approx(lam, rel=1e-10)
    # f is quadratic in theta: the Hessian does not depend on theta
    Hess2 = torch.autograd.functional.hessian(lambda t: _f_torch(W, t, U, v, act), 3 * theta)
    torch.testing.assert_close(Hess, Hess2)


@pytest.mark.parametrize("act", SMOOTH_ACTIVATIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_lemma54_bound_dominates_w_hessian_norm(act, seed):
    n, d, N = 2, 3, 5
    W, theta, U, v = _problem(n, d, N, seed=20 + seed)
    U = U * 2.0  # larger pre-activations: more curvature

    def fW(w):
        return _f_torch(w.reshape(n, d), theta, U, v, act)

    Hess = torch.autograd.functional.hessian(fW, W.reshape(-1))
    hnorm = float(torch.linalg.eigvalsh(Hess).abs().max())
    x_max = float((W @ U).abs().max()) + 0.5 if act == "softplus" else None
    L_theta = lemma54_bound(U, v, act, n=n, theta=theta, x_max=x_max)
    assert hnorm <= L_theta
    # the ball version is uniform: it dominates the bound at any theta inside the ball
    L_ball = lemma54_bound(U, v, act, n=n, radius=float(theta.norm()), x_max=x_max)
    assert L_ball >= L_theta
    assert hnorm > 0


def test_lemma54_bound_closed_form_sigmoid():
    U = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=F64)
    v = torch.tensor([1.0, -3.0], dtype=F64)
    theta = torch.tensor([0.5, -1.0], dtype=F64)
    l_dh = math.sqrt(3) / 18
    l_hdh = math.sqrt(0.25**4 + 1.0 * l_dh**2)
    # (1/N) theta_max (L_h' sum ||u||^2 |v| + sqrt(2n) L_hh' ||theta|| sum ||u||^2)
    expected = 0.5 * 1.0 * (l_dh * (1 * 1 + 4 * 3) + 2.0 * l_hdh * math.sqrt(1.25) * 5)
    assert lemma54_bound(U, v, "sigmoid", n=2, theta=theta) == pytest.approx(expected)
    assert lemma54_bound(U, v, "relu", n=2, theta=theta) == math.inf


# ----------------------------------------------------------------- projection


def test_project_ball_is_euclidean_projection():
    g = torch.Generator().manual_seed(5)
    t = torch.randn(6, generator=g, dtype=F64) * 5
    p = project_ball(t, 1.5)
    assert float(p.norm()) == pytest.approx(1.5)
    # no feasible point is closer (oracle: random feasible points)
    z = torch.randn(2000, 6, generator=g, dtype=F64)
    z = z / z.norm(dim=1, keepdim=True) * 1.5 * torch.rand(2000, 1, generator=g, dtype=F64)
    # measured margin 0.38 on distances ~5: 1e-12 is rounding slack only
    assert float((z - t).norm(dim=1).min()) >= float((p - t).norm()) - 1e-12
    inside = t / t.norm() * 0.7
    torch.testing.assert_close(project_ball(inside, 1.5), inside)


def test_algorithm_keeps_theta_in_ball():
    U, v, *_ = _teacher("tanh", seed=0)
    R = 0.2  # far smaller than the teacher's ||theta*||: projection is active
    res = sgd_gd(U, v, n=4, activation="tanh", n_outer=8, n_inner=20, R=R, seed=0)
    # an average of projected points: inside the ball up to rounding (~1e-17 at norm 0.1)
    assert float(res.theta.norm()) <= R / 2 + 1e-12
    assert float(res.theta.norm()) >= 0.9 * R / 2  # the constraint binds
    free = sgd_gd(U, v, n=4, activation="tanh", n_outer=8, n_inner=20, R=100.0, seed=0)
    assert float(free.theta.norm()) > R / 2


# ----------------------------------------------------------------- the algorithm


def _teacher(act, seed=0, n=4, d=4, N=12):
    rng = np.random.default_rng(seed)
    U = torch.as_tensor(rng.standard_normal((d, N)) / math.sqrt(d))
    Ws = torch.as_tensor(rng.standard_normal((n, d)))
    ts = torch.as_tensor(rng.standard_normal(n))
    v = ACTIVATIONS[act].h(Ws @ U).T @ ts
    return U, v, ts


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "softplus"])
def test_sgd_gd_decreases_f_and_gradient_on_teacher(act):
    U, v, ts = _teacher(act, seed=1)
    res = sgd_gd(U, v, n=4, activation=act, n_outer=120, R=3 * float(ts.norm()), seed=0)
    f = res.column("f")
    f0 = res.history[0].f_start
    rm = res.column("running_min_grad_w_sq")
    assert f[-1] < 0.5 * f0
    assert rm[-1] < 0.2 * rm[0]
    assert np.all(np.diff(rm) <= 0)  # a running minimum: exact by construction (min())
    # every recorded certificate upper-bounds f
    cert = res.column("certificate")
    assert np.all(cert[np.isfinite(cert)] >= f[np.isfinite(cert)])  # measured cert/f >= 1000
    assert np.isfinite(cert).all()
    # Theorem 5.9's right-hand side (5.21) dominates the observed running minimum
    assert np.all(theorem59_bound(res) >= rm)  # measured ratio >= 26
    # the default step sizes: gamma = 1/L(Lemma 5.4 over the ball), beta <= 1/(2 L_theta)
    h0 = res.history[0]
    if act != "softplus":
        L = lemma54_bound(U, v, act, n=4, radius=res.radius)
        assert h0.gamma == pytest.approx(1 / L)
    # beta = min(1/(2 L_theta), 1) is this very expression (equal, margin 0): the slack is
    # ~5 ulps at beta <= 1
    assert all(x.beta <= 1 / (2 * x.l_theta) + 1e-15 and x.beta <= 1 for x in res.history)


def test_sigma_zero_inner_loop_obeys_theorem_5_8():
    # sigma = 0: Theorem 5.8 / (A.5) give
    #   f(W0, theta_av) - f* <= ||theta_0 - theta*||^2 / (2 N_i beta)
    # with theta* the closed-form least-squares minimiser over theta (oracle: lstsq).
    U, v, ts = _teacher("sigmoid", seed=2)
    W0 = torch.eye(4, dtype=F64)
    n_inner = 300
    res = sgd_gd(
        U,
        v,
        n=4,
        activation="sigmoid",
        n_outer=1,
        n_inner=n_inner,
        sigma=0.0,
        R=1e6,
        W0=W0,
        theta0=torch.zeros(4, dtype=F64),
        seed=0,
    )
    A = torch.sigmoid(W0 @ U)
    lsq = torch.linalg.lstsq(A.T, v).solution
    f_lsq = objective(W0, lsq, U, v, "sigmoid")
    gap = res.history[0].f - f_lsq
    bound = float(lsq @ lsq) / (2 * n_inner * res.history[0].beta)
    assert -1e-12 <= gap <= bound  # measured gap 0.033, bound 0.12
    assert gap < 0.5 * (res.history[0].f_start - f_lsq)  # and the loop did real work


def test_early_exit_stops_once_3_8_holds():
    U, v, ts = _teacher("tanh", seed=3)
    res = sgd_gd(
        U,
        v,
        n=4,
        activation="tanh",
        n_outer=10,
        n_inner=50,
        early_exit=True,
        R=3 * float(ts.norm()),
        seed=0,
    )
    assert all(x.inner_steps <= 50 for x in res.history)
    for x in res.history:
        if x.inner_steps < 50:
            # x.f is the very value the exit test compared (exact); slack is rounding only
            assert x.f <= x.f_start + 1e-15
    # measured: every loop exits after 1-2 steps, with f below f_start by >= 3e-3
    assert min(x.inner_steps for x in res.history) < 50


def test_seed_determinism():
    U, v, _ = _teacher("sigmoid", seed=4)
    a = sgd_gd(U, v, n=4, activation="sigmoid", n_outer=5, n_inner=10, seed=7)
    b = sgd_gd(U, v, n=4, activation="sigmoid", n_outer=5, n_inner=10, seed=7)
    c = sgd_gd(U, v, n=4, activation="sigmoid", n_outer=5, n_inner=10, seed=8)
    assert torch.equal(a.W, b.W) and torch.equal(a.theta, b.theta)
    assert a.column("f").tolist() == b.column("f").tolist()
    assert not torch.equal(a.W, c.W)


# ----------------------------------------------------------------- condition C1


@pytest.mark.parametrize("act", SMOOTH_ACTIVATIONS)
def test_c1_screen_smooth_activations_pass(act):
    r = screen_condition_c1(act, n_intervals=60, n_trials=8)
    assert r.passes and r.h_passes and r.dh_passes
    # each draw's sigma_min/sigma_max is >= 1.1e-4 (measured) against the rank_tol 1e-9
    assert r.d_full_rank_frac == 1.0


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_c1_screen_relu_fails(act):
    r = screen_condition_c1(act, n_intervals=60, n_trials=20)
    assert not r.h_passes and not r.dh_passes and not r.passes
    # h'' = 0 on intervals: the residual is std(0, ..., 0) / scale, exactly 0
    assert r.worst_dh_residual == 0.0


def test_c1_screen_detects_the_second_identity():
    # h = (2x + 1)/(x + 10) solves (x + 10) h' + h = 2: C1 fails through its second clause
    # (h' is not constant), which the screen must catch.
    mob = SGDGDActivation(
        "mobius",
        lambda x: (2 * x + 1) / (x + 10),
        lambda x: 19 / (x + 10) ** 2,
        lambda x: -38 / (x + 10) ** 3,
        True,
        3.0,
        1.0,
        1.0,
    )
    r = screen_condition_c1(mob, n_intervals=40, n_trials=2)
    assert not r.h_passes and r.worst_h_residual < 1e-8  # measured 6.5e-16
    lin = SGDGDActivation(
        "linear", lambda x: 2 * x, lambda x: 2 + 0 * x, lambda x: 0 * x, True, 1.0, 2.0, 0.0
    )
    assert not screen_condition_c1(lin, n_intervals=10, n_trials=2).h_passes


# ----------------------------------------------------------------- argument validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "n must"),
        ({"n": 9}, "n must satisfy n <= d"),
        ({"n_outer": 0}, "n_outer"),
        ({"n_inner": -1}, "n_inner"),
        ({"sigma": -0.1}, "sigma"),
        ({"beta": 0.0}, "beta"),
        ({"gamma": float("nan")}, "gamma"),
        ({"R": -1.0}, "R must"),
        ({"activation": "swish"}, "activation must be one of"),
        ({"activation": "relu"}, "gamma is required"),
        ({"W0": torch.zeros(3, 4, dtype=F64)}, "W0 must have shape"),
        ({"theta0": torch.zeros(5, dtype=F64)}, "theta0 must have shape"),
        ({"seed": 1.5}, "seed"),
        ({"early_exit": 1}, "early_exit"),
    ],
)
def test_sgd_gd_bad_arguments(kwargs, match):
    U, v, _ = _teacher("sigmoid")
    args = {"n": 4, "n_outer": 2, "n_inner": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        sgd_gd(U, v, **args)


def test_other_bad_arguments():
    W, theta, U, v = _problem()
    with pytest.raises(ValueError, match="v must"):
        objective(W, theta, U, v[:-1])
    with pytest.raises(ValueError, match="U must be d x N"):
        gradients(W, theta, U.T, v)
    with pytest.raises(ValueError, match="theta must"):
        d_matrix(W, theta[:-1], U)
    with pytest.raises(ValueError, match="x_max is required"):
        lemma54_bound(U, v, "softplus", n=3, theta=theta)
    with pytest.raises(ValueError, match="exactly one of theta"):
        lemma54_bound(U, v, "sigmoid", n=3)
    with pytest.raises(ValueError, match="radius"):
        project_ball(theta, 0.0)
    with pytest.raises(ValueError, match="n_points"):
        screen_condition_c1("tanh", n_points=2)
    with pytest.raises(TypeError, match="U must be"):
        sgd_gd("abc", v, n=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be finite"):
        objective(W * float("nan"), theta, U, v)


# ------------------------------------------ verdict hygiene (issue 15): tightness, rank, L

_IDENTITY = SGDGDActivation(
    "identity", lambda x: x, torch.ones_like, torch.zeros_like, True, math.inf, 1.0, 0.0
)


def test_certificate_tightness_hand_case():
    # n = 1, d = N = 2, h = identity, W = 0, theta = 1: s = v, D = [u_1 u_2] = [[1, 1], [0, 1]].
    # D^T D = [[1, 1], [1, 2]], sigma_min^2 = (3 - sqrt 5)/2; v = (1, 0): f = 1/4,
    # ||grad_W f||^2 = ||D s||^2 / N^2 = 1/4, certificate = N/4 / (2 sigma_min^2) = (3+sqrt 5)/8,
    # tightness = certificate / f = (3 + sqrt 5)/2 = 2.618... (not 1: s is not along the
    # smallest singular vector of D).
    W = torch.zeros(1, 2, dtype=F64)
    theta = torch.ones(1, dtype=F64)
    U = torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=F64)
    v = torch.tensor([1.0, 0.0], dtype=F64)
    smin = sigma_min_d_sq(W, theta, U, _IDENTITY)
    assert smin == pytest.approx((3 - math.sqrt(5)) / 2, rel=1e-12)
    assert objective(W, theta, U, v, _IDENTITY) == pytest.approx(0.25, rel=1e-12)
    gW, _ = gradients(W, theta, U, v, _IDENTITY)
    cert = certificate_bound(float((gW * gW).sum()), smin, 2, 2)
    assert cert == pytest.approx((3 + math.sqrt(5)) / 8, rel=1e-12)
    assert certificate_tightness(W, theta, U, v, _IDENTITY) == pytest.approx(
        (3 + math.sqrt(5)) / 2, rel=1e-12
    )
    # s along the smallest right singular vector of D: the certificate is exact (tightness 1)
    _, vecs = torch.linalg.eigh(
        d_matrix(W, theta, U, _IDENTITY).T @ d_matrix(W, theta, U, _IDENTITY)
    )
    assert certificate_tightness(W, theta, U, vecs[:, 0], _IDENTITY) == pytest.approx(1.0)


def test_certificate_tightness_is_certificate_over_f_on_random_points():
    W, theta, U, v = _problem(3, 4, 10, seed=5, act="sigmoid")
    gW, _ = gradients(W, theta, U, v, "sigmoid")
    cert = certificate_bound(float((gW * gW).sum()), sigma_min_d_sq(W, theta, U, "sigmoid"), 10, 12)
    t = certificate_tightness(W, theta, U, v, "sigmoid")
    assert t == pytest.approx(cert / objective(W, theta, U, v, "sigmoid"), rel=1e-12)
    assert t >= 1.0
    # no certificate when N > nd
    W2, th2, U2, v2 = _problem(1, 2, 3, seed=5)
    assert certificate_tightness(W2, th2, U2, v2, "sigmoid") == math.inf


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_d_full_column_rank_agrees_with_numpy_matrix_rank(seed):
    W, theta, U, _ = _problem(2, 3, 6, seed=seed, act="tanh")
    Dm = d_matrix(W, theta, U, "tanh").numpy()
    sv = np.linalg.svd(Dm, compute_uv=False)
    ok = d_full_column_rank(sv[-1] ** 2, sv[0] ** 2, 6, 6)
    assert ok == (np.linalg.matrix_rank(Dm) == 6) and ok
    Ddup = Dm.copy()
    Ddup[:, 5] = Ddup[:, 4]  # a repeated column: rank 5
    sv = np.linalg.svd(Ddup, compute_uv=False)
    assert not d_full_column_rank(sv[-1] ** 2, sv[0] ** 2, 6, 6)
    assert np.linalg.matrix_rank(Ddup) == 5
    assert not d_full_column_rank(1.0, 1.0, 7, 6)  # N > nd


@pytest.mark.parametrize("act", SMOOTH_ACTIVATIONS)
def test_lemma54_sup_constants_match_a_grid(act):
    # the closed-form global sups of |h'| and |h''| against a fine grid on [-30, 30]
    a = ACTIVATIONS[act]
    x = torch.linspace(-30, 30, 600_001, dtype=F64)
    for closed, fn in ((a.sup_dh, a.dh), (a.sup_d2h, a.d2h)):
        grid = float(fn(x).abs().max())
        assert grid <= closed * (1 + 1e-12)
        assert grid >= closed * (1 - 1e-6)
    if math.isfinite(a.sup_h):
        # L_{hh'} bounds sup ||grad H|| for H(x1, x2) = h(x1) h'(x2),
        # grad H = (h'(x1) h'(x2), h(x1) h''(x2))
        g = torch.linspace(-8, 8, 801, dtype=F64)
        X1, X2 = torch.meshgrid(g, g, indexing="ij")
        gnorm = torch.sqrt((a.dh(X1) * a.dh(X2)) ** 2 + (a.h(X1) * a.d2h(X2)) ** 2)
        _, l_hdh = lemma54_constants(act)
        assert float(gnorm.max()) <= l_hdh


def _w_hessian_norm(W, theta, U, v, act):
    n, d = W.shape

    def fW(w):
        return _f_torch(w.reshape(n, d), theta, U, v, act)

    H = torch.autograd.functional.hessian(fW, W.reshape(-1))
    return float(torch.linalg.eigvalsh(H).abs().max())


def test_softplus_has_no_global_lemma54_constant():
    # n = d = 2, N = 1, u = e_1, theta = (1, 1), W = [[t, 0], [0, 0]]: the W-Hessian has the
    # entry -s theta_2 h''(0) u_1^2 with s = v - h(t) - h(0) ~ -t, so it grows like t/4.
    U = torch.tensor([[1.0], [0.0]], dtype=F64)
    v = torch.tensor([0.0], dtype=F64)
    theta = torch.ones(2, dtype=F64)
    norms = {}
    for act in ("softplus", "sigmoid"):
        norms[act] = [
            _w_hessian_norm(torch.tensor([[t, 0.0], [0.0, 0.0]], dtype=F64), theta, U, v, act)
            for t in (10.0, 100.0, 1000.0)
        ]
    assert norms["softplus"][2] > 9 * norms["softplus"][1] > 81 * norms["softplus"][0] / 2
    assert norms["softplus"][2] == pytest.approx(1000.0 / 4, rel=0.01)
    L_sig = lemma54_global_bound(U, v, "sigmoid", n=2, radius=math.sqrt(2))
    assert max(norms["sigmoid"]) <= L_sig < math.inf
    assert L_sig == lemma54_bound(U, v, "sigmoid", n=2, radius=math.sqrt(2))
    assert lemma54_global_bound(U, v, "softplus", n=2, radius=1.0) == math.inf
    assert lemma54_global_bound(U, v, "relu", n=2, radius=1.0) == math.inf


def _teacher_run(act, n_outer=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    U = torch.randn(3, 8, generator=g, dtype=F64) / math.sqrt(3)
    Ws = torch.randn(3, 3, generator=g, dtype=F64)
    ts = torch.randn(3, generator=g, dtype=F64)
    v = ACTIVATIONS[act].h(Ws @ U).T @ ts
    R = 3.0 * float(ts.norm())
    return U, v, sgd_gd(U, v, n=3, activation=act, n_outer=n_outer, R=R, seed=seed)


def test_corollary59_is_the_papers_formula_and_dominates_5_21():
    U, v, res = _teacher_run("sigmoid")
    h = res.history
    L = 1.0 / h[0].gamma
    lth = max(x.l_theta for x in h)
    expected = 2 * L * (h[0].f_start + (2 * res.radius) ** 2 * (lth + 0.5) + 1) / 30
    assert corollary59_bound(res) == pytest.approx(expected, rel=1e-12)
    assert corollary59_bound(res) >= theorem59_bound(res)[-1]
    assert corollary59_bound(res) >= h[-1].running_min_grad_w_sq
    _, _, sp = _teacher_run("softplus")
    with pytest.raises(ValueError, match="gamma_k vary"):
        corollary59_bound(sp)


def test_theorem59_bound_with_one_lipschitz_constant():
    U, v, res = _teacher_run("sigmoid")
    L = 1.0 / res.history[0].gamma
    np.testing.assert_allclose(theorem59_bound(res, L), theorem59_bound(res), rtol=1e-12)
    # a larger L (still gamma < 2/L) shrinks the denominator: a larger bound
    assert np.all(theorem59_bound(res, 1.5 * L) > theorem59_bound(res))
    with pytest.raises(ValueError, match="gamma_k < 2/L"):
        theorem59_bound(res, 2.0 * L)


def test_lemma54_run_bound_covers_every_iterate():
    U, v, sp = _teacher_run("softplus")
    L_run = lemma54_run_bound(sp, U, v, "softplus")
    assert L_run >= max(1.0 / x.gamma for x in sp.history)
    x_max = max(float((sp.W @ U).abs().max()), *(x.max_abs_preact for x in sp.history))
    assert L_run == lemma54_bound(U, v, "softplus", n=3, radius=sp.radius, x_max=x_max + 1)
    U2, v2, sig = _teacher_run("sigmoid")
    assert lemma54_run_bound(sig, U2, v2, "sigmoid") == pytest.approx(1.0 / sig.history[0].gamma)
    # the diagnostics record sigma_max(D)^2 and the pre-activation box of each step
    assert all(x.sigma_max_d_sq >= x.sigma_min_d_sq for x in sp.history)
