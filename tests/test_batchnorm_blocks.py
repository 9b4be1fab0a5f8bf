"""Batch-normalised DANTE blocks: ``MLP(..., batch_norm=True)``.

A block is ``Linear`` (no bias) + :class:`dante.models.BlockBatchNorm1d`, then
the activation. It normalises with batch statistics only while it trains;
frozen blocks and evaluations use the running statistics; the fused step of
:mod:`dante.fast_step` is refused; checkpoints carry the running statistics.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import dante
from dante.fast_step import FastBlockStep, plan_fast_step
from dante.losses import get_loss
from dante.models import BlockBatchNorm1d, Layer, batch_statistics
from test_checkpoint import _Crash  # tests/ is on sys.path (pytest's prepend import mode)


@pytest.fixture(scope="module")
def small_digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return X[:150], y[:150], X[150:200], y[150:200]


def _batch(n=256, d=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) * 2.0 + 3.0  # far from zero mean, unit variance


def test_structure():
    net = dante.MLP([8, 6, 5, 3], batch_norm=True, seed=0)
    assert [layer.norm is not None for layer in net.layers] == [True, True, False]
    assert net.layers[0].linear.bias is None and net.layers[2].linear.bias is not None
    assert [p.shape for p in net.block_parameters(0)] == [(6, 8), (6,), (6,)]  # W, gamma, beta
    assert all(layer.norm is None for layer in dante.MLP([8, 6, 3], seed=0).layers)
    with pytest.raises(TypeError, match="batch_norm"):
        dante.MLP([8, 6, 3], batch_norm="yes")


def test_training_batch_is_normalised_per_feature():
    layer = Layer(20, 8, "leaky_relu", batch_norm=True)
    x = _batch()
    z = layer.pre_activation(x)  # train mode, grad enabled, parameters trainable
    # gamma = 1, beta = 0: every feature has mean 0 and (biased) variance
    # var / (var + eps). The pre-activations' variance is about 20 * 4 / 60 > 1
    # here, so eps = 1e-5 moves it by < 1e-5; float32 sums of 256 terms of
    # size ~10 are exact to ~1e-5; 1e-4 covers both and fails for anything
    # not normalised by the batch (the raw means are O(1)).
    assert z.mean(0).abs().max() < 1e-4
    assert (z.var(0, unbiased=False) - 1).abs().max() < 1e-4
    assert layer.linear(x).mean(0).abs().max() > 0.1  # the raw pre-activations are not
    assert int(layer.norm.num_batches_tracked) == 1


@pytest.mark.parametrize("how", ["frozen", "no_grad", "eval"])
def test_running_statistics_outside_a_training_pass(how):
    layer = Layer(20, 8, "leaky_relu", batch_norm=True)
    x = _batch()
    with torch.no_grad():
        layer.norm.running_mean.copy_(torch.linspace(-1, 1, 8))
        layer.norm.running_var.copy_(torch.linspace(0.5, 2, 8))
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    if how == "frozen":
        for p in layer.parameters():
            p.requires_grad_(False)
        z = layer.pre_activation(x)
    elif how == "no_grad":
        with torch.no_grad():
            z = layer.pre_activation(x)
    else:
        layer.eval()
        z = layer.pre_activation(x)
    n = layer.norm
    expect = (layer.linear(x) - n.running_mean) / torch.sqrt(n.running_var + n.eps)
    torch.testing.assert_close(z, expect, atol=1e-5, rtol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in layer.state_dict().items())
    # inside batch_statistics (AM-Adam's steps) even a no_grad pass uses the batch
    with torch.no_grad(), batch_statistics([layer]):
        z = layer.pre_activation(x)
    assert (z.mean(0).abs().max() < 1e-4) == (how != "eval")
    assert not layer.norm.force_batch_stats


class _Watch(dante.Callback):
    """Snapshots every layer at a phase's start and compares at its end."""

    def __init__(self):
        self.phases = []

    def on_phase_start(self, trainer, stage, block):
        self.before = [
            {k: v.clone() for k, v in layer.state_dict().items()} for layer in trainer.model.layers
        ]

    def on_phase_end(self, trainer, stage, block):
        for i, (layer, before) in enumerate(zip(trainer.model.layers, self.before, strict=True)):
            now = layer.state_dict()
            same = all(torch.equal(before[k], now[k]) for k in now)
            moved = None
            if layer.norm is not None:
                moved = not torch.equal(before["norm.running_mean"], now["norm.running_mean"])
            self.phases.append((tuple(block), i, same, moved))


def test_frozen_blocks_do_not_change_during_another_blocks_phase(small_digits):
    X, y, Xt, yt = small_digits
    net = dante.MLP([64, 16, 12, 10], batch_norm=True, seed=1)
    watch = _Watch()
    res = dante.fit(
        net, X, y, Xt, yt, loss="cross_entropy", lr=0.05, batch_size=30, t_sngd=1,
        max_alternations=2, tol=0, callbacks=[watch],
    )  # fmt: skip
    assert len(watch.phases) == 2 * 3 * 3
    for block, i, same, moved in watch.phases:
        if i in block:  # the trained block: weights and (for BN) running statistics move
            assert not same and moved in (True, None)
        else:  # nothing touches a frozen block: bit-identical
            assert same, (block, i)
    # BN blocks take autograd; the plain output block keeps the fused step
    assert res.stages[0]["fast_path"] == {"2": True, "1": False, "0": False}


def test_evaluation_uses_running_statistics(small_digits):
    X, y, Xt, yt = small_digits
    net = dante.MLP([64, 16, 10], batch_norm=True, seed=1)
    res = dante.fit(net, X, y, Xt, yt, loss="cross_entropy", lr=0.05, batch_size=30,
                    t_sngd=1, max_alternations=2, tol=0)  # fmt: skip
    xt = torch.from_numpy(Xt)
    with torch.no_grad():
        train_mode = net(xt)  # the trainer leaves the model in train() mode
    net.eval()
    with torch.no_grad():
        eval_mode = net(xt)
    assert torch.equal(train_mode, eval_mode)  # the same kernel on the same statistics
    acc = float((eval_mode.argmax(1).numpy() == yt).mean())
    assert acc == pytest.approx(res.final["test_accuracy"], abs=1e-12)
    net.train()
    with batch_statistics(net.layers), torch.no_grad():
        assert not torch.allclose(net(xt), eval_mode, atol=1e-3)  # batch stats differ


def test_fast_path_refused_for_batch_norm():
    net = dante.MLP([8, 6, 5, 3], batch_norm=True, seed=0)
    loss = get_loss("mse")
    for block, suffix in (((0,), (0, 1, 2)), ((1,), (1, 2))):
        opt = dante.SNGD(net.block_parameters(block[0]), lr=0.1)
        assert plan_fast_step(net, block, suffix, loss, opt) is None
    # the plain output block above no normalisation still takes it
    opt = dante.SNGD(net.block_parameters(2), lr=0.1)
    assert isinstance(plan_fast_step(net, (2,), (2,), loss, opt), FastBlockStep)
    with pytest.raises(ValueError, match="batch-normalised"):
        FastBlockStep([net.layers[1], net.layers[2]], loss)


def test_checkpoint_resume_restores_running_statistics(small_digits, tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(os, "fsync", lambda fd: None)
    X, y, Xt, yt = small_digits
    kw = dict(loss="cross_entropy", lr=0.05, batch_size=30, t_sngd=2, max_alternations=2,
              tol=0, seed=3)  # fmt: skip

    def build():
        return dante.MLP([64, 16, 12, 10], batch_norm=True, seed=1)

    ref = build()
    ref_res = dante.fit(ref, X, y, Xt, yt, **kw)
    path = tmp_path / "run.pt"
    # 5 steps an epoch, 2 epochs a block, output block first: step 13 is inside
    # block 1's phase, after the checkpoint at step 12 (2 of its steps saved)
    with pytest.raises(KeyboardInterrupt):
        dante.fit(build(), X, y, Xt, yt, callbacks=[_Crash(13)], checkpoint=path,
                  checkpoint_every=4, resume=True, **kw)  # fmt: skip
    saved = torch.load(path, weights_only=True)["model"]
    assert int(saved["layers.1.norm.num_batches_tracked"]) == 2
    assert not torch.equal(saved["layers.1.norm.running_var"], torch.ones(12))
    net = build()
    res = dante.fit(net, X, y, Xt, yt, checkpoint=path, checkpoint_every=4, resume=True, **kw)
    # the same operations in the same order: equal up to float tolerance (in
    # practice bit-identical; a lost running statistic would differ by O(0.1))
    for (k, a), b in zip(ref.state_dict().items(), net.state_dict().values(), strict=True):
        torch.testing.assert_close(a.float(), b.float(), atol=1e-6, rtol=1e-6, msg=k)
    assert [h["test_loss"] for h in res.history] == pytest.approx(
        [h["test_loss"] for h in ref_res.history], abs=1e-6
    )


def test_block_batch_norm_matches_batchnorm1d_in_both_modes():
    x = _batch()
    ours, theirs = BlockBatchNorm1d(20), torch.nn.BatchNorm1d(20)
    torch.testing.assert_close(ours(x), theirs(x))  # training pass: batch statistics
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x))
