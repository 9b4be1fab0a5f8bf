"""``dante.SNGD`` takes the keywords users carry over from ``torch.optim``
(``weight_decay``, ``maximize``, ``foreach``) and sparse gradients."""

from __future__ import annotations

import copy

import pytest
import torch

import dante

# float32 rounds each entry of a step to ~6e-8 relative; summed in a norm over
# a few hundred entries that stays far below 1e-5. float64: ~1e-16 -> 1e-9.
REL = {torch.float32: 1e-5, torch.float64: 1e-9}


def _block(dtype=torch.float32, seed=0, shapes=((6, 4), (6,))):
    g = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(s, generator=g, dtype=dtype)) for s in shapes]
    grads = [torch.randn(s, generator=g, dtype=dtype) * 10 for s in shapes]
    return params, grads


def _step(params, grads, **kw):
    """One SNGD step from the given gradients; returns the displacement."""
    before = [p.detach().clone() for p in params]
    for p, gr in zip(params, grads, strict=True):
        p.grad = gr.clone()
    opt = dante.SNGD(params, **kw)
    opt.step()
    return torch.cat([(p.detach() - b).reshape(-1) for p, b in zip(params, before, strict=True)])


# ---------------------------------------------------------------- weight decay


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weight_decay_is_coupled_and_the_step_length_stays_lr(dtype, foreach):
    params, grads = _block(dtype)
    w = torch.cat([p.detach().reshape(-1) for p in params])
    g = torch.cat([gr.reshape(-1) for gr in grads])
    moved = _step(params, grads, lr=0.05, weight_decay=0.7, foreach=foreach)
    assert moved.norm().item() == pytest.approx(0.05, rel=REL[dtype])
    # coupled: the direction is that of g + wd * w, normalized as one block
    d = g + 0.7 * w
    torch.testing.assert_close(moved, -0.05 * d / d.norm())


def test_weight_decay_pulls_towards_zero_when_the_gradient_vanishes():
    p = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    p.grad = torch.zeros(2)
    dante.SNGD([p], lr=0.5, weight_decay=0.1).step()
    torch.testing.assert_close(p.detach(), torch.tensor([3.0, 4.0]) * (1 - 0.5 / 5.0))


# ---------------------------------------------------------------- maximize


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_maximize_mirrors_minimize(momentum, foreach):
    pa, grads = _block(torch.float64)
    pb = [torch.nn.Parameter(p.detach().clone()) for p in pa]
    oa = dante.SNGD(pa, lr=0.1, momentum=momentum, foreach=foreach)
    ob = dante.SNGD(pb, lr=0.1, momentum=momentum, maximize=True, foreach=foreach)
    start = [p.detach().clone() for p in pa]
    for k in range(3):  # the same gradients fed to both: the momentum buffers mirror too
        for a, b, gr in zip(pa, pb, grads, strict=True):
            a.grad = gr * (k + 1)
            b.grad = gr * (k + 1)
        oa.step()
        ob.step()
        for a, b, s in zip(pa, pb, start, strict=True):
            # float64: the two updates round independently, ~1e-16 per entry
            torch.testing.assert_close(b.detach() - s, -(a.detach() - s), rtol=0, atol=1e-12)
    step = _step(
        [torch.nn.Parameter(torch.zeros(2))], [torch.tensor([3.0, 4.0])], lr=1.0, maximize=True
    )
    torch.testing.assert_close(step, torch.tensor([0.6, 0.8]))  # +lr * g / ||g||


# ---------------------------------------------------------------- foreach


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"momentum": 0.5},
        {"weight_decay": 0.1},
        {"maximize": True, "momentum": 0.3, "weight_decay": 0.2},
    ],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex64])
def test_foreach_true_and_false_give_the_same_result(kw, dtype):
    pa, grads = _block(dtype, seed=3, shapes=((5, 3), (5,), (2, 2, 2)))
    pb = [torch.nn.Parameter(p.detach().clone()) for p in pa]
    oa = dante.SNGD(pa, lr=0.07, foreach=True, **kw)
    ob = dante.SNGD(pb, lr=0.07, foreach=False, **kw)
    for k in range(3):
        for a, b, gr in zip(pa, pb, grads, strict=True):
            a.grad = gr + k * a.detach()
            b.grad = gr + k * b.detach()
        oa.step()
        ob.step()
    for a, b in zip(pa, pb, strict=True):
        torch.testing.assert_close(a, b)  # dtype-aware float tolerance (~1e-6 for float32)
    for na, nb in zip(oa.last_grad_norms, ob.last_grad_norms, strict=True):
        torch.testing.assert_close(na, nb)


# ---------------------------------------------------------------- state dict


def test_state_dict_round_trip_keeps_the_new_options():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    kw = {"momentum": 0.3, "weight_decay": 0.05, "maximize": True, "foreach": False}
    oa = dante.SNGD(a.parameters(), lr=0.1, **kw)
    x = torch.randn(8, 3)
    a(x).pow(2).sum().backward()
    oa.step()
    ob = dante.SNGD(b.parameters(), lr=0.5)  # other options: the state dict brings them
    b.load_state_dict(a.state_dict())
    ob.load_state_dict(copy.deepcopy(oa.state_dict()))
    for key, value in kw.items():
        assert ob.param_groups[0][key] == value
    for m, o in ((a, oa), (b, ob)):
        o.zero_grad()
        m(x).pow(2).sum().backward()
        o.step()
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_a_state_dict_saved_without_the_options_loads_with_their_defaults():
    p = torch.nn.Parameter(torch.zeros(2))
    opt = dante.SNGD([p], lr=0.1, weight_decay=0.5, maximize=True)
    old = opt.state_dict()
    for group in old["param_groups"]:  # as written by a dante without these options
        for key in ("weight_decay", "maximize", "foreach"):
            del group[key]
    opt.load_state_dict(old)
    group = opt.param_groups[0]
    assert (group["weight_decay"], group["maximize"], group["foreach"]) == (0.0, False, None)
    p.grad = torch.tensor([3.0, 4.0])
    opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([-0.06, -0.08]))


# ---------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    ("kw", "error", "name"),
    [
        ({"weight_decay": -0.1}, ValueError, "weight_decay"),
        ({"weight_decay": float("nan")}, ValueError, "weight_decay"),
        ({"weight_decay": "0.1"}, TypeError, "weight_decay"),
        ({"weight_decay": True}, TypeError, "weight_decay"),
        ({"maximize": "yes"}, TypeError, "maximize"),
        ({"maximize": 1}, TypeError, "maximize"),
        ({"foreach": 1}, TypeError, "foreach"),
        ({"foreach": "auto"}, TypeError, "foreach"),
    ],
)
def test_bad_option_values_are_refused_naming_the_argument(kw, error, name):
    # the message names the argument and what it must be (not "unexpected keyword")
    pattern = f"Invalid {name}" if error is ValueError else f"argument '{name}' must be"
    with pytest.raises(error, match=pattern):
        dante.SNGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, **kw)


def test_a_parameter_group_s_own_options_are_checked_too():
    p, q = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="weight_decay"):
        dante.SNGD([{"params": [p]}, {"params": [q], "weight_decay": -1.0}], lr=0.1)
    opt = dante.SNGD([p], lr=0.1)
    with pytest.raises(TypeError, match="argument 'maximize' must be"):
        opt.add_param_group({"params": [q], "maximize": None})


# ---------------------------------------------------------------- sparse


def _embedding_pair(dtype=torch.float32):
    torch.manual_seed(1)
    sparse = torch.nn.Embedding(10, 4, sparse=True).to(dtype)
    dense = torch.nn.Embedding(10, 4, sparse=False).to(dtype)
    dense.load_state_dict(sparse.state_dict())
    idx = torch.tensor([1, 2, 1, 7])  # a repeated row: the sparse gradient is uncoalesced
    for emb in (sparse, dense):
        (emb(idx) * torch.arange(4.0, dtype=dtype)).sum().backward()
    return sparse, dense


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("foreach", [None, False])
def test_sparse_gradients_step_only_the_rows_present_by_exactly_lr(foreach, maximize):
    sparse, dense = _embedding_pair()
    w0 = sparse.weight.detach().clone()
    dante.SNGD(sparse.parameters(), lr=0.2, foreach=foreach, maximize=maximize).step()
    dante.SNGD(dense.parameters(), lr=0.2, foreach=foreach, maximize=maximize).step()
    moved = sparse.weight.detach() - w0
    assert moved.norm().item() == pytest.approx(0.2, rel=REL[torch.float32])
    untouched = [r for r in range(10) if r not in (1, 2, 7)]
    assert torch.equal(moved[untouched], torch.zeros(len(untouched), 4))
    # the same step as the dense gradient of the same loss
    torch.testing.assert_close(sparse.weight, dense.weight)


def test_sparse_and_dense_tensors_in_one_block_share_one_norm():
    emb = torch.nn.Embedding(6, 3, sparse=True)
    lin = torch.nn.Linear(3, 1)
    params = [emb.weight, *lin.parameters()]
    before = [p.detach().clone() for p in params]
    lin(emb(torch.tensor([0, 4, 4]))).sum().backward()
    dante.SNGD(params, lr=0.3).step()
    step = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(params, before)))
    assert step.item() == pytest.approx(0.3, rel=REL[torch.float32])


@pytest.mark.parametrize("kw", [{"momentum": 0.9}, {"weight_decay": 0.01}])
def test_sparse_gradient_with_momentum_or_decay_is_a_clear_error(kw):
    sparse, _ = _embedding_pair()
    opt = dante.SNGD(sparse.parameters(), lr=0.1, **kw)
    with pytest.raises(ValueError, match=r"parameter 0 of group 0.*sparse=False.*SparseAdam"):
        opt.step()
