"""The shared base of the scikit-learn estimators (:mod:`dante.sklearn`).

:class:`_DanteBase` holds the parameters every estimator takes, trains
``model_`` through :class:`~dante.Trainer` (the project's one training loop)
and runs batched, float64 inference; :class:`_DanteMLP` adds what the two
supervised estimators share (building an :class:`~dante.MLP`, ``fit`` and
``partial_fit``). Private: the public API is :mod:`dante.sklearn`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._estimator_params import (
    _batch_size,
    _check_batch_size,
    _hidden_sizes,
    _step_work,
    _torch_threads,
)
from .config import make_config
from .models import MLP, LayeredNet
from .trainer import Trainer
from .validation import check_float32_range

_CHUNK = 8192
_SEED_MAX = 2**31 - 1
#: budget counters that :attr:`history_` accumulates over ``partial_fit`` calls
_COUNTERS = ("weights_updated", "samples_seen", "steps", "wall_seconds")


def _options(value: Any) -> Any:
    """An options parameter as a fresh dict (``None``: empty); anything but a
    mapping is passed on unchanged for :func:`~dante.config.make_config` to
    refuse by name."""
    if value is None:
        return {}
    return dict(value) if isinstance(value, Mapping) else value


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
            "lr_schedule_options": _options(self.lr_schedule_options),
            "output_solver": self.output_solver,
            "output_solver_options": _options(self.output_solver_options),
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
