"""A user's data file (CSV, NumPy ``.npy``/``.npz``, LIBSVM text) as a :class:`Dataset`.

:func:`load_file` reads the file, checks it (every refusal names the line,
column or key at fault and the likely cause), splits it (a seeded split, or
the split an ``.npz`` gives) and min-max scales the features on the training
part. Import it from :mod:`dante.data`.
"""

from __future__ import annotations

import csv
import gzip
import io
import numbers
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file

from ._dataset import Dataset
from ._splits import check_seed, minmax_fit_train, seeded_split

__all__ = ["load_file"]


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
    first = rows[0][1]
    if not all(_is_number(v) for v in first):
        # a header, unless every text field of the first row stands above text in the
        # second: that is a column of text labels in a headerless file
        second = rows[1][1] if len(rows) > 1 else None
        if (
            second is None
            or len(second) != len(first)
            or any(";" in a or "\t" in a for a in first)  # another delimiter: reported below
            or any(not _is_number(a) and _is_number(b) for a, b in zip(first, second))
        ):
            header, rows = first, rows[1:]
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


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _text_labels(
    rows: list[tuple[int, list[str]]], t: int | None, path: Path, task: str | None
) -> tuple[list[tuple[int, list[str]]], tuple[np.ndarray, list[str]] | None]:
    """A target column of text labels ("yes"/"no", "setosa", ...) as classes.

    Only a column in which *no* value is a number counts as text labels: a
    numeric column with a stray word stays an error naming that value, so a
    typo never turns a regression target into hundreds of classes. Classes are
    the distinct labels (stripped) in sorted order; the target fields become
    ``"0"`` so the numeric parse keeps every column's position. Returns the
    rows and ``(codes, names)``, or the rows unchanged and ``None``.
    """
    if t is None:
        return rows, None
    values = [r[t].strip() for _, r in rows]
    if any(not v or _is_number(v) or ";" in v or "\t" in v for v in values):
        return rows, None  # numbers, gaps or another delimiter: the numeric parse says which
    if task == "regression":
        raise ValueError(
            f"{path}: the target column holds text (line {rows[0][0]}: {values[0]!r}); "
            "regression needs numeric targets (or pass task='classification')"
        )
    names = sorted(set(values))
    if len(names) > 1000:
        raise ValueError(
            f"{path}: the target column holds {len(names)} distinct text labels, more than "
            "the 1000 classes this loader accepts; is it an identifier column? choose the "
            "target with target= (--target)"
        )
    index = {c: i for i, c in enumerate(names)}
    codes = np.array([index[v] for v in values], dtype=np.float64)
    return [(line, r[:t] + ["0"] + r[t + 1 :]) for line, r in rows], (codes, names)


def _likely_cause(value: str, is_target: bool) -> str:
    if not value.strip():
        return "empty field (a missing value); fill in or drop the incomplete rows first"
    for sep, name in ((";", "';'"), ("\t", "tab")):
        if sep in value:
            return f"looks like {name}-delimited; this loader expects commas"
    if is_target:
        return (
            "a word in a numeric target column; fix the value (a column of text labels "
            "only is read as classes)"
        )
    return "text in a feature column; encode categories as numbers first"


def _check_dense_memory(shape: tuple[int, int], path: Path) -> None:
    """LIBSVM rows are sparse but are read into a dense float64 matrix (then
    copied to float32 and scaled): one huge feature index (``1 1000000000:1``)
    would ask for gigabytes per row. Refuse that before allocating."""
    from ..validation import check_memory

    rows, cols = shape
    check_memory(
        3 * 8 * rows * cols,
        f"{path}: LIBSVM features of shape ({rows}, {cols}) read as a dense matrix",
        "the largest feature index sets the number of columns; renumber the features "
        "densely from 1",
    )


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
    label_names: list[str] | None = None
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith(".csv") or suffixes.endswith(".csv.gz"):
        header, rows = _parse_csv(path)
        t = _target_index(target, header, len(rows[0][1]))
        rows, text_labels = _text_labels(rows, t, path, task)
        X, y = _split_columns(_csv_numbers(rows, header, t, path), t)
        if text_labels is not None:
            y, label_names = text_labels
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
        except (ValueError, OSError, OverflowError) as exc:  # Overflow: an index >= 2**31
            raise ValueError(f"{path}: not a CSV/NumPy file and not LIBSVM text ({exc})") from None
        _check_dense_memory(Xs.shape, path)
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
    if label_names is not None:
        shown = ", ".join(f"{c!r}={i}" for i, c in enumerate(label_names[:10]))
        more = f" and {len(label_names) - 10} more" if len(label_names) > 10 else ""
        desc += f" Text labels as classes in sorted order: {shown}{more}."
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
