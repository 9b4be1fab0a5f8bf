"""Smallest Hessian eigenvalue from exact Hessian-vector products (``003`` Sec. 5.6.2).

Section 5.6.2 of ``003_a707f9d83869f5a2.txt`` tracks ``lambda_min`` of the
training loss's Hessian along the NAG, RMSProp and ADAM trajectories
(Fig. 5.6.2) with ``scipy.sparse.linalg.eigsh`` fed by exact Hessian-vector
products, since the Hessian of even a small net does not fit in memory. Here
the product is forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``)
and is wrapped in a ``scipy.sparse.linalg.LinearOperator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

__all__ = ["flat_params", "hessian_operator", "lambda_min"]

LossOfParams = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def flat_params(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Concatenate a name -> tensor dict into one vector (dict order)."""
    return torch.cat([p.detach().reshape(-1) for p in params.values()])


def hessian_operator(
    loss_fn: LossOfParams, params: dict[str, torch.Tensor], dtype: torch.dtype = torch.float64
) -> LinearOperator:
    """The Hessian of ``loss_fn`` at ``params`` as a symmetric ``LinearOperator``.

    Parameters
    ----------
    loss_fn : callable
        Maps a dict of parameter tensors (same keys and shapes as ``params``)
        to a scalar loss; must be differentiable twice by ``torch.func``.
    params : dict of str to tensor
        The point where the Hessian is taken (detached copies are used).
    dtype : torch.dtype, default=torch.float64
        Precision of the products (float64 keeps ARPACK's residuals small).

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        ``v -> H v`` for numpy vectors of length ``sum(p.numel())``.
    """
    point = {k: v.detach().to(dtype) for k, v in params.items()}
    shapes = [(k, v.shape, v.numel()) for k, v in point.items()]
    n = sum(s[2] for s in shapes)
    grad_fn = torch.func.grad(loss_fn)

    def unflat(vec: torch.Tensor) -> dict[str, torch.Tensor]:
        out, i = {}, 0
        for k, shape, size in shapes:
            out[k] = vec[i : i + size].reshape(shape)
            i += size
        return out

    def matvec(v: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.asarray(v, dtype=np.float64).reshape(-1), dtype=dtype)
        _, hv = torch.func.jvp(grad_fn, (point,), (unflat(t),))
        return flat_params(hv).cpu().numpy().astype(np.float64)

    return LinearOperator((n, n), matvec=matvec, rmatvec=matvec, dtype=np.float64)


def lambda_min(
    loss_fn: LossOfParams,
    params: dict[str, torch.Tensor],
    *,
    tol: float = 1e-6,
    maxiter: int | None = None,
    seed: int = 0,
) -> float:
    """Smallest (most negative) eigenvalue of the Hessian of ``loss_fn`` at ``params``.

    ``scipy.sparse.linalg.eigsh`` on :func:`hessian_operator`, as in ``003``
    Sec. 5.6.2, two ways: ``which="SA"`` on ``H``, and ``sigma - lambda_max(sigma
    I - H)`` with ``sigma = lambda_max(H)`` (``which="LA"`` twice). Every Ritz
    value lies inside the spectrum, so both are upper bounds on ``lambda_min``
    (up to ``tol``) and the smaller is returned. Two estimates are needed: ARPACK's
    ``"SA"`` mode returns 1, not 0, when ``H`` has only the eigenvalues 0 and 1,
    which is the Hessian of an autoencoder whose ReLU units are all dead (only
    the output bias is live). The Lanczos start vector is seeded so that
    repeated calls agree; where ARPACK does not converge within ``maxiter`` its
    best Ritz value so far is used.
    """
    op = hessian_operator(loss_fn, params)
    n = op.shape[0]
    if n == 1:
        return float(op.matvec(np.ones(1))[0])
    v0 = np.random.default_rng(seed).standard_normal(n)

    def extreme(a: LinearOperator, which: str) -> float:
        try:
            vals = eigsh(
                a, k=1, which=which, tol=tol, maxiter=maxiter, v0=v0, return_eigenvectors=False
            )
        except ArpackNoConvergence as exc:
            vals = exc.eigenvalues
        return float(vals[0]) if len(vals) else math.nan

    sa = extreme(op, "SA")
    sigma = extreme(op, "LA")
    shifted = LinearOperator(
        (n, n),
        matvec=lambda v: sigma * np.asarray(v).reshape(-1) - op.matvec(v),
        dtype=np.float64,
    )
    via_shift = sigma - extreme(shifted, "LA")
    return float(np.nanmin([sa, via_shift]))
