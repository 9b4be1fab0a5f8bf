"""The output layer's training loss and its gradient on cached features, without autograd.

With every other layer frozen, DANTE's output block is a generalized linear
model on its cached input rows ``H`` (Sec. 3 of ``001_1787bf99fca4a9f2.txt``:
each output unit is a GLM). Its mean loss and gradient have a closed form::

    Z = H W^T + b,   A = phi(Z)
    delta = dL/dZ = dL/dA * phi'(Z)
    grad_W = delta^T H,   grad_b = sum_rows(delta)

so one evaluation costs its two matmuls with ``H`` plus a few elementwise
passes over the ``n x k`` outputs. :class:`OutputObjective` computes them
with plain tensor ops under ``torch.no_grad()`` into buffers allocated once,
for :mod:`dante.output_solvers`' whole-phase solvers, which evaluate it tens
of times per phase.

Everything ``n x k`` is held transposed (``k x n``, one row per output
unit): ATen's row-wise softmax over ``k = 10`` entries per row is a slow
kernel on CPU (about 3x the two matmuls together on 60,000 x 100 features,
measured), while the same reductions across the ``k`` rows of a ``k x n``
array are ``k`` vectorised passes over contiguous memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .fast_step import _act_backward, _act_forward, activation_kind
from .losses import Loss

__all__ = ["OutputObjective"]

_leaky_relu = torch._C._nn.leaky_relu
_vector_norm = torch.linalg.vector_norm
_leaky_relu_backward_out = torch.ops.aten.leaky_relu_backward.grad_input

#: ``rows(i, j)``: the output layer's input rows ``i:j``.
Rows = Callable[[int, int], torch.Tensor]


class OutputObjective:
    """Mean training loss (plus ``l2 / 2 * ||W||^2``) of the output layer and its gradient.

    Parameters
    ----------
    layer : dante.models.Layer
        The output layer (``linear`` plus an activation that
        :func:`dante.fast_step.activation_kind` supports; no batch norm).
    loss : dante.losses.Loss
        ``"mse"`` (mean over rows and outputs) or ``"cross_entropy"`` (softmax
        over ``k > 1`` outputs; sigmoid plus binary cross-entropy for one).
    rows : callable
        ``rows(i, j)`` gives input rows ``i:j`` (cached features, or the
        frozen prefix recomputed).
    n : int
        Number of rows.
    target : torch.Tensor
        As :meth:`dante.losses.Loss.prepare_targets` encodes it.
    l2 : float, default=0
        L2 penalty on the weight (not the bias).
    chunk : int, default=65536
        Rows per chunk; ``n <= chunk`` (one chunk) reads ``rows(0, n)`` once
        and keeps it.

    Raises
    ------
    ValueError
        For an unsupported activation, loss or a batch-normalised layer.
    """

    def __init__(
        self,
        layer: nn.Module,
        loss: Loss,
        rows: Rows,
        n: int,
        target: torch.Tensor,
        l2: float = 0.0,
        chunk: int = 65_536,
    ) -> None:
        if not self.supports(layer, loss):
            raise ValueError(
                "OutputObjective needs an mse or cross_entropy loss and a layer whose "
                "activation dante.fast_step.activation_kind supports, without batch norm"
            )
        lin = layer.linear
        self.weight, self.bias, self.kind = lin.weight, lin.bias, activation_kind(layer.activation)
        self.loss_name, self.l2, self.n, self.chunk = loss.name, float(l2), n, chunk
        k, dtype, dev = lin.out_features, lin.weight.dtype, lin.weight.device
        self.k = k
        self._rows = rows
        self._H = rows(0, n) if n <= chunk else None
        self._softmax = loss.name == "cross_entropy" and k > 1
        # targets, transposed (k x n); labels one-hot for softmax
        if self._softmax:
            self._Yt = torch.zeros(k, n, dtype=dtype, device=dev)
            self._labels = target.view(1, -1)
            self._Yt.scatter_(0, self._labels, 1.0)
        else:
            self._Yt = target.to(dtype).t().contiguous()
        # pre-activations at the current weights, at a trial step, the step's
        # direction in output space (all k x n), and dL/dZ of the last loss
        self._Z, self._Zt, self._U, self._G = (
            torch.empty(k, n, dtype=dtype, device=dev) for _ in range(4)
        )
        self._A = torch.empty(k, n, dtype=dtype, device=dev) if self.kind[0] == "grelu" else None
        self._col_max = torch.empty(n, dtype=dtype, device=dev)
        self._col_sum = torch.empty(n, dtype=dtype, device=dev)
        self._scale = (2.0 / (n * k)) if loss.name == "mse" else 1.0 / n
        self.grad_weight = torch.empty_like(lin.weight)
        self.grad_bias = None if lin.bias is None else torch.empty_like(lin.bias)
        self._gw_chunk = torch.empty_like(lin.weight)
        self._dW: torch.Tensor | None = None
        self._db: torch.Tensor | None = None
        self._line: tuple[float, ...] = ()
        self._at = math.nan  # the step whose dL/dZ is in _G (nan: the current weights')
        self._line_loss = math.nan
        self.evaluations = 0
        #: the mean loss (without the penalty) of the last :meth:`evaluate`
        self.last_loss = math.nan

    @staticmethod
    def supports(layer: nn.Module, loss: Loss) -> bool:
        """Whether :class:`OutputObjective` handles this layer and loss."""
        return (
            loss.name in ("mse", "cross_entropy")
            and activation_kind(layer.activation) is not None
            and getattr(layer, "norm", None) is None
        )

    def _chunks(self) -> Iterator[tuple[int, int, torch.Tensor]]:
        for i in range(0, self.n, self.chunk):
            j = min(i + self.chunk, self.n)
            yield i, j, self._H if self._H is not None else self._rows(i, j)

    def _penalty(self) -> float:
        return 0.5 * self.l2 * float(self.weight.pow(2).sum()) if self.l2 else 0.0

    @torch.no_grad()
    def evaluate(self) -> float:
        """The objective at the layer's current weights (one pass over the rows: the
        two matmuls); its gradient is left in ``grad_weight`` and ``grad_bias``.

        Returns
        -------
        float
            Mean loss plus ``l2 / 2 * ||W||^2`` (the loss alone in ``last_loss``).
        """
        self.evaluations += 1
        for i, j, Hc in self._chunks():
            if self.bias is not None:
                torch.addmm(self.bias.unsqueeze(1), self.weight, Hc.t(), out=self._Z[:, i:j])
            else:
                torch.mm(self.weight, Hc.t(), out=self._Z[:, i:j])
        self.last_loss = self._loss_delta(self._Z) / self.n
        self._gradient()
        return self.last_loss + self._penalty()

    def _loss_delta(self, Z: torch.Tensor) -> float:
        """Summed loss of the pre-activations ``Z``; ``dL/dZ`` (times ``1 / scale``) to ``_G``."""
        G, Yt, (name, a, b) = self._G, self._Yt, self.kind
        if name == "grelu":  # into a buffer: same kernels as _act_forward
            A = self._A
            _leaky_relu(Z, a / b if b != 1.0 else a, out=A)
            if b != 1.0:
                A.mul_(b)
        else:
            A = Z if name == "identity" else _act_forward(self.kind, Z)
        if self._softmax:  # log-sum-exp down each column; G <- softmax - Y
            mx, s = self._col_max, self._col_sum
            torch.amax(A, 0, out=mx)
            torch.sub(A, mx, out=G)
            G.exp_()
            torch.sum(G, 0, out=s)
            G.div_(s)
            # float64 sums: near the optimum L-BFGS compares losses that differ
            # in the 8th digit
            value = float(s.log_().add_(mx).sum(dtype=torch.float64)) - float(
                torch.gather(A, 0, self._labels).sum(dtype=torch.float64)
            )
            G.sub_(Yt)
        elif self.loss_name == "mse":
            torch.sub(A, Yt, out=G)
            value = float(_vector_norm(G, dtype=torch.float64)) ** 2 / self.k
        else:  # one output: sigmoid + binary cross-entropy on the logit
            value = float(F.binary_cross_entropy_with_logits(A, Yt, reduction="sum"))
            torch.sigmoid(A, out=G)
            G.sub_(Yt)
        if name == "grelu" and a > 0.0:  # _act_backward's kernels, in place
            torch.neg(Z, out=self._A)
            _leaky_relu_backward_out(G, self._A, b / a, False, grad_input=G)
            G.mul_(a)
        elif name != "identity":
            G.copy_(_act_backward(self.kind, G, Z, A))
        return value

    def _gradient(self) -> None:
        """``grad = scale * delta H`` (+ the penalty's), delta in ``_G``: one matmul."""
        G, scale = self._G, self._scale
        for i, j, Hc in self._chunks():
            out = self.grad_weight if i == 0 else self._gw_chunk
            torch.mm(G[:, i:j], Hc, out=out)
            if i:
                self.grad_weight.add_(out)
        self.grad_weight.mul_(scale)
        if self.l2:
            self.grad_weight.add_(self.weight, alpha=self.l2)
        if self.grad_bias is not None:
            torch.sum(G, 1, out=self.grad_bias)
            self.grad_bias.mul_(scale)

    @torch.no_grad()
    def set_direction(self, dW: torch.Tensor, db: torch.Tensor | None) -> None:
        """Fix a search direction from the current weights: ``U = dW H^T + db``
        (one matmul; afterwards :meth:`line` costs no pass over the rows)."""
        for i, j, Hc in self._chunks():
            if db is not None:
                torch.addmm(db.unsqueeze(1), dW, Hc.t(), out=self._U[:, i:j])
            else:
                torch.mm(dW, Hc.t(), out=self._U[:, i:j])
        self._dW, self._db = dW, db
        W = self.weight
        self._line = (float((W * dW).sum()), float(dW.pow(2).sum()), self._penalty())

    @torch.no_grad()
    def line(self, t: float) -> tuple[float, float]:
        """The objective and its derivative along the direction, at step ``t``.

        ``Z(t) = Z + t U`` is elementwise, so a trial costs ``O(n k)``, not a pass.
        """
        torch.add(self._Z, self._U, alpha=t, out=self._Zt)
        value = self._line_loss = self._loss_delta(self._Zt) / self.n
        self._at = t
        slope = self._scale * float(torch.dot(self._G.view(-1), self._U.view(-1)))
        wd, dd, pen = self._line
        if self.l2:
            value += pen + self.l2 * (t * wd + 0.5 * t * t * dd)
            slope += self.l2 * (wd + t * dd)
        return value, slope

    @torch.no_grad()
    def accept(self, t: float) -> float:
        """Move the weights by ``t`` times the direction and compute the gradient
        there (one matmul). Returns the objective there."""
        if self._at != t:
            self.line(t)
        self.weight.add_(self._dW, alpha=t)
        if self.bias is not None and self._db is not None:
            self.bias.add_(self._db, alpha=t)
        self._Z, self._Zt = self._Zt, self._Z  # Z + t U, whose dL/dZ is in _G
        self.last_loss = self._line_loss
        self._at = math.nan
        self._gradient()
        return self.last_loss + self._penalty()
