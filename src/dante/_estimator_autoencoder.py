"""The scikit-learn transformer :class:`DanteAutoencoder` (see :mod:`dante.sklearn`).

Private: import it from :mod:`dante.sklearn` (or :mod:`dante`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_array, check_is_fitted

from ._estimator_base import _DanteBase
from ._estimator_params import _with_common_params
from .models import Autoencoder

__all__ = ["DanteAutoencoder"]


@_with_common_params
class DanteAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _DanteBase):
    """Autoencoder trained by DANTE's greedy pairs (or a baseline).

    The network is an :class:`~dante.Autoencoder`: encoder
    ``n_features -> hidden_layer_sizes`` and the mirrored decoder.
    ``method="dante"`` trains the (encoder, decoder) pairs from the outside
    in, each pair by alternating SNGD over its two layers (Algorithm 3 of
    ``000_16cd8e47eb5a686b.txt``); a backprop method trains the whole
    network end to end on the reconstruction loss.

    There is no ``partial_fit``: greedy pair training finishes the outer pair
    before the inner pair learns from its codes, so updating chunk by chunk
    would not be Algorithm 3.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(32,)
        Encoder widths; the last one is the code size (the width of
        :meth:`transform`'s output).
    activation : str, torch.nn.Module or list, default="leaky_relu"
        Activation of every layer but the reconstruction (see
        :class:`DanteClassifier`).
    output_activation : str or torch.nn.Module, default="identity"
        Activation of the reconstruction; ``"sigmoid"`` suits data in [0, 1].
    reading : {"stacked", "end_to_end"}, default="stacked"
        Greedy-pair reading (see :class:`dante.GreedyPairs`).
    finetune_epochs : int, default=0
        Epochs of end-to-end backprop SGD after the pairs.
    pair_order : {"decoder_first", "encoder_first"}, default="decoder_first"
        Which block of a pair each alternation trains first; ``"encoder_first"``
        is Algorithm 3 of ``000_16cd8e47eb5a686b.txt`` as printed,
        ``"decoder_first"`` Algorithm 2's order, the default (it trained
        better where we measured it; see :class:`dante.GreedyPairs`).
    {common_params}
    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` had string column names.
    model_ : dante.Autoencoder
    result_ : dante.TrainResult
    history_ : list of dict
        One record per alternation of each stage (``train_loss`` is the mean
        squared reconstruction error per feature).
    n_iter_ : int
        Alternations run, summed over the stages.
    """

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (32,),
        activation: Any = "leaky_relu",
        output_activation: Any = "identity",
        reading: str = "stacked",
        finetune_epochs: int = 0,
        pair_order: str = "decoder_first",
        method: str = "dante",
        lr: float = 0.01,
        batch_size: int | str = "auto",
        t_sngd: int = 5,
        max_alternations: int = 10,
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
        self.output_activation = output_activation
        self.reading = reading
        self.finetune_epochs = finetune_epochs
        self.pair_order = pair_order

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _config_fields(self) -> dict[str, Any]:
        return {
            **super()._config_fields(),
            "reading": self.reading,
            "finetune_epochs": self.finetune_epochs,
            "pair_order": self.pair_order,
        }

    def fit(self, X: Any, y: Any = None) -> DanteAutoencoder:
        """Build a fresh autoencoder and train it to reconstruct ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        hidden = self._check_params(1)
        X = self._validate_X(X, reset=True)
        init_seed, order_seed = self._seeds()
        self.model_ = Autoencoder(
            [X.shape[1], *hidden],
            activation=self.activation,
            output_activation=self.output_activation,
            seed=init_seed,
        )
        self._train(X, None, "reconstruction", order_seed)
        return self

    @property
    def _n_features_out(self) -> int:
        return self.model_.encoder_sizes[-1]

    def transform(self, X: Any) -> np.ndarray:
        """The code: activations of the innermost encoder layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, hidden_layer_sizes[-1])
            float32 for float32 input, else float64.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._forward(X, stop=self.model_.n_pairs).astype(X.dtype, copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Reconstruct data from codes (the decoder).

        Parameters
        ----------
        X : array-like of shape (n_samples, hidden_layer_sizes[-1])
            Codes, e.g. the output of :meth:`transform`.

        Returns
        -------
        ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        H = check_array(X, dtype=(np.float64, np.float32), input_name="X")
        if H.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {H.shape[1]} features but inverse_transform expects codes of size "
                f"{self._n_features_out} (the last of hidden_layer_sizes)"
            )
        return self._forward(H, start=self.model_.n_pairs).astype(H.dtype, copy=False)

    def score(self, X: Any, y: Any = None) -> float:
        """Negative mean squared reconstruction error per feature (higher is
        better): what :class:`~sklearn.model_selection.GridSearchCV` and
        :func:`~sklearn.model_selection.cross_val_score` maximise by default.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        float
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return -float(np.mean((self._forward(X) - X) ** 2))
