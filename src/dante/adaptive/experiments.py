"""The runs behind the ``adaptive`` study (``003`` Secs. 5.5-5.6, Apps. 5.D-5.E).

Each function runs one part of the chapter's experiments at the sizes of a
:class:`Sizes` and returns plain results; :mod:`dante.adaptive.study` turns
them into claims, a table and figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .autoencoders import RunHistory, evaluate, glorot_uniform_, train
from .grid import NAG_GRID, RMSPROP_ADAM_GRID, TuneResult, tune
from .hessian import lambda_min
from .optimizers import ThesisAdam, ThesisNAG, ThesisRMSProp

__all__ = [
    "CONFIGS",
    "Config",
    "ConfigRuns",
    "SmallCNN",
    "run_configs",
    "run_dante",
    "run_zeta",
]


@dataclass(frozen=True)
class Config:
    """One tuned line of the thesis's plots: an algorithm with its momentum setting."""

    label: str
    algo: str  # "nag" | "rmsprop" | "adam"
    hyper: float  # mu (NAG), beta2 (RMSProp) or beta1 (ADAM)

    def grid(self, scale: float) -> list[float]:
        base = NAG_GRID if self.algo == "nag" else RMSPROP_ADAM_GRID
        return [lr * scale for lr in base]

    def factory(self, lr: float, shift: float | None = None) -> Callable:
        """``params -> optimizer``; ``shift`` overrides xi / zeta (App. 5.D defaults)."""
        if self.algo == "nag":
            return lambda ps: ThesisNAG(ps, lr=lr, momentum=self.hyper)
        if self.algo == "rmsprop":
            xi = 1e-10 if shift is None else shift
            return lambda ps: ThesisRMSProp(ps, lr=lr, beta2=self.hyper, xi=xi)
        zeta = 1e-8 if shift is None else shift
        return lambda ps: ThesisAdam(ps, lr=lr, betas=(self.hyper, 0.999), zeta=zeta)


#: The lines of Figs. 5.6.3-5.6.4: NAG at mu 0.9/0.99, RMSProp at beta2 0.9/0.99
#: (App. 5.D tunes beta2), ADAM at beta1 0.9/0.99 (beta2 = 0.999).
CONFIGS = (
    Config("NAG mu=0.9", "nag", 0.9),
    Config("NAG mu=0.99", "nag", 0.99),
    Config("RMSProp b2=0.9", "rmsprop", 0.9),
    Config("RMSProp b2=0.99", "rmsprop", 0.99),
    Config("ADAM b1=0.9", "adam", 0.9),
    Config("ADAM b1=0.99", "adam", 0.99),
)


@dataclass
class ConfigRuns:
    """A configuration's tuning on the first seed and its runs on every seed."""

    config: Config
    tuning: TuneResult
    runs: list[RunHistory] = field(default_factory=list)

    @property
    def lr(self) -> float:
        return self.tuning.best

    def final(self, key: str) -> list[float]:
        """Final ``train_loss`` / ``test_loss`` / ``grad_norm`` per seed (inf if diverged)."""
        return [math.inf if r.diverged else getattr(r, key)[-1] for r in self.runs]


def run_configs(
    make_model: Callable[[int], nn.Module],
    data: dict[str, Any],
    seeds: Sequence[int],
    *,
    iterations: int,
    grid_scale: dict[str, float],
    configs: Sequence[Config] = CONFIGS,
    batch_size: int | None = None,
    n_evals: int = 10,
    callback: Callable[[int, nn.Module], dict[str, float]] | None = None,
    fixed_lr: float | None = None,
    cheap_callback: bool = False,
    grid_points: int = 5,
    max_extensions: int = 3,
) -> dict[str, ConfigRuns]:
    """Tune each configuration's step size on ``seeds[0]`` (App. 5.D), then run all seeds.

    ``data`` holds ``x_train``, ``x_test`` and optionally ``t_train``,
    ``t_test``, ``loss_fn`` and ``eval_train`` (passed to
    :func:`~dante.adaptive.autoencoders.train`). ``grid_scale[algo]``
    multiplies the thesis's initial grid. ``callback`` runs only on the
    chosen configurations' runs, not during tuning. ``fixed_lr`` skips the
    tuning and uses that step size; ``cheap_callback`` runs ``callback`` during
    tuning too (so the first seed's tuning run is reused). ``grid_points``
    keeps the largest that many points of the initial grid (smoke tests).
    """
    out: dict[str, ConfigRuns] = {}
    for cfg in configs:
        cache: dict[float, RunHistory] = {}

        def one(lr: float, seed: int, cb: Callable | None = None, cfg: Config = cfg) -> RunHistory:
            return train(
                make_model(seed),
                cfg.factory(lr),
                iterations=iterations,
                batch_size=batch_size,
                n_evals=n_evals,
                seed=seed,
                callback=cb,
                **data,
            )

        def final(lr: float, cache: dict = cache) -> float:
            cache[lr] = one(lr, seeds[0], callback if cheap_callback else None)
            return cache[lr].final_train

        if fixed_lr is None:
            grid = cfg.grid(grid_scale[cfg.algo])[:grid_points]
            tuning = tune(final, grid, max_extensions=max_extensions)
        else:
            tuning = TuneResult(best=fixed_lr, losses={fixed_lr: math.nan})
        cr = ConfigRuns(cfg, tuning)
        for s in seeds:
            reuse = callback is None or cheap_callback
            if s == seeds[0] and reuse and fixed_lr is None:
                cr.runs.append(cache[tuning.best])
            else:
                cr.runs.append(one(tuning.best, s, callback))
        out[cfg.label] = cr
    return out


def run_zeta(
    make_model: Callable[[int], nn.Module],
    data: dict[str, Any],
    seeds: Sequence[int],
    base: ConfigRuns,
    shifts: Sequence[float],
    *,
    iterations: int,
    n_evals: int = 10,
) -> dict[float, list[RunHistory]]:
    """App. 5.E: ``base``'s tuned step size and momentum, the shift (xi/zeta) varied."""
    out: dict[float, list[RunHistory]] = {}
    default = 1e-10 if base.config.algo == "rmsprop" else 1e-8
    for z in shifts:
        if z == default:
            out[z] = base.runs
            continue
        out[z] = [
            train(
                make_model(s),
                base.config.factory(base.lr, shift=z),
                iterations=iterations,
                n_evals=n_evals,
                seed=s,
                **data,
            )
            for s in seeds
        ]
    return out


def hessian_callback(x64: torch.Tensor, tol: float = 1e-4) -> Callable:
    """A :func:`train` callback recording ``lambda_min`` of the Hessian (Sec. 5.6.2)."""
    from .autoencoders import reconstruction_loss

    def cb(it: int, model: nn.Module) -> dict[str, float]:
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss_of(p: dict[str, torch.Tensor]) -> torch.Tensor:
            return reconstruction_loss(lambda z: torch.func.functional_call(model, p, (z,)), x64)

        return {"lambda_min": lambda_min(loss_of, params, tol=tol)}

    return cb


class SmallCNN(nn.Module):
    """Two 3x3 conv + ReLU + 2x2 max-pool stages, a ReLU hidden layer, 10 logits.

    The stand-in for VGG-9 (``003`` Table 5.6.1) on 28x28 grey images; no
    batch normalisation. Conv and linear weights Glorot-uniform, biases zero.
    """

    def __init__(self, channels: tuple[int, int] = (8, 16), hidden: int = 32, seed: int = 0):
        super().__init__()
        c1, c2 = channels
        gen = torch.Generator().manual_seed(int(seed))
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc1 = nn.Linear(c2 * 49, hidden)
        self.fc2 = nn.Linear(hidden, 10)
        for m in (self.conv1, self.conv2, self.fc1, self.fc2):
            w = m.weight.data
            flat = w.view(w.shape[0], -1)
            fan_in, fan_out = flat.shape[1], w.shape[0] * (w[0, 0].numel() if w.dim() == 4 else 1)
            lim = math.sqrt(6.0 / (fan_in + fan_out))
            w.uniform_(-lim, lim, generator=gen)
            m.bias.data.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def cross_entropy(model: nn.Module, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(model(x), t)


def accuracy(model: nn.Module, x: torch.Tensor, t: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == t).float().mean())


def untied_autoencoder(d: int, width: int, ell: int, seed: int) -> nn.Module:
    """``dante.Autoencoder([d, h, ..., h])``: ``2 ell`` untied ReLU layers, Glorot, zero biases."""
    import dante

    net = dante.Autoencoder([d] + [width] * ell, activation="relu", seed=seed)
    gen = torch.Generator().manual_seed(int(seed))
    for layer in net.layers:
        glorot_uniform_(layer.linear.weight, gen)
        with torch.no_grad():
            layer.linear.bias.zero_()
    return net


def run_dante(
    x_train: torch.Tensor,
    x_test: torch.Tensor,
    seeds: Sequence[int],
    *,
    width: int,
    ell: int,
    t_sngd: int,
    alternations: int,
    grid: Sequence[float],
    max_extensions: int = 3,
) -> dict[str, Any]:
    """DANTE (``000`` Algorithm 3, SNGD inner solver) on the untied autoencoder, full batch.

    Step size tuned on ``seeds[0]`` by :func:`tune` (same rule as App. 5.D).
    Returns the tuning, per-seed final (train loss, test loss, grad norm) in
    this module's loss units and the solver steps taken.
    """
    import dante

    xn = x_train.numpy()
    n = xn.shape[0]

    def one(lr: float, seed: int) -> tuple[tuple[float, float, float], int]:
        net = untied_autoencoder(xn.shape[1], width, ell, seed)
        res = dante.fit(
            net,
            xn,
            method="dante",
            loss="mse",
            lr=lr,
            batch_size=n,
            t_sngd=t_sngd,
            max_alternations=alternations,
            tol=0.0,
            seed=seed,
        )
        tr, gn = evaluate(net, x_train)
        with torch.no_grad():
            te = float(0.5 * (net(x_test) - x_test).square().sum(1).mean())
        vals = (tr, te, gn) if all(map(math.isfinite, (tr, te, gn))) else (math.inf,) * 3
        return vals, int(res.budget.steps)

    cache: dict[float, tuple] = {}

    def final(lr: float) -> float:
        cache[lr] = one(lr, seeds[0])
        return cache[lr][0][0]

    tuning = tune(final, grid, max_extensions=max_extensions)
    finals = [cache[tuning.best]] + [one(tuning.best, s) for s in seeds[1:]]
    return {
        "tuning": tuning,
        "train_loss": [f[0][0] for f in finals],
        "test_loss": [f[0][1] for f in finals],
        "grad_norm": [f[0][2] for f in finals],
        "steps": finals[0][1],
    }


def finals_of(runs: Sequence[RunHistory], key: str) -> list[float]:
    """Final value of ``key`` per run (``inf`` for a diverged run)."""
    return [math.inf if r.diverged else getattr(r, key)[-1] for r in runs]


def curve_mean(runs: Sequence[RunHistory], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Iterations and the seed-mean curve of ``key`` (over the runs that did not diverge)."""
    ok = [r for r in runs if not r.diverged] or list(runs)
    n = min(len(r.iteration) for r in ok)
    vals = [getattr(r, key)[:n] if key != "lambda_min" else r.extra[key][:n] for r in ok]
    return np.asarray(ok[0].iteration[:n]), np.mean(np.asarray(vals, dtype=float), axis=0)
