"""Every study of the other seed papers, registered, and how one is run by name.

Importing this module imports every study module, so
:data:`~dante.experiments.study.STUDIES` is complete:

* ``slqc`` -- SLQC constants and theory-set SNGD (``001`` Thms 1, 8),
  :mod:`dante.theory.study`;
* ``relu_gate`` -- modified SGD, noise-assisted GD, GLM-Tron (``003`` Ch. 3),
  :mod:`dante.shallow.relu_gate_study`;
* ``sgd_gd`` -- Boob-Lan SGD-GD and its certificate (``002``),
  :mod:`dante.shallow.sgd_gd_study`;
* ``exact_erm`` -- certified ERM optimum vs DANTE and SGD (``003`` Ch. 2),
  :mod:`dante.exact.study`;
* ``nwh`` and ``sparse_coding_ae`` -- autoencoder recovery (``004`` Figs. 2-3;
  ``003`` Tables 4.6.1-4.6.2), :mod:`dante.shallow.recovery_study`;
* ``zonotope`` -- Thm 2.2.1's nets and the zonotope family of Thm 2.3.10 (``003``
  Ch. 2), :mod:`dante.exact.zonotope_study`;
* ``nwh_sparse`` -- NWH Thm 4 (ii)-(iii), step sizes on sparse codes (``004``),
  :mod:`dante.shallow.nwh_sparse_study`;
* ``adaptive`` -- NAG, RMSProp, ADAM (and DANTE) on tied ReLU autoencoders
  (``003`` Ch. 5), :mod:`dante.adaptive.study`;
* ``pac_bayes`` -- PAC-Bayes bounds of trained nets, Thm 6.3.1 vs NBS (``003``
  Ch. 6), :mod:`dante.pac_bayes.study`.

:func:`run_named_study` runs one and writes ``<out>/<name>.json``
(:meth:`StudyResult.to_dict` plus ``name``, ``kind``, ``quick`` and
``wall_seconds``); :func:`dante.experiments.write_results_md` renders it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from ..adaptive import study as _adaptive_study  # noqa: F401  registers "adaptive"
from ..exact import study as _exact_study  # noqa: F401  registers "exact_erm"
from ..exact import zonotope_study as _zonotope_study  # noqa: F401  registers "zonotope"
from ..pac_bayes import study as _pac_bayes_study  # noqa: F401  registers "pac_bayes"
from ..reporting import write_json
from ..shallow import nwh_sparse_study as _nwh_sparse_study  # noqa: F401  "nwh_sparse"
from ..shallow import recovery_study as _recovery_study  # noqa: F401  "nwh", "sparse_coding_ae"
from ..shallow import relu_gate_study as _relu_gate_study  # noqa: F401  "relu_gate"
from ..shallow import sgd_gd_study as _sgd_gd_study  # noqa: F401  "sgd_gd"
from ..theory import study as _slqc_study  # noqa: F401  registers "slqc"
from .spec import list_experiments
from .study import STUDIES, STUDY_KIND

__all__ = [
    "DEFAULT_SEEDS",
    "list_studies",
    "one_thread",
    "run_named_study",
    "split_names",
    "study_summary",
]

#: seeds of a full run when none are given (``dante reproduce NAME`` without ``--seeds``)
DEFAULT_SEEDS = 3


def list_studies() -> list[str]:
    """Names of the registered studies, sorted."""
    return sorted(STUDIES)


def study_summary(name: str) -> str:
    """First line of the study function's docstring (for ``dante reproduce --list``)."""
    doc = (STUDIES[name].__doc__ or "").strip().splitlines()
    return doc[0].replace("``", "") if doc else name


def split_names(name: str) -> tuple[list[str], list[str]]:
    """Resolve ``dante reproduce NAME``: ``(experiments, studies)`` to run.

    ``"all"``: every DANTE experiment and every study; a study name: that
    study; a bundled experiment name or a path with a suffix (a YAML spec):
    that experiment. Anything else raises ``ValueError`` listing the names.
    """
    if name == "all":
        return list_experiments(), list_studies()
    if name in STUDIES:
        return [], [name]
    if name in list_experiments() or Path(name).suffix:
        return [name], []
    raise ValueError(
        f"unknown experiment or study {name!r}; experiments: {', '.join(list_experiments())}; "
        f"studies: {', '.join(list_studies())}; or 'all'"
    )


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch and the BLAS/OpenMP pools single-threaded, then restore them.

    The studies' problems are tiny (vectors of a few entries, matrices of a few
    dozen), where intra-op threads only wait on each other: on the 2-core
    machine with other jobs running, one SGD-GD run took 8.2 s of CPU with two
    torch threads and 0.32 s with one.
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(n)


def run_named_study(
    name: str,
    out_dir: str | Path,
    fig_dir: str | Path,
    *,
    quick: bool = False,
    seeds: Sequence[int] | None = None,
    log=print,
) -> dict[str, Any]:
    """Run the study ``name`` and write its JSON to ``<out_dir>/<name>.json`` atomically.

    Parameters
    ----------
    name : str
        A registered study (:func:`list_studies`).
    out_dir : path
        Results folder (the JSON).
    fig_dir : path
        Where the study writes its PNG figures (the ``figures`` folder next to
        RESULTS.md, which embeds them by file name).
    quick : bool, default=False
        The study's smoke-test sizes.
    seeds : sequence of int, optional
        Default: ``range(DEFAULT_SEEDS)``, or ``[0]`` with ``quick``.

    Returns
    -------
    dict
        The payload written.

    Notes
    -----
    The study runs single-threaded (:func:`one_thread`).
    """
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose one of {', '.join(list_studies())}")
    if seeds is None:
        seeds = [0] if quick else list(range(DEFAULT_SEEDS))
    t0 = time.perf_counter()
    log(f"{name}: study ({'quick' if quick else 'full'}), seeds {list(seeds)}")
    with one_thread():
        result = STUDIES[name](quick, seeds, Path(fig_dir))
    payload = {
        "name": name,
        "kind": STUDY_KIND,
        "quick": bool(quick),
        "wall_seconds": time.perf_counter() - t0,
        **result.to_dict(),
    }
    write_json(Path(out_dir) / f"{name}.json", payload)
    return payload
