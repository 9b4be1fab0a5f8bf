"""GLM-Tron and modified SGD as DANTE output-block solvers (``003_a707f9d83869f5a2.txt`` Ch. 3).

:class:`GLMTronSolver` (Algorithm 4) and :class:`ModifiedSGDSolver`
(Algorithm 2) are :class:`dante.solvers.StepSolver` subclasses that train the
*output layer* of a :class:`dante.LayeredNet` on the MSE loss, each output
unit being an independent GLM on the augmented input ``[x, 1]``. Importing
this module registers them as the solver names ``"glmtron"`` and
``"relu_gate_sgd"``. :class:`GLMOutputRoundRobin` schedules the GLM solver on
the output block and SNGD on the hidden blocks. Re-exported by
:mod:`dante.shallow.relu_gate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..activations import GeneralizedReLU
from ..losses import get_loss
from ..models import Layer, LayeredNet
from ..schedules import Stage
from ..solvers import StepSolver, register_solver
from ..trainer import NonFiniteLossError
from .relu_gate_common import (
    _count,
    _positive,
)

__all__ = [
    "GLMOutputRoundRobin",
    "GLMTronSolver",
    "ModifiedSGDSolver",
    "glmtron_factory",
    "relu_gate_sgd_factory",
]

# ------------------------------------------------------ DANTE block solvers


def _gate_info(layer: Layer, solver: str) -> tuple[str, float, float]:
    """(kind, Lipschitz constant, positive-side slope) of a layer's activation."""
    act = layer.activation
    if isinstance(act, GeneralizedReLU):
        return "generalized_relu", act.b, act.b
    if isinstance(act, nn.Sigmoid):
        return "sigmoid", 0.25, 0.0
    if isinstance(act, nn.Tanh):
        return "tanh", 1.0, 0.0
    if isinstance(act, nn.Identity):
        return "identity", 1.0, 1.0
    raise ValueError(
        f"solver {solver!r} needs a known non-decreasing output activation (relu, leaky_relu, "
        f"generalized_relu, sigmoid, tanh, identity), got {type(act).__name__}"
    )


def _output_layer(
    model: Any, block: Sequence[int] | None, suffix: Sequence[int] | None, loss: Any, solver: str
) -> Layer:
    """The layer a GLM solver may train: the net's output layer, alone, on MSE."""
    if not isinstance(model, LayeredNet):
        raise TypeError(f"solver {solver!r} needs a dante.MLP or dante.Autoencoder model")
    last = model.n_layers - 1
    block = (last,) if block is None else tuple(block)
    suffix = block if suffix is None else tuple(suffix)
    if block != (last,) or suffix != (last,):
        raise ValueError(
            f"solver {solver!r} trains only the output layer (a single layer whose output is "
            f"the net output) but was given block {list(block)} on path {list(suffix)}. Fix: "
            f"use it for the output block only -- an MLP without hidden layers with "
            f"RoundRobin, or schedule=dante.shallow.relu_gate.GLMOutputRoundRobin() "
            f"(output block {solver!r}, hidden blocks SNGD) for a deeper net"
        )
    loss_obj = get_loss(loss if loss is not None else "mse")
    if loss_obj.name != "mse":
        raise ValueError(
            f"solver {solver!r} solves the squared-loss GLM problem; got loss="
            f"{loss_obj.name!r}. Fix: loss='mse'"
        )
    return model.layers[last]


def _augment(xb: torch.Tensor, bias: bool) -> torch.Tensor:
    if not bias:
        return xb
    return torch.cat([xb, torch.ones(len(xb), 1, dtype=xb.dtype, device=xb.device)], dim=1)


class _GateSolver(StepSolver):
    """What the GLM block solvers share: the layer check and the minibatch loss before a step."""

    def __init__(self, layer: Layer, name: str) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"layer must be a dante.Layer, got {type(layer).__name__}")
        self.layer = layer
        self.name = name

    def _forward(self, xb: torch.Tensor, tb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sigma(xb W^T + b), MSE)``; raises before any update when the loss is not finite."""
        out = self.layer.activation(self.layer.linear(xb))
        loss = F.mse_loss(out, tb)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(f"{self.name}: minibatch loss is {float(loss)}; no update")
        return out, loss


class GLMTronSolver(_GateSolver):
    """GLM-Tron (Algorithm 4 of ``003``) on one layer: every output unit is a GLM.

    With ``Wt = [W, b]`` (out x (in + 1)) and ``xt = [x, 1]``, one minibatch step is::

        Wt <- Wt + (step / m) * (T - sigma(xt Wt^T))^T xt

    i.e. GLM-Tron on each unit independently, with the layer's activation as
    ``sigma``. On the full batch this is exactly :func:`glmtron`.

    Parameters
    ----------
    layer : dante.Layer
    step : float or "auto", default="auto"
        ``"auto"``: ``1 / R^2`` with ``R`` the largest ``||[x, 1]||`` seen so far,
        i.e. GLM-Tron with its unit step on the inputs rescaled into the unit
        ball, as Theorem 3.5.2 needs (``R`` is a running maximum over the
        minibatches, so the step never grows). The run's ``lr`` is not used:
        the algorithm is parameter-free.
    name : str
        Used in error messages.

    Notes
    -----
    Activation must be non-decreasing with Lipschitz constant ``L < 2``:
    generalized ReLU with ``b < 2`` (ReLU, leaky ReLU), sigmoid, tanh, identity.
    """

    checkpoint_state = ("max_sq_norm",)

    def __init__(self, layer: Layer, step: float | str = "auto", *, name: str = "glmtron") -> None:
        super().__init__(layer, name)
        kind, L, _ = _gate_info(layer, name)
        if L >= 2:
            raise ValueError(
                f"solver {name!r}: activation {kind} has Lipschitz constant {L} >= 2; GLM-Tron "
                "(Theorem 3.5.2) needs L < 2 -- use generalized_relu with b < 2"
            )
        if step != "auto":
            step = _positive("step", step)
        self.step = step
        self.max_sq_norm = 0.0

    @torch.no_grad()
    def train_step(self, xb: torch.Tensor, tb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """One GLM-Tron step on the minibatch; returns the MSE before it."""
        out, loss = self._forward(xb, tb)
        lin = self.layer.linear
        has_bias = lin.bias is not None
        sq = (xb * xb).sum(dim=1) + (1.0 if has_bias else 0.0)
        self.max_sq_norm = max(self.max_sq_norm, float(sq.max()))
        step = (1.0 / self.max_sq_norm) if self.step == "auto" else float(self.step)
        if self.max_sq_norm == 0.0:
            return loss
        resid = (tb - out) * (step / len(xb))
        lin.weight.add_(resid.T @ xb)
        if has_bias:
            lin.bias.add_(resid.sum(dim=0))
        return loss


class ModifiedSGDSolver(_GateSolver):
    """Modified SGD (Algorithm 2 of ``003``) on one ReLU-type layer, unit by unit.

    For a generalized-ReLU output ``phi(z) = b z`` (``z > 0``), ``a z`` (``z <= 0``)
    a positive label means ``t = b w*.xt``, so the thesis' update becomes, per
    unit ``j`` and per sample (one sample per update, in the trainer's seeded
    minibatch order)::

        w_j <- w_j + eta_j 1{t_j > 0} (t_j - b w_j.xt) b xt,     xt = [x, 1]

    (``b = 1``: exactly Algorithm 2), and the theorem's step becomes
    ``eta_j = lambda_min(E[1{t_j>0} xt xt^T]) / (b^2 E[1{t_j>0} ||xt||^4])``.

    Parameters
    ----------
    layer : dante.Layer
        Output activation must be a generalized ReLU (``relu``, ``leaky_relu``).
    eta : float, optional
        Fixed step for every unit. ``None``: the moment step above, estimated
        from the label indicator ``1{t_j > 0}`` (observable; ``w*`` is not) over
        all samples seen so far, re-estimated after every minibatch until
        ``n_samples`` samples have been seen, then frozen. A unit whose
        estimated matrix is still singular (fewer positive labels than
        ``in + 1``) is not updated yet. Cost of an estimate:
        ``O(out * (in + 1)^3)``.
    n_samples : int, optional
        Training-set size (the trainer passes it).
    name : str
        Used in error messages.
    """

    checkpoint_state = ("second", "fourth", "seen", "steps")

    def __init__(
        self,
        layer: Layer,
        eta: float | None = None,
        *,
        n_samples: int | None = None,
        name: str = "relu_gate_sgd",
    ) -> None:
        super().__init__(layer, name)
        if not isinstance(layer.activation, GeneralizedReLU):
            raise ValueError(
                f"solver {name!r} is the modified SGD for a ReLU gate; the output activation "
                f"is {type(layer.activation).__name__}. Fix: output_activation='relu' "
                "(or leaky_relu/generalized_relu), or use solver 'glmtron'"
            )
        self.slope = float(layer.activation.b)
        self.eta = None if eta is None else _positive("eta", eta)
        self.n_samples = None if n_samples is None else _count("n_samples", n_samples, 1)
        lin = layer.linear
        p = lin.in_features + (1 if lin.bias is not None else 0)
        k = lin.out_features
        self.second = torch.zeros(k, p, p, dtype=torch.float64)
        self.fourth = torch.zeros(k, dtype=torch.float64)
        self.seen = 0
        self.steps = torch.zeros(k, dtype=torch.float64) if eta is None else None

    def _estimate(self) -> torch.Tensor:
        n = max(self.seen, 1)
        lam = torch.linalg.eigvalsh(self.second / n)[:, 0]
        c1 = self.slope**2 * self.fourth / n
        ok = (lam > 1e-10 * torch.sqrt(self.fourth / n).clamp_min(1e-300)) & (c1 > 0)
        return torch.where(ok, lam / c1.clamp_min(1e-300), torch.zeros_like(lam))

    @torch.no_grad()
    def train_step(self, xb: torch.Tensor, tb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Single-sample modified-SGD updates over the minibatch; returns the MSE before them."""
        _, loss = self._forward(xb, tb)
        lin = self.layer.linear
        has_bias = lin.bias is not None
        xt = _augment(xb, has_bias).to(torch.float64)
        t = tb.to(torch.float64)
        pos = (t > 0).to(torch.float64)  # (m, k)
        if self.eta is None:
            if self.n_samples is None or self.seen < self.n_samples:
                self.second += torch.einsum("mk,mp,mq->kpq", pos, xt, xt)
                self.fourth += pos.T @ ((xt * xt).sum(dim=1) ** 2)
                self.seen += len(xt)
                self.steps = self._estimate()
            eta = self.steps
        else:
            eta = torch.full((lin.out_features,), self.eta, dtype=torch.float64)
        W = lin.weight.to(torch.float64)
        if has_bias:
            W = torch.cat([W, lin.bias.to(torch.float64)[:, None]], dim=1)
        b = self.slope
        for i in range(len(xt)):
            x = xt[i]
            coef = eta * pos[i] * (t[i] - b * (W @ x)) * b
            W += coef[:, None] * x[None, :]
        lin.weight.copy_(W[:, : lin.in_features].to(lin.weight.dtype))
        if has_bias:
            lin.bias.copy_(W[:, -1].to(lin.bias.dtype))
        return loss


def glmtron_factory(params: Any, lr: float, momentum: float, **context: Any) -> GLMTronSolver:
    """``register_solver`` factory for ``"glmtron"`` (``lr``/``momentum`` unused)."""
    layer = _output_layer(
        context.get("model"),
        context.get("block"),
        context.get("suffix"),
        context.get("loss"),
        "glmtron",
    )
    return GLMTronSolver(layer, name="glmtron")


def relu_gate_sgd_factory(
    params: Any, lr: float, momentum: float, **context: Any
) -> ModifiedSGDSolver:
    """``register_solver`` factory for ``"relu_gate_sgd"`` (``lr``/``momentum`` unused)."""
    layer = _output_layer(
        context.get("model"),
        context.get("block"),
        context.get("suffix"),
        context.get("loss"),
        "relu_gate_sgd",
    )
    return ModifiedSGDSolver(layer, n_samples=context.get("n_samples"), name="relu_gate_sgd")


@dataclass(frozen=True)
class GLMOutputRoundRobin:
    """Round-robin DANTE with a GLM solver on the output block only.

    A :class:`~dante.Stage` carries one solver for all of its blocks, so a
    plain :class:`~dante.RoundRobin` with ``solver="glmtron"`` would hand the
    hidden blocks to GLM-Tron too (which raises). This schedule emits, per
    round, one single-round stage ``"glm_output"`` (block: the output layer,
    solver ``output_solver``) followed by one stage ``"hidden"`` (the hidden
    layers from the top down, solver ``hidden_solver``), repeated ``rounds``
    times. Stage names repeat, so each block keeps one solver object (and its
    state) across rounds. Difference from :class:`~dante.RoundRobin`: a fixed
    number of rounds instead of Algorithm 2's ``|f_t - f_{t-1}| < tol`` rule.

    Parameters
    ----------
    rounds : int, default=5
    output_solver : str, default="glmtron"
        ``"glmtron"`` or ``"relu_gate_sgd"`` (or any registered name).
    hidden_solver : str, default="sngd"
    """

    rounds: int = 5
    output_solver: str = "glmtron"
    hidden_solver: str = "sngd"

    def __post_init__(self) -> None:
        _count("rounds", self.rounds, 1)
        for name in ("output_solver", "hidden_solver"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a solver name, got {getattr(self, name)!r}")

    def stages(self, model: LayeredNet) -> list[Stage]:
        n = model.n_layers
        full = tuple(range(n))
        out = Stage(
            name="glm_output",
            path=full,
            input_depth=0,
            target="y",
            blocks=((n - 1,),),
            solver=self.output_solver,
            rounds=1,
        )
        if n == 1:
            return [out] * self.rounds
        hidden = Stage(
            name="hidden",
            path=full,
            input_depth=0,
            target="y",
            blocks=tuple((i,) for i in range(n - 2, -1, -1)),
            solver=self.hidden_solver,
            rounds=1,
        )
        return [out, hidden] * self.rounds


register_solver("glmtron", glmtron_factory)
register_solver("relu_gate_sgd", relu_gate_sgd_factory)
