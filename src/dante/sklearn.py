"""scikit-learn estimators: DANTE (and the baselines) behind ``fit``/``predict``.

:class:`DanteClassifier`, :class:`DanteRegressor` and :class:`DanteAutoencoder`
follow the scikit-learn estimator conventions (parameters stored by the
constructor, validated in ``fit``; fitted attributes end in ``_``;
``random_state`` fixes the result) and pass
:func:`sklearn.utils.estimator_checks.check_estimator` (the one check that
cannot pass is listed in ``docs/SKLEARN.md``). They build a
:class:`~dante.MLP` or :class:`~dante.Autoencoder` and train it with
:class:`~dante.Trainer`, the project's one training loop: ``method="dante"``
is Algorithm 2 of ``001_1787bf99fca4a9f2.txt`` (round-robin over the layers,
each block solved by SNGD, Algorithm 1) for the supervised estimators and
the greedy pairs of Algorithm 3 of ``000_16cd8e47eb5a686b.txt`` for the
autoencoder; the backprop baselines (``"sgd"``, ``"adam"``, ...) go through the
same loop.

The estimators are exported lazily by :mod:`dante` (``dante.DanteClassifier``
imports this module, and scikit-learn's estimator machinery, on first use).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.utils import Tags, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._estimator_params import (
    _batch_size,
    _check_batch_size,
    _hidden_sizes,
    _step_work,
    _torch_threads,
    _with_common_params,
)
from .config import make_config
from .models import MLP, Autoencoder, LayeredNet
from .trainer import Trainer
from .validation import check_float32_range

__all__ = ["DanteAutoencoder", "DanteClassifier", "DanteRegressor"]

_CHUNK = 8192
_SEED_MAX = 2**31 - 1
#: budget counters that :attr:`history_` accumulates over ``partial_fit`` calls
_COUNTERS = ("weights_updated", "samples_seen", "steps", "wall_seconds")


class _DanteBase(BaseEstimator):
    """Parameters, training through :class:`~dante.Trainer` and batched
    inference, shared by the three estimators."""

    #: ``batch_size="auto"`` is ``min(_auto_batch, n_samples)``
    _auto_batch = 32

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: Any = "leaky_relu",
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.method = method
        self.lr = lr
        self.batch_size = batch_size
        self.t_sngd = t_sngd
        self.max_alternations = max_alternations
        self.t_am = t_am
        self.tol = tol
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.lr_schedule_options = lr_schedule_options
        self.output_solver = output_solver
        self.output_solver_options = output_solver_options
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _config_fields(self) -> dict[str, Any]:
        """The :class:`~dante.TrainConfig` fields this estimator sets."""
        return {
            "method": self.method,
            "loss": "mse",
            "lr": self.lr,
            "momentum": self.momentum,
            "lr_schedule": self.lr_schedule,
            "lr_schedule_options": dict(self.lr_schedule_options or {}),
            "output_solver": self.output_solver,
            "output_solver_options": dict(self.output_solver_options or {}),
            "t_sngd": self.t_sngd,
            "t_am": self.t_am,
            "tol": self.tol,
            "max_alternations": self.max_alternations,
            "device": self.device,
            "progress": self.verbose,
            "eval_every": "round",
        }

    def _check_params(self, min_hidden: int) -> list[int]:
        """Validate every parameter before touching the data (errors name
        the parameter); return the hidden sizes."""
        _check_batch_size(self.batch_size)
        try:
            check_random_state(self.random_state)
        except ValueError:
            raise ValueError(
                f"random_state must be None, an int or a numpy RandomState, "
                f"got {self.random_state!r}"
            ) from None
        make_config(**self._config_fields())
        return _hidden_sizes(self.hidden_layer_sizes, min_hidden)

    def _validate_X(self, X: Any, reset: bool) -> np.ndarray:
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        check_float32_range(X, "X")
        return X

    def _seeds(self) -> tuple[int, int]:
        """(weight-init seed, minibatch-order seed) drawn from ``random_state``."""
        init, order = check_random_state(self.random_state).randint(0, _SEED_MAX, size=2)
        return int(init), int(order)

    def _train(
        self,
        X: np.ndarray,
        y: np.ndarray | None,
        task: str,
        seed: int,
        append: bool = False,
        **overrides: Any,
    ) -> None:
        """Train ``self.model_`` in place with the project's training loop and
        record ``result_``, ``history_`` and ``n_iter_``; ``append`` continues
        the history of an earlier call."""
        fields = self._config_fields()
        batch = _batch_size(self.batch_size, len(X), self._auto_batch)
        fields.update(batch_size=batch, seed=seed, **overrides)
        config = make_config(**fields)
        with _torch_threads(_step_work(self.model_, config.batch_size)):
            result = Trainer(self.model_, config).fit(np.asarray(X, dtype=np.float32), y, task=task)
        rounds = sum(stage["rounds"] for stage in result.stages)
        if append:
            last = self.history_[-1]
            # the new run's "init" record repeats the previous run's last state
            self.history_ = self.history_ + [
                {**r, **{k: r[k] + last[k] for k in _COUNTERS}} for r in result.history[1:]
            ]
            self.n_iter_ += rounds
        else:
            self.history_ = list(result.history)
            self.n_iter_ = rounds
        self.result_ = result

    def _forward(self, X: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Layers ``start .. stop-1`` of ``model_`` applied to ``X`` in chunks.

        Inference runs on a float64 copy of the network: in float32 a row's
        output would depend on how many rows share the matrix product (the
        kernels block differently), so ``predict(X)[:k]`` and
        ``predict(X[:k])`` could differ in the last bits.
        """
        model: LayeredNet = copy.deepcopy(self.model_)
        device = next(model.parameters()).device
        if device.type == "mps":  # no float64 on Apple GPUs
            model, device = model.cpu(), torch.device("cpu")
        model.to(torch.float64)
        X64 = np.asarray(X, dtype=np.float64)
        with torch.no_grad(), _torch_threads(_step_work(model, min(len(X64), _CHUNK))):
            parts = [
                model.forward_range(torch.tensor(X64[i : i + _CHUNK], device=device), start, stop)
                .cpu()
                .numpy()
                for i in range(0, len(X64), _CHUNK)
            ]
        return np.concatenate(parts)


class _DanteMLP(_DanteBase):
    """An :class:`~dante.MLP` trained on ``(X, y)``."""

    _task = "regression"
    _auto_batch = 200  # see DanteClassifier's Notes

    def _check_X_y(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _prepare_y(self, y: Any, first: bool, classes: Any = None) -> np.ndarray:
        """Encoded training targets; the ``first`` call fixes the encoding."""
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _fit(self, X: Any, y: Any, partial: bool, classes: Any = None) -> _DanteMLP:
        first = not (partial and hasattr(self, "model_"))
        if first:
            hidden = self._check_params(0)
        X, y = self._check_X_y(X, y, reset=first)
        target = self._prepare_y(y, first=first, classes=classes)
        if first:
            init_seed, order_seed = self._seeds()
            self.model_ = MLP(
                [X.shape[1], *hidden, self._n_outputs()], activation=self.activation, seed=init_seed
            )
            # seeds of the later partial_fit calls
            self._partial_rng = np.random.RandomState(order_seed)
            seed = order_seed
        else:
            seed = int(self._partial_rng.randint(0, _SEED_MAX))
        if partial:
            self._train(X, target, self._task, seed, not first, max_alternations=1, t_am=1)
        else:
            self._train(X, target, self._task, seed)
        return self

    def fit(self, X: Any, y: Any) -> _DanteMLP:
        """Build a fresh network and train it on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        return self._fit(X, y, partial=False)

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self._forward(self._validate_X(X, reset=False))


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
        check_classification_targets(y)
        return X, y

    def _prepare_y(self, y: Any, first: bool, classes: Any = None) -> np.ndarray:
        if first:
            labels = np.unique(y if classes is None else np.asarray(classes))
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes in y; got "
                    f"{len(labels)} class ({labels.tolist()!r})"
                )
            self.classes_ = labels
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
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
        check_float32_range(np.asarray(y), "y")
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
