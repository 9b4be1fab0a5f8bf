"""Regression tests of an outside-style hostile-input audit of the public API.

Each case is an input that reached torch/numpy/sklearn internals (an error
that did not name the argument, a traceback from the CLI), was accepted
silently with a wrong meaning, or hung; each must now be refused at the API
boundary with a ``ValueError``/``TypeError`` naming the argument. Next to
each refusal, the nearest valid input still works.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dante
from dante import data
from dante.cli import main
from dante.config import make_config
from dante.sklearn import DanteClassifier, DanteRegressor
from dante.solvers import make_solver

_FAST = {"max_alternations": 1, "t_sngd": 1, "random_state": 0, "hidden_layer_sizes": (3,)}


@pytest.fixture(scope="module")
def Xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.randn(20, 3)
    return X, (X[:, 0] > 0).astype(int)


# ------------------------------------------------------------ estimators
def test_classifier_refuses_mixed_label_types(Xy):
    X, _ = Xy
    y = np.array(["a", 1] * 10, dtype=object)  # numpy cannot sort these
    with pytest.raises(TypeError, match=r"^y mixes label types .*y\.astype\(str\)"):
        DanteClassifier(**_FAST).fit(X, y)
    DanteClassifier(**_FAST).fit(X, y.astype(str))


@pytest.mark.parametrize(
    ("classes", "exc", "match"),
    [
        ([[0, 1]], ValueError, r"^classes must be a 1-D array-like"),
        ([0, 1, np.nan], ValueError, r"^classes contains NaN"),
        ("01", TypeError, r"^classes must be an array-like of labels, got the string"),
        (np.array([0, "a"], dtype=object), TypeError, r"^classes mixes label types"),
    ],
)
def test_partial_fit_classes_are_checked(Xy, classes, exc, match):
    X, y = Xy
    with pytest.raises(exc, match=match):
        DanteClassifier(**_FAST).partial_fit(X, y, classes=classes)
    # a later call checks its classes= the same way
    est = DanteClassifier(**_FAST).partial_fit(X, y, classes=np.array([0, 1]))
    with pytest.raises(exc, match=match):
        est.partial_fit(X, y, classes=classes)
    np.testing.assert_array_equal(est.partial_fit(X, y, classes=(1, 0)).classes_, [0, 1])


def test_regressor_refuses_text_targets_by_name(Xy):
    X, _ = Xy
    with pytest.raises(ValueError, match=r"^y must hold numbers .*DanteClassifier"):
        DanteRegressor(**_FAST).fit(X, np.array(["a", "b"] * 10))
    assert DanteRegressor(**_FAST).fit(X, np.arange(20.0)).predict(X[:2]).shape == (2,)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"lr_schedule_options": [1]}, r"lr_schedule_options"),
        ({"output_solver": "lbfgs", "output_solver_options": "l2"}, r"output_solver_options"),
    ],
)
def test_estimator_options_that_are_not_dicts_are_named(Xy, params, match):
    X, y = Xy
    with pytest.raises(ValueError, match=match):
        DanteClassifier(**_FAST, **params).fit(X, y)


# ------------------------------------------------------------ config, solvers
@pytest.mark.parametrize("seed", [-1, 2**64, 2**70])
def test_config_seed_out_of_range_is_named(seed):
    with pytest.raises(ValueError, match=r"^invalid seed="):
        make_config(seed=seed)


def test_config_largest_seed_trains():
    X = np.random.RandomState(0).rand(8, 2).astype(np.float32)
    res = dante.fit(dante.MLP([2, 2], seed=0), X, np.arange(8) % 2, seed=2**64 - 1,
                    batch_size=4, max_alternations=1, t_sngd=1)  # fmt: skip
    assert np.isfinite(res.final["train_loss"])


def test_config_cuda_index_beyond_the_devices_is_named(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"^invalid device='cuda:3': .*only 1 CUDA device"):
        make_config(device="cuda:3")
    assert make_config(device="cuda:0").device == "cuda:0"
    assert make_config(device="cuda").device == "cuda"


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("StepLR", {"step_size": "a"}, r"lr_schedule_options do not fit .*StepLR"),
        ("StepLR", {"step_size": 0}, r"lr_schedule_options do not fit .*StepLR"),
        ("LRScheduler", {}, r"unknown lr_schedule 'LRScheduler'"),
        ("_LRScheduler", {}, r"unknown lr_schedule '_LRScheduler'"),
    ],
)
def test_torch_schedulers_are_tried_before_training(name, options, match):
    with pytest.raises(ValueError, match=match):
        make_config(lr_schedule=name, lr_schedule_options=options)


def test_torch_scheduler_dry_run_keeps_valid_options():
    make_config(lr_schedule="StepLR", lr_schedule_options={"step_size": 2})
    make_config(lr_schedule="OneCycleLR", lr_schedule_options={"max_lr": 0.1, "total_steps": 1})
    make_config(lr_schedule="ReduceLROnPlateau", lr_schedule_options={"mode": "max"})


@pytest.mark.parametrize(
    ("spec", "lr", "momentum", "exc", "match"),
    [
        ("adam", "a", 0.0, TypeError, r"^lr must be a number"),
        ("sgd", 0.1, 5.0, ValueError, r"^momentum must be in \[0, 1\)"),
        ("sgd", -1.0, 0.0, ValueError, r"^lr must be > 0"),
        ("momentum", float("nan"), 0.9, ValueError, r"^lr must be finite"),
        ("sgd", 0.1, True, TypeError, r"^momentum must be a number"),
    ],
)
def test_make_solver_checks_lr_and_momentum(spec, lr, momentum, exc, match):
    params = list(dante.MLP([3, 2], seed=0).parameters())
    with pytest.raises(exc, match=match):
        make_solver(spec, params, lr, momentum=momentum)
    assert make_solver(spec, params, np.float32(0.1), momentum=0.5) is not None


# ------------------------------------------------------------ models, arrays, files
@pytest.mark.parametrize("bias", ["no", 0, None])
def test_models_refuse_a_non_bool_bias(bias):
    with pytest.raises(TypeError, match=r"^bias must be True or False"):
        dante.MLP([3, 4, 2], bias=bias)
    with pytest.raises(TypeError, match=r"^bias must be True or False"):
        dante.Autoencoder([3, 2], bias=bias)


def test_models_accept_numpy_bools_for_bias():
    assert dante.MLP([3, 2], bias=np.bool_(False)).layers[0].linear.bias is None
    assert dante.Autoencoder([3, 2], bias=False).layers[0].linear.bias is None


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros((8, 3), dtype="timedelta64[s]"), r"^X must hold numbers, got dtype timedelta"),
        (torch.empty(8, 3, device="meta"), r"^X is a tensor on the 'meta' device"),
    ],
)
def test_trainer_refuses_non_numeric_features(X, match):
    trainer = dante.Trainer(dante.MLP([3, 2], seed=0), make_config(batch_size=4))
    with pytest.raises(TypeError, match=match):
        trainer.fit(X, np.arange(8) % 2)


def test_load_checkpoint_refuses_a_non_path():
    with pytest.raises(TypeError, match=r"^checkpoint path must be a str or os\.PathLike"):
        dante.load_checkpoint(3)


def test_data_load_refuses_a_non_path_root():
    with pytest.raises(TypeError, match=r"^root must be a folder path"):
        data.load("mnist", root=3)


def test_libsvm_file_too_wide_to_densify_is_refused(tmp_path, monkeypatch):
    # one huge feature index makes every dense row gigabytes wide: refused
    # before the allocation (it used to hang), whatever this machine's memory
    monkeypatch.setattr("dante.validation.available_memory", lambda: 1 << 30)
    path = tmp_path / "wide.svm"
    path.write_text("1 1:0.5 1000000000:2\n0 2:1\n")
    with pytest.raises(ValueError, match=r"LIBSVM features of shape \(2, 1000000000\)"):
        data.load(str(path))
    path.write_text("1 1:0.5 4294967296:2\n0 2:1\n")  # past the reader's int32 indices
    with pytest.raises(ValueError, match=r"not LIBSVM text"):
        data.load(str(path))
    path.write_text("1 1:0.5 3:2\n0 2:1\n1 1:1\n0 3:1\n")
    assert data.load(str(path)).X_train.shape[1] == 3


# ------------------------------------------------------------ CLI
def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert captured.out == ""  # refused before any work printed anything
    return lines[0]


def test_cli_bench_refuses_a_bad_device_in_one_line(tmp_path, capsys):
    out, raw = tmp_path / "perf.md", tmp_path / "bench.json"
    argv = ["bench", "--quick", "--device", "bogus", "--out", str(out), "--json", str(raw)]
    assert main([*argv, "--baseline", ""]) == 2
    assert "invalid --device='bogus'" in _one_error_line(capsys)
    assert not out.exists() and not raw.exists()


def test_cli_reproduce_refuses_a_bad_device_before_running(tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["reproduce", "table1", "--quick", "--device", "bogus", "--out", str(out)]) == 2
    assert "invalid --device='bogus'" in _one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    ("schedule", "options", "needle"),
    [
        ("LRScheduler", None, "unknown lr_schedule 'LRScheduler'"),
        ("StepLR", '{"step_size": "a"}', "lr_schedule_options do not fit"),
    ],
)
def test_cli_train_bad_torch_scheduler_is_one_line(schedule, options, needle, tmp_path, capsys):
    argv = ["train", "--lr-schedule", schedule, "--out", str(tmp_path / "o"), "--no-plot"]
    if options is not None:
        argv += ["--lr-schedule-options", options]
    assert main([*argv, "--quiet"]) == 2
    assert needle in _one_error_line(capsys)
    assert not (tmp_path / "o" / "metrics.json").exists()
