"""The markdown of one experiment's section of ``docs/RESULTS.md``.

Every "holds?" is a verdict of :mod:`dante.experiments.verdicts`: the
difference of means over seeds (oriented so that positive favours the
method) with its 95% Welch interval, and "held", "not held", "inconclusive"
or "too few seeds". The section has the comparison table, the headline
verdict from the tuned rows (paper-rate rows are shown, labelled, without
weight in it), the learning-rate selection trail per cell and the central
claim "DANTE minimizes the loss faster than SGD" per cell.

Records written before PROTOCOL.md (no ``selection`` trail, no per-seed
``curve``) render too: the trail falls back to the grid and the chosen
rate, and the central claim says "no per-seed curves".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import verdicts
from .deviations import budget_text, seed_plan_text
from .markdown import markdown_table, md_text, table_cell
from .report_ablation import ablation_section

__all__ = ["experiment_section", "markdown_table", "md_text", "table_cell"]

HIGHER_BETTER = {"test_accuracy", "svm_accuracy"}
PAPER_SUFFIX = "@paper"
N_BOOT = 10_000


# rows ------------------------------------------------------------------------------
def _digits(metric: str) -> int:
    return 4 if metric.endswith("accuracy") else 6


def _pm(m: Mapping[str, Any], key: str) -> str:
    mean, std = m.get("mean", {}).get(key), m.get("std", {}).get(key)
    if mean is None:
        return "-"
    d = _digits(key)
    return f"{mean:.{d}f} ± {(std or 0.0):.{d}f}"


def _num(x: float, unit: str) -> str:
    """A signed number: a metric's own digits, or 3 significant digits of weights updated."""
    return f"{x:+.3g}" if unit == "weights" else f"{x:+.{_digits(unit)}f}"


def _interval(res: Mapping[str, Any], metric: str, lo: str = "lo", hi: str = "hi") -> str:
    if res.get(lo) is None:
        return "-"
    return f"[{_num(res[lo], metric)}, {_num(res[hi], metric)}]"


def _diff(res: Mapping[str, Any], metric: str) -> str:
    if res.get("diff") is None:
        return "-"
    return f"{_num(res['diff'], metric)} {_interval(res, metric)}"


def is_paper_rate(key: str, m: Mapping[str, Any], methods: Mapping[str, Any]) -> str | None:
    """``"paper rate"`` for a ``<key>@paper`` row, ``"fixed rate"`` for a one-rate row whose
    method is also tuned in the cell (the old Table 2), else ``None``."""
    if m.get("paper_rate") or key.endswith(PAPER_SUFFIX):
        return "paper rate"
    if len(m.get("lr_grid", [])) == 1:
        tuned = [
            k
            for k, o in methods.items()
            if k != key and o.get("method") == m.get("method") and len(o.get("lr_grid", [])) > 1
        ]
        if tuned:
            return "fixed rate"
    return None


def _paper_row(paper: list[Mapping[str, Any]], cell: str, key: str) -> Mapping[str, Any] | None:
    return next(
        (p for p in paper if cell.startswith(p["cell"]) and p["method"] == key),
        None,
    )


def paper_rows(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The paper's numbers and claims: from the bundled spec of that name (they describe the
    paper, not the run, so a claim added later applies to stored results), else the stored
    spec's."""
    from .deviations import bundled_yaml

    raw = bundled_yaml(payload["name"]) or {}
    rows = raw.get("paper")
    return list(rows) if isinstance(rows, list) else list(payload["spec"].get("paper", []))


def _claimed_better(row: Mapping[str, Any] | None, metric: str) -> bool | None:
    if row is None:
        return None
    if row.get("claim"):
        return row["claim"] == "better"
    if row.get("value") is None or row.get("baseline_value") is None:
        return None
    if metric in HIGHER_BETTER:
        return row["value"] > row["baseline_value"]
    return row["value"] < row["baseline_value"]


def _values(m: Mapping[str, Any], metric: str) -> list[float | None]:
    return [r.get(metric) for r in m.get("runs", [])]


def _device(cell: Mapping[str, Any], m: Mapping[str, Any]) -> str:
    devs = sorted({r["device"] for r in m.get("runs", []) if r.get("device")})
    return "; ".join(devs) if devs else str(cell.get("device", "-"))


def _selection(m: Mapping[str, Any]) -> tuple[Any, list[float], bool, str]:
    """``(chosen, final grid, edge, note)`` from the trail, or from the old record."""
    sel = m.get("selection")
    if isinstance(sel, Mapping):
        chosen = sel.get("chosen", m.get("lr"))
        grid = list(sel.get("final_grid") or sel.get("grid") or m.get("lr_grid", []))
        note = str(sel.get("note") or "")
        shared = sel.get("shared_from")
        check = sel.get("shared_check")
        if shared:
            checked = " (transfer checked)" if check else ""
            note = f"shared from {shared}{checked}" + (f"; {note}" if note else "")
        elif check:
            own = f"the rate of {check.get('source')} did not transfer: selected here"
            note = own + (f"; {note}" if note else "")
        if sel.get("extensions"):
            ext = ", ".join(f"{e['lr']:g}" for e in sel["extensions"])
            note = f"extended by {ext}" + (f"; {note}" if note else "")
        return chosen, grid, bool(sel.get("edge")), note
    grid = list(m.get("lr_grid", []))
    lr = m.get("lr")
    edge = len(grid) > 1 and lr in (min(grid), max(grid))
    return lr, grid, edge, ""


# the section -----------------------------------------------------------------------
def _comparisons(payload: Mapping[str, Any]) -> tuple[list[str], Counter, list[str]]:
    spec = payload["spec"]
    metric, baseline = spec["metric"], spec["baseline"]
    higher = metric in HIGHER_BETTER
    paper = paper_rows(payload)
    rows, headline, headline_rows = [], Counter(), []
    for cell in payload["cells"]:
        methods = cell["methods"]
        base = methods.get(baseline)
        for key, m in methods.items():
            if key == baseline:
                continue
            kind = is_paper_rate(key, m, methods)
            prow = _paper_row(paper, cell["cell"], key)
            claimed = _claimed_better(prow, metric)
            res: dict[str, Any] = {}
            if base is not None:
                res = verdicts.compare(
                    _values(m, metric),
                    _values(base, metric),
                    higher_is_better=higher,
                    claimed_better=claimed,
                    n_boot=N_BOOT,
                )
            word = res.get("verdict")
            if word is None:
                holds = f"- ({kind})" if kind else "- (no claim)"
            else:
                holds = word if word != verdicts.NOT_HELD else f"**{word}**"
                if not kind:
                    headline[word] += 1
                    headline_rows.append(f"{cell['label']} {key}: {word}")
            p_val = "-"
            if prow and prow.get("value") is not None:
                p_val = f"{prow['value']:g}"
            elif prow and prow.get("claim"):
                p_val = f"claim: {prow['claim']}"
            p_base = (
                "-"
                if not prow or prow.get("baseline_value") is None
                else (f"{prow['baseline_value']:g}")
            )
            wall = m.get("mean", {}).get("wall_seconds")
            n = f"{res.get('n_method', 0)}/{res.get('n_baseline', 0)}" if res else "-"
            rows.append(
                [
                    cell["label"],
                    key + (f" ({kind})" if kind else ""),
                    f"{m['lr']:g}",
                    _pm(m, metric),
                    "-" if base is None else f"{_pm(base, metric)} (lr {base['lr']:g})",
                    p_val,
                    p_base,
                    n,
                    _diff(res, metric),
                    _interval(res, metric, "boot_lo", "boot_hi"),
                    holds,
                    _device(cell, m),
                    "-" if wall is None else f"{wall:.2f}",
                ]
            )
    header = [
        "cell",
        "method",
        "lr",
        "ours",
        f"baseline ({baseline})",
        "paper",
        "paper baseline",
        "seeds",
        "Δ [95% Welch]",
        "bootstrap 95%",
        "holds?",
        "device",
        "wall s/seed",
    ]
    return markdown_table(header, rows, escape=False), headline, headline_rows


def _selection_table(payload: Mapping[str, Any]) -> list[str]:
    rows = []
    for cell in payload["cells"]:
        for key, m in cell["methods"].items():
            chosen, grid, edge, note = _selection(m)
            if len(grid) <= 1:
                continue  # a fixed rate: nothing was selected
            rows.append(
                [
                    cell["label"],
                    key,
                    "-" if chosen is None else f"{chosen:g}",
                    ", ".join(f"{x:g}" for x in grid),
                    "**edge**" if edge else "no",
                    note or "-",
                ]
            )
    if not rows:
        return []
    intro = (
        "Learning-rate selection (chosen rate, final grid, whether the choice is at an edge of "
        "the grid)"
    )
    if not any(m.get("selection") for c in payload["cells"] for m in c["methods"].values()):
        intro += (
            "; these results carry no selection trail (one seed per rate at a fraction of the "
            "budget, the runner before PROTOCOL.md)"
        )
    return [
        intro + ":",
        "",
        *markdown_table(
            ["cell", "method", "chosen", "final grid", "edge", "note"], rows, escape=False
        ),
        "",
    ]


def _claim_cell(res: Mapping[str, Any], unit: str) -> str:
    word = res.get("verdict") or "-"
    word = f"**{word}**" if word == verdicts.NOT_HELD else word
    text = f"{_diff(res, unit)} {word}"
    if "never_method" in res:
        text += f" (never reached: {res['never_method']}/{res['never_baseline']})"
    return text


def _central_claim(payload: Mapping[str, Any]) -> list[str]:
    cells = [c for c in payload["cells"] if "dante" in c["methods"] and "sgd" in c["methods"]]
    if not cells:
        return []
    head = [
        'Central claim, "DANTE always minimizes the loss faster than SGD" '
        "(`001_1787bf99fca4a9f2.txt`, Sec. 4.1), per cell on the training loss: Δ = SGD - DANTE "
        "(positive favours DANTE) at 25% and 50% of the budget and at the end, and Δ of the "
        "weights updated until each seed first reaches SGD's mean final training loss "
        "(a seed that never does counts as the budget; never reached: DANTE/SGD seeds).",
        "",
    ]
    results = [(c, verdicts.central_claim(c)) for c in cells]
    if all(r["status"] == "no per-seed curves" for _, r in results):
        return [
            *head,
            "No per-seed curves in these results: the claim is not tested here "
            "(the runner of PROTOCOL.md records them).",
            "",
        ]
    rows = []
    for cell, res in results:
        if res["status"] != "ok":
            rows.append([cell["label"], res["status"], "-", "-", "-"])
            continue
        by = {m["name"]: m for m in res["measures"]}
        rows.append(
            [
                cell["label"],
                *(
                    _claim_cell(by[k], "train_loss") if k in by else "-"
                    for k in ("loss@25%", "loss@50%", "final loss")
                ),
                _claim_cell(by["weights to reach"], "weights") if "weights to reach" in by else "-",
            ]
        )
    header = ["cell", "loss at 25%", "loss at 50%", "final loss", "weights to reach"]
    return [*head, *markdown_table(header, rows, escape=False), ""]


def experiment_section(payload: Mapping[str, Any], fig_dir: str | Path | None) -> list[str]:
    """The markdown lines of one experiment (``results/<name>.json``)."""
    spec = payload["spec"]
    metric = spec["metric"]
    lines = [f"## {payload['name']}: {payload['title']}", ""]
    missing = spec.get("missing_data")
    if missing and not payload["cells"]:  # nothing could run: say what it needs and how
        lines += [
            f"**Not run: this copy lacks the data ({', '.join(missing['datasets'])}; "
            f"docs/DATA.md says where the official files go). Once they are present, "
            f"`{missing['command']}` runs it.**",
            "",
        ]
    elif not payload.get("complete", True):
        lines += [f"**Incomplete: {len(payload['cells'])} cell(s) finished so far.**", ""]
    lines.append(
        f"Source: {payload['source']}. Metric: `{metric}` "
        f"({'higher' if metric in HIGHER_BETTER else 'lower'} is better), mean ± std "
        f"over {seed_plan_text(spec) or str(spec['seeds']) + ' seed(s)'}; "
        f"budget {budget_text(spec)}; batch {spec['batch_size']}; "
        f"wall time {payload.get('wall_seconds', 0.0) / 60:.1f} min."
    )
    if spec.get("scaled"):
        lines += ["", f"Scale: {spec['scaled']}"]
    if spec.get("notes"):
        lines += ["", spec["notes"]]
    table, headline, headline_rows = _comparisons(payload)
    lines += ["", *table, ""]
    if headline:
        counts = ", ".join(f"{n} {w}" for w, n in sorted(headline.items()))
        detail = f": {'; '.join(headline_rows)}" if len(headline_rows) <= 3 else ""
        lines += [
            f"Verdict of the tuned rows against `{spec['baseline']}`: {counts}{detail} "
            "(paper-rate and fixed-rate rows do not count).",
            "",
        ]
    lines += _selection_table(payload)
    lines += _central_claim(payload)
    lines += ablation_section(payload, metric in HIGHER_BETTER)
    figs = sorted(Path(fig_dir).glob(f"{payload['name']}_*.png")) if fig_dir else []
    for f in figs:
        lines += [f"![{f.stem}](figures/{f.name})", ""]
    return lines
