"""The SNGD update as a function: one normalized step of one block.

:func:`sngd_step_` is the arithmetic of Algorithm 1 (with the momentum
readings, the coupled weight decay, ``maximize``, the fused and the looped
kernels and sparse gradients) on plain lists of tensors; the optimizer
:class:`dante.SNGD` (:mod:`dante.sngd`, whose docstring states the update and
its options) calls it once per parameter group. Import both from
:mod:`dante.sngd`.
"""

from __future__ import annotations

import torch

__all__ = ["MOMENTUM_MODES", "sngd_step_"]

#: Where the heavy ball sits: on the normalized directions, or on the raw
#: gradients before the normalisation (see :mod:`dante.sngd`).
MOMENTUM_MODES = ("normalized", "raw")


def _dense(g: torch.Tensor) -> torch.Tensor:
    """The tensor whose entries the norm runs over (a sparse one's values)."""
    return g._values() if g.is_sparse else g


def _block_norm(grads: list[torch.Tensor], foreach: bool = True) -> torch.Tensor:
    """One Frobenius norm over a list of tensors (a DANTE block); sparse
    tensors must be coalesced (a repeated index would be counted apart)."""
    vals = [_dense(g) for g in grads]
    if len(vals) == 1:
        return torch.linalg.vector_norm(vals[0])
    if foreach:
        norms = torch._foreach_norm(vals)
    else:
        norms = [torch.linalg.vector_norm(v) for v in vals]
    return torch.linalg.vector_norm(torch.stack(norms))


def _scaled(g: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``g * scale`` for a dense or a sparse ``g`` (a 0-dim ``scale``, no sync)."""
    if g.is_sparse:
        return torch.sparse_coo_tensor(
            g._indices(), g._values() * scale, g.shape, is_coalesced=True
        )
    return g * scale


@torch.no_grad()
def sngd_step_(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    *,
    lr: float,
    eps: float,
    momentum: float = 0.0,
    buffers: list[torch.Tensor] | None = None,
    weight_decay: float = 0.0,
    maximize: bool = False,
    foreach: bool = True,
    momentum_mode: str = "normalized",
) -> torch.Tensor:
    """Apply one SNGD step to a block in place and return the gradient norm.

    Parameters
    ----------
    params : list of torch.Tensor
        The block's tensors, updated in place.
    grads : list of torch.Tensor
        Their gradients (same shapes; left unchanged). Sparse COO gradients
        are allowed when ``momentum = 0`` and ``weight_decay = 0``.
    lr : float
        Step length ``eta``: the block moves by exactly ``lr`` when
        ``momentum = 0`` and ``||g|| >= eps``.
    eps : float
        Floor of the divisor; a zero gradient gives a zero step.
    momentum : float, default=0.0
        Heavy-ball coefficient (on the normalized direction, or on the raw
        gradient: ``momentum_mode``).
    buffers : list of torch.Tensor, optional
        Momentum buffers (updated in place); required when ``momentum > 0``.
    weight_decay : float, default=0.0
        Coupled decay: ``g + weight_decay * w`` is normalized (the step length
        stays ``lr``); see the module docstring.
    maximize : bool, default=False
        Ascend: normalize ``-g`` instead of ``g``.
    foreach : bool, default=True
        Fused ``torch._foreach_*`` kernels, or a loop over the tensors (the
        same result up to float rounding). A block holding a sparse gradient
        always takes the loop.
    momentum_mode : {"normalized", "raw"}, default="normalized"
        ``"normalized"``: ``v = momentum * v + g / ||g||``, step ``-lr * v``
        (Torch7 ``optim.sgd`` handed the normalized gradient); ``"raw"``:
        ``v = momentum * v + g``, step ``-lr * v / ||v||`` (always of length
        ``lr``). The same when ``momentum = 0``.

    Returns
    -------
    torch.Tensor
        The norm of the normalized gradient, ``||g||`` (with the decay:
        ``||g + wd * w||``), a 0-dim tensor, no host sync.
    """
    if momentum_mode not in MOMENTUM_MODES:
        raise ValueError(f"momentum_mode must be one of {MOMENTUM_MODES}, got {momentum_mode!r}")
    sparse = [i for i, g in enumerate(grads) if g.is_sparse]
    if sparse:
        if momentum != 0.0 or weight_decay != 0.0:
            raise ValueError(
                f"sngd_step_: grads[{sparse[0]}] is sparse; sparse gradients need "
                f"momentum=0 and weight_decay=0 (got momentum={momentum}, "
                f"weight_decay={weight_decay})"
            )
        grads = [g.coalesce() if g.is_sparse else g for g in grads]
        foreach = False  # torch's foreach kernels take dense tensors only
    sign = 1.0
    if maximize:
        if momentum == 0.0 and weight_decay == 0.0:
            sign = -1.0  # the same norm, the step reversed: no negated copy
        else:
            grads = torch._foreach_neg(grads) if foreach else [-g for g in grads]
    if weight_decay != 0.0:  # coupled: decayed before the normalisation
        if foreach:
            grads = torch._foreach_add(grads, params, alpha=weight_decay)
        else:
            grads = [g.add(p, alpha=weight_decay) for p, g in zip(params, grads, strict=True)]
    norm = _block_norm(grads, foreach)
    if momentum == 0.0 and norm.device.type == "cpu":
        # on the CPU reading the norm costs nothing (no device sync) and one
        # fused ``p += alpha * g`` replaces three tensor ops per step
        alpha = -sign * lr / max(float(norm), eps)
        if foreach:
            torch._foreach_add_(params, grads, alpha=alpha)
        else:
            for p, g in zip(params, grads, strict=True):
                p.add_(g, alpha=alpha)
        return norm
    inv = 1.0 / torch.clamp(norm, min=eps)
    if momentum == 0.0:
        scale = (-sign * lr) * inv
        if foreach:
            torch._foreach_add_(params, torch._foreach_mul(grads, scale))
        else:
            for p, g in zip(params, grads, strict=True):
                p.add_(_scaled(g, scale))
        return norm
    if buffers is None:
        raise ValueError("sngd_step_ needs momentum buffers when momentum > 0")
    if momentum_mode == "raw":
        # heavy ball on the raw gradients, then one normalisation of the sum
        if foreach:
            torch._foreach_mul_(buffers, momentum)
            torch._foreach_add_(buffers, grads)
        else:
            for g, b in zip(grads, buffers, strict=True):
                b.mul_(momentum).add_(g)
        inv_v = 1.0 / torch.clamp(_block_norm(buffers, foreach), min=eps)
        if foreach:
            torch._foreach_add_(params, torch._foreach_mul(buffers, -lr * inv_v))
        else:
            for p, b in zip(params, buffers, strict=True):
                p.add_(b * (-lr * inv_v))
        return norm
    if foreach:
        torch._foreach_mul_(buffers, momentum)
        torch._foreach_add_(buffers, torch._foreach_mul(grads, inv))
        torch._foreach_add_(params, buffers, alpha=-lr)
    else:
        for p, g, b in zip(params, grads, buffers, strict=True):
            b.mul_(momentum)
            b.add_(g * inv)
            p.add_(b, alpha=-lr)
    return norm
