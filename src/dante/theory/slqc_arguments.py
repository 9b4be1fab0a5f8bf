"""Argument checks shared by the SLQC toolkit of ``001_1787bf99fca4a9f2.txt``.

Real, positive and non-negative numbers, the generalized-ReLU slopes
``0 < a <= b`` of Theorem 1 (``a = 0`` only for the standard ReLU of
Corollaries 1/2), and the conversion of tensors and arrays to flat float64
vectors (Definitions 1 and 4 use the Euclidean / Frobenius inner product).
Used by :mod:`dante.theory.slqc` and its parts.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["ArrayLike"]

ArrayLike = Any  # torch.Tensor, numpy.ndarray, or anything numpy.asarray accepts

# ----------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name!r} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name!r} must be finite, got {value!r}")
    return value


def _positive(name: str, value: Any) -> float:
    value = _real(name, value)
    if value <= 0.0:
        raise ValueError(f"{name!r} must be > 0, got {value!r}")
    return value


def _nonnegative(name: str, value: Any) -> float:
    value = _real(name, value)
    if value < 0.0:
        raise ValueError(f"{name!r} must be >= 0, got {value!r}")
    return value


def _slopes(a: Any, b: Any, *, allow_zero_a: bool) -> tuple[float, float]:
    a = _nonnegative("a", a)
    b = _positive("b", b)
    if a > b:
        raise ValueError(f"the generalized ReLU needs 0 < a <= b, got a={a} > b={b}")
    if a == 0.0 and not allow_zero_a:
        raise ValueError(
            "'a' must be > 0 for the generalized-ReLU constant 2 b^3 W / a "
            "(Theorem 1 of 001); for the standard ReLU (a = 0) use kappa_relu"
        )
    return a, b


def _to_numpy(name: str, value: ArrayLike) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        arr = value.detach().to("cpu", torch.float64).numpy()
    else:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name!r} must be a torch tensor or a numeric array, got {type(value).__name__}"
            ) from exc
    return arr.reshape(-1)


def _scalar(name: str, value: Any) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name!r} must return a scalar, got shape {tuple(value.shape)}")
        return float(value.detach().cpu().item())
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"{name!r} must return a scalar, got shape {arr.shape}")
    return float(arr.reshape(-1)[0])
