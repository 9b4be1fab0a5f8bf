"""The trainer state a checkpoint saves and restores.

:mod:`dante.checkpoint` writes and reads a :class:`dante.Trainer`'s state
through this interface, not through the ``Trainer`` class, so that the
checkpoint code never imports the trainer (which imports it).
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from ..config import TrainConfig
from ..lr_control import LRControl
from ..models import LayeredNet
from ..schedules import Stage
from .budget import Budget
from .data import SplitData
from .results import TrainResult

__all__ = ["TrainerState"]


class TrainerState(Protocol):
    """What :func:`dante.checkpoint.trainer_state` reads and
    :func:`dante.checkpoint.restore_trainer` writes (a :class:`dante.Trainer`).

    Attributes
    ----------
    config : TrainConfig
    model : LayeredNet
    stages : list of Stage
        The schedule's stages (their names are checked on resume).
    budget : Budget
    history : list of dict
        The evaluation records.
    _result : TrainResult
        The run's result (its ``stages`` records).
    _train : SplitData
        The training split (fingerprinted, checked on resume).
    _optimizers : dict
        The block solvers built so far, by ``(stage name, block)``.
    _pending_states : dict
        Solver states loaded from a checkpoint, not yet given to a solver.
    _pos : dict
        Where the loop is: stage, round, block, epoch, next minibatch.
    _resume : dict or None
        The position a resumed run skips to.
    _epoch_rng : torch.Tensor
        The minibatch-order generator's state at the start of the epoch.
    _generator : torch.Generator
        The minibatch-order generator.
    _epoch : int
        Block-epochs done.
    _checkpoint_step : int or None
        ``Budget.steps`` at the last checkpoint written or read.
    _lr_control : LRControl
        The step-size control's state.
    """

    config: TrainConfig
    model: LayeredNet
    stages: list[Stage]
    budget: Budget
    history: list[dict[str, Any]]
    _result: TrainResult
    _train: SplitData
    _optimizers: dict[tuple[str, tuple[int, ...]], Any]
    _pending_states: dict[tuple[str, tuple[int, ...]], dict[str, Any]]
    _pos: dict[str, Any]
    _resume: dict[str, Any] | None
    _epoch_rng: torch.Tensor
    _generator: torch.Generator
    _epoch: int
    _checkpoint_step: int | None
    _lr_control: LRControl
