"""AM-Adam: online alternating minimization with auxiliary variables.

Choromanska, Cowen, Kumaravel, Luss, Rigotti, Rish, Kingsbury, DiAchille,
Gurev, Tejwani, Bouneffouf, "Beyond Backprop: Online Alternating Minimization
with Auxiliary Variables", ICML 2019 (PMLR 97:1193-1202); the peer "AM-Adam"
of Figure 8 of ``001_1787bf99fca4a9f2.txt``. The authors' PyTorch code is
IBM/online-alt-min (``altmin.py``, ``run_altmin_sgd.py``); the defaults below
are that script's.

Net ``a_l = phi_l(c_l)``, ``c_l = W_l a_{l-1} + b_l`` (``a_0 = x``). The codes
are the pre-activations ``c_1 .. c_{L-1}`` of the hidden layers (the output
layer has none: it is coupled to the loss directly). Per minibatch:

1. forward pass: ``c_l = W_l phi(c_{l-1}) + b_l``; the loss *before* the update
   is the loss of this pass;
2. code update, top code first: with every other code fixed, ``code_steps``
   steps of SGD with Nesterov momentum (``code_lr``, ``code_momentum``) on
   ``F / mu``, where the augmented objective is::

       F(c) = loss(f_L(phi(c_{L-1})), y) + mu * sum_l mse(c_l, W_l phi(c_{l-1}) + b_l)

   ``f_L`` is the output layer (affine map and output activation) and
   ``mse`` the mean over the minibatch and the units, as in the original (so
   ``mu * mse`` is ``(mu'/2) ||.||^2`` with ``mu' = 2 mu / (b d_l)``);
3. weight update, each layer independently, ``weight_steps`` Adam steps
   (learning rate ``lr``; one Adam state per layer, kept across minibatches):
   hidden layer ``l`` on ``mse(W_l phi(c_{l-1}) + b_l, c_l)`` (``c_0`` read as
   ``x``, with no activation), the output layer on
   ``loss(f_L(phi(c_{L-1})), y)``, all with the *updated* codes.

Differences from the original script: no batch normalization and no
learning-rate halving every 8 epochs (our nets have neither; the run's
learning rate is the one Adam rate, the original's ``lr_weights = lr_out``);
``mu`` is constant (the script's default ``d_mu = 0``); the loss is the run's
loss (the original used cross-entropy; with MSE the same code runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import Loss, get_loss
from ..models import LayeredNet
from ..solvers import StepSolver
from ..trainer import NonFiniteLossError

__all__ = ["AMAdam", "am_adam_factory", "whole_net_layers"]


def whole_net_layers(
    model: LayeredNet,
    block: Sequence[int] | None,
    suffix: Sequence[int] | None,
    method: str,
) -> list[nn.Module]:
    """The layers a peer trains: ``suffix``, which must equal ``block``.

    The peers update every layer of the net they see at once, so they run
    with the ``backprop`` schedule (one block = the whole net).
    """
    if not isinstance(model, LayeredNet):
        raise TypeError(
            f"{method} needs a dante.MLP or dante.Autoencoder, got {type(model).__name__}"
        )
    full = tuple(range(model.n_layers))
    suffix = full if suffix is None else tuple(suffix)
    block = suffix if block is None else tuple(block)
    if block != suffix:
        raise ValueError(
            f"{method} trains every layer it is applied to, but was given block {list(block)} "
            f"of path {list(suffix)}; run it with schedule='backprop'"
        )
    return [model.layers[i] for i in suffix]


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if value == float("inf"):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class AMAdam(StepSolver):
    """AM-Adam of Choromanska et al. (ICML 2019) as a :class:`~dante.solvers.StepSolver`.

    See the module docstring for the algorithm and ``docs/PEERS.md`` for the
    choices. Registered as solver ``"am_adam"`` by ``import dante.peers``.

    Parameters
    ----------
    model : LayeredNet
    loss : Loss or str
        The run's loss (``"mse"`` or ``"cross_entropy"``).
    lr : float, default=1e-3
        Adam learning rate of every layer's weight update (the original's
        ``lr_weights = lr_out`` default is 0.008).
    block, suffix : sequence of int, optional
        Layers trained / applied; both default to the whole net and must match.
    mu : float, default=0.003
        Weight of the code-coupling terms (the original's default ``--mu``).
    code_steps : int, default=5
        SGD steps per code layer per minibatch (``--n-iter-codes``).
    code_lr : float, default=0.3
        Learning rate of the code steps (``--lr-codes``).
    code_momentum : float, default=0.9
        Nesterov momentum of the code steps (hard-coded in the original).
    weight_steps : int, default=1
        Adam steps per layer per minibatch (``--n-iter-weights``).
    betas : tuple of float, default=(0.9, 0.999)
        Adam's betas (PyTorch's defaults, as in the original).
    """

    def __init__(
        self,
        model: LayeredNet,
        loss: Loss | str,
        lr: float = 1e-3,
        *,
        block: Sequence[int] | None = None,
        suffix: Sequence[int] | None = None,
        mu: float = 0.003,
        code_steps: int = 5,
        code_lr: float = 0.3,
        code_momentum: float = 0.9,
        weight_steps: int = 1,
        betas: tuple[float, float] = (0.9, 0.999),
    ) -> None:
        self.layers = whole_net_layers(model, block, suffix, "am_adam")
        self.loss = get_loss(loss)
        self.lr = _positive("lr", lr)
        self.mu = _positive("mu", mu)
        self.code_steps = _count("code_steps", code_steps, 0)
        self.code_lr = _positive("code_lr", code_lr)
        if not 0.0 <= code_momentum < 1.0:
            raise ValueError(f"code_momentum must be in [0, 1), got {code_momentum!r}")
        self.code_momentum = float(code_momentum)
        self.weight_steps = _count("weight_steps", weight_steps, 1)
        self.optimizers = [
            torch.optim.Adam(layer.parameters(), lr=self.lr, betas=betas) for layer in self.layers
        ]

    def state_dict(self) -> dict[str, Any]:
        """Every layer's Adam state (the codes are recomputed per minibatch)."""
        return {"adam": [opt.state_dict() for opt in self.optimizers]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""
        for opt, st in zip(self.optimizers, state["adam"], strict=True):
            opt.load_state_dict(st)

    # ------------------------------------------------------------ pieces
    @torch.no_grad()
    def forward_codes(self, xb: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Codes ``c_1 .. c_{L-1}`` (hidden pre-activations) and the output."""
        codes: list[torch.Tensor] = []
        h = xb
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            c = layer.linear(h)
            if i < last:
                codes.append(c)
            h = layer.activation(c)
        return codes, h

    def _layer_input(self, xb: torch.Tensor, codes: Sequence[torch.Tensor], i: int):
        """Input of layer ``i`` given the codes: ``x`` or ``phi_{i-1}(c_{i-1})``."""
        return xb if i == 0 else self.layers[i - 1].activation(codes[i - 1])

    @torch.no_grad()
    def augmented_objective(
        self, xb: torch.Tensor, tb: torch.Tensor, codes: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """``F(c) = loss(f_L(phi(c_{L-1})), y) + mu * sum_l mse(c_l, W_l phi(c_{l-1}) + b_l)``."""
        last = len(self.layers) - 1
        out = self.layers[last](self._layer_input(xb, codes, last))
        total = self.loss(out, tb)
        for i in range(last):
            pred = self.layers[i].linear(self._layer_input(xb, codes, i))
            total = total + self.mu * F.mse_loss(codes[i], pred)
        return total

    def update_codes(
        self, xb: torch.Tensor, tb: torch.Tensor, codes: Sequence[torch.Tensor]
    ) -> list[torch.Tensor]:
        """Block-coordinate descent on ``F / mu`` over the codes, top code first.

        Code ``c_j`` minimizes (with every other code fixed) its part of
        ``F / mu``: ``mse(c_j, W_j phi(c_{j-1}) + b_j)`` plus ``loss / mu``
        (top code) or ``mse(c_{j+1}, W_{j+1} phi(c_j) + b_{j+1})`` (below).
        Returns new (detached) codes; ``codes`` is not modified.
        """
        new = [c.detach().clone() for c in codes]
        last = len(self.layers) - 1
        if self.code_steps == 0:
            return new
        for j in reversed(range(last)):
            with torch.no_grad():
                anchor = self.layers[j].linear(self._layer_input(xb, new, j))
            c = new[j].clone().requires_grad_(True)
            opt = torch.optim.SGD(
                [c], lr=self.code_lr, momentum=self.code_momentum, nesterov=self.code_momentum > 0
            )
            nxt = self.layers[j + 1]
            act = self.layers[j].activation
            for _ in range(self.code_steps):
                with torch.enable_grad():
                    if j + 1 == last:
                        upper = self.loss(nxt(act(c)), tb) / self.mu
                    else:
                        upper = F.mse_loss(nxt.linear(act(c)), new[j + 1])
                    obj = upper + F.mse_loss(c, anchor)
                    (grad,) = torch.autograd.grad(obj, [c])
                c.grad = grad
                opt.step()
            new[j] = c.detach()
        return new

    def update_weights(
        self, xb: torch.Tensor, tb: torch.Tensor, codes: Sequence[torch.Tensor]
    ) -> None:
        """One Adam phase per layer on its local objective (codes fixed)."""
        last = len(self.layers) - 1
        codes = [c.detach() for c in codes]
        for i, (layer, opt) in enumerate(zip(self.layers, self.optimizers, strict=True)):
            with torch.no_grad():
                inp = self._layer_input(xb, codes, i)
            params = [p for p in layer.parameters()]
            for _ in range(self.weight_steps):
                with torch.enable_grad():
                    if i == last:
                        local = self.loss(layer(inp), tb)
                    else:
                        local = F.mse_loss(layer.linear(inp), codes[i])
                    grads = torch.autograd.grad(local, params)
                for p, g in zip(params, grads, strict=True):
                    p.grad = g
                opt.step()
                opt.zero_grad(set_to_none=True)

    # ------------------------------------------------------------ solver
    def train_step(self, xb: torch.Tensor, tb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Forward, code update, weight update; returns the loss before it."""
        codes, out = self.forward_codes(xb)
        with torch.no_grad():
            loss = self.loss(out, tb).detach()
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"am_adam: minibatch loss is {float(loss)}; no weight was changed"
            )
        codes = self.update_codes(xb, tb, codes)
        self.update_weights(xb, tb, codes)
        return loss


def am_adam_factory(params: Any, lr: float, momentum: float, **context: Any) -> AMAdam:
    """``register_solver`` factory: AM-Adam with the original's defaults.

    ``params`` and ``momentum`` are unused (the layers come from ``model``;
    Adam has no momentum argument here).
    """
    return AMAdam(
        context["model"],
        context["loss"],
        lr=lr,
        block=context.get("block"),
        suffix=context.get("suffix"),
    )
