"""The "Verdicts changed since the 10,000-image runs" section of ``docs/RESULTS.md``.

The first generation of runs trained the MNIST and Fashion-MNIST cells on a
10,000-image subset; their summaries are kept, as they stood at commit
``536988f``, in ``<results>/archive/subset_10k/NAME.json`` (see the README
there). This section re-judges both generations with the *current* verdict
code, side by side:

* **comparisons**: per experiment and cell on both sides (matched by cell
  key), each tuned non-baseline row with a claimed direction (those counting
  in a section's headline; paper-rate and fixed-rate rows excluded) against
  the current spec's baseline on the current metric, for methods on both
  sides (the later SNGD-backprop and Adam rows have no archived counterpart);
* **central claim**: training loss at 25% and 50% of the budget
  (:func:`dante.experiments.verdicts.central_claim`) where both sides record
  per-seed curves (the archived runs record none).

Every cell on both sides is listed, not only the rescaled ones: "rows" gives
each side's training rows (``10,000 → 60,000`` when rerun on full MNIST),
the budget ratio when it changed, and "same runs" for identical per-seed
values. Cells on one side only are not judged but counted under the table.
An archived method without per-seed ``runs`` (or the metric in them) counts
as zero seeds: *too few seeds*. Nothing here calls git or runs anything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import verdicts
from .markdown import markdown_table
from .report_tables import (
    HIGHER_BETTER,
    _claimed_better,
    _diff,
    _paper_row,
    _values,
    is_paper_rate,
    paper_rows,
)

__all__ = ["ARCHIVE_DIR", "change_rows", "changes_section", "load_archive"]

#: where the 10,000-image summaries live, relative to the results folder
ARCHIVE_DIR = "archive/subset_10k"

#: central-claim measures compared (names of :func:`verdicts.central_claim`)
_CLAIM_MEASURES = ("loss@25%", "loss@50%")

_HEADER = ["experiment", "cell", "comparison", "rows", "10,000-image runs: Δ [95%] verdict"]
_HEADER += ["current: Δ [95%] verdict", "changed?"]


def load_archive(folder: str | Path) -> dict[str, dict[str, Any]]:
    """The archived summaries of ``folder/*.json`` by experiment name (unreadable files skipped).

    Parameters
    ----------
    folder : path
        ``<results>/archive/subset_10k``; a missing folder gives ``{}``.

    Returns
    -------
    dict
        ``{name: payload}`` for every payload with a ``name`` and ``cells``.
    """
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
        try:
            payload = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(payload, dict) and "name" in payload and "cells" in payload:
            out[payload["name"]] = payload
    return out


def _scale_text(old: Mapping[str, Any], new: Mapping[str, Any], same: bool) -> str:
    """Training rows of each side (``then → now`` when they differ), the budget ratio, same runs."""
    a, b = (f"{c['n_train']:,}" if c.get("n_train") is not None else "-" for c in (old, new))
    text = a if a == b else f"{a} → {b}"
    wa, wb = old.get("budget_weights"), new.get("budget_weights")
    if wa and wb and wa != wb:
        text += f", budget ×{wb / wa:.3g}"
    return text + (", same runs" if same else "")


def _per_experiment(cells: Sequence[str]) -> str:
    """``"fig2 13, fig5 10"`` from ``["fig2/mnist__250", ...]``."""
    counts = Counter(c.split("/", 1)[0] for c in cells)
    return ", ".join(f"{k} {n}" for k, n in counts.items())


def _side(res: Mapping[str, Any], unit: str) -> str:
    return f"{_diff(res, unit)} {res.get('verdict') or '-'}"


def _row(head: dict[str, str], what: str, old: dict, new: dict, unit: str) -> dict[str, Any]:
    changed = old.get("verdict") != new.get("verdict")
    return {**head, "comparison": what, "old": old, "new": new, "unit": unit, "changed": changed}


def _central_rows(head: dict[str, str], old: Mapping, new: Mapping) -> list[dict[str, Any]]:
    """The central-claim rows of one cell, or ``[]`` when a side lacks what they need."""
    for c in (old, new):
        if "dante" not in c.get("methods", {}) or "sgd" not in c["methods"]:
            return []
        if "budget_weights" not in c:
            return []
    res_old, res_new = verdicts.central_claim(old), verdicts.central_claim(new)
    if res_old["status"] != "ok" or res_new["status"] != "ok":
        return []
    by_old = {m["name"]: m for m in res_old["measures"]}
    by_new = {m["name"]: m for m in res_new["measures"]}
    what = "dante vs sgd, train loss at {}"
    return [
        _row(head, what.format(k[5:]), by_old[k], by_new[k], "train_loss")
        for k in _CLAIM_MEASURES
        if k in by_old and k in by_new
    ]


def change_rows(
    archived: Mapping[str, Mapping[str, Any]], experiments: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Both generations of every shared cell judged by the current code.

    Parameters
    ----------
    archived : mapping
        ``{name: payload}`` of the archived summaries (:func:`load_archive`).
    experiments : sequence of mapping
        The current payloads (``results/<name>.json``).

    Returns
    -------
    rows : list of dict
        ``experiment``, ``cell`` (current label), ``comparison``, ``rows``
        (scale of each side), ``old`` / ``new`` (:func:`verdicts.compare`
        dicts), ``unit`` (the metric), ``changed`` (verdict words differ).
    skipped : dict
        ``{"new": [...], "dropped": [...]}``: ``"name/cell"`` of the cells in
        the current results only, and in the archive only.
    """
    rows: list[dict[str, Any]] = []
    skipped: dict[str, list[str]] = {"new": [], "dropped": []}
    for payload in experiments:
        name = payload.get("name")
        if name not in archived or "spec" not in payload:
            continue
        metric, baseline = payload["spec"]["metric"], payload["spec"]["baseline"]
        higher = metric in HIGHER_BETTER
        paper = paper_rows(payload)
        old_cells = {c["cell"]: c for c in archived[name].get("cells", [])}
        new_keys = {c["cell"] for c in payload.get("cells", [])}
        skipped["dropped"] += [f"{name}/{k}" for k in old_cells if k not in new_keys]
        for cell in payload.get("cells", []):
            old = old_cells.get(cell["cell"])
            if old is None:
                skipped["new"].append(f"{name}/{cell['cell']}")
                continue
            methods, old_methods = cell["methods"], old.get("methods", {})
            base, old_base = methods.get(baseline), old_methods.get(baseline)
            head = {"experiment": name, "cell": cell.get("label", cell["cell"])}
            for key, m in methods.items():
                om = old_methods.get(key)
                if key == baseline or om is None or base is None or old_base is None:
                    continue
                if is_paper_rate(key, m, methods) or is_paper_rate(key, om, old_methods):
                    continue
                claimed = _claimed_better(_paper_row(paper, cell["cell"], key), metric)
                if claimed is None:
                    continue
                pair_old = (_values(om, metric), _values(old_base, metric))
                pair_new = (_values(m, metric), _values(base, metric))
                res_old, res_new = (
                    verdicts.compare(a, b, higher_is_better=higher, claimed_better=claimed)
                    for a, b in (pair_old, pair_new)
                )
                scale = {"rows": _scale_text(old, cell, pair_old == pair_new)}
                what = f"{key} vs {baseline}"
                rows.append(_row({**head, **scale}, what, res_old, res_new, metric))
            rows += _central_rows({**head, "rows": _scale_text(old, cell, False)}, old, cell)
    return rows, skipped


def changes_section(results_dir: str | Path, experiments: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown lines of the section, or ``[]`` without ``<results_dir>/archive/subset_10k``.

    Parameters
    ----------
    results_dir : path
        The results folder; the archive is read from :data:`ARCHIVE_DIR` in it.
    experiments : sequence of mapping
        The current experiment payloads, matched to the archive by ``name``.

    Returns
    -------
    list of str
        A heading, an explanation, the table (one row per comparison), the
        count line ``N comparisons, M changed`` and the cells not judged.
    """
    archived = load_archive(Path(results_dir) / ARCHIVE_DIR)
    if not archived:
        return []
    rows, skipped = change_rows(archived, experiments)
    if not rows and not any(skipped.values()):
        return []
    table = [
        [*(r[k] for k in ("experiment", "cell", "comparison", "rows")), _side(r["old"], r["unit"])]
        + [_side(r["new"], r["unit"]), "**yes**" if r["changed"] else "no"]
        for r in rows
    ]
    n_changed = sum(r["changed"] for r in rows)
    where = (Path(results_dir) / ARCHIVE_DIR).as_posix()
    lines = [
        "## Verdicts changed since the 10,000-image runs",
        "",
        f"The first runs (summaries as of commit `536988f`, kept in `{where}/`: MNIST "
        "and Fashion-MNIST cells on a 10,000-image subset, 10 backprop-epoch equivalents, "
        "each rate chosen on seed 0 at half the budget) re-judged with the current verdict "
        "code beside the current results: each tuned method row with a claimed direction "
        "against the current spec's baseline, on the current metric, for the methods both "
        "sides have, and the central claim (training loss at 25% and 50% of the budget) where "
        "both sides record per-seed curves. Δ is oriented so that positive favours the "
        "method, with its 95% Welch interval over seeds. Every cell on both sides is listed; "
        '"rows" gives the training rows of each side (`then → now` when the cell was '
        'rerun at a new scale) and "same runs" marks identical per-seed values.',
        "",
        *markdown_table(_HEADER, table, escape=False),
        "",
        f"{len(rows)} comparisons, {n_changed} changed.",
        "",
    ]
    notes = [
        f"{len(cells)} cell(s) only in {where} ({_per_experiment(cells)})"
        for where, cells in (
            ("the current results", skipped["new"]),
            ("the archive", skipped["dropped"]),
        )
        if cells
    ]
    if notes:
        lines += [f"Not judged: {'; '.join(notes)}.", ""]
    return lines
