"""Seeded splits and train-only scaling."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

__all__ = ["check_seed", "minmax_fit_train", "seeded_split", "stratified_subset"]


def seeded_split(
    X: np.ndarray, y: np.ndarray | None, test_fraction: float, seed: int, stratify: bool
):
    """Seeded train/test split, stratified on ``y`` for classification."""
    check_seed(seed)
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = int(np.ceil(test_fraction * len(X)))
    if len(X) - n_test < 1 or n_test < 1:
        raise ValueError(
            f"{len(X)} samples are too few for a {test_fraction:.0%} test split; "
            "supply more data or an explicit train/test split"
        )
    if stratify and y is not None and n_test < len(np.unique(y)):
        stratify = False  # too few test rows to hold every class
    idx = np.arange(len(X))
    tr, te = train_test_split(
        idx,
        test_size=test_fraction,
        random_state=seed,
        stratify=y if (stratify and y is not None) else None,
    )
    if y is None:
        return X[tr], None, X[te], None
    return X[tr], y[tr], X[te], y[te]


def stratified_subset(
    X: np.ndarray, y: np.ndarray, n: int | None, seed: int, argname: str
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded stratified subset of ``n`` rows (all rows when ``n`` is None)."""
    check_seed(seed)
    if n is None:
        return X, y
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{argname} must be a positive int, got {n!r}")
    if n >= len(X):
        return X, y
    n_classes = len(np.unique(y))
    strat = y if n >= n_classes else None
    idx, _ = train_test_split(np.arange(len(X)), train_size=n, random_state=seed, stratify=strat)
    idx = np.sort(idx)
    return X[idx], y[idx]


def check_seed(seed: object) -> None:
    """A split seed is an int in ``[0, 2**32)`` (what scikit-learn accepts)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")


def minmax_fit_train(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min-max scale to [0, 1] with the scaler fitted on the training part only."""
    scaler = MinMaxScaler().fit(X_train)
    return (
        scaler.transform(X_train).astype(np.float32),
        scaler.transform(X_test).astype(np.float32),
    )
