"""Feed-forward models whose layers are DANTE's trainable blocks.

A network ``a_l = phi_l(W_l a_{l-1} + b_l)`` (Sec. 3 of
``001_1787bf99fca4a9f2.txt``) is stored as a list of :class:`Layer` modules, so
that any contiguous (or, for stacked autoencoder pairs, any ordered) set of
layers can be evaluated on cached inputs. DANTE trains one layer (one block:
its weight and bias) at a time with all others frozen.

A layer may carry a batch normalisation between its affine map and its
activation (``MLP(..., batch_norm=True)``, :class:`BlockBatchNorm1d`): this
goes beyond the DANTE papers, whose blocks are plain GLMs; it is here to run
the AM-Adam peer (IBM/online-alt-min) at its MNIST default and DANTE on the
same architecture.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .activations import get_activation
from .validation import check_memory, check_model_seed, parameter_bytes

__all__ = ["Autoencoder", "BlockBatchNorm1d", "Layer", "LayeredNet", "MLP", "batch_statistics"]

ActivationSpec = str | nn.Module


class BlockBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` that normalises with batch statistics only while its block trains.

    A block-coordinate method trains one block while the others stay fixed,
    but :class:`dante.Trainer` keeps the whole model in ``train()`` mode. A
    plain ``BatchNorm1d`` of a *frozen* block would then still normalise with
    the minibatch's statistics and update its running statistics on every
    forward pass of another block's phase: the frozen block would change. So
    this module uses batch statistics (and updates its running mean and
    variance, momentum ``0.1`` as ``BatchNorm1d``) only when all of these hold:

    * the module is in training mode (``model.train()``);
    * gradients are enabled (``torch.is_grad_enabled()``), i.e. the pass
      is a training pass, not an evaluation under ``torch.no_grad()`` (the
      trainer's metrics, its cached frozen prefixes, ``predict``);
    * its own affine parameters require gradients, i.e. its block is the
      one being trained (the trainer's ``requires_grad`` switch).

    Otherwise it normalises with its running statistics, exactly as in
    ``eval()`` mode, and changes nothing. Inside :func:`batch_statistics`
    it uses batch statistics whenever it is in training mode (what AM-Adam's
    steps need: the peer runs every pass of a minibatch in ``train()`` mode).

    Parameters
    ----------
    num_features : int
        Width of the layer.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features, affine=True, track_running_stats=True)
        self.force_batch_stats = False

    def uses_batch_stats(self) -> bool:
        """Whether the next forward pass normalises with the batch's statistics."""
        if not self.training:
            return False
        if self.force_batch_stats:
            return True
        return torch.is_grad_enabled() and self.weight.requires_grad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.uses_batch_stats():
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
            )
        self.num_batches_tracked.add_(1)
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            True,
            self.momentum,
            self.eps,
        )


@contextmanager
def batch_statistics(modules: Iterable[nn.Module]) -> Iterator[None]:
    """Make every :class:`BlockBatchNorm1d` in ``modules`` use batch statistics.

    Within the block, each such module in training mode normalises with the
    minibatch's statistics and updates its running statistics on every
    forward pass, whether or not gradients are enabled (as ``BatchNorm1d``
    in ``train()`` mode does). Used by :class:`dante.peers.AMAdam`.
    """
    norms = [m for mod in modules for m in mod.modules() if isinstance(m, BlockBatchNorm1d)]
    before = [m.force_batch_stats for m in norms]
    for m in norms:
        m.force_batch_stats = True
    try:
        yield
    finally:
        for m, flag in zip(norms, before, strict=True):
            m.force_batch_stats = flag


class Layer(nn.Module):
    """One affine map followed by an activation: ``phi(W a + b)``.

    With ``batch_norm=True`` the layer is ``phi(BN(W a))``: a
    :class:`BlockBatchNorm1d` sits between the affine map and the activation,
    and the affine map has no bias (the normalisation's shift ``beta``
    replaces it), as the ``LinMod(bias=False, batchnorm=True)`` modules of
    IBM/online-alt-min (``models.py``). The block is then ``W`` with the
    normalisation's ``gamma`` and ``beta``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes.
    activation : str or torch.nn.Module
        Name from :data:`dante.activations.ACTIVATION_NAMES` or a module.
    bias : bool, default=True
        Whether the layer has a bias (part of the same block as ``W``);
        ignored with ``batch_norm=True``.
    batch_norm : bool, default=False
        Normalise the pre-activation (see above).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: ActivationSpec,
        bias: bool = True,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias and not batch_norm)
        self.norm = BlockBatchNorm1d(out_features) if batch_norm else None
        self.activation = get_activation(activation)

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        """``W x + b``, or ``BN(W x)`` for a batch-normalised layer."""
        z = self.linear(x)
        return z if self.norm is None else self.norm(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.pre_activation(x))


def _check_bias(bias: object) -> None:
    # a string such as "no" is truthy: it would silently keep the bias
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be True or False, got {bias!r}")


def _check_sizes(sizes: Sequence[int], argname: str, min_len: int) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"{argname} must be a sequence of positive ints, got {sizes!r}")
    out = []
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{argname} must contain ints, got {s!r} in {list(sizes)!r}")
        if s < 1:
            raise ValueError(f"{argname} must contain positive sizes, got {list(sizes)!r}")
        out.append(int(s))
    if len(out) < min_len:
        raise ValueError(
            f"{argname} needs at least {min_len} sizes (input, ..., output), got {list(sizes)!r}"
        )
    # float32 weights and biases, caught here rather than as an allocation
    # failure deep inside torch
    check_memory(parameter_bytes(out), f"{argname}={out!r}: the weights", "use smaller layers")
    return out


def _per_layer(spec, n: int, argname: str) -> list:
    if isinstance(spec, (str, nn.Module)):
        return [spec] * n
    if isinstance(spec, Sequence):
        if len(spec) != n:
            raise ValueError(f"{argname} has {len(spec)} entries but the network has {n} layers")
        return list(spec)
    raise TypeError(f"{argname} must be a name, a module, or a list of them, got {spec!r}")


class LayeredNet(nn.Module):
    """A sequence of :class:`Layer` blocks with partial forward passes.

    Subclasses set ``self.layers`` (an ``nn.ModuleList``).
    """

    layers: nn.ModuleList

    @property
    def n_layers(self) -> int:
        """Number of layers (blocks)."""
        return len(self.layers)

    @property
    def in_features(self) -> int:
        return self.layers[0].linear.in_features

    @property
    def out_features(self) -> int:
        return self.layers[-1].linear.out_features

    def block_parameters(self, index: int) -> list[nn.Parameter]:
        """Parameters of block ``index`` (the layer's weight and bias)."""
        return list(self.layers[index].parameters())

    def forward_path(self, x: torch.Tensor, path: Sequence[int]) -> torch.Tensor:
        """Apply the layers with the given indices, in order."""
        for i in path:
            x = self.layers[i](x)
        return x

    def forward_range(
        self, x: torch.Tensor, start: int = 0, stop: int | None = None
    ) -> torch.Tensor:
        """Apply layers ``start .. stop-1``."""
        for layer in self.layers[start:stop]:
            x = layer(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_range(x)


def _init_layers(build, seed: int | None) -> None:
    if seed is None:
        build()
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        build()


class MLP(LayeredNet):
    """Multi-layer perceptron from layer sizes.

    Parameters
    ----------
    sizes : sequence of int
        ``[d_in, h_1, ..., h_k, d_out]``; at least two entries.
    activation : str, module, or list, default="leaky_relu"
        Hidden activation(s); ``"leaky_relu"`` is the generalized ReLU with
        ``a=0.01, b=1`` (the DANTE papers' setting).
    output_activation : str or module, default="identity"
        Activation of the output layer. Use ``"identity"`` (logits) with the
        cross-entropy loss. The DANTE paper's MSE experiments use the hidden
        activation at the output too (its Figure 2 caption: "all with Leaky
        ReLU activations"); the reproduction configs set that explicitly.
    bias : bool, default=True
    seed : int, optional
        Seed for the weight initialisation (PyTorch's default uniform init);
        the global RNG is left untouched when given.
    batch_norm : bool, default=False
        Put a batch normalisation in every *hidden* layer, between its affine
        map (then bias-free) and its activation: a block is ``Linear`` +
        :class:`BlockBatchNorm1d`, then the activation; the output layer stays
        plain. This is the architecture of the AM-Adam peer's MNIST default
        (IBM/online-alt-min, ``models.py``: ``FFNet(batchnorm=True)``). It
        goes beyond the DANTE papers, whose blocks are GLMs without
        normalisation. A batch-normalised block uses batch statistics only
        while it trains; frozen blocks and every evaluation use the running
        statistics (see :class:`BlockBatchNorm1d`), and the fused step of
        :mod:`dante.fast_step` is not taken for such blocks.

    Examples
    --------
    >>> net = MLP([64, 100, 10], seed=0)
    >>> net.n_layers
    2
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: ActivationSpec | Sequence[ActivationSpec] = "leaky_relu",
        output_activation: ActivationSpec = "identity",
        bias: bool = True,
        seed: int | None = None,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        check_model_seed(seed)
        if not isinstance(batch_norm, bool):
            raise TypeError(f"batch_norm must be a bool, got {batch_norm!r}")
        _check_bias(bias)
        sizes = _check_sizes(sizes, "sizes", 2)
        n = len(sizes) - 1
        hidden = _per_layer(activation, n - 1, "activation") if n > 1 else []
        acts = hidden + [output_activation]
        for a in acts:
            get_activation(a)  # validate names before building anything
        self.sizes = sizes
        self.batch_norm = batch_norm

        def build() -> None:
            self.layers = nn.ModuleList(
                Layer(sizes[i], sizes[i + 1], acts[i], bias, batch_norm and i < n - 1)
                for i in range(n)
            )

        _init_layers(build, seed)


class Autoencoder(LayeredNet):
    """Autoencoder with a mirrored decoder and untied weights.

    ``encoder_sizes = [d, h_1, ..., h_k]`` gives encoder layers
    ``d -> h_1 -> ... -> h_k`` and decoder layers ``h_k -> ... -> h_1 -> d``,
    ``2k`` layers in all. Layer ``i`` and layer ``2k-1-i`` form the ``i``-th
    pair of Algorithm 3 in ``000_16cd8e47eb5a686b.txt`` (pair 0 is outermost).

    Parameters
    ----------
    encoder_sizes : sequence of int
        At least ``[d, h]``.
    activation : str, module, or list, default="leaky_relu"
        Activation of every layer except the last decoder layer (one entry per
        layer but the last if a list is given).
    output_activation : str or module, default="identity"
        Activation of the reconstruction; ``"sigmoid"`` suits data in [0, 1].
    bias : bool, default=True
    seed : int, optional
        Seed for the initialisation.
    """

    def __init__(
        self,
        encoder_sizes: Sequence[int],
        activation: ActivationSpec | Sequence[ActivationSpec] = "leaky_relu",
        output_activation: ActivationSpec = "identity",
        bias: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        check_model_seed(seed)
        _check_bias(bias)
        enc = _check_sizes(encoder_sizes, "encoder_sizes", 2)
        k = len(enc) - 1
        sizes = enc + enc[-2::-1]
        check_memory(
            parameter_bytes(sizes), f"encoder_sizes={enc!r}: the weights", "use smaller layers"
        )
        n = 2 * k
        acts = _per_layer(activation, n - 1, "activation") + [output_activation]
        for a in acts:
            get_activation(a)
        self.encoder_sizes = enc
        self.sizes = sizes

        def build() -> None:
            self.layers = nn.ModuleList(
                Layer(sizes[i], sizes[i + 1], acts[i], bias) for i in range(n)
            )

        _init_layers(build, seed)

    @property
    def n_pairs(self) -> int:
        """Number of (encoder, decoder) layer pairs."""
        return self.n_layers // 2

    def pair(self, i: int) -> tuple[int, int]:
        """Layer indices ``(encoder, decoder)`` of pair ``i`` (0 = outermost)."""
        if not 0 <= i < self.n_pairs:
            raise ValueError(f"pair index must be in [0, {self.n_pairs}), got {i}")
        return i, self.n_layers - 1 - i

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden code (output of the innermost encoder layer)."""
        return self.forward_range(x, 0, self.n_pairs)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Reconstruction from a code."""
        return self.forward_range(h, self.n_pairs, None)
