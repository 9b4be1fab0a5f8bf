"""P2 hardware efficiency and P3 frozen-prefix cache of ``dante bench``.

* P2: the fp32 matmul rate torch reaches at the layer shapes of a minibatch,
  and the rate DANTE's inner loop (and backprop) sustains on those matmuls.
* P3: a round-robin sweep with block inputs cached per phase vs. recomputing
  the frozen prefix for every minibatch.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from ..config import make_config
from ..models import MLP
from ..trainer import Trainer
from .common import _best_time, _layer_flops, _sweep_config, _synthetic

__all__ = ["p2_hardware_efficiency", "p3_prefix_cache"]


def p2_hardware_efficiency(
    sizes: list[int] | None = None,
    batch: int = 500,
    n: int = 10000,
    device: str = "cpu",
    compiled: bool = False,
) -> dict[str, Any]:
    """FLOP rate of DANTE's inner loop and of backprop vs the raw matmul rate.

    The reference rate is torch's fp32 ``mm`` on exactly the step's matmul
    shapes (forward, input-gradient and weight-gradient products), timed in
    isolation. DANTE's count holds its steps' matmuls and the forward pass of
    each block's frozen prefix over the ``n`` rows that caches the block's
    inputs, since the timed alternation performs both. ``compiled=True`` adds
    ``dante_compiled``: the same run with ``compile_step=True``
    (:mod:`dante.compiled_step`; CUDA graphs on a GPU), its compilation in the
    untimed warm-up run (where torch.compile cannot compile, the entry holds
    its ``error`` instead of a rate). The result records the ``device`` and the ``goal``
    (0.6 of the matmul rate on the CPU, 0.3 on a GPU: issue 14's P2).
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
    X, y = _synthetic(n, sizes[0], sizes[-1])
    out: dict[str, Any] = {
        "sizes": sizes,
        "batch": batch,
        "matmul_gflops": peak / 1e9,
        "device": dev.type,
        "goal": 0.6 if dev.type == "cpu" else 0.3,
    }
    steps_per_epoch = math.ceil(n / batch)
    for key in ("dante", "dante_compiled", "sgd") if compiled else ("dante", "sgd"):
        method = "sgd" if key == "sgd" else "dante"
        cfg = make_config(
            method=method,
            lr=0.01,
            batch_size=batch,
            t_sngd=2,
            max_alternations=1,
            eval_every="round",
            device=device,
            tol=0.0,
            compile_step=key == "dante_compiled",
        )
        trainer = Trainer(MLP(sizes, seed=0), cfg)
        try:
            trainer.fit(X, y)  # warm-up (and, for compile_step, the compilation)
        except RuntimeError as exc:  # torch.compile unusable here (e.g. no C++ compiler)
            if key != "dante_compiled":
                raise
            out[key] = {"error": str(exc).split(". ")[0]}
            continue
        trainer = Trainer(MLP(sizes, seed=0), cfg)
        t0 = time.perf_counter()
        res = trainer.fit(X, y)
        wall = res.budget.wall_seconds
        if method == "dante":
            L = len(sizes) - 1
            flops = sum(_layer_flops(sizes, batch, k) for k in range(L)) * 2 * steps_per_epoch
            # each block's phase first runs its frozen prefix once over the n rows to
            # cache its inputs (P3): matmuls inside the timed alternation, counted too
            flops += sum(2.0 * n * sizes[i] * sizes[i + 1] for k in range(L) for i in range(k))
        else:
            flops = _layer_flops(sizes, batch, None) * steps_per_epoch
        out[key] = {
            "flops": flops,
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
    X, y = _synthetic(n, sizes[0], sizes[-1])
    out: dict[str, Any] = {"sizes": sizes, "n": n, "batch": batch}
    weights = {}
    for cached in (True, False):
        cfg = _sweep_config(batch, cache_inputs=cached, device=device)
        trainer = Trainer(MLP(sizes, seed=0), cfg)
        res = trainer.fit(X, y)
        out["cached" if cached else "recomputed"] = res.budget.wall_seconds
        weights[cached] = [p.detach().cpu() for p in res.model.parameters()]
    out["speedup"] = out["recomputed"] / out["cached"]
    # the most the cache can save: matmul FLOPs of a sweep with and without the prefix
    L = len(sizes) - 1
    cached_flops = sum(_layer_flops(sizes, batch, k) for k in range(L))
    prefix_flops = sum(2.0 * batch * sizes[i] * sizes[i + 1] for k in range(L) for i in range(k))
    out["flop_bound"] = (cached_flops + prefix_flops) / cached_flops
    # ... if building the cache were free. A sweep builds it: one forward pass of
    # layers 0..L-2 over the rows (the trainer keeps every layer's output of the
    # first phase's prefix, the output block's, for the phases below it), which
    # per row of a minibatch costs the matmuls below; the sweep's FLOP ratio then
    out["sweep_flop_ratio"] = (cached_flops + prefix_flops) / (
        cached_flops + sum(2.0 * batch * sizes[i] * sizes[i + 1] for i in range(L - 1))
    )
    out["max_weight_difference"] = max(
        float((a - b).abs().max()) for a, b in zip(weights[True], weights[False], strict=True)
    )
    return out
