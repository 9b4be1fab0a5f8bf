"""The seed plan and per-cell budgets of a spec (docs/COMPUTE.md's reductions).

``verdict_cells`` run ``seeds`` seeds, the other cells ``other_seeds``; the
3-seed cells report means with "too few seeds" for a verdict, the deviation
table says which cells carry verdicts, and a unit's hash does not depend on the
seed count, so changing it keeps every finished unit. ``budget_by_cell`` gives
some cells their own ``budget_epochs``. A tiny spec: the embedded digits set.
"""

from __future__ import annotations

import json

import pytest
import yaml

from dante.cli import main
from dante.experiments import load_spec, run_experiment
from dante.experiments.deviations import deviation_rows
from dante.experiments.persist import unit_hash
from dante.experiments.report_tables import experiment_section
from dante.experiments.training import cells

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


PLAN = {
    "name": "plan",
    "title": "tiny seed-plan check",
    "source": "tests",
    "kind": "supervised",
    "datasets": ["digits"],
    "architectures": [[8], [4], [4, 4]],
    "loss": "mse",
    "batch_size": 200,
    "t_sngd": 1,
    "budget_epochs": 2,
    "stopping": {"tol": 1e9, "t_am": 1},
    "methods": {  # one rate each: no selection runs, the seed runs are under test
        "dante": {"method": "dante", "lr_grid": [0.05]},
        "sgd": {"method": "sgd", "lr_grid": [0.3]},
    },
    "seeds": 5,
    "verdict_cells": ["digits__8", "digits__4-4"],
    "other_seeds": 3,
    "paper": [
        {
            "cell": "digits__",
            "method": "dante",
            "metric": "test_accuracy",
            "claim": "better",
            "baseline": "sgd",
        }
    ],
}


def _spec_file(tmp_path, **changes):
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump({**PLAN, **changes}))
    return path


def _seed_files(out, cell, row):
    return sorted(p.name for p in (out / "plan" / cell / row).glob("seed*.json"))


def test_verdict_cells_run_seeds_and_the_others_other_seeds(tmp_path):
    spec = load_spec(_spec_file(tmp_path))
    assert [spec.seeds_for(s) for s in spec.cell_names()] == [5, 3, 5]
    out = tmp_path / "out"
    payload = run_experiment(spec, out, log=lambda s: None)
    assert payload["complete"] is True
    assert payload["seeds_by_cell"] == {"digits__8": 5, "digits__4": 3, "digits__4-4": 5}
    by_cell = {c["cell"]: c for c in payload["cells"]}
    assert by_cell["digits__8"]["seeds"] == [0, 1, 2, 3, 4]
    assert by_cell["digits__4"]["seeds"] == [0, 1, 2]
    for key in ("dante", "sgd"):
        assert len(by_cell["digits__4"]["methods"][key]["runs"]) == 3
        assert len(by_cell["digits__4-4"]["methods"][key]["runs"]) == 5
    assert _seed_files(out, "digits__4", "sgd") == ["seed0.json", "seed1.json", "seed2.json"]
    # the report: a verdict on the 5-seed cells only, "too few seeds" on the 3-seed cell
    text = "\n".join(experiment_section(payload, None))
    rows = {
        line.split("|")[1].strip(): line
        for line in text.splitlines()
        if line.startswith("| digits") and "| dante |" in line
    }
    assert "too few seeds" in rows["digits 64-4-10"] and "3/3" in rows["digits 64-4-10"]
    for label in ("digits 64-8-10", "digits 64-4-4-10"):
        assert "too few seeds" not in rows[label] and "5/5" in rows[label]
    assert "5 seeds on the verdict cells digits__8, digits__4-4; 3 on every other cell" in text


def test_changing_a_cells_seed_count_keeps_its_finished_units(tmp_path):
    out = tmp_path / "out"
    first = load_spec(_spec_file(tmp_path, other_seeds=2))
    run_experiment(first, out, log=lambda s: None, only="digits__4")
    seed0 = out / "plan" / "digits__4" / "sgd" / "seed0.json"
    before = seed0.read_text()
    more = load_spec(_spec_file(tmp_path, other_seeds=3))
    cell = next(c for c in cells(more) if c.slug == "digits__4")
    old_cell = next(c for c in cells(first) if c.slug == "digits__4")
    assert unit_hash(more, cell, "sgd") == unit_hash(first, old_cell, "sgd")
    log: list[str] = []
    payload = run_experiment(more, out, log=log.append, only="digits__4")
    ran = [line for line in log if " seed " in line]
    assert len(ran) == 2 and all("seed 2:" in line for line in ran)  # one new seed per method
    assert seed0.read_text() == before
    assert [c["seeds"] for c in payload["cells"]] == [[0, 1, 2]]
    # the verdict cells are a spec choice too: moving them changes no unit's hash
    moved = load_spec(_spec_file(tmp_path, verdict_cells=["digits__4"]))
    cell = next(c for c in cells(moved) if c.slug == "digits__4")
    assert unit_hash(moved, cell, "sgd") == unit_hash(first, old_cell, "sgd")


def test_seeds_flag_overrides_every_cell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [
        "reproduce",
        str(_spec_file(tmp_path)),
        "--only",
        "digits__4",
        "--seeds",
        "2",
        "--out",
        "rerun",
    ]
    assert main(argv) == 0
    payload = json.loads((tmp_path / "rerun" / "plan.json").read_text())
    assert payload["seeds"] == [0, 1]
    assert set(payload["seeds_by_cell"].values()) == {2}
    assert [c["seeds"] for c in payload["cells"]] == [[0, 1]]


@pytest.mark.parametrize(
    ("changes", "patterns"),
    [
        ({"verdict_cells": ["digits__16"]}, ["verdict_cells", "digits__16", "digits__8"]),
        ({"verdict_cells": ["mnist"]}, ["verdict_cells", "'mnist'"]),
        ({"verdict_cells": [], "other_seeds": 3}, ["other_seeds", "verdict_cells"]),
        ({"other_seeds": 0}, ["other_seeds"]),
        ({"budget_by_cell": {"digits__6": 1}}, ["budget_by_cell", "digits__6"]),
        ({"budget_by_cell": {"digits__8": 0}}, ["budget_by_cell", "> 0"]),
    ],
)
def test_unknown_cells_and_bad_plans_name_the_key(tmp_path, changes, patterns):
    with pytest.raises(ValueError) as info:
        load_spec(_spec_file(tmp_path, **changes))
    msg = str(info.value)
    assert msg.startswith("plan.yaml: bad key"), msg
    for p in patterns:
        assert p in msg, msg


def test_cell_names_match_whole_parts():
    spec = load_spec_dict(
        PLAN, variants=[{"t_sngd": 1}, {"t_sngd": 2}], verdict_cells=["digits__4"]
    )
    # 'digits__4' names both variants of digits__4, not digits__4-4
    assert [s for s in spec.cell_names() if spec.is_verdict_cell(s)] == [
        "digits__4__t_sngd=1", "digits__4__t_sngd=2",
    ]  # fmt: skip
    assert load_spec_dict(PLAN, verdict_cells=["digits"]).seeds_for("digits__4") == 5
    plain = load_spec_dict(PLAN, verdict_cells=[], other_seeds=None)
    assert {plain.seeds_for(s) for s in plain.cell_names()} == {5}


def load_spec_dict(base, **changes):
    from dante.experiments.spec import ExperimentSpec

    return ExperimentSpec(**{**base, **changes})


def test_deviation_table_names_the_verdict_cells_and_budgets(tmp_path):
    spec = load_spec(_spec_file(tmp_path, budget_by_cell={"digits__4-4": 1}))
    rows = {r[1]: r for r in deviation_rows("plan", spec.model_dump())}
    seeds = rows["seeds"][2]
    assert seeds.startswith("5 seeds on the verdict cells digits__8, digits__4-4; 3 on every other")
    assert "'too few seeds' for a verdict below 5" in seeds
    assert rows["budget"][2] == (
        "2 backprop-epoch equivalents of weights updated (batch 200); 1 on digits__4-4"
    )
    # no seed row when every cell runs the same seeds
    same = load_spec(_spec_file(tmp_path, other_seeds=None))
    assert "seeds" not in {r[1] for r in deviation_rows("plan", same.model_dump())}


def test_budget_by_cell_sets_that_cells_cap_and_hash_only(tmp_path):
    base = load_spec(_spec_file(tmp_path, selection={"share_by": "dataset_depth"}))
    deep = load_spec(
        _spec_file(
            tmp_path,
            selection={"share_by": "dataset_depth"},
            budget_by_cell={"digits__4-4": 1, "digits__4": 1},
        )
    )
    by = {c.slug: c for c in cells(deep)}
    old = {c.slug: c for c in cells(base)}
    assert [by[s].budget_epochs for s in ("digits__8", "digits__4", "digits__4-4")] == [2, 1, 1]
    assert by["digits__4-4"].cap(100, 1000) == 1 * 100 * 5
    assert by["digits__8"].cap(100, 1000) == 2 * 100 * 5
    # the other cells keep their hash (their finished units stay valid); this one's changes
    assert unit_hash(deep, by["digits__8"], "sgd") == unit_hash(base, old["digits__8"], "sgd")
    assert unit_hash(deep, by["digits__4-4"], "sgd") != unit_hash(base, old["digits__4-4"], "sgd")
    # cells of one depth but different budgets do not share a selection
    assert by["digits__8"].share_key != by["digits__4"].share_key
    assert old["digits__8"].share_key == old["digits__4"].share_key


def test_quick_mode_drops_the_plan_and_the_bundled_specs_validate():
    for name in ("fig2", "fig5", "fig6", "fig7"):
        spec = load_spec(name)
        assert spec.verdict_cells and all(spec.seeds_for(s) in (3, 5) for s in spec.cell_names())
        quick = load_spec(name, quick=True)
        assert quick.verdict_cells == [] and quick.other_seeds is None
        assert quick.budget_by_cell == {}


def test_only_selects_a_cell_and_its_variants_and_lists_the_cells_it_knows(tmp_path):
    spec = load_spec(_spec_file(tmp_path, other_seeds=1))
    out = tmp_path / "out"
    # "digits__4" is not a prefix of "digits__4-4"'s name segments; a trailing "__" is
    # the same selection (it once matched nothing)
    for only in ("digits__4", "digits__4__"):
        payload = run_experiment(spec, out, log=lambda s: None, only=only)
        assert [c["cell"] for c in payload["cells"]] == ["digits__4"]
    with pytest.raises(ValueError, match=r"matches 'digits__5'; its cells: digits__8, digits__4, "):
        run_experiment(spec, out, log=lambda s: None, only="digits__5")
