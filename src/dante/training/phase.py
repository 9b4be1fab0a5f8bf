"""One block's phase: the block trained with every other parameter frozen.

A phase runs the block's solver (SNGD, Algorithm 1 of
``001_1787bf99fca4a9f2.txt``, or any other) for some epochs of minibatches
over the block's inputs (:mod:`dante.training.inputs`), charging every step to
the budget, or, for the output block with ``output_solver`` set, solves the
output layer on all rows at once (:mod:`dante.output_solvers`). A phase that
makes the loss or the weights non-finite restores the block's weights from
its start and raises :class:`~dante.NonFiniteLossError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from .._pages import FAULT_AROUND
from ..compiled_step import compile_block_step
from ..fast_step import plan_fast_step
from ..output_solvers import OutputSolver
from ..schedules import Stage
from ..solvers import StepSolver
from .budget import BudgetExhausted
from .results import NonFiniteLossError

__all__ = ["PhaseMixin"]


class PhaseMixin:
    """The :class:`dante.Trainer`'s block phases.

    Uses the trainer's ``model``, ``config``, ``loss``, ``world``, ``budget``,
    ``callbacks``, its loop position (``_pos``, ``_resume``, ``_generator``,
    ``_stage_info``, ``_horizon``), its block inputs
    (:class:`~dante.training.inputs.BlockInputsMixin`), evaluation
    (:class:`~dante.training.evaluation.EvaluationMixin`) and checkpoint
    hooks (:class:`~dante.training.checkpoints.CheckpointHooksMixin`).
    """

    def _set_trainable(self, block: tuple[int, ...] | None) -> None:
        """Freeze every layer but ``block``'s (``None``: unfreeze all)."""
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
        """One phase of ``block`` in round ``round_`` of ``stage``: its solver's
        epochs of minibatches, or an output solve (:meth:`_solve_output`)."""
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
                self.model, block, suffix, self.loss, opt, world_size=self.world.size,
                any_device=cfg.compile_step,
            )  # fmt: skip
        if fast is not None and cfg.compile_step:  # the step captured by torch.compile
            captured = compile_block_step(fast, cfg.compile_options)
            if captured is None and fast.weight.device.type != "cpu":
                fast = None  # off the CPU only the captured step replaces autograd
            self._stage_info.setdefault("compiled", {})[" ".join(map(str, block))] = (
                captured is not None
            )
            fast = captured or fast
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
                        raise BudgetExhausted
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
        except (NonFiniteLossError, BudgetExhausted) as exc:
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
                raise BudgetExhausted
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
