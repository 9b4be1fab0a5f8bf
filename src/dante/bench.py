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
import re
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


def _warm_up(device: str) -> None:
    """One tiny fit per optimizer family, so that no timed run pays the
    one-time imports (``torch.optim`` pulls in ``torch._dynamo`` on first use,
    1-3 s on this machine)."""
    X, y = _synthetic(64, 8, 2)
    for method in ("dante", "sgd", "adam"):
        cfg = make_config(method=method, batch_size=32, max_alternations=1, tol=0.0, device=device)
        Trainer(MLP([8, 4, 2], seed=0), cfg).fit(X, y)


def p1_time_to_accuracy(
    loss: str = "mse",
    *,
    epochs: int = 20,
    n_train: int | None = None,
    batch: int = 100,
    device: str = "cpu",
    sgd_grid: tuple[float, ...] = (0.1, 0.3, 1.0),
    dante_grid: tuple[float, ...] = (0.03, 0.1, 0.3),
    adam_grid: tuple[float, ...] = (3e-4, 1e-3, 3e-3),
) -> dict[str, Any]:
    """Wall time to the accuracy tuned SGD reaches after ``epochs`` epochs.

    SGD's rate is the best of ``sgd_grid`` by final test accuracy: the target
    is the best SGD accuracy we can show. DANTE and Adam are tuned the same
    way, each over its own grid with a budget of twice SGD's weights updated;
    each reports its best rate by time to the target (by best accuracy when
    no rate reaches it). Times are training wall time (evaluation excluded)
    at the first evaluation point at or above the target, after a warm-up
    that keeps one-time imports out of every timed run. ``epochs_to_target``
    and ``seconds_per_epoch`` split each time into "how many passes" and
    "how fast a pass" (what limits the ratio).
    """
    from .data import load

    opts = {} if n_train is None else {"n_train": n_train}
    ds = load("mnist", **opts)
    n = len(ds.X_train)
    sizes = [784, 100, 10]
    out_act = "identity" if loss == "cross_entropy" else "leaky_relu"
    _warm_up(device)

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

    def summary(r, target: float) -> dict[str, Any]:
        hit = next((h for h in r.history if h.get("test_accuracy", -1.0) >= target), None)
        last = r.history[-1]
        return {
            "seconds": None if hit is None else hit["wall_seconds"],
            "epochs_to_target": None if hit is None else hit["samples_seen"] / n,
            "seconds_per_epoch": last["wall_seconds"] / max(last["samples_seen"] / n, 1e-12),
            "best_accuracy": max(h.get("test_accuracy", 0.0) for h in r.history),
        }

    sgd_runs = {lr: run("sgd", lr, None, epochs) for lr in sgd_grid}
    best_lr = max(sgd_runs, key=lambda lr: sgd_runs[lr].final["test_accuracy"])
    sgd = sgd_runs[best_lr]
    target = sgd.final["test_accuracy"]
    budget = 2 * sgd.budget.weights_updated
    s = summary(sgd, target)
    res: dict[str, Any] = {
        "loss": loss,
        "target_accuracy": target,
        "sgd_lr": best_lr,
        "epochs": epochs,
        "n_train": n,
        "batch": batch,
        "sgd_seconds": s["seconds"],
        "sgd_epochs_to_target": s["epochs_to_target"],
        "sgd_seconds_per_epoch": s["seconds_per_epoch"],
    }
    for name, grid in (("dante", dante_grid), ("adam", adam_grid)):
        runs = {lr: summary(run(name, lr, budget, 10 * epochs), target) for lr in grid}

        def key(lr: float, runs=runs) -> tuple[float, float]:
            t = runs[lr]["seconds"]
            return (t if t is not None else math.inf, -runs[lr]["best_accuracy"])

        best = min(runs, key=key)
        res[f"{name}_lr"] = best
        res[f"{name}_grid"] = {str(lr): r for lr, r in runs.items()}
        for k, v in runs[best].items():
            res[f"{name}_{k}"] = v
    for name in ("dante", "adam"):
        t = res[f"{name}_seconds"]
        res[f"{name}_over_sgd"] = None if t is None else t / res["sgd_seconds"]
    if res["adam_seconds"] and res["dante_seconds"]:
        res["dante_over_adam"] = res["dante_seconds"] / res["adam_seconds"]
    return res


def _epoch_seconds(X: Any, y: np.ndarray, width: int, batch: int, **config: Any) -> dict:
    """One DANTE alternation (T_SNGD = 1) of ``d-width-10``: seconds per block-epoch."""
    cfg = _sweep_config(batch, **config)
    res = Trainer(MLP([X.shape[1], width, 10], seed=0), cfg).fit(X, y)
    return {
        "seconds": res.budget.wall_seconds / 2,  # one epoch per block, two blocks
        "inputs": res.stages[0]["inputs"],
    }


def _fits(pairs: list[tuple[int, float]], steps: list[int]) -> dict[str, float]:
    """Log-log slope, and the affine fit ``t = c0 * steps + c1 * x * steps``
    whose ``c0`` is the fixed cost of a step (seconds).

    The affine fit minimizes *relative* residuals (each row divided by its
    time): an absolute least-squares fit is ruled by the largest sizes and can
    put the intercept above the smallest measured time (a fixed share over
    100%), which no reader can use.
    """
    x = np.array([p[0] for p in pairs], dtype=float)
    t = np.array([p[1] for p in pairs], dtype=float)
    st = np.array(steps, dtype=float)
    slope = float(np.polyfit(np.log(x), np.log(t), 1)[0])
    design = np.stack([st, st * x], 1) / t[:, None]
    coef, *_ = np.linalg.lstsq(design, np.ones_like(t), rcond=None)
    c0 = float(coef[0])
    return {
        "exponent": slope,
        "step_fixed_us": 1e6 * c0,
        "fixed_share_at_smallest": c0 * st[0] / t[0],
    }


def p4_scaling(
    ns: tuple[int, ...] = (1000, 10_000, 100_000, 1_000_000),
    widths: tuple[int, ...] = (64, 256, 1024, 2048),
    batch: int = 100,
    width_n: int = 20_000,
) -> dict[str, Any]:
    """Seconds per DANTE block-epoch against N (784-256-10) and width (N = ``width_n``).

    Besides the log-log exponent it fits ``t = steps * (c0 + c1 * x)``: ``c0``
    is the cost of a step that does not grow with the width (Python, kernel
    launches, the output layer), which is what pulls the width exponent
    below 1 where the hidden layer is narrow.
    """
    by_n = []
    for n in ns:
        X, y = _synthetic(n, 784, 10)
        by_n.append((n, _epoch_seconds(X, y, 256, batch)["seconds"]))
        del X
    X, y = _synthetic(width_n, 784, 10)
    by_w = [(w, _epoch_seconds(X, y, w, batch)["seconds"]) for w in widths]
    return derive_p4({"by_n": by_n, "by_width": by_w, "width_n": width_n, "batch": batch})


def derive_p4(p4: dict[str, Any]) -> dict[str, Any]:
    """Add the fitted exponents and the fixed-cost fit to P4's raw timings.

    A pure function of ``by_n``, ``by_width``, ``width_n`` and ``batch``, so
    ``dante bench --report-only`` can refit stored measurements.
    """
    by_n = [tuple(r) for r in p4["by_n"]]
    by_w = [tuple(r) for r in p4["by_width"]]
    batch = p4["batch"]
    fit_n = _fits(by_n, [math.ceil(n / batch) for n, _ in by_n])
    fit_w = _fits(by_w, [math.ceil(p4["width_n"] / batch)] * len(by_w))
    return {
        **p4,
        "n_exponent": fit_n["exponent"],
        "width_exponent": fit_w["exponent"],
        "width_fit": fit_w,
        # the exponent over the widths where the per-width work dominates
        "width_exponent_wide": _fits(by_w[-2:], [1, 1])["exponent"] if len(by_w) > 1 else None,
    }


_MEMMAP_SCRIPT = """
import json, resource, sys, time
import numpy as np
import dante
from dante.bench import _epoch_seconds
path, width, batch, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
X = np.load(path, mmap_mode="r")
y = np.random.default_rng(0).integers(0, 10, len(X))
config = {} if budget == "default" else {"cache_memory_gb": float(budget)}
t0 = time.perf_counter()
r = _epoch_seconds(X, y, width, batch, **config)
r["total_seconds"] = time.perf_counter() - t0
try:  # VmHWM: this process's own peak (ru_maxrss carries the parent's over fork+exec)
    hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")][0]
    r["peak_rss_bytes"] = int(hwm.split()[1]) * 1024
except (OSError, IndexError):
    r["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(r))
"""


def p4_memmap(
    n: int = 1_000_000,
    d: int = 784,
    width: int = 256,
    batch: int = 100,
    budgets: tuple[str, ...] = ("default", "0.25"),
    directory: str | None = None,
) -> dict[str, Any]:
    """Train one DANTE alternation on an ``n x d`` float32 ``.npy`` memory map.

    The file is written in chunks to a temporary folder; each run is a fresh
    subprocess whose peak RSS (``VmHWM``, which counts the mapped file pages
    it holds; not ``ru_maxrss``, which Linux carries over from the parent
    through fork and exec) is the figure. ``budgets`` are values of
    ``cache_memory_gb``: the default (a quarter of RAM) caches the 1 GB of
    hidden activations, ``0.25`` forces the output block to stream them.
    """
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = os.path.join(tmp, "X.npy")
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
        rng = np.random.default_rng(0)
        for i in range(0, n, 50_000):
            mm[i : i + 50_000] = rng.random((min(50_000, n - i), d), dtype=np.float32)
        mm.flush()
        del mm
        runs = []
        for budget in budgets:
            out = subprocess.run(
                [sys.executable, "-c", _MEMMAP_SCRIPT, path, str(width), str(batch), budget],
                capture_output=True,
                text=True,
                check=True,
            )
            run = json.loads(out.stdout.strip().splitlines()[-1])
            run["cache_memory_gb"] = budget
            runs.append(run)
    return {"n": n, "d": d, "width": width, "data_bytes": n * d * 4, "runs": runs}


def _tree_path(path: str, tree: os.PathLike, label: str) -> str:
    """``path`` relative to the source tree that ran, prefixed by ``label``
    (``"."`` for the working tree, ``"<commit>:"`` for the baseline, git's
    revision-path form); a file outside the tree is marked as such (the run
    imported an installed dante instead), never recorded as an absolute path."""
    from pathlib import Path

    try:
        rel = Path(path).resolve().relative_to(Path(tree).resolve()).as_posix()
    except ValueError:
        return f"outside {label.rstrip(':') or 'the working tree'}: {Path(path).name}"
    return f"{label}/{rel}" if label == "." else f"{label}{rel}"


def profile_before_after(baseline: str | None = "7b57b00", n: int = 10_000) -> dict | None:
    """Run ``benchmarks/profile_step.py`` on this tree and on ``baseline``.

    The baseline is checked out into a temporary ``git worktree`` and run
    with ``PYTHONPATH`` pointing at its ``src``, side by side with the
    working tree. ``None`` outside a source checkout; the baseline is
    skipped (``before`` is ``None``) when git or the commit is unavailable.
    """
    import json
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = root / "benchmarks" / "profile_step.py"
    if not script.is_file():
        return None

    def run(tree: Path, label: str) -> dict:
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        out = subprocess.run(
            [sys.executable, str(script), str(n)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rec = json.loads(out.stdout.strip().splitlines()[-1])
        if "dante_file" in rec:  # which tree ran, without this machine's paths
            rec["dante_file"] = _tree_path(rec["dante_file"], tree, label)
        return rec

    result: dict[str, Any] = {"baseline": baseline, "after": run(root, "."), "before": None}
    if baseline and shutil.which("git") and (root / ".git").exists():
        tmp = tempfile.mkdtemp(prefix="dante-baseline-")
        wt = os.path.join(tmp, "tree")
        try:
            subprocess.run(
                ["git", "-C", str(root), "worktree", "add", "--detach", wt, baseline],
                check=True,
                capture_output=True,
            )
            result["before"] = run(Path(wt), f"{baseline}:")
        except subprocess.CalledProcessError as exc:
            result["error"] = (exc.stderr or b"").decode(errors="replace").strip()[:200]
        finally:
            subprocess.run(
                ["git", "-C", str(root), "worktree", "remove", "--force", wt],
                capture_output=True,
            )
            shutil.rmtree(tmp, ignore_errors=True)
    return result


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


def _p1_lines(p1s: list[dict[str, Any]]) -> tuple[list[str], list[str], list[str]]:
    rows, detail, notes = [], [], []
    for p1 in p1s:
        r = p1["dante_over_sgd"]
        rows.append(
            f"| P1 time to SGD's {p1['epochs']}-epoch accuracy ({p1['target_accuracy']:.4f}), "
            f"{p1['loss']}: DANTE / SGD | {_fmt(r)} (DANTE {_secs(p1['dante_seconds'])}, SGD "
            f"{_secs(p1['sgd_seconds'])}) | <= 0.5 | {_met(r)} |"
        )
        r2 = p1.get("dante_over_adam")
        rows.append(
            f"| P1 same, DANTE / Adam ({p1['loss']}) | {_fmt(r2)} (Adam "
            f"{_secs(p1['adam_seconds'])}) | <= 0.5 | {_met(r2)} |"
        )
        for m in ("sgd", "dante", "adam"):
            if f"{m}_seconds_per_epoch" not in p1:
                continue
            detail.append(
                f"| {p1['loss']} | {m} | {_fmt(p1.get(f'{m}_lr'))} | "
                f"{_secs(p1[f'{m}_seconds'])} | {_fmt(p1.get(f'{m}_epochs_to_target'))} | "
                f"{p1[f'{m}_seconds_per_epoch']:.3g} s | "
                f"{_fmt(p1.get(f'{m}_best_accuracy', p1['target_accuracy']), 4)} |"
            )
        spe = p1.get("dante_seconds_per_epoch"), p1.get("sgd_seconds_per_epoch")
        if None not in spe:
            cost = spe[0] / spe[1]
            if p1["dante_epochs_to_target"] is None:
                notes.append(
                    f"P1 {p1['loss']}: no DANTE rate reached SGD's accuracy within twice SGD's "
                    f"weight updates (best {p1['dante_best_accuracy']:.4f} vs target "
                    f"{p1['target_accuracy']:.4f}); a DANTE pass costs {cost:.2f}x an SGD pass."
                )
            else:
                passes = p1["dante_epochs_to_target"] / p1["sgd_epochs_to_target"]
                notes.append(
                    f"P1 {p1['loss']}: time ratio = passes ratio x cost of a pass: DANTE needed "
                    f"{p1['dante_epochs_to_target']:.1f} passes over the data to SGD's "
                    f"{p1['sgd_epochs_to_target']:.1f} ({passes:.2f}x), and a DANTE pass (one "
                    f"block trained, the other frozen) costs {cost:.2f}x an SGD pass. Reaching "
                    f"0.5 would need DANTE to get there in fewer passes than SGD."
                )
    return rows, detail, notes


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
        + f"; device `{results['device']}`; float32 throughout. Threads are torch's default "
        "(one per physical core), the fastest setting measured for these shapes.",
        "",
        "| figure | measured | goal | met? |",
        "|---|---|---|---|",
    ]
    notes: list[str] = []
    p1_rows, p1_detail, p1_notes = _p1_lines(results.get("p1", []))
    lines += p1_rows
    notes += p1_notes
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
        if p3.get("flop_bound") and p3["flop_bound"] < 3:
            notes.append(
                f"P3: the cache can only remove the frozen prefix's matmuls; for this "
                f"architecture that bounds a sweep's speed-up at {p3['flop_bound']:.2f}x "
                f"(matmul FLOPs with / without the prefix), below the 3x goal at any "
                f"implementation speed. Measured {p3['speedup']:.2f}x = "
                f"{p3['speedup'] / p3['flop_bound']:.0%} of that bound."
            )
    p4 = results.get("p4")
    if p4:
        for key, label in (("n_exponent", "N"), ("width_exponent", "width")):
            e = p4[key]
            lines.append(
                f"| P4 time per epoch ~ {label}^k | k = {e:.2f} | 1.0 ± 0.1 | "
                f"{'yes' if abs(e - 1) <= 0.1 else 'no'} |"
            )
        fw = p4.get("width_fit")
        if fw:
            notes.append(
                f"P4 width: a step has a fixed cost of {fw['step_fixed_us']:.0f} us that does "
                f"not grow with the width (Python, kernel launches, the output layer): "
                f"{_pct(fw['fixed_share_at_smallest'])} of an epoch at width "
                f"{p4['by_width'][0][0]}, which flattens the log-log slope; between the two "
                f"widest nets the exponent is {p4['width_exponent_wide']:.2f}."
            )
    mm = results.get("p4_memmap")
    if mm:
        peak = max(r["peak_rss_bytes"] for r in mm["runs"])
        modes = "; ".join(
            f"cache_memory_gb={r['cache_memory_gb']}: "
            + ", ".join(f"block {k} {v}" for k, v in r["inputs"].items())
            for r in mm["runs"]
        )
        lines.append(
            f"| P4 peak RSS training on a {mm['n']:,} x {mm['d']} float32 memory map "
            f"({mm['data_bytes'] / 2**30:.1f} GiB) | {peak / 2**30:.2f} GiB ({modes}) | "
            f"< 2 GiB | {'yes' if peak < 2 * 2**30 else 'no'} |"
        )
    if p1_detail:
        lines += [
            "",
            "## P1 detail",
            "",
            "Each method's best rate of its grid (SGD by final accuracy, DANTE and Adam by "
            "time to the target).",
            "",
            "| loss | method | lr | time to target | passes to target | s / pass | best acc |",
            "|---|---|---|---|---|---|---|",
            *p1_detail,
        ]
    prof = results.get("profile")
    if prof:
        after = {r["batch"]: r for r in prof["after"]["rows"]}
        before = {r["batch"]: r for r in (prof["before"] or {"rows": []})["rows"]}
        lines += [
            "",
            "## Step profile, before / after",
            "",
            f"`benchmarks/profile_step.py` on this tree and on commit `{prof['baseline']}` "
            "(before the speed work), side by side: a DANTE alternation of 784-100-10 "
            "(T_SNGD = 1), microseconds per SNGD step, against the same sweep written as the "
            "shortest plain PyTorch loop.",
            "",
            "| batch | before (us) | after (us) | minimal loop (us) | after / minimal |",
            "|---|---|---|---|---|",
        ]
        for b, r in after.items():
            old = before.get(b, {}).get("trainer_us")
            lines.append(
                f"| {b} | {_fmt(old, 4)} | {r['trainer_us']:.4g} | {r['minimal_us']:.4g} | "
                f"{r['overhead']:.2f} |"
            )
        big = after[max(after)]
        cats = sorted(big["categories"].items(), key=lambda kv: -kv[1])
        share = ", ".join(f"{k} {_pct(v)}" for k, v in cats)
        lines += [
            "",
            f"Where the wall time of a step goes at batch {max(after)} (torch.profiler self "
            f"CPU time by op category): {share}; Python and untraced "
            f"{_pct(big['python_and_untraced'])}.",
        ]
        notes.append(
            f"P2: at batch {max(after)} the layer matmuls are "
            f"{_pct(big['categories'].get('matmul', 0.0))} of a DANTE step's wall time; the "
            f"rest (Python and untraced {_pct(big['python_and_untraced'])}, indexing "
            f"{_pct(big['categories'].get('indexing', 0.0))}, activation, loss, norm and step) "
            f"is what keeps the sustained rate below the matmul rate at these small shapes."
        )
    if p4:
        lines += ["", "## P4 scaling", "", "| N | s / block-epoch |", "|---|---|"]
        lines += [f"| {n:,} | {t:.3g} |" for n, t in p4["by_n"]]
        lines += [
            "",
            f"| width (N = {p4.get('width_n', '?'):,}) | s / block-epoch |",
            "|---|---|",
        ]
        lines += [f"| {w} | {t:.3g} |" for w, t in p4["by_width"]]
    if mm:
        lines += [
            "",
            "| memory map run | block inputs | s / block-epoch | peak RSS |",
            "|---|---|---|---|",
        ]
        for r in mm["runs"]:
            inputs = ", ".join(f"{k}: {v}" for k, v in r["inputs"].items())
            lines.append(
                f"| cache_memory_gb={r['cache_memory_gb']} | {inputs} | {r['seconds']:.3g} | "
                f"{r['peak_rss_bytes'] / 2**30:.2f} GiB |"
            )
        if mm.get("note"):  # a caveat stored with these measurements (and gone with them)
            notes.append(f"P4 memory map: {mm['note']}")
    lines += ["", "## Notes", ""]
    lines += [f"- {n}" for n in notes + results.get("notes", [])]
    atomic_write_text(path, "\n".join(lines) + "\n")
