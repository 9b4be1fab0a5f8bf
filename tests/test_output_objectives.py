"""The output layer's closed-form objective, its L-BFGS and Gauss-Newton step
(:mod:`dante.output_objectives`, :mod:`dante.output_lbfgs`,
:mod:`dante.output_gauss_newton`) against autograd and least squares.

Tolerances. In float64 the closed-form loss and gradient and autograd's differ by
the order of summation only (measured <= 1e-14 relative); 1e-6 relative leaves
room for any BLAS while a wrong term (a missing bias gradient, the softmax not
shifted by the target, the wrong activation derivative or a missing 1/n) moves
them by 1e-2 or more.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dante
from dante.activations import GeneralizedReLU
from dante.losses import get_loss
from dante.output_gauss_newton import gauss_newton_direction
from dante.output_lbfgs import lbfgs_output
from dante.output_objectives import OutputObjective
from dante.output_solvers import make_output_solver


def _rows(H):
    return lambda i, j: H[i:j]


def _linear_net(d, k, act="identity", seed=0):
    return dante.MLP([d, k], activation=act, output_activation=act, seed=seed)


_ACTS = ["identity", "leaky_relu", "relu", "sigmoid", "tanh", GeneralizedReLU(0.2, 1.5)]
_LOSSES = [("mse", 3), ("mse", 1), ("cross_entropy", 3), ("cross_entropy", 1)]


def _problem(act, loss, k, n=50, d=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    net = dante.MLP([d, k], activation=act, output_activation=act, seed=seed).double()
    H = torch.randn(n, d, generator=g, dtype=torch.float64)
    L = get_loss(loss)
    T = L.prepare_targets(torch.randint(0, max(k, 2), (n,), generator=g), k, True)
    return net.layers[0], H, L, (T.double() if T.is_floating_point() else T)


def _autograd(layer, H, L, T, l2):
    lin = layer.linear
    layer.zero_grad()
    with torch.enable_grad():
        value = L.sum(layer(H), T) / len(H) + 0.5 * l2 * lin.weight.pow(2).sum()
        value.backward()
    return float(value.detach()), lin.weight.grad.clone(), lin.bias.grad.clone()


def _rel(a, b):
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


@pytest.mark.parametrize("act", _ACTS, ids=str)
@pytest.mark.parametrize("loss, k", _LOSSES)
@pytest.mark.parametrize("chunk", [16, 1000])  # several chunks of rows, and one
def test_fused_objective_equals_autograd(act, loss, k, chunk):
    layer, H, L, T = _problem(act, loss, k)
    obj = OutputObjective(layer, L, _rows(H), len(H), T, l2=0.3, chunk=chunk)
    value = obj.evaluate()
    ref, gw, gb = _autograd(layer, H, L, T, 0.3)
    assert value == pytest.approx(ref, rel=1e-6)
    assert obj.last_loss == pytest.approx(ref - 0.15 * float(layer.linear.weight.pow(2).sum()),
                                          rel=1e-6)  # fmt: skip
    assert _rel(obj.grad_weight, gw) < 1e-6 and _rel(obj.grad_bias, gb) < 1e-6


@pytest.mark.parametrize("act", ["identity", "leaky_relu", "sigmoid"])
@pytest.mark.parametrize("loss, k", _LOSSES)
def test_line_values_slopes_and_accepted_gradient_equal_autograd(act, loss, k):
    layer, H, L, T = _problem(act, loss, k, seed=1)
    lin = layer.linear
    obj = OutputObjective(layer, L, _rows(H), len(H), T, l2=0.3, chunk=16)
    obj.evaluate()
    g = torch.Generator().manual_seed(2)
    dW = 0.1 * torch.randn(lin.weight.shape, generator=g, dtype=torch.float64)
    db = 0.1 * torch.randn(lin.bias.shape, generator=g, dtype=torch.float64)
    obj.set_direction(dW, db)
    value, slope = obj.line(0.7)
    obj.line(0.2)  # accept must not use the last trial's state
    W0, b0 = lin.weight.detach().clone(), lin.bias.detach().clone()
    with torch.no_grad():
        lin.weight.add_(dW, alpha=0.7)
        lin.bias.add_(db, alpha=0.7)
    ref, gw, gb = _autograd(layer, H, L, T, 0.3)
    with torch.no_grad():
        lin.weight.copy_(W0)
        lin.bias.copy_(b0)
    assert value == pytest.approx(ref, rel=1e-6)
    assert slope == pytest.approx(float((gw * dW).sum() + (gb * db).sum()), rel=1e-6)
    assert obj.accept(0.7) == pytest.approx(ref, rel=1e-6)
    assert torch.allclose(lin.weight, W0 + 0.7 * dW, rtol=0, atol=1e-15)
    assert _rel(obj.grad_weight, gw) < 1e-6 and _rel(obj.grad_bias, gb) < 1e-6


def test_objective_refuses_what_it_cannot_do():
    net = dante.MLP([4, 3], activation="identity", output_activation="identity", seed=0)
    net.layers[0].activation = torch.nn.Softplus()
    H = torch.randn(10, 4)
    assert not OutputObjective.supports(net.layers[0], get_loss("mse"))
    with pytest.raises(ValueError, match="activation"):
        OutputObjective(net.layers[0], get_loss("mse"), _rows(H), 10, torch.zeros(10, 3))


@pytest.mark.parametrize("act, loss, k", [("identity", "cross_entropy", 4),
                                          ("leaky_relu", "mse", 3),
                                          ("sigmoid", "cross_entropy", 1)])  # fmt: skip
@pytest.mark.parametrize("cap", [1, 2, 7])
def test_output_lbfgs_decreases_the_objective_within_its_passes(act, loss, k, cap):
    layer, H, L, T = _problem(act, loss, k, n=300, d=6, seed=3)
    first = OutputObjective(layer, L, _rows(H), 300, T, l2=1e-3)
    start = first.evaluate()
    obj = OutputObjective(layer, L, _rows(H), 300, T, l2=1e-3)
    before, passes = lbfgs_output(obj, cap, tol=0.0)
    after = OutputObjective(layer, L, _rows(H), 300, T, l2=1e-3).evaluate()
    assert passes == cap  # tol 0: every allowed pass is made, never one more
    assert before == pytest.approx(first.last_loss, rel=1e-12)  # the loss, without the penalty
    # a random start is far from the optimum: one iteration already lowers the
    # objective by more than rounding (measured >= 5 % with 2 passes)
    assert after <= start if cap == 1 else after < 0.99 * start


def test_output_lbfgs_reaches_the_ridge_solution():
    g = torch.Generator().manual_seed(4)
    H = torch.randn(400, 10, generator=g, dtype=torch.float64)
    T = H @ torch.randn(10, 2, generator=g, dtype=torch.float64) + 0.1 * torch.randn(
        400, 2, generator=g, dtype=torch.float64
    )
    a, b = _linear_net(10, 2).double(), _linear_net(10, 2).double()
    mse = get_loss("mse")
    make_output_solver("ridge", a, (0,), (0,), mse, {"alpha": 1e-12}).solve(_rows(H), 400, T, 1)
    obj = OutputObjective(b.layers[0], mse, _rows(H), 400, T, l2=0.0)
    _, passes = lbfgs_output(obj, 100, tol=1e-14)
    with torch.no_grad():
        la, lb = float(mse(a(H), T)), float(mse(b(H), T))
    # least squares is a quadratic: L-BFGS with exact line searches ends at the
    # closed form's minimum (~0.01, the noise); 1e-8 relative is far below the
    # 1e-2 an unfinished solve sits above it
    assert lb == pytest.approx(la, rel=1e-8)
    assert passes < 100
    wa, wb = a.layers[0].linear.weight.detach(), b.layers[0].linear.weight.detach()
    np.testing.assert_allclose(wb, wa, rtol=0, atol=1e-5)


def test_lbfgs_solver_falls_back_to_autograd_for_other_activations():
    g = torch.Generator().manual_seed(5)
    H = torch.randn(200, 6, generator=g)
    T = torch.rand(200, 2, generator=g)
    net = _linear_net(6, 2)
    net.layers[0].activation = torch.nn.Softplus()  # no closed-form path for it
    mse = get_loss("mse")
    with torch.no_grad():
        start = float(mse(net(H), T))
    before, passes = make_output_solver("lbfgs", net, (0,), (0,), mse, {"max_passes": 10}).solve(
        _rows(H), 200, T, 10
    )
    with torch.no_grad():
        after = float(mse(net(H), T))
    assert before == pytest.approx(start, rel=1e-6)
    assert 1 <= passes <= 11 and after < 0.9 * start  # measured: a quarter of the start


def _leaky_teacher(n=400, d=6, k=3, seed=6, act=None):
    g = torch.Generator().manual_seed(seed)
    act = act or GeneralizedReLU(0.1, 1.0)
    net = dante.MLP([d, k], activation=act, output_activation=act, seed=seed).double()
    H = torch.randn(n, d, generator=g, dtype=torch.float64)
    teacher = torch.randn(k, d, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    T = torch.nn.functional.leaky_relu(H @ teacher.T + 0.3, 0.1)
    T = T + 0.05 * torch.randn(n, k, generator=g, dtype=torch.float64)
    return net.layers[0], H, T


@pytest.mark.parametrize("act", [GeneralizedReLU(0.1, 1.0), GeneralizedReLU(0.2, 1.5)], ids=str)
def test_gauss_newton_step_is_the_weighted_least_squares_solution(act):
    layer, H, T = _leaky_teacher(act=act)
    lin, l2, n, k = layer.linear, 1e-2, len(H), 3
    obj = OutputObjective(layer, get_loss("mse"), _rows(H), n, T, l2=l2)
    obj.evaluate()
    dW, db = gauss_newton_direction(obj, guard=0.0)
    # oracle: numpy least squares per unit on the pattern at the current weights,
    # the penalty as extra rows sqrt(l2 n k / 2) * I on the weights (not the bias)
    with torch.no_grad():
        Z = (H @ lin.weight.T + lin.bias).numpy()
    A = np.hstack([H.numpy(), np.ones((n, 1))])
    pen = np.hstack([np.sqrt(l2 * n * k / 2) * np.eye(6), np.zeros((6, 1))])
    for j in range(k):
        s = np.where(Z[:, j] >= 0, act.b, act.a)
        M = np.vstack([s[:, None] * A, pen])
        theta = np.linalg.lstsq(M, np.concatenate([T[:, j].numpy(), np.zeros(6)]), rcond=None)[0]
        # float64 normal equations vs numpy's QR: the normal equations square the
        # condition number (row weights 0.1 and 1), measured up to 1.5e-8; 1e-6
        # still catches a wrong weight (a for b, a missing penalty or scale),
        # which moves theta by 1e-3 or more
        np.testing.assert_allclose((lin.weight[j] + dW[j]).detach().numpy(), theta[:6],
                                   rtol=0, atol=1e-6)  # fmt: skip
        assert float(lin.bias[j] + db[j]) == pytest.approx(theta[6], abs=1e-6)


def test_gauss_newton_start_decreases_the_loss_more_than_lbfgs_alone():
    mse = get_loss("mse")
    results = {}
    for warm, gn, cap in [(False, False, 3), (False, True, 3), (True, False, 3), (True, True, 3),
                          (True, False, 300)]:  # fmt: skip
        layer, H, T = _leaky_teacher()
        if warm:  # as in a DANTE sweep: near the optimum, the pattern nearly right
            g = torch.Generator().manual_seed(7)
            teacher = torch.randn(3, 6, generator=g, dtype=torch.float64)
            with torch.no_grad():
                layer.linear.weight.copy_(teacher + 0.2 * torch.randn(3, 6, generator=g))
                layer.linear.bias.fill_(0.3)
        start = OutputObjective(layer, mse, _rows(H), len(H), T, l2=1e-4).evaluate()
        obj = OutputObjective(layer, mse, _rows(H), len(H), T, l2=1e-4)
        _, passes = lbfgs_output(obj, cap, tol=0.0, gauss_newton=gn)
        assert passes == cap or cap == 300
        results[warm, gn, cap] = OutputObjective(
            layer, mse, _rows(H), len(H), T, l2=1e-4
        ).evaluate()
        assert results[warm, gn, cap] < start  # from a random start too
    # from the warm start, the gap to the optimum (the 300-pass solve, converged)
    # left by the reweighted least-squares step plus one iteration vs by two L-BFGS
    # iterations: measured 0.11
    best = results[True, False, 300]
    assert results[True, True, 3] - best < 0.3 * (results[True, False, 3] - best)
