"""The table of every deviation from the papers, generated from the specs.

One row per deviation: a dataset standing in for the paper's
(``substitutes``), a subset of a dataset (``dataset_options``), the budget
(``budget_epochs``, ``budget_source``, ``budget_by_cell``), the seed plan
(``verdict_cells``, ``other_seeds``: which cells carry verdicts), an architecture the paper does not
state or that differs (``paper_architectures``), the learning-rate selection
(``selection``), the stopping rule (``stopping``), data this copy lacks
(``missing_data``) and free text for the rest (``deviations``). Nothing here
is typed by hand, so the table cannot drift from what ran.

The spec of an experiment is the one stored with its results
(``payload["spec"]``: what produced the numbers); the four deviation fields
come from the bundled YAML when those results predate them. A bundled spec
without results (e.g. one that needs missing data) is listed from its YAML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from .markdown import markdown_table

__all__ = [
    "DEVIATION_KEYS",
    "budget_text",
    "bundled_yaml",
    "deviation_rows",
    "deviation_section",
    "report_specs",
    "seed_plan_text",
]

#: The spec fields that only describe deviations (overlaid from the YAML on old results).
DEVIATION_KEYS = ("substitutes", "paper_architectures", "deviations", "missing_data")

#: Methods that alternate over blocks (run under DANTE's stopping rule).
_ALTERNATING = ("dante", "sgd_altmin")


def _arch(hidden: Iterable[int]) -> str:
    return "-".join(str(h) for h in hidden)


def _archs(archs: Iterable[Iterable[int]]) -> str:
    return "; ".join(_arch(h) for h in archs)


def _our_architectures(spec: Mapping[str, Any]) -> list[tuple[int, ...]]:
    """Every hidden-size list a cell of ``spec`` uses, in spec order, once each."""
    out: list[tuple[int, ...]] = []
    by_ds = spec.get("architecture_by_dataset") or {}
    for ds in spec.get("datasets", []):
        for hidden in by_ds.get(ds, spec.get("architectures", [])):
            if tuple(hidden) not in out:
                out.append(tuple(hidden))
    return out


def _our_architectures_text(spec: Mapping[str, Any]) -> str:
    by_ds = spec.get("architecture_by_dataset") or {}
    if not by_ds:
        return f"hidden {_archs(_our_architectures(spec))}"
    parts = [
        f"{ds} {_archs(by_ds.get(ds, spec.get('architectures', [])))}"
        for ds in spec.get("datasets", [])
    ]
    return "hidden: " + "; ".join(parts)


def _selection_text(spec: Mapping[str, Any]) -> str:
    sel = spec.get("selection")
    if isinstance(sel, Mapping):
        text = (
            f"successive halving on a {sel.get('val_fraction', 0.1):.0%} validation split: "
            f"rung 1 every rate at {sel.get('fraction', 0.25):.0%} of the budget (one seed), "
            f"the best {sel.get('keep', 3)} at the full budget on {sel.get('seeds', 3)} seeds"
        )
        if sel.get("extend_edges", True):
            text += f"; a winning edge is extended up to {sel.get('max_extensions', 4)} steps"
        if sel.get("share_by") == "dataset_depth":
            text += (
                "; one selection shared by every cell of the same dataset, depth and "
                "variant (the first cell run selects) where the rate transfers (it ranks "
                "among its grid neighbours at rung 1 no worse than where it was chosen; "
                "else the cell selects on its own)"
            )
    else:  # results of the runner before PROTOCOL.md
        text = (
            f"one run per rate (seed 0) at {spec.get('lr_budget_fraction', 0.5):.0%} of the "
            f"budget on a {spec.get('val_fraction', 0.1):.0%} validation split; the lowest "
            "final validation loss wins"
        )
    paper_rates = [
        f"{k} {m['paper_lr']:g}"
        for k, m in (spec.get("methods") or {}).items()
        if isinstance(m, Mapping) and m.get("paper_lr") is not None
    ]
    if paper_rates:
        text += "; the paper's rates also run as 'paper rate' rows (" + ", ".join(paper_rates)
        text += ")"
    return text


def budget_text(spec: Mapping[str, Any], what: str = " of weights updated") -> str:
    """``20 backprop-epoch equivalents of weights updated`` and, with
    ``budget_by_cell``, the cells' own budgets (``; 10 on mnist__400-200, ...``)."""
    text = f"{spec.get('budget_epochs', 0):g} backprop-epoch equivalents{what}"
    by_budget: dict[float, list[str]] = {}
    for name, epochs in (spec.get("budget_by_cell") or {}).items():
        by_budget.setdefault(float(epochs), []).append(name)
    for epochs, names in by_budget.items():
        text += f"; {epochs:g} on {', '.join(names)}"
    return text


def seed_plan_text(spec: Mapping[str, Any]) -> str | None:
    """Which cells run how many seeds and which carry verdicts; ``None`` when every
    cell runs ``seeds``."""
    from .verdicts import MIN_SEEDS

    seeds, other = int(spec.get("seeds", 5)), spec.get("other_seeds")
    names = list(spec.get("verdict_cells") or [])
    if not names or other is None or int(other) == seeds:
        return None
    text = f"{seeds} seeds on the verdict cells {', '.join(names)}; "
    text += f"{int(other)} on every other cell"
    if int(other) < MIN_SEEDS <= seeds:
        text += f" (means only: 'too few seeds' for a verdict below {MIN_SEEDS})"
    return text


def _alternating(spec: Mapping[str, Any]) -> list[str]:
    return [
        k
        for k, m in (spec.get("methods") or {}).items()
        if isinstance(m, Mapping) and str(m.get("method", "")).startswith(_ALTERNATING)
    ]


def deviation_rows(name: str, spec: Mapping[str, Any], *, ran: bool = True) -> list[list[str]]:
    """The deviations of one spec: rows ``[experiment, aspect, ours, paper]``.

    Parameters
    ----------
    name : str
        The experiment's name.
    spec : mapping
        The spec as a dict (``ExperimentSpec.model_dump()`` or the ``spec``
        stored with the results).
    ran : bool, default=True
        Whether there are results (``False``: only the missing-data and
        free-text rows describe it).
    """
    rows: list[list[str]] = []

    def row(aspect: str, ours: str, paper: str) -> None:
        rows.append([name, aspect, ours, paper])

    missing = spec.get("missing_data")
    if missing:
        sets = ", ".join(missing["datasets"])
        row(
            "missing data",
            f"not run: needs the official files of {sets} (under $DANTE_DATA_DIR); "
            f"then `{missing['command']}`",
            sets,
        )
    if spec.get("not_run"):
        row(
            "status",
            f"no summary yet: `dante reproduce {name}` runs it or resumes a partial run "
            "(the rows below are its spec's)",
            "-",
        )
    datasets = list(spec.get("datasets", []))
    if ran:
        for ours, theirs in (spec.get("substitutes") or {}).items():
            if ours in datasets:
                row("data", f"{ours} stands in for {theirs}", theirs)
        for ds, opts in (spec.get("dataset_options") or {}).items():
            if ds not in datasets or not isinstance(opts, Mapping):
                continue
            for key, what in (("n_train", "training"), ("n_test", "test")):
                if opts.get(key) is not None:
                    row(
                        "size",
                        f"{ds}: {int(opts[key]):,} {what} examples (seeded stratified subset)",
                        f"full {what} set",
                    )
        source = spec.get("budget_source") or "not stated"
        row(
            "budget",
            budget_text(spec, f" of weights updated (batch {spec.get('batch_size')})"),
            source,
        )
        plan = seed_plan_text(spec)
        if plan:
            row("seeds", plan, "not stated")
        ours_archs = _our_architectures(spec)
        paper_archs = spec.get("paper_architectures")
        if paper_archs is None:
            row("architecture", _our_architectures_text(spec), "not stated")
        elif [tuple(h) for h in paper_archs] != ours_archs:
            row("architecture", _our_architectures_text(spec), f"hidden {_archs(paper_archs)}")
        row("selection", _selection_text(spec), "the best rate per method; protocol not stated")
        stopping = spec.get("stopping")
        alternating = _alternating(spec)
        if isinstance(stopping, Mapping):
            match = spec.get("budget_match")
            text = f"eps = {stopping['tol']:g}, T_AM = {stopping['t_am']}"
            if match:
                text += (
                    f"; the other methods stop at the weights updated {match} used on the same seed"
                )
            row("stopping", text, "Algorithm 2's eps and T_AM; values not printed in the paper")
        elif alternating:
            row(
                "stopping",
                "none: alternation stopping off (tol = 0), every method spends the whole budget",
                "Algorithm 2's eps and T_AM; values not printed in the paper",
            )
    for text in spec.get("deviations") or []:
        row("other", text, "-")
    return rows


def bundled_yaml(name: str) -> dict[str, Any] | None:
    """The raw YAML of a bundled spec (``None`` when there is none)."""
    from .spec import _config_dir

    path = _config_dir() / f"{name}.yaml"
    if not path.exists():
        return None
    raw = yaml.safe_load(path.read_text())
    return raw if isinstance(raw, dict) else None


def report_specs(payloads: Iterable[Mapping[str, Any]]) -> list[tuple[str, dict[str, Any], bool]]:
    """``(name, spec, ran)`` for every experiment of ``payloads`` and every bundled spec.

    The stored spec of a payload is used, with :data:`DEVIATION_KEYS` taken
    from the bundled YAML where the stored spec lacks them; a bundled spec
    whose data is missing is listed from its YAML with ``ran=False``; any
    other bundled spec without a payload is listed from the validated spec
    (every row it will have once run) with ``"not_run": True`` in it, which
    adds a "status" row.
    """
    from .spec import list_experiments, load_spec

    out: list[tuple[str, dict[str, Any], bool]] = []
    seen = set()
    for payload in payloads:
        name = payload["name"]
        spec = dict(payload.get("spec") or {})
        missing = [k for k in DEVIATION_KEYS if k not in spec]
        if missing:
            raw = bundled_yaml(name) or {}
            spec.update({k: raw[k] for k in missing if k in raw})
        out.append((name, spec, True))
        seen.add(name)
    for name in list_experiments():
        if name not in seen:
            raw = bundled_yaml(name)
            if raw is not None and raw.get("missing_data"):
                out.append((name, raw, False))
            elif raw is not None:
                out.append((name, {**load_spec(name).model_dump(), "not_run": True}, True))
    return out


def deviation_section(payloads: Iterable[Mapping[str, Any]]) -> list[str]:
    """Markdown lines: the heading, a sentence and the table of every deviation."""

    rows = [
        r for name, spec, ran in report_specs(payloads) for r in deviation_rows(name, spec, ran=ran)
    ]
    lines = [
        "## Deviations from the papers",
        "",
        "Generated from the experiment specs (`src/dante/experiments/configs/*.yaml`, as stored "
        "with each result): one row per deviation. Paper: `001_1787bf99fca4a9f2.txt` (and "
        "`000_16cd8e47eb5a686b.txt` where a spec cites it).",
        "",
    ]
    if not rows:
        return [*lines, "None.", ""]
    return [*lines, *markdown_table(["experiment", "aspect", "ours", "paper"], rows), ""]
