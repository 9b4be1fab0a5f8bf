"""Figures and ``docs/RESULTS.md`` generated from experiment results.

Nothing here is typed by hand: every number in RESULTS.md comes from the
per-experiment JSON files written by :func:`dante.experiments.run_experiment`
or from the paper numbers recorded in the experiment specs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..reporting import atomic_write_text

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


def _save(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    os.replace(tmp, path)


def plot_experiment(payload: dict[str, Any], fig_dir: str | Path) -> list[Path]:
    """Curves (x = weights updated) per cell, and reconstruction grids."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

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
        fig.tight_layout()
        path = fig_dir / f"{payload['name']}_curves.png"
        _save(fig, path)
        plt.close(fig)
        written.append(path)
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
        fig.tight_layout()
        path = fig_dir / f"{payload['name']}_{cell['cell']}_reconstructions.png"
        _save(fig, path)
        plt.close(fig)
        written.append(path)
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


def write_results_md(results_dir: str | Path, md_path: str | Path) -> Path:
    """Regenerate RESULTS.md from every ``<results_dir>/*.json``."""
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
    for payload in payloads:
        lines += _experiment_section(payload, str(fig_dir))
    atomic_write_text(md_path, "\n".join(lines) + "\n")
    return md_path
