"""The reproduction protocol of docs/PROTOCOL.md (sections 2-4).

Successive halving is checked on a synthetic validation loss (no training);
the stopping rule, budget matching, persistence and the rerun flags on a tiny
spec (the embedded digits set, a 64-8-10 network).
"""

from __future__ import annotations

import json
import math

import pytest
import yaml

from dante.cli import main
from dante.config import METHODS
from dante.experiments import load_spec, run_experiment
from dante.experiments.selection import extend_rate, successive_halving
from dante.experiments.spec import MethodSpec, SelectionSpec
from dante.experiments.training import CellRunner

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# -- successive halving on a synthetic loss -------------------------------------------


class Parabola:
    """Validation loss ``(log10 lr - log10 best)^2 + noise(seed)``; counts the calls."""

    def __init__(self, best: float, noise: dict[int, float] | None = None) -> None:
        self.best, self.noise, self.calls = best, noise or {}, []

    def __call__(self, lr: float, seed: int, fraction: float) -> float:
        self.calls.append((lr, seed, fraction))
        return (math.log10(lr) - math.log10(self.best)) ** 2 + self.noise.get(seed, 0.0)


def _sel(**kw) -> SelectionSpec:
    return SelectionSpec(**{"fraction": 0.25, "keep": 1, "seeds": 1, **kw})


def test_edge_best_grid_extends_until_interior_and_records_every_score():
    loss = Parabola(best=1.0)
    trail = successive_halving([0.01, 0.03, 0.1], loss, _sel(max_extensions=4))
    # ratio at the top end is 0.1/0.03: 0.1 -> 0.333.. -> 1.111.. -> 3.703..; 1.111 is interior
    assert [e["edge"] for e in trail["extensions"]] == ["high"] * 3
    assert trail["final_grid"] == pytest.approx([0.01, 0.03, 0.1, 1 / 3, 10 / 9, 100 / 27])
    assert all(e["ratio"] == pytest.approx(10 / 3) for e in trail["extensions"])
    assert trail["chosen"] == pytest.approx(10 / 9) and trail["edge"] is False
    assert [r["lr"] for r in trail["rung1"]] == trail["final_grid"]
    for row in trail["rung1"]:  # every rung-1 score is in the trail, on seed 0 at the fraction
        assert row["val_loss"] == pytest.approx(math.log10(row["lr"]) ** 2)
        assert row["seed"] == 0
    assert {c[2] for c in loss.calls} == {0.25}


def test_extension_stops_at_max_extensions_and_flags_the_edge():
    trail = successive_halving([0.01, 0.1], Parabola(best=1e-6), _sel(max_extensions=2))
    assert trail["final_grid"] == pytest.approx([1e-4, 1e-3, 0.01, 0.1])  # the low-end ratio
    assert len(trail["extensions"]) == 2 and trail["edge"] is True
    assert trail["chosen"] == pytest.approx(1e-4)
    no_ext = successive_halving([0.01, 0.1], Parabola(best=1e-6), _sel(extend_edges=False))
    assert no_ext["extensions"] == [] and no_ext["edge"] is True


def test_extend_rate_uses_the_ratio_at_that_end():
    assert extend_rate([0.001, 0.003, 0.01], "low") == pytest.approx(0.001 / 3)
    assert extend_rate([0.001, 0.003, 0.01], "high") == pytest.approx(0.01 * 0.01 / 0.003)
    with pytest.raises(ValueError):
        extend_rate([0.1], "high")


def test_one_rate_grid_is_never_run_or_extended():
    loss = Parabola(best=10.0)
    trail = successive_halving([0.1], loss, _sel())
    assert loss.calls == [] and trail["chosen"] == 0.1 and trail["extensions"] == []
    assert trail["complete"] is True


def test_rung2_keeps_the_best_and_averages_seeds_with_offset():
    # rung 1 (seed 5) ranks 0.1 < 0.3 < 0.03 < 1.0; rung 2 runs the best 3 on seeds 5..7
    def loss(lr, seed, fraction):
        base = {0.01: 9.0, 0.03: 3.0, 0.1: 1.0, 0.3: 2.0, 1.0: 4.0}[lr]
        if fraction == 1.0 and lr == 0.3:
            base = 0.5  # better at the full budget
        return base + 0.1 * (seed - 5)

    calls = []

    def train(lr, seed, fraction):
        calls.append((lr, seed, fraction))
        return {"val_loss": loss(lr, seed, fraction), "weights_updated": 7}

    sel = SelectionSpec(fraction=0.25, keep=3, seeds=3)
    trail = successive_halving([0.01, 0.03, 0.1, 0.3, 1.0], train, sel, seed_offset=5)
    assert trail["kept"] == [0.1, 0.3, 0.03]
    assert trail["rung1_seed"] == 5 and trail["rung2_seeds"] == [5, 6, 7]
    assert [(r["lr"], r["seed"]) for r in trail["rung2"]] == [
        (lr, s) for lr in (0.1, 0.3, 0.03) for s in (5, 6, 7)
    ]
    assert all(r["weights_updated"] == 7 for r in trail["rung2"])
    assert trail["rung2_mean"][repr(0.3)] == pytest.approx(0.6)
    assert trail["chosen"] == 0.3
    assert {c[2] for c in calls if c[1] != 5} == {1.0}


def test_ties_go_to_the_smaller_rate():
    flat = successive_halving([0.03, 0.1, 0.3], lambda lr, s, f: 1.0, _sel(extend_edges=False))
    assert flat["chosen"] == 0.03

    def two_way(lr, seed, fraction):
        return 1.0 if lr in (0.1, 0.3) else 2.0

    trail = successive_halving([0.03, 0.1, 0.3, 1.0], two_way, SelectionSpec(keep=2, seeds=2))
    assert trail["rung2_mean"] == {repr(0.1): 1.0, repr(0.3): 1.0} and trail["chosen"] == 0.1


def test_non_finite_and_diverged_runs_score_inf():
    def train(lr, seed, fraction):
        if lr >= 1.0:
            raise FloatingPointError("loss became nan")
        return float("nan") if lr == 0.3 else 1.0 / lr

    trail = successive_halving([0.01, 0.1, 0.3, 1.0], train, _sel(keep=3, seeds=1))
    scores = {r["lr"]: r["val_loss"] for r in trail["rung1"]}
    assert scores[0.3] == math.inf and scores[1.0] == math.inf
    assert "nan" in next(r for r in trail["rung1"] if r["lr"] == 1.0)["error"]
    assert trail["kept"] == [0.1, 0.01] and trail["chosen"] == 0.1

    def always(lr, seed, fraction):
        raise FloatingPointError("diverged")

    dead = successive_halving([0.01, 0.1], always, _sel(max_extensions=1))
    assert dead["chosen"] == pytest.approx(0.001) and dead["kept"] == []  # smallest, extended
    assert "diverged" in dead["note"]


def test_an_interrupted_selection_resumes_without_repeating_runs():
    saved = []
    first = Parabola(best=0.1)
    successive_halving(
        [0.01, 0.1, 1.0],
        first,
        SelectionSpec(keep=2, seeds=2),
        save=lambda t: saved.append(json.loads(json.dumps(t))),
    )
    partial = saved[4]  # after rung 1 (3 runs) and two of rung 2's four runs
    assert len(partial["rung1"]) == 3 and len(partial["rung2"]) == 2
    assert partial["complete"] is False
    again = Parabola(best=0.1)
    trail = successive_halving(
        [0.01, 0.1, 1.0], again, SelectionSpec(keep=2, seeds=2), done=partial
    )
    assert len(first.calls) == 7 and len(again.calls) == 2
    assert trail == saved[-1]


# -- the spec's protocol fields ------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "patterns"),
    [
        (
            lambda d: d.update(lr_budget_fraction=0.5),
            ["'lr_budget_fraction'", "selection.fraction"],
        ),
        (lambda d: d.update(val_fraction=0.2), ["'val_fraction'", "selection.val_fraction"]),
        (
            lambda d: d.update(selection={"fractoin": 0.5}),
            ["'selection.fractoin'", "did you mean 'fraction'"],
        ),
        (lambda d: d.update(selection={"keep": 0}), ["'selection.keep'"]),
        (lambda d: d.update(selection={"share_by": "width"}), ["'selection.share_by'"]),
        (lambda d: d.update(stopping={"tol": -1, "t_am": 2}), ["'stopping.tol'"]),
        (lambda d: d.update(stopping={"tol": 0.1}), ["'stopping.t_am'"]),
        (lambda d: d.pop("stopping"), ["'stopping'", "dante", "Algorithm 2"]),
        (lambda d: d.update(budget_match="dantee"), ["'budget_match'", "'dantee'"]),
        (
            lambda d: d["methods"]["sgd"].update(paper_lrr=0.1),
            ["'methods.sgd.paper_lrr'", "did you mean 'paper_lr'"],
        ),
        (lambda d: d["methods"]["sgd"].update(paper_lr=-1.0), ["methods.sgd", "lr=-1.0"]),
        (
            lambda d: d["methods"].update({"x@paper": {"method": "sgd", "lr_grid": [0.1]}}),
            ["'methods.x@paper'", "reserved"],
        ),
    ],
)
def test_protocol_field_errors_name_the_key(spec_file, mutate, patterns):
    with pytest.raises(ValueError) as info:
        load_spec(spec_file(mutate))
    msg = str(info.value)
    assert msg.startswith("spec.yaml: bad key"), msg
    for p in patterns:
        assert p in msg, msg


def test_defaults_alternating_methods_and_quick_merge(spec_file, monkeypatch):
    spec = load_spec("table1")
    assert spec.selection == SelectionSpec()  # PROTOCOL.md's defaults
    assert (spec.selection.val_fraction, spec.selection.fraction) == (0.1, 0.25)
    assert (spec.selection.keep, spec.selection.seeds, spec.selection.max_extensions) == (3, 3, 4)
    assert spec.selection.extend_edges is True and spec.selection.share_by is None
    assert spec.budget_match == "dante"
    for method, alternating in [
        ("dante", True),
        ("dante_momentum", True),
        ("sgd_altmin", True),
        ("sgd", False),
        ("adam", False),
        ("admm", False),
    ]:
        assert MethodSpec(method=method, lr_grid=[0.1]).alternating is alternating
    assert not MethodSpec(
        method="dante", lr_grid=[0.1], overrides={"schedule": "backprop"}
    ).alternating
    monkeypatch.setitem(METHODS, "new_alternating", (None, "sngd", 0.0))  # read from METHODS
    assert MethodSpec(method="new_alternating", lr_grid=[0.1]).alternating
    path = spec_file(lambda d: d.update(selection={"share_by": "dataset_depth"}))
    quick = load_spec(path, quick=True)
    assert quick.selection.share_by == "dataset_depth"  # kept: quick merges key by key
    assert (quick.selection.fraction, quick.selection.keep) == (0.5, 1)


# -- runs on a tiny spec ----------------------------------------------------------------

TINY = {
    "name": "tiny",
    "title": "tiny protocol check",
    "source": "tests",
    "kind": "supervised",
    "datasets": ["digits"],
    "architectures": [[8]],
    "activation": "leaky_relu",
    "output_activation": "leaky_relu",
    "loss": "mse",
    "batch_size": 100,
    "t_sngd": 1,
    "budget_epochs": 6,
    "stopping": {"tol": 1e9, "t_am": 2},  # stops after exactly T_AM rounds
    "methods": {
        "dante": {"method": "dante", "lr_grid": [0.05]},
        "sgd": {"method": "sgd", "lr_grid": [0.1, 0.3], "paper_lr": 0.05, "label": "SGD"},
    },
    "selection": {"fraction": 0.5, "keep": 2, "seeds": 1, "max_extensions": 1},
    "seeds": 1,
}


def _tiny(tmp_path, **changes):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, **changes}))
    return path


def test_stopping_rule_and_budget_matching(tmp_path):
    spec = load_spec(_tiny(tmp_path))
    payload = run_experiment(spec, tmp_path / "out", log=lambda s: None)
    cell = payload["cells"][0]
    n_params = cell["n_params"]
    assert n_params == 64 * 8 + 8 + 8 * 10 + 10
    dante = cell["methods"]["dante"]["runs"][0]
    assert [s["stop_reason"] for s in dante["stages"]] == ["converged"]  # Algorithm 2
    assert dante["stages"][0]["rounds"] == 2  # T_AM rounds with a huge eps
    steps = math.ceil(cell["n_train"] / 100)
    assert dante["weights_updated"] == 2 * n_params * steps  # 2 rounds of 1 epoch per layer
    assert dante["weights_updated"] < cell["budget_weights"]  # the rule stopped it, not the cap
    assert dante["budget"] == {"weights": cell["budget_weights"], "source": "cap"}
    for key in ("sgd", "sgd@paper"):
        sgd = cell["methods"][key]["runs"][0]
        assert sgd["budget"] == {"weights": dante["weights_updated"], "source": "matched:dante"}
        # a backprop step updates every weight: the trainer stops before the step that would
        # exceed the budget, so SGD ends within one step (n_params weights) below DANTE
        assert dante["weights_updated"] - n_params < sgd["weights_updated"]
        assert sgd["weights_updated"] <= dante["weights_updated"]
        assert sgd["weights_updated"] % n_params == 0
    sel = cell["methods"]["sgd"]["selection"]
    assert sel["budget_weights"] == math.ceil(cell["n_train"] * 0.9 / 100) * 6 * n_params
    assert all(r["budget_weights"] == sel["budget_weights"] // 2 for r in sel["rung1"])


def test_units_persist_resume_and_paper_rows(tmp_path, monkeypatch):
    out = tmp_path / "out"
    spec = load_spec(_tiny(tmp_path))
    payload = run_experiment(spec, out, log=lambda s: None)
    cell = payload["cells"][0]
    root = out / "tiny" / "digits__8"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.json")) == [
        "cell.json", "dante/seed0.json", "selection/dante.json", "selection/sgd.json",
        "sgd/seed0.json", "sgd@paper/seed0.json",
    ]  # fmt: skip
    paper = cell["methods"]["sgd@paper"]
    assert paper["paper_rate"] is True and paper["lr"] == 0.05 and paper["selection"] is None
    assert paper["label"] == "SGD (paper rate)" and cell["methods"]["sgd"]["label"] == "SGD"
    tuned = cell["methods"]["sgd"]
    assert tuned["paper_rate"] is False and tuned["lr"] in tuned["lr_grid"]
    assert set(tuned["val_loss_by_lr"]) == {repr(lr) for lr in tuned["lr_grid"]}
    for m in cell["methods"].values():  # today's fields are kept for report.py
        assert {"runs", "mean", "std", "curve", "lr", "lr_grid"} <= set(m)
        run = m["runs"][0]
        assert run["device"].startswith("cpu")
        assert set(run["curve"]) == {"weights_updated", "train_loss", "test_loss", "test_accuracy"}
        assert run["curve_points"] == len(run["curve"]["train_loss"]) >= 3
    # a rerun runs nothing; a lost seed file is the only unit run again
    calls = []
    real = CellRunner.seed_run
    monkeypatch.setattr(CellRunner, "selection_run", lambda *a, **k: pytest.fail("reselected"))
    monkeypatch.setattr(
        CellRunner,
        "seed_run",
        lambda self, m, lr, seed, *a, **k: calls.append(lr) or real(self, m, lr, seed, *a, **k),
    )
    run_experiment(spec, out, log=lambda s: None)
    assert calls == []
    (root / "sgd@paper" / "seed0.json").unlink()
    again = run_experiment(spec, out, log=lambda s: None)
    assert calls == [0.05]
    assert again["cells"][0]["methods"]["sgd"]["runs"] == cell["methods"]["sgd"]["runs"]
    # a changed method spec invalidates that method's units; the matched rows rerun when
    # their budget changes (DANTE at T=2 updates twice the weights), not their selection
    dante2 = {"method": "dante", "lr_grid": [0.05], "overrides": {"t_sngd": 2}}
    changed = load_spec(_tiny(tmp_path, methods={**TINY["methods"], "dante": dante2}))
    monkeypatch.setattr(
        CellRunner,
        "seed_run",
        lambda self, m, lr, seed, *a, **k: (
            calls.append((m.method, lr)) or real(self, m, lr, seed, *a, **k)
        ),
    )
    calls.clear()
    run_experiment(changed, out, log=lambda s: None)
    assert calls == [("dante", 0.05), ("sgd", cell["methods"]["sgd"]["lr"]), ("sgd", 0.05)]


def _width_losses(best_by_width):
    """A stand-in for ``CellRunner.selection_run``: the validation loss is
    ``|log(lr / best)|`` with ``best`` set per first hidden width (no training)."""

    def run(self, mspec, lr, seed, fraction):
        best = best_by_width[self.cell.hidden[0]]
        return {"val_loss": 0.01 + abs(math.log(lr / best))}

    return run


def test_shared_selection_by_dataset_and_depth(tmp_path, monkeypatch):
    # width 8 and 6 have the same best rate, width 5 a three times smaller one
    monkeypatch.setattr(
        CellRunner, "selection_run", _width_losses({8: 0.3, 6: 0.3, 5: 0.1, 4: 0.3})
    )
    path = _tiny(
        tmp_path,
        architectures=[[8], [6], [5], [4, 4]],
        selection={**TINY["selection"], "share_by": "dataset_depth"},
        methods={"sgd": {"method": "sgd", "lr_grid": [0.03, 0.1, 0.3, 1.0]}},
        budget_match=None,
    )
    payload = run_experiment(load_spec(path), tmp_path / "out", log=lambda s: None)
    by_cell = {c["cell"]: c["methods"]["sgd"]["selection"] for c in payload["cells"]}
    assert by_cell["digits__8"]["shared_from"] is None and by_cell["digits__8"]["chosen"] == 0.3
    # the rate transfers to width 6: the check ran its neighbours there, and it ranks first
    six = by_cell["digits__6"]
    assert six["shared_from"] == "digits__8"
    assert six["rung1"] == by_cell["digits__8"]["rung1"]
    check = six["shared_check"]
    assert check["rates"] == [0.1, 0.3, 1.0] and check["transfers"] is True
    assert check["rank"] == 1 == check["source_rank"] and len(check["runs"]) == 3
    # not to width 5 (0.1 ranks first there): that cell selects for itself and finds 0.1
    five = by_cell["digits__5"]
    assert five["shared_from"] is None and five["chosen"] == 0.1
    assert five["shared_check"]["transfers"] is False and five["shared_check"]["rank"] == 2
    assert by_cell["digits__4-4"]["shared_from"] is None  # another depth selects for itself
    assert "shared_check" not in by_cell["digits__4-4"]
    # a rerun runs nothing; a shared trail from before the check gets checked once
    calls = []
    monkeypatch.setattr(
        CellRunner,
        "selection_run",
        lambda self, m, lr, seed, f: calls.append(lr) or {"val_loss": 1.0},
    )
    run_experiment(load_spec(path), tmp_path / "out", log=lambda s: None)
    assert calls == []
    sel_file = tmp_path / "out" / "tiny" / "digits__6" / "selection" / "sgd.json"
    old = json.loads(sel_file.read_text())
    old.pop("shared_check")
    sel_file.write_text(json.dumps(old))
    monkeypatch.setattr(
        CellRunner, "selection_run", _width_losses({8: 0.3, 6: 0.3, 5: 0.1, 4: 0.3})
    )
    again = run_experiment(load_spec(path), tmp_path / "out", log=lambda s: None)
    six = {c["cell"]: c["methods"]["sgd"]["selection"] for c in again["cells"]}["digits__6"]
    assert six["shared_check"]["transfers"] is True and six["shared_from"] == "digits__8"


def test_rerun_flags_write_only_the_out_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec_path = _tiny(tmp_path)
    argv = [
        "reproduce",
        str(spec_path),
        "--only",
        "digits__8",
        "--seeds",
        "2",
        "--seed-offset",
        "3",
        "--out",
        "rerun",
    ]
    assert main(argv) == 0
    assert not (tmp_path / "results").exists() and not (tmp_path / "docs").exists()
    assert not (tmp_path / "rerun" / "RESULTS.md").exists()
    payload = json.loads((tmp_path / "rerun" / "tiny.json").read_text())
    assert payload["seeds"] == [3, 4] and payload["complete"] is True
    cell = payload["cells"][0]
    assert [r["seed"] for r in cell["methods"]["dante"]["runs"]] == [3, 4]
    sel = cell["methods"]["sgd"]["selection"]
    assert sel["rung1_seed"] == 3 and sel["seed_offset"] == 3
    assert {r["seed"] for r in sel["rung2"]} == {3}  # selection.seeds = 1, offset by 3
    # --report-only rebuilds the cell record and the summary from the unit files
    (tmp_path / "rerun" / "tiny.json").unlink()
    (tmp_path / "rerun" / "tiny" / "digits__8.json").unlink()
    assert main([*argv, "--report-only"]) == 0
    rebuilt = json.loads((tmp_path / "rerun" / "tiny.json").read_text())
    assert rebuilt["cells"] == payload["cells"]
    assert (tmp_path / "rerun" / "tiny" / "digits__8.json").exists()
    # the report is written only when asked for
    assert main([*argv, "--report-only", "--results-md", "rerun/RESULTS.md"]) == 0
    assert "## tiny:" in (tmp_path / "rerun" / "RESULTS.md").read_text()
    assert not (tmp_path / "docs").exists()


def test_a_cell_without_its_data_is_skipped_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("DANTE_DATA_DIR", str(tmp_path / "no_data"))
    spec = load_spec(_tiny(tmp_path, datasets=["cifar10", "digits"]))
    payload = run_experiment(spec, tmp_path / "out", log=lambda s: None)
    assert [c["cell"] for c in payload["cells"]] == ["digits__8"]
    assert list(payload["unavailable"]) == ["cifar10__8"] and payload["complete"] is False
    assert "cifar10" in payload["unavailable"]["cifar10__8"]


def test_report_only_keeps_a_summary_from_before_per_unit_files(tmp_path):
    spec = load_spec(_tiny(tmp_path))
    old = {"name": "tiny", "cells": [{"cell": "digits__8", "methods": {}}], "complete": True}
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "tiny.json").write_text(json.dumps(old))
    assert run_experiment(spec, tmp_path / "out", log=lambda s: None, report_only=True) == old
    assert json.loads((tmp_path / "out" / "tiny.json").read_text()) == old


def test_shared_rate_keeps_its_rung1_place_among_its_neighbours():
    from dante.experiments.selection import check_shared_rate

    # on the source cell rung 1 preferred the larger neighbour (short budgets favour
    # large rates) and rung 2 chose 0.1: second of three there
    rung1 = [
        {"lr": lr, "seed": 0, "val_loss": v} for lr, v in [(0.03, 3.0), (0.1, 2.0), (0.3, 1.0)]
    ]
    trail = {"chosen": 0.1, "final_grid": [0.03, 0.1, 0.3], "rung1": rung1, "rung1_seed": 0}
    same = check_shared_rate(trail, lambda lr, seed, f: {0.03: 5, 0.1: 4, 0.3: 3}[lr], 0.25)
    assert same["rank"] == 2 == same["source_rank"] and same["transfers"] is True
    # here the smaller neighbour beats it too: third of three, it does not transfer
    worse = check_shared_rate(trail, lambda lr, seed, f: {0.03: 1, 0.1: 4, 0.3: 3}[lr], 0.25)
    assert worse["rank"] == 3 and worse["transfers"] is False
    # a diverged run ranks last; a rate at the grid's edge has one neighbour
    edge = {**trail, "chosen": 0.3}
    out = check_shared_rate(edge, lambda lr, seed, f: float("nan") if lr == 0.3 else 1.0, 0.25)
    assert out["rates"] == [0.1, 0.3] and out["transfers"] is False
    assert out["runs"][1]["val_loss"] == math.inf
