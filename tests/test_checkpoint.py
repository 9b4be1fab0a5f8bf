"""Checkpoints and resume: a run killed at any moment and resumed ends with the
same weights, bit for bit, as one never interrupted; checkpoints are written
atomically and read without running pickled code."""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import dante
from dante.checkpoint import capture_rng, load_checkpoint, restore_rng
from dante.cli import main
from dante.reporting import atomic_write_bytes


@pytest.fixture(scope="module")
def small_digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return X[:150], y[:150], X[150:200], y[150:200]


@pytest.fixture
def no_fsync(monkeypatch):
    """In-process crash tests check what is saved, not durability against a power
    cut; skipping fsync (about 20 ms per write on the CI disk) keeps them fast."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


class _Crash(dante.Callback):
    """Stops the run with an exception after a given step (a crash in-process)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step(self, trainer, loss):
        if trainer.budget.steps == self.at:
            raise KeyboardInterrupt


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


def _assert_same_run(ref, ref_res, got, got_res):
    assert all(torch.equal(a, b) for a, b in zip(ref, got, strict=True))
    assert [h["train_loss"] for h in ref_res.history] == [h["train_loss"] for h in got_res.history]
    assert [h["test_loss"] for h in ref_res.history] == [h["test_loss"] for h in got_res.history]
    assert ref_res.stages == got_res.stages
    assert ref_res.budget.steps == got_res.budget.steps
    assert ref_res.budget.weights_updated == got_res.budget.weights_updated


# 5 minibatches per epoch, a checkpoint every 3 steps: the crashes below land
# mid-epoch, on an epoch's last step, right after a checkpoint, twice in a row,
# in later rounds and stages, and on the run's last step.
_CASES = {
    "dante_momentum_round_robin": (
        lambda: dante.MLP([64, 16, 12, 10], seed=1),
        dict(method="dante_momentum", momentum=0.5, lr=0.05, t_sngd=2, max_alternations=3),
        True,
    ),
    "dante_eval_per_round": (
        lambda: dante.MLP([64, 16, 10], seed=1),
        dict(method="dante", lr=0.05, t_sngd=1, max_alternations=4, eval_every="round", tol=0.0),
        True,
    ),
    "autoencoder_greedy_pairs_finetune": (
        lambda: dante.Autoencoder([64, 16, 8], seed=1),
        dict(method="dante", lr=0.05, t_sngd=1, max_alternations=2, finetune_epochs=2),
        False,
    ),
    "adam_backprop": (
        lambda: dante.MLP([64, 16, 10], seed=1),
        dict(method="adam", lr=0.01, max_alternations=5),
        True,
    ),
    "am_adam_peer": (
        lambda: dante.MLP([64, 16, 10], seed=1),
        dict(method="am_adam", lr=0.01, max_alternations=3),
        True,
    ),
    "admm_peer": (
        lambda: dante.MLP([64, 16, 10], seed=1),
        dict(method="admm", lr=0.01, max_alternations=3),
        True,
    ),
}


@pytest.mark.parametrize("case", list(_CASES))
def test_crash_and_resume_is_bit_identical(case, small_digits, tmp_path, no_fsync):
    build, kwargs, supervised = _CASES[case]
    X, y, Xt, yt = small_digits
    data = (X, y, Xt, yt) if supervised else (X, None, Xt, None)
    kwargs = dict(kwargs, batch_size=30, seed=3)

    net = build()
    ref_res = dante.fit(net, *data, **kwargs)
    ref = _weights(net)
    total = ref_res.budget.steps

    path = tmp_path / "run.pt"
    for at in sorted({2, 5, 7, 8, total // 2 + 1, total - 1}):
        with pytest.raises(KeyboardInterrupt):
            dante.fit(
                build(),
                *data,
                callbacks=[_Crash(at)],
                checkpoint=path,
                checkpoint_every=3,
                resume=True,
                **kwargs,
            )
        if at > 3:  # the last checkpoint: the latest multiple of 3 steps before the crash
            assert load_checkpoint(path)["budget"]["steps"] == (at - 1) // 3 * 3
        else:
            assert not path.exists()
    net = build()
    res = dante.fit(net, *data, checkpoint=path, checkpoint_every=3, resume=True, **kwargs)
    _assert_same_run(ref, ref_res, _weights(net), res)
    assert load_checkpoint(path)["completed"]
    # resuming a completed run trains nothing and returns the same result
    net2 = build()
    trainer = dante.Trainer(net2, checkpoint=path, checkpoint_every=3, resume=True, **kwargs)
    again = trainer.fit(*data)
    _assert_same_run(ref, ref_res, _weights(net2), again)
    assert trainer.resumed_from_step == total


_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    import dante

    torch.set_num_threads(1)
    out = sys.argv[1]
    data = np.load(sys.argv[2])
    X, y = data["X"], data["y"]


    class Beacon(dante.Callback):
        def __init__(self, offset):
            self.offset = offset

        def on_step(self, trainer, loss):
            print(self.offset + trainer.budget.steps, flush=True)


    offset = 0
    runs = [
        ("dante", dict(method="dante_momentum", momentum=0.5, lr=0.05, t_sngd=2,
                       max_alternations=2)),
        ("sgd", dict(method="momentum", lr=0.05, max_alternations=5)),
    ]
    for name, kw in runs:
        res = dante.fit(
            dante.MLP([64, 32, 10], seed=0), X[:300], y[:300], X[300:400], y[300:400],
            batch_size=30, seed=11, callbacks=[Beacon(offset)],
            checkpoint=f"{out}/{name}.pt", checkpoint_every=7, resume=True, **kw,
        )
        offset += res.budget.steps
    print("done", offset, flush=True)
    """
)


def _child(script: Path, out: Path, data: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(script), str(out), str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    """A training process (DANTE with momentum, then a momentum-SGD backprop
    baseline; 130 steps, a checkpoint every 7) is SIGKILLed at 10 random steps
    and restarted each time; the final weights equal, bit for bit, those of an
    uninterrupted run (which runs alongside)."""
    X, y = load_digits(return_X_y=True)
    data = tmp_path / "digits.npz"
    np.savez(data, X=(X / 16.0).astype(np.float32), y=y)
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir()
    run_dir.mkdir()
    reference = _child(script, ref_dir, data)

    total = 2 * 2 * 2 * 10 + 5 * 10  # DANTE: blocks x t_sngd x rounds x steps/epoch; SGD
    rng = np.random.default_rng(2024)
    targets = np.sort(rng.choice(np.arange(1, total), size=10, replace=False))
    killed = 0
    for target in targets:
        proc = _child(script, run_dir, data)
        for line in proc.stdout:
            if line.startswith("done") or int(line) >= target:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read()
        killed += proc.returncode == -signal.SIGKILL
    assert killed >= 8  # the kills landed mid-run, not after it finished
    proc = _child(script, run_dir, data)
    for p in (proc, reference):
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        assert stdout.split()[-2:] == ["done", str(total)]

    for name in ("dante", "sgd"):
        ref, got = load_checkpoint(ref_dir / f"{name}.pt"), load_checkpoint(run_dir / f"{name}.pt")
        assert ref["completed"] and got["completed"]
        assert ref["model"].keys() == got["model"].keys()
        assert all(torch.equal(ref["model"][k], got["model"][k]) for k in ref["model"])
        assert [h["train_loss"] for h in ref["history"]] == [
            h["train_loss"] for h in got["history"]
        ]
    assert not list(run_dir.glob(".*.tmp"))  # a killed write's temporary file is cleaned up


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(small_digits, tmp_path):
    X, y, _, _ = small_digits
    path = tmp_path / "run.pt"
    net = dante.MLP([64, 24, 10], seed=0)
    with pytest.raises(dante.NonFiniteLossError, match="last good checkpoint") as info:
        dante.fit(
            net, X, y, method="sgd", lr=100.0, batch_size=30, max_alternations=5,
            checkpoint=path, checkpoint_every=1,
        )  # fmt: skip
    state = load_checkpoint(path)
    assert not state["completed"]
    assert f"step {state['budget']['steps']}" in str(info.value)
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    # the checkpoint is the state right before the failing step
    assert f"at step {state['budget']['steps'] + 1}" in str(info.value)


def test_non_finite_weights_are_never_checkpointed(small_digits, tmp_path):
    class Poison(dante.Callback):
        def on_step(self, trainer, loss):
            if trainer.budget.steps == 5:
                with torch.no_grad():
                    next(trainer.model.parameters())[0, 0] = float("nan")

    X, y, _, _ = small_digits
    path = tmp_path / "run.pt"
    with pytest.raises(dante.NonFiniteLossError, match="not overwritten"):
        dante.fit(
            dante.MLP([64, 24, 10], seed=0), X, y, batch_size=30, callbacks=[Poison()],
            checkpoint=path, checkpoint_every=1,
        )  # fmt: skip
    state = load_checkpoint(path)
    assert state["budget"]["steps"] == 4
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def _checkpointed_run(small_digits, path, **kw):
    X, y, _, _ = small_digits
    kw = {"lr": 0.05, "batch_size": 30, "t_sngd": 1, "max_alternations": 2, **kw}
    with pytest.raises(KeyboardInterrupt):
        dante.fit(
            dante.MLP([64, 24, 10], seed=0), X, y, callbacks=[_Crash(10)],
            checkpoint=path, checkpoint_every=4, **kw,
        )  # fmt: skip
    return kw


def test_resume_with_other_config_names_the_keys(small_digits, tmp_path):
    X, y, _, _ = small_digits
    path = tmp_path / "run.pt"
    kw = _checkpointed_run(small_digits, path)
    before = path.read_bytes()
    net = dante.MLP([64, 24, 10], seed=0)
    kw.update(lr=0.02, t_sngd=3, progress=False, cache_inputs=False)
    with pytest.raises(ValueError, match="configuration differs") as info:
        dante.fit(net, X, y, checkpoint=path, checkpoint_every=4, resume=True, **kw)
    msg = str(info.value)
    assert "lr (checkpoint 0.05, now 0.02)" in msg and "t_sngd (checkpoint 1, now 3)" in msg
    assert "cache_inputs" not in msg  # run-environment keys may change
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"model": lambda: dante.MLP([64, 20, 10], seed=0)}, r"model differs.*0\.linear\.weight"),
        ({"rows": slice(0, 200)}, r"training data differs.*shape"),
        ({"rows": slice(1, 241)}, r"training data differs.*crc32"),
        ({"schedule": "backprop"}, r"schedule differs: stages"),
    ],
)
def test_resume_with_other_model_or_data_is_refused(small_digits, tmp_path, change, pattern):
    X, y, _, _ = small_digits
    path = tmp_path / "run.pt"
    kw = _checkpointed_run(small_digits, path)
    net = change.get("model", lambda: dante.MLP([64, 24, 10], seed=0))()
    rows = change.get("rows", slice(None))
    if "schedule" in change:
        kw["schedule"] = change["schedule"]
    Xr = np.concatenate([X, X])[rows]
    yr = np.concatenate([y, y])[rows]
    with pytest.raises(ValueError, match=pattern):
        dante.fit(net, Xr, yr, checkpoint=path, checkpoint_every=4, resume=True, **kw)


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"checkpoint_every": 0}, ValueError, "checkpoint_every"),
        ({"checkpoint_every": 2.5}, ValueError, "checkpoint_every"),
        ({"checkpoint_every": True}, ValueError, "checkpoint_every"),
        ({"resume": "yes"}, TypeError, "resume"),
        ({"checkpoint": None, "resume": True}, ValueError, "need checkpoint="),
        ({"checkpoint": 3}, TypeError, "checkpoint must be a file path"),
    ],
)
def test_bad_checkpoint_arguments(kwargs, exc, pattern, tmp_path):
    kwargs = {"checkpoint": tmp_path / "c.pt", **kwargs}
    with pytest.raises(exc, match=pattern):
        dante.Trainer(dante.MLP([4, 3, 2]), **kwargs)


def test_existing_checkpoint_without_resume_is_refused(tmp_path):
    path = tmp_path / "c.pt"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="already exists; pass resume=True"):
        dante.Trainer(dante.MLP([4, 3, 2]), checkpoint=path)
    assert path.read_bytes() == b"old"
    with pytest.raises(ValueError, match="is a folder"):
        dante.Trainer(dante.MLP([4, 3, 2]), checkpoint=tmp_path)


class _Payload:
    """Pickles to a call of os.system: what a malicious 'checkpoint' carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_code_is_refused_unrun(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "dante-checkpoint", "model": _Payload(marker)}, path)
    with pytest.raises(ValueError, match="refused") as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert str(path) in msg and "weights_only=True" in msg and "system" in msg
    assert "Fix:" in msg
    assert not marker.exists()
    # the same through the trainer
    with pytest.raises(ValueError, match="refused"):
        dante.fit(
            dante.MLP([64, 8, 10]), *load_digits(return_X_y=True), checkpoint=path, resume=True
        )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"not a checkpoint", "not a readable torch file"),
        (pickle.dumps({"a": 1}), "not a readable torch file"),
        (None, "not a dante checkpoint"),
    ],
)
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_unreadable_or_foreign_files_are_refused(tmp_path, content, pattern):
    path = tmp_path / "c.pt"
    if content is None:
        torch.save({"weights": torch.zeros(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=pattern):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    atomic_write_bytes(path, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_rng_state_round_trips_through_a_checkpoint_file(tmp_path):
    gen = torch.Generator().manual_seed(5)
    torch.manual_seed(1)
    np.random.seed(2)  # noqa: NPY002 - the legacy global generator is what is saved
    random.seed(3)
    path = tmp_path / "rng.pt"
    torch.save(capture_rng(gen), path)

    def draw():
        return (
            torch.rand(3).tolist(),
            torch.rand(3, generator=gen).tolist(),
            np.random.rand(3).tolist(),  # noqa: NPY002
            np.random.randn(1).tolist(),  # noqa: NPY002 (uses the cached Gaussian)
            [random.random() for _ in range(3)],
            random.gauss(0, 1),
        )

    first = draw()
    restore_rng(torch.load(path, weights_only=True), gen)
    assert draw() == first


def test_cli_checkpoint_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train", "--quiet", "--no-plot", "--out", str(out), "--hidden", "16",
        "--max-alternations", "2", "--t-sngd", "1", "--checkpoint-every", "20",
    ]  # fmt: skip
    assert main(args) == 0
    first = json.loads((out / "metrics.json").read_text())
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["dante.pt", "sgd.pt"]
    # without --resume an existing checkpoint is an error, before any training
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    # a finished run resumed: nothing retrained, the same numbers
    assert main([*args, "--resume"]) == 0
    again = json.loads((out / "metrics.json").read_text())
    for m in ("dante", "sgd"):
        assert [c["train_loss"] for c in again["methods"][m]["curves"]] == [
            c["train_loss"] for c in first["methods"][m]["curves"]
        ]
    # a changed setting is named
    assert main([*args[:-2], "--checkpoint-every", "20", "--lr", "0.5", "--resume"]) == 2
    assert "lr (checkpoint 0.01, now 0.5)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (["--resume"], "--resume needs --out"),
        (["--resume", "--out", "x"], "--resume needs --checkpoint-every"),
        (["--checkpoint-every", "0"], "--checkpoint-every must be >= 1"),
    ],
)
def test_cli_checkpoint_arguments_are_checked(extra, pattern, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--quiet", "--no-plot", *extra]) == 2
    assert pattern in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
