"""SLQC constants of ``001_1787bf99fca4a9f2.txt`` and the theory-set SNGD parameters.

``kappa_*``: the constants of Theorems 1, 3, 4/5, 6, 7 and Corollaries 1/2
of ``001`` (and the sigmoid constant of Hazan et al.);
:func:`theory_hyperparameters`: the learning rate, step count and minibatch
size of Theorem 8 of ``001`` (Theorem 3.6 of ``000_16cd8e47eb5a686b.txt``).
Re-exported by :mod:`dante.theory.slqc`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dante._numerics import ceil_tolerant
from dante.theory.slqc_arguments import (
    _nonnegative,
    _positive,
    _slopes,
)

__all__ = [
    "TheoryHyperparameters",
    "kappa_generalized_relu",
    "kappa_hidden_layer",
    "kappa_relu",
    "kappa_sigmoid_bce",
    "kappa_sigmoid_glm",
    "kappa_softmax_ce",
    "theory_hyperparameters",
]

# ----------------------------------------------------------------------------
# SLQC constants
# ----------------------------------------------------------------------------


def kappa_sigmoid_glm(w_norm: float) -> float:
    """``kappa = exp(||w*||)``: the idealized sigmoid GLM (Hazan et al., Sec. 3.2 of ``001``).

    Parameters
    ----------
    w_norm : float
        ``||w*||`` (or a bound ``W`` on it), ``>= 0``.
    """
    return math.exp(_nonnegative("w_norm", w_norm))


def kappa_generalized_relu(w_norm: float, a: float, b: float) -> float:
    """``kappa = 2 b^3 W / a``: generalized-ReLU GLM (Theorem 1) or layer (Theorem 3) of ``001``.

    Parameters
    ----------
    w_norm : float
        ``W >= ||w*||`` (``||W*||_F`` for a layer), ``> 0``.
    a, b : float
        Slopes of the generalized ReLU, ``0 < a <= b``.
    """
    w_norm = _positive("w_norm", w_norm)
    a, b = _slopes(a, b, allow_zero_a=False)
    return 2.0 * b**3 * w_norm / a


def kappa_relu(w_norm: float, b: float = 1.0) -> float:
    """``kappa = 2 b^2 W``: standard ReLU (``a = 0``), Corollaries 1/2 of ``001``.

    Parameters
    ----------
    w_norm : float
        ``W >= ||w*||``, ``> 0``.
    b : float, default=1.0
        Slope of the positive side.
    """
    return 2.0 * _positive("b", b) ** 2 * _positive("w_norm", w_norm)


def kappa_hidden_layer(w1_norm: float, w2_norm: float, eps: float, a: float, b: float) -> float:
    """``kappa = (a / (4 b^5 W2^2 W1) - W1/eps)^{-1}``: hidden layer, Theorems 4/5 of ``001``.

    Parameters
    ----------
    w1_norm, w2_norm : float
        Bounds ``W1 >= ||W1*||_F`` and ``W2 >= ||W2*||``, both ``> 0``.
    eps : float
        The accuracy ``eps > 0`` (this constant depends on it).
    a, b : float
        Generalized-ReLU slopes, ``0 < a <= b``.

    Raises
    ------
    ValueError
        If the bracket is ``<= 0``, i.e. ``eps <= 4 b^5 W2^2 W1^2 / a``: then
        Theorem 4's proof gives no positive ``kappa`` (the term ``W1/eps``
        comes from ``||W1 - W1*|| <= 2 W1`` and swamps the curvature term), so
        no SLQC constant is certified.
    """
    w1 = _positive("w1_norm", w1_norm)
    w2 = _positive("w2_norm", w2_norm)
    eps = _positive("eps", eps)
    a, b = _slopes(a, b, allow_zero_a=False)
    bracket = a / (4.0 * b**5 * w2**2 * w1) - w1 / eps
    if bracket <= 0.0:
        raise ValueError(
            f"Theorem 4 of 001 certifies no kappa here: a/(4 b^5 W2^2 W1) - W1/eps = {bracket:.4g}"
            f" <= 0; it needs eps > 4 b^5 W2^2 W1^2 / a = {4 * b**5 * w2**2 * w1**2 / a:.4g}"
            " (raise eps or shrink the weight bounds)"
        )
    return 1.0 / bracket


def kappa_sigmoid_bce(eps: float) -> float:
    """``kappa = eps / (1 - e^{-eps})^2``: sigmoid + binary cross-entropy, Theorem 6 of ``001``."""
    eps = _positive("eps", eps)
    return eps / (-math.expm1(-eps)) ** 2


def kappa_softmax_ce(eps: float, n_outputs: int) -> float:
    """``kappa = eps d' / (1 - e^{-eps})^2``: softmax + cross-entropy, Theorem 7 of ``001``.

    Parameters
    ----------
    eps : float
        ``eps > 0``.
    n_outputs : int
        ``d'``, the number of softmax outputs (``>= 1``).
    """
    eps = _positive("eps", eps)
    if isinstance(n_outputs, bool) or not isinstance(n_outputs, (int, np.integer)):
        raise TypeError(f"'n_outputs' must be an int, got {n_outputs!r}")
    if n_outputs < 1:
        raise ValueError(f"'n_outputs' must be >= 1, got {n_outputs}")
    return eps * int(n_outputs) / (-math.expm1(-eps)) ** 2


# ----------------------------------------------------------------------------
# Theorem 8 / 3.6: theory-set hyperparameters
# ----------------------------------------------------------------------------


def _ceil(x: float) -> int:
    """``ceil`` that ignores float noise of relative size 1e-12 (``1600.0000000000002 -> 1600``)."""
    if not math.isfinite(x):
        raise OverflowError(f"theory hyperparameter is not finite ({x}); kappa or 1/eps too large")
    return ceil_tolerant(x)


@dataclass(frozen=True)
class TheoryHyperparameters:
    """``(eta, T, b)`` of Theorem 8 of ``001`` / Theorem 3.6 of ``000`` and their inputs.

    Attributes
    ----------
    eta : float
        Learning rate ``eps / kappa``.
    T : int
        Number of SNGD steps ``ceil(kappa^2 dist0^2 / eps^2)`` (at least 1).
    b : int
        Minibatch size ``ceil(M^2 log(4T/delta) / (2 eps^2))`` (at least 1).
    eps, delta, kappa, M, dist0 : float
        The inputs.
    """

    eta: float
    T: int
    b: int
    eps: float
    delta: float
    kappa: float
    M: float
    dist0: float

    def __iter__(self):  # allows ``eta, T, b = theory_hyperparameters(...)``
        return iter((self.eta, self.T, self.b))


def theory_hyperparameters(
    eps: float, delta: float, kappa: float, M: float, dist0: float
) -> TheoryHyperparameters:
    """Learning rate, steps and minibatch size from Theorem 8 of ``001_1787bf99fca4a9f2.txt``.

    With ``eta = eps/kappa``, ``T >= kappa^2 ||w_1 - w*||^2 / eps^2`` and
    ``b >= M^2 log(4T/delta) / (2 eps^2)`` SNGD reaches ``f - f* <= 3 eps``
    with probability ``1 - 2 delta`` (the printed ``3 eps^3`` is a typo;
    Theorem 3.6 of ``000`` and Hazan et al. have ``3 eps``). The smallest
    admissible integers are returned; the ``b_0`` of the theorem (the batch
    size that makes the minibatch loss SLQC) is problem specific and not
    included.

    Parameters
    ----------
    eps : float
        Target accuracy ``eps > 0``.
    delta : float
        Failure probability, ``0 < delta < 1/2``.
    kappa : float
        SLQC constant ``kappa > 0``.
    M : float
        Bound ``|f_t| <= M`` on the minibatch losses, ``> 0``.
    dist0 : float
        ``||w_1 - w*||``, ``>= 0`` (``T`` is at least 1 even when it is 0).

    Returns
    -------
    TheoryHyperparameters
        Unpacks as ``eta, T, b``.
    """
    eps = _positive("eps", eps)
    delta = _positive("delta", delta)
    if delta >= 0.5:
        raise ValueError(
            f"'delta' must be in (0, 1/2) (success probability 1 - 2 delta), got {delta}"
        )
    kappa = _positive("kappa", kappa)
    M = _positive("M", M)
    dist0 = _nonnegative("dist0", dist0)
    T = max(1, _ceil(kappa**2 * dist0**2 / eps**2))
    b = max(1, _ceil(M**2 * math.log(4.0 * T / delta) / (2.0 * eps**2)))
    return TheoryHyperparameters(
        eta=eps / kappa, T=T, b=b, eps=eps, delta=delta, kappa=kappa, M=M, dist0=dist0
    )
