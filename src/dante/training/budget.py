"""Budget accounting: the work counters every method shares, and its clock.

Every method is charged the same way (weights updated, samples seen, solver
steps, wall time), so that DANTE and the backprop baselines compare at equal
budgets (the x-axis of every figure in ``001_1787bf99fca4a9f2.txt``). The wall
time excludes torch's one-time costs (:func:`warm_up_torch`), evaluation,
checkpoint writes and building the solvers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..config import TrainConfig
from ..models import LayeredNet
from ..schedules import Stage
from ..sngd import SNGD

__all__ = ["Budget", "BudgetExhausted", "rounds_possible", "warm_up_torch"]


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


class BudgetExhausted(Exception):
    """The next step would exceed ``max_weights_updated``: the run stops there."""


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


def rounds_possible(
    model: LayeredNet,
    config: TrainConfig,
    stage: Stage,
    n_rows: int,
    weights_start: int,
    max_rounds: float,
) -> int:
    """Rounds a stage can make: its cap, or what the weights-updated budget
    left at its start allows, whichever is smaller (the cosine horizon).

    Parameters
    ----------
    model : LayeredNet
    config : TrainConfig
    stage : Stage
    n_rows : int
        Training rows (one epoch is ``ceil(n_rows / batch_size)`` steps).
    weights_start : int
        ``Budget.weights_updated`` when the stage began.
    max_rounds : float
        The stage's cap on rounds (``inf``: none).
    """
    cfg = config
    steps = math.ceil(n_rows / cfg.batch_size)
    epochs = stage.epochs_per_block or cfg.t_sngd
    per_round = (
        sum(p.numel() for b in stage.blocks for i in b for p in model.block_parameters(i))
        * steps
        * epochs
    )
    rounds = max_rounds
    if cfg.max_weights_updated is not None:
        rounds = min(rounds, math.ceil((cfg.max_weights_updated - weights_start) / per_round))
    return max(1, int(min(rounds, 10**9)))
