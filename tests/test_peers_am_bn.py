"""AM-Adam with the peer's batch normalization and step-size halving.

The reference :func:`peer_step` below is IBM/online-alt-min's minibatch step
(``run_altmin_sgd.py`` with ``altmin.py``'s ``get_codes``, ``update_codes``,
``update_last_layer_`` and ``update_hidden_weights_adam_``) written out for a
784-...-style net of two ``LinMod(bias=False, batchnorm=True)`` hidden layers,
kept as literal as the peer's code is (the anchor cloned after
``requires_grad_``, every module in ``train()`` mode).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dante
import dante.peers  # noqa: F401  (registers the peers)
from dante.data import load
from dante.peers import AMAdam
from dante.peers.am import MNIST_DEFAULTS


def _data(n=64, d=12, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g) + 1.5
    y = torch.randint(0, k, (n,), generator=g)
    return x, y


def peer_step(mods, x, y, mu, lr_codes, n_iter):
    """One minibatch of the peer: ``mods = [m1, relu, m2, top]`` with optimizers."""
    for m in mods:
        m.train()
    crit = nn.CrossEntropyLoss()
    with torch.no_grad():  # get_codes
        codes, h = [], x
        for i, m in enumerate(mods):
            h = m(h)
            if i in (0, 2):
                codes.append(h.clone())
    for j, nmod, lin in ((1, mods[3], lambda t: t), (0, mods[1], mods[2])):  # update_codes
        codes[j].requires_grad_(True)
        opt = torch.optim.SGD([codes[j]], lr=lr_codes, momentum=0.9, nesterov=True)
        codes_initial = codes[j].clone()
        if j == 1:

            def loss_fn(t):
                return crit(t, y)
        else:

            def loss_fn(t):
                return mu * F.mse_loss(t, codes[1].detach())

        for _ in range(n_iter):
            opt.zero_grad()
            loss = (1 / mu) * loss_fn(lin(nmod(codes[j]))) + F.mse_loss(codes[j], codes_initial)
            loss.backward()
            opt.step()
    top = mods[3]  # update_last_layer_
    top.optimizer.zero_grad()
    crit(top(codes[1]), y).backward()
    top.optimizer.step()
    for m, c_in, c_out in ((mods[0], x, codes[0]), (mods[2], F.relu(codes[0]), codes[1])):
        m.optimizer.zero_grad()  # update_hidden_weights_adam_
        F.mse_loss(m(c_in), c_out.detach()).backward()
        m.optimizer.step()


def _peer_copy(net, lr):
    """The peer's modules ``[LinMod, ReLU, LinMod, Sequential(ReLU, Linear)]``
    holding copies of ``net``'s parameters, each with its Adam."""
    hidden = []
    for layer in net.layers[:2]:
        lin = nn.Linear(layer.linear.in_features, layer.linear.out_features, bias=False)
        bn = nn.BatchNorm1d(layer.linear.out_features)
        lin.load_state_dict(layer.linear.state_dict())
        bn.load_state_dict(layer.norm.state_dict())
        hidden.append(nn.Sequential(lin, bn))
    out = net.layers[2].linear
    lin = nn.Linear(out.in_features, out.out_features)
    lin.load_state_dict(out.state_dict())
    mods = [hidden[0], nn.ReLU(), hidden[1], nn.Sequential(nn.ReLU(), lin)]
    for m in (mods[0], mods[2], mods[3]):
        m.optimizer = torch.optim.Adam(m.parameters(), lr=lr)
    return mods


def test_one_step_equals_the_peers_step_with_batch_norm():
    x, y = _data()
    net = dante.MLP([12, 9, 7, 3], activation="relu", batch_norm=True, seed=0)
    mods = _peer_copy(net, lr=0.008)
    solver = AMAdam(net, "cross_entropy", lr=0.008, code_proximal=False, batch_norm=True)
    for _ in range(3):  # three minibatches: Adam state and running statistics carry over
        solver.train_step(x, y, torch.arange(len(x)))
        peer_step(mods, x, y, mu=0.003, lr_codes=0.3, n_iter=5)
    pairs = [
        (net.layers[0].linear.weight, mods[0][0].weight),
        (net.layers[0].norm.weight, mods[0][1].weight),
        (net.layers[0].norm.running_mean, mods[0][1].running_mean),
        (net.layers[0].norm.running_var, mods[0][1].running_var),
        (net.layers[1].linear.weight, mods[2][0].weight),
        (net.layers[1].norm.bias, mods[2][1].bias),
        (net.layers[1].norm.running_mean, mods[2][1].running_mean),
        (net.layers[1].norm.running_var, mods[2][1].running_var),
        (net.layers[2].linear.weight, mods[3][1].weight),
        (net.layers[2].linear.bias, mods[3][1].bias),
    ]
    # the same float32 operations in another order (F.batch_norm vs the module,
    # the cancelled anchor gradient): Adam's first steps move each weight by
    # about lr = 8e-3, so 1e-5 absolute is far below a step and far above rounding
    for ours, theirs in pairs:
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
    # the running statistics moved as often as the peer's: the forward pass and
    # the weight step (layer 1); plus the 5 code steps through layer 2 (layer 2)
    assert int(net.layers[0].norm.num_batches_tracked) == 3 * 2
    assert int(net.layers[1].norm.num_batches_tracked) == 3 * (2 + 5)
    assert int(mods[2][1].num_batches_tracked) == 3 * 7


def test_the_proximal_term_matters():
    """``code_proximal`` changes the step (so the equality above is not vacuous)."""
    x, y = _data()
    nets = [dante.MLP([12, 9, 7, 3], activation="relu", batch_norm=True, seed=0) for _ in "ab"]
    for net, prox in zip(nets, (True, False), strict=True):
        AMAdam(net, "cross_entropy", lr=0.008, code_proximal=prox).train_step(x, y, None)
    assert not torch.equal(nets[0].layers[0].linear.weight, nets[1].layers[0].linear.weight)


def test_batch_norm_check():
    plain = dante.MLP([12, 9, 7, 3], seed=0)
    with pytest.raises(ValueError, match="batch_norm=True"):
        AMAdam(plain, "cross_entropy", batch_norm=True)
    AMAdam(plain, "cross_entropy", batch_norm=False)
    bn = dante.MLP([12, 9, 7, 3], batch_norm=True, seed=0)
    with pytest.raises(ValueError, match="batch_norm=False"):
        AMAdam(bn, "cross_entropy", batch_norm=False)
    with pytest.raises(ValueError, match="n_samples"):
        AMAdam(bn, "cross_entropy", lr_decay=0.5, lr_decay_every=8)
    with pytest.raises(ValueError, match="lr_decay"):
        AMAdam(bn, "cross_entropy", lr_decay=2.0)
    with pytest.raises(ValueError, match="batch normalization"):
        dante.fit(
            bn,
            np.zeros((8, 12), np.float32),
            np.arange(8) % 3,
            schedule="backprop",
            solver="admm",
            batch_size=8,
            max_alternations=1,
        )


def test_lr_halving_exact_after_k_periods():
    x, y = _data(n=40)
    net = dante.MLP([12, 9, 3], activation="relu", batch_norm=True, seed=0)
    lr = 0.008
    am = AMAdam(net, "cross_entropy", lr=lr, lr_decay=0.5, lr_decay_every=2, n_samples=40)
    seen = []
    for epoch in range(7):
        for rows in (slice(0, 16), slice(16, 32), slice(32, 40)):  # a ragged last batch
            am.train_step(x[rows], y[rows], None)
            seen.append((epoch, am.optimizers[0].param_groups[0]["lr"]))
    for epoch, used in seen:
        # lr * 0.5**k is exact in binary floating point: compare with ==
        assert used == lr * 0.5 ** (epoch // 2), (epoch, used)
    assert am.current_lr() == lr * 0.5**3  # 7 epochs done: the 4th period starts
    assert {g["lr"] for opt in am.optimizers for g in opt.param_groups} == {lr * 0.5**3}


def test_lr_halving_survives_a_checkpoint():
    x, y = _data(n=40)
    net = dante.MLP([12, 9, 3], batch_norm=True, seed=0)
    a = AMAdam(net, "cross_entropy", lr=0.01, lr_decay=0.5, lr_decay_every=1, n_samples=40)
    for _ in range(3):
        a.train_step(x[:20], y[:20], None)
    b = AMAdam(net, "cross_entropy", lr=0.01, lr_decay=0.5, lr_decay_every=1, n_samples=40)
    b.load_state_dict(a.state_dict())
    assert b.samples_seen == 60 and b.current_lr() == 0.005
    b.load_state_dict({"adam": a.state_dict()["adam"]})  # a state saved before the schedule
    assert b.samples_seen == 0


def test_factory_passes_options_and_n_samples():
    import functools

    from dante.peers.am import am_adam_factory

    net = dante.MLP([12, 9, 3], batch_norm=True, seed=0)
    make = functools.partial(am_adam_factory, lr_decay=0.5, lr_decay_every=8)
    am = make(
        None, 0.008, 0.0, model=net, loss="cross_entropy", block=None, suffix=None, n_samples=600
    )
    assert (am.lr_decay, am.lr_decay_every, am.n_samples) == (0.5, 8, 600)


def test_am_adam_bn_learns_digits():
    """A tiny run at the peer's MNIST setting (scaled to digits) learns.

    Chance is 0.10; AM-Adam with BN reached 0.96-0.97 test accuracy after 8
    epochs here, and a broken normalisation (codes or statistics mixed up)
    stays far lower. 0.90 leaves room for other arithmetic.
    """
    ds = load("digits")
    d = MNIST_DEFAULTS
    net = dante.MLP([64, 100, 100, 10], activation="relu", batch_norm=True, seed=d["seed"])
    n = len(ds.X_train)

    def solver(params):
        return AMAdam(
            net,
            "cross_entropy",
            lr=d["lr"],
            lr_decay=0.5,
            lr_decay_every=4,
            n_samples=n,
            code_proximal=d["code_proximal"],
            batch_norm=True,
        )

    res = dante.fit(
        net,
        ds.X_train,
        ds.y_train,
        ds.X_test,
        ds.y_test,
        schedule="backprop",
        solver=solver,
        loss="cross_entropy",
        batch_size=d["batch_size"],
        max_alternations=8,
        tol=0,
    )
    assert res.history[0]["test_accuracy"] < 0.3
    assert res.final["test_accuracy"] > 0.90


def test_p5_benchmark_smoke_run():
    """``p5_am_adam`` on digits: both methods train, times exclude evaluation."""
    from dante.bench.p5 import p5_am_adam

    runs = [{"name": "bn", "batch_norm": True, "activation": "relu", "lr": 0.1, "t_sngd": 1}]
    r = p5_am_adam(dataset="digits", epochs=3, dante_runs=runs, target=0.5, threads=1)
    peer, bn = r["peer"], r["dante"]["bn"]
    assert r["n_train"] == 1437 and len(peer["curve"]) == 4  # the initial record, 3 epochs
    assert peer["final_accuracy"] > 0.5  # chance is 0.1; 0.93 measured
    assert bn["time_to_target"] is not None and bn["curve"][-1]["test_accuracy"] >= 0.5
    assert bn["fraction_of_peer"] == bn["time_to_target"] / peer["wall_seconds"]
    assert 0 < peer["wall_seconds"] < peer["process_seconds"]  # evaluation is off the clock
