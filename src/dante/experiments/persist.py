"""Per-unit result files of a reproduction and the records assembled from them.

Layout under the results folder ``<out>`` (``docs/PROTOCOL.md`` section 4)::

    <out>/<name>/<cell>/cell.json               the cell's sizes and budget cap
    <out>/<name>/<cell>/selection/<method>.json the selection trail, run by run
    <out>/<name>/<cell>/<row>/seed<k>.json      one seed of one row
    <out>/<name>/<cell>.json                    the cell record (assembled)
    <out>/<name>.json                           the summary (assembled)

``<row>`` is a method key of the spec, or ``<key>@paper`` for the paper-rate
row of a method with ``paper_lr``. Every file is written atomically as soon as
its unit finishes. A unit carries the hash of the spec fields it depends on
(:func:`unit_hash`), so a rerun skips it only when those fields are unchanged;
a seed also records its rate and budget, which must match the current ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..reporting import write_json
from .spec import PAPER_SUFFIX, ExperimentSpec
from .training import CURVE_KEYS, Cell

__all__ = [
    "CellStore",
    "Row",
    "assemble_cell",
    "budget_for",
    "method_rows",
    "spec_hash",
    "unit_hash",
]

#: Final metrics summarised over seeds (mean, std).
SUMMARY_KEYS = ("train_loss", "test_loss", "test_accuracy", "svm_accuracy", "wall_seconds")

#: Spec fields every run of a cell depends on (text fields, the paper's numbers,
#: the seed count and plan and the other cells' fields are left out on purpose;
#: ``budget_epochs`` is replaced by the cell's own).
_RUN_FIELDS = (
    "kind", "activation", "output_activation", "loss", "batch_size", "t_sngd",
    "budget_epochs", "selection", "stopping", "budget_match",
)  # fmt: skip


class Row:
    """One row of a cell: a method at its selected rate, or at the paper's rate."""

    def __init__(self, key: str, base: str, paper: bool) -> None:
        self.key, self.base, self.paper = key, base, paper

    def __repr__(self) -> str:
        return f"Row({self.key!r})"


def method_rows(spec: ExperimentSpec) -> list[Row]:
    """The rows of every cell in spec order; ``<key>@paper`` after ``<key>``."""
    rows = []
    for key, m in spec.methods.items():
        rows.append(Row(key, key, False))
        if m.paper_lr is not None:
            rows.append(Row(key + PAPER_SUFFIX, key, True))
    return rows


def budget_for(store: CellStore, row: Row, seed: int, cap: int) -> dict[str, Any]:
    """The weights-updated budget of ``row`` on ``seed`` and why (PROTOCOL.md section 3).

    Alternating methods, the ``budget_match`` method itself, and every method
    of a spec without ``budget_match`` get the ``cap``. Any other method gets
    what ``budget_match``'s row used on the same seed; when that seed has no
    such run (missing or diverged), the cap, recorded as ``cap:unmatched``.

    Returns
    -------
    dict
        ``{"weights": int, "source": "cap" | "matched:<key>" | "cap:unmatched"}``.
    """
    spec = store.spec
    match = spec.budget_match
    if spec.methods[row.base].alternating or match is None or row.key == match:
        return {"weights": cap, "source": "cap"}
    done = store.seed(Row(match, match, False), seed)
    if done is None or done.get("weights_updated") is None:
        return {"weights": cap, "source": "cap:unmatched"}
    return {"weights": int(done["weights_updated"]), "source": f"matched:{match}"}


def spec_hash(spec: ExperimentSpec) -> str:
    """Hash of the whole spec (recorded with the assembled records)."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]


def unit_hash(spec: ExperimentSpec, cell: Cell, method: str, *, shared: bool = False) -> str:
    """Hash of what a unit of ``method`` in ``cell`` depends on.

    The common run fields of the spec (with the cell's own ``budget_epochs``),
    the cell's dataset (with its options), architecture and variant, and the
    method's own spec; not the other methods, the seed count or seed plan
    (``seeds``, ``verdict_cells``, ``other_seeds``), the other cells' budgets or
    the text. ``shared``: a shared selection's hash, with the
    depth of the network in place of its widths.
    """
    dump = spec.model_dump()
    common = {k: dump[k] for k in _RUN_FIELDS}
    common["budget_epochs"] = cell.budget_epochs  # the cell's own (``budget_by_cell``)
    basis = {
        **common,
        "dataset": cell.dataset,
        "dataset_options": spec.dataset_options.get(cell.dataset, {}),
        "hidden": len(cell.hidden) if shared else cell.hidden,
        "variant": sorted(cell.variant.items()),
        "method": spec.methods[method].model_dump(exclude={"label"}),
    }
    text = json.dumps(basis, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read(path: Path) -> dict[str, Any] | None:
    """A unit file, or ``None`` when missing or unreadable (a unit to redo)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class CellStore:
    """The unit files of one cell under ``<out>/<name>/``."""

    def __init__(self, out_dir: str | Path, spec: ExperimentSpec, cell: Cell) -> None:
        self.base = Path(out_dir) / spec.name
        self.root = self.base / cell.slug
        self.spec, self.cell = spec, cell

    @property
    def meta_path(self) -> Path:
        return self.root / "cell.json"

    @property
    def record_path(self) -> Path:
        return self.base / f"{self.cell.slug}.json"

    def selection_path(self, method: str) -> Path:
        return self.root / "selection" / f"{method}.json"

    def seed_path(self, row: str, seed: int) -> Path:
        return self.root / row / f"seed{seed}.json"

    def meta(self) -> dict[str, Any] | None:
        return _read(self.meta_path)

    def cap(self, meta: dict[str, Any]) -> int:
        """The cell's weights-updated cap at its current budget, from the sizes in
        ``meta`` (``cell.json``; its ``budget_weights`` may be from an older budget)."""
        return self.cell.cap(int(meta["n_params"]), int(meta["n_train"]))

    def selection(self, method: str, seed_offset: int) -> dict[str, Any] | None:
        """The trail of ``method`` when its hash and seed offset are current."""
        trail = _read(self.selection_path(method))
        if trail is None or trail.get("seed_offset") != seed_offset:
            return None
        shared = self.spec.selection.share_by is not None  # then every trail has the shared hash
        h = unit_hash(self.spec, self.cell, method, shared=shared)
        return trail if trail.get("hash") == h else None

    def seed(self, row: Row, seed: int) -> dict[str, Any] | None:
        """The seed file of ``row`` when its hash is current (rate and budget not checked)."""
        data = _read(self.seed_path(row.key, seed))
        if data is None or data.get("hash") != unit_hash(self.spec, self.cell, row.base):
            return None
        return data

    def write(self, path: Path, data: dict[str, Any]) -> None:
        write_json(path, data)


def _mean_curve(curves: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Seeds' curves averaged point by point (over the shortest)."""
    curves = [c for c in curves if c.get("weights_updated")]
    if not curves:
        return {}
    n = min(len(c["weights_updated"]) for c in curves)
    return {
        k: [float(np.mean([c[k][i] for c in curves])) for i in range(n)]
        for k in CURVE_KEYS
        if all(k in c for c in curves)
    }


def _summary(runs: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    mean, std = {}, {}
    for k in SUMMARY_KEYS:
        vals = [r[k] for r in runs if r.get(k) is not None]
        if vals:
            mean[k] = float(np.mean(vals))
            std[k] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    return mean, std


def assemble_cell(
    store: CellStore, seeds: list[int], seed_offset: int
) -> tuple[dict[str, Any] | None, int]:
    """The cell record from the unit files, and how many units are missing.

    Parameters
    ----------
    store : CellStore
    seeds : list of int
        The seeds the record holds.
    seed_offset : int
        Offset of the selection the record uses.

    Returns
    -------
    record : dict or None
        ``None`` unless every unit is on disk. Per row (``methods.<row>``):
        ``method``, ``label``, ``paper_rate``, ``alternating``, ``lr``,
        ``lr_grid`` (the grid the rate was chosen from, extensions included),
        ``spec_grid``, ``edge``, ``val_loss_by_lr`` (rung 1), ``selection``
        (the trail), ``runs`` (the seed rows), ``mean``, ``std``, ``curve``.
    missing : int
    """
    spec = store.spec
    meta = store.meta()
    missing = 0 if meta is not None else 1
    methods: dict[str, Any] = {}
    devices, seconds, images = set(), 0.0, {}
    for row in method_rows(spec):
        mspec = spec.methods[row.base]
        trail = None if row.paper else store.selection(row.base, seed_offset)
        if not row.paper and (trail is None or not trail.get("complete")):
            missing += 1 + len(seeds)
            continue
        runs = [store.seed(row, s) for s in seeds]
        missing += sum(r is None for r in runs)
        if any(r is None for r in runs):
            continue
        lr = mspec.paper_lr if row.paper else trail["chosen"]
        cap = store.cap(meta) if meta else 0
        stale = [
            r for r in runs
            if r.get("lr") != lr or r.get("budget") != budget_for(store, row, r["seed"], cap)
        ]  # fmt: skip
        if stale:
            missing += len(stale)
            continue
        if trail is not None and not trail.get("shared_from"):
            rungs = trail.get("rung1", []) + trail.get("rung2", [])
            seconds += sum(r.get("seconds", 0.0) for r in rungs)
        seconds += sum(r.get("total_seconds", 0.0) for r in runs)
        devices.update(r["device"] for r in runs if r.get("device"))
        if runs[0].get("reconstructions"):
            images[row.key] = runs[0]["reconstructions"]
        mean, std = _summary(runs)
        label = mspec.label or row.base
        methods[row.key] = {
            "method": mspec.method,
            "label": f"{label} (paper rate)" if row.paper else label,
            "paper_rate": row.paper,
            "alternating": mspec.alternating,
            "lr": lr,
            "lr_grid": [lr] if row.paper else trail["final_grid"],
            "spec_grid": [lr] if row.paper else mspec.lr_grid,
            "edge": False if row.paper else bool(trail.get("edge")),
            "val_loss_by_lr": {}
            if row.paper
            else {repr(r["lr"]): r["val_loss"] for r in trail["rung1"]},
            "selection": trail,
            "runs": runs,
            "mean": mean,
            "std": std,
            "curve": _mean_curve([r.get("curve", {}) for r in runs if "error" not in r]),
        }
    if missing:
        return None, missing
    assert meta is not None
    record: dict[str, Any] = {
        **meta,
        "spec_hash": spec_hash(spec),
        "seeds": list(seeds),
        "seed_offset": seed_offset,
        "device": "; ".join(sorted(devices)) or "-",
        "methods": methods,
        "wall_seconds": seconds,
    }
    if images:
        first = next(iter(images.values()))
        record["reconstructions"] = {k: v["images"] for k, v in images.items()}
        record["reconstructions"]["original"] = first["original"]
        record["reconstructions"]["feature_shape"] = first["feature_shape"]
    return record, missing
