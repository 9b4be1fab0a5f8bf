"""Run an experiment spec: learning-rate selection, seeds, equal budgets.

Protocol (the same for every method of a comparison):

1. The dataset's training part is split once (seed 0, stratified for
   classification) into a fit part and a validation part of
   ``val_fraction``.
2. For every learning rate of the method's grid, one run (seed 0) on the fit
   part with ``lr_budget_fraction`` of the budget; the rate with the lowest
   final validation loss is chosen (ties: the smaller rate). The test set is
   never looked at for this choice.
3. With that rate, ``seeds`` runs on the whole training part (seed ``s``
   fixes the initial weights and the minibatch order), each stopped at the
   same budget of weights updated: ``budget_epochs`` epochs of end-to-end
   backprop on the cell's network. DANTE's alternation stopping rule is
   switched off (``tol = 0``) so that every method spends the budget.

Each finished cell is written to ``<out>/<name>/<cell>.json`` at once, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..config import make_config
from ..models import MLP, Autoencoder, LayeredNet
from ..reporting import write_json
from ..trainer import Trainer, TrainResult
from .spec import ExperimentSpec

__all__ = ["Cell", "run_experiment"]

_KEYS = ("train_loss", "test_loss", "test_accuracy", "svm_accuracy", "wall_seconds")


class Cell:
    """One (dataset, architecture, variant) of an experiment."""

    def __init__(self, spec: ExperimentSpec, dataset: str, hidden: list[int], variant: dict):
        self.spec, self.dataset, self.hidden, self.variant = spec, dataset, hidden, variant

    @property
    def slug(self) -> str:
        parts = [self.dataset, "-".join(map(str, self.hidden))]
        parts += [f"{k}={v}" for k, v in sorted(self.variant.items())]
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "__".join(parts))

    def describe(self, d_in: int, d_out: int) -> str:
        arch = "-".join(map(str, [d_in, *self.hidden, d_out]))
        var = ", ".join(f"{k}={v}" for k, v in sorted(self.variant.items()))
        return f"{self.dataset} {arch}" + (f" ({var})" if var else "")


def _cells(spec: ExperimentSpec) -> list[Cell]:
    out = []
    for ds in spec.datasets:
        archs = spec.architecture_by_dataset.get(ds, spec.architectures)
        for hidden in archs:
            for variant in spec.variants:
                out.append(Cell(spec, ds, list(hidden), dict(variant)))
    return out


def _split_validation(X, y, fraction: float, classification: bool):
    from sklearn.model_selection import train_test_split

    strat = y if classification else None
    idx = np.arange(len(X))
    fit_idx, val_idx = train_test_split(idx, test_size=fraction, random_state=0, stratify=strat)
    ysel = (lambda i: None) if y is None else (lambda i: y[i])
    return X[fit_idx], ysel(fit_idx), X[val_idx], ysel(val_idx)


class _CellRunner:
    def __init__(self, cell: Cell, log, device: str = "cpu") -> None:
        from .. import data as data_mod

        self.cell, self.spec, self.log, self.device = cell, cell.spec, log, device
        opts = dict(self.spec.dataset_options.get(cell.dataset, {}))
        self.ds = data_mod.load(cell.dataset, seed=0, **opts)
        self.autoencoder = self.spec.kind in ("autoencoder_svm", "reconstruction")
        self.classification = self.ds.task == "classification" and not self.autoencoder
        self.d_in = self.ds.X_train.shape[1]
        if self.autoencoder:
            self.d_out = self.d_in
        elif self.classification:
            self.d_out = self.ds.n_classes
        else:
            self.d_out = 1 if self.ds.y_train.ndim == 1 else self.ds.y_train.shape[1]
        self.variant = dict(cell.variant)

    # model and config --------------------------------------------------
    def model(self, seed: int) -> LayeredNet:
        act = self.variant.get("activation", self.spec.activation)
        out_act = self.variant.get("output_activation", self.spec.output_activation)
        if self.autoencoder:
            return Autoencoder([self.d_in, *self.cell.hidden], act, out_act, seed=seed)
        return MLP([self.d_in, *self.cell.hidden, self.d_out], act, out_act, seed=seed)

    def budget(self, n: int) -> int:
        """Weights-updated budget: ``budget_epochs`` backprop epochs at the spec's batch
        size, the same for every method of the cell whatever its own batch size."""
        n_params = sum(p.numel() for p in self.model(0).parameters())
        return int(self.spec.budget_epochs * n_params * math.ceil(n / self.spec.batch_size))

    def config(self, method_key: str, lr: float, seed: int, budget: int, n: int):
        mspec = self.spec.methods[method_key]
        fields = {
            "loss": self.variant.get("loss", self.spec.loss),
            "batch_size": self.spec.batch_size,
            "t_sngd": self.spec.t_sngd,
        }
        fields.update({k: v for k, v in self.variant.items() if k in ("t_sngd", "batch_size")})
        fields.update(mspec.overrides)
        steps_per_epoch = math.ceil(n / fields["batch_size"])
        n_params = sum(p.numel() for p in self.model(0).parameters())
        max_rounds = max(2, math.ceil(budget / (n_params * steps_per_epoch)) * 4 + 2)
        return make_config(
            method=mspec.method,
            lr=lr,
            seed=seed,
            max_weights_updated=budget,
            max_alternations=max_rounds,
            tol=0.0,
            t_am=1,
            **fields,
        )

    def train(self, method_key: str, lr: float, seed: int, X, y, Xt, yt, budget: int):
        cfg = self.config(method_key, lr, seed, budget, len(X))
        task = "reconstruction" if self.autoencoder else self.ds.task
        trainer = Trainer(self.model(seed), cfg)
        if self.autoencoder:
            return trainer.fit(X, None, Xt, None, task=task)
        return trainer.fit(X, y, Xt, yt, task=task)

    # protocol -------------------------------------------------------------
    def select_lr(self, method_key: str) -> tuple[float, dict[str, float]]:
        mspec = self.spec.methods[method_key]
        ds = self.ds
        Xf, yf, Xv, yv = _split_validation(
            ds.X_train,
            None if self.autoencoder else ds.y_train,
            self.spec.val_fraction,
            self.classification,
        )
        budget = max(1, int(self.budget(len(Xf)) * self.spec.lr_budget_fraction))
        scores: dict[str, float] = {}
        for lr in mspec.lr_grid:
            if len(mspec.lr_grid) == 1:
                scores[repr(lr)] = float("nan")
                break
            try:
                res = self.train(method_key, lr, 0, Xf, yf, Xv, yv, budget)
                val = res.final["test_loss"]
            except FloatingPointError:
                val = float("inf")
            scores[repr(lr)] = float(val) if math.isfinite(val) else float("inf")
        if len(mspec.lr_grid) == 1:
            return mspec.lr_grid[0], scores
        best = min(mspec.lr_grid, key=lambda lr: (scores[repr(lr)], lr))
        return best, scores

    def run_seed(self, method_key: str, lr: float, seed: int) -> tuple[dict, TrainResult | None]:
        ds = self.ds
        budget = self.budget(len(ds.X_train))
        t0 = time.perf_counter()
        try:
            res = self.train(
                method_key, lr, seed, ds.X_train, ds.y_train, ds.X_test, ds.y_test, budget
            )
        except FloatingPointError as exc:
            return {"seed": seed, "error": str(exc)}, None
        out = {
            "seed": seed,
            "train_loss": res.final["train_loss"],
            "test_loss": res.final.get("test_loss"),
            "test_accuracy": res.final.get("test_accuracy"),
            "weights_updated": res.budget.weights_updated,
            "wall_seconds": res.budget.wall_seconds,
            "total_seconds": time.perf_counter() - t0,
        }
        if self.spec.kind == "autoencoder_svm":
            out["svm_accuracy"], out["svm_C"] = self._svm_accuracy(res.model, seed)
        return out, res

    def _svm_accuracy(self, model: Autoencoder, seed: int) -> tuple[float, float]:
        """Linear SVM on the hidden features (Table 4 of ``001``).

        Features are standardised; ``C`` is chosen by 3-fold cross-validation
        on (at most 3,000 rows of) the training part, then the SVM is refit on
        the whole training part and scored on the test set.
        """
        import torch
        from sklearn.model_selection import GridSearchCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        with torch.no_grad():
            dev = next(model.parameters()).device
            ftr = model.encode(torch.from_numpy(self.ds.X_train).to(dev)).cpu().numpy()
            fte = model.encode(torch.from_numpy(self.ds.X_test).to(dev)).cpu().numpy()
        ytr = self.ds.y_train

        def svm():
            return make_pipeline(
                StandardScaler(), LinearSVC(dual="auto", max_iter=2000, random_state=seed)
            )

        rows = np.random.default_rng(seed).permutation(len(ftr))[:3000]
        grid = GridSearchCV(svm(), {"linearsvc__C": [0.01, 0.1, 1.0, 10.0]}, cv=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # liblinear convergence notes at large C
            grid.fit(ftr[rows], ytr[rows])
            C = float(grid.best_params_["linearsvc__C"])
            final = svm().set_params(linearsvc__C=C).fit(ftr, ytr)
        return float(final.score(fte, self.ds.y_test)), C


def _mean_curve(results: list[TrainResult]) -> dict[str, list[float]]:
    """Average the evaluation curves of several seeds (same eval points)."""
    n = min(len(r.history) for r in results)
    curve: dict[str, list[float]] = {"weights_updated": []}
    for i in range(n):
        curve["weights_updated"].append(
            float(np.mean([r.history[i]["weights_updated"] for r in results]))
        )
    for key in ("train_loss", "test_loss", "test_accuracy"):
        if key in results[0].history[0]:
            curve[key] = [float(np.mean([r.history[i][key] for r in results])) for i in range(n)]
    return curve


def _summary(runs: list[dict]) -> tuple[dict, dict]:
    mean, std = {}, {}
    for k in _KEYS:
        vals = [r[k] for r in runs if r.get(k) is not None]
        if vals:
            mean[k] = float(np.mean(vals))
            std[k] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    return mean, std


def _spec_hash(spec: ExperimentSpec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]


def _device_label(device: str) -> str:
    import os

    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def run_cell(cell: Cell, out_dir: Path, log=print, device: str = "cpu") -> dict[str, Any]:
    """Run (or load, when already done with the same spec) one cell."""
    spec = cell.spec
    path = out_dir / spec.name / f"{cell.slug}.json"
    h = _spec_hash(spec)
    if path.exists():
        done = json.loads(path.read_text())
        if done.get("spec_hash") == h:
            log(f"  [{cell.slug}] already done, skipping")
            return done
    t0 = time.perf_counter()
    runner = _CellRunner(cell, log, device)
    record: dict[str, Any] = {
        "cell": cell.slug,
        "label": cell.describe(runner.d_in, runner.d_out),
        "dataset": cell.dataset,
        "hidden": cell.hidden,
        "variant": cell.variant,
        "n_train": int(len(runner.ds.X_train)),
        "n_test": int(len(runner.ds.X_test)),
        "n_params": int(sum(p.numel() for p in runner.model(0).parameters())),
        "budget_weights": runner.budget(len(runner.ds.X_train)),
        "spec_hash": h,
        "device": _device_label(device),
        "methods": {},
    }
    images = None
    for key, mspec in spec.methods.items():
        lr, scores = runner.select_lr(key)
        runs, results = [], []
        for seed in range(spec.seeds):
            out, res = runner.run_seed(key, lr, seed)
            runs.append(out)
            if res is not None:
                results.append(res)
                if spec.kind == "reconstruction" and seed == 0:
                    images = _reconstructions(res.model, runner.ds.X_test[:10], images, key)
        mean, std = _summary(runs)
        record["methods"][key] = {
            "method": mspec.method,
            "lr_grid": mspec.lr_grid,
            "val_loss_by_lr": scores,
            "lr": lr,
            "runs": runs,
            "mean": mean,
            "std": std,
            "curve": _mean_curve(results) if results else {},
        }
        log(
            f"  [{cell.slug}] {key}: lr={lr} "
            + ", ".join(
                f"{k}={mean[k]:.4g}"
                for k in ("test_loss", "test_accuracy", "svm_accuracy")
                if k in mean
            )
        )
    if images is not None:
        images["original"] = runner.ds.X_test[:10].tolist()
        images["feature_shape"] = list(runner.ds.feature_shape or ())
        record["reconstructions"] = images
    record["wall_seconds"] = time.perf_counter() - t0
    write_json(path, record)
    return record


def _reconstructions(model, X, images, key):
    import torch

    images = images or {}
    with torch.no_grad():
        dev = next(model.parameters()).device
        images[key] = model(torch.from_numpy(np.ascontiguousarray(X)).to(dev)).cpu().tolist()
    return images


def _finished_cells(spec: ExperimentSpec, out_dir: Path) -> list[dict[str, Any]]:
    """Every cell of ``spec`` already on disk with the current spec hash, in spec order."""
    h = _spec_hash(spec)
    records = []
    for cell in _cells(spec):
        path = out_dir / spec.name / f"{cell.slug}.json"
        if path.exists():
            rec = json.loads(path.read_text())
            if rec.get("spec_hash") == h:
                records.append(rec)
    return records


def run_experiment(
    spec: ExperimentSpec,
    out_dir: str | Path,
    *,
    log=print,
    only: str | None = None,
    device: str = "cpu",
    report_only: bool = False,
) -> dict[str, Any]:
    """Run the cells of ``spec`` and write ``<out>/<name>.json``.

    The summary file holds every finished cell of the spec (also those run
    earlier or by another process), so a reproduction can be split into
    parts (``only=``) that run one after the other or side by side.

    Parameters
    ----------
    spec : ExperimentSpec
    out_dir : path
        Results folder; cells go to ``<out>/<name>/``.
    only : str, optional
        Run only this cell (its name, e.g. ``mnist__400-200``; a name without
        its variant part selects every variant).
    device : str, default="cpu"
        Torch device of every run.
    report_only : bool, default=False
        Run nothing; only gather the finished cells.
    """
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    cells = [
        c for c in _cells(spec) if only is None or c.slug == only or c.slug.startswith(only + "__")
    ]
    if not cells:
        raise ValueError(f"no cell of {spec.name!r} matches {only!r}")
    log(f"{spec.name}: {len(cells)} cell(s), {len(spec.methods)} method(s), {spec.seeds} seed(s)")
    if not report_only:
        for c in cells:
            run_cell(c, out_dir, log, device)
    records = _finished_cells(spec, out_dir)
    payload = {
        "name": spec.name,
        "title": spec.title,
        "source": spec.source,
        "spec": copy.deepcopy(spec.model_dump()),
        "cells": records,
        "complete": len(records) == len(_cells(spec)),
        "wall_seconds": sum(r.get("wall_seconds", 0.0) for r in records),
        "last_run_seconds": time.perf_counter() - t0,
    }
    write_json(out_dir / f"{spec.name}.json", payload)
    return payload
