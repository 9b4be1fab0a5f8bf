"""Theory toolkit of the DANTE papers: SLQC, SLQC constants, theory-set SNGD.

``001_1787bf99fca4a9f2.txt`` Sec. 3.2-3.4 and ``000_16cd8e47eb5a686b.txt``
Sec. 3; see :mod:`dante.theory.slqc` and ``docs/SHALLOW.md``. The study
``dante reproduce slqc`` lives in :mod:`dante.theory.study`."""

from __future__ import annotations

from . import slqc
from .slqc import *  # noqa: F403  (exactly slqc.__all__)

__all__ = ["slqc", *slqc.__all__]
