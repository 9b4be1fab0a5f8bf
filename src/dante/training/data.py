"""Trainer data preparation: validated ``X``/``y`` as tensors on the device.

The features are shared with the caller's float32 array where possible (a
memory map is never copied whole, and the trainer never writes into its
inputs); the targets are the loss's encoding of ``y`` (one-hot for
classification, see :meth:`dante.Loss.prepare_targets`), or ``X`` itself for
an autoencoder.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from .._pages import PageReleaser
from ..config import TrainConfig
from ..losses import Loss
from ..models import Autoencoder, LayeredNet
from ..validation import (
    as_features,
    as_targets,
    check_classes,
    check_lengths,
)

__all__ = ["TASKS", "SplitData", "prepare_splits", "share_array"]

#: the ``task`` values :meth:`dante.Trainer.fit` accepts
TASKS = ("auto", "classification", "regression", "reconstruction")


class SplitData:
    """Validated tensors of one split, on the device.

    ``X`` shares memory with the caller's float32 array where possible (a
    memory map is never copied whole); ``pages`` releases the mapped pages
    as they are read (see :mod:`dante._pages`).
    """

    def __init__(
        self,
        X: torch.Tensor,
        T: torch.Tensor,
        labels: torch.Tensor | None,
        pages: PageReleaser | None = None,
    ) -> None:
        self.X, self.T, self.labels = X, T, labels
        self.pages = pages or PageReleaser(None)


def check_no_targets(model: Any, y: Any, y_test: Any = None) -> None:
    """An :class:`~dante.Autoencoder` reconstructs ``X``: any ``y`` given to it
    would silently become the target, so it is refused."""
    if isinstance(model, Autoencoder) and (y is not None or y_test is not None):
        raise ValueError(
            "an Autoencoder reconstructs X, so it takes no targets: drop y (and y_test), "
            "or train a dante.MLP to predict y"
        )


def share_array(a: np.ndarray) -> torch.Tensor:
    """``torch.from_numpy`` without a copy, also for read-only memory maps
    (the trainer never writes into its inputs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(a)


def prepare_splits(
    model: LayeredNet,
    config: TrainConfig,
    loss: Loss,
    device: torch.device,
    X: Any,
    y: Any,
    X_test: Any,
    y_test: Any,
    task: str,
    min_classes: int = 1,
) -> tuple[SplitData, SplitData | None, bool]:
    """Validate the training (and test) data and put it on ``device``.

    Parameters
    ----------
    model : LayeredNet
        The model to be trained (its input and output widths are checked).
    config : TrainConfig
    loss : Loss
        Encodes the targets (:meth:`dante.Loss.prepare_targets`).
    device : torch.device
    X, y, X_test, y_test, task, min_classes
        As for :meth:`dante.Trainer.fit`.

    Returns
    -------
    train : SplitData
    test : SplitData or None
    classification : bool
        Whether the task is classification (the labels are kept).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    check_no_targets(model, y, y_test)
    Xn = as_features(X, "X", model.in_features)
    if task == "auto":
        if y is None:
            task = "reconstruction"
        elif config.loss == "cross_entropy":
            task = "classification"
        else:
            y_arr = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
            integral = np.issubdtype(y_arr.dtype, np.integer) or y_arr.dtype == np.bool_
            task = "classification" if integral else "regression"
    classification = task == "classification"
    if task == "reconstruction":
        if y is not None:
            raise ValueError("task='reconstruction' takes no y (the target is X itself)")
        if model.out_features != model.in_features:
            raise ValueError(
                f"reconstruction needs out_features == in_features, got "
                f"{model.out_features} vs {model.in_features}"
            )
    elif y is None:
        raise ValueError(f"task={task!r} needs targets y (pass y=None only for autoencoders)")
    if task in ("regression", "reconstruction") and config.loss == "cross_entropy":
        raise ValueError(f"loss='cross_entropy' needs class labels; use loss='mse' for {task}")
    n_out = model.out_features
    n_classes = n_out if n_out > 1 else 2
    if config.batch_size > len(Xn):
        raise ValueError(
            f"batch_size={config.batch_size} is larger than the training set "
            f"({len(Xn)} samples); choose batch_size <= {len(Xn)}"
        )

    def split(Xa: np.ndarray, ya: Any, xname: str, yname: str) -> SplitData:
        pages = PageReleaser(Xa)
        if task == "reconstruction":
            Xt = share_array(Xa).to(device)
            return SplitData(Xt, Xt, None, pages)
        yn = as_targets(
            ya, yname, classification=classification, n_classes=n_classes, n_outputs=n_out
        )
        check_lengths(Xa, yn, xname, yname)
        Xt = share_array(Xa).to(device)
        yt = torch.from_numpy(yn).to(device)
        T = loss.prepare_targets(yt, n_out, classification)
        return SplitData(Xt, T, yt if classification else None, pages)

    train = split(Xn, y, "X", "y")
    test = None
    if X_test is not None:
        Xtn = as_features(X_test, "X_test", model.in_features)
        if task != "reconstruction" and y_test is None:
            raise ValueError("X_test was given without y_test")
        test = split(Xtn, y_test, "X_test", "y_test")
    elif y_test is not None:
        raise ValueError("y_test was given without X_test")
    if classification and min_classes > 1:
        check_classes(train.labels)  # dante.fit: one class leaves nothing to classify
    return train, test, classification
