"""Goal P6 benchmark (dante.bench.p6): DanteClassifier against
MLPClassifier side by side, both at their defaults, on the same folds."""

from __future__ import annotations

import numpy as np
import pytest

from dante.bench.p6 import (
    P6_DATASETS,
    TUNING_SETS,
    format_table,
    load_tabular,
    p6_tabular,
)


@pytest.fixture(scope="module")
def result():
    return p6_tabular(datasets=("iris", "wine"), cv=2, seed=0)


def test_structure_and_aggregates(result):
    assert list(result["datasets"]) == ["iris", "wine"]
    assert result["cv"] == 2 and result["seed"] == 0
    for name, row in result["datasets"].items():
        X, y = load_tabular(name)
        assert (row["n_samples"], row["n_features"], row["n_classes"]) == (*X.shape, 3)
        for side in ("dante", "mlp"):
            assert len(row[side]["fold_accuracy"]) == 2
            assert row[side]["fit_seconds"] > 0
            np.testing.assert_allclose(row[side]["accuracy"], np.mean(row[side]["fold_accuracy"]))
        gap = 100 * (row["dante"]["accuracy"] - row["mlp"]["accuracy"])
        np.testing.assert_allclose(row["accuracy_gap_pp"], gap)
    rows = result["datasets"].values()
    mean_dante = np.mean([r["dante"]["accuracy"] for r in rows])
    mean_mlp = np.mean([r["mlp"]["accuracy"] for r in rows])
    np.testing.assert_allclose(result["accuracy_gap_pp"], 100 * (mean_dante - mean_mlp))
    # the median of two ratios is their mean
    ratios = [r["fit_time_ratio"] for r in rows]
    np.testing.assert_allclose(result["median_fit_time_ratio"], np.mean(ratios))
    met = result["met"]
    assert met["accuracy"] == (result["accuracy_gap_pp"] >= -0.5)
    assert met["fit_time"] == (result["median_fit_time_ratio"] <= 1.0)
    assert met["both"] == (met["accuracy"] and met["fit_time"])
    assert "| iris | 150 x 4 |" in format_table(result)


def test_accuracies_plausible(result):
    # 2-fold CV, 75-89 training rows, five runs (the estimators are unseeded):
    # DANTE 0.927-0.953 / MLP 0.940-0.953 on iris, 0.961-0.966 / 0.961-0.978 on
    # wine; an untrained net stays near chance (0.33-0.40)
    for name in ("iris", "wine"):
        row = result["datasets"][name]
        assert row["dante"]["accuracy"] > 0.85, name
        assert row["mlp"]["accuracy"] > 0.85, name


def test_data_sets():
    assert not set(P6_DATASETS) & set(TUNING_SETS)  # defaults tuned off the benchmark
    X, y = load_tabular("moons", seed=3)
    assert X.shape == (500, 2) and set(np.unique(y)) == {0, 1}
    X2, _ = load_tabular("moons", seed=3)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        load_tabular("nope")
    with pytest.raises(ValueError, match="datasets is empty"):
        p6_tabular(datasets=())
