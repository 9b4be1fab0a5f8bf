"""The :class:`Dataset` record every loader returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "DatasetNotAvailableError"]


class DatasetNotAvailableError(ValueError):
    """A registered dataset whose files are not installed here; the message
    says which package or path provides it."""


@dataclass(frozen=True)
class Dataset:
    """Train/test arrays plus how they were made.

    Attributes
    ----------
    name : str
    X_train, X_test : numpy.ndarray
        float32, 2-D ``(n, d)``.
    y_train, y_test : numpy.ndarray or None
        int64 labels ``0..n_classes-1`` (classification) or float32 targets.
    task : {"classification", "regression"}
    n_classes : int or None
    description : str
        Source, split and preprocessing (scaling is fitted on the training
        part only), licence/citation.
    feature_shape : tuple of int, optional
        Image shape of a row, e.g. ``(28, 28)``.
    target_scale : tuple of float, optional
        ``(min, range)`` of a min-max scaled regression target, to undo it:
        ``y_original = y * range + min``.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray | None
    X_test: np.ndarray
    y_test: np.ndarray | None
    task: str
    n_classes: int | None
    description: str
    feature_shape: tuple[int, ...] | None = None
    target_scale: tuple[float, float] | None = None
