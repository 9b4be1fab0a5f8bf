"""The scikit-learn classifier :class:`DanteClassifier` (see :mod:`dante.sklearn`).

Private: import it from :mod:`dante.sklearn` (or :mod:`dante`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._estimator_base import _DanteMLP
from ._estimator_params import _with_common_params
from .validation import check_float32_range

__all__ = ["DanteClassifier"]


def _check_classes_arg(classes: Any) -> np.ndarray:
    """``partial_fit``'s ``classes``: a 1-D array-like of comparable labels, no NaN."""
    if isinstance(classes, (str, bytes)):
        raise TypeError(f"classes must be an array-like of labels, got the string {classes!r}")
    arr = np.asarray(classes)
    if arr.ndim != 1:
        raise ValueError(
            f"classes must be a 1-D array-like of labels, got shape {arr.shape}; "
            "pass e.g. classes=np.unique(y_all)"
        )
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"classes contains NaN, which is not a class label: {arr.tolist()!r}")
    try:
        np.unique(arr)
    except TypeError as exc:
        raise TypeError(
            f"classes mixes label types that cannot be compared ({exc}); give every label one type"
        ) from None
    return arr


@_with_common_params
class DanteClassifier(ClassifierMixin, _DanteMLP):
    """Multi-layer perceptron classifier trained by DANTE (or a baseline).

    The network is ``n_features -> hidden_layer_sizes -> n_outputs`` with
    ``n_outputs = 1`` for two classes (one logit, Sec. 3.4 of
    ``001_1787bf99fca4a9f2.txt``) and one output per class otherwise.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Widths of the hidden layers; ``()`` gives a linear (logistic) model.
    activation : str, torch.nn.Module or list, default="leaky_relu"
        Hidden activation(s): ``"leaky_relu"`` is the generalized ReLU with
        ``a=0.01, b=1`` of the DANTE papers; any name of
        :data:`dante.ACTIVATION_NAMES` or a module such as
        ``dante.GeneralizedReLU(a=0.1, b=1.0)``.
    loss : {"cross_entropy", "mse"}, default="cross_entropy"
        ``"cross_entropy"``: softmax (sigmoid for two classes) on logits,
        with :meth:`predict_proba`. ``"mse"``: squared error to one-hot
        targets (``{0, 1}`` for two classes), the DANTE papers' setting; the
        outputs are then not probabilities and ``predict_proba`` is not
        available.
    {common_params}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` had string column names.
    model_ : dante.MLP
        The trained network (its outputs are logits for
        ``loss="cross_entropy"``).
    result_ : dante.TrainResult
        The last training run (config, per-stage stop reasons, budget).
    history_ : list of dict
        Training curve, one record per alternation (``train_loss``,
        ``train_accuracy``, ``weights_updated``, ...); accumulated over
        :meth:`partial_fit` calls.
    n_iter_ : int
        Alternations run (for backprop methods: epochs).

    {defaults_notes}
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from dante.sklearn import DanteClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), DanteClassifier(random_state=0))
    >>> clf.fit(X[:1200], y[:1200]).score(X[1200:], y[1200:]) > 0.9
    True
    """

    _task = "classification"

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: Any = "leaky_relu",
        loss: str = "cross_entropy",
        method: str = "dante",
        lr: float = 0.1,
        batch_size: int | str = "auto",
        t_sngd: int = 5,
        max_alternations: int = 30,
        t_am: int = 2,
        tol: float = 1e-4,
        momentum: float | None = None,
        lr_schedule: str = "constant",
        lr_schedule_options: dict[str, Any] | None = None,
        output_solver: str | None = None,
        output_solver_options: dict[str, Any] | None = None,
        random_state: int | np.random.RandomState | None = None,
        device: str = "cpu",
        verbose: bool = False,
    ) -> None:
        super().__init__(
            hidden_layer_sizes, activation, method, lr, batch_size, t_sngd, max_alternations,
            t_am, tol, momentum, lr_schedule, lr_schedule_options, output_solver,
            output_solver_options, random_state, device, verbose,
        )  # fmt: skip
        self.loss = loss

    def _config_fields(self) -> dict[str, Any]:
        return {**super()._config_fields(), "loss": self.loss}

    def _check_X_y(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, Any]:
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32))
        check_float32_range(X, "X")
        try:
            check_classification_targets(y)
        except TypeError as exc:  # numpy cannot sort mixed labels such as 1 and "a"
            raise TypeError(
                f"y mixes label types that cannot be compared ({exc}); give every label "
                "one type, e.g. y.astype(str)"
            ) from None
        return X, y

    def _prepare_y(self, y: Any, first: bool, classes: Any = None) -> np.ndarray:
        if first:
            labels = np.unique(y if classes is None else _check_classes_arg(classes))
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes in y; got "
                    f"{len(labels)} class ({labels.tolist()!r})"
                )
            self.classes_ = labels
        elif classes is not None and not np.array_equal(
            np.unique(_check_classes_arg(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(classes).tolist()!r} differs from the classes of the "
                f"first partial_fit call, {self.classes_.tolist()!r}"
            )
        pos = np.clip(np.searchsorted(self.classes_, y), 0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[pos], y):
            unseen = sorted(set(np.asarray(y).tolist()) - set(self.classes_.tolist()))
            raise ValueError(
                f"y holds labels {unseen!r} that are not in classes {self.classes_.tolist()!r}; "
                "pass every class to the first partial_fit call via classes="
            )
        return pos.astype(np.int64)

    def _n_outputs(self) -> int:
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> DanteClassifier:
        """One alternation on a chunk of data, continuing from the current weights.

        The first call builds the network and must list every class in
        ``classes``. Each call runs one round of the method on ``(X, y)``:
        for DANTE every layer in turn gets ``t_sngd`` SNGD epochs over the
        chunk (SNGD keeps no state, so successive calls are exactly
        successive alternations); for a backprop method, one epoch.
        Optimizer state (momentum, Adam moments, the peers' auxiliary
        variables) starts afresh in every call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), optional
            All classes; required on the first call.

        Returns
        -------
        self
        """
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, partial=True, classes=classes)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        out = self._outputs(X)
        if out.shape[1] == 1:
            threshold = 0.5 if self.loss == "mse" else 0.0
            return self.classes_[(out[:, 0] > threshold).astype(np.int64)]
        return self.classes_[out.argmax(axis=1)]

    def _has_proba(self) -> bool:
        return self.loss != "mse"

    @available_if(_has_proba)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities (log-softmax; log-sigmoid for two classes).

        Only with ``loss="cross_entropy"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of :attr:`classes_`.
        """
        out = torch.from_numpy(self._outputs(X))
        if out.shape[1] == 1:
            return torch.cat([F.logsigmoid(-out), F.logsigmoid(out)], dim=1).numpy()
        return torch.log_softmax(out, dim=1).numpy()

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (softmax; sigmoid for two classes).

        Only with ``loss="cross_entropy"``: an MSE-trained network does not
        output probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of :attr:`classes_`.
        """
        return np.exp(self.predict_log_proba(X))
