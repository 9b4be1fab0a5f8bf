"""Step-size control across alternations (:mod:`dante.lr_control`).

The index schedules are checked against their formulas to 1e-12 (they are a
few float64 multiplications, so only rounding separates them); the trainer's
SNGD steps against the scheduled length to 1e-5 relative (a float32 step of
length ``lr``: the norm of the displacement carries a few float32 roundings,
~1e-7, while a wrong schedule misses by a factor).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import dante
from dante.lr_control import LR_SCHEDULES, LRControl
from test_checkpoint import _Crash


def _opt(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def _lrs(name: str, rounds: int, horizon: int = 5, losses=None, **options) -> list[float]:
    ctl, opt, out = LRControl(name, options, 0.1), _opt(), []
    for t in range(1, rounds + 1):
        out.append(ctl.begin_phase("s", (0,), opt, t, horizon, 0.1))
        assert opt.param_groups[0]["lr"] == out[-1]
        ctl.end_phase("s", (0,), opt, losses[t - 1] if losses else 1.0)
    return out


@pytest.mark.parametrize(
    "name, options, expect",
    [
        ("step", {}, [1, 1, 0.5, 0.5, 0.25]),
        ("step", {"gamma": 0.1, "step_size": 1}, [1, 0.1, 0.01, 1e-3, 1e-4]),
        ("exponential", {}, [0.7**t for t in range(5)]),
        ("theory", {}, [1 / math.sqrt(t) for t in range(1, 6)]),
        ("cosine", {"min_factor": 0.0}, [1, (1 + math.cos(math.pi / 4)) / 2, 0.5,
                                          (1 + math.cos(3 * math.pi / 4)) / 2, 0]),
    ],
)  # fmt: skip
def test_index_schedules_match_their_formulas(name, options, expect):
    got = _lrs(name, 5, **options)
    np.testing.assert_allclose(got, [0.1 * e for e in expect], rtol=1e-12, atol=1e-15)


def test_cosine_defaults_to_the_horizon_and_stays_at_its_floor():
    got = _lrs("cosine", 7, horizon=4)
    assert got[0] == pytest.approx(0.1) and got[3] == pytest.approx(0.1 * 0.01)
    assert got[5] == pytest.approx(0.1 * 0.01)  # past the horizon: the floor, no wrap-around


def test_plateau_halves_only_when_the_loss_stops_improving():
    # 1.0 -> 0.5 improves; 0.499 is within 1 % of 0.5 (no improvement); 0.3 improves
    got = _lrs("plateau", 5, losses=[1.0, 0.5, 0.499, 0.3, 0.3])
    np.testing.assert_allclose(got, [0.1, 0.1, 0.1, 0.05, 0.05], rtol=1e-12)
    # the factor never goes below min_factor
    got = _lrs("plateau", 6, losses=[1.0] * 6, min_factor=0.25)
    assert min(got) == pytest.approx(0.1 * 0.25)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step")  # no optimizer step
def test_torch_scheduler_by_class_name_matches_torch():
    ctl, opt = LRControl("StepLR", {"step_size": 2, "gamma": 0.5}, 0.1), _opt()
    ref_opt = _opt()
    ref = torch.optim.lr_scheduler.StepLR(ref_opt, step_size=2, gamma=0.5)
    for t in range(1, 6):
        ctl.begin_phase("s", (0,), opt, t, 5, 0.1)
        assert opt.param_groups[0]["lr"] == pytest.approx(ref_opt.param_groups[0]["lr"])
        ctl.end_phase("s", (0,), opt, 1.0)
        ref.step()


@pytest.mark.parametrize(
    "name, options, match",
    [
        ("nope", {}, "unknown lr_schedule 'nope'"),
        ("step", {"gama": 0.5}, "unknown lr_schedule_options"),
        ("exponential", {"gamma": 1.5}, r"in \(0, 1\]"),
        ("step", {"step_size": 1.5}, "integer"),
        ("cosine", {"min_factor": -1}, "positive"),
        ("plateau", {"factor": "half"}, "number"),
    ],
)
def test_bad_schedules_are_refused_by_name(name, options, match):
    with pytest.raises(ValueError, match=match):
        dante.TrainConfig(lr_schedule=name, lr_schedule_options=options)
    with pytest.raises(ValueError, match="lr_schedule"):
        dante.fit(dante.MLP([4, 2, 1], seed=0), np.zeros((4, 4)), lr_schedule=name,
                  lr_schedule_options=options)  # fmt: skip


def test_torch_scheduler_with_wrong_arguments_names_the_scheduler():
    X, y = _digits()
    with pytest.raises(ValueError, match="StepLR"):
        dante.fit(dante.MLP([64, 8, 10], seed=0), X, y, lr_schedule="StepLR",
                  lr_schedule_options={"bogus": 1}, max_alternations=1)  # fmt: skip


def _digits(n: int = 300):
    d = load_digits()
    return (d.data[:n] / 16).astype(np.float32), d.target[:n]


class _Steps(dante.Callback):
    """Records the displacement norm of every SNGD step of block 0."""

    def __init__(self) -> None:
        self.norms: list[float] = []

    def on_phase_start(self, trainer, stage, block):
        self.block = block

    def on_step(self, trainer, loss):
        w = torch.cat([p.detach().flatten() for p in trainer.model.block_parameters(0)])
        if self.block == (0,) and hasattr(self, "prev"):
            self.norms.append(float((w - self.prev).norm()))
        self.prev = w


def test_trainer_sngd_steps_have_the_scheduled_length():
    X, y = _digits()
    cb = _Steps()
    res = dante.Trainer(
        dante.MLP([64, 16, 10], seed=0), lr=0.2, batch_size=300, t_sngd=1, tol=0.0,
        max_alternations=4, lr_schedule="exponential", lr_schedule_options={"gamma": 0.5},
        fast_path=False, callbacks=[cb],
    ).fit(X, y)  # fmt: skip
    lrs = res.stages[0]["lr"]
    np.testing.assert_allclose(lrs["0"], [0.2, 0.1, 0.05, 0.025], rtol=1e-12)
    np.testing.assert_allclose(lrs["1"], lrs["0"], rtol=1e-12)
    # one step per phase (batch = all rows): block 0's steps of rounds 2-4; the
    # first recorded norm spans block 1's phase, where block 0 does not move
    norms = [v for v in cb.norms if v > 0]
    np.testing.assert_allclose(norms, [0.2, 0.1, 0.05, 0.025][-len(norms) :], rtol=1e-5)
    assert len(norms) >= 3


def test_constant_schedule_records_nothing_and_changes_nothing():
    X, y = _digits()
    a = dante.fit(dante.MLP([64, 8, 10], seed=0), X, y, max_alternations=2, lr=0.1)
    b = dante.fit(
        dante.MLP([64, 8, 10], seed=0), X, y, max_alternations=2, lr=0.1,
        lr_schedule="exponential", lr_schedule_options={"gamma": 1.0},
    )  # fmt: skip
    assert "lr" not in a.stages[0]
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        # gamma = 1 keeps the step: the same run up to float32 rounding
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_backprop_schedule_decays_per_epoch():
    X, y = _digits()
    res = dante.fit(
        dante.MLP([64, 8, 10], seed=0), X, y, method="sgd", lr=0.4, max_alternations=3,
        lr_schedule="step", lr_schedule_options={"step_size": 1, "gamma": 0.5}, tol=0.0,
    )  # fmt: skip
    (lrs,) = res.stages[0]["lr"].values()
    np.testing.assert_allclose(lrs, [0.4, 0.2, 0.1], rtol=1e-12)


@pytest.mark.parametrize(
    "name, options",
    [("plateau", {}), ("cosine", {}), ("StepLR", {"step_size": 1, "gamma": 0.5})],
)
def test_resumed_run_continues_the_schedule(tmp_path, name, options):
    X, y = _digits()
    kw = dict(lr=0.3, batch_size=50, t_sngd=1, tol=0.0, max_alternations=4, seed=1,
              lr_schedule=name, lr_schedule_options=options)  # fmt: skip
    full = dante.Trainer(dante.MLP([64, 8, 10], seed=0), **kw).fit(X, y)
    ck = tmp_path / "ck.pt"
    # a crash mid-run (step 29: round 3, between checkpoints), then a resume
    with pytest.raises(KeyboardInterrupt):
        dante.Trainer(
            dante.MLP([64, 8, 10], seed=0), checkpoint=ck, checkpoint_every=7,
            callbacks=[_Crash(29)], **kw,
        ).fit(X, y)  # fmt: skip
    trainer = dante.Trainer(
        dante.MLP([64, 8, 10], seed=0), checkpoint=ck, checkpoint_every=7, resume=True, **kw
    )
    resumed = trainer.fit(X, y)
    assert trainer.resumed_from_step == 28
    # the per-block lr histories ({block: [lr per round]}) match key by key; rel 1e-12:
    # the same schedule arithmetic replayed, only rounding-order differences allowed
    got, want = resumed.stages[0]["lr"], full.stages[0]["lr"]
    assert sorted(got) == sorted(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-12), key
    for p, q in zip(full.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_every_builtin_schedule_trains_digits():
    X, y = _digits(600)
    for name in LR_SCHEDULES:
        res = dante.fit(dante.MLP([64, 32, 10], seed=0), X, y, lr=0.3, loss="cross_entropy",
                        max_alternations=4, lr_schedule=name)  # fmt: skip
        # chance is 0.1; four alternations of any of these reach far above it
        assert res.final["train_accuracy"] > 0.8, name


@pytest.mark.parametrize("options", [{}, {"step_size": 2, "bogus": 1}])
def test_torch_scheduler_arguments_are_checked_when_the_config_is_built(options):
    # before any data is loaded or any step taken: StepLR needs step_size, knows no 'bogus'
    with pytest.raises(ValueError, match="do not fit torch.optim.lr_scheduler.StepLR"):
        dante.TrainConfig(lr_schedule="StepLR", lr_schedule_options=options)


# solver state across phases (TrainConfig.solver_state) -------------------------------
def _fit_state(state, method="dante_heavy_ball", rounds=3):
    X, y = _digits()
    return dante.Trainer(
        dante.MLP([64, 8, 10], seed=0), method=method, lr=0.01, batch_size=50,
        t_sngd=1, tol=0.0, max_alternations=rounds, seed=1, solver_state=state,
    ).fit(X, y)  # fmt: skip


def _params(res):
    return [p.detach().clone() for p in res.model.parameters()]


def test_solver_state_reset_only_differs_once_a_block_has_a_second_phase():
    # one alternation: every block's phase starts with empty state either way, so the
    # runs are the same arithmetic (bit-identical on one machine: exact equality)
    for p, q in zip(_params(_fit_state("carry", rounds=1)), _params(_fit_state("reset", rounds=1))):
        assert torch.equal(p, q)
    # three alternations: the carried heavy-ball buffer (0.9 of the last step, of size up
    # to 10 lr) moves the weights a different way than a fresh one; the gap dwarfs rounding
    carry, reset = _params(_fit_state("carry")), _params(_fit_state("reset"))
    gap = max(float((p - q).abs().max()) for p, q in zip(carry, reset))
    assert gap > 1e-3


def test_solver_state_is_moot_without_state():
    # plain SNGD (momentum 0) keeps no state: reset and carry are the same run
    a, b = _fit_state("carry", method="dante"), _fit_state("reset", method="dante")
    for p, q in zip(_params(a), _params(b)):
        assert torch.equal(p, q)


def test_solver_state_is_checked():
    with pytest.raises(ValueError, match="solver_state"):
        dante.TrainConfig(solver_state="keep")
