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

This module is the public entry (:class:`Trainer`, :func:`fit`,
:class:`Callback` and the result types); the trainer's parts (data
preparation, block inputs, a block's phase, evaluation, the stage loop,
checkpoint hooks, budget accounting) are the modules of :mod:`dante.training`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import torch

from .checkpoint import (
    check_checkpoint_args,
    load_checkpoint,
    load_solver_state,
    restore_trainer,
)
from .config import TrainConfig, make_config
from .distributed import SINGLE, World, check_batch_size, check_parallel_solver
from .losses import Loss, get_loss
from .lr_control import LRControl
from .models import LayeredNet
from .output_solvers import make_output_solver
from .schedules import Schedule, Stage
from .solvers import SolverFactory, StepSolver, check_solver, make_solver
from .training.budget import Budget, warm_up_torch
from .training.checkpoints import CheckpointHooksMixin
from .training.data import prepare_splits
from .training.evaluation import EvaluationMixin
from .training.inputs import BlockInputsMixin
from .training.phase import PhaseMixin
from .training.results import NonFiniteLossError, TrainResult
from .training.stages import StageLoopMixin, resolve_schedule
from .validation import check_callbacks

__all__ = ["Budget", "Callback", "NonFiniteLossError", "TrainResult", "Trainer", "fit"]


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


class Trainer(StageLoopMixin, PhaseMixin, EvaluationMixin, BlockInputsMixin, CheckpointHooksMixin):
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
        self.schedule = resolve_schedule(model, cfg, schedule)
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

    # -------------------------------------------------------------- training
    def _optimizer_for(
        self, stage: Stage, block: tuple[int, ...], suffix: tuple[int, ...], n: int
    ) -> torch.optim.Optimizer | StepSolver:
        """The solver of ``block`` in ``stage``, built on first use (an output
        solver, or :func:`~dante.make_solver`'s), with any resumed state loaded."""
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
        elif self.config.solver_state == "reset":
            opt = self._optimizers[key]
            if isinstance(opt, torch.optim.Optimizer):
                opt.state.clear()  # a fresh subproblem: momentum / moment buffers dropped
        return self._optimizers[key]

    def _clock(self) -> float:
        """Training seconds so far: wall time less evaluation and set-up."""
        return time.perf_counter() - self._t0 - self._eval_seconds

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
        self._train, self._test, _ = prepare_splits(
            self.model, cfg, self.loss, self.device, X, y, X_test, y_test, task, min_classes
        )
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

    try:  # arrays, tensors, lists: the rows a batch can hold (anything else: checked later)
        n_rows: int | None = len(X)
    except TypeError:
        n_rows = None
    check_training_memory(model, trainer.config, n_rows)
    return trainer.fit(X, y, X_test, y_test, task=task, min_classes=2)
