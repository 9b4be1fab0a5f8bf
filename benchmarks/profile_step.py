"""Profile one DANTE inner-loop step of the trainer against a minimal hand loop.

Run as a script (``python benchmarks/profile_step.py``) it prints one JSON
object. It uses only API that every version of dante has had (``Trainer``,
``make_config``, ``MLP``), so ``dante bench`` runs it twice side by side: on
the working tree and on an earlier commit checked out in a temporary git
worktree (``PYTHONPATH=<worktree>/src``); the difference is the "before /
after" table of ``docs/PERFORMANCE.md``.

What it measures, for the output block of 784-100-10 (inputs cached) at
minibatch sizes 100 and 500 on seeded synthetic data:

* ``trainer_us``: the trainer's wall time per SNGD step (one block-epoch,
  evaluation excluded: ``budget.wall_seconds / budget.steps``);
* ``minimal_us``: the same step written as the shortest plain PyTorch loop
  (gather, forward, loss, autograd, norm, in-place step), the floor the
  trainer's per-step overhead is measured against;
* ``categories``: torch.profiler self-CPU time of the trainer run grouped
  into matmul, elementwise/activation, loss, norm and step, indexing and
  other, as fractions.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

CATEGORIES = {
    "matmul": ("mm", "addmm", "matmul", "linear", "bmm", "baddbmm"),
    "activation": ("leaky_relu", "relu", "sigmoid", "tanh", "threshold", "where"),
    "loss": ("mse", "softmax", "nll", "cross_entropy", "log_softmax"),
    "norm_and_step": ("norm", "foreach", "add_", "mul_", "clamp", "reciprocal", "div"),
    "indexing": ("index", "gather", "slice", "select", "copy_", "randperm", "cat", "stack"),
}


def _category(name: str) -> str:
    op = name.split("::")[-1].lower()
    for cat, keys in CATEGORIES.items():
        if any(k in op for k in keys):
            return cat
    return "other"


def _data(n: int, d: int = 784, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, d), dtype=np.float32), rng.integers(0, k, n)


def trainer_step_us(batch: int, n: int, profile: bool = False) -> dict:
    """Per-step wall time of a DANTE alternation (both blocks, T_SNGD = 1)."""
    from dante.config import make_config
    from dante.models import MLP
    from dante.trainer import Trainer

    X, y = _data(n)
    cfg = make_config(
        method="dante",
        lr=0.01,
        batch_size=batch,
        t_sngd=1,
        max_alternations=1,
        eval_every="round",
        tol=0.0,
    )
    Trainer(MLP([784, 100, 10], seed=0), cfg).fit(X, y)  # warm-up
    best = float("inf")
    for _ in range(3):
        res = Trainer(MLP([784, 100, 10], seed=0), cfg).fit(X, y)
        best = min(best, res.budget.wall_seconds / res.budget.steps)
    out = {"trainer_us": 1e6 * best}
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as prof

        with prof(activities=[ProfilerActivity.CPU]) as p:
            t0 = time.perf_counter()
            Trainer(MLP([784, 100, 10], seed=0), cfg).fit(X, y)
            wall = time.perf_counter() - t0
        totals: dict[str, float] = {}
        for ev in p.key_averages():
            totals[_category(ev.key)] = totals.get(_category(ev.key), 0.0) + ev.self_cpu_time_total
        op_time = sum(totals.values()) / 1e6
        out["categories"] = {k: v / 1e6 / wall for k, v in sorted(totals.items())}
        out["python_and_untraced"] = max(0.0, 1.0 - op_time / wall)
    return out


def minimal_step_us(batch: int, n: int) -> float:
    """The same two-block DANTE sweep as the shortest plain PyTorch loop."""
    X, y = _data(n)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    torch.manual_seed(0)
    W1 = torch.randn(100, 784) * 0.03
    W2 = torch.randn(10, 100) * 0.1
    Y1 = torch.nn.functional.one_hot(yt, 10).float()
    lr = 0.01

    def sweep() -> int:
        steps = 0
        for block in (1, 0):  # output block first, inputs of block 1 cached
            w = (W2 if block else W1).requires_grad_(True)
            H = torch.nn.functional.leaky_relu(Xt @ W1.T, 0.01).detach() if block else Xt
            perm = torch.randperm(n)
            for s in range(0, n, batch):
                idx = perm[s : s + batch]
                h = H.index_select(0, idx)
                if block:
                    out = torch.nn.functional.leaky_relu(h @ w.T, 0.01)
                else:
                    out = torch.nn.functional.leaky_relu(
                        torch.nn.functional.leaky_relu(h @ w.T, 0.01) @ W2.T, 0.01
                    )
                loss = torch.nn.functional.mse_loss(out, Y1.index_select(0, idx))
                (g,) = torch.autograd.grad(loss, (w,))
                with torch.no_grad():
                    w.sub_(g, alpha=lr / float(torch.clamp(g.norm(), min=1e-12)))
                steps += 1
            w.requires_grad_(False)
        return steps

    sweep()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        steps = sweep()
        best = min(best, (time.perf_counter() - t0) / steps)
    return 1e6 * best


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 10000
    import dante

    rows = []
    for batch in (100, 500):
        row = {"batch": batch, **trainer_step_us(batch, n, profile=True)}
        row["minimal_us"] = minimal_step_us(batch, n)
        row["overhead"] = row["trainer_us"] / row["minimal_us"]
        rows.append(row)
    print(
        json.dumps(
            {"dante_file": dante.__file__, "threads": torch.get_num_threads(), "n": n, "rows": rows}
        )
    )


if __name__ == "__main__":
    main(sys.argv)
