"""The weight-tied ReLU autoencoders and the training loop of ``003`` Sec. 5.5.

Networks (``003_a707f9d83869f5a2.txt`` Sec. 1.1.1 and Sec. 5.5): with weight
matrices ``W_1 in R^{h x d}``, ``W_i in R^{h x h}`` (``i = 2..l``) and biases
``b_1 .. b_{2l}``,

    a     = s(W_l s(... s(W_2 s(W_1 y + b_1) + b_2) ...) + b_l)
    y_hat = W_1^T s(... s(W_{l-1}^T s(W_l^T a + b_{l+1}) + b_{l+2}) ...) + b_{2l}

with ``s = ReLU``: ``2l - 1`` hidden layers of equal width ``h``, encoder and
decoder sharing ("tying") the weights. Weights are Glorot-uniform, biases zero
(Sec. 5.5). The loss is the squared reconstruction error, here
``(1/2N) sum_i ||y_i - y_hat_i||^2`` (the thesis does not print its
normalisation).

Data: MNIST cropped from 28x28 to 22x22 by removing 3 pixels on each side
(Sec. 5.5); "mini-MNIST" is the first 5,500 training and first 1,000 test
images.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

__all__ = [
    "OptimizerFactory",
    "RunHistory",
    "TiedAutoencoder",
    "crop22",
    "evaluate",
    "glorot_uniform_",
    "reconstruction_loss",
    "train",
]

OptimizerFactory = Callable[[list[nn.Parameter]], torch.optim.Optimizer]


def crop22(images: np.ndarray) -> np.ndarray:
    """Flattened 28x28 images -> flattened 22x22 (3 pixels off each side, Sec. 5.5)."""
    x = np.asarray(images)
    if x.ndim != 2 or x.shape[1] != 784:
        raise ValueError(f"expected flattened 28x28 images of shape (n, 784), got {x.shape}")
    return np.ascontiguousarray(x.reshape(-1, 28, 28)[:, 3:25, 3:25].reshape(-1, 484))


def glorot_uniform_(w: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``w`` (out x in) from ``U[-l, l]``, ``l = sqrt(6 / (fan_in + fan_out))`` (Sec. 5.5)."""
    fan_out, fan_in = w.shape
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        w.uniform_(-limit, limit, generator=generator)
    return w


class TiedAutoencoder(nn.Module):
    """Weight-tied ReLU autoencoder of depth ``2 l - 1`` hidden layers (``003`` Sec. 1.1.1).

    Parameters
    ----------
    d : int
        Input and output dimension.
    width : int
        ``h``, the width of every hidden layer (Sec. 5.5).
    ell : int, default=1
        ``l``: number of weight matrices; ``2 l - 1`` hidden layers.
    bias : bool, default=True
        Whether the ``2 l`` bias vectors exist (initialised to zero).
    seed : int, default=0
        Seed of the Glorot-uniform initialisation.
    """

    def __init__(
        self, d: int, width: int, ell: int = 1, *, bias: bool = True, seed: int = 0
    ) -> None:
        super().__init__()
        for name, v in (("d", d), ("width", width), ("ell", ell)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Invalid {name}: {v!r} (must be a positive int)")
        self.d, self.width, self.ell = d, width, ell
        gen = torch.Generator().manual_seed(int(seed))
        self.weights = nn.ParameterList(
            nn.Parameter(glorot_uniform_(torch.empty(width, d if i == 0 else width), gen))
            for i in range(ell)
        )
        sizes = [width] * (2 * ell - 1) + [d]
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(s)) for s in (sizes if bias else [])
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        a = y
        b = list(self.biases)
        for i, w in enumerate(self.weights):
            a = a @ w.T
            if b:
                a = a + b[i]
            a = torch.relu(a)
        for j, w in enumerate(reversed(list(self.weights))):
            a = a @ w
            if b:
                a = a + b[self.ell + j]
            if j < self.ell - 1:
                a = torch.relu(a)
        return a


def reconstruction_loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``(1/2N) sum_i ||x_i - model(x_i)||^2``."""
    return 0.5 * (model(x) - x).square().sum(dim=1).mean()


@dataclass
class RunHistory:
    """Curves of one run, recorded at the evaluation iterations."""

    iteration: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    diverged: bool = False

    @property
    def final_train(self) -> float:
        return self.train_loss[-1] if not self.diverged else math.inf


def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    t: torch.Tensor | None = None,
    loss_fn: Callable | None = None,
) -> tuple[float, float]:
    """Loss and Euclidean norm of its gradient (all trainable parameters) on ``(x, t)``.

    ``loss_fn(model, x, t)`` defaults to :func:`reconstruction_loss`.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    loss = reconstruction_loss(model, x) if loss_fn is None else loss_fn(model, x, t)
    grads = torch.autograd.grad(loss, params)
    return float(loss.detach()), float(torch.sqrt(sum(g.square().sum() for g in grads)))


def train(
    model: nn.Module,
    make_optimizer: OptimizerFactory,
    x_train: torch.Tensor,
    x_test: torch.Tensor,
    *,
    iterations: int,
    batch_size: int | None = None,
    n_evals: int = 10,
    seed: int = 0,
    t_train: torch.Tensor | None = None,
    t_test: torch.Tensor | None = None,
    loss_fn: Callable | None = None,
    eval_train: torch.Tensor | None = None,
    callback: Callable[[int, nn.Module], dict[str, float]] | None = None,
) -> RunHistory:
    """Train ``model`` for ``iterations`` optimizer steps and record the curves.

    Full batch when ``batch_size`` is ``None`` (Sec. 5.5, mini-MNIST), else
    minibatches drawn by reshuffling every epoch (seeded). The training loss
    and gradient norm are measured on ``eval_train`` (row indices into the
    training set; default: all of it) at ``n_evals + 1`` evenly spaced
    iterations including 0 and the last. ``loss_fn(model, x, t)`` defaults to
    the reconstruction loss (``t`` ignored). A non-finite loss stops the run
    (``diverged``).
    """
    if loss_fn is None:

        def loss_fn(m: nn.Module, x: torch.Tensor, t: torch.Tensor | None) -> torch.Tensor:
            return reconstruction_loss(m, x)

    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(params)
    n = x_train.shape[0]
    ev = torch.arange(n) if eval_train is None else eval_train
    xe = x_train[ev]
    te = None if t_train is None else t_train[ev]
    marks = sorted({round(k * iterations / n_evals) for k in range(n_evals + 1)})
    hist = RunHistory()
    gen = torch.Generator().manual_seed(int(seed))
    order, pos = torch.randperm(n, generator=gen), 0

    def record(it: int) -> None:
        tr, gn = evaluate(model, xe, te, loss_fn)
        with torch.no_grad():
            te_loss = float(loss_fn(model, x_test, t_test))
        hist.iteration.append(it)
        hist.train_loss.append(tr)
        hist.test_loss.append(te_loss)
        hist.grad_norm.append(gn)
        if callback is not None:
            for k, v in callback(it, model).items():
                hist.extra.setdefault(k, []).append(v)
        if not (math.isfinite(tr) and math.isfinite(te_loss)):
            hist.diverged = True

    for it in range(iterations + 1):
        if it in marks:
            record(it)
            if hist.diverged:
                break
        if it == iterations:
            break
        if batch_size is None:
            xb, tb = x_train, t_train
        else:
            if pos + batch_size > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos : pos + batch_size]
            pos += batch_size
            xb, tb = x_train[idx], None if t_train is None else t_train[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model, xb, tb)
        if not torch.isfinite(loss):
            hist.diverged = True
            break
        loss.backward()
        opt.step()
    return hist
