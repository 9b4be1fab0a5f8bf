"""Losses used by DANTE and the baselines, looked up by name.

``"mse"``
    Mean squared error averaged over samples *and* outputs (Torch's
    ``MSECriterion`` default, which the DANTE papers' implementation used: it
    is what makes the MNIST test losses of Table 1 in
    ``001_1787bf99fca4a9f2.txt`` about 0.03). Classification labels become
    one-hot targets.
``"cross_entropy"``
    Softmax cross-entropy for several outputs; sigmoid plus binary
    cross-entropy for a single output (Sec. 3.4 of ``001``). The network's
    output layer must then produce logits (``output_activation="identity"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["LOSS_NAMES", "Loss", "get_loss"]


@dataclass(frozen=True)
class Loss:
    """A named loss with the target encoding it needs.

    Attributes
    ----------
    name : str
        ``"mse"`` or ``"cross_entropy"``.
    """

    name: str

    def prepare_targets(
        self, y: torch.Tensor, n_outputs: int, classification: bool
    ) -> torch.Tensor:
        """Encode targets the way :meth:`__call__` expects them.

        Classification labels (int64) become one-hot float rows for MSE, stay
        int64 for softmax cross-entropy, and become a float ``{0, 1}`` column
        for a network with a single output (binary problems). Regression targets
        become float ``(n, k)``.
        """
        if classification:
            if n_outputs == 1:
                return y.to(torch.float32).unsqueeze(1)
            if self.name == "mse":
                return F.one_hot(y, n_outputs).to(torch.float32)
            return y
        y = y.to(torch.float32)
        return y.unsqueeze(1) if y.ndim == 1 else y

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch (and over outputs, for MSE)."""
        if self.name == "mse":
            return F.mse_loss(output, target)
        if output.shape[1] == 1:
            return F.binary_cross_entropy_with_logits(output, target)
        return F.cross_entropy(output, target)

    def sum(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Summed loss over the batch (for exact averaging over chunks)."""
        if self.name == "mse":
            return F.mse_loss(output, target, reduction="sum") / output.shape[1]
        if output.shape[1] == 1:
            return F.binary_cross_entropy_with_logits(output, target, reduction="sum")
        return F.cross_entropy(output, target, reduction="sum")

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        """Class predictions: argmax, or for one output a threshold (0.5 for
        MSE on a ``{0, 1}`` target, 0 for a logit)."""
        if output.shape[1] == 1:
            threshold = 0.5 if self.name == "mse" else 0.0
            return (output[:, 0] > threshold).to(torch.int64)
        return output.argmax(dim=1)


#: Names accepted by :func:`get_loss`.
LOSS_NAMES: tuple[str, ...] = ("mse", "cross_entropy")
_ALIASES = {"mse": "mse", "cross_entropy": "cross_entropy", "ce": "cross_entropy"}


def get_loss(spec: str | Loss) -> Loss:
    """Resolve a loss by name (``"mse"``, ``"cross_entropy"``/``"ce"``)."""
    if isinstance(spec, Loss):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"loss must be a name, got {type(spec).__name__}")
    key = spec.strip().lower().replace("-", "_")
    if key not in _ALIASES:
        raise ValueError(f"Unknown loss {spec!r}; choose one of {', '.join(LOSS_NAMES)}")
    return Loss(_ALIASES[key])
