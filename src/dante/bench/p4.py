"""P4 of ``dante bench``: seconds per block-epoch against N and width, and
peak memory training on a memory-mapped data set larger than the cache budget."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ..models import MLP
from ..trainer import Trainer
from .common import _sweep_config, _synthetic

__all__ = ["derive_p4", "p4_memmap", "p4_scaling"]


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
        # goal P4 (issue 14): the log-log slope from width 256 up
        "width_exponent_from_256": (
            _fits(wide, [1] * len(wide))["exponent"]
            if len(wide := [r for r in by_w if r[0] >= 256]) > 1
            else None
        ),
    }


_MEMMAP_SCRIPT = """
import json, resource, sys, time
import numpy as np
import dante
from dante.bench.p4 import _epoch_seconds
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
