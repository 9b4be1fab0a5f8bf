"""Hostile flags and data (issue 12, item 4): data and flags are never misread
silently. Each case is an error naming the problem (``ValueError``/``TypeError``
at the API boundary before any work; on the command line one ``dante: error:``
line and exit status 2), or, where noted, a warning that says what was done.

Every test here failed on the code before the fix; data are tiny CSVs written
into ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

import dante
from dante import data, validation
from dante.cli import main
from dante.sklearn import DanteRegressor


# ---------------------------------------------------------------- helpers
def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def _train(csv: Path | str, out: Path, *extra: str) -> tuple[int, str, str]:
    argv = ["train", "--quiet", "--no-plot", "--out", str(out), "--dataset", str(csv)]
    return _run_cli([*argv, "--max-alternations", "1", "--t-sngd", "1", *extra])


def _cli_refuses(csv: Path | str, out: Path, extra: list[str], needle: str) -> str:
    rc, _, err = _train(csv, out, *extra)
    lines = err.strip().splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1 and lines[0].startswith("dante: error:"), err
    assert re.search(needle, lines[0], re.IGNORECASE), (needle, lines[0])
    assert not out.exists()  # refused before any training or output
    return lines[0]


def _rejects(call, needle: str, exc=(ValueError, TypeError)) -> str:
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    assert re.search(needle, msg, re.IGNORECASE), (needle, msg)
    return msg


def _csv(path: Path, rows: int = 60, header: str | None = None, label=None) -> Path:
    rng = np.random.default_rng(0)
    lines = [header] if header else []
    for a, b, c in rng.random((rows, 3)):
        y = int(a > 0.5) if label is None else label
        lines.append(f"{a:.3f},{b:.3f},{c:.3f},{y}")
    path.write_text("\n".join(lines) + "\n")
    return path


_X = np.random.default_rng(1).random((12, 4)).astype(np.float32)
_Y = np.arange(12) % 2


# ------------------------------------------------------------------ data
def test_duplicate_header_names_are_refused(tmp_path):
    csv = _csv(tmp_path / "dup.csv", header="a,b,a,c")
    msg = _cli_refuses(csv, tmp_path / "run", ["--target", "a"], r"duplicate")
    assert "'a'" in msg
    # the API refuses duplicated names whatever the target
    _rejects(lambda: data.load_file(csv), r"duplicate.*'a'")


def test_utf8_byte_order_mark_is_stripped(tmp_path):
    bom = "\ufeff"
    headerless = _csv(tmp_path / "plain.csv", rows=30)
    headerless.write_text(bom + headerless.read_text(), encoding="utf-8")
    ds = data.load_file(headerless)
    assert len(ds.X_train) + len(ds.X_test) == 30  # the first row is data, not a header
    named = _csv(tmp_path / "named.csv", rows=30, header="a,b,c,label")
    named.write_text(bom + named.read_text(), encoding="utf-8")
    ds = data.load_file(named, target="a")  # the first column keeps its name
    assert ds.task == "regression" and ds.X_train.shape[1] == 3


def test_task_contradicting_a_registered_dataset_is_refused(tmp_path):
    _cli_refuses("airfoil", tmp_path / "run", ["--task", "classification"], r"airfoil.*regression")


def test_target_on_a_registered_dataset_is_refused(tmp_path):
    _cli_refuses("digits", tmp_path / "run", ["--target", "3"], r"--target")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a,b,label\n1,2,cat\n3,4,1\n", r"line 2.*'label'.*'cat'.*word in a numeric target"),
        ("a,b,y\n1,2,0\n3,4,1\n5,,0\n", r"line 4.*'b'.*empty field"),
        ("a;b;y\n1;2;0\n3;4;1\n", r"line 2.*'1;2;0'.*';'-delimited"),
        ("1,2,0\n3,4,1\n\n5,x,0\n", r"line 4.*column 1.*'x'"),
    ],
    ids=["string_label", "empty_field", "semicolon", "token_after_blank_line"],
)
def test_csv_parse_errors_name_line_column_value_and_cause(text, needle, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    _rejects(lambda: data.load_file(path), needle)
    _cli_refuses(path, tmp_path / "run", [], needle)


def test_a_column_of_text_labels_is_read_as_classes(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    names = np.where(X[:, 0] > 0, "yes", "no")
    path = tmp_path / "words.csv"
    path.write_text("a,b,label\n" + "".join(f"{a},{b}, {w}\n" for (a, b), w in zip(X, names)))
    ds = data.load_file(path)
    assert ds.task == "classification" and ds.n_classes == 2
    # sorted label order ('no' = 0, 'yes' = 1; the field's spaces stripped), so the codes
    # follow the first feature's sign on every row of both parts of the split
    assert "'no'=0, 'yes'=1" in ds.description
    for Xs, ys in ((ds.X_train, ds.y_train), (ds.X_test, ds.y_test)):
        # min-max scaling keeps the order of a: every 'yes' row (a > 0) lies above every
        # 'no' row, whatever the scaling's offset
        assert set(ys.tolist()) == {0, 1}
        assert Xs[ys == 1, 0].min() > Xs[ys == 0, 0].max()
    _rejects(lambda: data.load_file(path, task="regression"), r"holds text \(line 2: '.*regression")
    many = tmp_path / "ids.csv"
    many.write_text("a,id\n" + "".join(f"{i},row{i}\n" for i in range(1001)))
    _rejects(lambda: data.load_file(many), r"1001 distinct text labels.*target")
    out = tmp_path / "run"
    rc, _, err = _train(path, out, "--methods", "sgd")
    assert rc == 0, err
    # without a header the first row is data, not a header of numbers and 'no'/'yes'
    bare = tmp_path / "bare.csv"
    bare.write_text("".join(f"{a},{b},{w}\n" for (a, b), w in zip(X, names)))
    ds = data.load_file(bare)
    assert len(ds.X_train) + len(ds.X_test) == 60 and ds.n_classes == 2


def test_small_csv_clips_the_default_batch_with_a_warning(tmp_path):
    csv = _csv(tmp_path / "small.csv", rows=20)  # 16 training rows after the 20% split
    out = tmp_path / "run"
    rc, _, err = _train(csv, out, "--methods", "sgd")
    assert rc == 0, err
    assert re.search(r"warning: .*batch.size.*32.*16", err), err
    cfg = json.loads((out / "metrics.json").read_text())["methods"]["sgd"]["config"]
    assert cfg["batch_size"] == 16


# ----------------------------------------------------------------- labels
def test_single_class_data_is_refused_by_the_cli(tmp_path):
    csv = _csv(tmp_path / "one.csv", label=1)
    _cli_refuses(csv, tmp_path / "run", [], r"single class|at least 2 classes")


def test_single_class_data_is_refused_by_fit():
    net = dante.MLP([4, 6, 2], seed=0)
    before = [p.detach().clone() for p in net.parameters()]
    y = np.zeros(12, dtype=np.int64)
    _rejects(lambda: dante.fit(net, _X, y, batch_size=4, max_alternations=1), r"2 classes")
    assert all(np.array_equal(p.detach(), q) for p, q in zip(net.parameters(), before))
    # the Trainer itself takes one class unless asked (a partial_fit chunk may hold one)
    trainer = dante.Trainer(net, dante.TrainConfig(batch_size=4, max_alternations=1))
    _rejects(lambda: trainer.fit(_X, y, min_classes=2), r"2 classes")
    _rejects(lambda: trainer.fit(_X, y, min_classes=3), r"min_classes")
    assert trainer.fit(_X, y).budget.steps > 0


def test_label_range_error_counts_the_outputs():
    net = dante.MLP([4, 6, 2], seed=0)
    y = np.arange(12) % 3  # label 2 on a 2-output net
    msg = _rejects(lambda: dante.fit(net, _X, y, batch_size=4, max_alternations=1), r"\[0, 2\)")
    assert "2 outputs" in msg and "1 output" not in msg


def test_fit_refuses_y_for_an_autoencoder():
    net = dante.Autoencoder([4, 2], seed=0)
    y = np.random.default_rng(0).random((12, 4)).astype(np.float32)  # same shape as X
    _rejects(lambda: dante.fit(net, _X, y, batch_size=4), r"autoencoder.*drop y")


def test_reconstruction_with_a_target_is_refused(tmp_path):
    csv = _csv(tmp_path / "t.csv", header="a,b,c,label")
    _cli_refuses(
        csv, tmp_path / "run", ["--task", "reconstruction", "--target", "label"], r"--target"
    )


# ------------------------------------------------------------------ flags
def test_duplicate_methods_are_refused(tmp_path):
    csv = _csv(tmp_path / "t.csv")
    _cli_refuses(csv, tmp_path / "run", ["--methods", "dante,sgd,dante"], r"dante.*more than once")


@pytest.mark.parametrize("hidden", ["10,,5", "10,", ",5"])
def test_empty_hidden_entries_are_refused(hidden, tmp_path):
    csv = _csv(tmp_path / "t.csv")
    _cli_refuses(csv, tmp_path / "run", [f"--hidden={hidden}"], r"hidden.*empty")


def test_huge_hidden_is_refused_with_a_memory_estimate(tmp_path, monkeypatch):
    monkeypatch.setattr(validation, "available_memory", lambda: 64 * 2**20)
    csv = _csv(tmp_path / "t.csv")
    # 4000 x 4000 float32 weights alone are 61 MiB; training needs several copies
    msg = _cli_refuses(csv, tmp_path / "run", ["--hidden", "4000,4000"], r"memory")
    assert re.search(r"\d+(\.\d+)? [MG]iB", msg), msg
    _rejects(lambda: dante.MLP([3, 5000, 5000, 2]), r"sizes.*\d+(\.\d+)? [MG]iB")
    # fit counts gradients, optimizer state and a batch's activations on top
    net = dante.MLP([4, 2000, 2000, 2], seed=0)  # 16 MiB of weights
    monkeypatch.setattr(validation, "available_memory", lambda: 24 * 2**20)
    _rejects(lambda: dante.fit(net, _X, _Y, batch_size=4, method="adam"), r"memory.*MiB")


def test_baseline_lr_error_names_the_flag(tmp_path):
    csv = _csv(tmp_path / "t.csv")
    _cli_refuses(csv, tmp_path / "run", ["--baseline-lr", "1e8"], r"--baseline-lr")


@pytest.mark.parametrize(("seed", "exc"), [(-1, ValueError), ("x", TypeError), (1.5, TypeError)])
def test_model_seed_is_checked_by_name(seed, exc):
    _rejects(lambda: dante.MLP([3, 4, 2], seed=seed), r"\bseed\b", exc)
    _rejects(lambda: dante.Autoencoder([3, 2], seed=seed), r"\bseed\b", exc)


def test_regressor_unknown_argument_names_the_public_class():
    _rejects(lambda: DanteRegressor(loss="mse"), r"DanteRegressor", TypeError)


def test_load_of_a_missing_file_says_so(tmp_path):
    msg = _rejects(lambda: data.load("file.npz"), r"no such file 'file.npz'")
    assert "digits" in msg  # and lists the registered names
    csv = _csv(tmp_path / "t.csv")  # an existing path is loaded as a file
    assert data.load(str(csv), seed=1).X_train.shape[1] == 3


def test_data_list_command_lists_the_registry():
    rc, out, err = _run_cli(["data", "--list"])
    assert rc == 0, err
    for name in data.available():
        assert re.search(rf"^{name}\b", out, re.MULTILINE), out
    assert re.search(r"^digits\b.*1797.*installed", out, re.MULTILINE), out
    assert re.search(r"^airfoil\b.*1503.*UCI", out, re.MULTILINE), out
    # the listed sizes and tasks are those the loaders give
    from dante.data.catalog import catalog

    for entry in catalog()[:8]:  # digits and the vendored sets: installed, quick to load
        ds = data.load(entry.name)
        assert (len(ds.X_train), len(ds.X_test)) == (entry.n_train, entry.n_test)
        assert (ds.X_train.shape[1], ds.task) == (entry.n_features, entry.task)


# ------------------------------------------------------------- divergence
def test_diverging_run_is_flagged_in_metrics_and_on_stderr(tmp_path):
    csv = _csv(tmp_path / "t.csv")
    out = tmp_path / "run"
    rc, _, err = _train(csv, out, "--methods", "dante,sgd", "--lr", "1e6")
    assert rc == 0, err
    methods = json.loads((out / "metrics.json").read_text())["methods"]
    assert methods["dante"]["diverged"] is True
    assert "initial" in methods["dante"]["divergence"]
    assert methods["sgd"]["diverged"] is False
    assert re.search(r"warning: dante diverged", err), err
