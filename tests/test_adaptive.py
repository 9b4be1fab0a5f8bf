"""Thesis Ch. 5 (``003``): NAG / RMSProp / ADAM of Sec. 5.2, the Hessian
eigenvalue of Sec. 5.6.2, the tied autoencoder of Sec. 5.5 and the study."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from dante.adaptive import (
    ThesisAdam,
    ThesisNAG,
    ThesisRMSProp,
    TiedAutoencoder,
    crop22,
    hessian_operator,
    lambda_min,
    reconstruction_loss,
)

# Hand-computed steps are float64 arithmetic on a few numbers: agreement to
# 1e-12 absolute leaves room only for rounding (the values are O(1)).
EXACT = 1e-12


def _two_steps(opt_cls, grads, **kw) -> list[list[float]]:
    """Run ``opt_cls`` on x = [1, -2] with the given gradients; return the iterates."""
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = opt_cls([x], **kw)
    out = []
    for g in grads:
        x.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(x.detach().tolist())
    return out


def test_nag_matches_hand_computed_steps():
    # Algorithm 5: v2 = mu v1 + g1 = g1; x2 = x1 - a (g1 + mu v2) = x1 - 0.1 * 1.9 g1
    # v3 = 0.9 [0.5, -1] + [1, 1] = [1.45, 0.1]; x3 = x2 - 0.1 ([1, 1] + 0.9 v3)
    it = _two_steps(ThesisNAG, [[0.5, -1.0], [1.0, 1.0]], lr=0.1, momentum=0.9)
    x2 = [1.0 - 0.1 * 1.9 * 0.5, -2.0 + 0.1 * 1.9 * 1.0]
    assert it[0] == pytest.approx([0.905, -1.81], abs=EXACT)
    assert it[0] == pytest.approx(x2, abs=EXACT)
    x3 = [0.905 - 0.1 * (1.0 + 0.9 * 1.45), -1.81 - 0.1 * (1.0 + 0.9 * 0.1)]
    assert it[1] == pytest.approx(x3, abs=EXACT)
    assert it[1] == pytest.approx([0.6745, -1.919], abs=EXACT)


def test_nag_equals_torch_nesterov():
    # Algorithm 5 is torch's SGD(nesterov=True, dampening=0): same iterates.
    g = torch.Generator().manual_seed(0)
    grads = torch.randn(5, 3, generator=g, dtype=torch.float64)
    xs = [torch.zeros(3, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    o1 = ThesisNAG([xs[0]], lr=0.05, momentum=0.9)
    o2 = torch.optim.SGD([xs[1]], lr=0.05, momentum=0.9, nesterov=True)
    for gr in grads:
        for x, o in zip(xs, (o1, o2)):
            x.grad = gr.clone()
            o.step()
    assert torch.allclose(xs[0], xs[1], atol=1e-14, rtol=0)


def test_rmsprop_matches_hand_computed_steps():
    # Algorithm 6, xi inside the average: v1 = 0.1 (g^2 + 0.01) = [0.026, 0.101]
    it = _two_steps(ThesisRMSProp, [[0.5, -1.0], [0.2, 0.0]], lr=0.1, beta2=0.9, xi=0.01)
    x2 = [1.0 - 0.1 * 0.5 / math.sqrt(0.026), -2.0 + 0.1 * 1.0 / math.sqrt(0.101)]
    assert it[0] == pytest.approx(x2, abs=EXACT)
    assert it[0] == pytest.approx([0.6899132, -1.6853416], abs=1e-7)  # the decimals by hand
    # v2 = 0.9 v1 + 0.1 (g2^2 + 0.01) = [0.0234 + 0.005, 0.0909 + 0.001]; a zero
    # gradient coordinate does not move
    x3 = [x2[0] - 0.1 * 0.2 / math.sqrt(0.0284), x2[1]]
    assert it[1] == pytest.approx(x3, abs=EXACT)


def test_rmsprop_penrose_root_no_step_where_v_is_zero():
    # xi = 0 and a zero gradient coordinate: v = 0 there; Definition 17 maps it
    # to 0 (no NaN, no step), the other coordinate moves by lr * sign(g) / sqrt(1 - b2)
    it = _two_steps(ThesisRMSProp, [[0.0, 2.0]], lr=0.1, beta2=0.99, xi=0.0)
    assert it[0][0] == 1.0
    assert it[0][1] == pytest.approx(-2.0 - 0.1 * 2.0 / math.sqrt(0.01 * 4.0), abs=EXACT)


def test_adam_matches_hand_computed_steps():
    # Algorithm 7 with alpha_t = a sqrt(1 - b2^t) / (1 - b1^t) (App. 5.D), zeta = 0.01
    it = _two_steps(ThesisAdam, [[0.5, -1.0], [1.0, 0.5]], lr=0.1, betas=(0.9, 0.999), zeta=0.01)
    m1 = [0.05, -0.1]
    v1 = [0.001 * 0.25, 0.001 * 1.0]
    a1 = 0.1 * math.sqrt(0.001) / 0.1
    x2 = [
        1.0 - a1 * m1[0] / (math.sqrt(v1[0]) + 0.01),
        -2.0 - a1 * m1[1] / (math.sqrt(v1[1]) + 0.01),
    ]
    assert it[0] == pytest.approx(x2, abs=EXACT)
    assert it[0] == pytest.approx([0.9387426, -1.9240253], abs=1e-7)  # decimals by hand
    m2 = [0.9 * 0.05 + 0.1 * 1.0, 0.9 * -0.1 + 0.1 * 0.5]
    v2 = [0.999 * v1[0] + 0.001 * 1.0, 0.999 * v1[1] + 0.001 * 0.25]
    a2 = 0.1 * math.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    x3 = [x2[i] - a2 * m2[i] / (math.sqrt(v2[i]) + 0.01) for i in range(2)]
    assert it[1] == pytest.approx(x3, abs=EXACT)


def test_adam_first_step_is_lr_sign_and_zeta_is_not_bias_corrected():
    # with tiny zeta the first bias-corrected step is lr * sign(g) per coordinate
    it = _two_steps(ThesisAdam, [[0.5, -1.0]], lr=0.1, betas=(0.99, 0.999), zeta=1e-12)
    assert it[0] == pytest.approx([0.9, -1.9], abs=1e-9)
    # torch.optim.Adam adds eps to the *corrected* root, so with a large shift the two
    # differ: thesis step 0.1*sqrt(.001)/.01 * .005/(sqrt(.00025)+1) vs torch's .1*.5/(.5+1)
    th = _two_steps(ThesisAdam, [[0.5, -1.0]], lr=0.1, betas=(0.99, 0.999), zeta=1.0)[0][0]
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    o = torch.optim.Adam([x], lr=0.1, betas=(0.99, 0.999), eps=1.0)
    x.grad = torch.tensor([0.5, -1.0], dtype=torch.float64)
    o.step()
    a1 = 0.1 * math.sqrt(0.001) / 0.01
    assert th == pytest.approx(1.0 - a1 * 0.005 / (math.sqrt(0.00025) + 1.0), abs=EXACT)
    assert float(x.detach()[0]) == pytest.approx(1.0 - 0.1 * 0.5 / 1.5, abs=EXACT)
    assert abs(th - float(x.detach()[0])) > 0.01


def test_adam_without_bias_correction_uses_constant_step():
    it = _two_steps(
        ThesisAdam, [[0.5, -1.0]], lr=0.1, betas=(0.9, 0.999), zeta=0.01, bias_correction=False
    )
    assert it[0][0] == pytest.approx(1.0 - 0.1 * 0.05 / (math.sqrt(0.00025) + 0.01), abs=EXACT)


@pytest.mark.parametrize(
    ("cls", "kw", "match"),
    [
        (ThesisNAG, {"lr": -0.1}, "learning rate"),
        (ThesisNAG, {"lr": 0.0}, "learning rate"),
        (ThesisNAG, {"lr": float("nan")}, "learning rate"),
        (ThesisNAG, {"momentum": 1.0}, "momentum"),
        (ThesisNAG, {"momentum": -0.1}, "momentum"),
        (ThesisRMSProp, {"lr": -1e-3}, "learning rate"),
        (ThesisRMSProp, {"beta2": 1.0}, "beta2"),
        (ThesisRMSProp, {"xi": -1e-10}, "xi"),
        (ThesisRMSProp, {"xi": float("inf")}, "xi"),
        (ThesisAdam, {"lr": "0.1"}, "learning rate"),
        (ThesisAdam, {"betas": (1.0, 0.999)}, "beta1"),
        (ThesisAdam, {"betas": (0.9, -0.5)}, "beta2"),
        (ThesisAdam, {"betas": (0.9,)}, "betas"),
        (ThesisAdam, {"zeta": 0.0}, "zeta"),  # Algorithm 7: zeta > 0
        (ThesisAdam, {"zeta": -1e-8}, "zeta"),
        (ThesisAdam, {"bias_correction": 1}, "bias_correction"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(cls, kw, match):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=f"Invalid {match}"):
        cls([p], **kw)


@pytest.mark.parametrize(
    ("cls", "kw"),
    [
        (ThesisNAG, {"lr": 0.05, "momentum": 0.9}),
        (ThesisRMSProp, {"lr": 0.01, "beta2": 0.9, "xi": 1e-6}),
        (ThesisAdam, {"lr": 0.01, "betas": (0.99, 0.999), "zeta": 1e-8}),
    ],
)
def test_state_dict_round_trip_steps_identically(cls, kw):
    g = torch.Generator().manual_seed(1)
    grads = torch.randn(6, 4, generator=g, dtype=torch.float64)
    a = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    oa = cls([a], **kw)
    for gr in grads[:3]:
        a.grad = gr.clone()
        oa.step()
    b = a.detach().clone().requires_grad_(True)
    ob = cls([b], **kw)
    # deepcopy: as if saved to disk (load_state_dict would otherwise share oa's buffers)
    ob.load_state_dict(copy.deepcopy(oa.state_dict()))
    for gr in grads[3:]:
        for x, o in ((a, oa), (b, ob)):
            x.grad = gr.clone()
            o.step()
    assert torch.equal(a, b)  # same arithmetic on the same numbers: bit-identical
    assert not torch.equal(a, torch.zeros(4, dtype=torch.float64))


@pytest.mark.parametrize(
    ("cls", "kw", "steps"),
    [
        (ThesisNAG, {"lr": 0.05, "momentum": 0.9}, 300),
        (ThesisRMSProp, {"lr": 0.003, "beta2": 0.9, "xi": 1e-10}, 2000),
        (ThesisAdam, {"lr": 0.01, "betas": (0.99, 0.999), "zeta": 1e-8}, 2000),
    ],
)
def test_converges_on_an_ill_conditioned_quadratic(cls, kw, steps):
    # f(x) = 1/2 (x1^2 + 10 x2^2) from (1, 1): f0 = 5.5. RMSProp/ADAM with a
    # constant step hover at a distance ~ lr from the minimum (f ~ 10 lr^2), so
    # "f fell by 1e-3" is a bar all three clear and a broken update would not.
    x = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([1.0, 10.0], dtype=torch.float64)
    opt = cls([x], **kw)

    def closure():
        opt.zero_grad()
        f = 0.5 * (a * x * x).sum()
        f.backward()
        return f

    f0 = float(closure())
    for _ in range(steps):
        opt.step(closure)
    f = float(0.5 * (a * x * x).sum())
    assert f < 1e-3 * f0


def test_zero_gradient_and_tiny_lr_do_not_move():
    for cls in (ThesisNAG, ThesisRMSProp, ThesisAdam):
        x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        y = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        opt = cls([{"params": [x]}, {"params": [y], "lr": 1e-300}])
        x.grad = torch.zeros(2, dtype=torch.float64)
        y.grad = torch.ones(2, dtype=torch.float64)
        opt.step()
        assert x.tolist() == [1.0, 2.0]
        assert y.tolist() == pytest.approx([1.0, 2.0], abs=1e-200)


def test_usable_as_dante_block_solver():
    import dante

    rng = np.random.default_rng(0)
    X = rng.random((60, 6)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    net = dante.MLP([6, 8, 2], seed=0)
    res = dante.fit(
        net,
        X,
        y,
        method="dante",
        solver=lambda ps: ThesisAdam(ps, lr=0.01),
        batch_size=20,
        max_alternations=2,
    )
    first, last = res.history[0]["train_loss"], res.final["train_loss"]
    assert math.isfinite(last) and last < first


# ---------------------------------------------------------------- networks, Hessian


def test_tied_autoencoder_shapes_init_and_tying():
    net = TiedAutoencoder(7, 5, ell=2, seed=3)
    assert [tuple(w.shape) for w in net.weights] == [(5, 7), (5, 5)]
    assert [b.numel() for b in net.biases] == [5, 5, 5, 7]  # 2l biases, zero
    assert all(float(b.abs().max()) == 0.0 for b in net.biases)
    lim = math.sqrt(6 / 12)  # Glorot: fan_in 7 + fan_out 5
    assert float(net.weights[0].abs().max()) <= lim
    assert float(net.weights[0].abs().max()) > 0.5 * lim
    # tied: y_hat = W1^T relu(W2^T relu(W2 relu(W1 y)))
    y = torch.rand(3, 7)
    w1, w2 = net.weights
    ref = torch.relu(torch.relu(torch.relu(y @ w1.T) @ w2.T) @ w2) @ w1
    assert torch.allclose(net(y), ref, atol=1e-6)
    assert sum(p.numel() for p in net.parameters()) == 35 + 25 + 22


def test_crop22_removes_three_pixels_each_side():
    img = np.arange(784, dtype=np.float32).reshape(1, 784)
    c = crop22(img)
    assert c.shape == (1, 484)
    assert c[0, 0] == 3 * 28 + 3 and c[0, -1] == 24 * 28 + 24
    with pytest.raises(ValueError, match="784"):
        crop22(np.zeros((2, 100)))


def _tiny_problem():
    torch.manual_seed(0)
    net = TiedAutoencoder(4, 3, ell=1, seed=1).double()
    x = torch.rand(6, 4, dtype=torch.float64)
    names = [n for n, _ in net.named_parameters()]
    params = {n: p.detach().clone() for n, p in net.named_parameters()}

    def loss_of(p):
        return reconstruction_loss(lambda z: torch.func.functional_call(net, p, (z,)), x)

    return names, params, loss_of


def test_hessian_operator_and_lambda_min_match_dense_hessian():
    names, params, loss_of = _tiny_problem()
    sizes = [params[n].numel() for n in names]
    flat0 = torch.cat([params[n].reshape(-1) for n in names])

    def loss_flat(v):
        parts = torch.split(v, sizes)
        return loss_of({n: t.reshape(params[n].shape) for n, t in zip(names, parts)})

    H = torch.autograd.functional.hessian(loss_flat, flat0).numpy()  # 22 x 22 dense
    op = hessian_operator(loss_of, params)
    v = np.random.default_rng(0).standard_normal(H.shape[0])
    # Both are exact second derivatives in float64 through the same ReLU pattern:
    # they differ only by summation order, ~1e-15 * ||H|| ||v||; 1e-10 is generous.
    assert np.allclose(op.matvec(v), H @ v, atol=1e-10, rtol=0)
    dense_min = float(np.linalg.eigvalsh(H).min())
    # eigsh tolerance 1e-10 (relative); Ritz values of a symmetric matrix are
    # accurate to ~ tol * ||H||, so 1e-8 absolute bounds the disagreement.
    lm = lambda_min(loss_of, params, tol=1e-10)
    assert lm == pytest.approx(dense_min, abs=1e-8)
    assert np.isfinite(lm)


# ---------------------------------------------------------------- App. 5.D tuning, study


def test_ladder_and_tune_extend_until_the_best_is_interior():
    from dante.adaptive.grid import ladder_step, tune

    assert ladder_step(3e-4, up=True) == pytest.approx(1e-3)
    assert ladder_step(1e-3, up=True) == pytest.approx(3e-3)
    assert ladder_step(3e-6, up=False) == pytest.approx(1e-6)
    assert ladder_step(1e-5, up=False) == pytest.approx(3e-6)
    # a loss minimised at lr = 1e-2, above the thesis grid: 1e-3, 3e-3, 1e-2 and
    # 3e-2 are added, the last because 1e-2 was still the top end of the grid
    res = tune(
        lambda lr: (math.log10(lr) + 2.0) ** 2, [3e-4, 1e-4, 3e-5, 1e-5, 3e-6], max_extensions=5
    )
    assert res.best == pytest.approx(1e-2)
    assert res.extended == 4  # 1e-3, 3e-3, 1e-2, 3e-2
    assert max(res.losses) == pytest.approx(3e-2)
    capped = tune(lambda lr: -lr, [1e-3, 3e-3, 1e-2], max_extensions=1)
    assert capped.extended == 1 and capped.best == pytest.approx(3e-2)
    # a diverged run (nan) never wins: 1e-3 is best, the end of the finite ones
    res = tune(lambda lr: float("nan") if lr > 2e-3 else -lr, [1e-3, 3e-3, 1e-2])
    assert res.best == pytest.approx(1e-3) and res.extended == 1  # 3e-4 tried below: worse
    assert res.losses[1e-2] == math.inf


def test_compare_uses_two_standard_errors():
    from dante.adaptive.grid import compare

    c = compare([1.0, 1.1, 0.9], [2.0, 2.1, 1.9])  # SE of each 0.0577, of the gap 0.0816
    assert c.diff == pytest.approx(1.0)
    assert c.se == pytest.approx(math.sqrt(2) * 0.1 / math.sqrt(3))
    assert c.significant
    assert not compare([1.0, 1.5, 0.5], [1.2, 1.7, 0.7]).significant  # gap 0.2 < 2 SE 0.58


def test_quick_study_runs_and_returns_claims(tmp_path):
    from dante.adaptive.study import run_study

    res = run_study(True, [0], tmp_path)
    assert len(res.claims) >= 12
    assert all(isinstance(c.holds, bool) and c.evidence for c in res.claims)
    for name in res.figures:
        assert (tmp_path / name).stat().st_size > 1000
    methods = {r["method"] for r in res.rows}
    assert {"ADAM b1=0.99", "NAG mu=0.9", "DANTE (SNGD blocks)"} <= methods
    full = [r for r in res.rows if r["experiment"] == "full batch"]
    assert len(full) == 6
    assert all(math.isfinite(r["train_loss"]) and r["train_loss"] > 0 for r in full)
    assert "CIFAR-10 is not available" in res.setup and "1e5" in res.setup


def test_lambda_min_when_every_relu_unit_is_dead():
    # b1 = -100: no unit fires, only the output bias is live, H = diag(0, ..., 0, I):
    # lambda_min is exactly 0. (ARPACK's "SA" mode alone answers 1 here.)
    torch.manual_seed(0)
    x = torch.rand(20, 30, dtype=torch.float64)
    net = TiedAutoencoder(30, 4, 1, seed=0).double()
    with torch.no_grad():
        net.biases[0].fill_(-100.0)
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss_of(p):
        return reconstruction_loss(lambda z: torch.func.functional_call(net, p, (z,)), x)

    assert lambda_min(loss_of, params, tol=1e-8) == pytest.approx(0.0, abs=1e-8)
