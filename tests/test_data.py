"""Dataset registry: real files where installed, real-format fixtures otherwise."""

from __future__ import annotations

import gzip
import pickle
import shutil

import numpy as np
import pytest

from dante import data
from dante.data import DatasetNotAvailableError, load, load_file
from dante.data import _tabular as tabular
from dante.data._idx import read_idx

ROWS = {  # total rows per SOURCES.md
    "ionosphere": 351,
    "vehicle": 846,
    "airfoil": 1503,
    "forestfires": 517,
    "ccpp": 9568,
}


def test_digits_split_is_stratified_and_seeded():
    a, b, c = load("digits", seed=0), load("digits", seed=0), load("digits", seed=1)
    assert a.X_train.shape == (1437, 64) and a.X_test.shape == (360, 64)
    assert a.X_train.dtype == np.float32 and a.y_train.dtype == np.int64
    assert 0.0 <= a.X_train.min() and a.X_train.max() <= 1.0
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    frac = np.bincount(a.y_test, minlength=10) / np.bincount(
        np.concatenate([a.y_train, a.y_test]), minlength=10
    )
    assert np.all(np.abs(frac - 0.2) < 0.03)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_vendored_sets_shapes_and_train_only_scaling(name):
    ds = load(name)
    assert len(ds.X_train) + len(ds.X_test) == ROWS[name]
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    span = ds.X_train.max(axis=0) - ds.X_train.min(axis=0)
    varying = span > 0
    np.testing.assert_allclose(ds.X_train.min(axis=0)[varying], 0.0, atol=1e-6)
    np.testing.assert_allclose(ds.X_train.max(axis=0)[varying], 1.0, atol=1e-6)
    if ds.task == "regression":
        assert ds.y_train.min() == pytest.approx(0.0, abs=1e-6)
        assert ds.y_train.max() == pytest.approx(1.0, abs=1e-6)
        lo, rng = ds.target_scale
        assert rng > 0
    else:
        assert ds.y_train.max() == ds.n_classes - 1


def test_usps_and_svmguide4_official_splits():
    usps = load("usps")
    assert usps.X_train.shape == (7291, 256) and usps.X_test.shape == (2007, 256)
    assert set(np.unique(usps.y_train)) == set(range(10))
    sg = load("svmguide4")
    assert sg.X_train.shape == (300, 10) and sg.X_test.shape == (312, 10)
    assert sg.n_classes == 6


def test_corrupted_vendored_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "files"
    bad.mkdir()
    src = tabular._file("ionosphere.csv")
    raw = bytearray(src.read_bytes())
    raw[100] ^= 0x01
    (bad / "ionosphere.csv").write_bytes(bytes(raw))
    monkeypatch.setattr(tabular, "_file", lambda name: bad / name)
    with pytest.raises(ValueError, match="sha256"):
        load("ionosphere")


def _write_idx(path, arr, magic, compress=False):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    raw = header + arr.astype(np.uint8).tobytes()
    if compress:
        raw = gzip.compress(raw)
    path.write_bytes(raw)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_loader(tmp_path, compress):
    rng = np.random.default_rng(0)
    sfx = ".gz" if compress else ""
    imgs = rng.integers(0, 256, (30, 28, 28))
    labels = np.arange(30) % 10
    _write_idx(tmp_path / f"train-images-idx3-ubyte{sfx}", imgs, 0x803, compress)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{sfx}", labels, 0x801, compress)
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{sfx}", imgs[:10], 0x803, compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{sfx}", labels[:10], 0x801, compress)
    ds = load("mnist", root=tmp_path)
    assert ds.X_train.shape == (30, 784) and ds.X_test.shape == (10, 784)
    np.testing.assert_allclose(ds.X_train[3], imgs[3].reshape(-1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_train, labels)
    fm = load("fashion_mnist", root=tmp_path)
    assert fm.feature_shape == (28, 28)


def test_idx_truncated_and_wrong_magic(tmp_path):
    imgs = np.zeros((5, 28, 28))
    good = tmp_path / "x-idx3-ubyte"
    _write_idx(good, imgs, 0x803)
    assert read_idx(good).shape == (5, 28, 28)
    trunc = tmp_path / "t-idx3-ubyte"
    trunc.write_bytes(good.read_bytes()[:-7])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(trunc)
    wrong = tmp_path / "w-idx3-ubyte"
    wrong.write_bytes(b"\x00\x00\x09\x03" + good.read_bytes()[4:])
    with pytest.raises(ValueError, match="magic"):
        read_idx(wrong)


def test_mnist_real_if_installed():
    try:
        ds = load("mnist")
    except DatasetNotAvailableError as exc:
        pytest.skip(f"mnist not installed: {exc}")
    assert ds.X_train.shape == (60000, 784) and ds.X_test.shape == (10000, 784)
    assert ds.X_train.max() == pytest.approx(1.0)
    sub = load("mnist", n_train=500, n_test=100)
    assert sub.X_train.shape == (500, 784)
    assert np.all(np.bincount(sub.y_train, minlength=10) >= 40)


def test_fashion_real_if_installed():
    try:
        ds = load("fashion_mnist", n_train=1000)
    except DatasetNotAvailableError as exc:
        pytest.skip(f"fashion_mnist not installed: {exc}")
    assert ds.X_train.shape == (1000, 784) and ds.X_test.shape == (10000, 784)


def test_kmnist_npz_fixture(tmp_path):
    rng = np.random.default_rng(1)
    for split, n in (("train", 20), ("test", 10)):
        np.savez(
            tmp_path / f"kmnist-{split}-imgs.npz",
            arr_0=rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        np.savez(tmp_path / f"kmnist-{split}-labels.npz", arr_0=np.arange(n) % 10)
    ds = load("kmnist", root=tmp_path)
    assert ds.X_train.shape == (20, 784) and ds.X_test.shape == (10, 784)
    assert ds.y_test.tolist() == list(range(10))


def test_cifar10_pickle_batches_fixture(tmp_path):
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 9]}
        with open(base / name, "wb") as fh:
            pickle.dump(batch, fh)
    ds = load("cifar10", root=tmp_path)
    assert ds.X_train.shape == (20, 3072) and ds.X_test.shape == (4, 3072)
    assert ds.feature_shape == (3, 32, 32)
    assert ds.y_test.tolist() == [0, 1, 2, 9]


def test_svhn_mat_fixture(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, (32, 32, 3, 6), dtype=np.uint8)
    y = np.array([[10], [1], [2], [3], [4], [5]])
    savemat(tmp_path / "train_32x32.mat", {"X": X, "y": y})
    savemat(tmp_path / "test_32x32.mat", {"X": X, "y": y})
    ds = load("svhn", root=tmp_path)
    assert ds.X_train.shape == (6, 3072)
    assert ds.y_train.tolist() == [0, 1, 2, 3, 4, 5]
    # channels first: the first 1024 values are the red channel of image 0
    np.testing.assert_allclose(ds.X_train[0, :1024], X[:, :, 0, 0].reshape(-1) / 255.0, rtol=1e-6)


def test_tiny_imagenet_folder_fixture(tmp_path):
    from PIL import Image

    base = tmp_path / "tiny-imagenet-200"
    wnids = ["n01", "n02"]
    (base / "val" / "images").mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    rng = np.random.default_rng(4)
    ann = []
    for k, w in enumerate(wnids):
        d = base / "train" / w / "images"
        d.mkdir(parents=True)
        for j in range(3):
            img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(img).save(d / f"{w}_{j}.png")
        Image.fromarray(img).save(base / "val" / "images" / f"val_{k}.png")
        ann.append(f"val_{k}.png\t{w}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(ann) + "\n")
    ds = load("tiny_imagenet", root=tmp_path)
    assert ds.X_train.shape == (6, 12288) and ds.X_test.shape == (2, 12288)
    assert ds.n_classes == 200 and ds.y_test.tolist() == [0, 1]


@pytest.mark.parametrize("name", ["kmnist", "cifar10", "svhn", "tiny_imagenet"])
def test_missing_root_names_what_to_get(name, tmp_path, monkeypatch):
    monkeypatch.delenv("DANTE_DATA_DIR", raising=False)
    with pytest.raises(DatasetNotAvailableError, match=name):
        load(name)
    with pytest.raises(DatasetNotAvailableError, match=name):
        load(name, root=tmp_path)


def test_unknown_name_and_option():
    with pytest.raises(ValueError, match="choose one of"):
        load("imagenet")
    with pytest.raises(ValueError, match="n_train"):
        load("digits", n_train=5)
    assert "digits" in data.available()


def test_load_file_csv_with_and_without_header(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.random((50, 3))
    y = np.arange(50) % 2
    with_header = tmp_path / "a.csv"
    with_header.write_text(
        "f1,f2,f3,label\n" + "\n".join(",".join(map(str, [*X[i], y[i]])) for i in range(50))
    )
    ds = load_file(with_header, target="label")
    assert ds.task == "classification" and ds.n_classes == 2
    assert ds.X_train.shape[1] == 3 and len(ds.X_train) + len(ds.X_test) == 50
    no_header = tmp_path / "b.csv"
    no_header.write_text("\n".join(",".join(map(str, [y[i], *X[i]])) for i in range(50)))
    ds2 = load_file(no_header, target=0)
    assert ds2.X_train.shape[1] == 3


def test_load_file_bad_csvs(tmp_path):
    ragged = tmp_path / "r.csv"
    ragged.write_text("1,2,3\n4,5\n6,7,8\n")
    with pytest.raises(ValueError, match="line 2"):
        load_file(ragged)
    nan = tmp_path / "n.csv"
    nan.write_text("1,2,0\nnan,5,1\n6,7,0\n1,1,1\n2,2,0\n")
    with pytest.raises(ValueError, match="NaN"):
        load_file(nan)
    text = tmp_path / "t.csv"
    text.write_text("1,2,0\n2,abc,1\n3,4,0\n")
    with pytest.raises(ValueError, match="non-numeric"):
        load_file(text)
    with pytest.raises(ValueError, match="does not exist"):
        load_file(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="target column"):
        load_file(_ok_csv(tmp_path), target="nope")


def _ok_csv(tmp_path):
    p = tmp_path / "ok.csv"
    p.write_text("a,b\n1,0\n2,1\n3,0\n4,1\n5,0\n")
    return p


def test_load_file_numpy_and_libsvm(tmp_path):
    rng = np.random.default_rng(6)
    arr = np.column_stack([rng.random((40, 4)), rng.random(40)])
    np.save(tmp_path / "d.npy", arr)
    ds = load_file(tmp_path / "d.npy")
    assert ds.task == "regression" and ds.X_train.shape[1] == 4
    np.savez(
        tmp_path / "s.npz",
        X_train=rng.random((30, 4)),
        y_train=np.arange(30) % 3,
        X_test=rng.random((10, 4)),
        y_test=np.arange(10) % 3,
    )
    ds = load_file(tmp_path / "s.npz")
    assert ds.X_test.shape == (10, 4) and ds.n_classes == 3
    shutil.copy(tabular._file("svmguide4"), tmp_path / "g.libsvm")
    ds = load_file(tmp_path / "g.libsvm")
    assert ds.task == "classification" and ds.X_train.shape[1] == 10
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError):
        load_file(junk)
