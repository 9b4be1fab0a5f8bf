"""Schedules: which block trains when.

A schedule turns a model into a list of :class:`Stage` objects. A stage is a
sub-network (an ordered ``path`` of layer indices applied to a cached stage
input) with a target, and one *round* of blocks to train in order. The
trainer repeats the round until the stage's stopping rule holds (Algorithm 2
of ``000_16cd8e47eb5a686b.txt``: ``while |f_t - f_{t-1}| >= eps or t < T_AM``,
plus a hard cap), then moves to the next stage.

* :class:`RoundRobin` -- deep supervised nets (end of Sec. 3.5 of
  ``001_1787bf99fca4a9f2.txt``): every layer in turn. With two layers and the
  default ``order="output_first"`` it is exactly Algorithm 2 (output block,
  then hidden block). The paper does not fix the direction of a deep sweep;
  we default to ``"output_first"`` so that the one-hidden-layer case is
  Algorithm 2 and the output layer (a plain GLM on fixed features, the
  subproblem the SLQC theory covers best) is always solved first.
* :class:`GreedyPairs` -- deep autoencoders, Algorithm 3 of ``000``: the
  outermost (encoder, decoder) pair first, then inward; each pair is trained
  as a one-hidden-layer net by alternation. Algorithm 3 as printed (lines 5-6
  of ``000``) updates the encoder block ``u_l`` first, then the decoder block
  ``v_{n-l}``: ``pair_order="encoder_first"``. The default is
  ``pair_order="decoder_first"``, the order of Algorithm 2 (output block
  first, ``001``), a documented choice: it trained better where we measured
  it (see :class:`dante.TrainConfig`); the workshop-paper specs set
  ``encoder_first`` and ablate the order. ``reading="stacked"`` (the 2020 text, Fig. 1
  of ``001``) trains the pair to reconstruct its own input, the previous
  encoder activations;
  ``reading="end_to_end"`` (the workshop Algorithm 3 as printed) trains it
  against the full reconstruction of ``x`` through the whole network.
  ``finetune_epochs > 0`` adds an end-to-end backprop stage after the pairs
  (the workshop paper's fine-tune, the second spike of its Figure 6).
* :class:`Backprop` -- the baselines: the whole network is one block, one
  epoch per round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .models import Autoencoder, LayeredNet

__all__ = [
    "PAIR_ORDERS",
    "SCHEDULE_NAMES",
    "Backprop",
    "GreedyPairs",
    "RoundRobin",
    "Schedule",
    "Stage",
    "default_schedule",
    "get_schedule",
]


@dataclass(frozen=True)
class Stage:
    """One stage of training.

    Attributes
    ----------
    name : str
        Label used in the history.
    path : tuple of int
        Layer indices applied, in order, to the stage input.
    input_depth : int
        The stage input is the output of model layers ``0 .. input_depth-1``
        applied to the data (``0``: the data itself).
    target : {"y", "input"}
        ``"y"``: the run's targets (labels, regression targets, or ``x`` for an
        autoencoder); ``"input"``: reconstruct the stage input (stacked pairs).
    blocks : tuple of tuple of int
        One round: the blocks trained in order, each a run of consecutive
        entries of ``path``.
    epochs_per_block : int or None
        Epochs of the solver per block; ``None`` means the run's ``t_sngd``.
    solver : str or None
        Solver override (e.g. ``"sgd"`` for a backprop fine-tune).
    rounds : int or None
        Fixed number of rounds; ``None`` applies the run's stopping rule.
    max_rounds : int or None
        Cap on the rounds of a stage under the stopping rule (the smaller of
        it and the run's ``max_alternations``); ``None``: the run's cap.
    lr : float or None
        Learning rate of the stage's solver; ``None``: the run's ``lr``.
    """

    name: str
    path: tuple[int, ...]
    input_depth: int
    target: str
    blocks: tuple[tuple[int, ...], ...]
    epochs_per_block: int | None = None
    solver: str | None = None
    rounds: int | None = None
    max_rounds: int | None = None
    lr: float | None = None

    def __post_init__(self) -> None:
        if self.target not in ("y", "input"):
            raise ValueError(f"Stage target must be 'y' or 'input', got {self.target!r}")
        for block in self.blocks:
            if not block or block[0] not in self.path:
                raise ValueError(f"block {block} is not on the stage path {self.path}")
            pos = self.path.index(block[0])
            if tuple(self.path[pos : pos + len(block)]) != tuple(block):
                raise ValueError(f"block {block} is not a run of the stage path {self.path}")

    def block_position(self, block: tuple[int, ...]) -> int:
        """Index in ``path`` where ``block`` starts."""
        return self.path.index(block[0])


class Schedule(Protocol):
    """Anything with ``stages(model) -> list[Stage]``."""

    def stages(self, model: LayeredNet) -> list[Stage]: ...


_ORDERS = ("output_first", "input_first")


@dataclass(frozen=True)
class RoundRobin:
    """Train every layer in turn, all others fixed (``001``, Sec. 3.5).

    Parameters
    ----------
    order : {"output_first", "input_first"}, default="output_first"
        Direction of each sweep. ``"output_first"`` on a one-hidden-layer net
        is Algorithm 2 of ``000``/``001``.
    """

    order: str = "output_first"

    def __post_init__(self) -> None:
        if self.order not in _ORDERS:
            raise ValueError(f"RoundRobin order must be one of {_ORDERS}, got {self.order!r}")

    def stages(self, model: LayeredNet) -> list[Stage]:
        n = model.n_layers
        layers = range(n - 1, -1, -1) if self.order == "output_first" else range(n)
        return [
            Stage(
                name="round_robin",
                path=tuple(range(n)),
                input_depth=0,
                target="y",
                blocks=tuple((i,) for i in layers),
            )
        ]


_READINGS = ("stacked", "end_to_end")

#: Orders of the two blocks of a pair in :class:`GreedyPairs`.
PAIR_ORDERS = ("encoder_first", "decoder_first")


@dataclass(frozen=True)
class GreedyPairs:
    """Greedy outer-to-inner pair training of a deep autoencoder (Alg. 3, ``000``).

    Parameters
    ----------
    reading : {"stacked", "end_to_end"}, default="stacked"
        ``"stacked"``: pair ``i`` reconstructs the activations of encoder
        layer ``i-1`` (the 2020 paper's reading, Fig. 1 of ``001``);
        ``"end_to_end"``: pair ``i`` is trained against the reconstruction of
        ``x`` through the whole network (Algorithm 3 of ``000`` as printed).
    finetune_epochs : int, default=0
        Epochs of end-to-end backprop after the pairs (``000``, Sec. 4).
    finetune_solver : str, default="sgd"
        Solver of the fine-tune stage.
    finetune_lr : float, optional
        Learning rate of the fine-tune stage; ``None``: the run's ``lr`` (the
        SNGD step length of the pairs, usually far too small for SGD).
    pair_max_rounds : int, optional
        Cap on the alternation rounds of each pair (Algorithm 3's inner
        ``while``), so that a budget leaves room for the inner pairs and the
        fine-tune; ``None``: the run's ``max_alternations``.
    pair_order : {"decoder_first", "encoder_first"}, default="decoder_first"
        Which block of a pair each alternation trains first. Algorithm 3 of
        ``000`` as printed updates the encoder weights ``u_l`` (line 5) before
        the decoder weights ``v_{n-l}`` (line 6): ``"encoder_first"``.
        ``"decoder_first"`` follows Algorithm 2's order (the output block
        first, ``001``); it is the default because it trained better where we
        measured it (see :class:`dante.TrainConfig`).
    """

    reading: str = "stacked"
    finetune_epochs: int = 0
    finetune_solver: str = "sgd"
    pair_order: str = "decoder_first"
    finetune_lr: float | None = None
    pair_max_rounds: int | None = None

    def __post_init__(self) -> None:
        if self.reading not in _READINGS:
            raise ValueError(
                f"GreedyPairs reading must be one of {_READINGS}, got {self.reading!r}"
            )
        if self.finetune_lr is not None and not self.finetune_lr > 0:
            raise ValueError(f"finetune_lr must be > 0, got {self.finetune_lr!r}")
        if self.pair_max_rounds is not None and (
            isinstance(self.pair_max_rounds, bool)
            or not isinstance(self.pair_max_rounds, int)
            or self.pair_max_rounds < 1
        ):
            raise ValueError(f"pair_max_rounds must be an int >= 1, got {self.pair_max_rounds!r}")
        if self.pair_order not in PAIR_ORDERS:
            raise ValueError(
                f"GreedyPairs pair_order must be one of {PAIR_ORDERS}, got {self.pair_order!r}"
            )
        if isinstance(self.finetune_epochs, bool) or not isinstance(self.finetune_epochs, int):
            raise TypeError(f"finetune_epochs must be an int, got {self.finetune_epochs!r}")
        if self.finetune_epochs < 0:
            raise ValueError(f"finetune_epochs must be >= 0, got {self.finetune_epochs}")

    def stages(self, model: LayeredNet) -> list[Stage]:
        if not isinstance(model, Autoencoder):
            raise TypeError("GreedyPairs needs a dante.Autoencoder (mirrored encoder/decoder)")
        n = model.n_layers
        out = []
        for i in range(model.n_pairs):
            enc, dec = model.pair(i)
            blocks = ((enc,), (dec,)) if self.pair_order == "encoder_first" else ((dec,), (enc,))
            if self.reading == "stacked":
                out.append(
                    Stage(
                        name=f"pair{i}",
                        path=(enc, dec),
                        input_depth=enc,
                        target="input" if i > 0 else "y",
                        blocks=blocks,
                        max_rounds=self.pair_max_rounds,
                    )
                )
            else:
                out.append(
                    Stage(
                        name=f"pair{i}",
                        path=tuple(range(n)),
                        input_depth=0,
                        target="y",
                        blocks=blocks,
                        max_rounds=self.pair_max_rounds,
                    )
                )
        if self.finetune_epochs:
            out.append(
                Stage(
                    name="finetune",
                    path=tuple(range(n)),
                    input_depth=0,
                    target="y",
                    blocks=(tuple(range(n)),),
                    epochs_per_block=1,
                    solver=self.finetune_solver,
                    rounds=self.finetune_epochs,
                    lr=self.finetune_lr,
                )
            )
        return out


@dataclass(frozen=True)
class Backprop:
    """End-to-end backpropagation: the whole network is one block.

    One round is one epoch, so the run's stopping rule counts epochs.
    """

    def stages(self, model: LayeredNet) -> list[Stage]:
        n = model.n_layers
        return [
            Stage(
                name="backprop",
                path=tuple(range(n)),
                input_depth=0,
                target="y",
                blocks=(tuple(range(n)),),
                epochs_per_block=1,
            )
        ]


_SCHEDULES = {
    "round_robin": RoundRobin,
    "alternating": RoundRobin,
    "greedy_pairs": GreedyPairs,
    "backprop": Backprop,
}

#: Names accepted by :func:`get_schedule`.
SCHEDULE_NAMES: tuple[str, ...] = tuple(_SCHEDULES)


def get_schedule(spec: str | Schedule, **kwargs) -> Schedule:
    """Resolve a schedule by name (``round_robin``/``alternating``,
    ``greedy_pairs``, ``backprop``) or pass an object through."""
    if not isinstance(spec, str):
        if not hasattr(spec, "stages"):
            raise TypeError(f"schedule must be a name or have a stages() method, got {spec!r}")
        return spec
    key = spec.strip().lower().replace("-", "_")
    if key not in _SCHEDULES:
        raise ValueError(f"Unknown schedule {spec!r}; choose one of {', '.join(SCHEDULE_NAMES)}")
    return _SCHEDULES[key](**kwargs)


def default_schedule(model: LayeredNet) -> Schedule:
    """Greedy pairs (stacked) for an :class:`Autoencoder`, round-robin otherwise."""
    return GreedyPairs() if isinstance(model, Autoencoder) else RoundRobin()
