"""Activations of Boob & Lan's SGD-GD with the sup-norms Lemma 5.4 needs.

``002_16d5585f51d1d631.txt``: the smooth activations of Sec. 4 (sigmoid,
tanh, softplus, Gaussian) with ``h'``, ``h''`` and the global suprema of
``|h|``, ``|h'|``, ``|h''|`` used by the Lipschitz bound of Lemma 5.4; ReLU
and leaky ReLU are registered only for the comparison experiment and flagged
non-smooth. Re-exported by :mod:`dante.shallow.sgd_gd`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = [
    "ACTIVATIONS",
    "SMOOTH_ACTIVATIONS",
    "SGDGDActivation",
    "get_sgd_gd_activation",
]

DTYPE = torch.float64
Fn = Callable[[torch.Tensor], torch.Tensor]


# ------------------------------------------------------------------ activations


@dataclass(frozen=True)
class SGDGDActivation:
    """An activation ``h`` with ``h'``, ``h''`` and the sup-norms Lemma 5.4 needs.

    ``sup_h``, ``sup_dh``, ``sup_d2h`` are global suprema of ``|h|``, ``|h'|``,
    ``|h''|`` over the real line (``inf`` where unbounded or, for non-smooth
    activations, where ``h'`` jumps). ``smooth`` is False for ReLU-type
    activations, which are registered only for the comparison experiment.
    """

    name: str
    h: Fn
    dh: Fn
    d2h: Fn
    smooth: bool
    sup_h: float
    sup_dh: float
    sup_d2h: float

    def sup_h_on(self, x_max: float) -> float:
        """``sup_{|x| <= x_max} |h(x)|`` (exact for the registered activations)."""
        if math.isfinite(self.sup_h):
            return self.sup_h
        x = torch.tensor([-x_max, x_max], dtype=DTYPE)
        return float(self.h(x).abs().max())


def _sigmoid_d2(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1 - s) * (1 - 2 * s)


def _tanh_d2(x: torch.Tensor) -> torch.Tensor:
    t = torch.tanh(x)
    return -2 * t * (1 - t * t)


ACTIVATIONS: dict[str, SGDGDActivation] = {
    "sigmoid": SGDGDActivation(
        "sigmoid",
        torch.sigmoid,
        lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
        _sigmoid_d2,
        True,
        1.0,
        0.25,
        math.sqrt(3.0) / 18.0,  # |s(1-s)(1-2s)| max at s = (3 +- sqrt 3)/6
    ),
    "tanh": SGDGDActivation(
        "tanh",
        torch.tanh,
        lambda x: 1 - torch.tanh(x) ** 2,
        _tanh_d2,
        True,
        1.0,
        1.0,
        4.0 / (3.0 * math.sqrt(3.0)),  # |2 t (1 - t^2)| max at t = 1/sqrt 3
    ),
    "softplus": SGDGDActivation(
        "softplus",
        torch.nn.functional.softplus,
        torch.sigmoid,
        lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
        True,
        math.inf,
        1.0,
        0.25,
    ),
    "gaussian": SGDGDActivation(
        "gaussian",
        lambda x: torch.exp(-x * x),
        lambda x: -2 * x * torch.exp(-x * x),
        lambda x: (4 * x * x - 2) * torch.exp(-x * x),
        True,
        1.0,
        math.sqrt(2.0) * math.exp(-0.5),  # |2x e^{-x^2}| max at x^2 = 1/2
        2.0,  # |(4x^2 - 2) e^{-x^2}| max at x = 0
    ),
    "relu": SGDGDActivation(
        "relu",
        torch.relu,
        lambda x: (x > 0).to(x.dtype),
        torch.zeros_like,
        False,
        math.inf,
        1.0,
        math.inf,
    ),
    "leaky_relu": SGDGDActivation(
        "leaky_relu",
        lambda x: torch.where(x > 0, x, 0.01 * x),
        lambda x: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, 0.01)),
        torch.zeros_like,
        False,
        math.inf,
        1.0,
        math.inf,
    ),
}

#: the smooth activations of Sec. 4 that Algorithm 1 is meant for.
SMOOTH_ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "softplus", "gaussian")


def get_sgd_gd_activation(activation: str | SGDGDActivation) -> SGDGDActivation:
    """Look an activation up by name in :data:`ACTIVATIONS`."""
    if isinstance(activation, SGDGDActivation):
        return activation
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
    return ACTIVATIONS[activation]
