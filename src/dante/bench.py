"""Performance measurements behind ``dante bench`` and ``docs/PERFORMANCE.md``.

Every figure is a side-by-side ratio measured in one run on this machine
(never asserted in tests):

* P2 hardware efficiency: the fp32 matmul rate torch reaches at the layer
  shapes of a minibatch, and the rate DANTE's inner loop (and backprop)
  sustains on those matmuls.
* P3 frozen-prefix cache: a round-robin sweep with block inputs cached per
  phase vs. recomputing the frozen prefix for every minibatch.
* P1 time-to-accuracy and P4 scaling: see their functions.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .config import make_config
from .models import MLP
from .trainer import Trainer

__all__ = ["machine_info", "p2_hardware_efficiency", "p3_prefix_cache"]


def machine_info() -> dict[str, Any]:
    """Cores, torch version, BLAS and threads."""
    cfg = torch.__config__.show()
    blas = next(
        (line.split("=", 1)[1].strip() for line in cfg.splitlines() if "BLAS_INFO" in line), "?"
    )
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "blas": blas,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def _best_time(fn: Callable[[], Any], repeat: int = 5, number: int = 20, sync=None) -> float:
    best = math.inf
    fn()
    for _ in range(repeat):
        if sync:
            sync()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        if sync:
            sync()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def _layer_flops(sizes: list[int], m: int, block: int | None) -> float:
    """Matmul FLOPs of one training step (forward + backward).

    ``block=None`` is backprop: forward, input-gradient of every layer but the
    first, weight gradient of every layer. ``block=k`` is a DANTE step on
    layer ``k`` with cached inputs: forward of layers ``k..L-1``, input
    gradients of layers ``k+1..L-1``, weight gradient of layer ``k``.
    """
    L = len(sizes) - 1
    lo = 0 if block is None else block
    flops = 0.0
    for i in range(lo, L):
        mm = 2.0 * m * sizes[i] * sizes[i + 1]
        flops += mm  # forward
        if i > lo:
            flops += mm  # gradient w.r.t. the layer's input
        if block is None or i == block:
            flops += mm  # gradient w.r.t. the weight
    return flops


def p2_hardware_efficiency(
    sizes: list[int] | None = None, batch: int = 500, n: int = 10000, device: str = "cpu"
) -> dict[str, Any]:
    """FLOP rate of DANTE's inner loop and of backprop vs the raw matmul rate.

    The reference rate is torch's fp32 ``mm`` on exactly the step's matmul
    shapes (forward, input-gradient and weight-gradient products), timed in
    isolation.
    """
    sizes = sizes or [784, 100, 10]
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else None
    g = torch.Generator().manual_seed(0)
    shapes = []
    for i in range(len(sizes) - 1):
        a, b = sizes[i], sizes[i + 1]
        shapes += [(batch, a, b), (batch, b, a), (a, batch, b)]
    mats = [
        (torch.randn(p, q, generator=g).to(dev), torch.randn(q, r, generator=g).to(dev))
        for p, q, r in shapes
    ]
    mm_flops = sum(2.0 * p * q * r for p, q, r in shapes)
    t_mm = _best_time(lambda: [torch.mm(x, y) for x, y in mats], sync=sync)
    peak = mm_flops / t_mm
    rng = np.random.default_rng(0)
    X = rng.random((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], n)
    out: dict[str, Any] = {"sizes": sizes, "batch": batch, "matmul_gflops": peak / 1e9}
    steps_per_epoch = math.ceil(n / batch)
    for method in ("dante", "sgd"):
        cfg = make_config(
            method=method, lr=0.01, batch_size=batch, t_sngd=2, max_alternations=1,
            eval_every="round", device=device, tol=0.0,
        )
        trainer = Trainer(MLP(sizes, seed=0), cfg)
        trainer.fit(X, y)  # warm-up
        trainer = Trainer(MLP(sizes, seed=0), cfg)
        t0 = time.perf_counter()
        res = trainer.fit(X, y)
        wall = res.budget.wall_seconds
        if method == "dante":
            L = len(sizes) - 1
            flops = sum(_layer_flops(sizes, batch, k) for k in range(L)) * 2 * steps_per_epoch
        else:
            flops = _layer_flops(sizes, batch, None) * steps_per_epoch
        out[method] = {
            "gflops": flops / wall / 1e9,
            "fraction_of_matmul": flops / wall / peak,
            "step_ms": 1e3 * wall / res.budget.steps,
            "total_s": time.perf_counter() - t0,
        }
    return out


def p3_prefix_cache(
    sizes: list[int] | None = None, n: int = 10000, batch: int = 100, device: str = "cpu"
) -> dict[str, Any]:
    """One round-robin sweep (T_SNGD = 1) with and without the block-input cache."""
    sizes = sizes or [784, 600, 400, 200, 100, 50, 10]
    rng = np.random.default_rng(0)
    X = rng.random((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], n)
    out: dict[str, Any] = {"sizes": sizes, "n": n, "batch": batch}
    weights = {}
    for cached in (True, False):
        cfg = make_config(
            method="dante", lr=0.01, batch_size=batch, t_sngd=1, max_alternations=1,
            eval_every="round", cache_inputs=cached, device=device, tol=0.0,
        )
        trainer = Trainer(MLP(sizes, seed=0), cfg)
        res = trainer.fit(X, y)
        out["cached" if cached else "recomputed"] = res.budget.wall_seconds
        weights[cached] = [p.detach().cpu() for p in res.model.parameters()]
    out["speedup"] = out["recomputed"] / out["cached"]
    out["max_weight_difference"] = max(
        float((a - b).abs().max()) for a, b in zip(weights[True], weights[False], strict=True)
    )
    return out
