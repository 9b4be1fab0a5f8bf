"""A fused, autograd-free DANTE step for a block that is one layer.

DANTE (Algorithm 2 of ``001_1787bf99fca4a9f2.txt``) trains one block at a
time with SNGD (Algorithm 1 there) while every other layer is frozen. When the
block is a single layer ``a = phi(X W^T + b)`` and the layers above it are
fixed, Sec. 3 of ``001`` reads the block as a generalized linear model: its
gradient has the closed form::

    delta = dL/dz = dL/da * phi'(z)        z = X W^T + b
    grad_W = delta^T X,   grad_b = sum_rows(delta)

(the GLM gradient ``X^T (delta * phi'(X W))``). For the output block ``dL/da``
is the loss's own derivative; for a hidden block it is carried down through
the fixed layers above by the same rule, ``dL/da_{j-1} = delta_j W_j``.

:class:`FastBlockStep` computes the loss and these gradients with plain
tensor ops under ``torch.no_grad()`` (no graph is built, no autograd engine
runs) and then takes the block's SNGD step exactly as :class:`dante.SNGD`
would (one Frobenius norm over weight and bias together, a step of length
``lr``, the same momentum buffers), so checkpoints and resumption see the
same optimizer state as on the autograd path. Each activation's derivative
is the one the package's autograd uses, kernel for kernel: for the
generalized ReLU the papers' subgradient (``a`` for ``z < 0``, ``b`` for
``z >= 0``, Def. 3 of ``001``), for sigmoid and tanh ATen's own backward
kernels.

:func:`plan_fast_step` says whether a phase can take this path; anything
else (blocks of several layers, other activations or solvers, several
processes, a non-CPU device, a batch-normalised layer) keeps the autograd
path. The trainer records
the choice per block in ``TrainResult.stages[i]["fast_path"]``; the
``TrainConfig.fast_path`` switch turns it off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .activations import GeneralizedReLU
from .losses import Loss
from .sngd import SNGD

__all__ = ["FastBlockStep", "activation_kind", "block_delta", "loss_grad", "plan_fast_step"]

# ATen's reduction enum: 1 = mean (what ``F.mse_loss`` uses by default)
_MEAN = 1


def activation_kind(module: nn.Module) -> tuple[str, float, float] | None:
    """The fast path's name for an activation module, or ``None`` if unsupported.

    Parameters
    ----------
    module : torch.nn.Module
        A layer's activation.

    Returns
    -------
    tuple of (str, float, float) or None
        ``("grelu", a, b)`` for :class:`~dante.activations.GeneralizedReLU`
        (``relu``, ``leaky_relu`` and ``generalized_relu`` by name),
        ``("sigmoid", 0, 0)``, ``("tanh", 0, 0)``, ``("identity", 0, 0)``;
        ``None`` for anything else (subclasses included: they may override
        ``forward``).
    """
    t = type(module)
    if t is GeneralizedReLU:
        return ("grelu", float(module.a), float(module.b))
    if t is nn.Sigmoid:
        return ("sigmoid", 0.0, 0.0)
    if t is nn.Tanh:
        return ("tanh", 0.0, 0.0)
    if t is nn.Identity:
        return ("identity", 0.0, 0.0)
    return None


# ATen entry points called directly: the ``torch.nn.functional`` wrappers and
# ``torch.ops`` overload packets cost 1-2 us of Python per call, which is a
# tenth of a small block's step (50 x 10 at batch 100: ~50 us). Same kernels.
_leaky_relu = torch._C._nn.leaky_relu
_mse_loss = torch._C._nn.mse_loss
_leaky_relu_backward = torch.ops.aten.leaky_relu_backward.default
_mse_loss_backward = torch.ops.aten.mse_loss_backward.default
_sigmoid_backward = torch.ops.aten.sigmoid_backward.default
_tanh_backward = torch.ops.aten.tanh_backward.default
_vector_norm = torch.linalg.vector_norm


def _act_forward(kind: tuple[str, float, float], z: torch.Tensor) -> torch.Tensor:
    """``phi(z)``, the same kernels as the modules' forward (a new tensor)."""
    name, a, b = kind
    if name == "grelu":
        if b == 1.0:
            return _leaky_relu(z, a)
        return _leaky_relu(z, a / b).mul_(b)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    return z


def _act_backward(
    kind: tuple[str, float, float], g: torch.Tensor, z: torch.Tensor, a_out: torch.Tensor
) -> torch.Tensor:
    """``g * phi'(z)``, kernel for kernel what the package's autograd computes.

    The generalized ReLU repeats ``_GeneralizedReLUFunction.backward``
    (subgradient ``a`` for ``z < 0`` and ``b`` for ``z >= 0``); sigmoid and
    tanh use ATen's backward kernels on the activation's output, as autograd
    does.
    """
    name, a, b = kind
    if name == "grelu":
        neg_z = z.neg()
        if a > 0.0:
            return _leaky_relu_backward(g, neg_z, b / a, False).mul_(a)
        out = g - _leaky_relu_backward(g, neg_z, 0.0, False)
        return out.mul_(b) if b != 1.0 else out
    if name == "sigmoid":
        return _sigmoid_backward(g, a_out)
    if name == "tanh":
        return _tanh_backward(g, a_out)
    return g


def loss_grad(
    mse: bool, out: torch.Tensor, target: torch.Tensor, one: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean loss and ``dL/d out``, kernel for kernel as autograd computes them.

    Parameters
    ----------
    mse : bool
        ``True``: mean squared error; ``False``: softmax cross-entropy (sigmoid
        plus binary cross-entropy for one output column, Sec. 3.4 of
        ``001_1787bf99fca4a9f2.txt``).
    out : torch.Tensor of shape (m, k)
        The network's output.
    target : torch.Tensor
        As :meth:`dante.losses.Loss.prepare_targets` encodes it.
    one : torch.Tensor
        A 0-dim ``1`` of ``out``'s dtype and device (the seed of MSE's backward).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The loss (0-dim) and its gradient with respect to ``out``.
    """
    if mse:
        loss = _mse_loss(out, target, _MEAN)
        return loss, _mse_loss_backward(one, out, target, _MEAN)
    if out.shape[1] == 1:  # sigmoid + binary cross-entropy on one logit
        loss = F.binary_cross_entropy_with_logits(out, target)
        return loss, torch.sigmoid(out).sub_(target).div_(out.numel())
    logp = F.log_softmax(out, 1)
    loss = F.nll_loss(logp, target)
    # autograd's arithmetic: nll_loss gives -r at each target (r = 1/m rounded)
    # and log_softmax's backward adds softmax * r: fl(p r) - r at the target
    r = 1.0 / len(logp)
    g = logp.exp_().mul_(r)  # softmax, in place of the log-probabilities
    g.scatter_add_(1, target.unsqueeze(1), g.new_full((len(g), 1), -r))
    return loss, g


def block_delta(
    chain: Sequence[tuple[torch.Tensor, torch.Tensor | None, tuple[str, float, float]]],
    mse: bool,
    x: torch.Tensor,
    target: torch.Tensor,
    one: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss and ``delta = dL/dz`` of the block's layer, carried down the chain.

    Forward through the block's layer and the fixed layers above it, the
    loss's gradient (:func:`loss_grad`), then ``delta_j = dL/da_j * phi'(z_j)``
    and ``dL/da_{j-1} = delta_j W_j`` down to the block (Sec. 3 of
    ``001_1787bf99fca4a9f2.txt``). The block's gradient is then
    ``grad_W = delta^T x`` and ``grad_b = sum_rows(delta)``.

    Parameters
    ----------
    chain : sequence of (weight, bias, activation kind)
        The block's layer first, then the layers above it.
    mse : bool
        The loss (see :func:`loss_grad`).
    x, target : torch.Tensor
        The block's inputs and the targets.
    one : torch.Tensor
        A 0-dim ``1`` (see :func:`loss_grad`).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The loss (0-dim) and ``delta`` of shape ``(m, out_features)``.
    """
    zs, outs = [], []  # the output block is a chain of one: no layer above it
    h = x
    for weight, bias, kind in chain:
        z = F.linear(h, weight, bias)
        h = _act_forward(kind, z)
        zs.append(z)
        outs.append(h)
    loss, g = loss_grad(mse, h, target, one)
    for j in range(len(chain) - 1, -1, -1):
        g = _act_backward(chain[j][2], g, zs[j], outs[j])  # delta_j = dL/dz_j
        if j:
            g = torch.mm(g, chain[j][0])  # dL/da_{j-1}
    return loss, g


class FastBlockStep:
    """Loss, gradient and SNGD step of a one-layer block, without autograd.

    Parameters
    ----------
    layers : sequence of dante.models.Layer
        The block's layer first, then the fixed layers above it in the order
        the trainer applies them (the phase's ``suffix``); every activation
        must be supported by :func:`activation_kind`.
    loss : dante.losses.Loss
        ``"mse"`` or ``"cross_entropy"`` (softmax; sigmoid plus binary
        cross-entropy for one output, Sec. 3.4 of ``001_1787bf99fca4a9f2.txt``).
    optimizer : dante.SNGD, optional
        The block's optimizer (one parameter group: the block's weight and
        bias). ``None``: gradients only (:meth:`loss_and_grad`).

    Notes
    -----
    The step is Algorithm 1 of ``001``: ``w <- w - lr g / ||g||`` with one
    Frobenius norm over the block's weight and bias, through
    :func:`dante.sngd.sngd_step_` with the group's own hyper-parameters
    (momentum, decay, ``maximize``) and its momentum buffers.
    """

    def __init__(
        self, layers: Sequence[nn.Module], loss: Loss, optimizer: SNGD | None = None
    ) -> None:
        kinds = [activation_kind(layer.activation) for layer in layers]
        if not layers or any(k is None for k in kinds):
            raise ValueError("FastBlockStep needs layers whose activations are all supported")
        if any(getattr(layer, "norm", None) is not None for layer in layers):
            raise ValueError("FastBlockStep does not handle batch-normalised layers")
        self.layers = list(layers)
        self.kinds: list[tuple[str, float, float]] = kinds  # type: ignore[assignment]
        self.loss = loss
        self.opt = optimizer
        lin = self.layers[0].linear
        self.weight, self.bias = lin.weight, lin.bias
        self.grad_weight = torch.empty_like(self.weight)
        self.grad_bias = None if self.bias is None else torch.empty_like(self.bias)
        # the optimizer's parameters in its own order, with their gradients
        own = {id(self.weight): self.grad_weight}
        if self.bias is not None:
            own[id(self.bias)] = self.grad_bias
        if optimizer is not None:
            group = optimizer.param_groups[0]
            self.params = list(group["params"])
            self.grads = [own[id(p)] for p in self.params]
        self._one = torch.ones((), dtype=self.weight.dtype, device=self.weight.device)
        # per layer (weight, bias, activation), bound once: the hot loop does no
        # attribute lookups through the modules
        self._chain = [
            (layer.linear.weight, layer.linear.bias, kind)
            for layer, kind in zip(self.layers, kinds, strict=True)
        ]
        self._mse = loss.name == "mse"

    def _forward_backward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """:meth:`loss_and_grad` without the ``no_grad`` context (callers hold it)."""
        loss, g = block_delta(self._chain, self._mse, x, target, self._one)
        torch.mm(g.t(), x, out=self.grad_weight)
        if self.grad_bias is not None:
            torch.sum(g, 0, out=self.grad_bias)
        return loss

    @torch.no_grad()
    def loss_and_grad(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss of the minibatch and the block's gradients.

        Parameters
        ----------
        x : torch.Tensor of shape (m, in_features)
            The block's inputs (a row of the cached frozen prefix, or data).
        target : torch.Tensor
            What the loss compares the output with (as prepared by
            :meth:`dante.losses.Loss.prepare_targets`).

        Returns
        -------
        torch.Tensor
            The loss before the step (0-dim). The gradients are left in
            ``grad_weight`` and ``grad_bias`` (overwritten on every call).
        """
        return self._forward_backward(x, target)

    @torch.no_grad()
    def step(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, float]:
        """:meth:`loss_and_grad`, then :meth:`apply` if the loss is finite.

        The trainer's step in one call (one ``no_grad`` context, one host read
        of the loss). A NaN/Inf loss takes no step: the caller sees the value
        and raises before anything has changed.

        Returns
        -------
        (torch.Tensor, float)
            The loss before the step (0-dim) and its value.
        """
        loss = self._forward_backward(x, target)
        value = loss.item()
        if math.isfinite(value):
            self._apply()
        return loss, value

    @torch.no_grad()
    def apply(self) -> torch.Tensor:
        """Take the SNGD step with the gradients of the last :meth:`loss_and_grad`.

        Returns
        -------
        torch.Tensor
            The block's gradient norm ``||g||`` (also in the optimizer's
            ``last_grad_norms``, as :meth:`dante.SNGD.step` leaves it).
        """
        if self.opt is None:
            raise RuntimeError("FastBlockStep was built without an optimizer")
        return self._apply()

    def _apply(self) -> torch.Tensor:
        """:meth:`apply` without the context. Without momentum and decay (DANTE's
        step) it is :func:`dante.sngd.sngd_step_`'s CPU branch op for op, minus
        its Python (argument checks, the dispatch over cases): the same norm
        kernels, ``alpha = -lr / max(||g||, eps)`` and one fused ``p += alpha g``;
        anything else goes through :meth:`dante.SNGD.step_group`."""
        opt = self.opt
        group = opt.param_groups[0]
        if group["momentum"] != 0.0 or group["weight_decay"] != 0.0:
            norm = opt.step_group(group, self.params, self.grads)
        else:
            grads = self.grads
            foreach = group["foreach"] is not False
            if len(grads) == 1:
                norm = _vector_norm(grads[0])
            elif foreach:
                norm = _vector_norm(torch.stack(torch._foreach_norm(grads)))
            else:
                norm = _vector_norm(torch.stack([_vector_norm(g) for g in grads]))
            lr = group["lr"]
            alpha = (lr if group["maximize"] else -lr) / max(float(norm), group["eps"])
            if foreach:
                torch._foreach_add_(self.params, grads, alpha=alpha)
            else:
                for p, g in zip(self.params, grads, strict=True):
                    p.add_(g, alpha=alpha)
        opt.last_grad_norms = [norm]
        return norm


def plan_fast_step(
    model: nn.Module,
    block: Sequence[int],
    suffix: Sequence[int],
    loss: Loss,
    optimizer: object,
    *,
    world_size: int = 1,
    any_device: bool = False,
) -> FastBlockStep | None:
    """A :class:`FastBlockStep` for this phase, or ``None`` to use autograd.

    Parameters
    ----------
    model : dante.models.LayeredNet
    block : sequence of int
        The layers trained in the phase; the fast path takes one layer.
    suffix : sequence of int
        The layers applied to the block's inputs, the block's first.
    loss : dante.losses.Loss
    optimizer : object
        The block's solver; the fast path takes a :class:`dante.SNGD` (exactly
        that class) with one parameter group holding the layer's weight and
        bias.
    world_size : int, default=1
        Processes of a data-parallel run; the fast path runs in one.
    any_device : bool, default=False
        Accept parameters on any device (for :mod:`dante.compiled_step`, which
        keeps the step on the device); otherwise only on the CPU.

    Returns
    -------
    FastBlockStep or None
        ``None`` when anything is unsupported: several layers in the block,
        an activation other than identity, sigmoid, tanh and the generalized
        ReLU family, a loss other than ``mse``/``cross_entropy``, another
        solver or several groups, several processes, parameters off the CPU
        or needing gradients of another dtype than their layer's input, or a
        batch-normalised layer (``MLP(batch_norm=True)``) anywhere from the
        block up: its closed form is not this GLM gradient, so autograd
        takes the step.
    """
    if world_size != 1 or len(block) != 1 or not suffix or suffix[0] != block[0]:
        return None
    if type(optimizer) is not SNGD or len(optimizer.param_groups) != 1:
        return None
    if loss.name not in ("mse", "cross_entropy"):
        return None
    layers = [model.layers[i] for i in suffix]
    if any(activation_kind(layer.activation) is None for layer in layers):
        return None
    if any(getattr(layer, "norm", None) is not None for layer in layers):
        return None
    lin = layers[0].linear
    own = {id(lin.weight)} | ({id(lin.bias)} if lin.bias is not None else set())
    group = optimizer.param_groups[0]["params"]
    if {id(p) for p in group} != own or len(group) != len(own):
        return None
    params = [p for layer in layers for p in layer.parameters()]
    if any(p.layout != torch.strided for p in params):
        return None
    if not any_device and any(p.device.type != "cpu" for p in params):
        return None
    if len({p.dtype for p in params}) != 1:
        return None
    return FastBlockStep(layers, loss, optimizer)
