"""Checks of ``dante train``'s flags and data that keep cli.py short, and the
``dante data`` command.

Each check raises ``ValueError`` naming the flag (the CLI prints it as one
``dante: error:`` line, exit status 2) before any training; what is adjusted
rather than refused (a default batch larger than a small training set) is
said in a ``dante: warning:`` line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_BATCH",
    "DIVERGENCE_FACTOR",
    "add_data_parser",
    "check_data",
    "check_methods",
    "divergence",
    "flag_divergence",
    "int_list",
    "load_dataset",
    "lr_flag_named",
]

#: the dante-family methods, whose step length is ``--lr`` (the others: ``--baseline-lr``)
DANTE_FAMILY = ("dante", "dante_momentum", "sgd_altmin")

#: a run diverged when its final training loss exceeds this multiple of the initial one
DIVERGENCE_FACTOR = 1e3


class DefaultBatch(int):
    """``--batch-size``'s default, told apart from the same value typed by the user."""


#: ``--batch-size`` when not given: clipped, with a warning, to a smaller training set
DEFAULT_BATCH = DefaultBatch(32)


def warn(message: str) -> None:
    print(f"dante: warning: {message}", file=sys.stderr, flush=True)


def int_list(text: str) -> list[int]:
    """``--hidden``: comma-separated positive ints; an empty entry is an error."""
    parts = [t.strip() for t in text.split(",")]
    if any(not t for t in parts):
        raise argparse.ArgumentTypeError(
            f"empty entry in {text!r}; give comma-separated sizes such as 100,50"
        )
    try:
        vals = [int(t) for t in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from None
    if any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return vals


def check_methods(methods: list[str]) -> None:
    """``--methods`` names each method once: a second run of the same method
    would replace the first's results (and its budget-matched rerun would
    replace the real row)."""
    seen: set[str] = set()
    for m in methods:
        if m in seen:
            raise ValueError(f"--methods names {m!r} more than once; list each method once")
        seen.add(m)


def load_dataset(args: argparse.Namespace):
    """The dataset of ``--dataset``, with ``--target`` and ``--task`` checked
    against it (a registered set has its own target and task)."""
    from . import data
    from .data.catalog import registered_task

    task = args.task
    known = registered_task(args.dataset)
    if known is not None:
        if args.target is not None:
            raise ValueError(
                f"--target applies to a CSV/NumPy file; the registered dataset "
                f"{args.dataset!r} has its own target, so drop --target"
            )
        if task in ("classification", "regression") and task != known:
            raise ValueError(
                f"--task {task} contradicts --dataset {args.dataset}, a {known} dataset; "
                f"drop --task (or use --task {known}, or reconstruction for an autoencoder)"
            )
        return data.load(args.dataset, seed=args.seed)
    path = Path(args.dataset)
    if path.suffix or path.exists():
        if task == "reconstruction":  # an autoencoder uses every column
            if args.target is not None:
                raise ValueError(
                    "--task reconstruction trains an autoencoder on every column, so "
                    f"--target {args.target} would become a feature; drop --target "
                    "(or drop the column from the file)"
                )
            return data.load_file(path, target=None, seed=args.seed)
        target: int | str = -1 if args.target is None else args.target
        with contextlib.suppress(ValueError):
            target = int(target)
        auto = None if task == "auto" else task
        return data.load_file(path, target=target, task=auto, seed=args.seed)
    raise ValueError(
        f"--dataset {args.dataset!r} is neither a registered dataset "
        f"({', '.join(data.available())}) nor a file"
    )


def check_data(args: argparse.Namespace, ds: Any, methods: list[str], is_main: bool) -> None:
    """Checks of the loaded data against the flags, before the model is built:
    at least 2 classes, the default batch clipped to a small training set (with
    a warning), and the memory the run will need."""
    import numpy as np

    reconstruction = args.task == "reconstruction"
    classification = ds.task == "classification" and not reconstruction
    n_train = len(ds.X_train)
    if classification and len(np.unique(ds.y_train)) < 2:
        raise ValueError(
            f"--dataset {args.dataset}: the training labels hold a single class; "
            "classification needs at least 2 classes (check --target, or pass --task regression)"
        )
    if not isinstance(args.batch_size, DefaultBatch) and args.batch_size > n_train:
        raise ValueError(
            f"batch_size={args.batch_size} (--batch-size) is larger than the training set "
            f"({n_train} samples); choose --batch-size <= {n_train}, or leave it out to clip "
            "the default"
        )
    if isinstance(args.batch_size, DefaultBatch) and args.batch_size > n_train:
        from .distributed import world_size_from_env

        world = world_size_from_env()
        clipped = max(n_train - n_train % world, 1)
        if is_main:
            warn(
                f"the default --batch-size {int(args.batch_size)} is larger than the "
                f"{n_train} training rows; clipped to {clipped} (pass --batch-size to choose)"
            )
        args.batch_size = clipped
    args.batch_size = int(args.batch_size)  # the default's marker type ends here
    _check_memory(args, ds, methods, reconstruction, classification)


def _check_memory(args, ds, methods, reconstruction: bool, classification: bool) -> None:
    """The run holds the template net, up to two trained copies, gradients, the
    weights saved at a phase's start and optimizer state, plus a batch's activations."""
    from .config import METHODS
    from .validation import check_memory, optimizer_copies, training_bytes

    d = ds.X_train.shape[1]
    if reconstruction:
        sizes = [d, *args.hidden, *args.hidden[-2::-1], d]
    elif classification:
        sizes = [d, *args.hidden, ds.n_classes]
    else:
        sizes = [d, *args.hidden, 1 if ds.y_train.ndim == 1 else ds.y_train.shape[1]]
    states = 0
    for m in methods:
        momentum = args.momentum if args.momentum is not None else METHODS[m][2]
        states = max(states, optimizer_copies(METHODS[m][1], momentum))
    need = training_bytes(sizes, int(args.batch_size), 5 + states)
    hidden = ",".join(map(str, args.hidden))
    check_memory(
        need,
        f"--hidden {hidden}: training the {sizes} net",
        "use smaller --hidden layers (or a smaller --batch-size)",
    )


@contextlib.contextmanager
def lr_flag_named(method: str) -> Iterator[None]:
    """A bad ``lr`` of ``method`` is reported as the flag that set it."""
    try:
        yield
    except ValueError as exc:
        msg = str(exc)
        if not msg.startswith("invalid lr="):
            raise
        flag = "--lr" if method in DANTE_FAMILY else "--baseline-lr"
        rest = msg.removeprefix("invalid lr=")
        raise ValueError(f"invalid {flag}={rest} (the lr of method {method!r})") from None


def divergence(result: dict[str, Any]) -> str | None:
    """Why a finished run counts as diverged, or None.

    Rule: a run diverged when its final training loss is NaN/Inf, or is more
    than :data:`DIVERGENCE_FACTOR` (1000) times the training loss of the
    untrained net (the first record of its curve); with an initial loss of 0
    any positive final loss counts.
    """
    final = result.get("train_loss")
    curves = result.get("curves") or [{}]
    initial = curves[0].get("train_loss")
    if final is None or initial is None:
        return None
    if not math.isfinite(final):
        return f"final train loss is {final}"
    if final > DIVERGENCE_FACTOR * initial and final > 0:
        return (
            f"final train loss {final:.3g} is more than {DIVERGENCE_FACTOR:g} x the initial "
            f"{initial:.3g}"
        )
    return None


def flag_divergence(result: dict[str, Any], method: str, is_main: bool) -> None:
    """Record ``diverged`` (and its ``divergence`` reason) in a method's results;
    a diverged one is also reported on stderr."""
    reason = divergence(result)
    result["diverged"] = reason is not None
    if reason is not None:
        result["divergence"] = reason
        if is_main:
            flag = "--lr" if method in DANTE_FAMILY else "--baseline-lr"
            warn(f"{method} diverged: {reason}; lower {flag}")


# ------------------------------------------------------------ dante data
def add_data_parser(sub: Any) -> None:
    p = sub.add_parser(
        "data",
        help="list the registered datasets",
        description="List each registered dataset with its task, size, source and whether "
        "it is installed here. A CSV/NumPy/LIBSVM file path works as --dataset too.",
    )
    p.add_argument("--list", action="store_true", help="list the datasets (the default)")
    p.set_defaults(func=_cmd_data)


def _cmd_data(args: argparse.Namespace) -> int:
    from .data.catalog import format_catalog

    print(format_catalog())
    return 0


def check_device_flag(device: str) -> None:
    """``--device`` must name a torch device that is present; checked before
    any work (``dante reproduce`` and ``dante bench`` would otherwise fail
    at their first run, after minutes of others)."""
    from .config import make_config

    try:
        make_config(device=device)
    except ValueError as exc:
        raise ValueError(str(exc).replace("invalid device=", "invalid --device=", 1)) from None
