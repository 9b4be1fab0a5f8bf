"""Figures and ``docs/RESULTS.md`` generated from experiment and study results.

Nothing here is typed by hand: every number in RESULTS.md comes from the
per-experiment JSON files written by :func:`dante.experiments.run_experiment`,
from the paper numbers recorded in the experiment specs, or from the study
JSON files written by :func:`dante.experiments.studies.run_named_study`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..reporting import atomic_write_text
from . import plotting
from .study import STUDY_KIND

__all__ = ["plot_experiment", "write_results_md"]

_COLORS = {
    "dante": "tab:blue",
    "sgd": "tab:green",
    "adam": "tab:orange",
    "adagrad": "tab:brown",
    "rmsprop": "tab:pink",
    "momentum": "tab:olive",
    "dante_momentum": "tab:cyan",
    "sgd_altmin": "tab:purple",
    "am_adam": "tab:red",
    "admm": "tab:gray",
}
_HIGHER_BETTER = {"test_accuracy", "svm_accuracy"}


def _color(key: str, i: int) -> str:
    return _COLORS.get(key, f"C{i % 10}")


def plot_experiment(payload: dict[str, Any], fig_dir: str | Path) -> list[Path]:
    """Curves (x = weights updated) per cell, and reconstruction grids."""
    plt = plotting.pyplot()
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    cells = payload["cells"]
    written: list[Path] = []
    keys = [
        k
        for k in ("train_loss", "test_accuracy", "test_loss")
        if any(k in m.get("curve", {}) for c in cells for m in c["methods"].values())
    ]
    if keys:
        fig, axes = plt.subplots(
            len(cells), len(keys), figsize=(4 * len(keys), 2.6 * len(cells)), squeeze=False
        )
        for r, cell in enumerate(cells):
            for c, key in enumerate(keys):
                ax = axes[r][c]
                for i, (mk, m) in enumerate(cell["methods"].items()):
                    curve = m.get("curve", {})
                    if key in curve:
                        ax.plot(
                            curve["weights_updated"],
                            curve[key],
                            color=_color(mk, i),
                            label=f"{mk} (lr {m['lr']:g})",
                        )
                if "loss" in key:
                    ax.set_yscale("log")
                ax.set_title(f"{cell['label']}: {key.replace('_', ' ')}", fontsize=8)
                ax.tick_params(labelsize=7)
                ax.grid(alpha=0.3)
                if r == len(cells) - 1:
                    ax.set_xlabel("weights updated", fontsize=8)
                if c == 0:
                    ax.legend(fontsize=6)
        name = plotting.save_figure(fig, fig_dir, f"{payload['name']}_curves.png", dpi=100)
        written.append(fig_dir / name)
    for cell in cells:
        rec = cell.get("reconstructions")
        if not rec or not rec.get("feature_shape"):
            continue
        shape = tuple(rec["feature_shape"])
        rows = ["original"] + [k for k in rec if k not in ("original", "feature_shape")]
        fig, axes = plt.subplots(
            len(rows),
            len(rec["original"]),
            figsize=(len(rec["original"]) * 0.9, len(rows) * 1.0),
            squeeze=False,
        )
        for r, row in enumerate(rows):
            for c, img in enumerate(rec[row]):
                ax = axes[r][c]
                ax.imshow(np.clip(np.asarray(img).reshape(shape), 0, 1), cmap="gray")
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_ylabel(row, fontsize=7)
        name = f"{payload['name']}_{cell['cell']}_reconstructions.png"
        written.append(fig_dir / plotting.save_figure(fig, fig_dir, name, dpi=100))
    return written


def _pm(stats: dict[str, Any], key: str) -> str:
    mean, std = stats["mean"].get(key), stats["std"].get(key)
    if mean is None:
        return "-"
    digits = 4 if key.endswith("accuracy") else 6
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _better(a: float, b: float, metric: str) -> bool:
    return a > b if metric in _HIGHER_BETTER else a < b


def _experiment_section(payload: dict[str, Any], fig_rel: str) -> list[str]:
    spec = payload["spec"]
    metric = spec["metric"]
    baseline = spec["baseline"]
    lines = [f"## {payload['name']}: {payload['title']}", ""]
    if not payload.get("complete", True):
        n = len(payload["cells"])
        lines += [f"**Incomplete: {n} cell(s) finished so far.**", ""]
    lines.append(
        f"Source: {payload['source']}. Metric: `{metric}` "
        f"({'higher' if metric in _HIGHER_BETTER else 'lower'} is better), mean ± std "
        f"over {spec['seeds']} seed(s); budget {spec['budget_epochs']:g} backprop-epoch "
        f"equivalents of weights updated for every method; batch {spec['batch_size']}; "
        f"wall time {payload['wall_seconds'] / 60:.1f} min."
    )
    devices = sorted({c.get("device", "cpu") for c in payload["cells"]})
    lines += ["", f"Ran on: {'; '.join(devices)}."]
    if spec.get("scaled"):
        lines += ["", f"Scale: {spec['scaled']}"]
    if spec.get("notes"):
        lines += ["", spec["notes"]]
    lines += [
        "",
        "| cell | method | lr (chosen from grid) | ours | baseline "
        f"({baseline}) | paper | paper baseline | holds? | wall s/seed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    paper = spec.get("paper", [])
    for cell in payload["cells"]:
        methods = cell["methods"]
        base = methods.get(baseline)
        for key, m in methods.items():
            if key == baseline:
                continue
            ours = _pm(m, metric)
            base_s = "-"
            if base:
                edge = len(base["lr_grid"]) > 1 and base["lr"] in (
                    min(base["lr_grid"]),
                    max(base["lr_grid"]),
                )
                base_s = (
                    f"{_pm(base, metric)} (lr {base['lr']:g}{', edge of grid' if edge else ''})"
                )
            row = next(
                (p for p in paper if cell["cell"].startswith(p["cell"]) and p["method"] == key),
                None,
            )
            p_val = "-"
            if row and row.get("value") is not None:
                p_val = f"{row['value']:g}"
            elif row and row.get("claim"):
                p_val = f"claim: {row['claim']}"
            p_base = "-"
            if row and row.get("baseline_value") is not None:
                p_base = f"{row['baseline_value']:g}"
            holds = "-"
            mean = m["mean"].get(metric)
            bmean = base["mean"].get(metric) if base else None
            if mean is not None and bmean is not None:
                ours_better = _better(mean, bmean, metric)
                spread = max(m["std"].get(metric, 0.0), base["std"].get(metric, 0.0))
                close = abs(mean - bmean) <= spread
                paper_better = None
                if row and row.get("claim"):
                    paper_better = row["claim"] == "better"
                elif row and row.get("value") is not None and row.get("baseline_value") is not None:
                    paper_better = _better(row["value"], row["baseline_value"], metric)
                if paper_better is not None:
                    holds = "yes" if ours_better == paper_better else "**no**"
                    holds += f" ({key} {'better' if ours_better else 'worse'}"
                    holds += ", within 1 std)" if close else ")"
                else:
                    holds = f"{key} {'better' if ours_better else 'worse'}"
                    holds += " (within 1 std)" if close else ""
            wall = m["mean"].get("wall_seconds")
            grid = ", ".join(f"{x:g}" for x in m["lr_grid"])
            if len(m["lr_grid"]) > 1 and m["lr"] in (min(m["lr_grid"]), max(m["lr_grid"])):
                grid += "; edge of grid"
            lines.append(
                f"| {cell['label']} | {key} | {m['lr']:g} ({grid}) "
                f"| {ours} | {base_s} | {p_val} | {p_base} | {holds} | "
                f"{'-' if wall is None else f'{wall:.2f}'} |"
            )
    figs = sorted(Path(fig_rel).glob(f"{payload['name']}_*.png")) if fig_rel else []
    for f in figs:
        lines += ["", f"![{f.stem}](figures/{f.name})"]
    lines.append("")
    return lines


def _cell(value: Any) -> str:
    """One markdown table cell: numbers to 4 significant digits, NaN/None as '-'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    return _md_text(text).replace("|", "\\|")


def _md_text(text: str) -> str:
    """Plain text for markdown: ``*`` (``w*``, ``A*``) escaped, newlines as spaces."""
    return str(text).replace("*", "\\*").replace("\n", " ")


def _markdown_table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _study_section(payload: dict[str, Any], fig_dir: Path) -> list[str]:
    """A study's section: source, setup, seeds, its rows and its claims as tables, figures."""
    lines = [f"## {payload['name']}: {payload['title']}", ""]
    if payload.get("quick"):
        lines += ["**Quick mode (smoke-test sizes): not a reproduction.**", ""]
    seeds = ", ".join(str(s) for s in payload.get("seeds", []))
    lines += [
        f"Source: {_md_text(payload['source'])}. Seeds: {seeds or '-'}; "
        f"wall time {payload.get('wall_seconds', 0.0) / 60:.1f} min. "
        f"Regenerate: `dante reproduce {payload['name']}`.",
        "",
        f"Setup: {_md_text(payload['setup'])}",
        "",
    ]
    rows = payload.get("rows", [])
    if rows:
        header = list(rows[0])
        header += [k for r in rows for k in r if k not in header]
        lines += _markdown_table(header, [[r.get(k) for k in header] for r in rows]) + [""]
    claims = payload.get("claims", [])
    if claims:
        lines += ["Claims checked:", ""]
        lines += ["| claim | holds | evidence |", "|---|---|---|"]
        lines += [
            f"| {_cell(c['claim'])} | {'yes' if c['holds'] else '**no**'} | "
            f"{_cell(c['evidence'])} |"
            for c in claims
        ]
        lines.append("")
    for name in payload.get("figures", []):
        if (fig_dir / name).exists():
            lines += [f"![{Path(name).stem}](figures/{name})", ""]
    return lines


def write_results_md(results_dir: str | Path, md_path: str | Path) -> Path:
    """Regenerate RESULTS.md from every ``<results_dir>/*.json``.

    DANTE experiments (written by :func:`~dante.experiments.run_experiment`)
    come first, then the studies of the other seed papers (written by
    :func:`~dante.experiments.studies.run_named_study`), each in its own
    section; figures are looked up in the ``figures`` folder next to ``md_path``.
    """
    results_dir, md_path = Path(results_dir), Path(md_path)
    payloads = []
    for p in sorted(results_dir.glob("*.json")):
        try:
            payloads.append(json.loads(p.read_text()))
        except json.JSONDecodeError:
            continue
    lines = [
        "# Reproduction results",
        "",
        "Generated by `dante reproduce` from the JSON files in "
        f'`{results_dir.as_posix()}/`; do not edit by hand. "holds?" compares the direction '
        "of the paper's claim (DANTE better or worse than the baseline) with ours, on the "
        'means; "within 1 std" marks a difference smaller than the larger of the two '
        "seed standard deviations. Learning rates are chosen on a validation split carved from "
        "the training data, never on the test set.",
        "",
    ]
    fig_dir = md_path.parent / "figures"
    studies = [p for p in payloads if p.get("kind") == STUDY_KIND]
    for payload in payloads:
        if payload.get("kind") != STUDY_KIND:
            lines += _experiment_section(payload, str(fig_dir))
    if studies:
        lines += [
            "# Studies of the other seed papers",
            "",
            "Each study checks statements of a paper (theorems, tables, figures) on data it "
            "generates; \"holds\" is decided by the study's code from the numbers in its table, "
            "never by hand. What each algorithm implements and the choices the papers leave "
            "open are in [SHALLOW.md](SHALLOW.md).",
            "",
        ]
    for payload in studies:
        lines += _study_section(payload, fig_dir)
    atomic_write_text(md_path, "\n".join(lines) + "\n")
    return md_path
