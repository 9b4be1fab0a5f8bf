"""Whole-phase output-layer solvers (:mod:`dante.output_solvers`).

Oracles: numpy's float64 least squares for ``ridge`` (our normal equations
are formed in float64 too, so the weights agree to ~1e-6 after the float32
cast; 1e-4 leaves room for conditioning on other BLAS builds), an iterative
solver reaching the closed form's loss, and scikit-learn's multinomial
``LogisticRegression`` for ``lbfgs`` on softmax cross-entropy (same
objective, ``C = 1 / (n * l2)``; both stop at a gradient tolerance, so the
probabilities agree to ~1e-4 and we allow 2e-3).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import dante
from dante.losses import get_loss
from dante.output_solvers import make_output_solver


def _rows(H):
    return lambda i, j: H[i:j]


def _linear_net(d, k, act="identity", seed=0):
    # a one-layer "net" whose only block is the output layer
    return dante.MLP([d, k], activation=act, output_activation=act, seed=seed)


def test_ridge_is_the_least_squares_solution():
    g = torch.Generator().manual_seed(0)
    H = torch.randn(500, 12, generator=g)
    T = H @ torch.randn(12, 3, generator=g) + 0.5 + 0.1 * torch.randn(500, 3, generator=g)
    net = _linear_net(12, 3)
    solver = make_output_solver("ridge", net, (0,), (0,), get_loss("mse"), {"alpha": 1e-12})
    before, passes = solver.solve(_rows(H), len(H), T, 10)
    A = np.hstack([H.double().numpy(), np.ones((500, 1))])
    theta = np.linalg.lstsq(A, T.double().numpy(), rcond=None)[0]
    np.testing.assert_allclose(net.layers[0].linear.weight.detach().numpy(), theta[:12].T,
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(net.layers[0].linear.bias.detach().numpy(), theta[12],
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    assert passes == 1
    with torch.no_grad():
        init = get_loss("mse")(_linear_net(12, 3)(H), T)
    assert before == pytest.approx(float(init), rel=1e-5)


def test_lbfgs_reaches_the_closed_form_loss():
    g = torch.Generator().manual_seed(1)
    H = torch.randn(400, 10, generator=g)
    T = torch.randn(400, 2, generator=g)
    a, b = _linear_net(10, 2), _linear_net(10, 2)
    mse = get_loss("mse")
    make_output_solver("ridge", a, (0,), (0,), mse, {}).solve(_rows(H), 400, T, 10)
    opts = {"l2": 0.0, "max_passes": 200}
    make_output_solver("lbfgs", b, (0,), (0,), mse, opts).solve(_rows(H), 400, T, 200)
    with torch.no_grad():
        la, lb = float(mse(a(H), T)), float(mse(b(H), T))
    # the minimum is ~0.95 (noise); an unfinished L-BFGS would sit 1e-2 above it
    assert lb == pytest.approx(la, rel=1e-4)


def test_lbfgs_softmax_matches_logistic_regression():
    d = load_digits()
    X = (d.data[:400] / 16).astype(np.float32)
    y = d.target[:400]
    l2 = 1e-2
    net = _linear_net(64, 10)
    solver = make_output_solver("lbfgs", net, (0,), (0,), get_loss("cross_entropy"),
                                {"l2": l2, "max_passes": 500, "tol": 1e-12})  # fmt: skip
    H = torch.from_numpy(X)
    solver.solve(_rows(H), len(H), torch.from_numpy(y).long(), 500)
    ref = LogisticRegression(C=1 / (len(X) * l2), tol=1e-10, max_iter=5000).fit(X, y)
    with torch.no_grad():
        ours = torch.softmax(net(H), dim=1).numpy()
    np.testing.assert_allclose(ours, ref.predict_proba(X), atol=2e-3)


def test_ridge_falls_back_to_lbfgs_off_its_problem():
    net = dante.MLP([5, 4, 3], output_activation="sigmoid", seed=0)
    solver = make_output_solver("ridge", net, (1,), (1,), get_loss("mse"), {})
    assert solver.name == "lbfgs"
    assert make_output_solver("ridge", net, (0,), (0, 1), get_loss("mse"), {}) is None  # hidden


def _regression(n=300, seed=0):
    g = np.random.default_rng(seed)
    X = g.normal(size=(n, 8)).astype(np.float32)
    y = (np.tanh(X @ g.normal(size=8)) + 0.1 * g.normal(size=n)).astype(np.float32)
    return X, y


def test_trainer_output_phase_is_the_closed_form_on_the_features():
    X, y = _regression()
    net = dante.MLP([8, 16, 1], seed=0)
    res = dante.fit(net, X, y, output_solver="ridge", max_alternations=2, lr=0.05,
                    batch_size=30, tol=0.0)  # fmt: skip
    assert res.stages[0]["solvers"] == {"1": "ridge"}
    # after the run (its last phase trained the hidden block) one more closed-form
    # solve on the final features must land at most at the final loss
    with torch.no_grad():
        F = net.forward_path(torch.from_numpy(X), (0,))
    out = _linear_net(16, 1)
    T = torch.from_numpy(y)[:, None]
    make_output_solver("ridge", out, (0,), (0,), get_loss("mse"), {}).solve(_rows(F), len(F), T, 1)
    with torch.no_grad():
        best = float(get_loss("mse")(out(F), T))
    assert best <= res.final["train_loss"] * (1 + 1e-5)
    # budget: each ridge phase is charged one pass = one block-epoch of the output layer
    steps = math.ceil(300 / 30)
    hidden, output = 8 * 16 + 16, 16 + 1
    assert res.budget.weights_updated == 2 * (output * steps + hidden * steps * 5)


def test_output_solver_stops_at_the_budget():
    X, y = _regression()
    kw = dict(output_solver="lbfgs", max_alternations=5, batch_size=30, tol=0.0)
    res = dante.fit(dante.MLP([8, 16, 1], seed=0), X, y, max_weights_updated=17 * 10 * 3, **kw)
    assert res.budget.weights_updated <= 17 * 10 * 3
    assert res.stages[0]["stop_reason"] == "budget"


def test_lbfgs_output_trains_digits_classifier_better_than_sngd_alone():
    d = load_digits()
    X, y = (d.data / 16).astype(np.float32), d.target
    kw = dict(loss="cross_entropy", lr=0.1, max_alternations=3, batch_size=64, tol=0.0)
    plain = dante.fit(dante.MLP([64, 32, 10], seed=0), X, y, **kw)
    solved = dante.fit(dante.MLP([64, 32, 10], seed=0), X, y, output_solver="lbfgs", **kw)
    # measured: 0.97-0.98 (SNGD) vs 0.99-1.0 (L-BFGS output); the solved output
    # layer is the exact minimiser given the features, so it cannot be far below
    assert solved.final["train_loss"] < plain.final["train_loss"]
    assert solved.final["train_accuracy"] > 0.95


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(output_solver="newton"), "unknown output_solver 'newton'"),
        (dict(output_solver="lbfgs", output_solver_options={"passes": 3}),
         "unknown output_solver_options"),
        (dict(output_solver="lbfgs", output_solver_options={"max_passes": 0}), "positive"),
        (dict(output_solver_options={"l2": 1.0}), "without an output_solver"),
        (dict(output_solver="lbfgs", output_solver_options={"history": 0}), r"\['history'\]"),
        (dict(output_solver="lbfgs", output_solver_options={"history": 2.5}), r"\['history'\]"),
        (dict(output_solver="lbfgs", output_solver_options={"c2": 1.0}), r"\['c2'\]"),
        (dict(output_solver="lbfgs", output_solver_options={"c2": 1e-5}), r"\['c2'\]"),
        (dict(output_solver="lbfgs", output_solver_options={"gauss_newton": 1}), "gauss_newton"),
    ],
)  # fmt: skip
def test_bad_output_solvers_are_refused_by_name(kw, match):
    with pytest.raises(ValueError, match=match):
        dante.TrainConfig(**kw)


def test_lbfgs_on_a_row_subsample_is_charged_its_fraction_and_nearly_as_good():
    g = torch.Generator().manual_seed(3)
    H = torch.randn(2000, 10, generator=g)
    y = (H @ torch.randn(10, 4, generator=g)).argmax(dim=1)
    ce = get_loss("cross_entropy")
    full, sub = _linear_net(10, 4), _linear_net(10, 4)
    opts = {"l2": 1e-3, "max_passes": 30}
    _, p_full = make_output_solver("lbfgs", full, (0,), (0,), ce, opts).solve(_rows(H), 2000, y, 99)
    _, p_sub = make_output_solver("lbfgs", sub, (0,), (0,), ce, {**opts, "rows": 500}).solve(
        _rows(H), 2000, y, 99
    )
    # at most 30 evaluations (fewer once converged), each on a quarter of the rows,
    # plus the gather: 0.25 * (1 + evaluations) passes
    evals = (p_sub - 0.25) / 0.25
    assert 1 <= p_full <= 30 and 1 <= round(evals) <= 30
    assert evals == pytest.approx(round(evals), abs=1e-9)
    with torch.no_grad():
        lf, ls = float(ce(full(H), y)), float(ce(sub(H), y))
    # a linear softmax on 500 of 2,000 separable-ish rows: measured 3-6 % above the
    # full solve's loss; a wrong row mapping (labels of other rows) would be near chance
    assert ls < 1.25 * lf + 0.02


@pytest.mark.parametrize("name", ["ridge", "lbfgs"])
def test_non_finite_features_raise_and_leave_the_output_layer_as_it_was(name):
    X, y = _regression()
    net = dante.MLP([8, 16, 1], seed=0)
    with torch.no_grad():
        net.layers[0].linear.weight[0, 0] = float("nan")  # every hidden feature row turns NaN
    out_before = [p.detach().clone() for p in net.layers[1].parameters()]
    with pytest.raises(dante.NonFiniteLossError, match="output solve"):
        dante.fit(net, X, y, output_solver=name, max_alternations=1, batch_size=30)
    for p, q in zip(net.layers[1].parameters(), out_before):
        assert torch.equal(p, q)  # restored bit for bit (a copy, no arithmetic)
