"""Block solvers: the optimizers that train one block (or the whole net).

DANTE's inner solver is :class:`dante.SNGD` (Algorithm 1 of
``001_1787bf99fca4a9f2.txt``). Any other torch optimizer can take its place:
plain SGD inside the alternation is the paper's "SGD+AltMin" ablation
(Table 2 of ``001``); the same optimizers over the whole network are the
backprop baselines (Table 1 of ``001``).

Names: ``sngd``, ``sngd_raw`` (SNGD with the heavy ball on the raw gradients,
``momentum_mode="raw"``), ``sngd_layers`` (SNGD with one parameter group, hence
one norm, per layer of the block: over a whole network it is the layer-wise,
LARS-like reading of SNGD used by the ``sngd_backprop`` ablation), ``sgd``,
``momentum`` (SGD with momentum, 0.9 unless given), ``nesterov``, ``adam``,
``adagrad``, ``rmsprop``. A callable ``params -> torch.optim.Optimizer`` is
accepted as well.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import torch

from .sngd import SNGD

__all__ = [
    "SOLVER_NAMES",
    "SolverFactory",
    "StepSolver",
    "check_solver",
    "is_peer_solver",
    "make_solver",
    "register_solver",
]

SolverFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]


class StepSolver:
    """A block solver that performs a whole minibatch update itself.

    Gradient solvers are ``torch.optim.Optimizer`` objects and the trainer
    runs ``zero_grad / loss / backward / step`` for them. Peers whose update
    is not a gradient step (auxiliary-code alternating minimization, ADMM)
    subclass this instead and go through the same loop, minibatch order and
    budget accounting.

    To be checkpointed (:mod:`dante.checkpoint`) a solver lists the attributes
    that carry its state between steps in ``checkpoint_state`` (tensors,
    numbers, ``None`` or lists of these), or overrides :meth:`state_dict` and
    :meth:`load_state_dict`.
    """

    #: Attributes saved by :meth:`state_dict`; ``None``: not checkpointable.
    checkpoint_state: tuple[str, ...] | None = None

    def train_step(self, xb: torch.Tensor, tb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Update the block from one minibatch and return the loss *before*
        the update (a 0-dim tensor). ``idx`` are the minibatch's row indices
        in the training set (for per-sample state)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The solver's state between steps (the ``checkpoint_state`` attributes)."""
        if self.checkpoint_state is None:
            raise TypeError(
                f"solver {type(self).__name__} cannot be checkpointed: list its state "
                f"attributes in `checkpoint_state` or define state_dict/load_state_dict"
            )
        return {name: getattr(self, name) for name in self.checkpoint_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""
        names = self.checkpoint_state or ()
        if set(state) != set(names):
            raise ValueError(
                f"{type(self).__name__} state has keys {sorted(state)}, expected {sorted(names)}"
            )
        for name in names:
            setattr(self, name, state[name])


def _sgd(params, lr: float, momentum: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=momentum)


def _momentum(params, lr: float, momentum: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=momentum or 0.9)


def _nesterov(params, lr: float, momentum: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=momentum or 0.9, nesterov=True)


def _sngd_layers(
    params, lr: float, momentum: float, model=None, block=None, **_: Any
) -> torch.optim.Optimizer:
    """SNGD with one parameter group per layer of ``block`` (one norm each)."""
    if model is None or block is None:
        raise ValueError(
            "solver 'sngd_layers' groups the parameters by layer and needs the model and "
            "the block (make_solver(..., model=net, block=(0, 1, ...)), as the trainer does)"
        )
    wanted = {id(p) for p in params}
    groups = []
    for i in block:
        layer = [p for p in model.block_parameters(i) if id(p) in wanted]
        if layer:
            groups.append({"params": layer})
    if sum(len(g["params"]) for g in groups) != len(wanted):
        raise ValueError("solver 'sngd_layers': some parameters are not in the block's layers")
    return SNGD(groups, lr=lr, momentum=momentum)


_SOLVERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sngd": lambda params, lr, momentum: SNGD(params, lr=lr, momentum=momentum),
    "sngd_raw": lambda params, lr, momentum: SNGD(
        params, lr=lr, momentum=momentum, momentum_mode="raw"
    ),
    "sngd_layers": _sngd_layers,
    "sgd": _sgd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "adam": lambda params, lr, momentum: torch.optim.Adam(params, lr=lr),
    "adagrad": lambda params, lr, momentum: torch.optim.Adagrad(params, lr=lr),
    "rmsprop": lambda params, lr, momentum: torch.optim.RMSprop(params, lr=lr),
}

#: Names accepted by :func:`make_solver` (peers add theirs on import).
SOLVER_NAMES: list[str] = list(_SOLVERS)


def register_solver(name: str, factory: Callable[..., Any]) -> None:
    """Register ``factory(params, lr, momentum, **context)`` under ``name``.

    ``context`` holds ``model``, ``block`` (layer indices), ``suffix`` (layers
    evaluated from the block's input), ``n_samples`` and ``loss``.
    """
    _SOLVERS[name] = factory
    _NEEDS_CONTEXT.add(name)
    if name not in SOLVER_NAMES:
        SOLVER_NAMES.append(name)


_NEEDS_CONTEXT: set[str] = set()
#: Built-in solvers that read the ``model``/``block`` context (not peers).
_LAYERWISE: set[str] = {"sngd_layers"}


def is_peer_solver(name: str) -> bool:
    """Whether ``name`` was added with :func:`register_solver` (a peer method,
    possibly a :class:`StepSolver`) rather than being a built-in torch optimizer."""
    return name in _NEEDS_CONTEXT


def check_solver(spec: str | SolverFactory) -> str | SolverFactory:
    """Validate a solver name or callable without building anything."""
    if callable(spec) and not isinstance(spec, str):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"solver must be a name or a callable, got {type(spec).__name__}")
    key = spec.strip().lower()
    if key not in _SOLVERS:
        raise ValueError(f"Unknown solver {spec!r}; choose one of {', '.join(SOLVER_NAMES)}")
    return key


def _check_step(lr: Any, momentum: Any) -> None:
    """``lr`` a finite number > 0 and ``momentum`` one in ``[0, 1)``, as
    :class:`~dante.TrainConfig` requires (torch's optimizers check less: SGD
    takes any momentum, Adam fails inside its step on a string)."""
    for name, value in (("lr", lr), ("momentum", momentum)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")


def make_solver(
    spec: str | SolverFactory,
    params: list[torch.nn.Parameter],
    lr: float,
    momentum: float = 0.0,
    **context: Any,
) -> torch.optim.Optimizer | StepSolver:
    """Build the optimizer for one block.

    Parameters
    ----------
    spec : str or callable
        A name from :data:`SOLVER_NAMES` or ``params -> Optimizer``.
    params : list of torch.nn.Parameter
        The block (one parameter group: SNGD normalizes over all of it).
    lr : float
        Learning rate.
    momentum : float, default=0.0
        Momentum coefficient where the solver has one.
    **context
        Passed to registered peer solvers (see :func:`register_solver`).
    """
    spec = check_solver(spec)
    if not isinstance(spec, str):
        opt = spec(params)
        if not isinstance(opt, (torch.optim.Optimizer, StepSolver)):
            raise TypeError(f"solver callable must return a torch.optim.Optimizer, got {opt!r}")
        return opt
    _check_step(lr, momentum)
    if spec in _NEEDS_CONTEXT or spec in _LAYERWISE:
        return _SOLVERS[spec](params, lr, momentum, **context)
    return _SOLVERS[spec](params, lr, momentum)
