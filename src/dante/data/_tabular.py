"""Vendored small benchmark sets (UCI, LIBSVM, USPS) and user files.

The files in ``files/`` are copies of the project's shared benchmark data;
``files/SOURCES.md`` gives provenance, licence (CC BY 4.0 for the UCI sets)
and citations. Each is checked against its sha256 when loaded.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import numbers
import os
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file
from sklearn.preprocessing import MinMaxScaler

from ._dataset import Dataset
from ._splits import check_seed, minmax_fit_train, seeded_split

__all__ = ["SHA256", "load_file", "load_vendored"]

SHA256 = {
    "airfoil.csv": "251feab87623ef9540274417bbee95c63cac1cdc861671f4229ffd69d577e6fa",
    "ccpp.csv": "76855630b59fb9b2ef08e02d5907f8c73f18d97a476ac25f06cca6dd7fe2df21",
    "forestfires.csv": "0d6586a1fa52f55bef48578aef14eb97273f1e9330e1a53423df497a77065253",
    "ionosphere.csv": "10e18562b2faf4b58b6e70ebd84104a44a8c76647c621006a5dbbcc69c537616",
    "vehicle.csv": "5f2aa687cd5124c14f43f87249d9f46e4e2c1f76d2353979cad3c258d65b4872",
    "svmguide4": "377d2c73fc8f1d76da25e1ee7c4526aac2f1cba9c7cb2b2a25d0735a4b437e09",
    "svmguide4.t": "f5a5839d955f3eb6e379f5b226869b79bf8245bcda891649105858e4cdc61695",
    "usps_train.csv.gz": "73c83586d18205ef9c220f276fad3502075a77ca6ac0c77d1e1677d7658d1367",
    "usps_test.csv.gz": "676d93f1aaa776e0b5504dd7be4015cb411d67f29e97e18f98023b5d7e44d5f8",
}

_CITE = {
    "airfoil": "Brooks, Pope & Marcolini (1989), Airfoil Self-Noise, UCI ML Repository, "
    "doi:10.24432/C5VW2C, CC BY 4.0",
    "ccpp": "Tufekci & Kaya (2014), Combined Cycle Power Plant, UCI ML Repository, "
    "doi:10.24432/C5002N, CC BY 4.0",
    "forestfires": "Cortez & Morais (2007), Forest Fires, UCI ML Repository, "
    "doi:10.24432/C5D88D, CC BY 4.0",
    "ionosphere": "Sigillito, Wing, Hutton & Baker (1989), Ionosphere, UCI ML Repository, "
    "doi:10.24432/C5W01B, CC BY 4.0",
    "vehicle": "Mowforth & Shepherd, Statlog (Vehicle Silhouettes), UCI ML Repository, "
    "doi:10.24432/C5HG6N, CC BY 4.0",
    "svmguide4": "Hsu, Chang & Lin, A practical guide to SVM classification (LIBSVM data sets)",
    "usps": "Hull (1994), A database for handwritten text recognition research, IEEE TPAMI",
}


def _file(name: str) -> Path:
    return Path(str(resources.files("dante.data").joinpath("files", name)))


def _checked_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    want = SHA256.get(path.name)
    if want is not None and hashlib.sha256(data).hexdigest() != want:
        raise ValueError(
            f"{path}: sha256 mismatch (file corrupted or modified); reinstall dante-nn"
        )
    return data


def _read_csv_rows(text: str, source: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r]
    if not rows:
        raise ValueError(f"{source}: empty CSV file")
    return rows[0], rows[1:]


def _labels(values: list[str]) -> tuple[np.ndarray, list[str]]:
    classes = sorted(set(values))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in values], dtype=np.int64), classes


def _classification(name, X, y, classes, seed, test_fraction, extra=""):
    Xtr, ytr, Xte, yte = seeded_split(X, y, test_fraction, seed, stratify=True)
    Xtr, Xte = minmax_fit_train(Xtr, Xte)
    desc = (
        f"{name}: {len(X)} rows x {X.shape[1]} features, "
        f"classes {classes} -> 0..{len(classes) - 1}; "
        f"seeded stratified split {1 - test_fraction:.0%}/{test_fraction:.0%} (seed {seed}); "
        f"features min-max scaled to [0, 1] on the training part. {extra}"
        f"Source: {_CITE[name]}."
    )
    return Dataset(name, Xtr, ytr, Xte, yte, "classification", len(classes), desc)


def _regression(name, X, y, seed, test_fraction, extra=""):
    Xtr, ytr, Xte, yte = seeded_split(X, y, test_fraction, seed, stratify=False)
    Xtr, Xte = minmax_fit_train(Xtr, Xte)
    ys = MinMaxScaler().fit(ytr[:, None])
    lo, rng = float(ys.data_min_[0]), float(ys.data_range_[0])
    ytr = ys.transform(ytr[:, None])[:, 0].astype(np.float32)
    yte = ys.transform(yte[:, None])[:, 0].astype(np.float32)
    desc = (
        f"{name}: {len(X)} rows x {X.shape[1]} features; seeded split "
        f"{1 - test_fraction:.0%}/{test_fraction:.0%} (seed {seed}); features and target min-max "
        f"scaled to [0, 1] on the training part (target min {lo:g}, range {rng:g}). {extra}"
        f"Source: {_CITE[name]}."
    )
    return Dataset(name, Xtr, ytr, Xte, yte, "regression", None, desc, target_scale=(lo, rng))


def _uci_csv(name: str) -> tuple[list[str], list[list[str]]]:
    path = _file(f"{name}.csv")
    return _read_csv_rows(_checked_bytes(path).decode(), str(path))


_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def load_vendored(name: str, *, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """Load one of the vendored sets by name."""
    if name in ("ionosphere", "vehicle"):
        header, rows = _uci_csv(name)
        X = np.array([[float(v) for v in r[:-1]] for r in rows], dtype=np.float32)
        y, classes = _labels([r[-1] for r in rows])
        return _classification(name, X, y, classes, seed, test_fraction)
    if name in ("airfoil", "ccpp"):
        header, rows = _uci_csv(name)
        data = np.array([[float(v) for v in r] for r in rows], dtype=np.float64)
        return _regression(name, data[:, :-1].astype(np.float32), data[:, -1], seed, test_fraction)
    if name == "forestfires":
        header, rows = _uci_csv(name)
        feats = []
        for r in rows:
            num = [float(v) for i, v in enumerate(r[:-1]) if header[i] not in ("month", "day")]
            m = _MONTHS.index(r[header.index("month")])
            d = _DAYS.index(r[header.index("day")])
            cyc = [
                np.sin(2 * np.pi * m / 12),
                np.cos(2 * np.pi * m / 12),
                np.sin(2 * np.pi * d / 7),
                np.cos(2 * np.pi * d / 7),
            ]
            feats.append(num + cyc)
        X = np.array(feats, dtype=np.float32)
        y = np.log1p(np.array([float(r[-1]) for r in rows]))
        return _regression(
            name,
            X,
            y,
            seed,
            test_fraction,
            extra="month and day encoded cyclically (sin, cos); target log(1 + area). ",
        )
    if name == "svmguide4":
        tr, te = _file("svmguide4"), _file("svmguide4.t")
        Xtr, ytr = load_svmlight_file(io.BytesIO(_checked_bytes(tr)), n_features=10)
        Xte, yte = load_svmlight_file(io.BytesIO(_checked_bytes(te)), n_features=10)
        classes = sorted(set(ytr.tolist()) | set(yte.tolist()))
        index = {c: i for i, c in enumerate(classes)}
        ytr = np.array([index[v] for v in ytr], dtype=np.int64)
        yte = np.array([index[v] for v in yte], dtype=np.int64)
        Xtr, Xte = minmax_fit_train(Xtr.toarray(), Xte.toarray())
        desc = (
            f"svmguide4: official split {len(Xtr)} train / {len(Xte)} test, 10 features, labels "
            f"{[int(c) for c in classes]} -> 0..{len(classes) - 1}; features min-max scaled to "
            f"[0, 1] on the training part. Source: {_CITE['svmguide4']}."
        )
        return Dataset(name, Xtr, ytr, Xte, yte, "classification", len(classes), desc)
    if name == "usps":
        parts = []
        for fname in ("usps_train.csv.gz", "usps_test.csv.gz"):
            path = _file(fname)
            text = gzip.decompress(_checked_bytes(path)).decode()
            _, rows = _read_csv_rows(text, str(path))
            arr = np.array(rows, dtype=np.float32)
            parts.append((arr[:, 1:], arr[:, 0].astype(np.int64)))
        (Xtr, ytr), (Xte, yte) = parts
        lo, hi = float(Xtr.min()), float(Xtr.max())
        Xtr = ((Xtr - lo) / (hi - lo)).astype(np.float32)
        Xte = ((Xte - lo) / (hi - lo)).astype(np.float32)
        desc = (
            f"usps: official split {len(Xtr)} train / {len(Xte)} test, 16x16 grey images; pixel "
            f"values in [{lo:g}, {hi:g}] mapped linearly to [0, 1] with the training range. "
            f"Source: {_CITE['usps']}."
        )
        return Dataset(name, Xtr, ytr, Xte, yte, "classification", 10, desc, (16, 16))
    raise ValueError(f"no vendored dataset {name!r}")


# ---------------------------------------------------------------- user files
def _target_index(target: int | str | None, header: list[str] | None, n_cols: int) -> int | None:
    if target is None:
        return None
    if isinstance(target, bool) or not isinstance(target, (numbers.Integral, str)):
        raise TypeError(
            f"target must be a column index (int), a header name (str) or None, got {target!r}"
        )
    if isinstance(target, str):
        if header is None or target not in header:
            raise ValueError(
                f"target column {target!r} not found; columns: {header or 'no header'}"
            )
        return header.index(target)
    if not -n_cols <= target < n_cols:
        raise ValueError(f"target index {target} out of range for {n_cols} columns")
    return target % n_cols


def _parse_csv(path: Path) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """The header (or None) and the non-empty rows, each with its 1-based line
    number in the file; a UTF-8 byte-order mark is dropped."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: not a complete gzip file ({exc})") from None
    try:
        text = raw.decode("utf-8-sig")  # a BOM would glue itself to the first field
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text CSV file") from None
    reader = csv.reader(io.StringIO(text))
    rows = [(reader.line_num, r) for r in reader if r]
    if not rows:
        raise ValueError(f"{path}: empty CSV file")
    header = None
    try:
        [float(v) for v in rows[0][1]]
    except ValueError:
        header, rows = rows[0][1], rows[1:]
    if not rows:
        raise ValueError(f"{path}: CSV file has a header but no data rows")
    if header is not None:
        _check_unique(header, path)
    width = len(header) if header else len(rows[0][1])
    for line, r in rows:
        if len(r) != width:
            raise ValueError(
                f"{path}: ragged CSV: line {line} has {len(r)} fields, expected {width}"
            )
    return header, rows


def _check_unique(header: list[str], path: Path) -> None:
    """Refuse duplicated header names: a target or feature named twice is ambiguous."""
    seen: dict[str, list[int]] = {}
    for j, name in enumerate(header):
        seen.setdefault(name, []).append(j)
    dups = {n: cols for n, cols in seen.items() if len(cols) > 1}
    if dups:
        where = "; ".join(f"{n!r} (columns {', '.join(map(str, c))})" for n, c in dups.items())
        raise ValueError(
            f"{path}: duplicate column names in the header: {where}; rename them, since a "
            "target or feature named twice is ambiguous"
        )


def _csv_numbers(
    rows: list[tuple[int, list[str]]], header: list[str] | None, target: int | None, path: Path
) -> np.ndarray:
    """The rows as a float64 matrix; a non-number is reported by line, column,
    value and likely cause."""
    try:
        return np.array([r for _, r in rows], dtype=np.float64)
    except ValueError:
        pass
    for line, r in rows:
        for j, value in enumerate(r):
            try:
                float(value)
            except ValueError:
                col = f"{j} ({header[j]!r})" if header else str(j)
                raise ValueError(
                    f"{path}: non-numeric value at line {line}, column {col}: {value!r}; "
                    f"{_likely_cause(value, j == target)}"
                ) from None
    raise ValueError(  # pragma: no cover - NumPy refused what float() reads
        f"{path}: non-numeric values in the data rows; encode categories as numbers first"
    )


def _likely_cause(value: str, is_target: bool) -> str:
    if not value.strip():
        return "empty field (a missing value); fill in or drop the incomplete rows first"
    for sep, name in ((";", "';'"), ("\t", "tab")):
        if sep in value:
            return f"looks like {name}-delimited; this loader expects commas"
    if is_target:
        return "string label; encode labels as integers (sklearn.preprocessing.LabelEncoder)"
    return "text in a feature column; encode categories as numbers first"


def load_file(
    path: str | os.PathLike,
    *,
    target: int | str | None = -1,
    task: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """Load a user's CSV, NumPy or LIBSVM file as a :class:`Dataset`.

    Parameters
    ----------
    path : path
        ``.csv``/``.csv.gz`` (header optional), ``.npy`` (2-D, target in a
        column), ``.npz`` (keys ``X``/``y`` or ``X_train``/``y_train``/
        ``X_test``/``y_test`` for a given split; read without pickle), anything
        else LIBSVM text.
    target : int, str or None, default=-1
        Target column (index or header name) of a CSV/NPY; ``None``: no target
        (an autoencoder's data).
    task : {"classification", "regression"}, optional
        Default: classification when every target is an integer, else
        regression.
    test_fraction : float, default=0.2
        Held-out share when no test split is given (seeded, stratified for
        classification).
    seed : int, default=0

    Notes
    -----
    Features are min-max scaled to [0, 1] with the scaler fitted on the
    training part only; targets are not transformed.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or os.PathLike), got {type(path).__name__}")
    check_seed(seed)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} does not exist or is not a file")
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    name = path.name
    X_test = y_test = None
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith(".csv") or suffixes.endswith(".csv.gz"):
        header, rows = _parse_csv(path)
        t = _target_index(target, header, len(rows[0][1]))
        X, y = _split_columns(_csv_numbers(rows, header, t, path), t)
    elif path.suffix.lower() == ".npy":
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{path}: not a plain .npy array ({exc})") from None
        if data.ndim != 2:
            raise ValueError(f"{path}: .npy must hold a 2-D array, got shape {data.shape}")
        data = _features(data, path, "the array")
        X, y = _split_columns(data, _target_index(target, None, data.shape[1]))
    elif path.suffix.lower() == ".npz":
        arrays = _read_npz(path)
        if {"X_train", "X_test"} <= arrays.keys():
            X = _features(arrays["X_train"], path, "X_train")
            X_test = _features(arrays["X_test"], path, "X_test")
            y, y_test = arrays.get("y_train"), arrays.get("y_test")
            if X_test.shape[1] != X.shape[1]:
                raise ValueError(
                    f"{path}: X_test has {X_test.shape[1]} features but X_train has {X.shape[1]}"
                )
            if (y is None) != (y_test is None):
                raise ValueError(f"{path}: give both y_train and y_test, or neither")
            if y_test is not None:
                y_test = _targets(y_test, path, "y_test", len(X_test))
                if not np.isfinite(y_test).all():
                    raise ValueError(f"{path}: y_test contains NaN or Inf")
            if not np.isfinite(X_test).all():
                raise ValueError(f"{path}: X_test contains NaN or Inf; clean or impute it first")
        elif "X" in arrays:
            X, y = _features(arrays["X"], path, "X"), arrays.get("y")
        else:
            raise ValueError(
                f"{path}: .npz needs keys X (and y) or X_train/X_test, found {sorted(arrays)}"
            )
        if y is not None:
            y = _targets(y, path, "y_train" if X_test is not None else "y", len(X))
    else:
        try:
            Xs, y = load_svmlight_file(str(path))
        except (ValueError, OSError) as exc:
            raise ValueError(f"{path}: not a CSV/NumPy file and not LIBSVM text ({exc})") from None
        X = Xs.toarray()
    if X.size == 0:
        raise ValueError(f"{path}: no data (features of shape {X.shape})")
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: features contain NaN or Inf; clean or impute them first")
    if y is not None:
        y = np.asarray(y, dtype=np.float64)
        if not np.isfinite(y).all():
            raise ValueError(f"{path}: targets contain NaN or Inf")
    if y is not None and y.ndim == 2:
        if task == "classification":
            raise ValueError(f"{path}: class labels must be 1-D, got shape {y.shape}")
        task = "regression"  # several target columns
    if task is None:
        task = (
            "classification"
            if y is not None and np.all(y == np.round(y)) and len(np.unique(y)) <= 1000
            else "regression"
        )
    for key, arr in (("features", X), ("X_test", X_test)):
        if arr is not None and np.abs(arr).max() > np.finfo(np.float32).max:
            raise ValueError(f"{path}: {key} exceed the float32 range (3.4e38); rescale them")
    X = X.astype(np.float32)
    if X_test is not None:
        X_test = X_test.astype(np.float32)
        Xtr, Xte = minmax_fit_train(X, X_test)
        ytr, yte = y, (None if y_test is None else np.asarray(y_test, dtype=np.float64))
        split = "given train/test split"
    else:
        Xtr, ytr, Xte, yte = seeded_split(X, y, test_fraction, seed, task == "classification")
        Xtr, Xte = minmax_fit_train(Xtr, Xte)
        split = f"seeded split {1 - test_fraction:.0%}/{test_fraction:.0%} (seed {seed})"
    n_classes = None
    if task == "classification" and ytr is not None:
        classes = np.unique(np.concatenate([ytr, yte if yte is not None else []]))
        index = {c: i for i, c in enumerate(classes.tolist())}
        ytr = np.array([index[v] for v in ytr.tolist()], dtype=np.int64)
        yte = None if yte is None else np.array([index[v] for v in yte.tolist()], dtype=np.int64)
        n_classes = len(classes)
    elif ytr is not None:
        ytr = ytr.astype(np.float32)
        yte = None if yte is None else yte.astype(np.float32)
    desc = f"{name}: user file, {split}; features min-max scaled on the training part."
    return Dataset(path.stem, Xtr, ytr, Xte, yte, task, n_classes, desc)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz`` archive, read without pickle."""
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("it holds one .npy array, not named arrays")
        with z:
            return {k: z[k] for k in z.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{path}: not a readable NumPy .npz archive ({exc})") from None


def _features(a: np.ndarray, path: Path, key: str) -> np.ndarray:
    """``a`` as a float64 (n, d) matrix; images are flattened."""
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{path}: {key} must hold real numbers, got dtype {a.dtype}")
    if a.ndim < 2:
        raise ValueError(
            f"{path}: {key} must be 2-D (n_samples, n_features) or images, got shape {a.shape}"
        )
    if a.size == 0:
        raise ValueError(f"{path}: {key} is empty (shape {a.shape})")
    return a.reshape(len(a), -1).astype(np.float64)


def _targets(a: np.ndarray, path: Path, key: str, n: int) -> np.ndarray:
    """``a`` as float64 targets, one row per sample."""
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"{path}: {key} must hold numbers, got dtype {a.dtype}; encode labels as ints"
        )
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim not in (1, 2):
        raise ValueError(f"{path}: {key} must be 1-D (or 2-D targets), got shape {a.shape}")
    if len(a) != n:
        raise ValueError(f"{path}: {key} has {len(a)} rows but its features have {n}")
    return a.astype(np.float64)


def _split_columns(data: np.ndarray, t: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    if t is None:
        return data, None
    if data.shape[1] < 2:
        raise ValueError("the file needs at least one feature column besides the target")
    return np.delete(data, t, axis=1), data[:, t]
