"""Studies: experiments that are not a grid of trained networks.

The DANTE tables and figures are :class:`~dante.experiments.spec.ExperimentSpec`
grids run by :mod:`dante.experiments.runner`. The theory and
shallow-network pieces of the other seed papers (SLQC and theory-set SNGD,
ReLU-gate learners, Boob-Lan SGD-GD, Nguyen-Wong-Hegde recovery, the
sparse-coding autoencoder, exact ERM) are *studies*: a function
``run(quick, seeds, out_dir) -> StudyResult`` registered under a name, which
``dante reproduce NAME`` runs and ``docs/RESULTS.md`` renders.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["STUDIES", "STUDY_KIND", "Claim", "StudyResult", "register_study", "study_arguments"]

#: the ``kind`` field that marks a study's JSON in a results folder
STUDY_KIND = "study"


@dataclass
class Claim:
    """A statement of a paper checked by the study, and whether it held."""

    claim: str
    holds: bool
    evidence: str


@dataclass
class StudyResult:
    """What a study writes: a table, claims, figures and the setup used.

    ``rows`` are flat dicts with the same keys (rendered as one markdown
    table in that key order); numbers are Python floats/ints. ``figures`` are
    PNG file names written into ``out_dir``.
    """

    title: str
    source: str
    setup: str
    rows: list[dict[str, Any]]
    claims: list[Claim] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


StudyFn = Callable[[bool, Sequence[int], Path], StudyResult]

#: name -> study function, filled by :func:`register_study`.
STUDIES: dict[str, StudyFn] = {}


def register_study(name: str) -> Callable[[StudyFn], StudyFn]:
    """Decorator: register ``fn(quick, seeds, out_dir) -> StudyResult``."""

    def deco(fn: StudyFn) -> StudyFn:
        STUDIES[name] = fn
        return fn

    return deco


def study_arguments(
    quick: bool, seeds: Sequence[int], out_dir: str | Path
) -> tuple[list[int], Path]:
    """Check a study's arguments; return the seeds as ints and the created ``out_dir``.

    Raises
    ------
    TypeError
        ``quick`` is not a bool or a seed is not an integer.
    ValueError
        ``seeds`` is empty.
    """
    if not isinstance(quick, bool):
        raise TypeError(f"quick must be a bool, got {quick!r}")
    try:
        ints = [operator.index(s) for s in seeds]
    except TypeError:
        raise TypeError(f"seeds must be integers, got {list(seeds)!r}") from None
    if not ints:
        raise ValueError("seeds must hold at least one seed, e.g. seeds=[0]")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return ints, out
