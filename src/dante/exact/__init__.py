"""Exact oracles: certified ERM for tiny depth-2 ReLU nets and PWL constructions.

``003_a707f9d83869f5a2.txt`` Ch. 2 (Algorithm 1 of Sec. 2.4 and the
constructions of Sec. 2.3); see :mod:`dante.exact.erm`, :mod:`dante.exact.pwl`
and ``docs/SHALLOW.md``. The study ``dante reproduce exact_erm`` lives in
:mod:`dante.exact.study`."""

from __future__ import annotations

from . import erm, pwl
from .erm import (
    ERMResult,
    dichotomies,
    exact_erm,
    pattern_qp,
)
from .pwl import (
    ReLUNet,
    count_pieces,
    hard_function_net,
    max_affine_net,
    piece_bound,
    pwl_eval,
    pwl_to_relu,
    random_relu_net,
    sawtooth_net,
)

__all__ = [
    "ERMResult",
    "ReLUNet",
    "count_pieces",
    "dichotomies",
    "erm",
    "exact_erm",
    "hard_function_net",
    "max_affine_net",
    "pattern_qp",
    "piece_bound",
    "pwl",
    "pwl_eval",
    "pwl_to_relu",
    "random_relu_net",
    "sawtooth_net",
]
