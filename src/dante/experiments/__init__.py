"""Reproductions of the DANTE paper's tables and figures.

Each table/figure is a YAML spec in ``configs/`` (see :mod:`.spec`), run by
:func:`run_experiment` under one protocol (:mod:`.runner`) and reported by
:func:`write_results_md` (:mod:`.report`).
"""

from .report import plot_experiment, write_results_md
from .runner import run_experiment
from .spec import ExperimentSpec, list_experiments, load_spec

__all__ = [
    "ExperimentSpec",
    "list_experiments",
    "load_spec",
    "plot_experiment",
    "run_experiment",
    "write_results_md",
]
