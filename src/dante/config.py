"""Validated training configuration shared by DANTE, baselines and peers.

A :class:`TrainConfig` holds every hyper-parameter of a run; it is validated
(pydantic) when built, so a bad value is reported by name before any work.
``method`` is a preset of (schedule, solver):

==================  =================  ==========================================
method              schedule           solver
==================  =================  ==========================================
dante               model default (*)  sngd
dante_momentum      model default (*)  sngd, momentum 0.0005 on the normalized
                                       step (Table 1 of ``001`` read literally)
dante_momentum_raw  model default (*)  sngd_raw, momentum 0.9 on the raw gradient,
                                       normalized after the sum (a reading)
dante_heavy_ball    model default (*)  sngd, momentum 0.9 on the normalized step
                                       (a reading: a conventional coefficient)
sgd_altmin          model default (*)  sgd  (Table 2 of ``001``)
sngd_backprop       backprop           sngd_layers: every layer steps at once,
                                       one norm per layer (ablation, LARS-like)
sgd                 backprop           sgd
momentum            backprop           sgd, momentum (default 0.9)
adam                backprop           adam
adagrad             backprop           adagrad
rmsprop             backprop           rmsprop
am_adam             backprop           am_adam (peer, :mod:`dante.peers`)
admm                backprop           admm (peer, :mod:`dante.peers`)
==================  =================  ==========================================

(*) round-robin from the output for an MLP, greedy stacked pairs for an
:class:`~dante.Autoencoder`. ``schedule=`` and ``solver=`` override the preset.

**DANTE+Momentum.** Table 1 of ``001_1787bf99fca4a9f2.txt`` gives only "MP =
0.0005". Read literally (``dante_momentum``: heavy ball on the normalized
direction, :class:`dante.SNGD`'s default ``momentum_mode``) the coefficient is
too small to change anything: the buffer differs from the current direction
by at most 0.05 %, and our runs of it match DANTE within 1 % while the
paper reports 0.0308 -> 0.0208. The two readings that could produce a gain
are offered beside it, each labelled: ``dante_momentum_raw`` (the heavy ball on
the raw gradient, ``v = mu v + g``, step ``lr v / ||v||``, so every step has
length ``lr``) and ``dante_heavy_ball`` (the normalized heavy ball with the
conventional 0.9, steps up to ``10 lr``). ``momentum=`` overrides any of the
three coefficients.

**Ablation: alternation or normalisation?** ``sngd_backprop`` trains the whole
network at once (the backprop schedule) with SNGD over one parameter group
per layer, so each layer's step has length ``lr``: the per-layer step
normalisation of DANTE without its alternation. With ``adam`` (per-weight
normalisation, no alternation) it separates the two ingredients.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ._compile_options import COMPILE_OPTION_KEYS, check_compile_options

__all__ = ["METHODS", "TrainConfig", "expected_type", "make_config", "unknown_keys_message"]

#: Largest learning rate accepted. Weights are float32 (max 3.4e38) and
#: torch's optimizers scale ``lr`` further (Adam by ``1 / (1 - beta1)``), so a
#: huge ``lr`` overflows inside torch instead of just diverging; no method
#: trains with a step anywhere near this.
MAX_LR = 1e6

#: The int fields of :class:`TrainConfig` (a float there is an error, not rounded).
_INT_FIELDS = (
    "finetune_epochs", "pair_max_rounds", "batch_size", "t_sngd", "t_am", "max_alternations",
    "max_weights_updated", "seed",
)  # fmt: skip

#: method -> (schedule or None for the model's default, solver, default momentum)
METHODS: dict[str, tuple[str | None, str, float]] = {
    "dante": (None, "sngd", 0.0),
    "dante_momentum": (None, "sngd", 0.0005),
    "dante_momentum_raw": (None, "sngd_raw", 0.9),
    "dante_heavy_ball": (None, "sngd", 0.9),
    "sgd_altmin": (None, "sgd", 0.0),
    "sngd_backprop": ("backprop", "sngd_layers", 0.0),
    "sgd": ("backprop", "sgd", 0.0),
    "momentum": ("backprop", "momentum", 0.9),
    "adam": ("backprop", "adam", 0.0),
    "adagrad": ("backprop", "adagrad", 0.0),
    "rmsprop": ("backprop", "rmsprop", 0.0),
    "am_adam": ("backprop", "am_adam", 0.0),
    "admm": ("backprop", "admm", 0.0),
}


class TrainConfig(BaseModel):
    """Hyper-parameters of one training run.

    Parameters
    ----------
    method : str, default="dante"
        A preset from :data:`METHODS`.
    schedule : str, optional
        Override: ``round_robin``, ``greedy_pairs`` or ``backprop``.
    order : {"output_first", "input_first"}, default="output_first"
        Round-robin sweep direction.
    reading : {"stacked", "end_to_end"}, default="stacked"
        Greedy-pair reading for autoencoders.
    finetune_epochs : int, default=0
        End-to-end backprop epochs after greedy pairs.
    finetune_lr : float, optional
        Learning rate of the fine-tune stage (SGD); ``None`` uses ``lr``.
    pair_max_rounds : int, optional
        Cap on the alternation rounds of each autoencoder pair (greedy pairs);
        ``None``: ``max_alternations``.
    pair_order : {"decoder_first", "encoder_first"}, default="decoder_first"
        Which block of an autoencoder pair each alternation trains first
        (greedy pairs). ``"decoder_first"`` is Algorithm 2's order (output
        block first, ``001``), the default because it trained better where we
        measured it (digits, 64-32-16 autoencoder: test error 1.54-1.62x PCA's
        against 1.96-2.38x, seeds 0-2); ``"encoder_first"`` is Algorithm 3 of
        ``000`` as printed (lines 5-6), used by the workshop-paper specs.
    solver : str, optional
        Override of the preset's block solver.
    loss : {"mse", "cross_entropy"}, default="mse"
    lr : float, default=0.01
        Learning rate (SNGD: the length of every step), in ``(0, MAX_LR]``.
    momentum : float, optional
        Momentum; ``None`` takes the preset's default.
    batch_size : int, default=32
        Minibatch size ``b``; the last minibatch of an epoch may be smaller.
    t_sngd : int, default=5
        Epochs of the solver per block per alternation (``T`` of Algorithm 1;
        the 2020 paper chose 5, Sec. 4.2.3).
    t_am : int, default=2
        Minimum number of alternations (``T_AM`` of Algorithm 2).
    tol : float, default=1e-4
        Stop once ``|f_t - f_{t-1}| < tol`` (training loss, absolute) after at
        least ``t_am`` alternations.
    max_alternations : int, default=10
        Hard cap on alternations per stage (for backprop: epochs).
    max_weights_updated : int, optional
        Global budget in weights updated (the papers' x-axis); training stops
        before the step that would exceed it.
    eval_every : {"epoch", "round"}, default="epoch"
        When to record train/test loss and accuracy.
    cache_inputs : bool, default=True
        Compute a block's inputs (the frozen prefix) once per phase for the
        whole training set. ``False`` recomputes the prefix for every
        minibatch: the simple path, kept to check and benchmark the cache.
    cache_memory_gb : float, optional
        Largest block-input cache (train + test) held in memory. A phase whose
        cache would be larger *streams* instead: minibatches are gathered from
        the (possibly memory-mapped) data and the frozen prefix is recomputed
        for each, so memory stays bounded whatever ``N``. ``None`` (default):
        a quarter of the machine's physical memory. Which one each phase did
        is recorded in ``TrainResult.stages[i]["inputs"]``.
    fast_path : bool, default=True
        Train a one-layer block with SNGD by the closed-form, autograd-free
        step of :mod:`dante.fast_step` (the GLM gradient of Sec. 3 of
        ``001_1787bf99fca4a9f2.txt``; the same update up to float rounding)
        where it applies: a single-layer block whose layers from it up have
        identity, sigmoid, tanh or generalized-ReLU activations, loss ``mse``
        or ``cross_entropy``, solver :class:`~dante.SNGD`, one process on the
        CPU. Other phases use autograd. Which one each phase took is recorded
        in ``TrainResult.stages[i]["fast_path"]``. ``False``: always autograd.
    compile_step : bool, default=False
        Capture the fused one-layer step with :func:`torch.compile`
        (:mod:`dante.compiled_step`): the whole SNGD step becomes one compiled
        function with the step length computed on the device, replayed as a
        CUDA graph on CUDA (``mode="reduce-overhead"``). It needs
        ``fast_path=True`` and applies to the phases that take it (plain SNGD:
        with momentum or weight decay the eager fused step runs on the CPU and
        autograd elsewhere); on a GPU it also lets those phases leave
        autograd. Which phases were captured is recorded in
        ``TrainResult.stages[i]["compiled"]``. Off by default: compiling
        costs seconds per block shape, and on the CPU it measured within 5%
        of the eager fused step (docs/PERFORMANCE.md). Inductor, torch's
        default backend, needs a C++ compiler on the CPU.
    compile_options : dict, default={}
        Keyword arguments of :func:`torch.compile` (``mode``, ``backend``,
        ``options``, ``fullgraph``, ``dynamic``), e.g.
        ``{"backend": "aot_eager"}`` where no C++ compiler is installed.
    lr_schedule : str, default="constant"
        Step-size control across alternations (:mod:`dante.lr_control`):
        ``"constant"`` (the paper's fixed step), ``"step"``, ``"exponential"``,
        ``"cosine"``, ``"plateau"``, ``"theory"`` or a class name of
        ``torch.optim.lr_scheduler``. A round of the backprop schedule is an
        epoch, so the baselines get the same per-epoch schedules.
    lr_schedule_options : dict, default={}
        The schedule's options (e.g. ``{"gamma": 0.5}``; for a torch scheduler
        its keyword arguments).
    output_solver : {None, "ridge", "lbfgs"}, default=None
        Solve the output block on its cached features outright
        (:mod:`dante.output_solvers`) instead of by ``t_sngd`` epochs of the
        block solver: ``"ridge"`` in closed form (identity output, ``mse``),
        ``"lbfgs"`` by full-batch L-BFGS. ``None``: the output block is trained
        like every other block (the paper).
    output_solver_options : dict, default={}
        The output solver's options (``alpha``; ``l2``, ``max_passes``, ``tol``).
    solver_state : {"carry", "reset"}, default="carry"
        What a block's solver keeps from the block's previous phase (momentum
        buffers, Adam moments and the like; never the weights or the step
        size). ``"carry"``: the state goes on into the next phase although the
        other blocks changed in between, as one ``torch.optim`` optimizer per
        block held for the whole run does. ``"reset"``: every phase starts
        from fresh state, each subproblem solved as if on its own (Algorithm 2
        of ``001_1787bf99fca4a9f2.txt`` solves each subproblem afresh but
        names no solver state; the papers do not settle it). Plain SNGD has no
        state, so this only matters for the momentum readings, Adam-type
        block solvers and the baselines' optimizers. ``"carry"`` is the
        default: the ablation on Table 1's cell (a ``dante_heavy_ball``
        row with ``"reset"``, docs/RESULTS.md) measures the difference.
    seed : int, default=0
        Seeds the minibatch order (and any solver randomness); in ``[0, 2**64)``.
    device : str, default="cpu"
    progress : bool, default=False
        Show a progress bar.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "dante"
    schedule: str | None = None
    order: Literal["output_first", "input_first"] = "output_first"
    reading: Literal["stacked", "end_to_end"] = "stacked"
    finetune_epochs: int = Field(0, ge=0)
    pair_order: Literal["encoder_first", "decoder_first"] = "decoder_first"
    finetune_lr: float | None = Field(None, gt=0, le=MAX_LR, allow_inf_nan=False)
    pair_max_rounds: int | None = Field(None, ge=1)
    solver: str | None = None
    loss: Literal["mse", "cross_entropy"] = "mse"
    lr: float = Field(0.01, gt=0, le=MAX_LR, allow_inf_nan=False)
    momentum: float | None = Field(None, ge=0, lt=1)
    batch_size: int = Field(32, ge=1)
    t_sngd: int = Field(5, ge=1)
    t_am: int = Field(2, ge=1)
    tol: float = Field(1e-4, ge=0, allow_inf_nan=False)
    max_alternations: int = Field(10, ge=1)
    max_weights_updated: int | None = Field(None, gt=0)
    eval_every: Literal["epoch", "round"] = "epoch"
    cache_inputs: bool = True
    cache_memory_gb: float | None = Field(None, gt=0, allow_inf_nan=False)
    fast_path: bool = True
    compile_step: bool = False
    compile_options: dict[str, Any] = Field(default_factory=dict)
    lr_schedule: str = "constant"
    lr_schedule_options: dict[str, Any] = Field(default_factory=dict)
    output_solver: str | None = None
    output_solver_options: dict[str, Any] = Field(default_factory=dict)
    solver_state: Literal["carry", "reset"] = "carry"
    seed: int = Field(0, ge=0, lt=2**64)  # what torch.Generator.manual_seed takes
    device: str = "cpu"
    progress: bool = False

    @model_validator(mode="before")
    @classmethod
    def _keys_known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise ValueError(unknown_keys_message(unknown, cls.model_fields))
        return data

    @field_validator(
        *_INT_FIELDS, "lr", "finetune_lr", "momentum", "tol", "cache_memory_gb", mode="before"
    )
    @classmethod
    def _not_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):  # pydantic would read True as 1
            raise ValueError("expected a number, not a bool")
        return v

    @field_validator(*_INT_FIELDS, mode="before")
    @classmethod
    def _integral(cls, v: Any) -> Any:
        if isinstance(v, (float, np.floating)):  # pydantic would read 32.0 as 32
            raise ValueError(f"expected an int, got the float {v!r}")
        return v

    @field_validator("method")
    @classmethod
    def _method_known(cls, v: str) -> str:
        key = v.strip().lower().replace("-", "_").replace("+", "_")
        if key not in METHODS:
            raise ValueError(f"unknown method {v!r}; choose one of {', '.join(METHODS)}")
        return key

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_alias(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower().replace("-", "_") in ("ce", "cross_entropy"):
            return "cross_entropy"
        return v

    @field_validator("schedule")
    @classmethod
    def _schedule_known(cls, v: str | None) -> str | None:
        from .schedules import SCHEDULE_NAMES

        if v is not None and v not in SCHEDULE_NAMES:
            raise ValueError(f"unknown schedule {v!r}; choose one of {', '.join(SCHEDULE_NAMES)}")
        return v

    @field_validator("solver")
    @classmethod
    def _solver_known(cls, v: str | None) -> str | None:
        from .solvers import SOLVER_NAMES

        if v is not None and v not in SOLVER_NAMES:
            raise ValueError(f"unknown solver {v!r}; choose one of {', '.join(SOLVER_NAMES)}")
        return v

    @model_validator(mode="after")
    def _step_control_known(self) -> TrainConfig:
        from .lr_control import check_lr_schedule
        from .output_solvers import check_output_solver

        check_lr_schedule(self.lr_schedule, self.lr_schedule_options)
        check_output_solver(self.output_solver, self.output_solver_options)
        if self.compile_step and not self.fast_path:
            raise ValueError(
                "compile_step=True captures the fused step of fast_path, which is False; "
                "set fast_path=True or drop compile_step"
            )
        if self.compile_options:
            bad = set(self.compile_options) - COMPILE_OPTION_KEYS
            if bad:
                raise ValueError(
                    f"compile_options: {unknown_keys_message(bad, sorted(COMPILE_OPTION_KEYS))}"
                )
            if not self.compile_step:
                raise ValueError(
                    "compile_options is set but compile_step is False; pass "
                    "compile_step=True or drop compile_options"
                )
            check_compile_options(self.compile_options)
        return self

    @field_validator("device")
    @classmethod
    def _device_known(cls, v: str) -> str:
        import torch

        try:
            dev = torch.device(v)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device {v!r} is not a torch device (try 'cpu' or 'cuda')") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {v!r} requested but CUDA is not available; use 'cpu'")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {v!r} requested but only {torch.cuda.device_count()} CUDA device(s) "
                "exist; use 'cuda' or 'cuda:0'"
            )
        return v

    @property
    def resolved_solver(self) -> str:
        return self.solver or METHODS[self.method][1]

    @property
    def resolved_momentum(self) -> float:
        return self.momentum if self.momentum is not None else METHODS[self.method][2]

    @property
    def preset_schedule(self) -> str | None:
        return self.schedule or METHODS[self.method][0]


def unknown_keys_message(unknown: Iterable[Any], valid: Iterable[str]) -> str:
    """``unknown key 'lrr' (did you mean 'lr'?); valid keys: ...`` for config-like mappings."""
    valid = list(valid)
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), valid, n=1)
        parts.append(f"{str(key)!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "key" if len(parts) == 1 else "keys"
    return f"unknown {noun} {', '.join(parts)}; valid keys: {', '.join(valid)}"


def expected_type(annotation: Any) -> str:
    """A field annotation in words: ``float``, ``int or None``, ``'epoch' or 'round'``."""
    if typing.get_origin(annotation) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(annotation))
    args = typing.get_args(annotation)
    if args:
        return " or ".join(expected_type(a) for a in args)
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def make_config(config: TrainConfig | None = None, **overrides: Any) -> TrainConfig:
    """Build a :class:`TrainConfig`, turning pydantic's report into one
    ``ValueError``/``TypeError`` that names the bad argument."""
    try:
        if config is None:
            return TrainConfig(**overrides)
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        return TrainConfig(**{**config.model_dump(), **overrides})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        msg = err["msg"]
        unknown = [k for k in overrides if k not in TrainConfig.model_fields]
        if unknown:
            raise TypeError(
                unknown_keys_message(unknown, TrainConfig.model_fields).replace(
                    "unknown key", "unknown argument", 1
                )
            ) from None
        bad = err.get("input")
        field = TrainConfig.model_fields.get(str(err["loc"][0])) if err["loc"] else None
        hint = ""
        if (
            field is not None
            and err["type"] != "value_error"
            and typing.get_origin(field.annotation) is not Literal
        ):
            hint = f" (expected {expected_type(field.annotation)})"
        msg = msg.removeprefix("Value error, ")
        if not err["loc"]:  # a check across fields: its message names them
            raise ValueError(msg) from None
        raise ValueError(f"invalid {loc}={bad!r}: {msg}{hint}") from None
