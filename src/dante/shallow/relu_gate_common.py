"""Shared pieces of the ReLU-gate learners of Ch. 3 of ``003_a707f9d83869f5a2.txt``.

The activation table of GLM-Tron (non-decreasing ``sigma`` with its Lipschitz
constant ``L``, Theorem 3.5.2), the argument checks every learner runs, and
the result types :class:`IterateResult` (modified SGD, Algorithm 2;
noise-assisted dynamics, Algorithm 3) and :class:`GLMTronResult`
(Algorithm 4). Re-exported by :mod:`dante.shallow.relu_gate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GATE_ACTIVATIONS", "GLMTronResult", "IterateResult"]

# ------------------------------------------------------------------ helpers


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


#: name -> (sigma, Lipschitz constant); all non-decreasing (GLM-Tron's assumption).
GATE_ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "relu": (lambda z: np.maximum(z, 0.0), 1.0),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), 1.0),
    "sigmoid": (_sigmoid, 0.25),
    "tanh": (np.tanh, 1.0),
    "identity": (lambda z: z, 1.0),
}


def _activation(
    activation: str | Callable[[np.ndarray], np.ndarray], lipschitz: float | None
) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    if isinstance(activation, str):
        key = activation.strip().lower().replace("-", "_")
        if key not in GATE_ACTIVATIONS:
            raise ValueError(
                f"activation {activation!r} is unknown; choose one of "
                f"{', '.join(GATE_ACTIVATIONS)} or pass a callable with lipschitz=..."
            )
        fn, L = GATE_ACTIVATIONS[key]
        if lipschitz is not None:
            L = _positive("lipschitz", lipschitz)
        return fn, L
    if not callable(activation):
        raise TypeError(f"activation must be a name or a callable, got {activation!r}")
    if lipschitz is None:
        raise ValueError(
            "lipschitz is required with a callable activation (GLM-Tron needs its "
            "Lipschitz constant L < 2, Theorem 3.5.2); pass lipschitz=L"
        )
    return activation, _positive("lipschitz", lipschitz)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def _nonneg(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a non-negative number, got {value!r}")
    value = float(value)
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return value


def _count(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _data(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n_samples, n_features), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or Inf; clean the inputs")
    if y is None:
        return X, np.empty(0)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-D with len(X)={len(X)} entries, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("y contains NaN or Inf; clean the labels")
    return X, y


def _vector(name: str, w: Any, n: int) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match X, got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError(f"{name} contains NaN or Inf")
    return w


@dataclass
class IterateResult:
    """Iterates of one run.

    Attributes
    ----------
    w : numpy.ndarray
        Final iterate.
    trajectory : numpy.ndarray of shape (T + 1, n)
        ``trajectory[0]`` is the start, ``trajectory[t]`` the iterate after ``t`` steps.
    step : float
        Step length used (``eta``; GLM-Tron's ``step``).
    """

    w: np.ndarray
    trajectory: np.ndarray
    step: float

    def distances(self, w_star: Any) -> np.ndarray:
        """``||w_t - w*||`` along the trajectory."""
        w_star = _vector("w_star", w_star, self.trajectory.shape[1])
        return np.linalg.norm(self.trajectory - w_star, axis=1)


@dataclass
class GLMTronResult(IterateResult):
    """GLM-Tron run; ``trajectory[t]`` is ``w_{t+1}`` in the thesis' indexing.

    Attributes
    ----------
    T : int
        Number of steps taken.
    lipschitz : float
        ``L`` of the activation.
    """

    T: int = 0
    lipschitz: float = 1.0
