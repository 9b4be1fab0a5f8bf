"""One cell of an experiment: its data, networks, budgets and single runs.

A :class:`Cell` is a (dataset, architecture, variant) of a spec; a
:class:`CellRunner` loads the cell's data once and trains one method at one
rate on one seed, on the fit/validation split (selection) or on the whole
training part scored on the test set (the seed runs). The protocol that
decides which runs to make lives in :mod:`.runner` and :mod:`.selection`.

Stopping: an alternating method (:attr:`MethodSpec.alternating`) runs under
DANTE's stopping rule, Algorithm 2 of ``001_1787bf99fca4a9f2.txt`` (alternate
while ``|f_t - f_{t-1}| >= eps`` or ``t < T_AM``) with the spec's
``stopping.tol`` / ``stopping.t_am``, and the weights-updated budget as a cap;
every other method spends its budget (``tol = 0``).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from typing import Any

import numpy as np

from ..config import TrainConfig, make_config
from ..models import MLP, Autoencoder, LayeredNet
from ..trainer import Trainer, TrainResult
from .slim import encode_images
from .spec import ExperimentSpec, MethodSpec, cell_slug

__all__ = ["Cell", "CellRunner", "cells", "curve_of", "device_label"]

#: Evaluation-curve columns kept per seed (those a run has).
CURVE_KEYS = ("weights_updated", "train_loss", "test_loss", "test_accuracy")


class Cell:
    """One (dataset, architecture, variant) of an experiment."""

    def __init__(self, spec: ExperimentSpec, dataset: str, hidden: list[int], variant: dict):
        self.spec, self.dataset, self.hidden, self.variant = spec, dataset, hidden, variant

    @property
    def slug(self) -> str:
        """File-safe name, e.g. ``mnist__400-200__activation=sigmoid``."""
        return cell_slug(self.dataset, self.hidden, self.variant)

    @property
    def share_key(self) -> tuple[str, int, str, float]:
        """(dataset, depth, variant, budget): cells that may share one selection."""
        variant = repr(sorted(self.variant.items()))
        return self.dataset, len(self.hidden), variant, self.budget_epochs

    @property
    def budget_epochs(self) -> float:
        """The cell's ``budget_epochs`` (the spec's, or its ``budget_by_cell`` entry)."""
        return self.spec.budget_for(self.slug)

    @property
    def n_seeds(self) -> int:
        """How many seeds the cell runs (``seeds``, or ``other_seeds`` off the verdict cells)."""
        return self.spec.seeds_for(self.slug)

    def cap(self, n_params: int, n: int) -> int:
        """Weights-updated cap of a network of ``n_params`` weights on ``n`` training
        rows: ``budget_epochs`` backprop epochs at the spec's batch size."""
        return int(self.budget_epochs * n_params * math.ceil(n / self.spec.batch_size))

    def describe(self, d_in: int, d_out: int) -> str:
        """Label in tables: ``mnist 784-100-10 (t_sngd=5)``."""
        arch = "-".join(map(str, [d_in, *self.hidden, d_out]))
        var = ", ".join(f"{k}={v}" for k, v in sorted(self.variant.items()))
        return f"{self.dataset} {arch}" + (f" ({var})" if var else "")


def cells(spec: ExperimentSpec) -> list[Cell]:
    """The cells of ``spec`` in spec order (datasets, architectures, variants)."""
    return [Cell(spec, ds, hidden, variant) for ds, hidden, variant in spec.cell_keys()]


def device_label(device: str) -> str:
    """The device in words: ``cuda (NVIDIA H200)`` or ``cpu (2 cores, 2 torch threads)``."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def curve_of(result: TrainResult) -> dict[str, list[float]]:
    """A run's evaluation points as columns (``weights_updated``, ``train_loss``, ...)."""
    hist = result.history
    return {k: [float(r[k]) for r in hist] for k in CURVE_KEYS if hist and k in hist[0]}


def _split_validation(X, y, fraction: float, classification: bool):
    from sklearn.model_selection import train_test_split

    strat = y if classification else None
    idx = np.arange(len(X))
    fit_idx, val_idx = train_test_split(idx, test_size=fraction, random_state=0, stratify=strat)
    ysel = (lambda i: None) if y is None else (lambda i: y[i])
    return X[fit_idx], ysel(fit_idx), X[val_idx], ysel(val_idx)


class CellRunner:
    """Data and single runs of one cell.

    Parameters
    ----------
    cell : Cell
    device : str, default="cpu"
        Torch device of every run.
    """

    def __init__(self, cell: Cell, device: str = "cpu") -> None:
        from .. import data as data_mod

        self.cell, self.spec, self.device = cell, cell.spec, device
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
        self.n_params = int(sum(p.numel() for p in self.model(0).parameters()))
        self._split: tuple | None = None

    def meta(self) -> dict[str, Any]:
        """What the cell record says about the cell (no run needed)."""
        return {
            "cell": self.cell.slug,
            "label": self.cell.describe(self.d_in, self.d_out),
            "dataset": self.cell.dataset,
            "hidden": self.cell.hidden,
            "variant": self.cell.variant,
            "n_train": int(len(self.ds.X_train)),
            "n_test": int(len(self.ds.X_test)),
            "n_params": self.n_params,
            "budget_weights": self.cap(len(self.ds.X_train)),
        }

    # model and config --------------------------------------------------
    def model(self, seed: int) -> LayeredNet:
        """The cell's network with the initial weights of ``seed``."""
        act = self.variant.get("activation", self.spec.activation)
        out_act = self.variant.get("output_activation", self.spec.output_activation)
        if self.autoencoder:
            return Autoencoder([self.d_in, *self.cell.hidden], act, out_act, seed=seed)
        return MLP([self.d_in, *self.cell.hidden, self.d_out], act, out_act, seed=seed)

    def cap(self, n: int) -> int:
        """Weights-updated cap on ``n`` training rows: ``budget_epochs`` backprop
        epochs at the spec's batch size, whatever a method's own batch size."""
        return self.cell.cap(self.n_params, n)

    def config(self, mspec: MethodSpec, lr: float, seed: int, budget: int, n: int) -> TrainConfig:
        """The run's :class:`~dante.TrainConfig`: stopping rule for alternating methods
        (``tol``/``t_am`` of the spec), the whole budget (``tol = 0``) for the others."""
        fields: dict[str, Any] = {
            "loss": self.variant.get("loss", self.spec.loss),
            "batch_size": self.spec.batch_size,
            "t_sngd": self.spec.t_sngd,
        }
        fields.update({k: v for k, v in self.variant.items() if k in ("t_sngd", "batch_size")})
        fields.update(mspec.overrides)
        if mspec.alternating:
            assert self.spec.stopping is not None  # the spec's validator requires it
            stop = {"tol": self.spec.stopping.tol, "t_am": self.spec.stopping.t_am}
        else:
            stop = {"tol": 0.0, "t_am": 1}
        # a hard cap on rounds (for backprop: epochs) the budget always reaches first
        steps_per_epoch = math.ceil(n / fields["batch_size"])
        max_rounds = max(2, math.ceil(budget / (self.n_params * steps_per_epoch)) * 4 + 2)
        return make_config(
            method=mspec.method,
            lr=lr,
            seed=seed,
            max_weights_updated=budget,
            max_alternations=max_rounds,
            device=self.device,
            **stop,
            **fields,
        )

    def train(
        self, mspec: MethodSpec, lr: float, seed: int, X, y, Xt, yt, budget: int
    ) -> TrainResult:
        """One run of ``mspec`` at ``lr`` on ``seed``, evaluated on ``(Xt, yt)``."""
        cfg = self.config(mspec, lr, seed, budget, len(X))
        task = "reconstruction" if self.autoencoder else self.ds.task
        trainer = Trainer(self.model(seed), cfg)
        if self.autoencoder:
            return trainer.fit(X, None, Xt, None, task=task)
        return trainer.fit(X, y, Xt, yt, task=task)

    # selection and seed runs -----------------------------------------------
    def split(self) -> tuple:
        """``(X_fit, y_fit, X_val, y_val)``: the training part split once (seed 0,
        stratified for classification) with ``selection.val_fraction``."""
        if self._split is None:
            self._split = _split_validation(
                self.ds.X_train,
                None if self.autoencoder else self.ds.y_train,
                self.spec.selection.val_fraction,
                self.classification,
            )
        return self._split

    def selection_run(self, mspec: MethodSpec, lr: float, seed: int, fraction: float) -> dict:
        """Train on the fit part with ``fraction`` of its cap; the validation loss.

        Returns
        -------
        dict
            ``val_loss``, ``weights_updated``, ``budget_weights``, ``stop_reason``,
            ``seconds``.
        """
        Xf, yf, Xv, yv = self.split()
        budget = max(1, int(self.cap(len(Xf)) * fraction))
        t0 = time.perf_counter()
        res = self.train(mspec, lr, seed, Xf, yf, Xv, yv, budget)
        return {
            "val_loss": float(res.final["test_loss"]),
            "weights_updated": int(res.budget.weights_updated),
            "budget_weights": budget,
            "stop_reason": [s.get("stop_reason") for s in res.stages],
            "seconds": time.perf_counter() - t0,
        }

    def seed_run(
        self, mspec: MethodSpec, lr: float, seed: int, budget: int, *, images: bool = False
    ) -> dict[str, Any]:
        """Train on the whole training part at ``budget``; final test metrics and curve.

        A diverged run is a row with ``error`` (and no metrics). ``images``: add
        the reconstructions of the first ten test rows (Figure 9).
        """
        ds = self.ds
        t0 = time.perf_counter()
        try:
            res = self.train(mspec, lr, seed, ds.X_train, ds.y_train, ds.X_test, ds.y_test, budget)
        except FloatingPointError as exc:
            return {"seed": seed, "lr": lr, "error": str(exc)}
        curve = curve_of(res)
        out: dict[str, Any] = {
            "seed": seed,
            "lr": lr,
            "train_loss": res.final["train_loss"],
            "test_loss": res.final.get("test_loss"),
            "test_accuracy": res.final.get("test_accuracy"),
            "weights_updated": int(res.budget.weights_updated),
            "wall_seconds": res.budget.wall_seconds,
            "total_seconds": time.perf_counter() - t0,
            "stages": [
                {k: s.get(k) for k in ("name", "rounds", "stop_reason", "weights_start")}
                for s in res.stages
            ],
            "curve": curve,
            "curve_points": len(curve.get("weights_updated", [])),
        }
        if self.spec.kind == "autoencoder_svm":
            out["svm_accuracy"], out["svm_C"] = self._svm_accuracy(res.model, seed)
        if images:
            out["reconstructions"] = self._reconstructions(res.model)
        return out

    def _reconstructions(self, model: LayeredNet) -> dict[str, Any]:
        import torch

        X = np.ascontiguousarray(self.ds.X_test[:10])
        with torch.no_grad():
            dev = next(model.parameters()).device
            images = model(torch.from_numpy(X).to(dev)).cpu().numpy()
        return {  # 8-bit, base64: display precision (dante.experiments.slim)
            "images": encode_images(images),
            "original": encode_images(X),
            "feature_shape": list(self.ds.feature_shape or ()),
        }

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
