"""The fused one-layer DANTE step, captured by ``torch.compile``.

:mod:`dante.fast_step` computes a one-layer block's loss, its closed-form GLM
gradient (Sec. 3 of ``001_1787bf99fca4a9f2.txt``) and the SNGD step
(Algorithm 1 there) with plain tensor ops. Each op is its own kernel launch,
and the step length ``lr / ||g||`` is read back to the host. On a GPU, at the
papers' small widths, that launch and sync overhead is most of a step
(docs/PERFORMANCE.md, P2 on the H100). :class:`CompiledBlockStep` writes the
whole step as one function of tensors, with the step length computed on the
device, and hands it to :func:`torch.compile`; on CUDA the default mode is
``"reduce-overhead"``, which replays the captured kernels as one CUDA graph.

The step is the same algorithm as :class:`~dante.fast_step.FastBlockStep` (the
same forward kernels, the same loss gradient, one Frobenius norm over weight
and bias, a step of length ``lr``), up to float rounding: the compiler fuses
and reorders element-wise work. A minibatch whose loss is NaN/Inf takes no
step (the step length is zeroed on the device), so the trainer can raise
before anything changed, as on the eager path.

Only plain SNGD is captured (no momentum, no weight decay: DANTE's step); a
block whose solver has either keeps the eager fused step. A minibatch of
another size than the first (the last, shorter one of an epoch) runs the same
function eagerly, so one compilation serves a block for the whole run.
``TrainConfig.compile_step`` switches this on; the trainer records per block
whether the phase was captured in ``TrainResult.stages[i]["compiled"]``.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import torch

from ._compile_options import COMPILE_OPTION_KEYS
from .fast_step import FastBlockStep, block_delta

__all__ = ["COMPILE_OPTION_KEYS", "CompiledBlockStep", "compile_block_step"]

# one compiled function per (chain of activations, loss kind, bias pattern,
# compile options): a block keeps its compiled graph across alternations
_COMPILED: dict[tuple, Callable[..., Any]] = {}


def _step_function(
    kinds: tuple[tuple[str, float, float], ...], mse: bool
) -> Callable[..., tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]]:
    """The whole block step as a function of tensors (what gets compiled).

    ``fn(x, target, weights, biases, one, lr, eps, sign)`` returns the loss, the
    gradient norm and the updates ``alpha * grad`` of the block's weight (and
    bias), with ``alpha = sign * lr / max(||g||, eps)``, or 0 when the loss is
    not finite. The caller adds the updates to the parameters (outside the
    graph: a captured CUDA graph then mutates none of its inputs).
    """

    def fn(
        x: torch.Tensor,
        target: torch.Tensor,
        weights: list[torch.Tensor],
        biases: list[torch.Tensor | None],
        one: torch.Tensor,
        lr: torch.Tensor,
        eps: float,
        sign: float,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        chain = list(zip(weights, biases, kinds, strict=True))
        loss, g = block_delta(chain, mse, x, target, one)
        grads = [torch.mm(g.t(), x)]
        if biases[0] is not None:
            grads.append(g.sum(0))
        norm = torch.sqrt(sum(gr.square().sum() for gr in grads))
        alpha = sign * lr / torch.clamp_min(norm, eps)
        finite = torch.isfinite(loss)  # else no step: a NaN gradient times 0 is still NaN
        return loss, norm, [torch.where(finite, gr * alpha, 0.0) for gr in grads]

    return fn


class CompiledBlockStep:
    """:class:`~dante.fast_step.FastBlockStep`'s step, compiled by :func:`torch.compile`.

    Parameters
    ----------
    fast : dante.fast_step.FastBlockStep
        The eager fused step of the block (with its optimizer: a
        :class:`dante.SNGD` without momentum and weight decay).
    options : dict, optional
        Keyword arguments of :func:`torch.compile` (keys in
        :data:`COMPILE_OPTION_KEYS`). Default: ``mode="reduce-overhead"``
        (CUDA graphs) on CUDA, torch's default mode elsewhere; ``dynamic=False``.

    Notes
    -----
    The step is Algorithm 1 of ``001_1787bf99fca4a9f2.txt`` on the GLM
    gradient of Sec. 3 there, as in :mod:`dante.fast_step`; the optimizer's
    ``last_grad_norms`` is set as :meth:`dante.SNGD.step` leaves it.
    """

    def __init__(self, fast: FastBlockStep, options: dict[str, Any] | None = None) -> None:
        if fast.opt is None:
            raise ValueError("CompiledBlockStep needs a FastBlockStep built with its optimizer")
        group = fast.opt.param_groups[0]
        if group["momentum"] != 0.0 or group["weight_decay"] != 0.0:
            raise ValueError("CompiledBlockStep takes plain SNGD (no momentum, no weight decay)")
        self.fast = fast
        self.opt = fast.opt
        self.group = group
        chain = fast._chain
        self.weights = [w for w, _, _ in chain]
        self.biases = [b for _, b, _ in chain]
        self.params = [fast.weight] + ([] if fast.bias is None else [fast.bias])
        kinds = tuple(k for _, _, k in chain)
        dev = fast.weight.device
        opts = {"dynamic": False, **(options or {})}
        if dev.type == "cuda":
            opts.setdefault("mode", "reduce-overhead")
        self.graphs = opts.get("mode") == "reduce-overhead" and dev.type == "cuda"
        self._eager = _step_function(kinds, fast._mse)
        key = (
            kinds,
            fast._mse,
            tuple(b is None for b in self.biases),
            dev.type,
            repr(sorted(opts.items())),
        )
        if key not in _COMPILED:
            # a code object of its own per key: dynamo keeps its compiled graphs (and
            # its recompile limit, 8) per code object, which a deep net's blocks
            # would otherwise share
            f = self._eager
            code = f.__code__.replace(co_name=f"dante_block_step_{len(_COMPILED)}")
            own = types.FunctionType(code, f.__globals__, code.co_name, None, f.__closure__)
            _COMPILED[key] = torch.compile(own, **opts)
        self._compiled = _COMPILED[key]
        self._rows: int | None = None  # the minibatch size the graph is compiled for
        self._one = fast._one
        self._lr = torch.tensor(float(group["lr"]), dtype=fast.weight.dtype, device=dev)
        self._lr_value = float(group["lr"])

    @torch.no_grad()
    def step(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Loss, gradient and SNGD step of one minibatch (no step if the loss is NaN/Inf).

        Parameters
        ----------
        x : torch.Tensor of shape (m, in_features)
        target : torch.Tensor

        Returns
        -------
        (torch.Tensor, float)
            The loss before the step (0-dim) and its value, as
            :meth:`dante.fast_step.FastBlockStep.step` returns them.
        """
        group = self.group
        if group["lr"] != self._lr_value:  # a schedule changed the step size
            self._lr_value = float(group["lr"])
            self._lr.fill_(self._lr_value)
        sign = 1.0 if group["maximize"] else -1.0
        if self._rows is None:
            self._rows = len(x)
        if len(x) == self._rows:
            if self.graphs:
                torch.compiler.cudagraph_mark_step_begin()
            try:
                loss, norm, updates = self._compiled(
                    x, target, self.weights, self.biases, self._one, self._lr, group["eps"], sign
                )
            except Exception as exc:  # inductor without a C++ compiler, an old GPU...
                if type(exc).__module__.startswith("torch._"):
                    raise RuntimeError(
                        f"compile_step=True: torch.compile could not compile the block "
                        f"step ({type(exc).__name__}: {str(exc)[:300]}). Install what the "
                        f"backend needs (inductor on the CPU needs a C++ compiler), pass "
                        f"compile_options={{'backend': 'aot_eager'}}, or set "
                        f"compile_step=False."
                    ) from exc
                raise
            if self.graphs:  # outputs of a CUDA graph are overwritten by its next replay
                loss, norm = loss.clone(), norm.clone()
        else:
            loss, norm, updates = self._eager(
                x, target, self.weights, self.biases, self._one, self._lr, group["eps"], sign
            )
        torch._foreach_add_(self.params, updates)
        self.opt.last_grad_norms = [norm]
        return loss, loss.item()


def compile_block_step(
    fast: FastBlockStep, options: dict[str, Any] | None = None
) -> CompiledBlockStep | None:
    """A :class:`CompiledBlockStep` for this fused step, or ``None`` if it cannot be captured.

    Parameters
    ----------
    fast : dante.fast_step.FastBlockStep
    options : dict, optional
        Keyword arguments of :func:`torch.compile`.

    Returns
    -------
    CompiledBlockStep or None
        ``None`` when the block's SNGD has momentum or weight decay (the eager
        fused step then takes the phase).
    """
    if fast.opt is None:
        return None
    group = fast.opt.param_groups[0]
    if group["momentum"] != 0.0 or group["weight_decay"] != 0.0:
        return None
    return CompiledBlockStep(fast, options)
