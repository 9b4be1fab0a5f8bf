"""The autograd-free one-layer block step (:mod:`dante.fast_step`) against autograd.

Tolerances. A float32 gradient computed by the same kernels in the same order
as autograd agrees to the last bit; ours differs only where a kernel is
swapped for an equivalent one (softmax's ``exp`` outside ``log_softmax``'s
backward, a scatter in place of ``nll_loss``'s backward). Those are one
rounding (unit roundoff 6e-8) per entry of ``dL/dz``, and the matmuls then
sum ``m`` such terms; measured on these shapes the deviation is at most
~1e-7 of the gradient's norm. 1e-6 relative to the norm (about 8 float32
ulps) leaves room for other BLAS builds while any real error -- the wrong
subgradient at 0, a missing bias term, a layer above skipped, a softmax
off by the target -- changes the gradient by 1e-2 of its norm or more. In
float64 the same argument gives 1e-12 (unit roundoff 1.1e-16; measured ~2e-16).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import dante
from dante.activations import GeneralizedReLU
from dante.fast_step import FastBlockStep, activation_kind, plan_fast_step
from dante.losses import get_loss
from dante.sngd import SNGD

ACTS = {
    "leaky_relu": "leaky_relu",
    "relu": "relu",
    "grelu_0.2_1.5": GeneralizedReLU(0.2, 1.5),
    "grelu_0_2": GeneralizedReLU(0.0, 2.0),
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "identity": "identity",
}
# (loss, outputs): softmax cross-entropy, sigmoid + BCE on one logit, MSE
LOSSES = [("mse", 3), ("mse", 1), ("cross_entropy", 3), ("cross_entropy", 1)]
POSITIONS = {"first": 0, "hidden": 1, "output": 2}
TOL = {torch.float32: 1e-6, torch.float64: 1e-12}


def _net(act, loss, k, dtype, seed=0):
    out_act = act if loss == "mse" else "identity"
    net = dante.MLP([7, 6, 5, k], activation=act, output_activation=out_act, seed=seed)
    return net.to(dtype)


def _batch(loss, k, dtype, m=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, 7, generator=g, dtype=dtype)
    if loss == "mse":
        t = torch.randn(m, k, generator=g, dtype=dtype)
    elif k == 1:
        t = torch.randint(0, 2, (m, 1), generator=g).to(dtype)
    else:
        t = torch.randint(0, k, (m,), generator=g)
    return x, t


def _autograd(net, block, h, t, loss):
    net.zero_grad(set_to_none=True)
    value = loss(net.forward_path(h, range(block, net.n_layers)), t)
    value.backward()
    lin = net.layers[block].linear
    return value.detach(), lin.weight.grad.clone(), lin.bias.grad.clone()


def _rel(fast: FastBlockStep, gw, gb) -> float:
    err = torch.cat([(fast.grad_weight - gw).flatten(), fast.grad_bias - gb])
    return float(err.norm() / torch.cat([gw.flatten(), gb]).norm())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("position", list(POSITIONS))
@pytest.mark.parametrize("loss_k", LOSSES, ids=[f"{n}{k}" for n, k in LOSSES])
@pytest.mark.parametrize("act", list(ACTS))
def test_gradient_equals_autograd(act, loss_k, position, dtype):
    name, k = loss_k
    net = _net(ACTS[act], name, k, dtype)
    loss = get_loss(name)
    block = POSITIONS[position]
    for seed in range(3):
        x, t = _batch(name, k, dtype, seed=seed)
        with torch.no_grad():
            h = net.forward_path(x, range(block))  # the cached frozen prefix
        fast = FastBlockStep([net.layers[i] for i in range(block, net.n_layers)], loss)
        value = fast.loss_and_grad(h, t)
        ref, gw, gb = _autograd(net, block, h, t, loss)
        assert float(gw.norm()) > 0
        assert _rel(fast, gw, gb) <= TOL[dtype]
        torch.testing.assert_close(value, ref, rtol=TOL[dtype], atol=0)


@pytest.mark.parametrize("a,b", [(0.01, 1.0), (0.0, 1.0), (0.2, 1.5), (0.0, 2.0)])
@pytest.mark.parametrize("position", ["hidden", "output"])
def test_generalized_relu_subgradient_at_zero_is_b(a, b, position):
    """Rows with zero input and a zero bias put z exactly at 0: the package's
    subgradient there is b (Def. 3 of 001), torch's leaky_relu would give a."""
    net = dante.MLP(
        [7, 6, 5, 3],
        activation=GeneralizedReLU(a, b),
        output_activation=GeneralizedReLU(a, b),
        seed=0,
    )
    loss = get_loss("mse")
    block = POSITIONS[position]
    x, t = _batch("mse", 3, torch.float32)
    with torch.no_grad():
        net.layers[block].linear.bias.zero_()
        h = net.forward_path(x, range(block))
        h[::2] = 0.0
    fast = FastBlockStep([net.layers[i] for i in range(block, 3)], loss)
    fast.loss_and_grad(h, t)
    _, gw, gb = _autograd(net, block, h, t, loss)
    assert _rel(fast, gw, gb) <= 1e-6
    # the zero rows carry weight in the bias gradient only through phi'(0) = b
    kind = activation_kind(net.layers[block].activation)
    assert kind == ("grelu", a, b)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"momentum": 0.9},
        {"momentum": 0.9, "momentum_mode": "raw"},
        {"weight_decay": 1e-2},
        {"maximize": True},
        {"foreach": False},
    ],
    ids=["plain", "heavy_ball", "raw", "decay", "maximize", "loop"],
)
def test_step_matches_sngd_on_autograd_gradients(kw):
    nets = [_net("leaky_relu", "cross_entropy", 3, torch.float32) for _ in range(2)]
    loss = get_loss("cross_entropy")
    lr = 0.05
    opts = [SNGD(nets[i].layers[1].parameters(), lr=lr, **kw) for i in range(2)]
    fast = FastBlockStep(list(nets[0].layers[1:]), loss, opts[0])
    for seed in range(5):
        x, t = _batch("cross_entropy", 3, torch.float32, seed=seed)
        with torch.no_grad():
            h = nets[0].layers[0](x)
        before = torch.cat([p.detach().flatten() for p in nets[0].layers[1].parameters()])
        fast.loss_and_grad(h, t)
        norm = fast.apply()
        after = torch.cat([p.detach().flatten() for p in nets[0].layers[1].parameters()])
        _autograd(nets[1], 1, h, t, loss)
        opts[1].step()
        for p, q in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
        torch.testing.assert_close(norm, opts[1].last_grad_norms[0], rtol=1e-6, atol=0)
        if not kw.get("momentum"):
            assert float((after - before).norm()) == pytest.approx(lr, rel=1e-5)
    for p in nets[0].layers[1].parameters():  # same optimizer state, for checkpoints
        assert (set(opts[0].state[p]) == {"momentum_buffer"}) == bool(kw.get("momentum"))


# ------------------------------------------------------------------ the trainer
def _data(n=600, d=20, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d), dtype=np.float32)
    return X, (X[:, 0] * k).astype(int).clip(0, k - 1)


class _StepLengths(dante.Callback):
    """Euclidean length of every step (all parameters: only the block moves)."""

    def __init__(self):
        self.lengths: list[float] = []

    def _flat(self, trainer):
        return torch.cat([p.detach().flatten() for p in trainer.model.parameters()])

    def on_phase_start(self, trainer, stage, block):
        self.prev = self._flat(trainer)

    def on_step(self, trainer, loss):
        cur = self._flat(trainer)
        self.lengths.append(float((cur - self.prev).double().norm()))
        self.prev = cur


def _fit(sizes=(20, 16, 12, 3), callbacks=(), **kw):
    X, y = _data()
    net = dante.MLP(list(sizes), seed=1, **kw.pop("net", {}))
    args = dict(lr=0.05, batch_size=50, t_sngd=2, max_alternations=2, tol=0.0)
    res = dante.fit(net, X, y, callbacks=callbacks, **{**args, **kw})
    return [p.detach().clone() for p in net.parameters()], res


def _flags(res):
    return {k: v for s in res.stages for k, v in s["fast_path"].items()}


@pytest.mark.parametrize(
    "kw",
    [
        {"loss": "mse"},
        {"loss": "cross_entropy"},
        {"loss": "mse", "net": {"activation": "sigmoid", "output_activation": "sigmoid"}},
        {"loss": "cross_entropy", "method": "dante_momentum_raw"},
    ],
    ids=["mse", "ce", "sigmoid_mse", "ce_momentum_raw"],
)
def test_fit_with_and_without_the_fast_path_gives_the_same_weights(kw):
    w_fast, r_fast = _fit(**kw)
    w_slow, r_slow = _fit(fast_path=False, **kw)
    assert set(_flags(r_fast).values()) == {True}
    assert set(_flags(r_slow).values()) == {False}
    _, init = _fit(max_weights_updated=1)  # no step fits: the initial weights
    # 48 SNGD steps per block of length lr = 0.05 move the weights by ~1e-1 per entry;
    # each step's direction differs between the paths by ~1e-7 relative (module
    # docstring), so the weights agree to ~1e-7 (measured: 0, bit for bit, with MSE, whose
    # kernels are autograd's; <= 3.3e-7 with cross-entropy); 1e-5 leaves 30x slack and is
    # 1e-4 of the distance travelled, while a wrong gradient moves steps by ~lr
    moved = max(
        float((a - b.detach()).abs().max()) for a, b in zip(w_fast, init.model.parameters())
    )
    assert moved > 1e-2
    for a, b in zip(w_fast, w_slow, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    assert r_fast.final["train_loss"] == pytest.approx(r_slow.final["train_loss"], rel=1e-5)
    assert r_fast.budget.steps == r_slow.budget.steps


def test_every_fast_step_has_length_lr():
    lengths = _StepLengths()
    _, res = _fit(callbacks=[lengths], loss="cross_entropy", lr=0.03)
    assert set(_flags(res).values()) == {True}
    assert len(lengths.lengths) == res.budget.steps > 0
    for length in lengths.lengths:
        assert length == pytest.approx(0.03, rel=1e-5)


def test_unsupported_phases_fall_back_to_autograd():
    # an activation module the fast path does not know: blocks at and below it fall back
    _, res = _fit(net={"activation": [nn.GELU(), "relu"]}, loss="cross_entropy")
    assert _flags(res) == {"2": True, "1": True, "0": False}
    _, res = _fit(net={"activation": ["relu", nn.ReLU()]}, loss="cross_entropy")
    assert _flags(res) == {"2": True, "1": False, "0": False}
    # another solver, the whole network as one block, the switch off
    _, res = _fit(method="sgd_altmin")
    assert set(_flags(res).values()) == {False}
    _, res = _fit(method="sngd_backprop")
    assert _flags(res) == {"0 1 2": False}
    _, res = _fit(solver=lambda params: torch.optim.Adam(params, lr=1e-3))
    assert set(_flags(res).values()) == {False}
    _, res = _fit(fast_path=False)
    assert set(_flags(res).values()) == {False}


def test_plan_refuses_what_it_cannot_do():
    net = dante.MLP([7, 6, 5, 3], seed=0)
    loss = get_loss("mse")
    opt = SNGD(net.layers[1].parameters(), lr=0.1)
    assert plan_fast_step(net, (1,), (1, 2), loss, opt) is not None
    assert plan_fast_step(net, (1,), (1, 2), loss, opt, world_size=2) is None
    assert plan_fast_step(net, (1, 2), (1, 2), loss, opt) is None
    assert (
        plan_fast_step(
            net, (1,), (1, 2), loss, torch.optim.SGD(opt.param_groups[0]["params"], lr=0.1)
        )
        is None
    )
    other = SNGD(net.layers[2].parameters(), lr=0.1)  # not the block's parameters
    assert plan_fast_step(net, (1,), (1, 2), loss, other) is None


def test_config_switch_is_validated():
    with pytest.raises(ValueError, match="fast_path"):
        dante.TrainConfig(fast_path="maybe")
    assert dante.TrainConfig().fast_path is True


class _Crash(dante.Callback):
    def __init__(self, at):
        self.at = at

    def on_step(self, trainer, loss):
        if trainer.budget.steps == self.at:
            raise KeyboardInterrupt


def test_resume_is_bit_identical_on_the_fast_path(tmp_path):
    X, y = _data()
    kw = dict(lr=0.05, batch_size=50, t_sngd=2, max_alternations=2, tol=0.0, loss="cross_entropy")
    ref = dante.MLP([20, 16, 12, 3], seed=1)
    r0 = dante.fit(ref, X, y, **kw)
    assert set(_flags(r0).values()) == {True}
    ck = tmp_path / "run.ckpt"
    for at in (11, 40):  # mid-epoch in block 2's phase, then in block 1's
        with pytest.raises(KeyboardInterrupt):
            dante.fit(
                dante.MLP([20, 16, 12, 3], seed=1),
                X,
                y,
                callbacks=[_Crash(at)],
                checkpoint=ck,
                checkpoint_every=7,
                resume=True,
                **kw,
            )
    resumed = dante.MLP([20, 16, 12, 3], seed=1)
    trainer = dante.Trainer(resumed, checkpoint=ck, checkpoint_every=7, resume=True, **kw)
    r1 = trainer.fit(X, y)
    assert trainer.resumed_from_step == 35  # the last checkpoint before the crash at 40
    for a, b in zip(ref.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
    assert r1.stages == r0.stages
    assert [h["train_loss"] for h in r1.history] == [h["train_loss"] for h in r0.history]
