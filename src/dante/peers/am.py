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

Batch normalization, as the peer uses it (IBM/online-alt-min, ``models.py``
``LinMod`` and ``FFNet``; ``altmin.py`` ``get_mods``, ``get_codes``,
``update_codes``, ``update_hidden_weights_adam_``): with a net built as
``MLP(..., batch_norm=True)`` every hidden layer is ``phi(BN(W a))`` (a
bias-free ``Linear``, then ``BatchNorm1d``, then the activation; the output
layer is a plain ``Linear``). The codes are then the *normalised*
pre-activations ``c_l = BN_l(W_l phi(c_{l-1}))``, the output of the peer's
``LinMod``, and every ``W_l phi(c_{l-1}) + b_l`` above reads
``BN_l(W_l phi(c_{l-1}))``. The peer runs each minibatch in ``train()``
mode, so every pass through a normalisation during a step (the forward pass,
each code step through the layer above, the weight step) normalises with the
batch's statistics and moves the running statistics (momentum 0.1); the
weight step's Adam trains ``W_l`` with ``gamma_l, beta_l``. Evaluation uses
the running statistics (the peer's ``test`` calls ``model.eval()``).
:meth:`AMAdam.train_step` does the same (:func:`dante.models.batch_statistics`).

Step-size schedule: ``lr_decay`` every ``lr_decay_every`` epochs, the peer's
``LambdaLR(lambda epoch: 1/2**(epoch//args.lr_half_epochs))`` on every
layer's Adam (``run_altmin_sgd.py``, ``--lr-half-epochs 8``): in epoch ``e``
(counted from 0) the rate is ``lr * lr_decay ** (e // lr_decay_every)``.
The solver counts the samples it has seen, so an epoch is ``n_samples``
training rows (the trainer passes them; a round of the ``backprop`` schedule
is one epoch). :data:`MNIST_DEFAULTS` lists the peer's MNIST setting.

The proximal term: the peer's ``update_codes`` builds the anchor as
``codes_initial = codes[-l].clone()`` *after* ``codes[-l].requires_grad_(True)``,
so the anchor stays in the autograd graph and the gradient of
``mse(c, codes_initial)`` reaching ``c`` is ``2(c-c0)/n - 2(c-c0)/n = 0``: the
peer's code steps descend the upper term alone. ``code_proximal=False``
reproduces that; the default ``True`` keeps the anchor fixed, as the paper's
objective reads.

Differences from the original script: by default no batch normalization
(the net decides) and a constant rate (``lr_decay=1``); ``mu`` is constant
(the script's default ``d_mu = 0``); the loss is the run's loss (the original
used cross-entropy; with MSE the same code runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import Loss, get_loss
from ..models import LayeredNet, batch_statistics
from ..solvers import StepSolver
from ..trainer import NonFiniteLossError

__all__ = ["MNIST_DEFAULTS", "AMAdam", "am_adam_factory", "whole_net_layers"]

#: The peer's MNIST default (IBM/online-alt-min ``run_altmin_sgd.py`` and
#: ``models.py``): 784-100-100-10 ReLU net with batch normalization in the
#: hidden layers, cross-entropy, batch 200, 50 epochs, Adam rate 0.008 halved
#: every 8 epochs, seed 1; the code-step settings are :class:`AMAdam`'s defaults.
MNIST_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "sizes": (784, 100, 100, 10),
        "activation": "relu",
        "batch_norm": True,
        "loss": "cross_entropy",
        "batch_size": 200,
        "epochs": 50,
        "lr": 0.008,
        "lr_decay": 0.5,
        "lr_decay_every": 8,
        "mu": 0.003,
        "code_steps": 5,
        "code_lr": 0.3,
        "weight_steps": 1,
        "code_proximal": False,
        "seed": 1,
    }
)


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
    code_proximal : bool, default=True
        Include the gradient of ``mse(c_j, anchor)`` in the code steps (the
        paper's objective). ``False``: the code steps of the peer's code
        (IBM/online-alt-min ``altmin.py``, ``update_codes``), where that
        gradient cancels (module docstring).
    betas : tuple of float, default=(0.9, 0.999)
        Adam's betas (PyTorch's defaults, as in the original).
    lr_decay : float, default=1.0
        Factor applied to every layer's Adam rate each ``lr_decay_every``
        epochs; the peer's MNIST default is ``0.5`` (IBM/online-alt-min,
        ``run_altmin_sgd.py``: ``scheduler=lambda epoch:
        1/2**(epoch//args.lr_half_epochs)``). ``1``: a constant rate.
    lr_decay_every : int, optional
        Period of the decay in epochs (the peer's ``--lr-half-epochs``,
        default 8); ``None``: no decay.
    n_samples : int, optional
        Training rows per epoch; needed with ``lr_decay_every`` (the
        registered factory passes the trainer's).
    batch_norm : bool, optional
        Whether the net must be batch-normalised: the normalisation is part
        of the model (``MLP(..., batch_norm=True)``, the peer's ``FFNet(
        batchnorm=True)``, IBM/online-alt-min ``models.py``), and the solver
        treats it as the peer does (module docstring). ``True``/``False``
        check that every hidden layer has / no layer has one; ``None``
        (default) takes the net as it is.

    Examples
    --------
    The peer's MNIST setting through :class:`dante.Trainer` (a callable solver
    receives only the parameters, so it closes over the net)::

        d = MNIST_DEFAULTS
        net = dante.MLP(d["sizes"], activation="relu", batch_norm=True, seed=1)
        solver = lambda params: AMAdam(net, "cross_entropy", lr=d["lr"], lr_decay=0.5,
                                       lr_decay_every=8, n_samples=len(X))
        dante.fit(net, X, y, schedule="backprop", solver=solver, batch_size=200,
                  loss="cross_entropy", max_alternations=50, tol=0)
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
        code_proximal: bool = True,
        betas: tuple[float, float] = (0.9, 0.999),
        lr_decay: float = 1.0,
        lr_decay_every: int | None = None,
        n_samples: int | None = None,
        batch_norm: bool | None = None,
    ) -> None:
        self.layers = whole_net_layers(model, block, suffix, "am_adam")
        self._check_batch_norm(batch_norm)
        if not _positive("lr_decay", lr_decay) <= 1.0:
            raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay!r}")
        self.lr_decay = float(lr_decay)
        self.lr_decay_every = (
            None if lr_decay_every is None else _count("lr_decay_every", lr_decay_every, 1)
        )
        if n_samples is not None:
            n_samples = _count("n_samples", n_samples, 1)
        elif self.lr_decay_every is not None:
            raise ValueError("lr_decay_every needs n_samples (the training rows of an epoch)")
        self.n_samples = n_samples
        self.samples_seen = 0
        self.loss = get_loss(loss)
        self.lr = _positive("lr", lr)
        self.mu = _positive("mu", mu)
        self.code_steps = _count("code_steps", code_steps, 0)
        self.code_lr = _positive("code_lr", code_lr)
        if not 0.0 <= code_momentum < 1.0:
            raise ValueError(f"code_momentum must be in [0, 1), got {code_momentum!r}")
        self.code_momentum = float(code_momentum)
        self.weight_steps = _count("weight_steps", weight_steps, 1)
        if not isinstance(code_proximal, bool):
            raise TypeError(f"code_proximal must be a bool, got {code_proximal!r}")
        self.code_proximal = code_proximal
        self.optimizers = [
            torch.optim.Adam(layer.parameters(), lr=self.lr, betas=betas) for layer in self.layers
        ]

    def _check_batch_norm(self, batch_norm: bool | None) -> None:
        if batch_norm is None:
            return
        hidden = [getattr(layer, "norm", None) is not None for layer in self.layers[:-1]]
        has = all(hidden) and bool(hidden) if batch_norm else any(hidden)
        if has != batch_norm or getattr(self.layers[-1], "norm", None) is not None:
            raise ValueError(
                f"am_adam: batch_norm={batch_norm} but the net's hidden layers have batch "
                f"normalization {hidden} (build it with dante.MLP(..., batch_norm=True))"
            )

    def current_lr(self) -> float:
        """The Adam rate of the next step: ``lr * lr_decay ** (epoch // lr_decay_every)``."""
        if self.lr_decay_every is None or self.n_samples is None:
            return self.lr
        epoch = self.samples_seen // self.n_samples
        return self.lr * self.lr_decay ** (epoch // self.lr_decay_every)

    def state_dict(self) -> dict[str, Any]:
        """Every layer's Adam state and the samples seen (the codes are
        recomputed per minibatch)."""
        return {
            "adam": [opt.state_dict() for opt in self.optimizers],
            "samples_seen": self.samples_seen,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""
        for opt, st in zip(self.optimizers, state["adam"], strict=True):
            opt.load_state_dict(st)
        self.samples_seen = int(state.get("samples_seen", 0))  # absent before the schedule

    # ------------------------------------------------------------ pieces
    @torch.no_grad()
    def forward_codes(self, xb: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Codes ``c_1 .. c_{L-1}`` (hidden pre-activations) and the output."""
        codes: list[torch.Tensor] = []
        h = xb
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            c = layer.pre_activation(h)
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
            pred = self.layers[i].pre_activation(self._layer_input(xb, codes, i))
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
            # the code before its steps, W_j phi(c_{j-1}) + b_j of the forward
            # pass (c_{j-1} is not updated yet), as the peer's codes_initial
            anchor = new[j].clone()
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
                        upper = F.mse_loss(nxt.pre_activation(act(c)), new[j + 1])
                    obj = upper + F.mse_loss(c, anchor) if self.code_proximal else upper
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
                        local = F.mse_loss(layer.pre_activation(inp), codes[i])
                    grads = torch.autograd.grad(local, params)
                for p, g in zip(params, grads, strict=True):
                    p.grad = g
                opt.step()
                opt.zero_grad(set_to_none=True)

    # ------------------------------------------------------------ solver
    def train_step(self, xb: torch.Tensor, tb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Forward, code update, weight update; returns the loss before it.

        Batch normalizations (if any) use the minibatch's statistics in
        every pass of the step, as in the peer's ``train()`` mode.
        """
        lr = self.current_lr()
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = lr
        with batch_statistics(self.layers):
            codes, out = self.forward_codes(xb)
            with torch.no_grad():
                loss = self.loss(out, tb).detach()
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"am_adam: minibatch loss is {float(loss)}; no weight was changed"
                )
            codes = self.update_codes(xb, tb, codes)
            self.update_weights(xb, tb, codes)
        self.samples_seen += len(xb)
        return loss


def am_adam_factory(
    params: Any, lr: float, momentum: float, *, model: Any, loss: Any, **context: Any
) -> AMAdam:
    """``register_solver`` factory: AM-Adam with the original's defaults.

    ``params`` and ``momentum`` are unused (the layers come from ``model``;
    Adam has no momentum argument here). ``context`` holds the trainer's
    ``block``, ``suffix`` and ``n_samples``; any other keyword is an
    :class:`AMAdam` option, so ``functools.partial(am_adam_factory,
    lr_decay=0.5, lr_decay_every=8)`` registers the peer's schedule under a
    new name.
    """
    return AMAdam(model, loss, lr=lr, **context)
