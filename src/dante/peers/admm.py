"""ADMM / Bregman training without gradients (Taylor et al., ICML 2016).

Taylor, Burmeister, Xu, Singh, Patel, Goldstein, "Training Neural Networks
Without Gradients: A Scalable ADMM Approach", ICML 2016 (PMLR 48:2722-2731);
the peer "ADMM" of Figure 8 of ``001_1787bf99fca4a9f2.txt``.

Variables per sample: pre-activations ``z_l``, activations ``a_l = h_l(z_l)``
(hidden layers), and a Bregman/Lagrange multiplier ``lambda`` on the output
layer only. The problem is::

    min  l(h_L(z_L), y) + <lambda, z_L> + beta ||z_L - W_L a_{L-1}||^2
         + sum_{l<L} [ gamma ||a_l - h_l(z_l)||^2 + beta ||z_l - W_l a_{l-1}||^2 ]

and one iteration (Algorithm 1 of the paper), for ``l = 1 .. L-1``::

    W_l <- z_l a_{l-1}^+                                    (least squares)
    a_l <- (beta W_{l+1}^T W_{l+1} + gamma I)^{-1} (beta W_{l+1}^T z_{l+1} + gamma h_l(z_l))
    z_l <- argmin_z gamma ||a_l - h_l(z)||^2 + beta ||z - W_l a_{l-1}||^2   (elementwise)

then ``W_L <- z_L a_{L-1}^+``, ``z_L <- argmin_z l(h_L(z), y) + <lambda, z> +
beta ||z - W_L a_{L-1}||^2`` and ``lambda <- lambda + beta (z_L - W_L a_{L-1})``.

Biases: the paper has none. Ours are absorbed by a constant-1 column appended
to ``a_{l-1}`` (``W_l a_{l-1}`` above reads ``W_l a_{l-1} + b_l``; the
a-update then uses ``z_{l+1} - b_{l+1}``); the solution is written back to
``linear.weight`` and ``linear.bias``.

Activations must be piecewise linear, ``h(z) = s_- z`` (``z <= 0``), ``s_+ z``
(``z > 0``): :class:`dante.GeneralizedReLU` (``s_- = a, s_+ = b``; ReLU and
leaky ReLU), ``nn.ReLU``, ``nn.LeakyReLU`` or the identity. Each z-problem is
then a convex quadratic on each side of 0; the solver takes both clamped
branch minimizers and keeps the better (exact). The output problem is exact
in closed form for MSE; for cross-entropy it is smooth and (for an identity
output) strongly convex, and ``output_steps`` gradient steps of length
``1 / (s_max^2 / 2 + 2 beta)`` from the previous ``z_L`` solve it.

Loss scaling: the data term is the *sum over samples* of the per-sample loss,
with MSE taken as the squared error summed over outputs, ``||h(z) - y||^2``
(the paper's least-squares term; the run's MSE is that divided by ``n K``).

State (``z``, ``a``, ``lambda``) is kept for every training row and initialised
by a forward pass (``lambda = 0``) the first time a row is seen; a minibatch
step updates the rows in ``idx``. With ``batch_size = n_samples`` it is the
paper's full-batch algorithm; smaller minibatches refit the weights to the
minibatch's auxiliary variables (least squares over those rows only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..activations import GeneralizedReLU
from ..losses import Loss, get_loss
from ..models import LayeredNet
from ..solvers import StepSolver
from ..trainer import NonFiniteLossError
from .am import _count, _positive, whole_net_layers

__all__ = [
    "ADMM",
    "admm_factory",
    "piecewise_linear",
    "activation_slopes",
    "solve_activations",
    "solve_output_mse",
    "solve_preactivations",
    "solve_weights",
]

Slopes = tuple[float, float]


def activation_slopes(activation: nn.Module) -> Slopes:
    """Slopes ``(s_-, s_+)`` of a piecewise-linear activation.

    Raises
    ------
    ValueError
        For any other activation, naming it.
    """
    if isinstance(activation, GeneralizedReLU):
        return float(activation.a), float(activation.b)
    if isinstance(activation, nn.Identity):
        return 1.0, 1.0
    if isinstance(activation, nn.ReLU):
        return 0.0, 1.0
    if isinstance(activation, nn.LeakyReLU):
        return float(activation.negative_slope), 1.0
    raise ValueError(
        f"admm needs piecewise-linear activations (generalized/leaky ReLU, ReLU or identity) "
        f"for its closed-form z-updates, got {activation!r}"
    )


def piecewise_linear(z: torch.Tensor, slopes: Slopes) -> torch.Tensor:
    """``h(z) = s_- z`` for ``z <= 0`` and ``s_+ z`` for ``z > 0``."""
    neg, pos = slopes
    return torch.where(z > 0, pos * z, neg * z)


def solve_weights(
    a_prev: torch.Tensor, z: torch.Tensor, bias: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Minimum-norm least squares ``argmin_{W,b} ||z - a_prev W^T - b||_F^2``.

    Rows are samples: ``a_prev`` is ``(n, d_in)``, ``z`` is ``(n, d_out)``;
    returns ``W`` ``(d_out, d_in)`` and ``b`` ``(d_out,)`` (``None`` without a
    bias). The bias is the weight of a constant-1 column. Rank-deficient
    problems get the minimum-norm solution (``a^+`` of the paper).
    """
    A = a_prev
    if bias:
        A = torch.cat([A, torch.ones_like(A[:, :1])], dim=1)
    if A.device.type == "cpu":
        sol = torch.linalg.lstsq(A, z, driver="gelsd").solution
    else:  # CUDA lstsq has only 'gels' (full rank); the pseudo-inverse is safe
        sol = torch.linalg.pinv(A) @ z
    W = sol.T
    if bias:
        return W[:, :-1].contiguous(), W[:, -1].contiguous()
    return W.contiguous(), None


def solve_activations(
    W_next: torch.Tensor,
    b_next: torch.Tensor | None,
    z_next: torch.Tensor,
    h_z: torch.Tensor,
    beta: float,
    gamma: float,
) -> torch.Tensor:
    """Exact ``argmin_a beta ||z_next - W_next a - b_next||^2 + gamma ||a - h_z||^2``.

    Row-wise ``a = (beta W^T W + gamma I)^{-1} (beta W^T (z_next - b) + gamma h_z)``.
    """
    target = z_next if b_next is None else z_next - b_next
    d = W_next.shape[1]
    M = beta * (W_next.T @ W_next) + gamma * torch.eye(d, dtype=W_next.dtype, device=W_next.device)
    rhs = beta * (target @ W_next) + gamma * h_z  # (n, d): rows are samples
    chol = torch.linalg.cholesky(M)
    return torch.cholesky_solve(rhs.T, chol).T


def _branch_min(num_pos, den_pos, num_neg, den_neg, objective):
    """Better of the two clamped branch minimizers of a piecewise quadratic."""
    z_pos = (num_pos / den_pos).clamp(min=0.0)
    z_neg = (num_neg / den_neg).clamp(max=0.0)
    return torch.where(objective(z_pos) <= objective(z_neg), z_pos, z_neg)


def solve_preactivations(
    a: torch.Tensor, m: torch.Tensor, slopes: Slopes, beta: float, gamma: float
) -> torch.Tensor:
    """Elementwise exact ``argmin_z gamma (a - h(z))^2 + beta (z - m)^2``.

    On the side of 0 with slope ``s`` the minimizer is
    ``(gamma s a + beta m) / (gamma s^2 + beta)``, clamped to that side.
    """
    neg, pos = slopes

    def objective(z: torch.Tensor) -> torch.Tensor:
        return gamma * (a - piecewise_linear(z, slopes)) ** 2 + beta * (z - m) ** 2

    return _branch_min(
        gamma * pos * a + beta * m,
        gamma * pos * pos + beta,
        gamma * neg * a + beta * m,
        gamma * neg * neg + beta,
        objective,
    )


def solve_output_mse(
    t: torch.Tensor, m: torch.Tensor, lam: torch.Tensor, slopes: Slopes, beta: float
) -> torch.Tensor:
    """Elementwise exact ``argmin_z (h(z) - t)^2 + lam z + beta (z - m)^2``.

    On the side with slope ``s``: ``z = (2 s t - lam + 2 beta m) / (2 s^2 + 2 beta)``.
    """
    neg, pos = slopes

    def objective(z: torch.Tensor) -> torch.Tensor:
        return (piecewise_linear(z, slopes) - t) ** 2 + lam * z + beta * (z - m) ** 2

    return _branch_min(
        2 * pos * t - lam + 2 * beta * m,
        2 * pos * pos + 2 * beta,
        2 * neg * t - lam + 2 * beta * m,
        2 * neg * neg + 2 * beta,
        objective,
    )


def solve_output_ce(
    loss: Loss,
    t: torch.Tensor,
    m: torch.Tensor,
    lam: torch.Tensor,
    slopes: Slopes,
    beta: float,
    z0: torch.Tensor,
    steps: int,
) -> torch.Tensor:
    """``argmin_z sum_i CE(h(z_i), y_i) + <lam, z> + beta ||z - m||^2`` by gradient steps.

    Step ``1 / (s_max^2 / 2 + 2 beta)``: the softmax (or sigmoid) cross-entropy
    Hessian is at most 1/2 (1/4) in norm, so for an identity output this is a
    descent method on a ``2 beta``-strongly convex problem (linear rate).
    """
    s_max = max(abs(slopes[0]), abs(slopes[1]))
    step = 1.0 / (0.5 * s_max * s_max + 2.0 * beta)
    z = z0.detach().clone()
    for _ in range(steps):
        with torch.enable_grad():
            zv = z.requires_grad_(True)
            obj = loss.sum(piecewise_linear(zv, slopes), t) + (lam * zv).sum()
            obj = obj + beta * ((zv - m) ** 2).sum()
            (grad,) = torch.autograd.grad(obj, [zv])
        z = (z.detach() - step * grad).detach()
    return z


class ADMM(StepSolver):
    """Taylor et al.'s ADMM (ICML 2016) as a :class:`~dante.solvers.StepSolver`.

    See the module docstring for the algorithm and ``docs/PEERS.md`` for the
    choices. Registered as solver ``"admm"`` by ``import dante.peers``; the
    run's learning rate is unused.

    Parameters
    ----------
    model : LayeredNet
        Every activation must be piecewise linear (or the identity).
    loss : Loss or str
    n_samples : int
        Training-set size (rows of the per-sample state).
    block, suffix : sequence of int, optional
        Both default to the whole net and must match.
    beta : float, default=1.0
        Weight of ``||z_l - W_l a_{l-1}||^2`` (every layer, output included).
    gamma : float, default=10.0
        Weight of ``||a_l - h(z_l)||^2`` (hidden layers); ``beta = 1, gamma =
        10`` is Taylor et al.'s setting and on digits reached 0.77 train
        accuracy after 60 iterations where ``gamma = 1`` reached 0.59.
    output_steps : int, default=20
        Gradient steps of the cross-entropy output update (MSE is closed form).
    warm_start : int, default=0
        Number of first ``train_step`` calls that skip the ``lambda`` update
        (the paper's warm-start iterations; 0 = off).
    dtype : torch.dtype, default=torch.float64
        Precision of the state and the linear algebra.
    """

    checkpoint_state = ("iterations", "z", "a", "lam", "seen")

    def __init__(
        self,
        model: LayeredNet,
        loss: Loss | str,
        n_samples: int,
        *,
        block: Sequence[int] | None = None,
        suffix: Sequence[int] | None = None,
        beta: float = 1.0,
        gamma: float = 10.0,
        output_steps: int = 20,
        warm_start: int = 0,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        self.layers = whole_net_layers(model, block, suffix, "admm")
        if any(getattr(layer, "norm", None) is not None for layer in self.layers):
            raise ValueError(
                "admm solves for affine layers in closed form and has no batch normalization; "
                "build the net without batch_norm"
            )
        self.slopes = [activation_slopes(layer.activation) for layer in self.layers]
        self.loss = get_loss(loss)
        self.n_samples = _count("n_samples", n_samples, 1)
        self.beta = _positive("beta", beta)
        self.gamma = _positive("gamma", gamma)
        self.output_steps = _count("output_steps", output_steps, 1)
        self.warm_start = _count("warm_start", warm_start, 0)
        self.dtype = dtype
        self.iterations = 0
        self.z: list[torch.Tensor] = []
        self.a: list[torch.Tensor] = []
        self.lam: torch.Tensor | None = None
        self.seen: torch.Tensor | None = None

    # ------------------------------------------------------------ state
    @torch.no_grad()
    def _init_rows(self, xb: torch.Tensor, idx: torch.Tensor) -> None:
        if self.seen is None:
            dev = xb.device
            n = self.n_samples
            sizes = [layer.linear.out_features for layer in self.layers]
            self.z = [torch.zeros(n, d, dtype=self.dtype, device=dev) for d in sizes]
            self.a = [torch.zeros(n, d, dtype=self.dtype, device=dev) for d in sizes[:-1]]
            self.lam = torch.zeros(n, sizes[-1], dtype=self.dtype, device=dev)
            self.seen = torch.zeros(n, dtype=torch.bool, device=dev)
        new = ~self.seen[idx]
        if not bool(new.any()):
            return
        rows = idx[new]
        h = xb[new]
        for i, layer in enumerate(self.layers):
            z = layer.linear(h)
            self.z[i][rows] = z.to(self.dtype)
            h = layer.activation(z)
            if i < len(self.a):
                self.a[i][rows] = h.to(self.dtype)
        self.seen[rows] = True

    # ------------------------------------------------------------ solver
    @torch.no_grad()
    def _iterate(
        self, x: torch.Tensor, t: torch.Tensor, idx: torch.Tensor
    ) -> tuple[list[tuple[torch.Tensor, torch.Tensor | None]], list, list, torch.Tensor]:
        """One ADMM iteration on the rows ``idx``; returns the new weights and
        the new state rows ``(Z, A, lambda)``. Neither the model nor the stored
        state is touched."""
        beta, gamma, L = self.beta, self.gamma, len(self.layers)
        Z = [z[idx] for z in self.z]
        A = [a[idx] for a in self.a]
        lam = self.lam[idx]
        bias = [layer.linear.bias is not None for layer in self.layers]
        old = [
            (
                layer.linear.weight.detach().to(self.dtype),
                None if layer.linear.bias is None else layer.linear.bias.detach().to(self.dtype),
            )
            for layer in self.layers
        ]
        new: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        for i in range(L - 1):
            a_prev = x if i == 0 else A[i - 1]
            W, b = solve_weights(a_prev, Z[i], bias[i])
            new.append((W, b))
            W_next, b_next = old[i + 1]
            A[i] = solve_activations(
                W_next, b_next, Z[i + 1], piecewise_linear(Z[i], self.slopes[i]), beta, gamma
            )
            m = a_prev @ W.T if b is None else a_prev @ W.T + b
            Z[i] = solve_preactivations(A[i], m, self.slopes[i], beta, gamma)
        a_prev = x if L == 1 else A[L - 2]
        W, b = solve_weights(a_prev, Z[L - 1], bias[L - 1])
        new.append((W, b))
        m = a_prev @ W.T if b is None else a_prev @ W.T + b
        if self.loss.name == "mse":
            Z[L - 1] = solve_output_mse(t, m, lam, self.slopes[L - 1], beta)
        else:
            tt = t if t.dtype == torch.int64 else t.to(self.dtype)
            Z[L - 1] = solve_output_ce(
                self.loss, tt, m, lam, self.slopes[L - 1], beta, Z[L - 1], self.output_steps
            )
        if self.iterations >= self.warm_start:
            lam = lam + beta * (Z[L - 1] - m)
        return new, Z, A, lam

    def train_step(self, xb: torch.Tensor, tb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """One ADMM iteration on the minibatch; returns the loss before it."""
        with torch.no_grad():
            out = xb
            for layer in self.layers:
                out = layer(out)
            loss = self.loss(out, tb).detach()
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"admm: minibatch loss is {float(loss)}; no weight was changed"
            )
        idx = idx.to(xb.device)
        self._init_rows(xb, idx)
        x = xb.to(self.dtype)
        t = tb if tb.dtype == torch.int64 else tb.to(self.dtype)
        new, Z, A, lam = self._iterate(x, t, idx)
        finite = all(
            bool(torch.isfinite(W).all()) and (b is None or bool(torch.isfinite(b).all()))
            for W, b in new
        )
        if not finite:
            raise NonFiniteLossError(
                "admm: the weight update became non-finite; no weight or state was changed"
            )
        with torch.no_grad():
            for i in range(len(self.layers)):
                self.z[i][idx] = Z[i]
            for i in range(len(self.a)):
                self.a[i][idx] = A[i]
            self.lam[idx] = lam
            for layer, (W, b) in zip(self.layers, new, strict=True):
                layer.linear.weight.copy_(W)
                if b is not None:
                    layer.linear.bias.copy_(b)
        self.iterations += 1
        return loss


def admm_factory(params: Any, lr: float, momentum: float, **context: Any) -> ADMM:
    """``register_solver`` factory: ADMM with ``beta = 1, gamma = 10`` (Taylor et al.).

    ``params``, ``lr`` and ``momentum`` are unused (closed-form updates).
    """
    return ADMM(
        context["model"],
        context["loss"],
        context["n_samples"],
        block=context.get("block"),
        suffix=context.get("suffix"),
    )
