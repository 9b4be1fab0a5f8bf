"""Training seconds per epoch, one process against N data-parallel processes.

One process (``torch.get_num_threads()`` threads)::

    python benchmarks/distributed_epochs.py --data digits

N processes (``torchrun`` gives each one thread unless ``OMP_NUM_THREADS`` is set)::

    torchrun --nproc_per_node=2 benchmarks/distributed_epochs.py --data digits

``--batch-size`` is the global minibatch in both, so both runs take the same
steps (docs/DISTRIBUTED.md). Seconds per epoch are ``Budget.wall_seconds``
(training only, evaluation excluded) over the epochs run; rank 0 prints one
JSON line.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import dante
from dante.data import load
from dante.distributed import init_from_env


def _data(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    if name == "digits":
        ds = load("digits")
        return ds.X_train, ds.y_train, [64, 100, 10]
    # MNIST-shaped: 10,000 rows of 784 features in [0, 1], 10 classes
    rng = np.random.default_rng(seed)
    X = rng.random((10_000, 784), dtype=np.float32)
    y = (X[:, :10].argmax(axis=1)).astype(np.int64)
    return X, y, [784, 100, 10]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", choices=["digits", "mnist_shaped"], default="digits")
    p.add_argument("--method", default="dante")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--t-sngd", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    world, device = init_from_env("cpu")
    X, y, sizes = _data(args.data, 0)
    per_epoch = []
    for _ in range(args.repeats):
        net = dante.MLP(sizes, seed=0)
        res = dante.fit(
            net, X, y, method=args.method, lr=0.01 if args.method == "dante" else 0.1,
            batch_size=args.batch_size, t_sngd=args.t_sngd, max_alternations=1,
            eval_every="round", world=world,
        )  # fmt: skip
        epochs = res.history[-1]["epoch"] or 1
        per_epoch.append(res.budget.wall_seconds / epochs)
    if world.is_main:
        print(
            json.dumps(
                {
                    "data": args.data,
                    "sizes": sizes,
                    "method": args.method,
                    "batch_size": args.batch_size,
                    "processes": world.size,
                    "threads_per_process": torch.get_num_threads(),
                    "epochs": epochs,
                    "steps": res.budget.steps,
                    "seconds_per_epoch": per_epoch,
                    "train_loss": res.final["train_loss"],
                }
            )
        )


if __name__ == "__main__":
    main()
