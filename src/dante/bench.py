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
    X, y = _synthetic(n, sizes[0], sizes[-1])
    out: dict[str, Any] = {"sizes": sizes, "batch": batch, "matmul_gflops": peak / 1e9}
    steps_per_epoch = math.ceil(n / batch)
    for method in ("dante", "sgd"):
        cfg = make_config(
            method=method,
            lr=0.01,
            batch_size=batch,
            t_sngd=2,
            max_alternations=1,
            eval_every="round",
            device=device,
            tol=0.0,
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
    X, y = _synthetic(n, sizes[0], sizes[-1])
    out: dict[str, Any] = {"sizes": sizes, "n": n, "batch": batch}
    weights = {}
    for cached in (True, False):
        cfg = make_config(
            method="dante",
            lr=0.01,
            batch_size=batch,
            t_sngd=1,
            max_alternations=1,
            eval_every="round",
            cache_inputs=cached,
            device=device,
            tol=0.0,
        )
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
    out["max_weight_difference"] = max(
        float((a - b).abs().max()) for a, b in zip(weights[True], weights[False], strict=True)
    )
    return out


def _time_to(history: list[dict[str, Any]], target: float) -> float | None:
    for rec in history:
        if rec.get("test_accuracy", -1.0) >= target:
            return rec["wall_seconds"]
    return None


def p1_time_to_accuracy(
    loss: str = "mse",
    *,
    epochs: int = 20,
    n_train: int | None = None,
    batch: int = 100,
    device: str = "cpu",
    sgd_grid: tuple[float, ...] = (0.1, 0.3, 1.0),
    dante_lr: float = 0.1,
    adam_lr: float = 1e-3,
) -> dict[str, Any]:
    """Wall time to the accuracy tuned SGD reaches after ``epochs`` epochs.

    SGD's rate is the best of ``sgd_grid`` by final test accuracy (this is a
    speed benchmark, not a model selection: the target is the best SGD
    accuracy we can show). DANTE and Adam then run with a budget of twice
    SGD's weights updated; the figure is the training wall time (evaluation
    excluded) at the first evaluation point at or above the target.
    """
    from .data import load

    opts = {} if n_train is None else {"n_train": n_train}
    ds = load("mnist", **opts)
    sizes = [784, 100, 10]
    out_act = "identity" if loss == "cross_entropy" else "leaky_relu"

    def run(method: str, lr: float, budget: int | None, rounds: int):
        cfg = make_config(
            method=method,
            lr=lr,
            batch_size=batch,
            loss=loss,
            max_alternations=rounds,
            tol=0.0,
            t_am=1,
            max_weights_updated=budget,
            device=device,
        )
        model = MLP(sizes, "leaky_relu", out_act, seed=0)
        return Trainer(model, cfg).fit(ds.X_train, ds.y_train, ds.X_test, ds.y_test)

    sgd_runs = {lr: run("sgd", lr, None, epochs) for lr in sgd_grid}
    best_lr = max(sgd_runs, key=lambda lr: sgd_runs[lr].final["test_accuracy"])
    sgd = sgd_runs[best_lr]
    target = sgd.final["test_accuracy"]
    budget = 2 * sgd.budget.weights_updated
    res: dict[str, Any] = {
        "loss": loss,
        "target_accuracy": target,
        "sgd_lr": best_lr,
        "epochs": epochs,
        "n_train": len(ds.X_train),
        "batch": batch,
        "sgd_seconds": _time_to(sgd.history, target),
    }
    for name, method, lr in (("dante", "dante", dante_lr), ("adam", "adam", adam_lr)):
        r = run(method, lr, budget, 10 * epochs)
        t = _time_to(r.history, target)
        res[f"{name}_seconds"] = t
        res[f"{name}_best_accuracy"] = max(h.get("test_accuracy", 0.0) for h in r.history)
    for name in ("dante", "adam"):
        t = res[f"{name}_seconds"]
        res[f"{name}_over_sgd"] = None if t is None else t / res["sgd_seconds"]
    if res["adam_seconds"] and res["dante_seconds"]:
        res["dante_over_adam"] = res["dante_seconds"] / res["adam_seconds"]
    return res


def p4_scaling(
    ns: tuple[int, ...] = (1000, 4000, 16000, 64000),
    widths: tuple[int, ...] = (64, 256, 1024),
    batch: int = 100,
) -> dict[str, Any]:
    """Seconds per DANTE epoch against N (784-256-10) and against width (N=8000)."""

    def epoch_time(n: int, width: int) -> float:
        X, y = _synthetic(n, 784, 10)
        cfg = make_config(
            method="dante",
            lr=0.01,
            batch_size=batch,
            t_sngd=1,
            max_alternations=1,
            eval_every="round",
            tol=0.0,
        )
        res = Trainer(MLP([784, width, 10], seed=0), cfg).fit(X, y)
        return res.budget.wall_seconds / 2  # one epoch per block, two blocks

    by_n = [(n, epoch_time(n, 256)) for n in ns]
    by_w = [(w, epoch_time(8000, w)) for w in widths]

    def slope(pairs: list[tuple[int, float]]) -> float:
        x = np.log([p[0] for p in pairs])
        y = np.log([p[1] for p in pairs])
        return float(np.polyfit(x, y, 1)[0])

    return {
        "by_n": by_n,
        "by_width": by_w,
        "n_exponent": slope(by_n),
        "width_exponent": slope(by_w),
    }


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


def write_performance_md(results: dict[str, Any], path: str | os.PathLike) -> None:
    """Render ``docs/PERFORMANCE.md`` from the measurements (no hand-typed numbers)."""
    from .reporting import atomic_write_text

    m = results["machine"]
    lines = [
        "# Performance",
        "",
        "Generated by `dante bench`; do not edit by hand. Every figure is a ratio measured "
        "side by side in one run on the machine below.",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), torch {m['torch']}, "
        f"{m['threads']} torch threads, BLAS: {m['blas'].split(',')[0]}"
        + (f", GPU {m['cuda']}" if m.get("cuda") else "")
        + f"; device `{results['device']}`.",
        "",
        "| figure | measured | goal | met? |",
        "|---|---|---|---|",
    ]
    for p1 in results.get("p1", []):
        r = p1["dante_over_sgd"]
        lines.append(
            f"| P1 time to SGD's {p1['epochs']}-epoch accuracy ({p1['target_accuracy']:.4f}), "
            f"{p1['loss']}: DANTE / SGD | {_fmt(r)} (DANTE {_secs(p1['dante_seconds'])}, SGD "
            f"{_secs(p1['sgd_seconds'])}) | <= 0.5 | {_met(r)} |"
        )
        r2 = p1.get("dante_over_adam")
        lines.append(
            f"| P1 same, DANTE / Adam ({p1['loss']}) | {_fmt(r2)} (Adam "
            f"{_secs(p1['adam_seconds'])}) | <= 0.5 | {_met(r2)} |"
        )
    p2 = results.get("p2")
    if p2:
        for k in ("dante", "sgd"):
            f = p2[k]["fraction_of_matmul"]
            lines.append(
                f"| P2 {k} inner-loop FLOP rate / matmul rate ({'-'.join(map(str, p2['sizes']))}, "
                f"batch {p2['batch']}) | {f:.2f} ({p2[k]['gflops']:.1f} of "
                f"{p2['matmul_gflops']:.1f} GFLOP/s) | >= 0.6 | {'yes' if f >= 0.6 else 'no'} |"
            )
    p3 = results.get("p3")
    if p3:
        lines.append(
            f"| P3 frozen-prefix cache speed-up, one sweep of {'-'.join(map(str, p3['sizes']))} "
            f"| {p3['speedup']:.2f}x ({p3['recomputed']:.2f} s -> {p3['cached']:.2f} s; weights "
            f"differ by {p3['max_weight_difference']:.1e}; matmul-FLOP bound of a sweep "
            f"{p3.get('flop_bound', float('nan')):.2f}x) | >= 3x | "
            f"{'yes' if p3['speedup'] >= 3 else 'no'} |"
        )
    p4 = results.get("p4")
    if p4:
        for key, label in (("n_exponent", "N"), ("width_exponent", "width")):
            e = p4[key]
            lines.append(
                f"| P4 time per epoch ~ {label}^k | k = {e:.2f} | 1.0 ± 0.1 | "
                f"{'yes' if abs(e - 1) <= 0.1 else 'no'} |"
            )
    lines += ["", "## Notes", ""]
    lines += [f"- {n}" for n in results.get("notes", [])]
    atomic_write_text(path, "\n".join(lines) + "\n")
