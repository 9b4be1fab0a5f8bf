"""The "Verdicts changed since the 10,000-image runs" section (report_changes).

Synthetic summaries in both formats: the archived one (method records with
``method, lr_grid, val_loss_by_lr, lr, runs, mean, std, curve``) and the
current one, judged by the current verdict code.
"""

from __future__ import annotations

import json

import pytest

from dante.experiments import write_results_md
from dante.experiments.report_changes import (
    ARCHIVE_DIR,
    change_rows,
    changes_section,
    load_archive,
)

HEADING = "## Verdicts changed since the 10,000-image runs"
CLAIM = [{"cell": "mnist__", "method": "dante", "metric": "test_loss", "claim": "better",
          "baseline": "sgd"}]  # fmt: skip
XS = [0.0, 500.0, 1000.0]  # weights updated at each evaluation; the budget is 1000


def _runs(finals, curves=None):
    runs = []
    for s, v in enumerate(finals):
        r = {"seed": s, "test_loss": v, "train_loss": v}
        if curves is not None:
            r["curve"] = {"weights_updated": XS, "train_loss": curves[s]}
        runs.append(r)
    return runs


def _old_method(method, finals, curves=None):
    """An archived (10,000-image) method record: no selection trail, no label."""
    return {"method": method, "lr_grid": [0.01, 0.1], "val_loss_by_lr": {"0.01": 1.0, "0.1": 0.5},
            "lr": 0.1, "runs": _runs(finals, curves), "mean": {"test_loss": sum(finals) / 5},
            "std": {"test_loss": 0.01}, "curve": {}}  # fmt: skip


def _new_method(method, finals, curves=None):
    m = _old_method(method, finals, curves)
    del m["val_loss_by_lr"]
    m["selection"] = {"chosen": 0.1, "grid": [0.01, 0.1], "edge": False}
    return {**m, "label": method, "paper_rate": False}


def _cell(key, n_train, methods):
    return {"cell": key, "label": f"mnist 784-{key.split('__')[1]}-10", "dataset": "mnist",
            "n_train": n_train, "budget_weights": 1000, "methods": methods}  # fmt: skip


def _payload(cells):
    spec = {"metric": "test_loss", "baseline": "sgd", "seeds": 5, "budget_epochs": 10,
            "batch_size": 100, "paper": CLAIM, "datasets": ["mnist"], "architectures": [[100]],
            "methods": {}}  # fmt: skip
    return {"name": "figZ", "title": "t", "source": "001_1787bf99fca4a9f2.txt, Figure Z",
            "spec": spec, "cells": cells, "complete": True, "wall_seconds": 60.0}  # fmt: skip


GOOD = [0.20, 0.21, 0.19, 0.20, 0.20]  # DANTE well below SGD's test loss: held
SGD = [0.30, 0.31, 0.29, 0.30, 0.30]
BAD = [0.35, 0.36, 0.34, 0.35, 0.35]  # DANTE well above: not held


def _pair():
    old = _payload(
        [
            _cell("mnist__100", 10_000, {"dante": _old_method("dante", GOOD),
                                         "sgd": _old_method("sgd", SGD)}),
            _cell("mnist__250", 10_000, {"dante": _old_method("dante", GOOD),
                                         "sgd": _old_method("sgd", SGD)}),
            _cell("mnist__400", 10_000, {"dante": _old_method("dante", GOOD),
                                         "sgd": _old_method("sgd", SGD)}),
        ]
    )  # fmt: skip
    new = _payload(
        [
            _cell("mnist__100", 60_000, {"dante": _new_method("dante", BAD),
                                         "sgd": _new_method("sgd", SGD),
                                         "adam": _new_method("adam", GOOD)}),
            _cell("mnist__250", 60_000, {"dante": _new_method("dante", [v - 0.05 for v in GOOD]),
                                         "sgd": _new_method("sgd", SGD)}),
            _cell("mnist__600", 60_000, {"dante": _new_method("dante", GOOD),
                                         "sgd": _new_method("sgd", SGD)}),
        ]
    )  # fmt: skip
    return old, new


def test_flip_and_stay_rows_and_count():
    old, new = _pair()
    rows, skipped = change_rows({"figZ": old}, [new])
    # adam has no archived counterpart, so one comparison a shared cell
    assert [(r["cell"], r["comparison"]) for r in rows] == [
        ("mnist 784-100-10", "dante vs sgd"),
        ("mnist 784-250-10", "dante vs sgd"),
    ]
    flip, stay = rows
    assert (flip["old"]["verdict"], flip["new"]["verdict"]) == ("held", "not held")
    assert flip["changed"] and not stay["changed"]
    assert stay["old"]["verdict"] == stay["new"]["verdict"] == "held"
    # oriented for a loss: baseline - method, positive favours DANTE
    assert flip["old"]["diff"] == pytest.approx(0.10, abs=1e-9)
    assert flip["new"]["diff"] == pytest.approx(-0.05, abs=1e-9)
    assert flip["rows"] == "10,000 → 60,000"
    assert skipped == {"new": ["figZ/mnist__600"], "dropped": ["figZ/mnist__400"]}


def test_section_table_and_count_line(tmp_path):
    old, new = _pair()
    (tmp_path / ARCHIVE_DIR).mkdir(parents=True)
    (tmp_path / ARCHIVE_DIR / "figZ.json").write_text(json.dumps(old))
    lines = changes_section(tmp_path, [new])
    assert lines[0] == HEADING
    flip = next(x for x in lines if x.startswith("| figZ | mnist 784-100-10 | dante vs sgd |"))
    assert "| 10,000 → 60,000 | +0.100000 [" in flip and "] held |" in flip
    assert "| -0.050000 [" in flip and "] not held | **yes** |" in flip
    stay = next(x for x in lines if x.startswith("| figZ | mnist 784-250-10 |"))
    assert stay.endswith("| no |")
    assert "2 comparisons, 1 changed." in lines
    assert any(x.startswith("Not judged: 1 cell(s) only in the current results (figZ 1)")
               for x in lines)  # fmt: skip


def test_missing_runs_in_the_archive_is_too_few_seeds():
    old, new = _pair()
    del old["cells"][0]["methods"]["dante"]["runs"]
    old["cells"][1]["methods"]["sgd"]["runs"] = [{"seed": 0}]  # no metric in it
    rows, _ = change_rows({"figZ": old}, [new])
    assert [r["old"]["verdict"] for r in rows] == ["too few seeds", "too few seeds"]
    assert all(r["old"]["diff"] is None and r["changed"] for r in rows)
    assert [r["new"]["verdict"] for r in rows] == ["not held", "held"]


def test_central_claim_rows_when_both_sides_have_curves():
    fast = [[1.0, 0.2 + 0.01 * s, 0.1] for s in range(5)]
    slow = [[1.0, 0.6 + 0.01 * s, 0.3] for s in range(5)]
    old_methods = {"dante": _old_method("dante", GOOD, fast), "sgd": _old_method("sgd", SGD, slow)}
    new_methods = {"dante": _new_method("dante", GOOD, slow), "sgd": _new_method("sgd", SGD, fast)}
    old = _payload([_cell("mnist__100", 10_000, old_methods)])
    new = _payload([_cell("mnist__100", 60_000, new_methods)])
    rows, _ = change_rows({"figZ": old}, [new])
    claim = {r["comparison"]: r for r in rows if r["comparison"].startswith("dante vs sgd, ")}
    assert sorted(claim) == ["dante vs sgd, train loss at 25%", "dante vs sgd, train loss at 50%"]
    for r in claim.values():
        assert (r["old"]["verdict"], r["new"]["verdict"]) == ("held", "not held")
        assert r["changed"]
    # without per-seed curves on one side: no central-claim rows
    for m in old["cells"][0]["methods"].values():
        for run in m["runs"]:
            del run["curve"]
    rows, _ = change_rows({"figZ": old}, [new])
    assert [r["comparison"] for r in rows] == ["dante vs sgd"]


def test_results_md_with_and_without_the_archive(tmp_path):
    old, new = _pair()
    out = tmp_path / "results"
    out.mkdir()
    (out / "figZ.json").write_text(json.dumps(new))
    text = write_results_md(out, tmp_path / "RESULTS.md").read_text()
    assert HEADING not in text and changes_section(out, [new]) == []
    assert load_archive(out / ARCHIVE_DIR) == {}
    (out / ARCHIVE_DIR).mkdir(parents=True)
    (out / ARCHIVE_DIR / "figZ.json").write_text(json.dumps(old))
    (out / ARCHIVE_DIR / "README.md").write_text("not json")
    text = write_results_md(out, tmp_path / "RESULTS.md").read_text()
    assert text.index(HEADING) < text.index("## Deviations from the papers")
    assert "2 comparisons, 1 changed." in text
    # the archive is not read as an experiment of its own
    assert text.count("## figZ:") == 1
