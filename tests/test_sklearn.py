"""scikit-learn estimators (dante.sklearn): the full estimator-check suite,
composition with Pipeline / GridSearchCV / cross_val_score, accuracy numbers
that could fail, and oracles: the estimators train exactly what ``dante.fit``
trains, probabilities are the softmax of the network's logits, and a
one-pair autoencoder with a linear decoder cannot beat PCA on its training
data (Eckart-Young)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.estimator_checks import parametrize_with_checks

import dante
from dante.sklearn import DanteAutoencoder, DanteClassifier, DanteRegressor


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # the networks here are tiny: intra-op threads only add synchronisation,
    # and on a busy two-core machine they make every step many times slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Every check passes with the default parameters, so no expected_failed_checks
# (docs/SKLEARN.md lists the checks that skip themselves: pandas, array API).
@parametrize_with_checks([DanteClassifier(), DanteRegressor(), DanteAutoencoder()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def _teacher_data(n: int = 1000, seed: int = 0):
    """A realizable regression problem: targets of a random 10-8-1 leaky-ReLU MLP."""
    X = np.random.default_rng(seed).standard_normal((n, 10)).astype(np.float32)
    with torch.no_grad():
        y = dante.MLP([10, 8, 1], seed=100 + seed)(torch.from_numpy(X))[:, 0].numpy()
    return X, y.astype(np.float64)


def test_classifier_digits_accuracy_in_pipeline(digits):
    Xtr, Xte, ytr, yte = digits
    clf = make_pipeline(StandardScaler(), DanteClassifier(random_state=0)).fit(Xtr, ytr)
    # measured 0.978 (seeds 0-2: 0.969-0.978); backprop Adam gets 0.973
    assert clf.score(Xte, yte) >= 0.95
    net = clf[-1]
    assert net.n_iter_ == len(net.history_) - 1
    assert net.history_[-1]["train_accuracy"] > 0.99


def test_estimators_train_exactly_what_dante_fit_trains(digits):
    """Oracle: the estimator is a thin layer over the project's training loop."""
    Xtr, _, ytr, _ = digits
    X = StandardScaler().fit_transform(Xtr[:300])
    y = ytr[:300]
    clf = DanteClassifier(hidden_layer_sizes=(20,), max_alternations=2, random_state=3)
    clf.fit(X, y)
    init_seed, order_seed = check_random_state(3).randint(0, 2**31 - 1, size=2)
    net = dante.MLP([64, 20, 10], seed=int(init_seed))
    dante.fit(
        net, X.astype(np.float32), y, loss="cross_entropy", lr=0.1, batch_size=200,
        max_alternations=2, seed=int(order_seed), eval_every="round",
    )  # fmt: skip
    # same hyper-parameters, same float32 arithmetic: only buffer alignment (which MKL may use
    # to pick kernels) differs, so ~1e-7 rounding; a wrong hyper-parameter moves them by >1e-3
    for got, want in zip(clf.model_.parameters(), net.parameters()):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    # predict_proba is the softmax of the network's logits (float32: 1e-5 on probabilities)
    with torch.no_grad():
        logits = net(torch.from_numpy(X.astype(np.float32)))
    np.testing.assert_allclose(clf.predict_proba(X), torch.softmax(logits, 1).numpy(), atol=1e-5)
    # a logit rounded differently may flip the argmax of a near-tied row: allow two of them
    agree = np.mean(clf.predict(X) == logits.argmax(1).numpy())
    assert agree >= 1 - 2 / len(X)


def test_classifier_labels_binary_and_proba():
    X, y = load_digits(n_class=2, return_X_y=True)
    labels = np.array(["zero", "one"])[y]
    clf = DanteClassifier(max_alternations=3, random_state=0).fit(X / 16, labels)
    assert clf.model_.out_features == 1  # one logit for two classes
    np.testing.assert_array_equal(clf.classes_, ["one", "zero"])
    proba = clf.predict_proba(X / 16)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X / 16))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X / 16)), proba)
    assert clf.score(X / 16, labels) > 0.98


def test_mse_classifier_has_no_predict_proba(digits):
    Xtr, Xte, ytr, yte = digits
    clf = DanteClassifier(loss="mse", random_state=0)
    assert not hasattr(clf, "predict_proba")
    clf.fit(Xtr[:600] / 16, ytr[:600])
    assert not hasattr(clf, "predict_proba")
    # the DANTE papers' MSE setting; measured 0.964 (seeds 0-2: 0.964-0.973)
    assert clf.score(Xte / 16, yte) > 0.9


def test_grid_search_over_pipeline(digits):
    Xtr, Xte, ytr, yte = digits
    # three alternations of batch 32 (the defaults take 200 and 30 alternations)
    clf = DanteClassifier(lr=0.05, batch_size=32, max_alternations=3, random_state=0)
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), clf),
        {"danteclassifier__hidden_layer_sizes": [(4,), (64,)]},
        cv=3,
    )
    grid.fit(Xtr[:600], ytr[:600])
    scores = grid.cv_results_["mean_test_score"]
    # a 4-unit bottleneck loses to 64 hidden units on 10 classes (measured 0.65 vs 0.95)
    assert scores[1] > scores[0] + 0.1
    assert grid.best_params_ == {"danteclassifier__hidden_layer_sizes": (64,)}
    assert grid.best_score_ > 0.9
    assert grid.score(Xte, yte) > 0.9  # the refitted best pipeline; measured 0.95


def test_regressor_realizable_teacher_cross_val():
    X, y = _teacher_data()
    scores = cross_val_score(DanteRegressor(random_state=0), X, y, cv=3)
    assert scores.min() > 0.95  # measured R^2 0.98 on held-out folds


def test_regressor_target_scaling_and_multioutput():
    X, y = _teacher_data(600)
    Y = np.column_stack([1000.0 * y + 5.0, -y])
    reg = DanteRegressor(max_alternations=5, random_state=0).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == (600, 2) and pred.dtype == np.float64
    assert reg.score(X, Y) > 0.95
    # the network learns standardised targets: the two columns agree
    np.testing.assert_allclose(reg._y_mean, [5.0 + 1000 * y.mean(), -y.mean()])
    assert np.corrcoef(pred[:, 0], -pred[:, 1])[0, 1] > 0.99


def test_autoencoder_against_pca(digits):
    Xtr, Xte, _, _ = digits
    A, B = Xtr / 16, Xte / 16
    ae = DanteAutoencoder(hidden_layer_sizes=(16,), random_state=0).fit(A)
    pca = PCA(16).fit(A)

    def pca_mse(X):
        return np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2)

    # Eckart-Young: a linear decoder from a 16-d code reconstructs in an
    # affine 16-d subspace, so on the training data it cannot beat PCA
    assert -ae.score(A) >= pca_mse(A)
    # measured bound: test error 1.61x PCA's (seeds 0-2: 1.54-1.62x) with the
    # default decoder-first order (encoder first, as Algorithm 3 of 000 prints
    # it: 1.96-2.38x); the mean image has 6.4x PCA's error
    assert -ae.score(B) < 2.0 * pca_mse(B)
    code = ae.transform(B)
    assert code.shape == (len(B), 16) and code.dtype == np.float64
    assert ae.transform(B.astype(np.float32)).dtype == np.float32
    with torch.no_grad():
        direct = ae.model_(torch.from_numpy(B.astype(np.float32))).numpy()
    np.testing.assert_allclose(ae.inverse_transform(code), direct, atol=1e-5)
    assert list(ae.get_feature_names_out()) == [f"danteautoencoder{i}" for i in range(16)]
    with pytest.raises(ValueError, match="codes of size 16"):
        ae.inverse_transform(B)


def test_same_random_state_same_model_different_seed_differs():
    X, y = _teacher_data(300)
    fits = [DanteRegressor(max_alternations=2, random_state=s).fit(X, y) for s in (7, 7, 8)]
    preds = [f.predict(X) for f in fits]
    np.testing.assert_array_equal(preds[0], preds[1])
    assert not np.allclose(preds[0], preds[2])
    rng_fits = [
        DanteClassifier(max_alternations=1, random_state=np.random.RandomState(5)).fit(X, y > 0)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(rng_fits[0].predict_proba(X), rng_fits[1].predict_proba(X))


def test_partial_fit_is_one_alternation_and_accumulates(digits):
    Xtr, Xte, ytr, yte = digits
    X = StandardScaler().fit(Xtr)
    A, B = X.transform(Xtr), X.transform(Xte)
    one = DanteClassifier(random_state=0).partial_fit(A, ytr, classes=np.arange(10))
    ref = DanteClassifier(max_alternations=1, t_am=1, random_state=0).fit(A, ytr)
    # the same alternation on the same data: equal up to float32 rounding (see above)
    for got, want in zip(one.model_.parameters(), ref.model_.parameters()):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    # short steps, so that one chunk is far from enough (with the defaults' lr=0.1
    # and batch 200 the first chunk alone reaches 0.74, the fourth 0.94)
    clf = DanteClassifier(lr=0.01, batch_size=32, random_state=0)
    calls, scores = [], []
    for i, chunk in enumerate(np.array_split(np.arange(len(A)), 4)):
        clf.partial_fit(A[chunk], ytr[chunk], classes=np.arange(10) if i == 0 else None)
        calls.append(clf.result_.budget.steps)
        scores.append(clf.score(B, yte))
    assert clf.n_iter_ == 4 and len(clf.history_) == 5  # "init" + one record per call
    steps = [r["steps"] for r in clf.history_]
    assert steps == sorted(steps) and steps[-1] == sum(calls)
    # each chunk continues from the last weights: measured 0.51, 0.78, 0.85, 0.85
    assert scores[-1] > scores[0] + 0.2 and scores[-1] > 0.8
    with pytest.raises(ValueError, match="classes must be passed"):
        DanteClassifier().partial_fit(A, ytr)
    with pytest.raises(ValueError, match="not in classes"):
        DanteClassifier().partial_fit(A, ytr, classes=np.arange(5))
    reg = DanteRegressor(random_state=0)
    Xr, yr = _teacher_data(400)
    reg.partial_fit(Xr[:200], yr[:200]).partial_fit(Xr[200:], yr[200:])
    assert reg.n_iter_ == 2 and reg.score(Xr, yr) > 0.5
    assert not hasattr(DanteAutoencoder(), "partial_fit")


@pytest.mark.parametrize(
    ("params", "exc", "match"),
    [
        ({"lr": -1.0}, ValueError, "lr"),
        ({"method": "nope"}, ValueError, "method"),
        ({"loss": "hinge"}, ValueError, "loss"),
        ({"hidden_layer_sizes": (0,)}, ValueError, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": "100"}, TypeError, "hidden_layer_sizes"),
        ({"batch_size": "big"}, ValueError, "batch_size"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"activation": "nope"}, ValueError, "activation"),
        ({"random_state": "x"}, ValueError, "random_state"),
        ({"lr_schedule": "nope"}, ValueError, "lr_schedule"),
        ({"lr_schedule": "step", "lr_schedule_options": {"gama": 0.5}}, ValueError, "gama"),
        ({"output_solver": "nope"}, ValueError, "output_solver"),
    ],
)
def test_bad_parameters_are_named(params, exc, match):
    X, y = _teacher_data(50)
    with pytest.raises(exc, match=match):
        DanteClassifier(**params).fit(X, y > 0)


def test_step_control_reaches_the_trainer(digits):
    """lr_schedule and output_solver are TrainConfig fields passed through unchanged."""
    Xtr, Xte, ytr, yte = digits
    scaler = StandardScaler().fit(Xtr)
    clf = DanteClassifier(
        lr_schedule="step", lr_schedule_options={"gamma": 0.5}, output_solver="lbfgs",
        output_solver_options={"l2": 1e-2}, max_alternations=3, random_state=0,
    ).fit(scaler.transform(Xtr), ytr)  # fmt: skip
    cfg = clf.result_.config
    assert (cfg.lr_schedule, cfg.lr_schedule_options) == ("step", {"gamma": 0.5})
    assert (cfg.output_solver, cfg.output_solver_options) == ("lbfgs", {"l2": 1e-2})
    assert clf.lr_schedule_options == {"gamma": 0.5}  # the parameter itself is not changed
    # three alternations with an L-BFGS output layer: measured 0.978-0.982 (seeds 0-2)
    assert clf.score(scaler.transform(Xte), yte) > 0.9
    reg = DanteRegressor(output_solver="ridge", max_alternations=2, random_state=0)
    X, y = _teacher_data(300)
    assert reg.fit(X, y).result_.config.output_solver == "ridge"


def test_batch_size_larger_than_data_is_clipped():
    X, y = _teacher_data(20)
    with pytest.warns(UserWarning, match="batch_size=64 is larger"):
        reg = DanteRegressor(batch_size=64, max_alternations=1).fit(X, y)
    assert reg.result_.config.batch_size == 20


def test_feature_names_in_with_pandas():
    pd = pytest.importorskip("pandas")
    X, y = _teacher_data(100)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
    reg = DanteRegressor(max_alternations=1, random_state=0).fit(df, y)
    np.testing.assert_array_equal(reg.feature_names_in_, df.columns)


def test_lazy_export():
    code = (
        "import sys, dante; assert 'dante.sklearn' not in sys.modules; "
        "assert dante.DanteClassifier.__module__ == 'dante.sklearn'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
