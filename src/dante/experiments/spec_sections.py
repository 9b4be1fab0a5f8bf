"""The sections of an experiment spec (:mod:`dante.experiments.spec`).

One pydantic model per nested block of a spec's YAML: a compared method
(``methods``), the learning-rate selection (``selection``), DANTE's stopping
rule (``stopping``), a published number (``paper``) and the data this copy
lacks (``missing_data``). Each forbids unknown keys and checks its values
when a spec is loaded.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..config import METHODS, make_config, unknown_keys_message

__all__ = ["MethodSpec", "MissingDataSpec", "PaperRow", "SelectionSpec", "StoppingSpec"]


class MethodSpec(BaseModel):
    """One method of a comparison.

    Attributes
    ----------
    method : str
        A preset of :data:`dante.config.METHODS` (or a peer, e.g. ``am_adam``).
    lr_grid : list of float
        Candidates; the one with the lowest validation loss is used.
    overrides : dict
        Extra :class:`dante.TrainConfig` fields (``momentum``, ``t_sngd``,
        ``schedule``, ``solver``, ``batch_size`` ...).
    paper_lr : float, optional
        The rate the paper states; it is also run, without selection, as its
        own row ``<key>@paper`` labelled "paper rate".
    label : str, optional
        Name in tables and figures (defaults to the key in ``methods``).
    """

    model_config = ConfigDict(extra="forbid")
    method: str
    lr_grid: list[float] = Field(min_length=1)
    overrides: dict[str, Any] = Field(default_factory=dict)
    paper_lr: float | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _a_valid_config(self) -> MethodSpec:
        """``method``, every ``lr`` and ``overrides`` must make a valid TrainConfig."""
        rates = [*self.lr_grid, *([] if self.paper_lr is None else [self.paper_lr])]
        for lr in rates:
            try:
                make_config(**{"method": self.method, "lr": lr, **self.overrides})
            except TypeError as exc:  # an unknown key
                raise ValueError(f"overrides: {exc}".replace("argument", "key", 1)) from None
        if len(set(self.lr_grid)) != len(self.lr_grid):
            raise ValueError(f"lr_grid repeats a rate: {self.lr_grid}")
        return self

    @property
    def alternating(self) -> bool:
        """Whether the method alternates over blocks (and so runs under DANTE's
        stopping rule): its schedule (``overrides['schedule']`` or the preset's
        of :data:`dante.config.METHODS`) is not ``backprop``; a preset schedule of
        ``None`` is the model's default, round-robin or greedy pairs."""
        key = self.method.strip().lower().replace("-", "_").replace("+", "_")
        schedule = self.overrides.get("schedule") or METHODS[key][0]
        return schedule != "backprop"


class SelectionSpec(BaseModel):
    """Learning-rate selection by successive halving (``docs/PROTOCOL.md`` section 2).

    Attributes
    ----------
    val_fraction : float, default=0.1
        Share of the training part held out (seed 0, stratified) for selection.
    fraction : float, default=0.25
        Rung 1: every rate of the grid on one seed at this fraction of the budget.
    keep : int, default=3
        The best ``keep`` rates of rung 1 go on to rung 2.
    seeds : int, default=3
        Rung 2: each kept rate at the full budget on this many seeds; the lowest
        mean final validation loss wins (ties: the smaller rate).
    extend_edges : bool, default=True
        Extend the grid past an edge that wins rung 1 (the grid's own ratio).
    max_extensions : int, default=4
        At most this many extension steps per method and cell.
    share_by : {None, "dataset_depth"}, default=None
        ``"dataset_depth"``: one selection serves every cell with the same
        dataset, depth and variant (the cell that runs first selects).
    """

    model_config = ConfigDict(extra="forbid")
    val_fraction: float = Field(0.1, gt=0, lt=1)
    fraction: float = Field(0.25, gt=0, le=1)
    keep: int = Field(3, ge=1)
    seeds: int = Field(3, ge=1)
    extend_edges: bool = True
    max_extensions: int = Field(4, ge=0)
    share_by: Literal["dataset_depth"] | None = None


class StoppingSpec(BaseModel):
    """DANTE's stopping rule for the alternating methods (Algorithm 2 of
    ``001_1787bf99fca4a9f2.txt``: alternate while ``|f_t - f_{t-1}| >= tol`` or
    ``t < t_am``); the papers print neither value.

    Attributes
    ----------
    tol : float
        ``eps``: absolute change of the stage's training loss between rounds.
    t_am : int
        ``T_AM``: the least number of rounds.
    """

    model_config = ConfigDict(extra="forbid")
    tol: float = Field(ge=0, allow_inf_nan=False)
    t_am: int = Field(ge=1)


class PaperRow(BaseModel):
    """A number the paper publishes, attached to a cell of the experiment."""

    model_config = ConfigDict(extra="forbid")
    cell: str
    method: str
    metric: str
    value: float | None = None
    baseline: str | None = None
    baseline_value: float | None = None
    claim: Literal["better", "worse"] | None = None
    note: str = ""

    @property
    def paper_better(self) -> bool | None:
        """Whether the paper finds ``method`` better than its baseline."""
        if self.claim is not None:
            return self.claim == "better"
        if self.value is None or self.baseline_value is None:
            return None
        higher = self.metric.endswith("accuracy")
        return self.value > self.baseline_value if higher else self.value < self.baseline_value


class MissingDataSpec(BaseModel):
    """Data the spec needs and this copy lacks (stated in the deviation table).

    Attributes
    ----------
    datasets : list of str
        Names of :func:`dante.data.available` whose official files are absent.
    command : str
        The ``dante reproduce ...`` command that runs the spec once they are present.
    """

    model_config = ConfigDict(extra="forbid")
    datasets: list[str] = Field(min_length=1)
    command: str

    @model_validator(mode="after")
    def _known(self) -> MissingDataSpec:
        from ..data import available

        unknown = [d for d in self.datasets if d not in available()]
        if unknown:
            raise ValueError(unknown_keys_message(unknown, available()))
        if not self.command.startswith("dante reproduce "):
            raise ValueError(f"command must be a 'dante reproduce ...' line, got {self.command!r}")
        return self
