"""The idealized (realizable) GLM of Definition 2 of ``001_1787bf99fca4a9f2.txt``.

A teacher ``y = phi(<w*, x>)`` with the sigmoid or generalized-ReLU link
(:class:`GLMTeacher`, :func:`make_glm_teacher`), its squared loss and the
(sub)gradient the proof of Theorem 1 uses (:func:`glm_loss_and_grad`), and
the loss bound ``M`` of Theorem 8 on the region SNGD stays in
(:func:`glm_loss_bound`). Loss convention: no factor 1/2, as in Sec. 5.1 of
``001``. Re-exported by :mod:`dante.theory.slqc`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dante.theory.slqc_arguments import (
    _nonnegative,
    _positive,
    _slopes,
)
from dante.theory.slqc_constants import kappa_generalized_relu, kappa_relu, kappa_sigmoid_glm

__all__ = [
    "GLM_ACTIVATIONS",
    "GLMTeacher",
    "glm_loss_and_grad",
    "glm_loss_bound",
    "make_glm_teacher",
]

#: Link functions understood by the GLM helpers.
GLM_ACTIVATIONS: tuple[str, ...] = ("sigmoid", "generalized_relu", "relu")

# ----------------------------------------------------------------------------
# the idealized GLM
# ----------------------------------------------------------------------------


def _check_activation(activation: str) -> str:
    if not isinstance(activation, str):
        raise TypeError(f"'activation' must be a string, got {type(activation).__name__}")
    key = activation.strip().lower().replace("-", "_")
    if key not in GLM_ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {activation!r}; choose one of {', '.join(GLM_ACTIVATIONS)}"
        )
    return key


def _link(
    u: torch.Tensor, activation: str, a: float, b: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``phi(u)`` and the (sub)derivative the proofs use (``b`` at 0 for the ReLU family)."""
    if activation == "sigmoid":
        s = torch.sigmoid(u)
        return s, s * (1.0 - s)
    slope = (u >= 0).to(u.dtype).mul_(b - a).add_(a)
    return u * slope, slope  # phi(0) = 0 whichever slope is used


def glm_loss_and_grad(
    w: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    activation: str,
    a: float = 0.5,
    b: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GLM squared loss ``f(w) = (1/m) sum_i (phi(<w, x_i>) - y_i)^2`` and its (sub)gradient.

    ``grad f(w) = (2/m) sum_i phi'(<w, x_i>) (phi(<w, x_i>) - y_i) x_i``, the
    ``G`` of the proof of Theorem 1 in ``001_1787bf99fca4a9f2.txt`` (Sec. 5.1),
    with ``phi' = a`` for ``u < 0`` and ``b`` for ``u >= 0`` for the
    generalized ReLU (``a = 0`` for ``"relu"``) and ``s (1 - s)`` for the
    sigmoid.

    Parameters
    ----------
    w : torch.Tensor
        Weights, shape ``(d,)``.
    X : torch.Tensor
        Inputs, shape ``(m, d)``.
    y : torch.Tensor
        Targets, shape ``(m,)``.
    activation : {"sigmoid", "generalized_relu", "relu"}
        The link ``phi``.
    a, b : float, default=0.5, 1.0
        Generalized-ReLU slopes (ignored for the sigmoid; ``a`` is forced to 0
        for ``"relu"``).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The loss (0-dim) and the gradient (shape ``(d,)``); no host sync.
    """
    act = _check_activation(activation)
    if act != "sigmoid":
        a, b = _slopes(0.0 if act == "relu" else a, b, allow_zero_a=True)
    if X.ndim != 2 or w.ndim != 1 or X.shape[1] != w.shape[0]:
        raise ValueError(
            f"need w of shape (d,) and X of shape (m, d); got {tuple(w.shape)}, {tuple(X.shape)}"
        )
    if y.shape != (X.shape[0],):
        raise ValueError(f"'y' must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    phi, dphi = _link(X @ w, act, a, b)
    r = phi - y
    loss = (r * r).mean()
    grad = X.T @ (dphi * r) * (2.0 / X.shape[0])
    return loss, grad


def glm_loss_bound(activation: str, radius: float, a: float = 0.5, b: float = 1.0) -> float:
    """A bound ``M`` on the per-sample GLM loss for ``||w - w*|| <= radius``, ``||x|| <= 1``.

    ``(phi(<w,x>) - phi(<w*,x>))^2 <= (L ||w - w*||)^2`` with ``L`` the Lipschitz
    constant of the link (``b`` for the ReLU family, ``1/4`` for the sigmoid,
    whose loss is also ``<= 1``). This is the ``M`` of Theorem 8 of ``001``
    (``|f_t| <= M``) on the region SNGD stays in: while the ball clause holds
    ``||w_{t+1} - w*||^2 <= ||w_t - w*||^2 - eta^2``, so from ``w_1`` the
    iterates stay within ``||w_1 - w*|| + eta`` of ``w*``.
    """
    act = _check_activation(activation)
    radius = _nonnegative("radius", radius)
    if act == "sigmoid":
        return min(1.0, (radius / 4.0) ** 2)
    _, b = _slopes(0.0 if act == "relu" else a, b, allow_zero_a=True)
    return (b * radius) ** 2


@dataclass
class GLMTeacher:
    """A realizable GLM ``y = phi(<w*, x>)`` (Definition 2 of ``001``, idealized case).

    Inputs are drawn from a seeded distribution inside the unit ball:
    ``x_dist="sphere"`` (uniform on the unit sphere, ``||x|| = 1``, the
    default: it maximises the signal ``Var <w*, x> = ||w*||^2/d`` allowed by
    ``||x|| <= 1``) or ``"ball"`` (uniform in the unit ball).

    Attributes
    ----------
    activation : str
        ``"sigmoid"``, ``"generalized_relu"`` or ``"relu"``.
    w_star : torch.Tensor
        Teacher weights, float64, shape ``(d,)``.
    a, b : float
        Generalized-ReLU slopes. The default ``a = 0.5, b = 1`` keeps
        ``kappa = 2 b^3 W / a = 4 W`` moderate (leaky ReLU ``a = 0.01`` would
        give ``200 W``, so ``T`` would be ``2500x`` larger).
    x_dist : str
        ``"sphere"`` or ``"ball"``.
    """

    activation: str
    w_star: torch.Tensor
    a: float = 0.5
    b: float = 1.0
    x_dist: str = "sphere"

    def __post_init__(self) -> None:
        self.activation = _check_activation(self.activation)
        if self.activation == "relu":
            self.a = 0.0
        if self.activation != "sigmoid":
            self.a, self.b = _slopes(self.a, self.b, allow_zero_a=self.activation == "relu")
        if self.x_dist not in ("sphere", "ball"):
            raise ValueError(f"'x_dist' must be 'sphere' or 'ball', got {self.x_dist!r}")
        self.w_star = torch.as_tensor(self.w_star, dtype=torch.float64).reshape(-1)

    @property
    def d(self) -> int:
        return int(self.w_star.numel())

    @property
    def w_norm(self) -> float:
        return float(torch.linalg.vector_norm(self.w_star))

    @property
    def kappa(self) -> float:
        """The formula constant with ``W = ||w*||``: ``e^W``, ``2 b^3 W / a`` or ``2 b^2 W``."""
        if self.activation == "sigmoid":
            return kappa_sigmoid_glm(self.w_norm)
        if self.activation == "relu":
            return kappa_relu(self.w_norm, self.b)
        return kappa_generalized_relu(self.w_norm, self.a, self.b)

    def link(self, u: torch.Tensor) -> torch.Tensor:
        return _link(u, self.activation, self.a, self.b)[0]

    def sample(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` pairs ``(x, phi(<w*, x>))``, float64, deterministic given ``seed``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"'n' must be a positive int, got {n!r}")
        gen = torch.Generator().manual_seed(int(seed))
        X = torch.randn(int(n), self.d, generator=gen, dtype=torch.float64)
        X /= torch.linalg.vector_norm(X, dim=1, keepdim=True)
        if self.x_dist == "ball":
            r = torch.rand(int(n), 1, generator=gen, dtype=torch.float64) ** (1.0 / self.d)
            X *= r
        return X, self.link(X @ self.w_star)

    def loss_and_grad(
        self, w: torch.Tensor, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return glm_loss_and_grad(w, X, y, self.activation, self.a, self.b)


def make_glm_teacher(
    activation: str,
    d: int,
    w_norm: float,
    seed: int,
    *,
    a: float = 0.5,
    b: float = 1.0,
    x_dist: str = "sphere",
) -> GLMTeacher:
    """A :class:`GLMTeacher` with ``w*`` uniform on the sphere of radius ``w_norm``.

    The direction depends only on ``(d, seed)``, so teachers with different
    activations and the same seed share ``w*`` exactly.
    """
    act = _check_activation(activation)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"'d' must be a positive int, got {d!r}")
    w_norm = _positive("w_norm", w_norm)
    gen = torch.Generator().manual_seed(int(seed) + 7919)
    u = torch.randn(int(d), generator=gen, dtype=torch.float64)
    w_star = u / torch.linalg.vector_norm(u) * w_norm
    return GLMTeacher(act, w_star, a=a, b=b, x_dist=x_dist)
