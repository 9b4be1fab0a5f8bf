"""Exact oracles: certified ERM for tiny depth-2 ReLU nets and PWL constructions.

``003_a707f9d83869f5a2.txt`` Ch. 2 (Algorithm 1 of Sec. 2.4 and the
constructions of Sec. 2.3); see :mod:`dante.exact.erm`, :mod:`dante.exact.pwl`
and ``docs/SHALLOW.md``. The study ``dante reproduce exact_erm`` lives in
:mod:`dante.exact.study`."""

from __future__ import annotations

from . import erm, pwl
from .erm import *  # noqa: F403  (exactly erm.__all__)
from .pwl import *  # noqa: F403  (exactly pwl.__all__)

__all__ = ["erm", "pwl", *erm.__all__, *pwl.__all__]
