"""The one training loop: DANTE, its ablations and the backprop baselines.

Every method is a list of stages (:mod:`dante.schedules`); each stage repeats
a round of blocks; each block is trained by its solver for some epochs of
minibatches with **every other parameter frozen**. For the block in turn the
loop computes the block's inputs once for the whole training set (the frozen
prefix is never recomputed per minibatch) and a minibatch step then costs only
the block and the layers above it. Backprop is the case "one block = the whole
network, one epoch per round", so the baselines go through the same code and
the same budget accounting (weights updated, samples seen, wall time).

The stopping rule is Algorithm 2 of ``000_16cd8e47eb5a686b.txt`` /
``001_1787bf99fca4a9f2.txt``: keep alternating while
``|f_t - f_{t-1}| >= tol`` or ``t < t_am``, where ``f_t`` is the stage's
training loss after round ``t``, with a hard cap ``max_alternations``.
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from ._pages import FAULT_AROUND, PageReleaser
from .checkpoint import (
    check_checkpoint_args,
    load_checkpoint,
    load_solver_state,
    restore_rng,
    restore_trainer,
    save_checkpoint,
    trainer_state,
)
from .config import TrainConfig, make_config
from .distributed import SINGLE, World, check_batch_size, check_parallel_solver
from .fast_step import plan_fast_step
from .losses import Loss, get_loss
from .lr_control import LRControl
from .models import LayeredNet
from .output_solvers import OutputSolver, make_output_solver
from .schedules import Schedule, Stage, default_schedule, get_schedule
from .sngd import SNGD
from .solvers import SolverFactory, StepSolver, check_solver, make_solver
from .validation import as_features, as_targets, check_callbacks, check_lengths

__all__ = ["Budget", "Callback", "NonFiniteLossError", "TrainResult", "Trainer", "fit"]

_EVAL_CHUNK = 8192
_log = logging.getLogger("dante")
_TASKS = ("auto", "classification", "regression", "reconstruction")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN/Inf loss (the step was not taken) or NaN/Inf
    weights (restored to the start of the phase); the weights left are finite."""


@dataclass
class Budget:
    """Work done so far, counted identically for every method.

    Attributes
    ----------
    weights_updated : int
        Sum over steps of the number of parameters the step changed (the
        x-axis of every figure in ``001_1787bf99fca4a9f2.txt``).
    samples_seen : int
        Sum over steps of the minibatch size.
    steps : int
        Solver steps taken.
    wall_seconds : float
        Training time, excluding evaluation, checkpoint writes, building the
        solvers and the process's one-time costs (see :func:`warm_up_torch`),
        so that methods run one after another in one process compare fairly.
    """

    weights_updated: int = 0
    samples_seen: int = 0
    steps: int = 0
    wall_seconds: float = 0.0


class Callback:
    """Hooks called by :class:`Trainer`; override what you need."""

    def on_phase_start(self, trainer: Trainer, stage: Stage, block: tuple[int, ...]) -> None:
        """Before a block's phase (after its inputs are cached)."""

    def on_step(self, trainer: Trainer, loss: torch.Tensor) -> None:
        """After each solver step."""

    def on_phase_end(self, trainer: Trainer, stage: Stage, block: tuple[int, ...]) -> None:
        """After a block's last epoch."""

    def on_evaluate(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """After each evaluation point is recorded."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """When :meth:`Trainer.fit` returns or raises (flush and close files here)."""


@dataclass
class TrainResult:
    """What a run produced.

    Attributes
    ----------
    model : LayeredNet
        The trained model (the same object that was passed in).
    config : TrainConfig
    history : list of dict
        One record per evaluation point: ``stage``, ``round``, ``block``,
        ``epoch``, ``weights_updated``, ``samples_seen``, ``steps``,
        ``wall_seconds``, ``train_loss`` and, where available, ``test_loss``,
        ``test_accuracy``, ``train_accuracy``.
    stages : list of dict
        Per stage: ``name``, ``rounds``, ``stop_reason``, ``losses`` (``f_t``).
    budget : Budget
    """

    model: LayeredNet
    config: TrainConfig
    history: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    budget: Budget = field(default_factory=Budget)

    @property
    def final(self) -> dict[str, Any]:
        """The last evaluation record."""
        return self.history[-1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no tensors)."""
        final = self.final
        out = {
            "config": self.config.model_dump(),
            "train_loss": final["train_loss"],
            "test_loss": final.get("test_loss"),
            "test_accuracy": final.get("test_accuracy"),
            "weights_updated": self.budget.weights_updated,
            "samples_seen": self.budget.samples_seen,
            "steps": self.budget.steps,
            "wall_seconds": self.budget.wall_seconds,
            "stages": self.stages,
            "curves": self.history,
        }
        return out


class _BudgetExhausted(Exception):
    pass


class _Data:
    """Validated tensors of one split, on the device.

    ``X`` shares memory with the caller's float32 array where possible (a
    memory map is never copied whole); ``pages`` releases the mapped pages
    as they are read (see :mod:`dante._pages`).
    """

    def __init__(
        self,
        X: torch.Tensor,
        T: torch.Tensor,
        labels: torch.Tensor | None,
        pages: PageReleaser | None = None,
    ) -> None:
        self.X, self.T, self.labels = X, T, labels
        self.pages = pages or PageReleaser(None)


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


_WARM_DEVICES: set[str] = set()


def warm_up_torch(device: str | torch.device = "cpu") -> None:
    """Pay torch's one-time costs once per process and device, off every clock.

    The first ``torch.optim.Optimizer`` built in a process imports
    ``torch._dynamo`` (about 1.5 s on a 2-core CPU), and the first backward
    pass and optimizer step on a device start autograd's device thread and the
    BLAS handles. Whichever method ran first in a process used to pay all of
    it inside ``Budget.wall_seconds`` (``dante train`` reported DANTE 2.59 s
    against SGD 0.044 s for the same weights updated). :meth:`Trainer.fit`
    calls this before its clock starts; later calls on a warm device return at
    once. It draws no random numbers and leaves no state behind.

    Parameters
    ----------
    device : str or torch.device, default="cpu"
        The device whose first use is paid here.
    """
    dev = torch.device(device)
    key = str(dev)
    if key in _WARM_DEVICES:
        return
    w = torch.ones(2, 2, device=dev, requires_grad=True)
    x = torch.ones(3, 2, device=dev)
    for opt in (torch.optim.SGD([w], lr=0.0), SNGD([w], lr=1e-3)):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.linear(x, w).square().mean().backward()
        opt.step()
    _WARM_DEVICES.add(key)


def _share(a: np.ndarray) -> torch.Tensor:
    """``torch.from_numpy`` without a copy, also for read-only memory maps
    (the trainer never writes into its inputs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(a)


def _layer_state(layer: torch.nn.Module) -> tuple[bool, list[torch.Tensor]]:
    """A copy of what a layer's forward depends on: its mode, parameters, buffers."""
    return layer.training, [t.detach().clone() for t in (*layer.parameters(), *layer.buffers())]


def _same_state(layer: torch.nn.Module, state: tuple[bool, list[torch.Tensor]]) -> bool:
    """Whether the layer is bitwise as :func:`_layer_state` copied it."""
    training, saved = state
    now = (*layer.parameters(), *layer.buffers())
    return (
        layer.training == training
        and len(now) == len(saved)
        and all(
            a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)
            for a, b in zip(now, saved)
        )
    )


class Trainer:
    """Runs one method (DANTE, an ablation or a baseline) on one model.

    Parameters
    ----------
    model : LayeredNet
        A :class:`~dante.MLP` or :class:`~dante.Autoencoder`.
    config : TrainConfig, optional
        Hyper-parameters; keyword ``overrides`` are applied on top.
    schedule : str or Schedule, optional
        Overrides the config's schedule (an object such as
        ``RoundRobin(order="input_first")``).
    solver : str or callable, optional
        Overrides the config's solver; a callable ``params -> Optimizer``
        plugs in any torch optimizer.
    callbacks : sequence of Callback, optional
    world : dante.distributed.World, optional
        Train data-parallel over these processes (``batch_size`` is then the
        global minibatch, a multiple of ``world.size``); see
        :mod:`dante.distributed`. Default: one process.
    checkpoint : str or path, optional
        Checkpoint file (see :mod:`dante.checkpoint`): written atomically every
        ``checkpoint_every`` minibatch steps and when the run completes.
    checkpoint_every : int, optional
        Steps (solver steps, ``Budget.steps``) between checkpoints; ``None``:
        only the final one.
    resume : bool, default=False
        Continue from ``checkpoint`` when the file exists (start afresh when it
        does not, so the same call serves the first start and every restart).
        The resumed run ends with the same weights, bit for bit, as one never
        interrupted. Without ``resume`` an existing checkpoint is an error.
    **overrides
        Fields of :class:`TrainConfig`.
    """

    def __init__(
        self,
        model: LayeredNet,
        config: TrainConfig | None = None,
        *,
        schedule: str | Schedule | None = None,
        solver: str | SolverFactory | None = None,
        callbacks: Sequence[Callback] = (),
        world: World | None = None,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int | None = None,
        resume: bool = False,
        **overrides: Any,
    ) -> None:
        if not isinstance(model, LayeredNet):
            raise TypeError(
                f"model must be a dante.MLP or dante.Autoencoder, got {type(model).__name__}"
            )
        self.config = make_config(config, **overrides)
        cfg = self.config
        self.model = model
        self.loss: Loss = get_loss(cfg.loss)
        self.solver = check_solver(solver if solver is not None else cfg.resolved_solver)
        if schedule is not None:
            self.schedule = get_schedule(schedule)
        elif cfg.preset_schedule is not None:
            kwargs: dict[str, Any] = {}
            if cfg.preset_schedule in ("round_robin", "alternating"):
                kwargs = {"order": cfg.order}
            elif cfg.preset_schedule == "greedy_pairs":
                kwargs = {
                    "reading": cfg.reading,
                    "finetune_epochs": cfg.finetune_epochs,
                    "pair_order": cfg.pair_order,
                    "finetune_lr": cfg.finetune_lr,
                    "pair_max_rounds": cfg.pair_max_rounds,
                }
            self.schedule = get_schedule(cfg.preset_schedule, **kwargs)
        else:
            sched = default_schedule(model)
            if hasattr(sched, "reading"):
                sched = get_schedule(
                    "greedy_pairs",
                    reading=cfg.reading,
                    finetune_epochs=cfg.finetune_epochs,
                    pair_order=cfg.pair_order,
                    finetune_lr=cfg.finetune_lr,
                    pair_max_rounds=cfg.pair_max_rounds,
                )
            else:
                sched = get_schedule("round_robin", order=cfg.order)
            self.schedule = sched
        self.stages: list[Stage] = self.schedule.stages(model)
        self.world = SINGLE if world is None else world
        if not isinstance(self.world, World):
            raise TypeError(f"world must be a dante.distributed.World, got {world!r}")
        self._check_world()
        self.callbacks = check_callbacks(callbacks)
        self.device = torch.device(cfg.device)
        self.budget = Budget()
        self.history: list[dict[str, Any]] = []
        self._optimizers: dict[tuple[str, tuple[int, ...]], torch.optim.Optimizer] = {}
        self._generator = torch.Generator().manual_seed(cfg.seed)
        self._epoch = 0
        self._eval_seconds = 0.0
        self._checkpoint = check_checkpoint_args(checkpoint, checkpoint_every, resume)
        self._checkpoint_every = checkpoint_every
        self._resume_from = self._checkpoint if resume else None
        #: seconds each checkpoint write took (not counted in ``Budget.wall_seconds``)
        self.checkpoint_seconds: list[float] = []
        self._checkpoint_step: int | None = None  # steps at the last checkpoint written
        #: ``Budget.steps`` of the checkpoint this run resumed from (``None``: a fresh start)
        self.resumed_from_step: int | None = None
        # where the loop is: what a checkpoint records and a resume skips to
        self._pos: dict[str, Any] = {"stage": 0, "round": 1, "block": 0, "epoch": 0, "batch": 0}
        self._epoch_rng = self._generator.get_state()
        self._resume: dict[str, Any] | None = None
        self._pending_states: dict[tuple[str, tuple[int, ...]], dict[str, Any]] = {}
        self._lr_control = LRControl(cfg.lr_schedule, cfg.lr_schedule_options, cfg.lr)
        self._horizon = 1  # rounds the current stage can make (the cosine schedule's horizon)

    def _check_world(self) -> None:
        """Reject, before any work, what a data-parallel run cannot do exactly."""
        if self.world.size == 1:
            return
        if self.config.output_solver is not None:
            raise ValueError(
                f"output_solver={self.config.output_solver!r} solves the output layer on all "
                f"rows in one process and cannot run data-parallel (world size "
                f"{self.world.size}); leave output_solver=None"
            )
        check_batch_size(self.config.batch_size, self.world.size)
        for spec in {self.solver, *(s.solver for s in self.stages if s.solver is not None)}:
            check_parallel_solver(spec, self.world.size)

    # ------------------------------------------------------------------ data
    def _prepare(
        self, X: Any, y: Any, X_test: Any, y_test: Any, task: str, min_classes: int = 1
    ) -> tuple[_Data, _Data | None, bool]:
        from .validation import check_classes, check_no_targets

        if task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {task!r}")
        model = self.model
        check_no_targets(model, y, y_test)
        Xn = as_features(X, "X", model.in_features)
        if task == "auto":
            if y is None:
                task = "reconstruction"
            elif self.config.loss == "cross_entropy":
                task = "classification"
            else:
                y_arr = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
                integral = np.issubdtype(y_arr.dtype, np.integer) or y_arr.dtype == np.bool_
                task = "classification" if integral else "regression"
        classification = task == "classification"
        if task == "reconstruction":
            if y is not None:
                raise ValueError("task='reconstruction' takes no y (the target is X itself)")
            if model.out_features != model.in_features:
                raise ValueError(
                    f"reconstruction needs out_features == in_features, got "
                    f"{model.out_features} vs {model.in_features}"
                )
        elif y is None:
            raise ValueError(f"task={task!r} needs targets y (pass y=None only for autoencoders)")
        if task in ("regression", "reconstruction") and self.config.loss == "cross_entropy":
            raise ValueError(f"loss='cross_entropy' needs class labels; use loss='mse' for {task}")
        n_out = model.out_features
        n_classes = n_out if n_out > 1 else 2
        if self.config.batch_size > len(Xn):
            raise ValueError(
                f"batch_size={self.config.batch_size} is larger than the training set "
                f"({len(Xn)} samples); choose batch_size <= {len(Xn)}"
            )

        def split(Xa: np.ndarray, ya: Any, xname: str, yname: str) -> _Data:
            pages = PageReleaser(Xa)
            if task == "reconstruction":
                Xt = _share(Xa).to(self.device)
                return _Data(Xt, Xt, None, pages)
            yn = as_targets(
                ya, yname, classification=classification, n_classes=n_classes, n_outputs=n_out
            )
            check_lengths(Xa, yn, xname, yname)
            Xt = _share(Xa).to(self.device)
            yt = torch.from_numpy(yn).to(self.device)
            T = self.loss.prepare_targets(yt, n_out, classification)
            return _Data(Xt, T, yt if classification else None, pages)

        train = split(Xn, y, "X", "y")
        test = None
        if X_test is not None:
            Xtn = as_features(X_test, "X_test", model.in_features)
            if task != "reconstruction" and y_test is None:
                raise ValueError("X_test was given without y_test")
            test = split(Xtn, y_test, "X_test", "y_test")
        elif y_test is not None:
            raise ValueError("y_test was given without X_test")
        if classification and min_classes > 1:
            check_classes(train.labels)  # dante.fit: one class leaves nothing to classify
        return train, test, classification

    # ------------------------------------------------------------ evaluation
    def _pages_of(self, H: torch.Tensor) -> PageReleaser:
        for data in (self._train, self._test):
            if data is not None and H is data.X:
                return data.pages
        return PageReleaser(None)

    @torch.no_grad()
    def _outputs(self, H: torch.Tensor, path: Sequence[int]) -> torch.Tensor:
        """``forward_path`` over all rows, in chunks, into one preallocated
        tensor (no list of chunks and no second copy from ``cat``)."""
        if len(H) <= _EVAL_CHUNK:
            return self.model.forward_path(H, path)
        pages = self._pages_of(H)
        first = self.model.forward_path(H[:_EVAL_CHUNK], path)
        out = first.new_empty((len(H), *first.shape[1:]))
        out[:_EVAL_CHUNK] = first
        for i in range(_EVAL_CHUNK, len(H), _EVAL_CHUNK):
            part = H[i : i + _EVAL_CHUNK]
            out[i : i + _EVAL_CHUNK] = self.model.forward_path(part, path)
            pages.tick(part.nbytes)
        pages.release()
        return out

    @torch.no_grad()
    def _block_inputs(self, src: torch.Tensor, prefix: Sequence[int]) -> torch.Tensor:
        """``_outputs(src, prefix)``, sharing the frozen prefix's work across phases.

        The outputs after every layer of the last prefix computed from ``src``
        are kept (with a copy of those layers' parameters and buffers) while
        they fit ``cache_memory_gb`` beside each other. A phase whose prefix
        starts with layers that are bitwise unchanged since then starts from
        the stored output of the longest such run instead of from ``src``: a
        round-robin sweep from the output block down (``0..4`` for block 5,
        then ``0..3`` for block 4, ...) computes the prefix's layers once per
        round instead of once per phase, and an input-first sweep adds one
        layer per phase. Each row goes through the same layers, chunk for
        chunk (``_EVAL_CHUNK`` rows, the same boundaries), so the values are
        those of ``_outputs``.
        """
        path = tuple(prefix)
        layers = self.model.layers
        cache = self.__dict__.setdefault("_prefix_cache", {})
        entry = cache.pop(id(src), None)  # dropped unless it is stored again below
        keep = 0
        if entry is not None and entry["src"] is src and entry["version"] == src._version:
            for j, li in enumerate(path[: len(entry["path"])]):
                if entry["path"][j] != li or not _same_state(layers[li], entry["state"][j]):
                    break
                keep = j + 1
        outs = entry["outs"][:keep] if entry else []
        states = entry["state"][:keep] if entry else []
        entry = None  # frees the stale outputs before new ones are made
        rest = path[keep:]
        if rest:
            held = sum(t.nbytes for e in cache.values() for t in e["outs"])
            widths = [layers[li].linear.out_features for li in rest]
            need = sum(t.nbytes for t in outs) + len(src) * sum(widths) * src.element_size()
            if held + need > self._cache_limit():  # not all of them: the final one only
                return self._outputs(outs[-1] if outs else src, rest)
            base = outs[-1] if outs else src
            outs = outs + self._outputs_each(base, rest)
            states = states + [_layer_state(layers[li]) for li in rest]
        cache[id(src)] = {
            "src": src,
            "version": src._version,
            "path": path,
            "outs": outs,
            "state": states,
        }
        return outs[-1]

    def _outputs_each(self, H: torch.Tensor, path: Sequence[int]) -> list[torch.Tensor]:
        """The output after each layer of ``path``, computed as :meth:`_outputs`
        computes the last one (the same chunks, layer after layer)."""
        layers = self.model.layers
        if len(H) <= _EVAL_CHUNK:
            outs = []
            h = H
            for li in path:
                h = layers[li](h)
                outs.append(h)
            return outs
        pages = self._pages_of(H)
        outs = []
        for i in range(0, len(H), _EVAL_CHUNK):
            part = H[i : i + _EVAL_CHUNK]
            h = part
            for j, li in enumerate(path):
                h = layers[li](h)
                if not i:
                    outs.append(h.new_empty((len(H), *h.shape[1:])))
                outs[j][i : i + _EVAL_CHUNK] = h
            pages.tick(part.nbytes)
        pages.release()
        return outs

    def _drop_stale_inputs(self, block: tuple[int, ...]) -> None:
        """Free the stored prefix outputs from the first layer of ``block`` on
        (it has just been trained: they can never be reused)."""
        cache = self.__dict__.get("_prefix_cache")
        if not cache:
            return
        for key in list(cache):
            e = cache[key]
            cut = next((j for j, li in enumerate(e["path"]) if li in block), None)
            if cut is None:
                continue
            if cut == 0:
                del cache[key]
            else:
                e["path"], e["outs"], e["state"] = (
                    e["path"][:cut],
                    e["outs"][:cut],
                    e["state"][:cut],
                )

    @torch.no_grad()
    def _split_metrics(
        self, H: torch.Tensor, path: Sequence[int], data: _Data, prefix: str
    ) -> dict[str, float]:
        total = 0.0
        correct = 0
        pages = data.pages if H is data.X else PageReleaser(None)
        lo, hi = self.world.rows(len(H))  # this rank's rows; all of them in one process
        for i in range(lo, hi, _EVAL_CHUNK):
            j = min(i + _EVAL_CHUNK, hi)
            part = H[i:j]
            out = self.model.forward_path(part, path)
            pages.tick(part.nbytes)
            total += float(self.loss.sum(out, data.T[i:j]))
            if data.labels is not None:
                pred = self.loss.predict(out)
                correct += int((pred == data.labels[i:j]).sum())
        pages.release()
        if self.world.size > 1:
            total, correct = self.world.sum(total, correct)
        out_metrics = {f"{prefix}_loss": total / len(H)}
        if data.labels is not None:
            out_metrics[f"{prefix}_accuracy"] = correct / len(H)
        return out_metrics

    def _evaluate(
        self,
        stage: Stage | None,
        round_: int,
        block: tuple[int, ...] | None,
        cache: tuple[torch.Tensor, torch.Tensor | None, tuple[int, ...]] | None,
    ) -> dict[str, Any]:
        """Record model-level metrics; reuse the phase cache when it applies."""
        t0 = time.perf_counter()
        full = tuple(range(self.model.n_layers))
        if cache is not None:
            H_train, H_test, suffix = cache
        else:
            H_train, H_test, suffix = self._train.X, None, full
        record: dict[str, Any] = {
            "stage": stage.name if stage else "init",
            "round": round_,
            "block": list(block) if block else None,
            "epoch": self._epoch,
            **asdict(self.budget),
        }
        record.update(self._split_metrics(H_train, suffix, self._train, "train"))
        if self._test is not None:
            if H_test is None:
                H_test, suffix = self._test.X, full
            record.update(self._split_metrics(H_test, suffix, self._test, "test"))
        self._eval_seconds += time.perf_counter() - t0
        self.history.append(record)
        for cb in self.callbacks:
            cb.on_evaluate(self, record)
        return record

    # -------------------------------------------------------------- training
    def _optimizer_for(
        self, stage: Stage, block: tuple[int, ...], suffix: tuple[int, ...], n: int
    ) -> torch.optim.Optimizer | StepSolver:
        key = (stage.name, block)
        if key not in self._optimizers:
            # building a solver (and loading its resumed state) is set-up, not
            # training: its seconds are kept off Budget.wall_seconds
            t0 = time.perf_counter()
            params = [p for i in block for p in self.model.block_parameters(i)]
            spec = stage.solver or self.solver
            out_solver = None
            if self.config.output_solver is not None and stage.solver is None:
                out_solver = make_output_solver(
                    self.config.output_solver,
                    self.model,
                    block,
                    suffix,
                    self.loss,
                    self.config.output_solver_options,
                )
            if out_solver is not None:
                self._optimizers[key] = out_solver
            else:
                self._optimizers[key] = make_solver(
                    spec,
                    params,
                    lr=stage.lr if stage.lr is not None else self.config.lr,
                    momentum=self.config.resolved_momentum,
                    model=self.model,
                    block=block,
                    suffix=suffix,
                    n_samples=n,
                    loss=self.loss,
                )
            if self.world.size > 1 and isinstance(self._optimizers[key], StepSolver):
                raise ValueError(
                    f"solver {spec!r} returned a StepSolver, which cannot run data-parallel "
                    f"(world size {self.world.size}); use a torch.optim.Optimizer"
                )
            if key in self._pending_states:  # saved by the checkpoint being resumed
                load_solver_state(self._optimizers[key], self._pending_states.pop(key), key)
            self._eval_seconds += time.perf_counter() - t0
        return self._optimizers[key]

    def _set_trainable(self, block: tuple[int, ...] | None) -> None:
        for i, layer in enumerate(self.model.layers):
            flag = block is None or i in block
            for p in layer.parameters():
                p.requires_grad_(flag)

    def _raise_if_diverged(
        self,
        stage: Stage,
        block: tuple[int, ...],
        params: list[torch.Tensor],
        at_start: list[torch.Tensor],
        cause: Exception | None = None,
    ) -> None:
        """If the phase left the block's weights NaN/Inf (a step overflowed
        while the loss it was computed from was still finite), put back their
        values from the start of the phase and raise: a diverged run never
        leaves non-finite weights behind."""
        if bool(torch.stack([torch.isfinite(p).all() for p in params]).all()):
            return
        with torch.no_grad():
            for p, s in zip(params, at_start):
                p.copy_(s)
        note = (
            f"The weights of block {list(block)} had become NaN/Inf by step "
            f"{self.budget.steps}; they are restored to their values at the start of this phase."
        )
        if cause is None:
            note += f" Lower lr (now {self.config.lr}) or rescale the data."
        raise NonFiniteLossError(f"{cause} {note}" if cause is not None else note)

    def _clock(self) -> float:
        return time.perf_counter() - self._t0 - self._eval_seconds

    def _cache_limit(self) -> float:
        """Bytes the trainer may hold in block-input caches (``cache_memory_gb``,
        by default a quarter of the physical memory)."""
        gb = self.config.cache_memory_gb
        return gb * 2**30 if gb is not None else _physical_memory() / 4

    def _input_mode(
        self, prefix: Sequence[int], stage_in: torch.Tensor, stage_in_test: torch.Tensor | None
    ) -> str:
        """How a block gets its inputs: ``"direct"`` (the stage's input, no
        frozen prefix), ``"cached"`` (prefix computed once per phase),
        ``"streamed"`` (the cache would exceed ``cache_memory_gb``: the prefix
        is recomputed per minibatch) or ``"recomputed"`` (``cache_inputs=False``)."""
        cfg = self.config
        if not prefix:
            return "direct"
        if not cfg.cache_inputs:
            return "recomputed"
        width = self.model.layers[prefix[-1]].linear.out_features
        rows = len(stage_in) + (len(stage_in_test) if stage_in_test is not None else 0)
        need = rows * width * stage_in.element_size()
        limit = self._cache_limit()
        if need > limit:
            _log.info(
                "block input cache of %.2f GB exceeds %.2f GB: streaming minibatches",
                need / 2**30,
                limit / 2**30,
            )
            return "streamed"
        return "cached"

    def _train_block(
        self,
        stage: Stage,
        round_: int,
        block: tuple[int, ...],
        stage_in: torch.Tensor,
        stage_target: torch.Tensor,
        stage_in_test: torch.Tensor | None,
        full_model_stage: bool,
        bar: Any,
    ) -> None:
        cfg = self.config
        pos = stage.block_position(block)
        prefix, suffix = stage.path[:pos], stage.path[pos:]
        mode = self._input_mode(prefix, stage_in, stage_in_test if full_model_stage else None)
        self._stage_info["inputs"][" ".join(map(str, block))] = mode
        recompute = mode in ("streamed", "recomputed")
        H = self._block_inputs(stage_in, prefix) if mode == "cached" else stage_in
        H_test = None
        if full_model_stage and stage_in_test is not None and not recompute:
            H_test = self._block_inputs(stage_in_test, prefix) if prefix else stage_in_test
        opt = self._optimizer_for(stage, block, suffix, len(H))
        if isinstance(opt, OutputSolver):
            self._solve_output(stage, round_, block, opt, H, H_test, stage_target, prefix,
                               recompute, full_model_stage)  # fmt: skip
            return
        custom = isinstance(opt, StepSolver)
        base_lr = stage.lr if stage.lr is not None else cfg.lr
        lr = self._lr_control.begin_phase(stage.name, block, opt, round_, self._horizon, base_lr)
        resuming = self._resume is not None  # into this phase: its records are restored
        if lr is not None and not resuming:  # each phase's step, in the stage record
            key = " ".join(map(str, block))
            self._stage_info.setdefault("lr", {}).setdefault(key, []).append(lr)
        if not resuming or "lr_acc" not in self._pos:  # the epoch's [loss sum, steps]
            self._pos["lr_acc"] = [0.0, 0]
        acc = self._pos["lr_acc"]
        # a one-layer SNGD block: closed-form gradient, no autograd (dante.fast_step)
        fast = None
        if cfg.fast_path and not custom:
            fast = plan_fast_step(
                self.model, block, suffix, self.loss, opt, world_size=self.world.size
            )
        self._stage_info.setdefault("fast_path", {})[" ".join(map(str, block))] = fast is not None
        block_params = [p for i in block for p in self.model.block_parameters(i)]
        n_block = sum(p.numel() for p in block_params)
        at_start = [p.detach().clone() for p in block_params]  # restored if the phase diverges
        world = self.world
        self._set_trainable(block)
        for cb in self.callbacks:
            cb.on_phase_start(self, stage, block)
        n = len(H)
        m = cfg.batch_size
        limit = cfg.max_weights_updated
        epochs = stage.epochs_per_block or cfg.t_sngd
        budget = self.budget
        model = self.model
        loss_fn = self.loss
        pages = self._pages_of(H)
        # bytes of a memory map a random row can make resident: the kernel maps
        # a whole fault-around window (64 KiB by default) per page fault
        row_bytes = H[0].nbytes + FAULT_AROUND
        tick = pages.tick if pages.active else None
        callbacks = self.callbacks
        pos = self._pos
        every = self._checkpoint_every
        single = world.size == 1
        fast_step = fast.step if fast is not None else None
        # Inputs in memory (not a memory map), one process, no per-step prefix:
        # gather each epoch's permuted rows once into one buffer and read
        # contiguous slices (the same rows per step as two index_selects per
        # minibatch, without their per-step dispatch), if the copy fits the
        # cache budget beside the stored prefix outputs (_block_inputs).
        cache = self.__dict__.get("_prefix_cache") or {}
        stored = [t for e in cache.values() for t in e["outs"]]
        held = sum(t.nbytes for t in stored)
        if mode == "cached" and not any(t is H for t in stored):
            held += H.nbytes
        whole = (
            single
            and not recompute
            and not custom
            and not pages.active
            and held + H.nbytes + stage_target.nbytes <= self._cache_limit()
        )
        H_perm = T_perm = None
        try:
            for epoch in range(epochs):
                first = 0
                if self._resume is not None:  # skip to the checkpoint's minibatch
                    if epoch < self._resume["epoch"]:
                        continue
                    first = self._resume_here()
                pos.update(epoch=epoch, batch=first)
                self._epoch_rng = self._generator.get_state()
                # one permutation per epoch; without `whole` each minibatch
                # gathers its rows (never a permuted copy of the whole input:
                # it may be a memory map larger than RAM)
                perm = torch.randperm(n, generator=self._generator).to(self.device)
                if whole:  # the whole permutation, also on resume (same slices)
                    if H_perm is None:
                        H_perm = torch.index_select(H, 0, perm)
                        T_perm = torch.index_select(stage_target, 0, perm)
                    else:
                        torch.index_select(H, 0, perm, out=H_perm)
                        torch.index_select(stage_target, 0, perm, out=T_perm)
                for start in range(first * m, n, m):
                    if limit is not None and budget.weights_updated + n_block > limit:
                        raise _BudgetExhausted
                    if whole:
                        xb = H_perm[start : start + m]
                        tb = T_perm[start : start + m]
                        n_global = len(xb)
                    else:
                        idx = perm[start : start + m]
                        n_global = len(idx)
                        if not single:
                            idx = world.shard(idx)  # this rank's slice of the global minibatch
                        xb = H.index_select(0, idx)
                        tb = stage_target.index_select(0, idx)
                        if tick is not None:
                            tick(row_bytes * len(idx))
                        if recompute:
                            with torch.no_grad():
                                xb = model.forward_path(xb, prefix)
                    if fast_step is not None:
                        # loss, gradient and SNGD step; no step when the loss is NaN/Inf
                        loss, bad = fast_step(xb, tb)
                    else:
                        if custom:
                            loss = opt.train_step(xb, tb, idx)
                        else:
                            opt.zero_grad(set_to_none=True)
                            loss = loss_fn(model.forward_path(xb, suffix), tb)
                            if not single:
                                # sum the ranks' scaled gradients BEFORE the solver's one norm
                                loss.backward()
                                loss = world.allreduce_grads_(
                                    block_params, loss, len(idx) / n_global
                                )
                        # one host read of the loss (isfinite on the tensor would
                        # launch three kernels and still sync)
                        bad = loss.item()
                    if not math.isfinite(bad):
                        raise NonFiniteLossError(
                            f"training loss became {bad} at step {budget.steps + 1} "
                            f"(stage {stage.name!r}, block {list(block)}); the step was not "
                            f"taken. Lower lr (now {cfg.lr}) or rescale the data."
                        )
                    if fast_step is None and not custom:
                        if single:
                            loss.backward()
                        opt.step()
                    acc[0] += bad
                    acc[1] += 1
                    budget.steps += 1
                    budget.weights_updated += n_block
                    budget.samples_seen += n_global
                    if callbacks:
                        for cb in callbacks:
                            cb.on_step(self, loss)
                    pos["batch"] += 1
                    if every and budget.steps % every == 0:
                        self._save_checkpoint(completed=False)
                self._epoch += 1
                if epoch < epochs - 1:
                    acc[0], acc[1] = 0.0, 0
                budget.wall_seconds = self._clock()
                if bar is not None:
                    bar.update(1)
                if cfg.eval_every == "epoch":
                    cache = (H, H_test, suffix) if full_model_stage and not recompute else None
                    rec = self._evaluate(stage, round_, block, cache)
                    if bar is not None:
                        bar.set_postfix(loss=f"{rec['train_loss']:.4g}")
            self._raise_if_diverged(stage, block, block_params, at_start)
            if acc[1]:
                self._lr_control.end_phase(stage.name, block, opt, acc[0] / acc[1])
        except (NonFiniteLossError, _BudgetExhausted) as exc:
            cause = exc if isinstance(exc, NonFiniteLossError) else None
            self._raise_if_diverged(stage, block, block_params, at_start, cause)
            raise
        finally:
            pages.release()
            self._drop_stale_inputs(block)
            budget.wall_seconds = self._clock()
            self._set_trainable(None)
            for cb in self.callbacks:
                cb.on_phase_end(self, stage, block)

    def _solve_output(
        self,
        stage: Stage,
        round_: int,
        block: tuple[int, ...],
        solver: OutputSolver,
        H: torch.Tensor,
        H_test: torch.Tensor | None,
        target: torch.Tensor,
        prefix: Sequence[int],
        recompute: bool,
        full_model_stage: bool,
    ) -> None:
        """One phase of the output block by an :mod:`dante.output_solvers` solver:
        all rows at once, charged one block-epoch of weights per pass."""
        cfg, budget = self.config, self.budget
        self._stage_info.setdefault("solvers", {})[" ".join(map(str, block))] = solver.name
        n_block = sum(p.numel() for i in block for p in self.model.block_parameters(i))
        per_pass = n_block * math.ceil(len(H) / cfg.batch_size)
        passes_left = 10**9
        if cfg.max_weights_updated is not None:
            passes_left = (cfg.max_weights_updated - budget.weights_updated) // per_pass
            if passes_left < 1:
                raise _BudgetExhausted
        params = [p for i in block for p in self.model.block_parameters(i)]
        at_start = [p.detach().clone() for p in params]

        def rows(i: int, j: int) -> torch.Tensor:
            if not recompute:
                return H[i:j]
            with torch.no_grad():
                return self.model.forward_path(H[i:j], prefix)

        self._set_trainable(block)
        for cb in self.callbacks:
            cb.on_phase_start(self, stage, block)
        try:
            before, passes = solver.solve(rows, len(H), target, int(passes_left))
            if not math.isfinite(before):  # the features were already non-finite
                with torch.no_grad():
                    for p, s in zip(params, at_start):
                        p.copy_(s)
                raise NonFiniteLossError(
                    f"training loss became {before} before the output solve of stage "
                    f"{stage.name!r} (block {list(block)} keeps its weights); lower lr (now "
                    f"{cfg.lr}) or rescale the data."
                )
            self._raise_if_diverged(stage, block, params, at_start)
        finally:
            self._set_trainable(None)
            for cb in self.callbacks:
                cb.on_phase_end(self, stage, block)
        budget.steps += math.ceil(passes)  # passes may be fractional (a row subsample)
        budget.weights_updated += math.ceil(passes * per_pass)
        budget.samples_seen += round(passes * len(H))
        self._epoch += 1
        budget.wall_seconds = self._clock()
        if cfg.eval_every == "epoch":
            cache = (H, H_test, (block[0],)) if full_model_stage and not recompute else None
            self._evaluate(stage, round_, block, cache)

    def _stage_loss(
        self, stage: Stage, stage_in: torch.Tensor, stage_target: torch.Tensor, full: bool
    ) -> float:
        last = self.history[-1] if self.history else None
        if full and last is not None and last["steps"] == self.budget.steps:
            return float(last["train_loss"])
        t0 = time.perf_counter()
        total = 0.0
        pages = self._pages_of(stage_in)
        lo, hi = self.world.rows(len(stage_in))
        with torch.no_grad():
            for i in range(lo, hi, _EVAL_CHUNK):
                j = min(i + _EVAL_CHUNK, hi)
                part = stage_in[i:j]
                out = self.model.forward_path(part, stage.path)
                total += float(self.loss.sum(out, stage_target[i:j]))
                pages.tick(part.nbytes)
        pages.release()
        (total,) = self.world.sum(total)  # the same f_t, hence the same stopping rule, on all ranks
        self._eval_seconds += time.perf_counter() - t0
        return total / len(stage_in)

    def fit(
        self,
        X: Any,
        y: Any = None,
        X_test: Any = None,
        y_test: Any = None,
        *,
        task: str = "auto",
        min_classes: int = 1,
    ) -> TrainResult:
        """Train the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like, optional
            Class labels in ``[0, n_classes)`` (int), regression targets
            (float), or ``None`` for an autoencoder (the target is ``X``).
        X_test, y_test : array-like, optional
            Held-out data evaluated at every evaluation point.
        task : {"auto", "classification", "regression", "reconstruction"}
            ``"auto"``: no ``y`` -> reconstruction; cross-entropy or integer
            ``y`` -> classification; float ``y`` -> regression.
        min_classes : {1, 2}, default=1
            ``2`` refuses classification labels holding a single class
            (:func:`dante.fit` does: there is nothing to classify). ``1``
            accepts them, for a chunk of a stream (``partial_fit``) may hold one.

        Returns
        -------
        TrainResult
        """
        if min_classes not in (1, 2):
            raise ValueError(f"min_classes must be 1 or 2, got {min_classes!r}")
        cfg = self.config
        self._train, self._test, _ = self._prepare(X, y, X_test, y_test, task, min_classes)
        self.model.to(self.device)
        self.model.train()
        self.world.broadcast_(self.model.parameters())  # every rank starts from rank 0's weights
        result = TrainResult(self.model, cfg, self.history, budget=self.budget)
        self._result = result
        completed = False
        if self._resume_from is not None and self._resume_from.exists():
            state = load_checkpoint(self._resume_from, self.device)
            completed = restore_trainer(self, state, self._resume_from)
            self.resumed_from_step = self.budget.steps
        # one-time costs (torch's lazy imports, a device's first backward and
        # step, the progress bar's import) are paid before the clock starts, so
        # whichever method runs first in a process is not charged for them
        warm_up_torch(self.device)
        if cfg.progress:
            from tqdm.auto import tqdm
        self._t0 = time.perf_counter() - self.budget.wall_seconds
        self._eval_seconds = 0.0
        if not self.history:
            self._evaluate(None, 0, None, None)
        full = tuple(range(self.model.n_layers))
        bar = None
        if cfg.progress:
            total = sum(
                (s.rounds or cfg.max_alternations)
                * len(s.blocks)
                * (s.epochs_per_block or cfg.t_sngd)
                for s in self.stages
            )
            bar = tqdm(total=total, desc=cfg.method, unit="epoch", leave=True, initial=self._epoch)
        try:
            for s, stage in enumerate(self.stages):
                if completed or (self._resume is not None and s < self._resume["stage"]):
                    continue
                self._pos["stage"] = s
                if not self._run_stage(stage, full, result, bar):
                    break
            if self.history[-1]["steps"] != self.budget.steps:
                self._evaluate(self.stages[-1], -1, None, None)
            if self._checkpoint is not None:
                self._save_checkpoint(completed=True)
        except NonFiniteLossError as exc:
            if self._checkpoint_step is None:
                raise
            raise NonFiniteLossError(
                f"{exc} The last good checkpoint, {str(self._checkpoint)!r} at step "
                f"{self._checkpoint_step}, is intact."
            ) from None
        finally:
            if bar is not None:
                bar.close()
            self._set_trainable(None)
            for cb in self.callbacks:
                cb.on_fit_end(self)
        return result

    def _save_checkpoint(self, completed: bool) -> None:
        """Write the checkpoint (rank 0 only); refuse weights that are not finite,
        so the last good checkpoint is never overwritten by a diverged state."""
        t0 = time.perf_counter()
        if not bool(torch.stack([torch.isfinite(p).all() for p in self.model.parameters()]).all()):
            raise NonFiniteLossError(
                f"the weights became non-finite by step {self.budget.steps}; the checkpoint "
                f"{str(self._checkpoint)!r} was not overwritten and holds the last finite "
                f"state. Lower lr (now {self.config.lr}) or rescale the data."
            )
        self.budget.wall_seconds = self._clock()
        if self.world.is_main:
            save_checkpoint(self._checkpoint, trainer_state(self, completed))
        self._checkpoint_step = self.budget.steps
        seconds = time.perf_counter() - t0
        self.checkpoint_seconds.append(seconds)
        self._eval_seconds += seconds  # not training time

    def _resume_here(self) -> int:
        """Reached the checkpoint's epoch: restore the generators as they were
        (the trainer's at the epoch's start, so the epoch's permutation is
        drawn again) and return the index of the next minibatch."""
        pos, self._resume = self._resume, None
        restore_rng(pos["rng"], self._generator)
        self._generator.set_state(pos["epoch_rng"].cpu())
        return pos["batch"]

    def _rounds_possible(self, stage: Stage, weights_start: int, max_rounds: float) -> int:
        """Rounds the stage can make: its cap, or what the weights-updated budget
        left at its start allows, whichever is smaller (the cosine horizon)."""
        cfg = self.config
        steps = math.ceil(len(self._train.X) / cfg.batch_size)
        epochs = stage.epochs_per_block or cfg.t_sngd
        per_round = (
            sum(p.numel() for b in stage.blocks for i in b for p in self.model.block_parameters(i))
            * steps
            * epochs
        )
        rounds = max_rounds
        if cfg.max_weights_updated is not None:
            rounds = min(rounds, math.ceil((cfg.max_weights_updated - weights_start) / per_round))
        return max(1, int(min(rounds, 10**9)))

    def _run_stage(self, stage: Stage, full: tuple[int, ...], result: TrainResult, bar) -> bool:
        """Run one stage; return False when the global budget is exhausted."""
        cfg = self.config
        with torch.no_grad():
            stage_in = (
                self._outputs(self._train.X, full[: stage.input_depth])
                if stage.input_depth
                else self._train.X
            )
        stage_target = stage_in if stage.target == "input" else self._train.T
        full_model_stage = stage.path == full and stage.input_depth == 0 and stage.target == "y"
        stage_in_test = self._test.X if (self._test is not None and full_model_stage) else None
        max_rounds = stage.rounds or min(cfg.max_alternations, stage.max_rounds or math.inf)
        if self._resume is not None:  # the checkpoint's stage: its record and f_{t-1} are saved
            info = result.stages[-1]
            f_prev = self._resume["f_prev"]
            t = self._resume["round"] - 1
        else:
            info = {
                "name": stage.name,
                "rounds": 0,
                "losses": [],
                "inputs": {},
                "weights_start": self.budget.weights_updated,  # where the curve's stage begins
            }
            result.stages.append(info)
            f_prev = self._stage_loss(stage, stage_in, stage_target, full_model_stage)
            info["losses"].append(f_prev)
            t = 0
        self._stage_info = info
        self._horizon = self._rounds_possible(stage, info["weights_start"], max_rounds)
        while True:
            t += 1
            self._pos.update(round=t, f_prev=f_prev)
            try:
                for j, block in enumerate(stage.blocks):
                    if self._resume is not None and j < self._resume["block"]:
                        continue
                    self._pos["block"] = j
                    self._train_block(
                        stage,
                        t,
                        block,
                        stage_in,
                        stage_target,
                        stage_in_test,
                        full_model_stage,
                        bar,
                    )
            except _BudgetExhausted:
                info["rounds"] = t
                info["stop_reason"] = "budget"
                info["losses"].append(
                    self._stage_loss(stage, stage_in, stage_target, full_model_stage)
                )
                return False
            if cfg.eval_every == "round":
                self._evaluate(stage, t, None, None)
            f_t = self._stage_loss(stage, stage_in, stage_target, full_model_stage)
            info["losses"].append(f_t)
            info["rounds"] = t
            if not math.isfinite(f_t):
                raise NonFiniteLossError(f"stage {stage.name!r} loss became {f_t} after round {t}")
            if t >= max_rounds:
                info["stop_reason"] = "max_alternations" if stage.rounds is None else "rounds"
                return True
            if stage.rounds is None and t >= cfg.t_am and abs(f_t - f_prev) < cfg.tol:
                info["stop_reason"] = "converged"
                return True
            f_prev = f_t


def fit(
    model: LayeredNet,
    X: Any,
    y: Any = None,
    X_test: Any = None,
    y_test: Any = None,
    *,
    task: str = "auto",
    config: TrainConfig | None = None,
    schedule: str | Schedule | None = None,
    solver: str | SolverFactory | None = None,
    callbacks: Sequence[Callback] = (),
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    **overrides: Any,
) -> TrainResult:
    """Train ``model`` with DANTE (default) or any baseline; see :class:`Trainer`
    (``checkpoint``, ``checkpoint_every`` and ``resume`` are described there).

    Examples
    --------
    >>> import numpy as np, dante
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((200, 8), dtype=np.float32); y = (X[:, 0] > 0.5).astype(int)
    >>> net = dante.MLP([8, 16, 2], seed=0)
    >>> res = dante.fit(net, X, y, lr=0.05, batch_size=20, max_alternations=3)
    >>> res.final["train_accuracy"] > 0.8
    True
    """
    trainer = Trainer(
        model,
        config,
        schedule=schedule,
        solver=solver,
        callbacks=callbacks,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        resume=resume,
        **overrides,
    )
    from .validation import check_training_memory

    check_training_memory(model, trainer.config)
    return trainer.fit(X, y, X_test, y_test, task=task, min_classes=2)
