"""`dante train` and `dante reproduce` end to end on the embedded digits data."""

from __future__ import annotations

import json

import pytest

from dante.cli import main


def test_train_default_digits_prints_both_methods_and_dante_accuracy(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "| dante |" in printed and "| sgd |" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    dante_res, sgd_res = metrics["methods"]["dante"], metrics["methods"]["sgd"]
    # measured 0.967 (seed 0); the floor is 0.90
    assert dante_res["test_accuracy"] >= 0.90
    for res in (dante_res, sgd_res):
        for key in ("test_accuracy", "test_loss", "train_loss", "weights_updated", "wall_seconds"):
            assert key in res
        assert res["curves"][0]["weights_updated"] == 0
    # every method gets the same budget of weights updated, give or take one step
    n_params = 64 * 100 + 100 + 100 * 10 + 10
    assert dante_res["weights_updated"] - n_params < sgd_res["weights_updated"]
    assert sgd_res["weights_updated"] <= dante_res["weights_updated"]
    assert (out / "loss.png").stat().st_size > 1000
    assert (out / "accuracy.png").stat().st_size > 1000


def test_train_autoencoder_reconstruction(tmp_path, capsys):
    out = tmp_path / "ae"
    argv = [
        "train",
        "--out",
        str(out),
        "--quiet",
        "--task",
        "reconstruction",
        "--hidden",
        "32,16",
        "--max-alternations",
        "2",
        "--no-plot",
    ]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    res = metrics["methods"]["dante"]
    assert res["train_loss"] < 0.6 * res["curves"][0]["train_loss"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "--lr", "-1"], "lr"),
        (["train", "--batch-size", "0"], "batch_size"),
        (["train", "--batch-size", "100000"], "batch_size"),
        (["train", "--activation", "swish"], "activation"),
        (["train", "--a", "2", "--b", "1"], "a <= b"),
        (["train", "--methods", "dante,lbfgs"], "method"),
        (["train", "--dataset", "no_such_set"], "dataset"),
        (["train", "--dataset", "/nonexistent/file.csv"], "file.csv"),
        (["reproduce", "no_such_experiment"], "experiment"),
        (["train", "--lr-schedule", "weekly"], "lr_schedule"),
        (["train", "--lr-schedule-options", "{gamma: 1}"], "--lr-schedule-options"),
        (["train", "--lr-schedule", "step", "--lr-schedule-options", '{"g": 1}'], "options"),
        (["train", "--output-solver", "newton"], "--output-solver"),
        (["train", "--solver-state", "keep"], "--solver-state"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, needle, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dante: error:")
    assert needle in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_reproduce_list(capsys):
    assert main(["reproduce", "--list"]) == 0
    names = capsys.readouterr().out
    for name in ("fig2", "fig5", "fig6", "fig7", "fig9", "table1", "table2", "table3", "table4"):
        assert name in names


def test_reproduce_all_quick_smoke(tmp_path, capsys):
    """Every experiment's code path on tiny subsets (the CI smoke test)."""
    from dante.data import DatasetNotAvailableError, load

    try:
        load("mnist", n_train=10, n_test=10)
    except DatasetNotAvailableError as exc:
        pytest.skip(f"the quick suite needs MNIST: {exc}")
    out, md = tmp_path / "quick", tmp_path / "RESULTS.md"
    assert main(["reproduce", "all", "--quick", "--out", str(out), "--results-md", str(md)]) == 0
    text = md.read_text()
    for name in (
        "fig2",
        "fig5",
        "fig6",
        "fig7",
        "fig8",
        "fig9",
        "table1",
        "table2",
        "table3",
        "table4",
    ):
        assert f"## {name}:" in text
        assert (out / f"{name}.json").exists()
    assert (tmp_path / "figures" / "fig9_mnist__32_reconstructions.png").exists()


def test_train_with_schedule_and_output_solver_reaches_the_run(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--out", str(out), "--quiet", "--no-plot", "--loss", "ce",
            "--methods", "dante,sgd", "--lr", "0.3", "--max-alternations", "3",
            "--lr-schedule", "exponential", "--lr-schedule-options", '{"gamma": 0.5}',
            "--output-solver", "lbfgs", "--solver-state", "reset"]  # fmt: skip
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    dante = metrics["methods"]["dante"]
    assert dante["config"]["lr_schedule"] == "exponential"
    assert dante["config"]["output_solver"] == "lbfgs"
    assert dante["config"]["solver_state"] == "reset"
    # the baseline gets the schedule (per epoch) but not DANTE's output solver
    assert metrics["methods"]["sgd"]["config"]["output_solver"] is None
    assert metrics["methods"]["sgd"]["config"]["lr_schedule"] == "exponential"
