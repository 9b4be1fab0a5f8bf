"""A new, empty run folder under a name that may be taken: ``name``, ``name-2``, ...

The default output folder of ``dante train``, ``runs/<timestamp>``, is made
here, so that two runs started within the same second get their own folders;
:class:`dante.run_folder.RunFolder` then checks and locks it. Import
:func:`new_folder` from :mod:`dante.run_folder`.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

__all__ = ["new_folder"]


def new_folder(parent: str | os.PathLike, name: str) -> tuple[Path, list[Path]]:
    """Make a new, empty folder ``parent/name``, or ``name-2``, ``name-3``, ... if taken.

    Each candidate is created with ``mkdir`` (which fails on an existing
    entry), so two runs that ask for the same name at the same time, e.g. the
    default ``runs/<timestamp>`` of two ``dante train`` started within one
    second, get different folders instead of one refusing the other's lock.
    Where ``parent`` cannot be created or written, nothing is made and
    ``parent/name`` is returned for :meth:`RunFolder.check` to report why.

    Parameters
    ----------
    parent : str or path
        The folder to create it in (made if missing).
    name : str
        The preferred name.

    Returns
    -------
    path : Path
        The folder.
    made : list of Path
        The folders created, innermost first (``path`` and any missing
        parents), for :class:`RunFolder`'s ``made``.
    """
    parent = Path(parent)
    made = [p for p in (parent, *parent.parents) if not p.exists()]
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return parent / name, []
    made = [p for p in made if p.is_dir()]
    for k in itertools.count(1):
        path = parent / (name if k == 1 else f"{name}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError:
            return path, made
        return path, [path, *made]
    raise AssertionError("unreachable")  # pragma: no cover
