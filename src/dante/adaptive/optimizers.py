"""NAG, RMSProp and ADAM exactly as the thesis states them (``003`` Ch. 5.2).

``003_a707f9d83869f5a2.txt`` Section 5.2 gives three pseudocodes, used both in
its convergence proofs (Sections 5.3-5.4) and in its experiments
(Sections 5.5-5.6, Appendix 5.D). They differ from ``torch.optim`` in ways
that matter for the chapter's claims:

* **RMSProp (Algorithm 6)** adds the fixed shift ``xi`` to the squared
  gradient *inside* the moving average, ``v_t = b2 v_{t-1} + (1-b2)(g_t^2 +
  xi 1)``, and divides by ``sqrt(v_t)`` (Definition 17's Penrose square root:
  coordinates with ``v_t = 0`` take no step); ``v_0 = 0`` (Appendix 5.D: not
  TensorFlow's ``v_0 = 1``). ``torch.optim.RMSprop`` instead adds ``eps`` to
  ``sqrt(v_t)``.
* **ADAM (Algorithm 7)** adds ``zeta`` to ``sqrt(v_t)`` *uncorrected* and puts
  the bias correction into the step size, ``alpha_t = alpha sqrt(1 - b2^t) /
  (1 - b1^t)`` (Appendix 5.D) -- TensorFlow's "epsilon hat" convention; in
  ``torch.optim.Adam`` the ``eps`` is added to the *corrected* ``sqrt(v_hat)``.
  The thesis's setting ``b1 = 0.99`` (Appendix 5.D, Sec. 5.6.3) is the
  default here.
* **NAG (Algorithm 5)**: ``v_{t+1} = mu v_t + g_t``, ``x_{t+1} = x_t - alpha
  (g_t + mu v_{t+1})`` (the same iterates as ``torch.optim.SGD(nesterov=True,
  dampening=0)``).

Each class keeps the bookkeeping (lazy per-parameter state, closure, param
groups); the arithmetic is in :func:`nag_update_`, :func:`rmsprop_update_`
and :func:`adam_update_`, which act in place on one tensor and can be checked
against a hand-computed step. The classes are ordinary
``torch.optim.Optimizer`` subclasses, so they also serve as DANTE block
solvers: ``dante.fit(net, X, solver=lambda ps: ThesisAdam(ps, lr=1e-3))``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

__all__ = [
    "ThesisAdam",
    "ThesisNAG",
    "ThesisRMSProp",
    "adam_update_",
    "nag_update_",
    "rmsprop_update_",
]

Params = Iterable[torch.Tensor] | Iterable[dict[str, Any]]
Closure = Callable[[], torch.Tensor] | None


def _check_real(name: str, value: Any, lo: float, hi: float, *, lo_open: bool, hi_open: bool):
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a finite real in the range."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value))
    if ok:
        v = float(value)
        ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        rng = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ValueError(f"Invalid {name}: {value!r} (must be a real number in {rng})")


def nag_update_(
    param: torch.Tensor, grad: torch.Tensor, buf: torch.Tensor, *, lr: float, momentum: float
) -> None:
    """One step of Algorithm 5 (NAG) of ``003`` Ch. 5.2, in place.

    ``buf <- momentum * buf + grad``; ``param <- param - lr * (grad +
    momentum * buf)`` (lines 5-6, with ``buf`` the thesis's ``v``).
    """
    buf.mul_(momentum).add_(grad)
    param.sub_(grad.add(buf, alpha=momentum), alpha=lr)


def rmsprop_update_(
    param: torch.Tensor, grad: torch.Tensor, v: torch.Tensor, *, lr: float, beta2: float, xi: float
) -> None:
    """One step of Algorithm 6 (RMSProp) of ``003`` Ch. 5.2, in place.

    ``v <- beta2 v + (1 - beta2)(grad^2 + xi)`` (line 7) and ``param <- param
    - lr V^{-1/2} grad`` (line 9) with ``V^{-1/2}`` the square root of the
    Penrose inverse (Definition 17): coordinates where ``v = 0`` (only
    possible with ``xi = 0``) do not move.
    """
    v.mul_(beta2).add_(grad.square().add_(xi), alpha=1.0 - beta2)
    root = v.sqrt()
    inv = torch.where(root > 0, root.reciprocal(), torch.zeros_like(root))
    param.sub_(grad * inv, alpha=lr)


def adam_update_(
    param: torch.Tensor,
    grad: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    zeta: float,
    bias_correction: bool = True,
) -> float:
    """One step of Algorithm 7 (ADAM) of ``003`` Ch. 5.2, in place; returns ``alpha_t``.

    ``m <- beta1 m + (1 - beta1) grad`` (line 6), ``v <- beta2 v + (1 -
    beta2) grad^2`` (line 8), ``param <- param - alpha_t (sqrt(v) + zeta)^{-1}
    m`` (line 10), with ``alpha_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)``
    (Appendix 5.D) when ``bias_correction`` else ``alpha_t = lr``. ``step``
    is ``t >= 1``.
    """
    m.mul_(beta1).add_(grad, alpha=1.0 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
    alpha_t = lr
    if bias_correction:
        alpha_t = lr * math.sqrt(1.0 - beta2**step) / (1.0 - beta1**step)
    param.addcdiv_(m, v.sqrt().add_(zeta), value=-alpha_t)
    return alpha_t


class _ThesisOptimizer(Optimizer):
    """Shared bookkeeping: closure, no_grad, lazily created state."""

    def _update(self, p: torch.Tensor, grad: torch.Tensor, group: dict, state: dict) -> None:
        raise NotImplementedError

    @staticmethod
    def _advance(p: torch.Tensor, state: dict, *buffers: str) -> None:
        """Create the zero ``buffers`` on first use (lazy state); count the step."""
        if not state:
            state["step"] = 0
            for name in buffers:
                state[name] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["step"] += 1

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:
        """Perform one step; ``closure`` re-evaluates the loss (run with grad enabled)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                self._update(p, p.grad, group, self.state[p])
        return loss


class ThesisNAG(_ThesisOptimizer):
    """Nesterov's Accelerated Gradient, Algorithm 5 of ``003`` Ch. 5.2.

    ::

        v_1 = 0
        for t = 1, 2, ...:
            v_{t+1} = mu v_t + grad f(x_t)
            x_{t+1} = x_t - alpha (grad f(x_t) + mu v_{t+1})

    Parameters
    ----------
    params : iterable of tensors or dicts
    lr : float, default=1e-3
        Step size ``alpha > 0`` (Appendix 5.D grid: 3e-3 ... 3e-5).
    momentum : float, default=0.9
        ``mu`` in ``[0, 1)`` (Appendix 5.D: 0.9 or 0.99).
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.9) -> None:
        _check_real("learning rate", lr, 0.0, math.inf, lo_open=True, hi_open=True)
        _check_real("momentum", momentum, 0.0, 1.0, lo_open=False, hi_open=True)
        super().__init__(params, {"lr": float(lr), "momentum": float(momentum)})

    def _update(self, p: torch.Tensor, grad: torch.Tensor, group: dict, state: dict) -> None:
        self._advance(p, state, "momentum_buffer")
        nag_update_(p, grad, state["momentum_buffer"], lr=group["lr"], momentum=group["momentum"])


class ThesisRMSProp(_ThesisOptimizer):
    """RMSProp, Algorithm 6 of ``003`` Ch. 5.2 (with ``v_0 = 0``, Appendix 5.D).

    ::

        v_0 = 0
        for t = 1, 2, ...:
            g_t = grad f(x_t)
            v_t = beta2 v_{t-1} + (1 - beta2) (g_t^2 + xi 1)
            x_{t+1} = x_t - alpha diag(v_t)^{-1/2} g_t     (Penrose root, Def. 17)

    Differs from ``torch.optim.RMSprop``, which adds ``eps`` to ``sqrt(v_t)``
    instead of adding ``xi`` to ``g_t^2`` inside the average.

    Parameters
    ----------
    params : iterable of tensors or dicts
    lr : float, default=1e-4
        Step size ``alpha > 0`` (Appendix 5.D grid: 3e-4 ... 3e-6).
    beta2 : float, default=0.9
        In ``[0, 1)`` (Appendix 5.D: 0.9 or 0.99).
    xi : float, default=1e-10
        The fixed shift ``xi >= 0`` (Appendix 5.D: TensorFlow's 1e-10).
    """

    def __init__(
        self, params: Params, lr: float = 1e-4, beta2: float = 0.9, xi: float = 1e-10
    ) -> None:
        _check_real("learning rate", lr, 0.0, math.inf, lo_open=True, hi_open=True)
        _check_real("beta2", beta2, 0.0, 1.0, lo_open=False, hi_open=True)
        _check_real("xi", xi, 0.0, math.inf, lo_open=False, hi_open=True)
        super().__init__(params, {"lr": float(lr), "beta2": float(beta2), "xi": float(xi)})

    def _update(self, p: torch.Tensor, grad: torch.Tensor, group: dict, state: dict) -> None:
        self._advance(p, state, "square_avg")
        rmsprop_update_(
            p, grad, state["square_avg"], lr=group["lr"], beta2=group["beta2"], xi=group["xi"]
        )


class ThesisAdam(_ThesisOptimizer):
    """ADAM, Algorithm 7 of ``003`` Ch. 5.2, step sizes of Appendix 5.D.

    ::

        m_0 = 0, v_0 = 0
        for t = 1, 2, ...:
            g_t = grad f(x_t)
            m_t = beta1 m_{t-1} + (1 - beta1) g_t
            v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
            alpha_t = alpha sqrt(1 - beta2^t) / (1 - beta1^t)   (Appendix 5.D)
            x_{t+1} = x_t - alpha_t (diag(v_t)^{1/2} + zeta I)^{-1} m_t

    ``zeta`` is added to the *uncorrected* ``sqrt(v_t)`` (unlike
    ``torch.optim.Adam``, which adds ``eps`` to ``sqrt(v_t / (1 - beta2^t))``);
    ``bias_correction=False`` gives the constant-step ``alpha_t = alpha`` of
    the convergence theorems (Sec. 5.4).

    Parameters
    ----------
    params : iterable of tensors or dicts
    lr : float, default=1e-4
        ``alpha > 0`` (Appendix 5.D grid: 3e-4 ... 3e-6).
    betas : tuple of float, default=(0.99, 0.999)
        ``(beta1, beta2)``, each in ``[0, 1)``; ``beta1 = 0.99`` is the
        thesis's recommended setting (Sec. 5.6.3), ``beta2 = 0.999`` its fixed
        value (Appendix 5.D).
    zeta : float, default=1e-8
        The shift ``zeta > 0`` (Algorithm 7 requires it strictly positive).
    bias_correction : bool, default=True
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.99, 0.999),
        zeta: float = 1e-8,
        *,
        bias_correction: bool = True,
    ) -> None:
        _check_real("learning rate", lr, 0.0, math.inf, lo_open=True, hi_open=True)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas!r} (must be a pair (beta1, beta2))")
        _check_real("beta1 (betas[0])", betas[0], 0.0, 1.0, lo_open=False, hi_open=True)
        _check_real("beta2 (betas[1])", betas[1], 0.0, 1.0, lo_open=False, hi_open=True)
        _check_real("zeta", zeta, 0.0, math.inf, lo_open=True, hi_open=True)
        if not isinstance(bias_correction, bool):
            raise ValueError(f"Invalid bias_correction: {bias_correction!r} (must be a bool)")
        defaults = {
            "lr": float(lr),
            "betas": (float(betas[0]), float(betas[1])),
            "zeta": float(zeta),
            "bias_correction": bias_correction,
        }
        super().__init__(params, defaults)

    def _update(self, p: torch.Tensor, grad: torch.Tensor, group: dict, state: dict) -> None:
        self._advance(p, state, "exp_avg", "exp_avg_sq")
        beta1, beta2 = group["betas"]
        adam_update_(
            p,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            step=state["step"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            zeta=group["zeta"],
            bias_correction=group["bias_correction"],
        )
