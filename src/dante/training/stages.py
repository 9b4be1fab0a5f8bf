"""The stage loop: which schedule a trainer runs, and a stage's rounds.

Every method is a list of stages (:mod:`dante.schedules`); each stage repeats
a round of blocks, one phase per block (:mod:`dante.training.phase`). The
stopping rule is Algorithm 2 of ``000_16cd8e47eb5a686b.txt`` /
``001_1787bf99fca4a9f2.txt``: keep alternating while
``|f_t - f_{t-1}| >= tol`` or ``t < t_am``, where ``f_t`` is the stage's
training loss after round ``t``, with a hard cap ``max_alternations``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..config import TrainConfig
from ..models import LayeredNet
from ..schedules import Schedule, Stage, default_schedule, get_schedule
from .budget import BudgetExhausted, rounds_possible
from .results import NonFiniteLossError, TrainResult

__all__ = ["StageLoopMixin", "resolve_schedule"]


def resolve_schedule(
    model: LayeredNet, config: TrainConfig, schedule: str | Schedule | None = None
) -> Schedule:
    """The schedule a trainer runs: ``schedule`` when given, else the config's
    preset (``method``/``schedule``), else the model's default (round-robin for
    an MLP, greedy pairs for an autoencoder) with the config's options.

    Parameters
    ----------
    model : LayeredNet
    config : TrainConfig
    schedule : str or Schedule, optional
        Overrides the config's schedule.
    """
    cfg = config
    if schedule is not None:
        return get_schedule(schedule)
    if cfg.preset_schedule is not None:
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
        return get_schedule(cfg.preset_schedule, **kwargs)
    sched = default_schedule(model)
    if hasattr(sched, "reading"):
        return get_schedule(
            "greedy_pairs",
            reading=cfg.reading,
            finetune_epochs=cfg.finetune_epochs,
            pair_order=cfg.pair_order,
            finetune_lr=cfg.finetune_lr,
            pair_max_rounds=cfg.pair_max_rounds,
        )
    return get_schedule("round_robin", order=cfg.order)


class StageLoopMixin:
    """The :class:`dante.Trainer`'s stages: rounds of block phases until the
    stopping rule, the stage's cap or the budget ends them.

    Uses the trainer's ``model``, ``config``, ``budget``, ``_train``,
    ``_test``, ``_resume`` and ``_pos``, and its phases
    (:class:`~dante.training.phase.PhaseMixin`); records the stage in
    ``result.stages`` and ``_stage_info``.
    """

    def _run_stage(
        self, stage: Stage, full: tuple[int, ...], result: TrainResult, bar: Any
    ) -> bool:
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
        self._horizon = rounds_possible(
            self.model, cfg, stage, len(self._train.X), info["weights_start"], max_rounds
        )
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
            except BudgetExhausted:
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
