"""ReLU-gate learners of Ch. 3 of ``003_a707f9d83869f5a2.txt`` against independent oracles.

Oracles: planted teachers recovered; the thesis' bounds (Theorem 3.5.2, Lemma
3.5.1 step by step, eq. (3.5), Theorem 3.4.1, Lemma 3.4.2) checked
numerically; closed-form moments of uniform boxes; autograd for the
subgradient; the exact second-moment recursion of the modified SGD.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dante
from dante.shallow import relu_gate as rg
from dante.shallow.relu_gate import (
    GATE_ACTIVATIONS,
    GLMOutputRoundRobin,
    confinement_failure_bound,
    confinement_guarantee,
    confinement_radius,
    glmtron,
    glmtron_risk_bound,
    glmtron_steps,
    modified_sgd_exact_rate,
    modified_sgd_rate,
    modified_sgd_relu,
    modified_sgd_step_size,
    noise_assisted_subgradient,
    relu_gate_moments,
    relu_subgradient,
)
from dante.solvers import SOLVER_NAMES


def _teacher(seed: int, m: int = 600, n: int = 4, shift: float = 0.6, norm: float = 2.0):
    """Shifted-Gaussian (non-symmetric) inputs in the unit ball and a teacher of norm ``norm``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)) + shift * 0.5 ** np.arange(n)
    X /= np.linalg.norm(X, axis=1).max()
    w = rng.standard_normal(n)
    w *= norm / np.linalg.norm(w)
    return X, w


def _risks(traj, X, w_star, act):
    fn = GATE_ACTIVATIONS[act][0]
    return np.mean((fn(traj @ X.T) - fn(X @ w_star)) ** 2, axis=1)


# ------------------------------------------------------------------ GLM-Tron
@pytest.mark.parametrize("act", ["relu", "sigmoid"])
def test_glmtron_recovers_realizable_teacher(act):
    X, w_star = _teacher(0)
    fn, L = GATE_ACTIVATIONS[act]
    y = fn(X @ w_star)
    eps = 0.01
    # W = 2, the teacher's norm by construction: the computed norm is 2 only up to an ulp
    # (1.9999999999999998 here, so W^2/eps = 399.9999999999999), and one ulp above 2 on
    # another BLAS would make ceil(W^2/eps) = 401; 4.0 / 0.01 rounds to 400.0 exactly (IEEE).
    res = glmtron(X, y, act, eps=eps, w_norm_bound=2.0)
    assert np.linalg.norm(w_star) == pytest.approx(2.0, rel=1e-12)
    assert res.T == math.ceil(4.0 / eps) == 400  # ||w*||^2/eps, not the printed ||w*||/eps
    assert np.all(res.trajectory[0] == 0)  # w_1 = 0 (set, not computed: exact)
    risks = _risks(res.trajectory, X, w_star, act)
    bound = glmtron_risk_bound(eps, 0.0, 2.0, L)
    assert bound == pytest.approx(L / (2 - L) * eps)
    assert risks.min() < bound and risks[-1] < bound
    # Lemma 3.5.1 with noise 0 telescopes: (2/L - 1) sum_t L~(h_t) <= ||w_1 - w*||^2
    # measured lhs 2.02 (relu) and 3.29 (sigmoid): the 1e-9 slack is only for rounding
    assert (2 / L - 1) * risks[:-1].sum() <= 4.0 + 1e-9
    # the distance to w* never increases in the realizable case; d ~ 1, so 1e-12 is ~1e4 ulps
    # of rounding, far below the smallest measured decrease (2.8e-6 per step)
    d = np.linalg.norm(res.trajectory - w_star, axis=1)
    assert np.all(np.diff(d) <= 1e-12)


@pytest.mark.parametrize("act", ["relu", "sigmoid"])
def test_glmtron_bounded_adversarial_noise_within_thesis_bound(act):
    X, w_star = _teacher(1)
    fn, L = GATE_ACTIVATIONS[act]
    clean = fn(X @ w_star)
    nu, eps = 0.1, 0.02
    used: list[np.ndarray] = []

    def adversary(t, w):  # adaptive: labels follow the current error, |xi| = nu
        xi = nu * np.where(fn(X @ w) >= clean, 1.0, -1.0)
        used.append(xi)
        return xi

    res = glmtron(X, clean, act, eps=eps, w_norm_bound=2.0, adversary=adversary)
    risks = _risks(res.trajectory, X, w_star, act)
    bound = glmtron_risk_bound(eps, nu, 2.0, L)
    assert risks.min() < bound and risks[-1] < bound
    # Lemma 3.5.1 step by step, with eta_t = ||(1/S) sum xi_i x_i|| and W_t = ||w_t - w*||
    d2 = np.sum((res.trajectory - w_star) ** 2, axis=1)
    for t, xi in enumerate(used):
        eta = np.linalg.norm(X.T @ xi) / len(X)
        W = math.sqrt(d2[t])
        rhs = d2[t] - (2 / L - 1) * risks[t] + eta**2 + 2 * eta * W * (L + 1)
        assert d2[t + 1] <= rhs + 1e-12  # measured margin >= 0.027 at every step
    # a static adversary gives labels away from sigma(w*.x) by exactly nu as well
    y = clean - nu * np.sign(X @ w_star)
    res2 = glmtron(X, y, act, eps=eps, w_norm_bound=2.0)
    assert _risks(res2.trajectory, X, w_star, act).min() < bound


def test_glmtron_steps_ignore_float_noise_but_not_a_larger_bound():
    """``T = ceil(W^2 / eps)``: a ``W = ||w*||`` one ulp above 2 (as a BLAS norm may give)
    is 2, not a reason for step 401; a genuinely larger ``W`` still rounds up."""
    assert glmtron_steps(2.0, 0.01) == 400
    assert glmtron_steps(2.0 * (1 + 2**-52), 0.01) == 400
    assert glmtron_steps(2.0 * (1 + 1e-9), 0.01) == 401
    assert glmtron_steps(2.0001, 0.01) == 401
    assert glmtron_steps(1e-9, 0.01) == 1


def test_glmtron_step_rescaling_is_glmtron_on_unit_ball_inputs():
    X, w_star = _teacher(2)
    R = 3.0
    y = np.maximum(X @ w_star, 0)
    a = glmtron(X, y, "relu", T=50)
    b = glmtron(R * X, y, "relu", T=50, step=1 / R**2)  # w scaled by 1/R
    # float64, |w| ~ 1, 50 steps: measured difference 2.2e-16 (one ulp)
    np.testing.assert_allclose(b.trajectory * R, a.trajectory, atol=1e-12)


# ------------------------------------------------------------- modified SGD
def test_modified_sgd_converges_linearly_no_slower_than_predicted():
    rng = np.random.default_rng(5)
    m, n = 500, 4
    X = rng.uniform(-0.25, 1.0, (m, n))  # skewed box: not symmetric about 0
    w_star = np.array([1.0, -0.7, 0.5, 0.2])
    y = np.maximum(X @ w_star, 0)
    eta = modified_sgd_step_size(X, y)
    lam, c1 = relu_gate_moments(X, y)
    pred = modified_sgd_rate(X, y)
    assert eta == pytest.approx(lam / c1) and pred == pytest.approx(1 - lam**2 / c1)
    # eq. (3.4)-(3.5): lambda_max(E[P^2]) <= 1 - 2 eta lam + eta^2 c1 = pred, and the exact
    # second-moment rate (spectral radius of S -> E[P S P]) is at most that
    pos = X[y > 0]
    EA = pos.T @ pos / m
    EP2 = np.eye(n) - 2 * eta * EA + eta**2 * (pos.T * np.sum(pos**2, 1)) @ pos / m
    exact = modified_sgd_exact_rate(X, y, eta)
    # measured margins 1.8e-4 and 2.9e-3 on quantities ~1: the 1e-12 covers rounding only
    assert exact <= np.linalg.eigvalsh(EP2)[-1] + 1e-12 <= pred + 1e-12
    w1 = np.array([-1.0, 1.0, 1.0, -1.0])
    T = 4000
    runs = [modified_sgd_relu(X, y, None, T, w1=w1, seed=s) for s in range(6)]
    assert runs[0].step == pytest.approx(eta)
    d2 = np.stack([np.sum((r.trajectory - w_star) ** 2, axis=1) for r in runs])
    for row in d2:
        stop = np.argmax(row < 1e-20) or len(row)
        slope = np.polyfit(np.arange(stop), np.log(row[:stop]), 1)[0]
        assert math.exp(slope) <= pred  # empirical per-step rate <= 1 - lam^2/c1
        assert row[-1] <= 100 * pred**T * row[0]  # Markov on E||d_T||^2 <= pred^T ||d_1||^2
    assert d2[:, -1].max() < 1e-8


def test_modified_sgd_mean_square_matches_exact_second_moment_recursion():
    X, w_star = _teacher(6, m=200, n=3)
    y = np.maximum(X @ w_star, 0)
    eta = modified_sgd_step_size(X, y)
    w1 = w_star + np.array([1.0, -1.0, 0.5])
    T, R = 150, 400
    d2 = np.mean(
        [
            np.sum((modified_sgd_relu(X, y, eta, T, w1=w1, seed=s).trajectory - w_star) ** 2, 1)
            for s in range(R)
        ],
        axis=0,
    )
    # oracle: S_{t+1} = E[P S_t P], P = I - eta 1{y>0} x x^T, from S_0 = d d^T
    S = np.outer(w1 - w_star, w1 - w_star)
    pos = X[y > 0]
    Ps = [np.eye(3) - eta * np.outer(x, x) for x in pos]
    n_neg = len(X) - len(pos)
    exact = [np.trace(S)]
    for _ in range(T):
        S = (sum(P @ S @ P for P in Ps) + n_neg * S) / len(X)
        exact.append(np.trace(S))
    exact = np.array(exact)
    np.testing.assert_allclose(d2[[25, 75, 150]], exact[[25, 75, 150]], rtol=0.1)
    assert exact[-1] <= modified_sgd_rate(X, y) ** T * exact[0]


@pytest.mark.parametrize("case", ["box_0_1_positive_teacher", "box_sym_halfspace"])
def test_step_size_estimate_equals_closed_form(case):
    rng = np.random.default_rng(7)
    n, m = 3, 200_000
    # E||x||^4 = n E[x^4] + n(n-1) E[x^2]^2 for i.i.d. coordinates
    if case == "box_0_1_positive_teacher":
        X = rng.uniform(0, 1, (m, n))  # non-symmetric; 1{w*.x > 0} = 1 a.s.
        w_star = np.array([1.0, 2.0, 0.5])
        lam_true = 1 / 12  # E[xx^T] = I/12 + 11^T/4
        c1_true = n / 5 + n * (n - 1) / 9
    else:
        X = rng.uniform(-1, 1, (m, n))
        w_star = np.array([2.0, 0.0, 0.0])  # indicator 1{x_1 > 0}
        lam_true = 1 / 6  # E[1{x1>0} x x^T] = I/6
        c1_true = 0.5 * (n / 5 + n * (n - 1) / 9)
    y = np.maximum(X @ w_star, 0)
    lam, c1 = relu_gate_moments(X, y)
    assert lam == pytest.approx(lam_true, rel=0.02)
    assert c1 == pytest.approx(c1_true, rel=0.02)
    assert modified_sgd_step_size(X, y) == pytest.approx(lam_true / c1_true, rel=0.03)
    assert 1 - modified_sgd_rate(X, y) == pytest.approx(lam_true**2 / c1_true, rel=0.05)
    # the observable label indicator equals the theorem's 1{w*.x > 0} on realizable data.
    # Same rows, so equal up to the BLAS's summation of Xp^T Xp (which may depend on the
    # copy's alignment); one row more or fewer would move lam by ~1/m = 5e-6 relative.
    assert relu_gate_moments(X, w_star=w_star) == pytest.approx((lam, c1), rel=1e-12)


# ------------------------------------------------------ noise-assisted GD
def test_relu_subgradient_matches_autograd():
    X, w_star = _teacher(8, m=50)
    y = np.maximum(X @ w_star, 0)
    w = np.random.default_rng(0).standard_normal(4)
    wt = torch.tensor(w, requires_grad=True)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    (0.5 * ((yt - torch.relu(Xt @ wt)) ** 2).mean()).backward()
    # float64, gradient entries ~0.1: measured 1.4e-17; min |x.w| = 0.01, so the kink
    # indicator cannot differ between numpy and torch
    np.testing.assert_allclose(relu_subgradient(X, y, w), wt.grad.numpy(), atol=1e-12)


def test_noise_assisted_stays_within_confinement_radius():
    X, w_star = _teacher(9, m=300, n=3)
    y = np.maximum(X @ w_star, 0)
    C = np.linalg.norm(X, axis=1).max()
    i_max, s1, s2, delta = 400, 0.3, 0.2, 0.05
    eta = 0.05 / (C**2 * math.sqrt(2 * i_max))
    w0 = w_star + np.array([2.0, -1.0, 1.0])
    d0 = np.linalg.norm(w0 - w_star)
    g = confinement_guarantee(eta, i_max, C=C, n=3, dist0=d0, S1=s1, zeta2_std=s2, delta=delta)
    # equality up to 3.5e-17 (the bisection stops at the boundary): the slack absorbs rounding
    assert g.failure_bound <= delta + 1e-12
    # r* solves the theorem's defining inequality with equality
    r = g.radius
    rhs = g.lam + d0**2 + i_max * (2 * eta**2 * (C**4 * r**2 + s1**2) + eta * 3)
    assert r**2 == pytest.approx(rhs, rel=1e-10)
    worst = 0.0
    for seed in range(5):
        res = noise_assisted_subgradient(
            X, y, eta, i_max, zeta1_radius=s1, zeta2_std=s2, w0=w0, seed=seed
        )
        worst = max(worst, res.distances(w_star).max())
        # Lemma 3.4.2 along the run: <w_t - w*, g_t> >= (1/S) sum 1{w_t.x>=0} (relu diff)^2
        for w in res.trajectory[::50]:
            gt = relu_subgradient(X, y, w)
            z = X @ w
            low = np.mean((z >= 0) * (np.maximum(X @ w_star, 0) - np.maximum(z, 0)) ** 2)
            assert (w - w_star) @ gt >= low - 1e-12  # measured margin >= 0.015
    assert worst <= r
    # the printed exponent (k, not k^2) gives a smaller radius at the same delta
    printed = confinement_guarantee(
        eta, i_max, C=C, n=3, dist0=d0, S1=s1, zeta2_std=s2, delta=delta, k_power=1
    )
    assert printed.radius < r


def test_noiseless_subgradient_descent_never_moves_away():
    # ||g||^2 <= C^2 <g, w - w*> (Lemma 3.4.2 + Jensen), so eta <= 2/C^2 is monotone
    X, w_star = _teacher(10, m=200, n=3)
    y = np.maximum(X @ w_star, 0)
    C = np.linalg.norm(X, axis=1).max()
    res = noise_assisted_subgradient(X, y, 1.0 / C**2, 300, w0=np.array([0.5, 0.5, 0.5]))
    d = res.distances(w_star)
    # d ~ 1: 1e-12 is rounding slack; the smallest measured decrease is 2.7e-4 per step
    assert np.all(np.diff(d) <= 1e-12) and d[-1] < d[0]


# --------------------------------------------------------- DANTE solvers
def test_solvers_are_registered():
    assert "glmtron" in SOLVER_NAMES and "relu_gate_sgd" in SOLVER_NAMES
    assert dante.TrainConfig(solver="glmtron").resolved_solver == "glmtron"


def _layer_data(seed, n=4, m=300, k=2, act="sigmoid"):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((m, n)) + 0.4).astype(np.float32)
    W = rng.standard_normal((k, n))
    b = 0.3 * rng.standard_normal(k)
    fn = GATE_ACTIVATIONS[act][0]
    return X, fn(X @ W.T + b).astype(np.float32), W, b


def test_glmtron_solver_in_trainer_is_full_batch_glmtron_per_unit():
    X, Y, _, _ = _layer_data(11)
    net = dante.MLP([4, 2], output_activation="sigmoid", seed=0)
    W0 = torch.cat([net.layers[0].linear.weight, net.layers[0].linear.bias[:, None]], 1)
    W0 = W0.detach().double().numpy()
    res = dante.fit(
        net, X, Y, schedule=dante.RoundRobin(), solver="glmtron",
        batch_size=len(X), t_sngd=20, max_alternations=5, tol=0,
    )  # fmt: skip
    assert res.budget.steps == 100
    assert res.final["train_loss"] < 0.5 * res.history[0]["train_loss"]
    Xa = np.hstack([X, np.ones((len(X), 1))]).astype(np.float64)
    step = 1.0 / np.max(np.sum(Xa**2, 1))
    W = np.hstack([net.layers[0].linear.weight.detach().numpy(),
                   net.layers[0].linear.bias.detach().numpy()[:, None]])  # fmt: skip
    for j in range(2):
        ref = glmtron(Xa, Y[:, j], "sigmoid", T=100, step=step, w1=W0[j])
        # float32 trainer vs float64 oracle, 100 steps: measured 1.7e-7; weights move by ~0.7
        np.testing.assert_allclose(W[j], ref.w, atol=2e-5)


def test_glmtron_solver_on_output_block_of_hidden_net():
    X, Y, _, _ = _layer_data(12, k=1, act="relu")
    net = dante.MLP([4, 8, 1], seed=0)
    # RoundRobin has one solver per stage: GLM-Tron cannot train the hidden block
    with pytest.raises(ValueError, match=r"glmtron.*GLMOutputRoundRobin"):
        dante.fit(net, X, Y[:, 0], schedule=dante.RoundRobin(), solver="glmtron", t_sngd=1)
    net = dante.MLP([4, 8, 1], seed=0)
    sched = GLMOutputRoundRobin(rounds=3)
    res = dante.fit(net, X, Y[:, 0], schedule=sched, batch_size=50, lr=0.01, t_sngd=2)
    assert [s["name"] for s in res.stages] == ["glm_output", "hidden"] * 3
    losses = [s["losses"] for s in res.stages]
    assert losses[0][1] < losses[0][0]  # the GLM-Tron phase lowers the loss
    assert res.final["train_loss"] < 0.5 * res.history[0]["train_loss"]


def test_relu_gate_sgd_solver_recovers_planted_relu_layer():
    X, Y, W, b = _layer_data(13, n=3, act="relu")
    net = dante.MLP([3, 2], output_activation="relu", seed=0)
    res = dante.fit(
        net, X, Y, schedule=dante.RoundRobin(), solver="relu_gate_sgd",
        batch_size=50, t_sngd=10, max_alternations=5, tol=0,
    )  # fmt: skip
    assert res.final["train_loss"] < 1e-6 < res.history[0]["train_loss"]  # measured 1.4e-10
    lin = net.layers[0].linear
    # recovery, not rounding: measured error 3.9e-5 (float32 SGD)
    np.testing.assert_allclose(lin.weight.detach().numpy(), W, atol=1e-3)
    np.testing.assert_allclose(lin.bias.detach().numpy(), b, atol=1e-3)


# --------------------------------------------------------- bad arguments
def _X():
    X, w = _teacher(0, m=20, n=3)
    return X, np.maximum(X @ w, 0)


BAD = [
    (lambda: glmtron(*_X(), T=0), ValueError, r"\bT\b"),
    (lambda: glmtron(*_X()), ValueError, r"\bT\b.*eps"),
    (lambda: glmtron(*_X(), T=5, step=4.0), ValueError, r"step"),
    (lambda: glmtron(*_X(), "softplus", T=5), ValueError, r"activation"),
    (lambda: glmtron(*_X(), lambda z: z, T=5), ValueError, r"lipschitz"),
    (lambda: glmtron(*_X(), "relu", T=5, lipschitz=2.5), ValueError, r"Lipschitz"),
    (lambda: glmtron(_X()[0], np.ones(3), T=5), ValueError, r"\by\b"),
    (lambda: glmtron_steps(2.0, -1.0), ValueError, r"eps"),
    (lambda: glmtron_risk_bound(0.1, -1.0, 1.0, 1.0), ValueError, r"theta"),
    (lambda: modified_sgd_relu(*_X(), eta=-1.0), ValueError, r"eta"),
    (lambda: modified_sgd_relu(*_X(), T=0), ValueError, r"\bT\b"),
    (lambda: modified_sgd_relu(*_X(), w1=np.ones(5)), ValueError, r"w1"),
    (lambda: modified_sgd_step_size(_X()[0], -np.ones(20)), ValueError, r"positive definite"),
    (lambda: relu_gate_moments(_X()[0]), ValueError, r"y.*w_star"),
    (lambda: noise_assisted_subgradient(*_X(), 0.1, 5, zeta2_std=1.5), ValueError, "zeta2_std"),
    (lambda: noise_assisted_subgradient(*_X(), -0.1, 5), ValueError, r"eta"),
    (
        lambda: confinement_radius(1.0, 100, C=1.0, S1=0.0, n=3, dist0=1.0, lam=1.0),
        ValueError,
        r"eta",
    ),
    (
        lambda: confinement_guarantee(0.001, 10, C=1.0, n=3, dist0=1.0, delta=2.0),
        ValueError,
        r"delta",
    ),
    (
        lambda: confinement_failure_bound(
            0.1, 10, 1.0, 1.0, C=1.0, S1=0.0, n=3, C_L=1.0, p_zeta2=0.0, k_power=3
        ),
        ValueError,
        r"k_power",
    ),
    (lambda: GLMOutputRoundRobin(rounds=0), ValueError, r"rounds"),
]


@pytest.mark.parametrize("call, exc, match", BAD)
def test_bad_arguments_raise_naming_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_solver_preconditions_raise_with_fix():
    X, Y, _, _ = _layer_data(14, k=2, act="sigmoid")
    y = Y.argmax(1)
    net = dante.MLP([4, 2], output_activation="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"relu_gate_sgd.*output_activation='relu'"):
        dante.fit(net, X, Y, schedule=dante.RoundRobin(), solver="relu_gate_sgd")
    with pytest.raises(ValueError, match=r"glmtron.*loss='mse'"):
        dante.fit(net, X, y, schedule=dante.RoundRobin(), solver="glmtron", loss="cross_entropy")
    wide = dante.MLP([4, 2], output_activation=dante.GeneralizedReLU(0.1, 2.5), seed=0)
    with pytest.raises(ValueError, match=r"glmtron.*L < 2"):
        dante.fit(wide, X, Y, schedule=dante.RoundRobin(), solver="glmtron")
    with pytest.raises(TypeError, match="layer"):
        rg.GLMTronSolver("not a layer")  # type: ignore[arg-type]
