"""The flags of ``dante train``: its sub-command parser.

What the flags mean and which values they take; what the command does with
them is :mod:`dante.cli_train`, and the checks of their values against each
other and the data are :mod:`dante.cli_checks`.
"""

from __future__ import annotations

import argparse
from typing import Any

from .cli_checks import DEFAULT_BATCH, int_list
from .cli_train import _cmd_train_in_folder

__all__ = ["add_train_parser"]

#: ``dante train --help``'s description (verbatim the former docstring of :mod:`dante.cli`)
_DESCRIPTION = """Command line: ``dante train`` (and the entry points added by later modules).

``dante train`` with no arguments trains, on scikit-learn's bundled digits
(embedded, no download), a 64-100-10 leaky-ReLU net with DANTE and the same
net (same initial weights) with backprop SGD, side by side. DANTE runs first
under its own stopping rule; every other method then gets exactly the same
budget of weights updated (the papers' x-axis), so the comparison is on equal
work. Results: a printed table, ``metrics.json`` and PNG curves in ``--out``.

Errors in the arguments or the data end the program with one line on stderr
and exit status 2, before any training; a run whose training loss becomes
NaN/Inf ends with one such line and status 1. A run that finishes with a final
training loss over 1000 times its initial one is flagged ``"diverged": true``
in metrics.json and on stderr (the rule: ``dante.cli_checks.divergence``).
"""

_int_list = int_list  # --hidden: comma-separated positive ints, none empty


def add_train_parser(sub: Any) -> None:
    """Add ``dante train`` to ``sub``, the ``dante`` parser's sub-parsers."""
    p = sub.add_parser(
        "train",
        help="train DANTE and backprop baselines side by side",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--dataset",
        default="digits",
        help="registered dataset name (see `dante data --list`) or a CSV/NumPy/LIBSVM "
        "file path (default: digits)",
    )
    p.add_argument(
        "--target",
        default=None,
        help="target column of a CSV/NumPy file (index or name; default: last)",
    )
    p.add_argument(
        "--task",
        default="auto",
        choices=["auto", "classification", "regression", "reconstruction"],
        help="'reconstruction' trains an autoencoder on X",
    )
    p.add_argument(
        "--hidden",
        type=_int_list,
        default=[100],
        help="hidden layer sizes, comma-separated (default: 100); for an autoencoder "
        "the encoder sizes after the input",
    )
    p.add_argument(
        "--activation",
        default="leaky_relu",
        help="hidden activation: leaky_relu, relu, generalized_relu, sigmoid, tanh",
    )
    p.add_argument("--a", type=float, default=None, help="generalized ReLU slope for x <= 0")
    p.add_argument("--b", type=float, default=None, help="generalized ReLU slope for x > 0")
    p.add_argument("--output-activation", default="identity")
    p.add_argument("--loss", default="mse", choices=["mse", "cross_entropy", "ce"])
    p.add_argument(
        "--methods",
        default="dante,sgd",
        help="comma-separated methods: dante, dante_momentum, sgd_altmin, sgd, "
        "momentum, adam, adagrad, rmsprop (default: dante,sgd)",
    )
    p.add_argument("--lr", type=float, default=0.01, help="DANTE's SNGD step length")
    p.add_argument("--baseline-lr", type=float, default=0.1, help="learning rate of baselines")
    p.add_argument("--momentum", type=float, default=None)
    p.add_argument(
        "--batch-size",
        "--minibatch",
        dest="batch_size",
        type=int,
        default=DEFAULT_BATCH,
        help="minibatch size (default: 32, clipped with a warning to a smaller training set)",
    )
    p.add_argument(
        "--lr-schedule",
        default="constant",
        help="step-size control per alternation (per epoch for the baselines): constant "
        "(the paper), step, exponential, cosine, plateau, theory, or a "
        "torch.optim.lr_scheduler class name (docs/SOLVERS.md); every method",
    )
    p.add_argument(
        "--lr-schedule-options",
        type=_json_object("--lr-schedule-options"),
        default={},
        help="the schedule's options as JSON, e.g. '{\"gamma\": 0.5}'",
    )
    p.add_argument(
        "--output-solver",
        default=None,
        choices=["ridge", "lbfgs"],
        help="solve DANTE's output layer on its cached features outright: ridge (closed "
        "form; identity output, mse) or lbfgs (default: SNGD like every block, the paper)",
    )
    p.add_argument(
        "--compile-step",
        action="store_true",
        help="capture DANTE's one-layer SNGD step with torch.compile (CUDA graphs on a "
        "GPU; docs/SOLVERS.md); off by default",
    )
    p.add_argument(
        "--solver-state",
        default="carry",
        choices=["carry", "reset"],
        help="what a block's optimizer keeps between its phases: carry (momentum/Adam "
        "buffers go on, the default) or reset (every phase starts afresh)",
    )
    p.add_argument("--t-sngd", type=int, default=5, help="solver epochs per block (paper: 5)")
    p.add_argument("--t-am", type=int, default=2, help="minimum alternations")
    p.add_argument("--tol", type=float, default=1e-4, help="stop when |f_t - f_{t-1}| < tol")
    p.add_argument("--max-alternations", type=int, default=10)
    p.add_argument("--schedule", default=None, help="override: round_robin, greedy_pairs, backprop")
    p.add_argument("--order", default="output_first", choices=["output_first", "input_first"])
    p.add_argument("--reading", default="stacked", choices=["stacked", "end_to_end"])
    p.add_argument("--finetune-epochs", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--out", default=None, help="output folder (default: runs/<timestamp>, -2, ... if taken)"
    )
    p.add_argument("--no-plot", action="store_true", help="skip the PNG curves")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="K",
        help="write <out>/checkpoints/<method>.pt every K minibatch steps and when the method "
        "finishes (atomic; see docs/CHECKPOINTS.md)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its checkpoints (needs --checkpoint-every; a "
        "finished method is not trained again); the result is bit-identical to an "
        "uninterrupted run; an error when --out holds no checkpoint",
    )
    p.add_argument(
        "--resume-if-present",
        action="store_true",
        help="like --resume when --out holds a checkpoint of these methods, a fresh start "
        "when it holds none (for job scripts that rerun the same command)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start again in an --out that holds an earlier run: its metrics.json is "
        "replaced and its checkpoints of these methods are deleted (without this, or "
        "--resume, such an --out is refused)",
    )
    p.add_argument(
        "--tensorboard",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="also log metrics for TensorBoard to DIR (default <out>/tensorboard), one "
        "sub-folder per method; needs pip install 'dante-nn[tensorboard]'",
    )
    p.set_defaults(func=_cmd_train_in_folder)


def _json_object(flag: str):
    """argparse type: a JSON object, or an error naming ``flag``."""

    def parse(text: str) -> dict[str, Any]:
        import json

        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"{flag} must be a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise argparse.ArgumentTypeError(f"{flag} must be a JSON object, got {text!r}")
        return value

    return parse
