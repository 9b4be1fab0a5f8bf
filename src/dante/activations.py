"""Activation functions, including the generalized ReLU of the DANTE papers.

The generalized ReLU is Definition 3 of ``001_1787bf99fca4a9f2.txt`` (DANTE,
Neural Networks 2020) and of ``000_16cd8e47eb5a686b.txt`` (the workshop
version)::

    phi(x) = a * x   for x <= 0
    phi(x) = b * x   for x >  0,        0 <= a <= b,  b > 0

Its subgradient, as used by the papers' SLQC proofs, is ``a`` for ``x < 0`` and
``b`` for ``x >= 0`` -- note the value ``b`` *at* zero. PyTorch's own
``leaky_relu`` uses the slope of the negative side at zero, so this module ships
an autograd function whose backward is exactly the papers' subgradient.
``a = 0`` is the standard ReLU (the papers' corollary case) and ``a = 0.01, b = 1``
is the leaky ReLU used in every experiment.

Activations are looked up by name through :func:`get_activation`; the names are
listed in :data:`ACTIVATION_NAMES`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ACTIVATION_NAMES",
    "GeneralizedReLU",
    "generalized_relu",
    "get_activation",
]


class _GeneralizedReLUFunction(torch.autograd.Function):
    """Autograd function with the papers' subgradient (``b`` at zero).

    Built only from elementwise kernels that produce float tensors: on CPU,
    ops that produce or consume boolean masks (``x > 0``, ``torch.where``)
    cost 4-30x a fused kernel (measured: ``where`` 465 us vs ``leaky_relu``
    15 us on a 500 x 100 tensor), which made the activation the largest cost
    of a DANTE step after the matmuls. Forward is ``b * leaky_relu(x, a/b)``;
    backward uses ``leaky_relu_backward`` on ``-x`` so that the slope ``b``
    lands on ``x >= 0`` (the subgradient of Def. 3), not on ``x > 0``:

    * ``a > 0``: ``a * lrb(g, -x, b/a)`` gives ``a g`` where ``x < 0`` and
      ``b g`` where ``x >= 0`` (the latter up to one rounding);
    * ``a = 0``: ``b * (g - lrb(g, -x, 0))`` gives ``0`` where ``x < 0`` and
      ``b g`` where ``x >= 0``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, a: float, b: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.a = a
        ctx.b = b
        if b == 1.0:
            return F.leaky_relu(x, a)
        return F.leaky_relu(x, a / b).mul_(b)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        a, b = ctx.a, ctx.b
        neg_x = x.neg()
        if a > 0.0:
            grad = torch.ops.aten.leaky_relu_backward(grad_out, neg_x, b / a, False).mul_(a)
        else:
            grad = grad_out - torch.ops.aten.leaky_relu_backward(grad_out, neg_x, 0.0, False)
            if b != 1.0:
                grad = grad.mul_(b)
        return grad, None, None


def _check_slopes(a: float, b: float) -> tuple[float, float]:
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"GeneralizedReLU argument {name!r} must be a real number, got {v!r}")
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError(f"GeneralizedReLU argument {name!r} must be finite, got {v!r}")
    if a < 0:
        raise ValueError(
            f"GeneralizedReLU needs 0 <= a <= b; got a={a} < 0 "
            "(use a=0 for the standard ReLU, a=0.01 for leaky ReLU)"
        )
    if b <= 0:
        raise ValueError(f"GeneralizedReLU needs b > 0; got b={b}")
    if a > b:
        raise ValueError(f"GeneralizedReLU needs 0 <= a <= b; got a={a} > b={b}")
    return float(a), float(b)


def generalized_relu(x: torch.Tensor, a: float = 0.01, b: float = 1.0) -> torch.Tensor:
    """Apply the generalized ReLU (Def. 3 of ``001_1787bf99fca4a9f2.txt``).

    Parameters
    ----------
    x : torch.Tensor
        Input.
    a : float, default=0.01
        Slope for ``x <= 0``.
    b : float, default=1.0
        Slope for ``x > 0``; ``0 <= a <= b`` and ``b > 0``.

    Returns
    -------
    torch.Tensor
        ``a*x`` where ``x <= 0`` and ``b*x`` where ``x > 0``; its gradient is
        ``a`` for ``x < 0`` and ``b`` for ``x >= 0``.
    """
    a, b = _check_slopes(a, b)
    return _GeneralizedReLUFunction.apply(x, a, b)


class GeneralizedReLU(nn.Module):
    """Generalized ReLU module ``phi(x) = a x (x <= 0), b x (x > 0)``.

    Definition 3 of ``001_1787bf99fca4a9f2.txt``; the GLM with this link is
    SLQC with ``kappa = 2 b^3 W / a`` (Theorem 3.8 there), which is what lets
    DANTE solve each layer with SNGD.

    Parameters
    ----------
    a : float, default=0.01
        Slope of the negative side (``a = 0`` gives the standard ReLU).
    b : float, default=1.0
        Slope of the positive side. Must satisfy ``0 <= a <= b``, ``b > 0``.

    Notes
    -----
    The backward pass uses the papers' subgradient: ``a`` for ``x < 0`` and
    ``b`` for ``x >= 0`` (PyTorch's ``leaky_relu`` would give ``a`` at 0).

    Examples
    --------
    >>> import torch
    >>> act = GeneralizedReLU(a=0.01, b=1.0)
    >>> act(torch.tensor([-2.0, 0.0, 3.0]))
    tensor([-0.0200,  0.0000,  3.0000])
    """

    def __init__(self, a: float = 0.01, b: float = 1.0) -> None:
        super().__init__()
        self.a, self.b = _check_slopes(a, b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _GeneralizedReLUFunction.apply(x, self.a, self.b)

    def extra_repr(self) -> str:
        return f"a={self.a}, b={self.b}"


_FACTORIES: dict[str, Callable[..., nn.Module]] = {
    "generalized_relu": GeneralizedReLU,
    "leaky_relu": lambda: GeneralizedReLU(0.01, 1.0),
    "relu": lambda: GeneralizedReLU(0.0, 1.0),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
}

#: Names accepted by :func:`get_activation`.
ACTIVATION_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def get_activation(spec: str | nn.Module, **kwargs: float) -> nn.Module:
    """Resolve an activation from a name or pass a module through.

    Parameters
    ----------
    spec : str or torch.nn.Module
        One of :data:`ACTIVATION_NAMES` or a module. ``"leaky_relu"`` is the
        generalized ReLU with ``a=0.01, b=1`` (the papers' setting) and
        ``"relu"`` the case ``a=0``; both use the papers' subgradient.
    **kwargs
        Only for ``"generalized_relu"``: ``a`` and ``b``.

    Returns
    -------
    torch.nn.Module
    """
    if isinstance(spec, nn.Module):
        if kwargs:
            raise TypeError("activation keyword arguments only apply to a name, not a module")
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"activation must be a name or a torch.nn.Module, got {type(spec).__name__}"
        )
    key = spec.strip().lower().replace("-", "_")
    if key not in _FACTORIES:
        raise ValueError(
            f"Unknown activation {spec!r}; choose one of {', '.join(ACTIVATION_NAMES)}"
        )
    if kwargs and key != "generalized_relu":
        raise TypeError(f"activation {spec!r} takes no parameters, got {sorted(kwargs)}")
    return _FACTORIES[key](**kwargs)
