"""The "Verdicts at a glance" section that opens ``docs/RESULTS.md``.

One row per experiment (a table or figure of ``001`` / ``000``) and one per
study (the other seed papers), counted from the same verdicts the sections
below print, so the overview cannot drift from them:

* **tuned rows**: the verdicts of the tuned method rows against the spec's
  baseline (:func:`dante.experiments.verdicts.compare`; paper-rate and
  fixed-rate rows carry no weight, as in each section's headline);
* **central claim**: "DANTE always minimizes the loss faster than SGD"
  (``001_1787bf99fca4a9f2.txt``, Sec. 4.1), the verdicts of the training loss
  at 25% and 50% of the budget over the cells that record per-seed curves
  (:func:`dante.experiments.verdicts.central_claim`);
* **training rows**: the training-set sizes of the cells (a figure still at
  the 10,000-image subset of the first runs shows 10,000; full MNIST 60,000);
* **scale**: full (every cell finished), incomplete (how many cells), not run
  (missing data), or quick mode for a study.

A study's claims are booleans decided by its own code; the row counts them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from . import verdicts
from .report_tables import _comparisons, markdown_table

__all__ = ["glance_section"]

_ORDER = (verdicts.HELD, verdicts.NOT_HELD, verdicts.INCONCLUSIVE, verdicts.TOO_FEW)


def _counts(counter: Counter) -> str:
    parts = [f"{counter[w]} {w}" for w in _ORDER if counter.get(w)]
    parts += [f"{n} {w}" for w, n in sorted(counter.items()) if w not in _ORDER and n]
    return ", ".join(parts) if parts else "-"


def _scale(payload: Mapping[str, Any]) -> str:
    spec = payload.get("spec", {})
    if spec.get("missing_data") and not payload.get("cells"):
        return "not run (data missing)"
    if not payload.get("complete", True):
        total = len(payload.get("cells", [])) + len(payload.get("missing", {}))
        return f"incomplete ({len(payload.get('cells', []))}/{total} cells)"
    return "complete"


def _rows(payload: Mapping[str, Any]) -> str:
    sizes = sorted({int(c["n_train"]) for c in payload.get("cells", []) if "n_train" in c})
    if not sizes:
        return "-"
    return f"{sizes[0]:,}" if len(sizes) == 1 else f"{sizes[0]:,}-{sizes[-1]:,}"


def _central(payload: Mapping[str, Any]) -> str:
    counter: Counter = Counter()
    for cell in payload.get("cells", []):
        if "dante" not in cell.get("methods", {}) or "sgd" not in cell["methods"]:
            continue
        res = verdicts.central_claim(cell)
        if res["status"] != "ok":
            continue
        for m in res["measures"]:
            if m["name"] in ("loss@25%", "loss@50%") and m.get("verdict"):
                counter[m["verdict"]] += 1
    return _counts(counter)


def glance_section(
    experiments: Sequence[Mapping[str, Any]],
    studies: Sequence[Mapping[str, Any]],
    not_run: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """Markdown lines of the overview table (experiments first, then studies).

    Parameters
    ----------
    experiments : sequence of mapping
        Payloads of ``results/<name>.json`` written by the experiment runner.
    studies : sequence of mapping
        Payloads written by :func:`dante.experiments.studies.run_named_study`.
    not_run : sequence of mapping, optional
        ``name``, ``source`` and optionally ``units`` of each bundled
        experiment without a summary file yet: one row each, with the command
        that runs it, "not run yet", or "in progress" with the number of
        per-unit files a partial run has committed (the same command resumes
        from them), so a missing figure shows as a gap, not as nothing.

    Returns
    -------
    list of str
        A heading, one sentence and a markdown table; empty when there is
        nothing to summarise.
    """
    if not experiments and not studies and not not_run:
        return []
    rows = []
    for payload in experiments:
        headline = _comparisons(payload)[1] if payload.get("cells") else Counter()
        rows.append(
            [
                f"[{payload['name']}](#{_anchor(payload)})",
                payload.get("source", "-"),
                _scale(payload),
                _rows(payload),
                _counts(headline),
                _central(payload),
            ]
        )
    for spec in not_run:
        units = int(spec.get("units", 0))
        status = f"in progress ({units} unit files; the command resumes)" if units else ""
        rows.append(
            [
                f"{spec['name']} (`dante reproduce {spec['name']}`)",
                spec.get("source", "-"),
                status or "not run yet",
                "-",
                "-",
                "-",
            ]
        )
    for payload in studies:
        claims = payload.get("claims", [])
        n_held = sum(bool(c.get("holds")) for c in claims)
        rows.append(
            [
                f"[{payload['name']}](#{_anchor(payload)})",
                payload.get("source", "-"),
                "quick mode" if payload.get("quick") else "complete",
                "-",
                f"study: {n_held} of {len(claims)} claims hold" if claims else "-",
                "-",
            ]
        )
    header = [
        "item",
        "source",
        "scale",
        "training rows",
        "tuned rows vs baseline",
        "central claim @25%/50%",
    ]
    return [
        "## Verdicts at a glance",
        "",
        "Counted from the sections below (tuned rows only; the central claim over the cells "
        "with per-seed curves, two measures per cell). *held*: the 95% interval excludes 0 "
        "on the paper's side; *not held*: on the other side; *inconclusive*: it contains 0.",
        "",
        *markdown_table(header, rows, escape=False),
        "",
    ]


def _anchor(payload: Mapping[str, Any]) -> str:
    """GitHub's heading anchor of the payload's section (``## name: title``)."""
    text = f"{payload['name']}: {payload.get('title', '')}".lower()
    keep = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return keep.replace(" ", "-")
