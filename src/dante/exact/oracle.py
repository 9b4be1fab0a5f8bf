"""Brute-force upper bounds for exact ERM: many random restarts of a local optimizer.

Every value a restart reaches is the loss of some depth-2 ReLU net of the given
width, so the least of them bounds the global optimum of Algorithm 1
(``003_a707f9d83869f5a2.txt``, Ch. 2.4) from above: the certified optimum of
:func:`dante.exact.erm.exact_erm` must be ``<=`` it, and close to it when the
restarts are many. Used by the ``exact_erm`` study.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["restart_upper_bound"]


def restart_upper_bound(
    X,
    y,
    width: int,
    *,
    loss: str = "squared",
    output_bias: bool = True,
    restarts: int = 64,
    steps: int = 400,
    lr: float = 0.03,
    seed: int = 0,
) -> float:
    """Least summed loss seen over ``restarts`` full-batch Adam runs of ``steps`` steps.

    Parameters
    ----------
    X : array-like (D, n); y : array-like (D,)
    width : int
    loss : {"squared", "hinge", "logistic"}
        ``sum (f - y)^2``, ``sum max(0, 1 - y f)`` or ``sum log(1 + exp(-y f))``.
    output_bias : bool, default=True
    restarts, steps : int
        Gaussian initialisations (all run at once, float64) and Adam steps each.
    lr : float, default=0.03
    seed : int, default=0
    """
    if loss not in ("squared", "hinge", "logistic"):
        raise ValueError(f"loss must be 'squared', 'hinge' or 'logistic', got {loss!r}")
    Xa = np.asarray(X, dtype=np.float64)
    Xt = torch.as_tensor(Xa[:, None] if Xa.ndim == 1 else Xa)
    yt = torch.as_tensor(np.asarray(y, dtype=np.float64).reshape(-1))
    g = torch.Generator().manual_seed(seed)
    R, n = restarts, Xt.shape[1]
    W = torch.randn(R, width, n, generator=g, dtype=torch.float64).requires_grad_()
    b = torch.randn(R, width, generator=g, dtype=torch.float64).requires_grad_()
    v = torch.randn(R, width, generator=g, dtype=torch.float64).requires_grad_()
    c = torch.zeros(R, dtype=torch.float64).requires_grad_(output_bias)
    opt = torch.optim.Adam([W, b, v] + ([c] if output_bias else []), lr=lr)
    best = np.inf
    for _ in range(steps + 1):
        opt.zero_grad()
        f = (torch.relu(torch.einsum("rwn,dn->rdw", W, Xt) + b[:, None, :]) * v[:, None, :]).sum(
            -1
        ) + c[:, None]
        if loss == "squared":
            val = ((f - yt) ** 2).sum(1)
        elif loss == "hinge":
            val = torch.relu(1 - yt * f).sum(1)
        else:
            val = torch.nn.functional.softplus(-yt * f).sum(1)
        best = min(best, float(val.detach().min()))
        val.sum().backward()
        opt.step()
    return best
