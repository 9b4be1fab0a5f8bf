"""Vendored small benchmark sets (UCI, LIBSVM, USPS).

The files in ``files/`` are copies of the project's shared benchmark data;
``files/SOURCES.md`` gives provenance, licence (CC BY 4.0 for the UCI sets)
and citations. Each is checked against its sha256 when loaded.

A user's own file is read by :func:`load_file` (:mod:`._user_files`, imported
here too).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file
from sklearn.preprocessing import MinMaxScaler

from ._dataset import Dataset
from ._splits import minmax_fit_train, seeded_split
from ._user_files import load_file

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
