"""Command line: the ``dante`` command, its parser and its entry point.

One module per sub-command: ``dante train`` (:mod:`dante.cli_train`, its
flags in :mod:`dante.cli_train_parser`, their checks in
:mod:`dante.cli_checks`), ``dante reproduce`` (:mod:`dante.cli_reproduce`),
``dante bench`` (:mod:`dante.cli_bench`) and ``dante data``
(:mod:`dante.cli_checks`).

Errors in the arguments or the data end the program with one line on stderr
and exit status 2, before any training; a run whose training loss becomes
NaN/Inf ends with one such line and status 1 (:func:`main`).
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from .cli_bench import add_bench_parser
from .cli_checks import add_data_parser
from .cli_reproduce import add_reproduce_parser
from .cli_train_parser import add_train_parser

__all__ = ["main"]


class _UsageError(ValueError):
    """A command-line usage error, reported like every other bad argument."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one ``dante: error:`` line (exit status 2)
    instead of the usage block; sub-command parsers inherit this class."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The ``dante`` parser with every sub-command."""
    parser = _Parser(
        prog="dante",
        description="DANTE: train neural networks by alternating minimization with SNGD",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    add_reproduce_parser(sub)
    add_bench_parser(sub)
    add_data_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dante`` command."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"dante: error: {msg}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:  # training diverged (NonFiniteLossError)
        print(f"dante: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a full disk while writing a checkpoint (ENOSPC)
        print(f"dante: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dante: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
