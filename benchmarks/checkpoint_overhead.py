"""Time per checkpoint write against time per training step (docs/CHECKPOINTS.md).

Run as a script (``python benchmarks/checkpoint_overhead.py [out.json]``) it
trains MNIST-sized nets (784 inputs, 10 outputs, N = 10,000 seeded synthetic
rows: a checkpoint's size and cost do not depend on the data's values) with a
checkpoint every 20 steps, and reports per (net, method):

* ``write_ms``: median wall time of one checkpoint write as the trainer does
  it (finite check, ``torch.save`` of the state, temp file, fsync, rename,
  folder fsync), from ``Trainer.checkpoint_seconds``;
* ``serialize_ms``: of that, the median time of ``torch.save`` into memory
  (the rest is the file write and the two fsync calls);
* ``bytes``: the checkpoint's size on disk;
* ``step_ms``: training time per solver step (``Budget.wall_seconds / steps``,
  which excludes checkpoint writes and evaluation);
* ``overhead_at_k``: ``write_ms / (K * step_ms)`` for K = 100 and 1000, the
  fraction of training time spent checkpointing every K steps.

One torch thread, so the step times are reproducible on a shared machine.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

import dante
from dante.checkpoint import trainer_state

NETS = {
    "784-100-10": [784, 100, 10],
    "784-600-400-200-100-50-10": [784, 600, 400, 200, 100, 50, 10],
}
METHODS = ("dante", "adam")  # SNGD keeps no state; Adam keeps two moments per weight


def measure(sizes: list[int], method: str, n: int = 10_000, every: int = 20) -> dict:
    rng = np.random.default_rng(0)
    X = rng.random((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], n)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "run.pt")
        trainer = dante.Trainer(
            dante.MLP(sizes, seed=0),
            method=method,
            lr=0.01 if method == "dante" else 0.001,
            batch_size=100,
            t_sngd=1,
            max_alternations=1,
            eval_every="round",
            checkpoint=path,
            checkpoint_every=every,
        )
        res = trainer.fit(X, y)
        size = os.path.getsize(path)
    serialize = []
    for _ in range(5):
        t0 = time.perf_counter()
        torch.save(trainer_state(trainer, True), io.BytesIO())
        serialize.append(time.perf_counter() - t0)
    writes = trainer.checkpoint_seconds[:-1]  # periodic writes (the last is the final one)
    write_ms = 1e3 * statistics.median(writes)
    step_ms = 1e3 * res.budget.wall_seconds / res.budget.steps
    return {
        "writes": len(writes),
        "write_ms": round(write_ms, 2),
        "serialize_ms": round(1e3 * statistics.median(serialize), 2),
        "bytes": size,
        "step_ms": round(step_ms, 3),
        "overhead_at_k": {k: round(write_ms / (k * step_ms), 4) for k in (100, 1000)},
    }


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)  # on a shared 2-core VM two threads made steps erratic
    measure([784, 8, 10], "adam", n=4000)  # warm-up: torch.optim's first import costs seconds
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "results": {
            f"{name} {method}": measure(sizes, method)
            for name, sizes in NETS.items()
            for method in METHODS
        },
    }
    text = json.dumps(out, indent=1)
    print(text)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
