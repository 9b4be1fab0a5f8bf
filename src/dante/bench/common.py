"""Shared pieces of ``dante bench``: the machine, timers, synthetic data,
matmul-FLOP counts, the warm-up fit and the sweep configuration of the timing
runs, and the number formatting of ``docs/PERFORMANCE.md``."""

from __future__ import annotations

import math
import os
import platform
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..config import make_config
from ..models import MLP
from ..trainer import Trainer

__all__ = ["machine_info"]


def machine_info() -> dict[str, Any]:
    """Cores, torch version, BLAS and threads."""
    # only BLAS_INFO's value: the rest of torch's "Build settings" line holds
    # the build machine's compiler paths
    match = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    blas = match.group(1) if match else "?"
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


def _synthetic(n: int, d: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded uniform features and random labels for timing runs."""
    rng = np.random.default_rng(0)
    return rng.random((n, d), dtype=np.float32), rng.integers(0, k, n)


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


def _sweep_config(batch: int, **config: Any):
    """One DANTE round-robin sweep, one epoch per block, evaluated once (timing runs)."""
    return make_config(
        method="dante",
        lr=0.01,
        batch_size=batch,
        t_sngd=1,
        max_alternations=1,
        eval_every="round",
        tol=0.0,
        **config,
    )


def _warm_up(device: str) -> None:
    """One tiny fit per optimizer family, so that no timed run pays the
    one-time imports (``torch.optim`` pulls in ``torch._dynamo`` on first use,
    1-3 s on this machine)."""
    X, y = _synthetic(64, 8, 2)
    for method in ("dante", "sgd", "adam"):
        cfg = make_config(method=method, batch_size=32, max_alternations=1, tol=0.0, device=device)
        Trainer(MLP([8, 4, 2], seed=0), cfg).fit(X, y)


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "not reached"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _secs(v: float | None) -> str:
    return "not reached" if v is None else f"{v:.3g} s"


def _met(ratio: float | None, goal: float = 0.5) -> str:
    return "yes" if ratio is not None and ratio <= goal else "no"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"
