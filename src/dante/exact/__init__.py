"""Exact oracles: certified ERM for depth-2 ReLU nets and PWL constructions.

``003_a707f9d83869f5a2.txt`` Ch. 2: Algorithm 1 of Sec. 2.4 in
:mod:`dante.exact.erm` (driver), :mod:`dante.exact.arrangement` (dichotomies in
``R^n``) and :mod:`dante.exact.convex_fit` (one guess' convex program); the
constructions of Secs. 2.2-2.3 in :mod:`dante.exact.pwl` (``R -> R``) and
:mod:`dante.exact.zonotope` (``R^n -> R``: Theorem 2.2.1's nets, the zonotope
family of Theorem 2.3.10, piece counting on grids); see ``docs/SHALLOW.md``.
The studies ``dante reproduce exact_erm`` and ``dante reproduce zonotope`` live
in :mod:`dante.exact.study` and :mod:`dante.exact.zonotope_study`."""

from __future__ import annotations

from . import arrangement, convex_fit, erm, pwl
from .arrangement import *  # noqa: F403  (exactly arrangement.__all__)
from .convex_fit import *  # noqa: F403  (exactly convex_fit.__all__)
from .erm import *  # noqa: F403  (exactly erm.__all__)
from .pwl import *  # noqa: F403  (exactly pwl.__all__)

__all__ = sorted(
    {"arrangement", "convex_fit", "erm", "pwl"}
    | set(arrangement.__all__)
    | set(convex_fit.__all__)
    | set(erm.__all__)
    | set(pwl.__all__)
)
