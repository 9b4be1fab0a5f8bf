"""Run an experiment spec under the reproduction protocol (``docs/PROTOCOL.md``).

For every cell (dataset x architecture x variant) and every method of the
spec:

1. Selection (:mod:`.selection`): the training part is split once (seed 0,
   stratified) into fit and validation parts (``selection.val_fraction``);
   successive halving picks the rate: every rate of the grid at
   ``selection.fraction`` of the budget on one seed, a grid whose best rate is
   on an edge extended past it, then the ``keep`` best at the full budget on
   ``selection.seeds`` seeds, lowest mean validation loss wins. Selection runs
   use the weights-updated cap. The test set is never looked at. A one-rate
   grid is run without selection; with ``share_by: dataset_depth`` one
   selection serves every cell of the same dataset, depth and variant, on
   each cell whose transfer check it passes (``check_shared_rate``: the rate
   ranks among its grid neighbours at rung 1 here no worse than on the cell
   that chose it); a cell that fails the check selects on its own.
2. Seeds: the chosen rate on seeds ``S .. S+K-1`` on the whole training part,
   scored on the test set. Alternating methods run under DANTE's stopping
   rule (Algorithm 2 of ``001_1787bf99fca4a9f2.txt``) with the spec's
   ``stopping`` and the cap ``budget_epochs``; every other method gets, per
   seed, the weights that ``budget_match``'s method used on that seed (so
   that method runs first in each cell). A method with ``paper_lr`` also gets
   the row ``<key>@paper`` at that rate, without selection.
3. Persistence (:mod:`.persist`): every selection run and every seed is
   written at once under ``<out>/<name>/<cell>/``; a rerun skips the units
   whose hash, rate and budget are current, so an interrupted run resumes at
   the first missing unit. The cell record ``<out>/<name>/<cell>.json`` and
   the summary ``<out>/<name>.json`` are assembled from the unit files.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..data import DatasetNotAvailableError
from ..reporting import write_json
from ..run_folder import RunFolder, RunFolderBusy
from .persist import CellStore, Row, assemble_cell, budget_for, method_rows, unit_hash
from .selection import check_shared_rate, successive_halving
from .spec import ExperimentSpec
from .training import Cell, CellRunner, cells, device_label

__all__ = ["Cell", "run_cell", "run_experiment"]


class _CellJob:
    """The units of one cell: selections, then seeds, each skipped when done."""

    def __init__(
        self,
        cell: Cell,
        out_dir: Path,
        seeds: list[int],
        seed_offset: int,
        log: Callable[[str], None],
        device: str,
    ) -> None:
        self.cell, self.spec, self.seeds, self.offset = cell, cell.spec, seeds, seed_offset
        self.store = CellStore(out_dir, cell.spec, cell)
        self.out_dir, self.log, self.device = out_dir, log, device
        self._runner: CellRunner | None = None

    @property
    def runner(self) -> CellRunner:
        """The cell's data and networks, loaded at the first unit that needs them."""
        if self._runner is None:
            self._runner = CellRunner(self.cell, self.device)
            meta = self._runner.meta()
            if self.store.meta() != meta:
                self.store.write(self.store.meta_path, meta)
        return self._runner

    def _header(self) -> dict[str, Any]:
        return {"device": device_label(self.device)}

    def select(self, key: str) -> dict[str, Any]:
        """The selection trail of method ``key`` (run, resumed, reused or shared)."""
        spec, store = self.spec, self.store
        mspec = spec.methods[key]
        path = store.selection_path(key)
        done = store.selection(key, self.offset)
        shared = spec.selection.share_by == "dataset_depth"
        if done is not None and done.get("complete"):
            if not done.get("shared_from") or "shared_check" in done:
                return done
            done = None  # shared before the transfer check existed: check it now
        check = (done or {}).get("shared_check")  # a failed check, own selection under way
        if shared and check is None:
            for other in cells(spec):
                if other.slug == self.cell.slug or other.share_key != self.cell.share_key:
                    continue
                trail = CellStore(self.out_dir, spec, other).selection(key, self.offset)
                if trail is None or not trail.get("complete") or trail.get("shared_from"):
                    continue
                check = check_shared_rate(
                    trail,
                    lambda lr, seed, fraction: self.runner.selection_run(mspec, lr, seed, fraction),
                    spec.selection.fraction,
                    log=self.log,
                )
                check["source"] = other.slug
                verdict = "transfers" if check["transfers"] else "does not transfer"
                self.log(
                    f"  [{self.cell.slug}] {key}: rate {trail['chosen']:g} of {other.slug} "
                    f"{verdict} (rank {check['rank']} here, {check['source_rank']} there)"
                )
                if check["transfers"]:
                    trail = {**trail, "shared_from": other.slug, "shared_check": check}
                    store.write(path, trail)
                    return trail
                break
        head = {
            "method": key,
            "cell": self.cell.slug,
            "hash": unit_hash(spec, self.cell, key, shared=shared),
            "seed_offset": self.offset,
            "val_fraction": spec.selection.val_fraction,
            "shared_from": None,
            **self._header(),
        }
        if check is not None:  # the shared rate did not transfer: this cell selects
            head["shared_check"] = check
        if len(mspec.lr_grid) > 1:
            self.log(f"  [{self.cell.slug}] {key}: selecting from {mspec.lr_grid}")
            head["budget_weights"] = self.runner.cap(len(self.runner.split()[0]))
        trail = successive_halving(
            mspec.lr_grid,
            lambda lr, seed, fraction: self.runner.selection_run(mspec, lr, seed, fraction),
            spec.selection,
            seed_offset=self.offset,
            done=done,
            save=lambda t: store.write(path, {**head, **t}),
            log=self.log,
        )
        return {**head, **trail}

    def run_row(self, row: Row) -> None:
        """Selection (unless a paper-rate row), then every missing seed of ``row``."""
        spec, store = self.spec, self.store
        mspec = spec.methods[row.base]
        lr = mspec.paper_lr if row.paper else self.select(row.base)["chosen"]
        h = unit_hash(spec, self.cell, row.base)
        cap = store.cap(store.meta() or self.runner.meta())
        for seed in self.seeds:
            budget = budget_for(store, row, seed, cap)
            done = store.seed(row, seed)
            if done is not None and done.get("lr") == lr and done.get("budget") == budget:
                continue
            images = spec.kind == "reconstruction" and seed == self.seeds[0]
            out = self.runner.seed_run(mspec, lr, seed, budget["weights"], images=images)
            out = {"method": row.key, "hash": h, "budget": budget, **out, **self._header()}
            store.write(store.seed_path(row.key, seed), out)
            result = (
                f"error: {out['error']}"
                if "error" in out
                else ", ".join(
                    f"{k}={out[k]:.4g}"
                    for k in ("test_loss", "test_accuracy", "svm_accuracy")
                    if out.get(k) is not None
                )
            )
            self.log(
                f"  [{self.cell.slug}] {row.key} seed {seed}: lr={lr:g} "
                f"weights={out.get('weights_updated')} ({budget['source']}) {result}"
            )

    def run(self) -> dict[str, Any] | None:
        """Run every missing unit, then assemble and write the cell record."""
        rows = method_rows(self.spec)
        first = [r for r in rows if r.key == self.spec.budget_match]
        for row in first + [r for r in rows if r not in first]:
            self.run_row(row)
        return self.assemble()

    def assemble(self) -> dict[str, Any] | None:
        """The cell record from the unit files (written when complete), else ``None``."""
        record, missing = assemble_cell(self.store, self.seeds, self.offset)
        if record is None:
            self.log(f"  [{self.cell.slug}] {missing} unit(s) missing")
            return None
        self.store.write(self.store.record_path, record)
        return record


def run_cell(
    cell: Cell,
    out_dir: str | Path,
    log: Callable[[str], None] = print,
    device: str = "cpu",
    *,
    seeds: list[int] | None = None,
    seed_offset: int = 0,
    report_only: bool = False,
) -> dict[str, Any] | None:
    """Run (or only assemble, with ``report_only``) one cell; its record or ``None``.

    Parameters
    ----------
    cell : Cell
    out_dir : path
    log : callable, default=print
    device : str, default="cpu"
    seeds : list of int, optional
        Default: ``seed_offset .. seed_offset + n - 1``, ``n`` the cell's seed count
        (``spec.seeds``, or ``other_seeds`` off the ``verdict_cells``).
    seed_offset : int, default=0
        Offset of the seeds and of the selection's seeds.
    report_only : bool, default=False
        Run nothing: assemble the record from the unit files on disk.
    """
    if seeds is None:
        seeds = list(range(seed_offset, seed_offset + cell.n_seeds))
    job = _CellJob(cell, Path(out_dir), seeds, seed_offset, log, device)
    return job.assemble() if report_only else job.run()


def run_experiment(
    spec: ExperimentSpec,
    out_dir: str | Path,
    *,
    log: Callable[[str], None] = print,
    only: str | None = None,
    device: str = "cpu",
    report_only: bool = False,
    seed_offset: int = 0,
) -> dict[str, Any]:
    """Run the cells of ``spec`` and write the summary ``<out>/<name>.json``.

    The summary holds every cell of the spec whose units are all on disk
    (also those run earlier or by another process), so a reproduction can be
    split into parts (``only=``) that run one after the other or side by side.

    Parameters
    ----------
    spec : ExperimentSpec
    out_dir : path
        Results folder; units go to ``<out>/<name>/<cell>/``.
    only : str, optional
        Run only this cell (its name, e.g. ``mnist__400-200``; a name without
        its variant part selects every variant).
    device : str, default="cpu"
        Torch device of every run.
    report_only : bool, default=False
        Run nothing; only assemble the records from the unit files. A summary
        whose spec has no unit files at all in ``out_dir`` (written before
        per-unit persistence) is returned unchanged rather than emptied.
    seed_offset : int, default=0
        Run seeds ``seed_offset .. seed_offset + n - 1``, ``n`` the cell's seed
        count (``spec.seeds`` on the ``verdict_cells``, ``other_seeds`` on the
        rest); the selection's seeds are offset by the same amount.

    Returns
    -------
    dict
        The summary: ``name``, ``title``, ``source``, ``spec``, ``cells`` (the
        complete cell records in spec order), ``complete``, ``missing`` (cell
        -> units missing), ``unavailable`` (cell -> why its data could not be
        loaded in this run; the other cells still run), ``seeds`` (of the verdict
        cells), ``seeds_by_cell`` (cell -> seed count), ``seed_offset``,
        ``wall_seconds``, ``last_run_seconds``.
    """
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    everything = cells(spec)
    want = None if only is None else only.rstrip("_")  # "mnist__600__" means "mnist__600"
    chosen = [
        c for c in everything if want is None or c.slug == want or c.slug.startswith(want + "__")
    ]
    if not chosen:
        raise ValueError(
            f"no cell of {spec.name!r} matches {only!r}; its cells: "
            + ", ".join(c.slug for c in everything)
        )
    seeds = list(range(seed_offset, seed_offset + spec.seeds))

    def seeds_of(c: Cell) -> list[int]:
        return list(range(seed_offset, seed_offset + c.n_seeds))

    plan = f"seeds {seeds[0]}..{seeds[-1]}"
    if any(c.n_seeds != spec.seeds for c in chosen):
        fewer = sum(c.n_seeds != spec.seeds for c in chosen)
        plan += f" ({fewer} cell(s) off the verdict cells: {spec.other_seeds} seed(s))"
    log(f"{spec.name}: {len(chosen)} cell(s), {len(spec.methods)} method(s), {plan}")
    unavailable: dict[str, str] = {}
    if not report_only:
        for c in chosen:
            # each cell is locked while it runs, so processes started side by side on the
            # same spec share its cells instead of running (or mixing) the same one twice
            lock = RunFolder(CellStore(out_dir, spec, c).root)
            try:
                lock.open()
            except RunFolderBusy as exc:
                log(f"  [{c.slug}] skipped, another process is running it: {exc}")
                continue
            try:
                _CellJob(c, out_dir, seeds_of(c), seed_offset, log, device).run()
            except DatasetNotAvailableError as exc:  # the other cells still run
                unavailable[c.slug] = str(exc)
                log(f"  [{c.slug}] skipped, data not available: {exc}")
            finally:
                lock.close()
    summary = out_dir / f"{spec.name}.json"
    if (
        report_only
        and summary.exists()
        and not any(CellStore(out_dir, spec, c).root.is_dir() for c in everything)
    ):  # a folder from before per-unit files: rebuilding would empty its summary
        log(f"  no per-unit files for {spec.name} in {out_dir}: {summary} is left as it is")
        return json.loads(summary.read_text())
    records, missing = [], {}
    for c in everything:
        store = CellStore(out_dir, spec, c)
        record, n = assemble_cell(store, seeds_of(c), seed_offset)
        if record is None:
            missing[c.slug] = n
        else:
            records.append(record)
            store.write(store.record_path, record)
    payload = {
        "name": spec.name,
        "title": spec.title,
        "source": spec.source,
        "spec": copy.deepcopy(spec.model_dump()),
        "cells": records,
        "complete": not missing,
        "missing": missing,
        "unavailable": unavailable,
        "seeds": seeds,
        "seeds_by_cell": {c.slug: c.n_seeds for c in everything},
        "seed_offset": seed_offset,
        "wall_seconds": sum(r.get("wall_seconds", 0.0) for r in records),
        "last_run_seconds": time.perf_counter() - t0,
    }
    write_json(summary, payload)
    return payload
