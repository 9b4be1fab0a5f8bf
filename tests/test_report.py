"""RESULTS.md from experiment records: the deviation table, verdicts, the central claim.

Records in two shapes: the stored results (no selection trail, no per-seed
curves) must render, and records of the PROTOCOL.md runner (``selection``,
``runs[i].curve``, ``<key>@paper`` rows) must show what they add.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dante.experiments import write_results_md
from dante.experiments.deviations import deviation_rows, report_specs
from dante.experiments.spec import load_spec

LEGACY = Path(__file__).resolve().parent / "fixtures" / "legacy_results"


# spec fields ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (
            lambda d: d.update(substitutes={"fashon_mnist": "kmnist"}),
            "did you mean 'fashion_mnist'",
        ),
        (lambda d: d.update(substitutes={"mnist": " "}), "needs the paper's dataset"),
        (lambda d: d.update(paper_architectures=[[100], [0]]), "bad hidden sizes [0]"),
        (lambda d: d.update(paper_architectures=[[]]), "bad hidden sizes []"),
        (lambda d: d.update(deviations=["ok", ""]), "deviations: an entry is empty"),
        (
            lambda d: d.update(missing_data={"datasets": ["cifar100"], "command": "dante x"}),
            "did you mean 'cifar10'",
        ),
        (
            lambda d: d.update(missing_data={"datasets": ["svhn"], "command": "python run.py"}),
            "'dante reproduce ...' line",
        ),
        (
            lambda d: d.update(missing_data={"datasets": [], "command": "dante reproduce f"}),
            "missing_data.datasets",
        ),
        (lambda d: d.update(substitute={"mnist": "kmnist"}), "did you mean 'substitutes'"),
    ],
)
def test_deviation_fields_are_validated(spec_file, mutate, pattern):
    with pytest.raises(ValueError) as info:
        load_spec(spec_file(mutate, "fig2"))
    assert pattern in str(info.value)


def test_deviation_fields_load():
    spec = load_spec("fig2")
    assert spec.substitutes == {"fashion_mnist": "kmnist"}
    assert spec.paper_architectures == spec.architectures
    # quick mode drops fashion_mnist from datasets; the substitute does not break it
    assert load_spec("fig2", quick=True).datasets == ["mnist"]
    assert load_spec("fig8").paper_architectures == [[100], [100, 100, 100]]


# the deviation table -------------------------------------------------------------------
def _spec_dict(**extra):
    base = {
        "datasets": ["mnist", "fashion_mnist"],
        "dataset_options": {"mnist": {"n_train": 10000}, "kmnist": {"n_train": 5}},
        "architectures": [[100], [400, 200]],
        "budget_epochs": 10,
        "batch_size": 100,
        "methods": {
            "dante": {"method": "dante", "lr_grid": [0.1, 0.3]},
            "sgd": {"method": "sgd", "lr_grid": [1.0, 3.0]},
        },
        "val_fraction": 0.1,
        "lr_budget_fraction": 0.5,
    }
    base.update(extra)
    return base


def _by_aspect(rows):
    out = {}
    for _, aspect, ours, paper in rows:
        out.setdefault(aspect, []).append((ours, paper))
    return out


def test_deviation_rows_one_per_deviation():
    rows = deviation_rows(
        "figX",
        _spec_dict(
            substitutes={"fashion_mnist": "kmnist", "usps": "svhn"},
            paper_architectures=[[100], [400, 200]],
            deviations=["Peers are re-implementations."],
        ),
    )
    by = _by_aspect(rows)
    assert all(r[0] == "figX" for r in rows)
    assert by["data"] == [("fashion_mnist stands in for kmnist", "kmnist")]  # usps is not used
    assert by["size"] == [
        ("mnist: 10,000 training examples (seeded stratified subset)", "full training set")
    ]  # kmnist's options are not a dataset here
    assert by["budget"] == [
        ("10 backprop-epoch equivalents of weights updated (batch 100)", "not stated")
    ]
    assert "architecture" not in by  # same as the paper's
    assert "50% of the budget" in by["selection"][0][0]
    assert by["stopping"][0][0].startswith("none: alternation stopping off")
    assert by["other"] == [("Peers are re-implementations.", "-")]


def test_deviation_rows_protocol_fields():
    rows = deviation_rows(
        "figY",
        _spec_dict(
            paper_architectures=[[100], [100, 100, 100]],
            budget_source="read from Figure 2's x axis",
            selection={
                "val_fraction": 0.1,
                "fraction": 0.25,
                "keep": 3,
                "seeds": 3,
                "extend_edges": True,
                "max_extensions": 4,
                "share_by": "dataset_depth",
            },
            stopping={"tol": 1e-4, "t_am": 2},
            budget_match="dante",
            methods={"dante": {"method": "dante", "lr_grid": [0.1], "paper_lr": 0.001}},
        ),
    )
    by = _by_aspect(rows)
    assert by["architecture"] == [("hidden 100; 400-200", "hidden 100; 100-100-100")]
    assert by["budget"][0][1] == "read from Figure 2's x axis"
    sel = by["selection"][0][0]
    assert "successive halving" in sel and "rung 1 every rate at 25%" in sel
    assert "same dataset, depth and variant" in sel and "dante 0.001" in sel
    assert by["stopping"] == [
        (
            "eps = 0.0001, T_AM = 2; the other methods stop at the weights updated dante used on "
            "the same seed",
            "Algorithm 2's eps and T_AM; values not printed in the paper",
        )
    ]
    none = _by_aspect(deviation_rows("t", _spec_dict(paper_architectures=None)))
    assert none["architecture"] == [("hidden 100; 400-200", "not stated")]


def test_missing_data_row_and_unrun_specs():
    missing = {"datasets": ["cifar10", "svhn"], "command": "dante reproduce fig3"}
    rows = deviation_rows("fig3", _spec_dict(missing_data=missing), ran=False)
    assert [r[1] for r in rows] == ["missing data"]
    assert "`dante reproduce fig3`" in rows[0][2] and rows[0][3] == "cifar10, svhn"
    # a stored result keeps its own spec; fields it predates come from the bundled YAML
    stored = {"name": "fig2", "spec": {k: v for k, v in _spec_dict().items()}}
    [(name, spec, ran)] = [s for s in report_specs([stored]) if s[0] == "fig2"]
    assert ran and spec["substitutes"] == {"fashion_mnist": "kmnist"}
    assert spec["dataset_options"] == _spec_dict()["dataset_options"]


# RESULTS.md ----------------------------------------------------------------------------
def _runs(finals, xs=None, curves=None, metric="test_loss", device=None):
    runs = []
    for s, v in enumerate(finals):
        r = {"seed": s, metric: v, "train_loss": v, "wall_seconds": 1.0}
        if curves is not None:
            r["curve"] = {"weights_updated": xs, "train_loss": curves[s]}
        if device:
            r["device"] = device
        runs.append(r)
    return runs


def _method(method, lr, grid, runs, metric="test_loss", **extra):
    vals = [r[metric] for r in runs]
    mean = sum(vals) / len(vals)
    std = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5
    return {
        "method": method,
        "lr": lr,
        "lr_grid": grid,
        "runs": runs,
        "mean": {metric: mean, "wall_seconds": 1.0},
        "std": {metric: std},
        "curve": {},
        **extra,
    }


def _payload(methods, name="table2", baseline="dante", paper=()):
    return {
        "name": name,
        "title": "t",
        "source": "001_1787bf99fca4a9f2.txt, Table 2",
        "spec": {
            "metric": "test_loss",
            "baseline": baseline,
            "seeds": 5,
            "budget_epochs": 10,
            "batch_size": 100,
            "paper": list(paper),
            "datasets": ["mnist"],
            "architectures": [[100]],
            "methods": {},
        },
        "cells": [
            {
                "cell": "mnist__100",
                "label": "mnist 784-100-10",
                "device": "cpu (2 cores)",
                "budget_weights": 1000,
                "methods": methods,
            }
        ],
        "complete": True,
        "wall_seconds": 60.0,
    }


def _write(tmp_path, payload):
    out = tmp_path / "results"
    out.mkdir(exist_ok=True)
    (out / f"{payload['name']}.json").write_text(json.dumps(payload))
    return write_results_md(out, tmp_path / "docs" / "RESULTS.md").read_text()


def _row(text, start):
    return next(line for line in text.splitlines() if line.startswith(start))


def test_stored_results_render(tmp_path):
    """Results from before the protocol (no trail, no per-seed curves) render with Welch
    verdicts. A frozen copy (tests/fixtures/legacy_results: table2 and two fig2 cells as
    committed at 06dbb0e), since results/ changes as the reproduction runs."""
    out = tmp_path / "results"
    out.mkdir()
    for name in ("table2", "fig2"):
        (out / f"{name}.json").write_text((LEGACY / f"{name}.json").read_text())
    text = write_results_md(out, tmp_path / "RESULTS.md").read_text()
    assert text.index("## Deviations from the papers") < text.index("## fig2:")
    assert "| fig2 | data | fashion_mnist stands in for kmnist | kmnist |" in text
    assert "No per-seed curves in these results" in text
    # the row: tuned SGD+AltMin 0.0150 +- 0.0043 vs DANTE 0.0133 +- 0.0007
    tuned = _row(text, "| mnist 784-100-10 | sgd_altmin_tuned |")
    assert "| inconclusive |" in tuned and "claim: worse" in tuned
    fixed = _row(text, "| mnist 784-100-10 | sgd_altmin_1e-3 (fixed rate) |")
    assert "| held |" in fixed
    headline = _row(text, "Verdict of the tuned rows against `dante`")
    assert "sgd_altmin_tuned: inconclusive" in headline and "1e-3" not in headline
    assert "cuda (NVIDIA H100" in tuned  # the device per row


def test_table2_verdict_from_tuned_rows_paper_rate_beside(tmp_path):
    dante = _runs([0.0133, 0.0126, 0.0140, 0.0130, 0.0136])
    tuned = _runs([0.0150, 0.0100, 0.0200, 0.0130, 0.0170])
    paper_rate = _runs([0.0919, 0.0905, 0.0930, 0.0912, 0.0925])
    sel = {
        "chosen": 1.0,
        "final_grid": [0.1, 0.3, 1.0, 3.0, 9.0],
        "edge": False,
        "extensions": [{"edge": "high", "lr": 9.0, "ratio": 3.0}],
        "note": "",
    }
    methods = {
        "dante": _method("dante", 0.1, [0.1, 0.3], dante),
        "sgd_altmin": _method("sgd_altmin", 1.0, [0.1, 0.3, 1.0, 3.0], tuned, selection=sel),
        "sgd_altmin@paper": _method("sgd_altmin", 0.001, [0.001], paper_rate, paper_rate=True),
    }
    paper = [
        {
            "cell": "mnist__100",
            "method": "sgd_altmin",
            "metric": "test_loss",
            "claim": "worse",
            "baseline": "dante",
        }
    ]
    text = _write(tmp_path, _payload(methods, name="tableX", paper=paper))
    row = _row(text, "| mnist 784-100-10 | sgd_altmin |")
    assert "| inconclusive |" in row
    # positive favours the method: its loss is higher than DANTE's, so the mean diff is < 0
    assert "| -0.001700 [" in row
    pr = _row(text, "| mnist 784-100-10 | sgd_altmin@paper (paper rate) |")
    assert "- (paper rate)" in pr and "held" not in pr
    assert "against `dante`: 1 inconclusive: mnist 784-100-10 sgd_altmin: inconclusive" in text
    assert "| mnist 784-100-10 | sgd_altmin | 1 | 0.1, 0.3, 1, 3, 9 | no | extended by 9 |" in text


def test_central_claim_table_from_per_seed_curves(tmp_path):
    xs = [0.0, 250.0, 500.0, 750.0, 1000.0]
    es = [-0.008, -0.005, -0.001, 0.006, 0.008]
    dante = _runs(
        [0.30 + e for e in es],
        xs,
        [[1.0, 0.35 + e, 0.32 + e, 0.31 + e, 0.30 + e] for e in es],
        device="cuda (H200)",
    )
    sgd = _runs(
        [0.20 + e for e in es],
        xs,
        [[1.0, 0.70 + e, 0.45 + e, 0.15 + e, 0.20 + e] for e in es],
        device="cuda (H200)",
    )
    methods = {
        "dante": _method("dante", 0.1, [0.1, 0.3], dante),
        "sgd": _method("sgd", 1.0, [1.0, 3.0], sgd),
    }
    paper = [
        {
            "cell": "mnist__",
            "method": "dante",
            "metric": "test_loss",
            "claim": "better",
            "baseline": "sgd",
        }
    ]
    text = _write(tmp_path, _payload(methods, name="figX", baseline="sgd", paper=paper))
    row = text.splitlines()[
        text.splitlines().index(
            "| cell | loss at 25% | loss at 50% | final loss | weights to reach |"
        )
        + 2
    ]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "mnist 784-100-10"
    assert cells[1].startswith("+0.350000 [") and cells[1].endswith("held")
    assert cells[2].endswith("held") and "not" not in cells[2]
    assert cells[3].startswith("-0.100000 [") and cells[3].endswith("**not held**")
    assert cells[4].endswith("**not held** (never reached: 5/0)")
    comp = _row(text, "| mnist 784-100-10 | dante |")
    assert "**not held**" in comp and "cuda (H200)" in comp
    assert (tmp_path / "docs" / "RESULTS.md").exists()
    # the overview at the top counts the same verdicts: the tuned row (not held) and the
    # central claim's two measures (25% and 50%: both held)
    glance = _row(text, "| [figX](#figx-t) |")
    assert "| not run" not in glance and "| 1 not held | 2 held |" in glance
    assert text.index("## Verdicts at a glance") < text.index("## Deviations from the papers")


def test_glance_counts_study_claims_and_incomplete_figures(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    study = {"name": "s1", "title": "A study", "source": "004", "setup": "x", "rows": [],
             "kind": "study", "quick": False, "seeds": [0],
             "claims": [{"claim": "a", "holds": True, "evidence": "e"},
                        {"claim": "b", "holds": False, "evidence": "e"},
                        {"claim": "c", "holds": True, "evidence": "e"}]}  # fmt: skip
    (out / "s1.json").write_text(json.dumps(study))
    dante = _runs([0.30, 0.31, 0.29, 0.30, 0.32])
    sgd = _runs([0.30, 0.29, 0.31, 0.30, 0.28])
    payload = _payload({"dante": _method("dante", 0.1, [0.1], dante),
                        "sgd": _method("sgd", 1.0, [1.0], sgd)}, name="figY", baseline="sgd",
                       paper=[{"cell": "mnist__", "method": "dante", "metric": "test_loss",
                               "claim": "better", "baseline": "sgd"}])  # fmt: skip
    payload["complete"], payload["missing"] = False, {"mnist__250": 2, "mnist__400": 0}
    payload["cells"][0]["n_train"] = 60000
    (out / "figY.json").write_text(json.dumps(payload))
    text = write_results_md(out, tmp_path / "RESULTS.md").read_text()
    assert "| complete | - | study: 2 of 3 claims hold |" in _row(text, "| [s1](#s1-a-study) |")
    fig = _row(text, "| [figY](#figy-t) |")
    # equal means within noise: inconclusive; one finished cell of three; 60k rows
    assert "| incomplete (1/3 cells) | 60,000 | 1 inconclusive |" in fig


def test_figures_with_per_seed_curves(tmp_path):
    from dante.experiments import plot_experiment

    xs = [0.0, 500.0, 1000.0]
    runs = _runs([0.2] * 5, xs, [[1.0, 0.5, 0.2]] * 5)
    m = _method("dante", 0.1, [0.1], runs)
    m2 = copy.deepcopy(m)
    m2["curve"] = {"weights_updated": xs, "train_loss": [1.0, 0.5, 0.2]}
    written = plot_experiment(_payload({"dante": m, "dante@paper": m2}, name="figZ"), tmp_path)
    assert [p.name for p in written] == ["figZ_curves.png"]
    assert written[0].stat().st_size > 0


def test_a_spec_without_its_data_says_so_with_its_command(tmp_path):
    from dante.cli import main
    from dante.data import load

    try:
        load("tiny_imagenet")
        pytest.skip("Tiny ImageNet is installed here: fig4 would really run")
    except Exception:  # DatasetNotAvailableError: the case under test
        pass
    md = tmp_path / "RESULTS.md"
    assert main(["reproduce", "fig4", "--out", str(tmp_path), "--results-md", str(md)]) == 0
    text = md.read_text()
    assert "**Not run: this copy lacks the data (tiny_imagenet" in text
    assert "`dante reproduce fig4` runs it" in text
    assert "**Incomplete" not in text.split("## fig4")[1].split("\n## ")[0]


def test_rerun_section_marks_reruns_outside_the_reported_interval(tmp_path):
    from dante.experiments.report_reruns import mean_interval

    # t interval of the mean by hand: mean 0.30, s = 0.01, n = 5, t_{0.975, 4} = 2.776445
    m, lo, hi = mean_interval([0.29, 0.31, 0.29, 0.31, 0.30])  # squares sum to 4e-4
    assert m == pytest.approx(0.30, abs=1e-12)
    assert hi - m == pytest.approx(2.776445 * 0.01 / 5**0.5, rel=1e-5)
    assert lo == pytest.approx(2 * m - hi, abs=1e-12)
    out = tmp_path / "results"
    (out / "reruns").mkdir(parents=True)
    claim = [{"cell": "mnist__", "method": "dante", "metric": "test_loss", "claim": "better",
              "baseline": "sgd"}]  # fmt: skip

    def payload(d, s, lr):
        return _payload({"dante": _method("dante", lr, [lr], _runs(d)),
                         "sgd": _method("sgd", 1.0, [1.0], _runs(s))},
                        name="figZ", baseline="sgd", paper=claim)  # fmt: skip

    reported = payload([0.20, 0.21, 0.19, 0.20, 0.20], [0.30, 0.31, 0.29, 0.30, 0.30], 0.1)
    # the rerun: DANTE lands at 0.25 (outside [0.19, 0.21]); its gain over SGD shrinks
    # to +0.05, outside the reported Welch interval around +0.10
    rerun = payload([0.25, 0.26, 0.24, 0.25, 0.25], [0.30, 0.31, 0.29, 0.30, 0.30], 0.03)
    rerun["seeds"] = [100, 101, 102, 103, 104]
    (out / "figZ.json").write_text(json.dumps(reported))
    (out / "reruns" / "figZ.json").write_text(json.dumps(rerun))
    text = write_results_md(out, tmp_path / "RESULTS.md").read_text()
    assert "### figZ rerun on seeds 100..104" in text
    dante = _row(text, "| mnist 784-100-10 | dante | 0.1 / 0.03 |")
    assert "| 0.250000 | **no** |" in dante and "held | +0.050000 held | **no** |" in dante
    sgd = _row(text, "| mnist 784-100-10 | sgd | 1 / 1 |")
    assert "| 0.300000 | yes |" in sgd
    # the rerun folder is not read as an experiment of its own
    assert text.count("## figZ:") == 1


def test_ablation_splits_dantes_gain_into_alternation_and_normalisation(tmp_path):
    from dante.experiments.report_ablation import split_gain

    def acc(mean):  # five seeds around ``mean`` (spread 0.002, the same for every method)
        return _runs([mean - 0.002, mean - 0.001, mean, mean + 0.001, mean + 0.002],
                     metric="test_accuracy")  # fmt: skip

    methods = {
        "dante": _method("dante", 0.1, [0.1], acc(0.97), metric="test_accuracy"),
        "sgd": _method("sgd", 1.0, [1.0], acc(0.90), metric="test_accuracy"),
        "sngd_backprop": _method("sngd_backprop", 0.1, [0.1], acc(0.95), metric="test_accuracy"),
        "adam": _method("adam", 0.001, [0.001], acc(0.96), metric="test_accuracy"),
    }
    cell = {"label": "mnist 784-100-10", "methods": methods}
    parts = split_gain(cell, "test_accuracy", higher_is_better=True)
    # 0.07 in all: 0.02 from the alternation, 0.05 from normalising each layer's step
    assert parts["DANTE vs SGD (the whole difference)"]["diff"] == pytest.approx(0.07)
    assert parts["the alternation: DANTE vs SNGD-backprop"]["diff"] == pytest.approx(0.02)
    assert parts["per-layer normalisation: SNGD-backprop vs SGD"]["diff"] == pytest.approx(0.05)
    assert parts["share"]["value"] == pytest.approx(0.02 / 0.07)
    payload = _payload(methods, name="figA", baseline="sgd")
    payload["spec"]["metric"] = "test_accuracy"
    text = _write(tmp_path, payload)
    row = _row(text, "| mnist 784-100-10 | the alternation: DANTE vs SNGD-backprop |")
    assert "| +0.0200 [" in row and "favours the first" in row
    share = _row(text, "| mnist 784-100-10 | share of the whole difference the alternation")
    assert "| 29% |" in share
    # no SNGD-backprop run: no split (the whole difference has no parts to split into)
    del methods["sngd_backprop"]
    assert split_gain(cell, "test_accuracy", True)["share"]["value"] is None


def test_a_bundled_spec_without_results_is_listed_as_not_run(tmp_path):
    # only fig2 has results: every other bundled spec without missing data is listed
    # from its validated spec with a "status" row, and as "not run yet" in the glance
    stored = {"name": "fig2", "spec": _spec_dict()}
    specs = {name: (spec, ran) for name, spec, ran in report_specs([stored])}
    spec, ran = specs["w_fig6"]
    assert ran and spec["not_run"]
    rows = _by_aspect(deviation_rows("w_fig6", spec))
    assert rows["status"] == [
        (
            "no summary yet: `dante reproduce w_fig6` runs it or resumes a partial run "
            "(the rows below are its spec's)",
            "-",
        )
    ]
    assert "budget" in rows and "selection" in rows  # the rows it will have once run
    assert "not_run" not in specs["fig2"][0]
    write_results_md(tmp_path, tmp_path / "RESULTS.md")  # no results at all
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| w_fig6 (`dante reproduce w_fig6`) |" in text and "| not run yet |" in text
    # a partial run's per-unit files make it "in progress", with their count
    unit = tmp_path / "w_fig6" / "mnist__500-500" / "selection"
    unit.mkdir(parents=True)
    for k in range(3):
        (unit / f"u{k}.json").write_text("{}")
    write_results_md(tmp_path, tmp_path / "RESULTS.md")
    row = _row((tmp_path / "RESULTS.md").read_text(), "| w_fig6 (`dante reproduce w_fig6`) |")
    assert "| in progress (3 unit files; the command resumes) |" in row


def test_prediction_interval_is_the_interval_a_replication_lands_in():
    import numpy as np

    from dante.experiments.report_reruns import (
        diff_prediction_interval,
        fresh_mean_coverage,
        prediction_interval,
    )

    # by hand: s = 0.01, n = 5, a fresh 5-seed mean: half-width t_{0.975,4} s sqrt(2/5)
    m, lo, hi = prediction_interval([0.29, 0.31, 0.29, 0.31, 0.30], 5)
    assert hi - m == pytest.approx(2.776445 * 0.01 * (2 / 5) ** 0.5, rel=1e-5)
    # the coverage of a confidence interval for a fresh mean, exact formula vs a seeded
    # Monte Carlo (PCG64 draws are the same on every platform; 200,000 draws give a
    # standard error of 0.0007, so 0.005 is seven of them)
    rng = np.random.default_rng(0)
    old, new = rng.normal(size=(200_000, 5)), rng.normal(size=(200_000, 5))
    om, os_, nm = old.mean(1), old.std(1, ddof=1), new.mean(1)
    t = 2.776445
    ci = np.mean(np.abs(nm - om) <= t * os_ / 5**0.5)
    pi = np.mean(np.abs(nm - om) <= t * os_ * (2 / 5) ** 0.5)
    # P(|T_4| <= 2.776445 / sqrt(2)) = 0.87890 (closed form, scipy.stats.t)
    assert fresh_mean_coverage(5, 5) == pytest.approx(0.8789, abs=1e-4)
    assert ci == pytest.approx(fresh_mean_coverage(5, 5), abs=0.005)
    assert pi == pytest.approx(0.95, abs=0.005)  # exact for the prediction interval
    # the Welch analogue: equal variances, 5 a side, is near 95% (Welch is approximate)
    other, other_new = rng.normal(size=(20_000, 5)), rng.normal(size=(20_000, 5))
    hits = 0
    for i in range(20_000):
        _, dlo, dhi = diff_prediction_interval(old[i], other[i], 5, 5)
        hits += dlo <= new[i].mean() - other_new[i].mean() <= dhi
    assert hits / 20_000 == pytest.approx(0.95, abs=0.01)


def test_rerun_inside_the_prediction_interval_but_outside_the_confidence_interval(tmp_path):
    out = tmp_path / "results"
    (out / "reruns").mkdir(parents=True)

    def payload(d, s):
        return _payload({"dante": _method("dante", 0.1, [0.1], _runs(d)),
                         "sgd": _method("sgd", 1.0, [1.0], _runs(s))},
                        name="figZ", baseline="sgd")  # fmt: skip

    sgd = [0.30, 0.31, 0.29, 0.30, 0.30]
    # reported DANTE: mean 0.20, s = 0.00707: 95% interval [0.1912, 0.2088], prediction
    # interval for 5 fresh seeds [0.1876, 0.2124]; the rerun's mean 0.21 lies between
    reported = payload([0.20, 0.21, 0.19, 0.20, 0.20], sgd)
    rerun = payload([0.21, 0.22, 0.20, 0.21, 0.21], sgd)
    rerun["seeds"] = [100, 101, 102, 103, 104]
    (out / "figZ.json").write_text(json.dumps(reported))
    (out / "reruns" / "figZ.json").write_text(json.dumps(rerun))
    text = write_results_md(out, tmp_path / "RESULTS.md").read_text()
    dante = _row(text, "| mnist 784-100-10 | dante | 0.1 / 0.1 |")
    assert "| 0.210000 | **no** | yes |" in dante
    assert "Over the reruns below: 1 of 2 rerun means lie inside the reported 95% interval" in text
    assert "about 1.8 of 2 (88%)" in text and "2 of 2 lie inside the 95% prediction" in text
