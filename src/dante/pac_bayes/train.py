"""Training the bias-free ReLU nets of ``003`` Sec. 6.4 (ADAM or DANTE).

Sec. 6.4: fully connected bias-free ReLU nets, "Glorot Uniform"
initialisation, ADAM on the cross-entropy loss with mini-batches (100 on the
synthetic data, 300 on CIFAR-10). :func:`glorot_init` and :func:`train_adam`
do that; :func:`train_dante` trains the same architecture from the same
initial weights with :func:`dante.fit` (``method="dante"``: round-robin
SNGD over the layers, ``001`` Sec. 3.5) so its bounds can be set beside
ADAM's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

import dante

__all__ = ["glorot_init", "to_mlp", "train_adam", "train_dante"]

Net = list[np.ndarray]


def glorot_init(sizes: Sequence[int], seed: int) -> Net:
    """Glorot-uniform layer matrices ``W_l`` of shape ``(sizes[l+1], sizes[l])`` (Sec. 6.4.1)."""
    if len(sizes) < 3:
        raise ValueError(f"sizes must hold at least 3 entries (depth >= 2), got {list(sizes)}")
    gen = torch.Generator().manual_seed(int(seed))
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = float(np.sqrt(6.0 / (fan_in + fan_out)))
        w = (torch.rand(fan_out, fan_in, generator=gen, dtype=torch.float64) * 2 - 1) * bound
        out.append(w.numpy())
    return out


def _sequential(weights: Net) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i, w in enumerate(weights):
        lin = nn.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
        mods.append(lin)
        if i < len(weights) - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def train_adam(
    weights: Net,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int,
    seed: int,
    batch_size: int = 100,
    lr: float = 1e-3,
) -> Net:
    """ADAM (torch defaults, ``lr=1e-3``) on the cross-entropy from ``weights``; the trained net."""
    net = _sequential(weights)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        perm = torch.randperm(len(Xt), generator=gen)
        for s in range(0, len(Xt), batch_size):
            idx = perm[s : s + batch_size]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()
    return [m.weight.detach().double().numpy().copy() for m in net if isinstance(m, nn.Linear)]


def to_mlp(weights: Net) -> dante.MLP:
    """A bias-free ReLU :class:`dante.MLP` holding ``weights``."""
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    mlp = dante.MLP(sizes, activation="relu", bias=False, seed=0)
    with torch.no_grad():
        for layer, w in zip(mlp.layers, weights, strict=True):
            layer.linear.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
    return mlp


def train_dante(
    weights: Net,
    X: np.ndarray,
    y: np.ndarray,
    alternations: int,
    seed: int,
    batch_size: int = 100,
    lr: float = 0.01,
    t_sngd: int = 1,
) -> Net:
    """DANTE (:func:`dante.fit`, ``method="dante"``, cross-entropy) from ``weights``."""
    mlp = to_mlp(weights)
    torch.manual_seed(int(seed))
    dante.fit(
        mlp,
        np.asarray(X, dtype=np.float32),
        np.asarray(y),
        method="dante",
        loss="cross_entropy",
        lr=lr,
        batch_size=batch_size,
        t_sngd=t_sngd,
        t_am=alternations,
        max_alternations=alternations,
        tol=0.0,
    )
    return [layer.linear.weight.detach().double().numpy().copy() for layer in mlp.layers]
