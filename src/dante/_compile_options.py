"""Checks of ``TrainConfig.compile_options`` (the keyword arguments of :func:`torch.compile`).

Kept apart from :mod:`dante.config` (which calls them) and
:mod:`dante.compiled_step` (which uses the options), so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["COMPILE_OPTION_KEYS", "check_compile_options"]

#: The keyword arguments of :func:`torch.compile` that ``compile_options`` may set.
COMPILE_OPTION_KEYS = frozenset({"mode", "backend", "options", "fullgraph", "dynamic"})

_TYPES = (
    ("mode", lambda v: v is None or isinstance(v, str), "a string or None"),
    ("backend", lambda v: isinstance(v, str) or callable(v), "a string or callable"),
    ("options", lambda v: v is None or isinstance(v, dict), "a dict or None"),
    ("fullgraph", lambda v: isinstance(v, bool), "True or False"),
    ("dynamic", lambda v: v is None or isinstance(v, bool), "True, False or None"),
)


def _identity(x: Any) -> Any:
    """What the options are tried on (torch.compile compiles nothing until called)."""
    return x


def check_compile_options(opts: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming ``compile_options`` for a value torch.compile refuses.

    The keys are known (the caller checks them); each value's type is checked
    here, then :func:`torch.compile` itself checks mode, backend and options
    (it validates them when called, and compiles nothing until the function runs).
    """
    for key, ok, what in _TYPES:
        if key in opts and not ok(opts[key]):
            raise ValueError(f"compile_options[{key!r}] must be {what}, got {opts[key]!r}")
    import torch

    try:
        torch.compile(_identity, **opts)
    except Exception as exc:
        raise ValueError(f"compile_options {dict(opts)!r}: {exc}") from exc
