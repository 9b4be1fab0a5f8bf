"""Stochastic Normalized Gradient Descent (SNGD) as a ``torch.optim.Optimizer``.

Algorithm 1 of ``000_16cd8e47eb5a686b.txt`` and of ``001_1787bf99fca4a9f2.txt``
(after Hazan, Levy and Shalev-Shwartz, 2015)::

    for t = 1..T:
        draw a minibatch, g_t = grad f_t(w_t)
        w_{t+1} = w_t - eta * g_t / ||g_t||

In DANTE the parameter ``w`` is a *block*: one layer's weight and bias
together. Here every parameter group is one block and ``||g_t||`` is **one**
Frobenius norm over all tensors of the group, so a step moves the whole block
by exactly ``lr`` (Euclidean distance), whatever the gradient's scale.

A zero gradient (e.g. a dead ReLU layer) takes no step and never produces NaN:
the divisor is ``max(||g||, eps)``, so a gradient smaller than ``eps`` moves the
block by less than ``lr`` and an exactly zero gradient not at all. The update
needs no host synchronisation, which keeps it cheap on GPUs.

Momentum (the paper's "DANTE+Momentum", Table 1 of ``001``) is not specified in
the text beyond its coefficient. We apply heavy-ball momentum to the normalized
directions, the way Torch7's ``optim.sgd`` would when it is handed the
normalized gradient (the paper's implementation platform)::

    d_t = g_t / max(||g_t||, eps)
    v_t = momentum * v_{t-1} + d_t           (v_1 = d_1)
    w_{t+1} = w_t - lr * v_t

so the step norm is at most ``lr / (1 - momentum)`` and equals ``lr`` when
``momentum = 0``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

__all__ = ["SNGD", "sngd_step_"]

_F32 = torch.finfo(torch.float32)


def _block_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """One Frobenius norm over a list of tensors (a DANTE block)."""
    if len(grads) == 1:
        return torch.linalg.vector_norm(grads[0])
    norms = torch._foreach_norm(grads)
    return torch.linalg.vector_norm(torch.stack(norms))


@torch.no_grad()
def sngd_step_(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    *,
    lr: float,
    eps: float,
    momentum: float = 0.0,
    buffers: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    """Apply one SNGD step to a block in place and return the gradient norm.

    Parameters
    ----------
    params : list of torch.Tensor
        The block's tensors, updated in place.
    grads : list of torch.Tensor
        Their gradients (same shapes).
    lr : float
        Step length ``eta``: the block moves by exactly ``lr`` when
        ``momentum = 0`` and ``||g|| >= eps``.
    eps : float
        Floor of the divisor; a zero gradient gives a zero step.
    momentum : float, default=0.0
        Heavy-ball coefficient on the normalized direction.
    buffers : list of torch.Tensor, optional
        Momentum buffers (updated in place); required when ``momentum > 0``.

    Returns
    -------
    torch.Tensor
        The block's gradient norm ``||g||`` (a 0-dim tensor, no host sync).
    """
    norm = _block_norm(grads)
    if momentum == 0.0 and norm.device.type == "cpu":
        # on the CPU reading the norm costs nothing (no device sync) and one
        # fused ``p += alpha * g`` replaces three tensor ops per step
        torch._foreach_add_(params, grads, alpha=-lr / max(float(norm), eps))
        return norm
    inv = 1.0 / torch.clamp(norm, min=eps)
    if momentum == 0.0:
        torch._foreach_add_(params, torch._foreach_mul(grads, -lr * inv))
        return norm
    if buffers is None:
        raise ValueError("sngd_step_ needs momentum buffers when momentum > 0")
    torch._foreach_mul_(buffers, momentum)
    torch._foreach_add_(buffers, torch._foreach_mul(grads, inv))
    torch._foreach_add_(params, buffers, alpha=-lr)
    return norm


class SNGD(Optimizer):
    r"""Stochastic Normalized Gradient Descent, one normalized step per block.

    Each parameter group is one DANTE block; the update is
    ``w <- w - lr * g / ||g||_F`` with one Frobenius norm over every tensor of
    the group (weight and bias together), Algorithm 1 of
    ``001_1787bf99fca4a9f2.txt``. It works in any PyTorch training loop.

    Parameters
    ----------
    params : iterable of tensors or of dicts
        Parameters, or parameter groups (one group per block).
    lr : float
        Step length ``eta > 0`` (Theorem 3.6 of ``001``: ``eta = eps/kappa``).
    momentum : float, default=0.0
        Heavy-ball coefficient in ``[0, 1)`` applied to normalized directions
        (DANTE+Momentum of Table 1 in ``001``); see the module docstring.
    eps : float, default=1e-12
        Floor of the norm; a zero gradient gives no step and no NaN.

    Notes
    -----
    Parameters whose ``.grad`` is ``None`` count as zero and are not moved.
    After each step ``last_grad_norms`` holds every group's ``||g||`` (0-dim
    tensors), e.g. for estimating the SLQC constant along a trajectory.
    The step norm equals ``lr`` exactly (up to float rounding) whenever
    ``momentum = 0`` and ``||g|| >= eps``.

    Examples
    --------
    >>> import torch
    >>> layer = torch.nn.Linear(3, 2)
    >>> opt = SNGD(layer.parameters(), lr=0.1)
    >>> layer(torch.randn(8, 3)).pow(2).mean().backward()
    >>> _ = opt.step()
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float,
        momentum: float = 0.0,
        eps: float = 1e-12,
    ) -> None:
        for name, value in (("lr", lr), ("momentum", momentum), ("eps", eps)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"SNGD argument {name!r} must be a real number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"Invalid {name}: {value} (must be finite)")
        lr, momentum, eps = float(lr), float(momentum), float(eps)
        if lr <= 0.0:
            raise ValueError(f"Invalid learning rate: {lr} (SNGD needs lr > 0)")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum value: {momentum} (must be in [0, 1))")
        if eps < _F32.tiny:
            raise ValueError(f"Invalid eps: {eps} (must be >= {_F32.tiny:.3g}, float32's tiniest)")
        if lr / eps > _F32.max:
            # the step multiplies a gradient by up to lr / eps, in float32
            raise ValueError(
                f"Invalid lr={lr:g} with eps={eps:g}: lr / eps overflows float32 "
                f"({_F32.max:.3g}); lower lr or raise eps"
            )
        if isinstance(params, torch.Tensor) or not isinstance(params, Iterable):
            raise TypeError(
                "SNGD params must be an iterable of tensors or of parameter-group dicts "
                f"(e.g. model.parameters()), got {type(params).__name__}"
            )
        defaults = {"lr": lr, "momentum": momentum, "eps": eps}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """Take one SNGD step per parameter group.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss.

        Returns
        -------
        torch.Tensor or None
            The closure's loss, if a closure was given.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.last_grad_norms: list[torch.Tensor | None] = []
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                self.last_grad_norms.append(None)
                continue
            grads = [p.grad for p in params]
            buffers = None
            if group["momentum"] != 0.0:
                buffers = []
                for p in params:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    buffers.append(state["momentum_buffer"])
            norm = sngd_step_(
                params,
                grads,
                lr=group["lr"],
                eps=group["eps"],
                momentum=group["momentum"],
                buffers=buffers,
            )
            self.last_grad_norms.append(norm)
        return loss
