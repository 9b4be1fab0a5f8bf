"""The scikit-learn regressor :class:`DanteRegressor` (see :mod:`dante.sklearn`).

Private: import it from :mod:`dante.sklearn` (or :mod:`dante`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils import Tags
from sklearn.utils.validation import validate_data

from ._estimator_base import _DanteMLP
from ._estimator_params import _with_common_params
from .validation import check_float32_range

__all__ = ["DanteRegressor"]


@_with_common_params
class DanteRegressor(RegressorMixin, _DanteMLP):
    """Multi-layer perceptron regressor trained by DANTE (or a baseline).

    The network is ``n_features -> hidden_layer_sizes -> n_outputs`` with a
    linear output and the squared loss. Targets are standardised internally
    (each column to zero mean and unit variance, undone by :meth:`predict`):
    SNGD takes steps of fixed length ``lr``, so raw targets would need a
    different ``lr`` for every unit of ``y``.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Widths of the hidden layers; ``()`` gives a linear model.
    activation : str, torch.nn.Module or list, default="leaky_relu"
        Hidden activation(s) (see :class:`DanteClassifier`).
    {common_params}
    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` had string column names.
    model_ : dante.MLP
        The trained network; it predicts standardised targets.
    result_ : dante.TrainResult
    history_ : list of dict
        One record per alternation; losses are on standardised targets.
    n_iter_ : int
        Alternations run (for backprop methods: epochs).

    Notes
    -----
    The defaults are the classifier's; :class:`DanteClassifier`'s Notes say
    why (with the regressor's numbers).
    """

    # spelled out (not inherited) so that a wrong keyword names DanteRegressor,
    # not the private base class
    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: Any = "leaky_relu",
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

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _check_X_y(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, Any]:
        X, y = validate_data(
            self, X, y, reset=reset, dtype=(np.float64, np.float32), multi_output=True,
            y_numeric=True,
        )  # fmt: skip
        check_float32_range(X, "X")
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"y must hold numbers (regression targets), got dtype {np.asarray(y).dtype} "
                f"({exc}); for class labels use DanteClassifier"
            ) from None
        check_float32_range(y, "y")
        return X, y

    def _prepare_y(self, y: Any, first: bool, classes: Any = None) -> np.ndarray:
        y2 = np.asarray(y, dtype=np.float64)
        y2 = y2[:, None] if y2.ndim == 1 else y2
        if first:
            self._y_1d = np.ndim(y) == 1
            self._y_mean = y2.mean(axis=0)
            scale = y2.std(axis=0)
            self._y_scale = np.where(scale > 0, scale, 1.0)
        elif y2.shape[1] != len(self._y_mean):
            raise ValueError(
                f"y has {y2.shape[1]} output(s) but the model was fitted with {len(self._y_mean)}"
            )
        return ((y2 - self._y_mean) / self._y_scale).astype(np.float32)

    def _n_outputs(self) -> int:
        return len(self._y_mean)

    def partial_fit(self, X: Any, y: Any) -> DanteRegressor:
        """One alternation on a chunk of data, continuing from the current weights.

        The first call builds the network and fixes the target scaling from
        its chunk; later chunks reuse it. Each call is one round of the
        method (see :meth:`DanteClassifier.partial_fit`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        return self._fit(X, y, partial=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when ``y`` was 1-D at fit time.
        """
        out = self._outputs(X) * self._y_scale + self._y_mean
        return out[:, 0] if self._y_1d else out
