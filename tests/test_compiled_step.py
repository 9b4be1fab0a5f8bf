"""The fused block step captured by ``torch.compile`` (:mod:`dante.compiled_step`).

Oracles: the eager fused step (:mod:`dante.fast_step`, itself checked against
autograd in ``tests/test_fast_step.py``) and SNGD's defining property, a step
of length exactly ``lr`` (Algorithm 1 of ``001_1787bf99fca4a9f2.txt``).

Tolerances. The compiled function performs the same float32 operations, but a
compiler may fuse and reorder the element-wise work and the norm's reduction:
one rounding (unit roundoff 6e-8) per operation, a few operations per entry.
Over the ~30 steps compared here every step has length ``lr``, so direction
errors of ~1e-7 add up linearly to a few 1e-7 of the weights' scale (~0.3);
measured: 3e-8 to 3e-7 absolute. 1e-5 absolute leaves a factor 30 for other
CPUs and BLAS builds while a real error (a wrong derivative, a missing bias
term, the step taken on a stale learning rate) moves a weight by ~lr = 0.05.
"""

from __future__ import annotations

import copy
import shutil

import pytest
import torch

import dante
from dante.compiled_step import CompiledBlockStep, compile_block_step
from dante.fast_step import FastBlockStep
from dante.losses import get_loss

ATOL = 1e-5
BACKEND = {"backend": "aot_eager"}  # traces and functionalises; needs no C++ compiler
CASES = [
    ("leaky_relu", "cross_entropy", 4),
    ("sigmoid", "mse", 3),
    ("tanh", "cross_entropy", 1),  # sigmoid + binary cross-entropy on one logit
    (dante.activations.GeneralizedReLU(0.2, 1.5), "mse", 2),
]


def _pair(act, loss_name, k, options, lr=0.05, seed=0):
    """Two copies of a 5-6-5-k net with a block step on layer 1: eager and compiled."""
    out_act = act if loss_name == "mse" else "identity"
    net = dante.MLP([5, 6, 5, k], activation=act, output_activation=out_act, seed=seed)
    nets = [net, copy.deepcopy(net)]
    loss = get_loss(loss_name)
    steps = []
    for i, n in enumerate(nets):
        lin = n.layers[1].linear
        fast = FastBlockStep([n.layers[1], n.layers[2]], loss, dante.SNGD(lin.parameters(), lr=lr))
        steps.append(fast if i == 0 else CompiledBlockStep(fast, options))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(70, 6, generator=g)
    y = torch.randint(0, max(k, 2), (70,), generator=g)
    t = loss.prepare_targets(y, k, True) if loss_name == "cross_entropy" else torch.randn(70, k)
    return nets, steps, x, t


def _weights(net):
    return torch.cat([p.detach().flatten() for p in net.parameters()])


@pytest.mark.parametrize("act, loss_name, k", CASES)
def test_compiled_step_follows_the_eager_fused_step(act, loss_name, k):
    nets, steps, x, t = _pair(act, loss_name, k, BACKEND)
    start = _weights(nets[1])
    for _ in range(3):
        for s in range(0, 70, 16):  # the last minibatch (6 rows) runs eagerly
            _, v0 = steps[0].step(x[s : s + 16], t[s : s + 16])
            _, v1 = steps[1].step(x[s : s + 16], t[s : s + 16])
            assert v1 == pytest.approx(v0, rel=1e-5, abs=1e-6)
    assert steps[1]._rows == 16
    assert float((_weights(nets[1]) - start).abs().max()) > 0.01  # 15 steps of length 0.05
    assert torch.allclose(_weights(nets[0]), _weights(nets[1]), rtol=0, atol=ATOL)


def test_every_compiled_step_has_length_lr_also_after_a_schedule_change():
    nets, steps, x, t = _pair("leaky_relu", "cross_entropy", 4, BACKEND, lr=0.05)
    step, lin = steps[1], nets[1].layers[1].linear
    for lr in (0.05, 0.01):  # lr_control writes the group's lr between phases
        step.group["lr"] = lr
        for s in range(0, 64, 16):
            before = torch.cat([lin.weight.detach().flatten(), lin.bias.detach().flatten()])
            step.step(x[s : s + 16], t[s : s + 16])
            after = torch.cat([lin.weight.detach().flatten(), lin.bias.detach().flatten()])
            # ||delta|| = lr up to float32 rounding of ~60 entries (1e-6 relative)
            assert float((after - before).norm()) == pytest.approx(lr, rel=1e-5)
    assert step.opt.last_grad_norms[0] > 0


def test_a_non_finite_loss_takes_no_step():
    nets, steps, x, t = _pair("sigmoid", "mse", 3, BACKEND)
    before = _weights(nets[1])
    bad = x[:16].clone()
    bad[3, 2] = float("nan")
    _, value = steps[1].step(bad, t[:16])
    assert value != value  # NaN reaches the caller, which raises (the trainer does)
    assert torch.equal(_weights(nets[1]), before)


@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}])
def test_trainer_records_and_matches_the_eager_path(kw):
    g = torch.Generator().manual_seed(1)
    X = torch.randn(120, 8, generator=g)
    y = torch.randint(0, 3, (120,), generator=g)
    common = dict(
        loss="cross_entropy", lr=0.05, t_sngd=2, max_alternations=2, batch_size=32, tol=0.0, **kw
    )
    runs = [
        dante.fit(dante.MLP([8, 6, 3], seed=0), X, y, **common),
        dante.fit(
            dante.MLP([8, 6, 3], seed=0), X, y, compile_step=True, compile_options=BACKEND, **common
        ),
    ]
    compiled = runs[1].stages[0]["compiled"]
    assert compiled == ({"0": True, "1": True} if not kw else {"0": False, "1": False})
    assert runs[1].stages[0]["fast_path"] == {"0": True, "1": True}
    assert "compiled" not in runs[0].stages[0]
    assert torch.allclose(_weights(runs[0].model), _weights(runs[1].model), rtol=0, atol=ATOL)


def test_config_checks_compile_options():
    with pytest.raises(ValueError, match="unknown key 'mdoe' \\(did you mean 'mode'"):
        dante.TrainConfig(compile_step=True, compile_options={"mdoe": "default"})
    with pytest.raises(ValueError, match="compile_options .*Unrecognized mode=fastest"):
        dante.TrainConfig(compile_step=True, compile_options={"mode": "fastest"})
    with pytest.raises(ValueError, match="compile_options .*Invalid backend"):
        dante.TrainConfig(compile_step=True, compile_options={"backend": "nvfuser9"})
    with pytest.raises(ValueError, match="compile_options\\['fullgraph'\\] must be True or False"):
        dante.TrainConfig(compile_step=True, compile_options={"fullgraph": "yes"})
    with pytest.raises(ValueError, match="compile_options\\['backend'\\] must be a string"):
        dante.TrainConfig(compile_step=True, compile_options={"backend": 5})
    with pytest.raises(ValueError, match="set fast_path=True or drop compile_step"):
        dante.TrainConfig(compile_step=True, fast_path=False)
    with pytest.raises(ValueError, match="compile_step is False"):
        dante.TrainConfig(compile_options={"mode": "default"})


def test_a_backend_failure_names_the_fix():
    def broken(gm, example_inputs):
        raise OSError("no C++ compiler found")

    nets, steps, x, t = _pair("tanh", "mse", 2, {"backend": broken})
    before = _weights(nets[1])
    with pytest.raises(RuntimeError, match="compile_step=False"):
        steps[1].step(x[:16], t[:16])
    assert torch.equal(_weights(nets[1]), before)  # nothing changed


def test_solvers_with_state_are_not_captured():
    net = dante.MLP([4, 3, 2], seed=0)
    lin = net.layers[0].linear
    fast = FastBlockStep(
        net.layers, get_loss("mse"), dante.SNGD(lin.parameters(), lr=0.1, momentum=0.5)
    )
    assert compile_block_step(fast) is None
    with pytest.raises(ValueError, match="plain SNGD"):
        CompiledBlockStep(fast)


def _inductor_unusable() -> str | None:
    """Why inductor cannot compile here (no C++ compiler, no Python headers...), or None."""
    if not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        return "inductor's CPU backend needs a C++ compiler"
    try:
        torch.compile(lambda t: t.sin() + 1, dynamic=False)(torch.ones(3))
    except Exception as exc:  # the toolchain, not our code: a one-line function
        return f"inductor cannot compile on this machine: {type(exc).__name__}"
    return None


def test_inductor_on_the_cpu_follows_the_eager_fused_step():
    reason = _inductor_unusable()
    if reason:
        pytest.skip(reason)
    nets, steps, x, t = _pair("leaky_relu", "cross_entropy", 4, {})
    for s in range(0, 64, 16):
        steps[0].step(x[s : s + 16], t[s : s + 16])
        steps[1].step(x[s : s + 16], t[s : s + 16])
    assert torch.allclose(_weights(nets[0]), _weights(nets[1]), rtol=0, atol=ATOL)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_step_follows_the_cpu_fused_step():
    g = torch.Generator().manual_seed(2)
    X = torch.randn(200, 10, generator=g)
    y = torch.randint(0, 4, (200,), generator=g)
    common = dict(
        loss="cross_entropy", lr=0.05, t_sngd=2, max_alternations=2, batch_size=50, tol=0.0
    )
    cpu = dante.fit(dante.MLP([10, 8, 4], seed=0), X, y, **common)
    gpu = dante.fit(dante.MLP([10, 8, 4], seed=0), X, y, device="cuda", compile_step=True, **common)
    assert gpu.stages[0]["compiled"] == {"0": True, "1": True}
    # cuBLAS and the CPU BLAS sum in different orders: ~1e-7 per step, as above
    assert torch.allclose(_weights(cpu.model), _weights(gpu.model).cpu(), rtol=0, atol=1e-4)
