"""Whole-phase solvers for the output block (``TrainConfig.output_solver``).

With every other layer frozen, the output layer of a DANTE sweep is a
generalized linear model on the cached features ``H = phi(... x)`` (Sec. 3 of
``001_1787bf99fca4a9f2.txt``: each output unit is a GLM). For the losses we
ship this subproblem is convex in the layer's weights when the output
activation is the identity, so it can be solved outright instead of by
``t_sngd`` epochs of SNGD:

``"ridge"``
    Identity output with ``mse``: the least-squares solution in closed form,
    ``[W b]^T = (A^T A + lam D)^{-1} A^T T`` with ``A = [H 1]``, formed in
    float64. ``lam = alpha * mean(diag(H^T H))`` with ``alpha = 1e-6`` by
    default (option ``alpha``): a numerical guard for collinear features, not
    a regulariser (``D`` leaves the bias out). One pass over the data.
``"lbfgs"``
    Any output activation and loss: full-batch L-BFGS on the cached features,
    warm-started from the current weights, with an optional L2 penalty
    ``l2 / 2 * ||W||^2`` (default ``1e-4``, as ``MLPClassifier``'s ``alpha``;
    option ``l2``). Convex for softmax/sigmoid cross-entropy and
    identity-output MSE. For the activations and losses of
    :class:`~dante.output_objectives.OutputObjective` (every built-in one) it
    is :func:`~dante.output_lbfgs.lbfgs_output`: loss and gradient in closed
    form without autograd, line searches on the outputs (a pass per
    iteration, however many trials); otherwise ``torch.optim.LBFGS`` with
    strong-Wolfe line search on autograd gradients. Options
    ``max_passes = 50`` (passes over the rows: one for the first evaluation,
    one per iteration; the cap is exact), ``tol = 1e-6`` (stop once an
    iteration lowers the objective by less than this fraction),
    ``history = 20`` (correction pairs), ``c2 = 0.5`` (the strong Wolfe
    curvature constant: below the textbook 0.9 the line search is more exact,
    which on MNIST features reached a given loss in fewer passes),
    ``gauss_newton = True`` (for ``mse`` on a generalized-ReLU output, start
    with one reweighted least-squares step on the current activation pattern,
    :mod:`dante.output_gauss_newton`; charged two passes) and
    ``rows`` (``None``: all; an int ``k < n``: solve on ``k`` evenly spaced rows,
    the same every phase, so a pass costs ``k / n`` of a full one: the
    output layer has few weights, and a subsample fixes them nearly as well).

Budget: a pass over the ``n`` rows costs about what one SNGD epoch of the
block costs (the same matmuls, without the per-step overhead), so a phase
that makes ``p`` passes is charged ``p`` block-epochs of weights updated
(``p * n_block * ceil(n / batch_size)``), and never more than the budget left.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .losses import Loss
from .output_lbfgs import lbfgs_output
from .output_objectives import OutputObjective

__all__ = ["OUTPUT_SOLVERS", "OutputSolver", "check_output_solver", "make_output_solver"]

#: The solvers and their options with defaults.
OUTPUT_SOLVERS: dict[str, dict[str, Any]] = {
    "ridge": {"alpha": 1e-6},
    "lbfgs": {
        "l2": 1e-4,
        "max_passes": 50,
        "tol": 1e-6,
        "rows": None,
        "history": 20,
        "c2": 0.5,
        "gauss_newton": True,
    },
}

_CHUNK = 65_536  # rows per chunk of the full-batch passes

#: ``rows(i, j)``: the output layer's input rows ``i:j``.
Rows = Callable[[int, int], torch.Tensor]


def check_output_solver(name: str | None, options: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the problem for an unknown solver or option."""
    if not isinstance(options, dict):
        raise TypeError(f"output_solver_options must be a dict, got {type(options).__name__}")
    if name is None:
        if options:
            raise ValueError("output_solver_options given without an output_solver")
        return
    if name not in OUTPUT_SOLVERS:
        raise ValueError(
            f"unknown output_solver {name!r}; choose one of {', '.join(OUTPUT_SOLVERS)} "
            f"(or None: the output layer is trained like every other block)"
        )
    known = OUTPUT_SOLVERS[name]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"unknown output_solver_options {unknown} for {name!r}; valid: {', '.join(known)}"
        )
    for key, value in options.items():
        if key == "rows" and value is None:
            continue
        if key == "gauss_newton":
            if not isinstance(value, bool):
                raise ValueError(f"output_solver_options['gauss_newton'] must be a bool, got "
                                 f"{value!r}")  # fmt: skip
            continue
        if key == "rows" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"output_solver_options['rows'] must be None or an int >= 1, got "
                             f"{value!r}")  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"output_solver_options[{key!r}] must be a number, got {value!r}")
        low_ok = key in ("l2",)  # l2 = 0 is allowed
        if not math.isfinite(value) or value < 0 or (value == 0 and not low_ok):
            raise ValueError(f"output_solver_options[{key!r}] must be positive, got {value!r}")
        if key in ("max_passes", "history") and (value != int(value) or value < 1):
            raise ValueError(f"output_solver_options[{key!r}] must be an integer >= 1")
        if key == "c2" and not 1e-4 < value < 1:
            raise ValueError(f"output_solver_options['c2'] must lie in (1e-4, 1), got {value!r}")


class OutputSolver:
    """Solve the output layer on all its (cached) input rows at once.

    Parameters
    ----------
    layer : dante.Layer
        The output layer (its weights are overwritten in place).
    loss : dante.losses.Loss
    options : dict
        The solver's options (:data:`OUTPUT_SOLVERS`).
    """

    name = ""

    def __init__(self, layer: torch.nn.Module, loss: Loss, options: dict[str, Any]) -> None:
        self.layer, self.loss = layer, loss
        self.options = {**OUTPUT_SOLVERS[self.name], **options}

    def solve(self, rows: Rows, n: int, T: torch.Tensor, max_passes: int) -> tuple[float, float]:
        """Fit the layer to its ``n`` input rows and targets ``T`` in at most
        ``max_passes`` passes; ``rows(i, j)`` gives input rows ``i:j`` (cached
        features, or the frozen prefix recomputed).

        Returns ``(loss before, passes made)``; the loss is the mean training
        loss of the layer's output before the solve (on the rows solved on),
        the passes are in units of a pass over all ``n`` rows.
        """
        raise NotImplementedError

    def _mean_loss(self, rows: Rows, n: int, T: torch.Tensor) -> torch.Tensor:
        total = torch.zeros((), dtype=torch.float64, device=T.device)
        for i in range(0, n, _CHUNK):
            out = self.layer(rows(i, i + _CHUNK))
            total = total + self.loss.sum(out, T[i : i + _CHUNK]).double()
        return total / n

    # solvers hold no state between phases; checkpoints store nothing
    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            raise ValueError(f"{type(self).__name__} has no state, got keys {sorted(state)}")


class RidgeOutput(OutputSolver):
    """Closed-form least squares for an identity-output layer under ``mse``."""

    name = "ridge"

    @torch.no_grad()
    def solve(self, rows: Rows, n: int, T: torch.Tensor, max_passes: int) -> tuple[float, float]:
        lin = self.layer.linear
        d, has_bias = lin.in_features, lin.bias is not None
        k = d + int(has_bias)
        AtA = torch.zeros(k, k, dtype=torch.float64, device=T.device)
        AtT = torch.zeros(k, T.shape[1], dtype=torch.float64, device=T.device)
        before = torch.zeros((), dtype=torch.float64, device=T.device)
        for i in range(0, n, _CHUNK):
            Hc = rows(i, i + _CHUNK)
            before += self.loss.sum(self.layer(Hc), T[i : i + _CHUNK]).double()
            A = Hc.double()
            if has_bias:
                A = torch.cat([A, A.new_ones(len(A), 1)], dim=1)
            AtA += A.T @ A
            AtT += A.T @ T[i : i + _CHUNK].double()
        lam = self.options["alpha"] * float(torch.diagonal(AtA)[:d].mean().clamp_min(1e-12))
        AtA[range(d), range(d)] += lam
        try:
            theta = torch.linalg.solve(AtA, AtT)
        except RuntimeError:  # singular even with the guard: least squares
            theta = torch.linalg.lstsq(AtA, AtT).solution
        lin.weight.copy_(theta[:d].T.to(lin.weight.dtype))
        if has_bias:
            lin.bias.copy_(theta[d].to(lin.bias.dtype))
        return float(before) / n, 1.0


class LBFGSOutput(OutputSolver):
    """Full-batch L-BFGS on the output layer's convex subproblem."""

    name = "lbfgs"

    def solve(self, rows: Rows, n: int, T: torch.Tensor, max_passes: int) -> tuple[float, float]:
        lin = self.layer.linear
        params = [p for p in (lin.weight, lin.bias) if p is not None]
        l2 = float(self.options["l2"])
        k = self.options["rows"]
        extract = 0.0
        if k is not None and k < n:  # evenly spaced rows, gathered once (one pass)
            idx = torch.linspace(0, n - 1, k, device=T.device).round().long().unique()
            parts = []
            for i in range(0, n, _CHUNK):
                local = idx[(idx >= i) & (idx < i + _CHUNK)] - i
                if len(local):
                    parts.append(rows(i, i + _CHUNK).index_select(0, local))
            sub, T, frac = torch.cat(parts), T.index_select(0, idx), len(idx) / n
            rows, n, extract = (lambda i, j: sub[i:j]), len(idx), frac
        else:
            frac = 1.0
        passes = min(int(self.options["max_passes"]), max(1, int((max_passes - extract) / frac)))
        if OutputObjective.supports(self.layer, self.loss):
            obj = OutputObjective(self.layer, self.loss, rows, n, T, l2, _CHUNK)
            before, made = lbfgs_output(
                obj,
                passes,
                history=int(self.options["history"]),
                tol=float(self.options["tol"]),
                c2=float(self.options["c2"]),
                gauss_newton=bool(self.options["gauss_newton"]),
            )
            return before, extract + made * frac
        opt = torch.optim.LBFGS(
            params,
            lr=1.0,
            max_iter=passes,
            max_eval=passes,
            history_size=int(self.options["history"]),
            tolerance_grad=1e-9,
            tolerance_change=float(self.options["tol"]) * 1e-3,
            line_search_fn="strong_wolfe",
        )
        evals = 0
        first: list[float] = []

        def closure() -> torch.Tensor:
            nonlocal evals
            evals += 1
            opt.zero_grad(set_to_none=True)
            loss = self._mean_loss(rows, n, T).float()
            if not first:
                first.append(float(loss.detach()))
            if l2:
                loss = loss + 0.5 * l2 * lin.weight.pow(2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            for p in params:
                p.requires_grad_(True)
            opt.step(closure)
        return first[0], extract + evals * frac


_CLASSES = {"ridge": RidgeOutput, "lbfgs": LBFGSOutput}


def make_output_solver(
    name: str,
    model: Any,
    block: tuple[int, ...],
    suffix: tuple[int, ...],
    loss: Loss,
    options: dict[str, Any],
) -> OutputSolver | None:
    """The output solver for ``block``, or ``None`` where it does not apply.

    It applies to a one-layer block that is the last layer of the phase's
    path (``suffix == block``). ``"ridge"`` needs an identity activation and
    ``mse``; a ridge request elsewhere falls back to ``"lbfgs"``, whose
    problem it is too (recorded by the trainer in ``stages[i]["solvers"]``).
    """
    if len(block) != 1 or tuple(suffix) != tuple(block):
        return None
    layer = model.layers[block[0]]
    if name == "ridge":
        identity = isinstance(layer.activation, torch.nn.Identity)
        if not (identity and loss.name == "mse"):
            name, options = "lbfgs", {}
    return _CLASSES[name](layer, loss, options)
