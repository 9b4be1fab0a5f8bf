"""What a training run produces: its result, or the error of a diverged run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import TrainConfig
from ..models import LayeredNet
from .budget import Budget

__all__ = ["NonFiniteLossError", "TrainResult"]


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN/Inf loss (the step was not taken) or NaN/Inf
    weights (restored to the start of the phase); the weights left are finite."""


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
