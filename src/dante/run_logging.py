"""Run logging beside ``metrics.json``: TensorBoard scalars (an optional extra).

:class:`TensorBoardLogger` is a :class:`~dante.Callback` that writes every
evaluation record of a run (train/test loss and accuracy, and the budget
counters) as TensorBoard scalars, with the solver step count as the x-axis.
TensorBoard is not a dependency of dante: install it with
``pip install 'dante-nn[tensorboard]'``. It is imported when a logger is built,
so a missing package is reported before any training.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .schedules import Stage
from .trainer import Callback, Trainer

__all__ = ["INSTALL_HINT", "TensorBoardLogger"]

INSTALL_HINT = "pip install 'dante-nn[tensorboard]'"

_METRICS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")


def _summary_writer_class() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:  # torch's module raises this when tensorboard is missing
        raise ImportError(
            f"TensorBoard logging needs the 'tensorboard' package, which is not installed. "
            f"Fix: {INSTALL_HINT} (or pip install tensorboard), or run without TensorBoard "
            f"logging; metrics.json is written either way."
        ) from exc
    return SummaryWriter


class TensorBoardLogger(Callback):
    """Log a run's evaluation records (and optionally every step's loss) to TensorBoard.

    Tags: ``train/loss``, ``test/loss``, ``train/accuracy``, ``test/accuracy``
    (those the run records), ``budget/weights_updated`` and
    ``budget/wall_seconds``; x-axis: ``Budget.steps``. Point TensorBoard at
    the folder: ``tensorboard --logdir DIR``.

    Parameters
    ----------
    log_dir : str or path
        Folder of the event files (created when the first event is written).
    log_steps : bool, default=False
        Also log every minibatch loss as ``step/loss`` (one host read per
        step, which costs a device synchronisation on a GPU).

    Raises
    ------
    ImportError
        ``tensorboard`` is not installed; the message gives the pip command.

    Notes
    -----
    A run resumed from a checkpoint (:class:`~dante.Trainer` with
    ``resume=True``) opens the writer with ``purge_step`` at the checkpoint's
    step, so TensorBoard drops what the interrupted run logged after the
    checkpoint and the curves are not doubled.
    """

    def __init__(self, log_dir: str | os.PathLike, *, log_steps: bool = False) -> None:
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"log_dir must be a folder path, got {type(log_dir).__name__}")
        self._writer_class = _summary_writer_class()
        self.log_dir = Path(log_dir)
        self.log_steps = bool(log_steps)
        self._writer: Any = None

    def _writer_for(self, trainer: Trainer) -> Any:
        if self._writer is None:
            self._writer = self._writer_class(
                log_dir=str(self.log_dir), purge_step=trainer.resumed_from_step
            )
        return self._writer

    def on_phase_start(self, trainer: Trainer, stage: Stage, block: tuple[int, ...]) -> None:
        """Open the writer at the start of a resumed run's first phase."""
        self._writer_for(trainer)

    def on_step(self, trainer: Trainer, loss: torch.Tensor) -> None:
        """Log the minibatch loss when ``log_steps``."""
        if self.log_steps:
            self._writer_for(trainer).add_scalar(
                "step/loss", float(loss.detach()), trainer.budget.steps
            )

    def on_evaluate(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """Log the record's metrics and budget counters."""
        writer = self._writer_for(trainer)
        step = record["steps"]
        for key in _METRICS:
            if record.get(key) is not None:
                split, name = key.split("_", 1)
                writer.add_scalar(f"{split}/{name}", record[key], step)
        writer.add_scalar("budget/weights_updated", record["weights_updated"], step)
        writer.add_scalar("budget/wall_seconds", record["wall_seconds"], step)

    def on_fit_end(self, trainer: Trainer) -> None:
        """Flush and close the event file (a later fit opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
