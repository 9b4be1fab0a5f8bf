"""Experiment specifications: one YAML file per table or figure of the paper.

A spec names the datasets, architectures, methods with their learning-rate
grids, the shared budget, the protocol (``selection``, ``stopping``,
``budget_match``; see ``docs/PROTOCOL.md``) and the paper's published numbers.
It is validated with pydantic when loaded, so a bad key is reported by name.
"""

from __future__ import annotations

import re
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..config import expected_type, unknown_keys_message
from .spec_sections import MethodSpec, MissingDataSpec, PaperRow, SelectionSpec, StoppingSpec

__all__ = [
    "ExperimentSpec",
    "MethodSpec",
    "PaperRow",
    "SelectionSpec",
    "StoppingSpec",
    "list_experiments",
    "load_spec",
]

#: Suffix of the method key of a paper-rate row (``dante@paper``).
PAPER_SUFFIX = "@paper"


def cell_slug(dataset: str, hidden: list[int], variant: dict[str, Any]) -> str:
    """File-safe name of a cell, e.g. ``mnist__400-200__activation=sigmoid``."""
    parts = [dataset, "-".join(map(str, hidden))]
    parts += [f"{k}={v}" for k, v in sorted(variant.items())]
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "__".join(parts))


class ExperimentSpec(BaseModel):
    """A table or figure to reproduce.

    ``cells`` are the product of ``datasets`` x ``architectures`` x
    ``variants``; every method of ``methods`` runs in every cell with the same
    budget of weights updated: ``budget_epochs`` epochs of end-to-end backprop
    on that cell's network (``budget_epochs * n_params * steps_per_epoch``).

    The protocol fields (``docs/PROTOCOL.md``): ``selection`` (successive
    halving of the learning rate on a validation split), ``stopping`` (``tol``
    and ``t_am`` of DANTE's stopping rule, for the alternating methods),
    ``budget_match`` (the method whose weights updated per seed every
    non-alternating method is given; ``None``: all run to the cap) and
    ``budget_source`` (where ``budget_epochs`` comes from, free text).

    The seed plan: ``seeds`` runs in every cell, unless ``verdict_cells`` names
    some (cell names, or names without their variant part, as ``--only`` takes
    them): then ``seeds`` applies to those and ``other_seeds`` (``None``: the
    same) to the rest, whose means carry no verdict below 5 seeds
    (``docs/PROTOCOL.md`` section 5). ``budget_by_cell`` gives some cells
    (named the same way) their own ``budget_epochs``. Neither enters a unit's
    hash except through the budget of its own cell (``persist.unit_hash``).
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    source: str
    kind: Literal["supervised", "autoencoder_svm", "reconstruction", "regression"]
    datasets: list[str]
    dataset_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    architectures: list[list[int]]
    architecture_by_dataset: dict[str, list[list[int]]] = Field(default_factory=dict)
    variants: list[dict[str, Any]] = Field(default_factory=lambda: [{}])
    activation: str = "leaky_relu"
    output_activation: str = "leaky_relu"
    loss: Literal["mse", "cross_entropy"] = "mse"
    batch_size: int = Field(100, ge=1)
    t_sngd: int = Field(5, ge=1)
    budget_epochs: float = Field(gt=0)
    methods: dict[str, MethodSpec]
    baseline: str = "sgd"
    seeds: int = Field(5, ge=1)
    verdict_cells: list[str] = Field(default_factory=list)
    other_seeds: int | None = Field(None, ge=1)
    budget_by_cell: dict[str, float] = Field(default_factory=dict)
    selection: SelectionSpec = Field(default_factory=SelectionSpec)
    stopping: StoppingSpec | None = None
    budget_match: str | None = "dante"
    budget_source: str = ""
    metric: Literal["test_accuracy", "test_loss", "svm_accuracy"] = "test_accuracy"
    scaled: str = ""
    notes: str = ""
    paper: list[PaperRow] = Field(default_factory=list)
    quick: dict[str, Any] = Field(default_factory=dict)
    # the deviation table of docs/RESULTS.md (experiments/deviations.py) -------
    substitutes: dict[str, str] = Field(default_factory=dict)
    paper_architectures: list[list[int]] | None = None
    deviations: list[str] = Field(default_factory=list)
    missing_data: MissingDataSpec | None = None

    @model_validator(mode="after")
    def _deviation_fields(self) -> ExperimentSpec:
        """``substitutes`` maps a dataset of ours to the paper's; the paper's
        hidden sizes are positive; free-text deviations are not empty."""
        from ..data import available  # quick specs drop datasets: check names, not membership

        for ours, theirs in self.substitutes.items():
            if ours not in available():
                raise ValueError(f"substitutes: {unknown_keys_message([ours], available())}")
            if not theirs.strip() or theirs == ours:
                raise ValueError(f"substitutes: {ours!r} needs the paper's dataset, got {theirs!r}")
        for hidden in self.paper_architectures or []:
            if not hidden or min(hidden) < 1:
                raise ValueError(f"paper_architectures: bad hidden sizes {hidden}")
        if any(not d.strip() for d in self.deviations):
            raise ValueError("deviations: an entry is empty")
        return self

    @model_validator(mode="after")
    def _cell_plans(self) -> ExperimentSpec:
        """``verdict_cells`` and ``budget_by_cell`` name cells of the spec; ``other_seeds``
        needs ``verdict_cells``."""
        slugs = self.cell_names()
        for key, names in (
            ("verdict_cells", self.verdict_cells),
            ("budget_by_cell", list(self.budget_by_cell)),
        ):
            for name in names:
                if not any(cell_matches(slug, name) for slug in slugs):
                    raise ValueError(
                        f"bad key {key!r}: {name!r} names no cell of the spec; the cells are "
                        f"{', '.join(slugs)}"
                    )
        if self.other_seeds is not None and not self.verdict_cells:
            raise ValueError(
                "bad key 'other_seeds': it needs 'verdict_cells' (the cells that run 'seeds')"
            )
        bad = {k: v for k, v in self.budget_by_cell.items() if not v > 0}
        if bad:
            raise ValueError(f"bad key 'budget_by_cell': budgets must be > 0, got {bad}")
        return self

    def cell_keys(self) -> list[tuple[str, list[int], dict[str, Any]]]:
        """``(dataset, hidden, variant)`` of every cell, in spec order (datasets,
        then architectures, then variants): what ``training.cells`` builds on."""
        return [
            (ds, list(hidden), dict(variant))
            for ds in self.datasets
            for hidden in self.architecture_by_dataset.get(ds, self.architectures)
            for variant in self.variants
        ]

    def cell_names(self) -> list[str]:
        """The names of the spec's cells, in spec order (:func:`cell_slug` of each)."""
        return [cell_slug(*key) for key in self.cell_keys()]

    def is_verdict_cell(self, slug: str) -> bool:
        """Whether the cell runs ``seeds`` seeds (every cell when ``verdict_cells`` is empty)."""
        return not self.verdict_cells or any(cell_matches(slug, n) for n in self.verdict_cells)

    def seeds_for(self, slug: str) -> int:
        """How many seeds the cell ``slug`` runs (``seeds`` or ``other_seeds``)."""
        if self.is_verdict_cell(slug) or self.other_seeds is None:
            return self.seeds
        return self.other_seeds

    def budget_for(self, slug: str) -> float:
        """``budget_epochs`` of the cell ``slug`` (its entry of ``budget_by_cell``, if any;
        the longest matching name wins)."""
        names = [n for n in self.budget_by_cell if cell_matches(slug, n)]
        return self.budget_by_cell[max(names, key=len)] if names else self.budget_epochs

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: Any) -> Any:
        """The keys the protocol of issue 13 moved, named with their new place."""
        if isinstance(data, dict):
            for old, new in _MOVED.items():
                if old in data:
                    raise ValueError(f"bad key {old!r}: now {new} (docs/PROTOCOL.md)")
        return data

    @model_validator(mode="after")
    def _protocol(self) -> ExperimentSpec:
        """``budget_match`` names a method; alternating methods need ``stopping``."""
        if self.budget_match is not None and self.budget_match not in self.methods:
            raise ValueError(
                f"bad key 'budget_match': {self.budget_match!r} is not a method of the spec; "
                f"choose one of {', '.join(self.methods)} or null"
            )
        alternating = [k for k, m in self.methods.items() if m.alternating]
        if alternating and self.stopping is None:
            raise ValueError(
                f"bad key 'stopping': {{tol, t_am}} is required: {', '.join(alternating)} "
                "run(s) under DANTE's stopping rule (Algorithm 2)"
            )
        bad = [k for k in self.methods if k.endswith(PAPER_SUFFIX)]
        if bad:
            raise ValueError(
                f"bad key 'methods.{bad[0]}': a key may not end in {PAPER_SUFFIX!r} (reserved "
                "for paper-rate rows)"
            )
        return self

    @field_validator("variants")
    @classmethod
    def _variant_keys(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for variant in v:
            unknown = [k for k in variant if k not in VARIANT_KEYS]
            if unknown:
                raise ValueError(unknown_keys_message(unknown, VARIANT_KEYS))
        return v


def cell_matches(slug: str, name: str) -> bool:
    """Whether ``name`` names the cell ``slug``: the whole name, or a leading part of
    it that ends where a part of the name does (``mnist``, ``mnist__100``, the latter
    for every variant of ``mnist__100``), as ``dante reproduce --only`` takes it."""
    return slug == name or slug.startswith(name + "__")


#: Keys replaced by the ``selection`` block, with their new place.
_MOVED = {
    "lr_budget_fraction": "selection.fraction",
    "val_fraction": "selection.val_fraction",
}

#: What a variant of a cell may change (read by :mod:`dante.experiments.runner`).
VARIANT_KEYS = ("activation", "output_activation", "loss", "t_sngd", "batch_size")


def _model_at(loc: tuple[Any, ...]) -> Any:
    """The spec model holding the value at ``loc`` (``None`` when not a model)."""
    model: Any = ExperimentSpec
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(str(part))
            model = None if field is None else field.annotation
        else:  # dict[str, M] / list[M]: ``part`` is a key or an index
            args = getattr(model, "__args__", ())
            model = args[-1] if args else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _explain(err: dict[str, Any]) -> str:
    """pydantic's message, with the valid keys of an unknown key's model or the
    expected type of a bad value."""
    loc = tuple(err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    model = _model_at(loc[:-1]) if loc else None
    if model is None:
        return msg
    if err["type"] == "extra_forbidden":
        return unknown_keys_message([loc[-1]], model.model_fields)
    field = model.model_fields.get(str(loc[-1]))
    if (
        field is not None
        and err["type"] != "value_error"
        and typing.get_origin(field.annotation) is not Literal
    ):
        msg += f" (expected {expected_type(field.annotation)})"
    return msg


def _config_dir() -> Path:
    return Path(str(resources.files("dante.experiments").joinpath("configs")))


def list_experiments() -> list[str]:
    """Names of the bundled experiment specs."""
    return sorted(p.stem for p in _config_dir().glob("*.yaml"))


def load_spec(name_or_path: str | Path, *, quick: bool = False) -> ExperimentSpec:
    """Load a bundled spec by name, or a YAML file by path.

    Parameters
    ----------
    name_or_path : str or path
    quick : bool, default=False
        Apply the spec's ``quick`` overrides (tiny subsets, one seed).
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = _config_dir() / f"{name_or_path}.yaml"
        if not path.exists():
            raise ValueError(
                f"unknown experiment {name_or_path!r}; "
                f"choose one of {', '.join(list_experiments())}"
            )
    if not path.exists():
        raise ValueError(f"experiment file {str(path)!r} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: top level must be a mapping")
    if quick:
        quick_raw = raw.get("quick", {})
        merged = {**raw, **quick_raw}
        for key in ("selection", "stopping"):  # merged key by key, not replaced
            if isinstance(raw.get(key), dict) and isinstance(quick_raw.get(key), dict):
                merged[key] = {**raw[key], **quick_raw[key]}
        for key in ("verdict_cells", "other_seeds", "budget_by_cell"):
            if key not in quick_raw:  # they name the full spec's cells; quick has others
                merged.pop(key, None)
        raw = merged
        opts = raw.get("quick_dataset_options")
        if opts:
            raw["dataset_options"] = opts
        raw.pop("quick_dataset_options", None)
    else:
        raw.pop("quick_dataset_options", None)
    try:
        return ExperimentSpec(**raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        if not loc:  # a whole-spec check: its message names the key
            raise ValueError(f"{path.name}: {_explain(err)}") from None
        raise ValueError(f"{path.name}: bad key {loc!r}: {_explain(err)}") from None
