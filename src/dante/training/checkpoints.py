"""The trainer's checkpoint hooks: writing a checkpoint mid-run, and
picking up a resumed run at the checkpoint's minibatch.

What a checkpoint holds, and how it is written and read, is
:mod:`dante.checkpoint`; checkpoint time is kept off ``Budget.wall_seconds``.
"""

from __future__ import annotations

import time

import torch

from ..checkpoint import restore_rng, save_checkpoint, trainer_state
from .results import NonFiniteLossError

__all__ = ["CheckpointHooksMixin"]


class CheckpointHooksMixin:
    """The :class:`dante.Trainer`'s checkpoint writes and resume point.

    Uses the trainer's ``model``, ``config``, ``world``, ``budget``,
    ``_checkpoint``, ``_resume``, ``_generator`` and ``_clock``; records
    ``checkpoint_seconds`` and ``_checkpoint_step``.
    """

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
