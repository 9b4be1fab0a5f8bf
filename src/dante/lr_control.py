"""Step-size control across alternations (``TrainConfig.lr_schedule``).

DANTE as printed (Algorithm 1 of ``001_1787bf99fca4a9f2.txt``) steps every
block with one fixed length ``eta``. A fixed step length cannot settle into a
minimum: once the block is within about ``eta`` of it, SNGD keeps stepping
across it. This module changes ``eta`` between a block's phases (per
*alternation*, i.e. per round of the stage; for the backprop schedule a round
is an epoch, so the same names give per-epoch decay to the baselines):

``"constant"``
    ``eta_t = lr``: the paper's fixed step (every reproduction uses it).
``"step"``
    ``eta_t = lr * gamma ** ((t - 1) // step_size)``; options ``gamma=0.5``,
    ``step_size=2``.
``"exponential"``
    ``eta_t = lr * gamma ** (t - 1)``; option ``gamma=0.7``.
``"cosine"``
    ``eta_t = lr * (m + (1 - m) * (1 + cos(pi * (t - 1) / (H - 1))) / 2)`` over a
    horizon of ``H`` rounds: option ``t_max`` or, by default, the rounds the
    run can make (the stage's cap on alternations, or what the weights-updated
    budget allows, whichever is smaller); option ``min_factor`` ``m = 0.01``.
``"plateau"``
    Per block: halve the block's step when its phase ended with a mean
    minibatch loss not below ``(1 - threshold)`` times its best so far
    ("halve when the block's loss stops improving"); options ``factor=0.5``,
    ``threshold=0.01``, ``min_factor=1e-3``.
``"theory"``
    The step Theorem 3.6 of ``001`` (Hazan, Levy and Shalev-Shwartz) gives
    for a run of a given length: SNGD with ``eta = eps / kappa`` reaches
    ``f - f* <= 3 eps`` after ``T >= kappa^2 ||w_1 - w*||^2 / eps^2`` steps, so
    the smallest ``eps`` that ``T`` steps certify is ``kappa ||w_1 - w*|| /
    sqrt(T)`` and the step that goes with it is ``eta = ||w_1 - w*|| /
    sqrt(T)``: ``kappa`` cancels. After ``t`` phases of equal length the
    shrinking ``eps`` gives ``eta_t = lr / sqrt(t)`` (``lr`` stands for
    ``||w_1 - w*|| / sqrt(T_phase)``, unknown, hence tuned like any ``lr``);
    option ``power = 0.5`` (the exponent).
any class name of ``torch.optim.lr_scheduler``
    E.g. ``"StepLR"`` with ``lr_schedule_options={"step_size": 3}``: built on
    each block's solver and stepped once after each of its phases
    (``ReduceLROnPlateau`` gets the phase's mean loss).

Each block keeps its own state: in a round-robin sweep every block has seen
the same number of phases, so the index-based schedules give all blocks the
same ``eta_t``, and the loss-based ones adapt to each block.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

__all__ = ["LR_SCHEDULES", "LRControl", "check_lr_schedule"]

#: The built-in schedules, with their options and defaults.
LR_SCHEDULES: dict[str, dict[str, float | None]] = {
    "constant": {},
    "step": {"gamma": 0.5, "step_size": 2},
    "exponential": {"gamma": 0.7},
    "cosine": {"t_max": None, "min_factor": 0.01},
    "plateau": {"factor": 0.5, "threshold": 0.01, "min_factor": 1e-3},
    "theory": {"power": 0.5},
}

_FACTOR_BOUNDS = {"gamma", "factor", "min_factor"}  # at most 1


#: torch's abstract scheduler bases: no schedule of their own (``get_lr`` raises)
_ABSTRACT_SCHEDULERS = {"LRScheduler", "_LRScheduler"}


def _torch_scheduler_class(name: str) -> type | None:
    if name in _ABSTRACT_SCHEDULERS:
        return None
    cls = getattr(torch.optim.lr_scheduler, name, None)
    if isinstance(cls, type) and issubclass(
        cls, (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    ):
        return cls
    return None


def check_lr_schedule(name: str, options: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the problem if ``(name, options)`` is not a valid
    step-size schedule (unknown name, unknown option, value out of range)."""
    if not isinstance(name, str):
        raise TypeError(f"lr_schedule must be a name, got {type(name).__name__}")
    if not isinstance(options, dict):
        raise TypeError(f"lr_schedule_options must be a dict, got {type(options).__name__}")
    if name not in LR_SCHEDULES:
        cls = _torch_scheduler_class(name)
        if cls is None:
            raise ValueError(
                f"unknown lr_schedule {name!r}; choose one of {', '.join(LR_SCHEDULES)} or a "
                f"class name of torch.optim.lr_scheduler (e.g. 'StepLR')"
            )
        try:  # torch checks its own keyword arguments: build one on a dummy optimizer
            # now, and step it once (as the first phase's end does), for some options
            # (StepLR's step_size) are first used then
            dummy = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sched = cls(dummy, **options)
                if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    sched.step(1.0)
                else:
                    sched.step()
        except (TypeError, ValueError, KeyError, ArithmeticError, NotImplementedError) as exc:
            raise ValueError(
                f"lr_schedule_options do not fit torch.optim.lr_scheduler.{name}: {exc}"
            ) from None
        return
    known = LR_SCHEDULES[name]
    unknown = sorted(set(options) - set(known))
    if unknown:
        valid = ", ".join(known) or "none"
        raise ValueError(
            f"unknown lr_schedule_options {unknown} for lr_schedule={name!r}; valid: {valid}"
        )
    for key, value in options.items():
        if value is None and known[key] is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"lr_schedule_options[{key!r}] must be a number, got {value!r}")
        zero_ok = key == "min_factor"  # cosine (or plateau) all the way down to 0
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
            raise ValueError(f"lr_schedule_options[{key!r}] must be positive, got {value!r}")
        if key in _FACTOR_BOUNDS and value > 1:
            raise ValueError(f"lr_schedule_options[{key!r}] must be in (0, 1], got {value!r}")
        if key in ("step_size", "t_max") and value != int(value):
            raise ValueError(f"lr_schedule_options[{key!r}] must be an integer, got {value!r}")


def _set_lr(opt: Any, lr: float) -> None:
    for group in getattr(opt, "param_groups", ()):
        group["lr"] = lr


class LRControl:
    """The step length of every block's solver, phase by phase.

    Parameters
    ----------
    name : str
        A key of :data:`LR_SCHEDULES` or a ``torch.optim.lr_scheduler`` class name.
    options : dict
        The schedule's options (see the module docstring).
    base_lr : float
        ``lr`` of the run; a stage's own ``lr`` (a fine-tune) replaces it for
        that stage's blocks.

    Notes
    -----
    Solvers without ``param_groups`` (the peers' :class:`~dante.StepSolver`
    and the output-layer solvers of :mod:`dante.output_solvers`) are left
    alone. The state (per-block factors and best losses, torch
    schedulers) is saved in checkpoints, so a resumed run continues the same
    schedule.
    """

    def __init__(self, name: str, options: dict[str, Any], base_lr: float) -> None:
        check_lr_schedule(name, options)
        self.name = name
        self.options = {**LR_SCHEDULES.get(name, {}), **options}
        self.base_lr = base_lr
        self._state: dict[str, dict[str, Any]] = {}  # per block key
        self._torch: dict[str, Any] = {}  # per block key: a torch scheduler

    @property
    def constant(self) -> bool:
        """Whether the step never changes (then nothing is done)."""
        return self.name == "constant"

    @staticmethod
    def _key(stage: str, block: tuple[int, ...]) -> str:
        return f"{stage}|{' '.join(map(str, block))}"

    def begin_phase(
        self,
        stage: str,
        block: tuple[int, ...],
        opt: Any,
        round_: int,
        horizon: int,
        base_lr: float,
    ) -> float | None:
        """Set ``opt``'s step for round ``round_`` (1-based) of the stage.

        ``horizon``: rounds the stage can make (``cosine``'s default ``t_max``).
        Returns the step in effect (``None``: a constant schedule, or a solver
        without ``param_groups``).
        """
        if self.constant or not hasattr(opt, "param_groups"):
            return None
        key = self._key(stage, block)
        o = self.options
        if self.name not in LR_SCHEDULES:
            if key not in self._torch:
                cls = _torch_scheduler_class(self.name)
                assert cls is not None
                try:
                    self._torch[key] = cls(opt, **o)
                except TypeError as exc:
                    raise ValueError(
                        f"lr_schedule_options do not fit torch.optim.lr_scheduler.{self.name}: "
                        f"{exc}"
                    ) from None
                if key in self._state:  # a resumed scheduler: its state and its last step
                    sched = self._torch[key]
                    sched.load_state_dict(self._state.pop(key)["torch"])
                    last = getattr(sched, "_last_lr", None)
                    if last is not None:
                        for group, lr in zip(opt.param_groups, last):
                            group["lr"] = lr
            return float(opt.param_groups[0]["lr"])
        st = self._state.setdefault(key, {"factor": 1.0, "best": None})
        t = round_ - 1
        if self.name == "step":
            factor = o["gamma"] ** (t // int(o["step_size"]))
        elif self.name == "exponential":
            factor = o["gamma"] ** t
        elif self.name == "cosine":
            h = int(o["t_max"] or horizon)
            frac = min(t / (h - 1), 1.0) if h > 1 else 1.0
            m = o["min_factor"]
            factor = m + (1 - m) * (1 + math.cos(math.pi * frac)) / 2
        elif self.name == "theory":
            factor = (t + 1) ** -o["power"]
        else:  # plateau
            factor = st["factor"]
        lr = base_lr * factor
        _set_lr(opt, lr)
        return lr

    def end_phase(self, stage: str, block: tuple[int, ...], opt: Any, end_loss: float) -> None:
        """Update the block's state from its phase: ``end_loss`` is the mean
        minibatch loss of the phase's last epoch."""
        if self.constant or not hasattr(opt, "param_groups"):
            return
        key = self._key(stage, block)
        if key in self._torch:
            sched = self._torch[key]
            with warnings.catch_warnings():
                # the fused fast path (dante.fast_step) updates the weights without
                # optimizer.step(), which torch's scheduler takes for a missed step
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler")
                if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    sched.step(end_loss)
                else:
                    sched.step()
            return
        st = self._state.get(key)
        if st is None or not math.isfinite(end_loss):
            return
        o = self.options
        if self.name == "plateau":
            if st["best"] is not None and end_loss > (1 - o["threshold"]) * st["best"]:
                st["factor"] = max(st["factor"] * o["factor"], o["min_factor"])
            st["best"] = end_loss if st["best"] is None else min(st["best"], end_loss)

    # checkpoints ------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Per-block state, for :mod:`dante.checkpoint`."""
        state = {k: dict(v) for k, v in self._state.items()}
        for key, sched in self._torch.items():
            state[key] = {"torch": sched.state_dict()}
        return {"name": self.name, "blocks": state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (torch schedulers are rebuilt at their next phase)."""
        if state.get("name") != self.name:
            raise ValueError(
                f"cannot resume: the checkpoint's lr_schedule is {state.get('name')!r}, this "
                f"run's is {self.name!r}"
            )
        self._state = {k: dict(v) for k, v in state["blocks"].items()}
        self._torch = {}
