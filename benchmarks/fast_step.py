"""Step time of DANTE's autograd-free one-layer block step against autograd.

Run as ``nice -n 10 python benchmarks/fast_step.py``; prints one JSON object.
Not a test: the numbers depend on the machine and its load, so fast and
autograd are measured side by side in one process, interleaved, best of
``--repeats``.

* ``step_us``: the trainer's wall time per SNGD step (``budget.wall_seconds /
  budget.steps``, evaluation excluded) for one DANTE alternation of
  784-100-10 (both blocks, one epoch each), at minibatch 100 and 500;
* ``block_epoch_s``: one DANTE sweep of 784-600-400-200-100-50-10 (every
  block one epoch, inputs cached), seconds per block-epoch.

The fast path is :mod:`dante.fast_step` (the GLM gradient of a layer, Sec. 3
of ``001_1787bf99fca4a9f2.txt``, then Algorithm 1's SNGD step);
``TrainConfig.fast_path=False`` is the autograd path.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch


def _data(n: int, d: int = 784, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, d), dtype=np.float32), rng.integers(0, k, n)


def _run(sizes, X, y, fast: bool, **kw) -> tuple[float, int, float]:
    from dante import MLP, Trainer

    cfg = dict(method="dante", lr=0.01, t_sngd=1, max_alternations=1, eval_every="round",
               tol=0.0, fast_path=fast, **kw)  # fmt: skip
    res = Trainer(MLP(list(sizes), seed=0), **cfg).fit(X, y)
    flags = {v for s in res.stages for v in s["fast_path"].values()}
    assert flags == {fast}, flags
    blocks = sum(len(s["fast_path"]) for s in res.stages)
    return res.budget.wall_seconds, res.budget.steps, res.budget.wall_seconds / blocks


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="training rows")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X, y = _data(args.n)
    out: dict = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "n": args.n,
        "repeats": args.repeats,
        "step_us": {},
        "block_epoch_s": {},
    }
    small = (784, 100, 10)
    deep = (784, 600, 400, 200, 100, 50, 10)
    for batch in (100, 500):
        _run(small, X, y, True, batch_size=batch)  # warm-up, both paths
        _run(small, X, y, False, batch_size=batch)
        best = {True: float("inf"), False: float("inf")}
        for _ in range(args.repeats):
            for fast in (True, False):  # interleaved: a load change hits both
                wall, steps, _ = _run(small, X, y, fast, batch_size=batch)
                best[fast] = min(best[fast], 1e6 * wall / steps)
        out["step_us"][f"784-100-10 b{batch}"] = {
            "fast": round(best[True], 1),
            "autograd": round(best[False], 1),
            "autograd/fast": round(best[False] / best[True], 3),
        }
    best = {True: float("inf"), False: float("inf")}
    for _ in range(args.repeats):
        for fast in (True, False):
            _, _, per_block = _run(deep, X, y, fast, batch_size=100)
            best[fast] = min(best[fast], per_block)
    out["block_epoch_s"]["784-600-400-200-100-50-10 b100"] = {
        "fast": round(best[True], 4),
        "autograd": round(best[False], 4),
        "autograd/fast": round(best[False] / best[True], 3),
    }
    json.dump(out, sys.stdout, indent=1)
    print()
    return out


if __name__ == "__main__":
    main()
