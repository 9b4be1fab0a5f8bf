"""Small float helpers shared by the theory modules."""

from __future__ import annotations

import math

__all__ = ["ceil_tolerant"]


def ceil_tolerant(x: float, rel: float = 1e-12) -> int:
    """``ceil(x)`` that ignores float noise of relative size ``rel``.

    Step counts and minibatch sizes set by a theorem (GLM-Tron's
    ``T = ceil(W^2 / eps)``, Theorem 3.5.2 of ``003_a707f9d83869f5a2.txt``;
    SNGD's ``T`` and ``b`` of Theorem 8 of ``001_1787bf99fca4a9f2.txt``) are
    ceilings of products and quotients of floats; a norm
    computed by a BLAS can come out one ulp high, and the plain ceiling then
    adds a whole step (``400.0000000000002 -> 401``). Values within ``rel``
    (relative) above an integer round down to it.

    Parameters
    ----------
    x : float
        A finite number.
    rel : float, default=1e-12
        Relative tolerance; ``x`` is lowered by ``rel * |x|`` before the ceiling.

    Returns
    -------
    int

    Raises
    ------
    OverflowError, ValueError
        ``x`` is infinite or NaN (as :func:`math.ceil`).
    """
    return math.ceil(x - rel * abs(x))
