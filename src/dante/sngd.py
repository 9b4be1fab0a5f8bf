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
``momentum = 0``. This is ``momentum_mode="normalized"`` (the default and the
literal reading of Table 1's "DANTE+Momentum, MP = 0.0005"; with so small a
coefficient ``v_t`` differs from ``d_t`` by at most 0.05 %, so it is DANTE in
all but name).

``momentum_mode="raw"`` is the other reading: the heavy ball accumulates the
*raw* gradients and the accumulated direction is normalized, so every step
still has length exactly ``lr``::

    v_t = momentum * v_{t-1} + g_t           (v_1 = g_1)
    w_{t+1} = w_t - lr * v_t / max(||v_t||, eps)

Neither reading is stated in ``001``; both are offered (the method presets
``dante_momentum``, ``dante_momentum_raw`` and ``dante_heavy_ball`` of
:data:`dante.config.METHODS` label which one a run used).

Options carried over from ``torch.optim`` (not in the papers):

* ``weight_decay`` is *coupled*, as in ``torch.optim.SGD``: ``wd * w`` is
  added to the gradient before the normalisation, ``g' = g + wd * w``, and
  the step is ``-lr * g' / ||g'||``. The step length therefore stays exactly
  ``lr``, SNGD's defining invariant (Algorithm 1 normalises whatever gradient
  the objective has; here the objective is ``f + wd/2 ||w||^2``). A decoupled,
  AdamW-style decay ``w <- w - lr * wd * w`` after the normalized step would
  move the block by more or less than ``lr`` depending on ``||w||``.
* ``maximize`` ascends: ``g`` is replaced by ``-g`` (before the decay, as in
  ``torch.optim.SGD``), so without decay the step is exactly the negative of
  the minimizing one, ``+lr * g / ||g||``.
* ``foreach`` picks the fused ``torch._foreach_*`` kernels (``None``: the
  default, fused) or a loop over the tensors; both give the same result up
  to float rounding (bit-identical on the CPU in our tests).
* Sparse gradients (``nn.Embedding(sparse=True)``) are supported without
  momentum or weight decay: the norm is that of the coalesced values and the
  step touches only the rows present, still of length exactly ``lr``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from ._sngd_functional import MOMENTUM_MODES, sngd_step_

__all__ = ["MOMENTUM_MODES", "SNGD", "sngd_step_"]

_F32 = torch.finfo(torch.float32)


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"SNGD argument {name!r} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"Invalid {name}: {value} (must be finite)")
    return float(value)


def _flag(name: str, value: Any, allow_none: bool = False) -> bool | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, bool):
        what = "True, False or None" if allow_none else "True or False"
        raise TypeError(f"SNGD argument {name!r} must be {what}, got {value!r}")
    return value


def _check_hyper(group: dict[str, Any]) -> None:
    """Validate (and normalise) one parameter group's hyper-parameters in place."""
    lr, momentum, eps = (_real(k, group[k]) for k in ("lr", "momentum", "eps"))
    weight_decay = _real("weight_decay", group["weight_decay"])
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
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay} (must be >= 0)")
    group.update(
        lr=lr,
        momentum=momentum,
        eps=eps,
        weight_decay=weight_decay,
        maximize=_flag("maximize", group["maximize"]),
        foreach=_flag("foreach", group["foreach"], allow_none=True),
    )
    mode = group.get("momentum_mode", "normalized")
    if mode not in MOMENTUM_MODES:
        raise ValueError(f"Invalid momentum_mode: {mode!r} (must be one of {MOMENTUM_MODES})")
    group["momentum_mode"] = mode


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
        Heavy-ball coefficient in ``[0, 1)`` (DANTE+Momentum of Table 1 in
        ``001``); see the module docstring.
    eps : float, default=1e-12
        Floor of the norm; a zero gradient gives no step and no NaN.
    weight_decay : float, default=0.0
        L2 penalty ``>= 0``, *coupled* as in ``torch.optim.SGD``: the block
        steps along ``(g + wd * w) / ||g + wd * w||``, so every step still has
        length exactly ``lr`` (SNGD's defining invariant). A decoupled
        (AdamW-style) decay after the normalized step would break it: the
        block would move by ``||lr * d + lr * wd * w||``, which depends on the
        weights' size.
    maximize : bool, default=False
        Maximize the objective: the step is ``+lr * g / ||g||`` (the negative
        of the minimizing step); with ``weight_decay`` the decay still shrinks
        the weights, as in ``torch.optim.SGD``.
    foreach : bool or None, default=None
        ``True`` (or ``None``, the default) uses the fused ``torch._foreach_*``
        kernels, ``False`` a loop over the tensors; both give the same result
        up to float rounding. A group holding a sparse gradient always loops.
    momentum_mode : {"normalized", "raw"}, default="normalized"
        Heavy ball on the normalized directions (step length up to
        ``lr / (1 - momentum)``) or on the raw gradients, normalized after the
        sum (step length exactly ``lr``); see the module docstring.

    Notes
    -----
    Parameters whose ``.grad`` is ``None`` count as zero and are not moved
    (nor decayed). After each step ``last_grad_norms`` holds every group's
    ``||g||`` (0-dim tensors; with ``weight_decay`` the norm of the decayed
    gradient), e.g. for estimating the SLQC constant along a trajectory.
    The step norm equals ``lr`` exactly (up to float rounding) whenever
    ``momentum = 0`` and ``||g|| >= eps``.

    Sparse gradients (``nn.Embedding(sparse=True)``) are taken as they come:
    the norm is that of the coalesced values, so the step moves only the rows
    present and still has length ``lr``. Momentum and weight decay would make
    the step dense and are refused for them.

    Examples
    --------
    >>> import torch
    >>> layer = torch.nn.Linear(3, 2)
    >>> opt = SNGD(layer.parameters(), lr=0.1, weight_decay=1e-4)
    >>> layer(torch.randn(8, 3)).pow(2).mean().backward()
    >>> _ = opt.step()
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float,
        momentum: float = 0.0,
        eps: float = 1e-12,
        *,
        weight_decay: float = 0.0,
        maximize: bool = False,
        foreach: bool | None = None,
        momentum_mode: str = "normalized",
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "momentum_mode": momentum_mode,
        }
        _check_hyper(defaults)
        if isinstance(params, torch.Tensor) or not isinstance(params, Iterable):
            raise TypeError(
                "SNGD params must be an iterable of tensors or of parameter-group dicts "
                f"(e.g. model.parameters()), got {type(params).__name__}"
            )
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (a block); its own hyper-parameters are checked like the defaults."""
        super().add_param_group(param_group)
        _check_hyper(self.param_groups[-1])

    def __setstate__(self, state: dict[str, Any]) -> None:
        # state dicts saved before these options existed load with their defaults
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("weight_decay", 0.0)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("momentum_mode", "normalized")

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
        for g_idx, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                self.last_grad_norms.append(None)
                continue
            grads = [p.grad for p in params]
            self._check_sparse(g_idx, group, grads)
            self.last_grad_norms.append(self.step_group(group, params, grads))
        return loss

    def step_group(
        self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]
    ) -> torch.Tensor:
        """One SNGD step of one parameter group with the given gradients.

        What :meth:`step` does for each group, for callers that computed the
        gradients themselves (the fused block step, :mod:`dante.fast_step`):
        the group's options, and its momentum buffers kept in ``self.state``.

        Returns
        -------
        torch.Tensor
            The group's gradient norm ``||g||``.
        """
        buffers = None
        if group["momentum"] != 0.0:
            buffers = []
            for p in params:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buffers.append(state["momentum_buffer"])
        return sngd_step_(
            params,
            grads,
            lr=group["lr"],
            eps=group["eps"],
            momentum=group["momentum"],
            buffers=buffers,
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            foreach=group["foreach"] is not False,
            momentum_mode=group["momentum_mode"],
        )

    @staticmethod
    def _check_sparse(g_idx: int, group: dict[str, Any], grads: list[torch.Tensor]) -> None:
        """Refuse, naming the parameter, a gradient layout the step cannot take."""
        for g in grads:
            if g.layout == torch.strided:
                continue
            i = next(k for k, p in enumerate(group["params"]) if p.grad is g)
            where = f"parameter {i} of group {g_idx} (shape {tuple(g.shape)})"
            if g.layout != torch.sparse_coo:
                raise ValueError(
                    f"SNGD: {where} has a {g.layout} gradient; only dense and sparse COO "
                    f"gradients are supported"
                )
            if group["momentum"] != 0.0 or group["weight_decay"] != 0.0:
                raise ValueError(
                    f"SNGD: {where} has a sparse gradient (e.g. nn.Embedding(sparse=True)), "
                    f"which SNGD takes only with momentum=0 and weight_decay=0 (got "
                    f"momentum={group['momentum']}, weight_decay={group['weight_decay']}): "
                    f"a momentum buffer or a decay would make every step dense. Use "
                    f"sparse=False, or train that parameter with torch.optim.SparseAdam"
                )
