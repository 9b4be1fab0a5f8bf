"""TensorBoard logging: an optional extra, reported clearly when missing."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

import dante
from dante.cli import main
from dante.run_logging import TensorBoardLogger


@pytest.fixture(scope="module")
def small_digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return X[:120], y[:120], X[120:160], y[120:160]


def _scalars(log_dir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_tensorboard_scalars_match_the_history(small_digits, tmp_path):
    pytest.importorskip("tensorboard")
    X, y, Xt, yt = small_digits
    logger = TensorBoardLogger(tmp_path / "tb", log_steps=True)
    res = dante.fit(
        dante.MLP([64, 16, 10], seed=0), X, y, Xt, yt, lr=0.05, batch_size=30,
        t_sngd=1, max_alternations=2, callbacks=[logger],
    )  # fmt: skip
    for tag, key in (("train/loss", "train_loss"), ("test/accuracy", "test_accuracy")):
        got = _scalars(tmp_path / "tb", tag)
        assert [s for s, _ in got] == [h["steps"] for h in res.history]
        # TensorBoard stores float32 scalars: relative rounding <= 6e-8, well inside 1e-6
        assert [v for _, v in got] == pytest.approx([h[key] for h in res.history], rel=1e-6)
    assert len(_scalars(tmp_path / "tb", "step/loss")) == res.budget.steps


def test_resumed_run_logs_each_step_once(small_digits, tmp_path):
    pytest.importorskip("tensorboard")

    class Crash(dante.Callback):
        def on_step(self, trainer, loss):
            if trainer.budget.steps == 11:
                raise KeyboardInterrupt

    X, y, Xt, yt = small_digits
    # default tol=1e-4: the loss changes by >= 0.0098 per alternation (measured), so the run
    # takes all 24 steps and no float-decided early stop comes before the crash at step 11
    kw = dict(lr=0.05, batch_size=30, t_sngd=1, max_alternations=3, checkpoint_every=4)
    kw["checkpoint"] = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        dante.fit(
            dante.MLP([64, 16, 10], seed=0), X, y, Xt, yt,
            callbacks=[TensorBoardLogger(tmp_path / "tb"), Crash()], **kw,
        )  # fmt: skip
    res = dante.fit(
        dante.MLP([64, 16, 10], seed=0), X, y, Xt, yt,
        callbacks=[TensorBoardLogger(tmp_path / "tb")], resume=True, **kw,
    )  # fmt: skip
    got = _scalars(tmp_path / "tb", "train/loss")
    assert [s for s, _ in got] == [h["steps"] for h in res.history]


def test_missing_tensorboard_names_the_pip_command(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install 'dante-nn\[tensorboard\]'"):
        TensorBoardLogger(tmp_path / "tb")
    out = tmp_path / "run"
    code = main(["train", "--quiet", "--no-plot", "--out", str(out), "--tensorboard"])
    assert code == 2
    assert "pip install 'dante-nn[tensorboard]'" in capsys.readouterr().err
    assert not (out / "metrics.json").exists()  # refused before any training


def test_logger_argument_is_checked():
    pytest.importorskip("tensorboard")
    with pytest.raises(TypeError, match="log_dir"):
        TensorBoardLogger(3)


def test_cli_tensorboard_writes_one_folder_per_method(tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    args = ["train", "--quiet", "--no-plot", "--out", str(out), "--hidden", "8"]
    args += ["--max-alternations", "1", "--t-sngd", "1", "--tensorboard"]
    assert main(args) == 0
    for m in ("dante", "sgd"):
        assert _scalars(out / "tensorboard" / m, "test/loss")
    assert (out / "metrics.json").exists()
