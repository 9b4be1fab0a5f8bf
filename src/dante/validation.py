"""Input checks at the public API boundary.

Every check raises ``ValueError`` or ``TypeError`` naming the argument and
what is allowed, before any tensor reaches torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._pages import PageReleaser

__all__ = ["as_features", "as_targets", "check_lengths"]


def _to_numpy(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array-like of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name} could not be converted to an array ({exc}); is it ragged?"
        ) from None
    if arr.dtype == object:
        raise TypeError(f"{name} must hold numbers, got a ragged or object array")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
    return arr


def as_features(X: Any, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """Check a 2-D finite, non-empty float matrix and return it as float32.

    A float32 C-contiguous array (e.g. a memory map) is returned without a copy.
    """
    arr = _to_numpy(X, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}; "
            "reshape a single sample with X.reshape(1, -1) or flatten images first"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs samples and features")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features but the model expects {n_features}")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    _check_finite(arr, name)
    return arr


def _check_finite(arr: np.ndarray, name: str, chunk: int = 1 << 14) -> None:
    # chunked, and the pages of a memory map released as we go, so that a
    # memory-mapped matrix never becomes resident whole
    pages = PageReleaser(arr)
    for start in range(0, arr.shape[0], chunk):
        part = arr[start : start + chunk]
        finite = bool(np.isfinite(part).all())
        pages.tick(part.nbytes)
        if not finite:
            bad = start + int(np.argwhere(~np.isfinite(part))[0][0])
            raise ValueError(f"{name} contains NaN or Inf (first at row {bad}); clean or impute it")
    pages.release()


def as_targets(
    y: Any,
    name: str = "y",
    *,
    classification: bool,
    n_classes: int | None = None,
    n_outputs: int | None = None,
) -> np.ndarray:
    """Check targets: int64 labels in ``[0, n_classes)`` or finite float32 values."""
    arr = _to_numpy(y, name)
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; it needs one target per sample")
    if classification:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D class labels, got shape {arr.shape}")
        if np.issubdtype(arr.dtype, np.floating):
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or Inf")
            if not np.all(arr == np.round(arr)):
                raise ValueError(
                    f"{name} holds non-integer values; classification needs integer labels "
                    "(pass task='regression' for real-valued targets)"
                )
        arr = arr.astype(np.int64)
        if n_classes is not None:
            lo, hi = int(arr.min()), int(arr.max())
            if lo < 0 or hi >= n_classes:
                raise ValueError(
                    f"{name} has labels in [{lo}, {hi}] but must lie in [0, {n_classes}) "
                    f"for a network with {n_classes if n_classes > 2 else 1} output(s); "
                    "relabel with sklearn.preprocessing.LabelEncoder or widen the output layer"
                )
        return arr
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (n_samples, n_outputs), got {arr.shape}")
    if n_outputs is not None and arr.shape[1] != n_outputs:
        raise ValueError(f"{name} has {arr.shape[1]} columns but the model has {n_outputs} outputs")
    arr = arr.astype(np.float32)
    _check_finite(arr, name)
    return arr


def check_lengths(X: np.ndarray, y: np.ndarray | None, xname: str = "X", yname: str = "y") -> None:
    """``X`` and ``y`` must have one row per sample."""
    if y is not None and len(X) != len(y):
        raise ValueError(
            f"{xname} and {yname} have different lengths ({len(X)} vs {len(y)}); "
            "they need one target per sample"
        )
