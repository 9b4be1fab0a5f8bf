"""dante: Deep AlterNations for Training nEural networks.

Train neural networks and autoencoders without end-to-end backpropagation:
DANTE fixes every layer but one block, solves that block's quasi-convex
subproblem with Stochastic Normalized Gradient Descent (SNGD), and alternates
(``001_1787bf99fca4a9f2.txt``, Neural Networks 2020; ``000_16cd8e47eb5a686b.txt``).
Backprop baselines run through the same loop and budget accounting.
"""

from . import peers  # registers the "am_adam" and "admm" solvers
from .activations import ACTIVATION_NAMES, GeneralizedReLU, generalized_relu, get_activation
from .checkpoint import load_checkpoint
from .config import METHODS, TrainConfig
from .losses import LOSS_NAMES, Loss, get_loss
from .models import MLP, Autoencoder, Layer, LayeredNet
from .run_logging import TensorBoardLogger
from .schedules import Backprop, GreedyPairs, RoundRobin, Stage, get_schedule
from .sngd import SNGD, sngd_step_
from .solvers import SOLVER_NAMES, make_solver
from .trainer import Budget, Callback, NonFiniteLossError, Trainer, TrainResult, fit

__version__ = "0.1.0"

#: scikit-learn estimators, imported from :mod:`dante.sklearn` on first use so
#: that ``import dante`` does not load scikit-learn's estimator machinery
_SKLEARN_ESTIMATORS = ("DanteAutoencoder", "DanteClassifier", "DanteRegressor")


def __getattr__(name: str):
    if name in _SKLEARN_ESTIMATORS:
        from . import sklearn

        return getattr(sklearn, name)
    raise AttributeError(f"module 'dante' has no attribute {name!r}")


__all__ = [
    "ACTIVATION_NAMES",
    "LOSS_NAMES",
    "METHODS",
    "MLP",
    "SNGD",
    "SOLVER_NAMES",
    "Autoencoder",
    "Backprop",
    "Budget",
    "Callback",
    "DanteAutoencoder",
    "DanteClassifier",
    "DanteRegressor",
    "GeneralizedReLU",
    "GreedyPairs",
    "Layer",
    "LayeredNet",
    "Loss",
    "NonFiniteLossError",
    "RoundRobin",
    "Stage",
    "TrainConfig",
    "TensorBoardLogger",
    "TrainResult",
    "Trainer",
    "fit",
    "generalized_relu",
    "get_activation",
    "get_loss",
    "get_schedule",
    "load_checkpoint",
    "make_solver",
    "peers",
    "sngd_step_",
]
