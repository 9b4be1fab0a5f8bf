"""Goal P6: :class:`~dante.sklearn.DanteClassifier` against scikit-learn's
:class:`~sklearn.neural_network.MLPClassifier` on small tabular data sets,
both at their defaults.

:func:`p6_tabular` runs, side by side in one process,
``make_pipeline(StandardScaler(), DanteClassifier())`` and
``make_pipeline(StandardScaler(), MLPClassifier())`` through
:func:`~sklearn.model_selection.cross_validate` on the same folds
(``StratifiedKFold(cv, shuffle=True, random_state=seed)``) and reports, per
data set, the mean test accuracy and the mean fit time of each side, then the
P6 figures: the mean accuracy gap in percentage points (DANTE minus MLP,
averaged over the data sets; goal >= -0.5) and the median over the data sets
of the fit-time ratio DANTE / MLP (goal <= 1.0).

The five P6 data sets are scikit-learn's ``iris``, ``wine``, ``digits`` and
``breast_cancer`` and ``moons``: ``make_moons(n_samples=500, noise=0.3,
random_state=seed)``, 500 points so that each test fold holds 100 and noise 0.3
so that the classes overlap (the Bayes accuracy is about 0.92, so neither
side can reach 1.0 and the gap measures something). :data:`TUNING_SETS` are
other data sets, used to choose the estimators' defaults without looking at
the five: the vendored ``ionosphere``, ``vehicle`` and ``svmguide4`` (train
and test splits joined) and four ``make_classification`` problems.

Timing: torch's one-time costs (:func:`dante.trainer.warm_up_torch`) and one
throw-away fit of each pipeline (lazy imports on both sides) are paid before
any fold is timed; ``fit_time`` is what ``cross_validate`` measures, the
scaler included on both sides. MLPClassifier's ``ConvergenceWarning`` (its
200-epoch cap) is silenced.
"""

from __future__ import annotations

import statistics
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "P6_DATASETS",
    "P6_GOAL",
    "TUNING_SETS",
    "format_table",
    "load_tabular",
    "p6_lines",
    "p6_tabular",
]

#: the five data sets of goal P6
P6_DATASETS = ("iris", "wine", "moons", "digits", "breast_cancer")
#: data sets for choosing defaults, disjoint from :data:`P6_DATASETS`
TUNING_SETS = (
    "ionosphere", "vehicle", "svmguide4", "clf_small", "clf_easy", "clf_hard", "clf_multi",
)  # fmt: skip
#: goal P6: accuracy gap (pp, DANTE - MLP) at least, fit-time ratio at most
P6_GOAL = {"accuracy_gap_pp": -0.5, "fit_time_ratio": 1.0}


def _sklearn_set(name: str) -> Callable[[int], tuple[np.ndarray, np.ndarray]]:
    def load(seed: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn import datasets

        return getattr(datasets, f"load_{name}")(return_X_y=True)

    return load


def _vendored(name: str) -> Callable[[int], tuple[np.ndarray, np.ndarray]]:
    def load(seed: int) -> tuple[np.ndarray, np.ndarray]:
        from ..data import load as load_set

        ds = load_set(name, seed=seed)
        return np.concatenate([ds.X_train, ds.X_test]), np.concatenate([ds.y_train, ds.y_test])

    return load


def _generated(maker: str, **kw: Any) -> Callable[[int], tuple[np.ndarray, np.ndarray]]:
    def load(seed: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn import datasets

        return getattr(datasets, maker)(random_state=seed, **kw)

    return load


_LOADERS: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
    "iris": _sklearn_set("iris"),
    "wine": _sklearn_set("wine"),
    "digits": _sklearn_set("digits"),
    "breast_cancer": _sklearn_set("breast_cancer"),
    "moons": _generated("make_moons", n_samples=500, noise=0.3),
    "ionosphere": _vendored("ionosphere"),
    "vehicle": _vendored("vehicle"),
    "svmguide4": _vendored("svmguide4"),
}
#: ``make_classification`` tuning problems (besides ``random_state``): ``clf_small``
#: is as small as iris and wine (full-batch training at the defaults);
#: ``clf_easy`` has 5 informative features of 20 and 1% flipped labels;
#: ``clf_hard`` overlapping clusters (``class_sep=0.7``) and 10% flipped labels;
#: ``clf_multi`` five classes
_ONE_CLUSTER = {"n_clusters_per_class": 1}
_CLASSIFICATION: dict[str, dict[str, Any]] = {
    "clf_small": dict(n_samples=150, n_features=8, n_informative=4, n_classes=3, **_ONE_CLUSTER),
    "clf_easy": dict(n_samples=400, n_features=20, n_informative=5),
    "clf_hard": dict(n_samples=600, n_features=30, n_informative=8, class_sep=0.7, flip_y=0.1),
    "clf_multi": dict(n_samples=800, n_features=40, n_informative=12, n_classes=5, **_ONE_CLUSTER),
}
_LOADERS.update({k: _generated("make_classification", **v) for k, v in _CLASSIFICATION.items()})


def load_tabular(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of one of :data:`P6_DATASETS` or :data:`TUNING_SETS`.

    Parameters
    ----------
    name : str
    seed : int, default=0
        Seeds the generated sets (``moons``, ``clf_*``); the others are fixed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(_LOADERS)}")
    X, y = _LOADERS[name](seed)
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def _side(scores: dict[str, np.ndarray]) -> dict[str, Any]:
    return {
        "accuracy": float(np.mean(scores["test_score"])),
        "accuracy_std": float(np.std(scores["test_score"])),
        "fold_accuracy": [float(s) for s in scores["test_score"]],
        "fit_seconds": float(np.mean(scores["fit_time"])),
    }


def _warm_up(pipelines: dict[str, Any]) -> None:
    """Pay the one-time costs (torch's, and each side's lazy imports) off the clock."""
    from sklearn.base import clone

    from ..trainer import warm_up_torch

    warm_up_torch()
    X, y = load_tabular("iris")
    for pipe in pipelines.values():
        clone(pipe).fit(X[::3], y[::3])


def p6_tabular(
    datasets: Sequence[str] = P6_DATASETS,
    cv: int = 5,
    seed: int = 0,
    dante: Any = None,
    mlp: Any = None,
) -> dict[str, Any]:
    """Cross-validate DanteClassifier and MLPClassifier side by side (goal P6).

    Parameters
    ----------
    datasets : sequence of str, default=P6_DATASETS
        Names accepted by :func:`load_tabular`.
    cv : int, default=5
        Folds of ``StratifiedKFold(cv, shuffle=True, random_state=seed)``,
        the same for both sides.
    seed : int, default=0
        Seeds the folds and the generated data sets. The estimators keep
        ``random_state=None``, their default.
    dante, mlp : estimator, optional
        Replace ``DanteClassifier()`` / ``MLPClassifier()`` (for tuning; P6
        itself uses the defaults). Each is put after a ``StandardScaler``.

    Returns
    -------
    dict
        ``datasets``: per name ``n_samples``, ``n_features``, ``n_classes``,
        ``dante`` and ``mlp`` (``accuracy``, ``accuracy_std``,
        ``fold_accuracy``, ``fit_seconds``: means over the folds),
        ``accuracy_gap_pp`` and ``fit_time_ratio`` (DANTE / MLP);
        ``mean_accuracy`` (per side, over the data sets); ``accuracy_gap_pp``
        (mean of DANTE minus mean of MLP, percentage points);
        ``median_fit_time_ratio``; ``goal`` (:data:`P6_GOAL`); ``met``
        (``{"accuracy": bool, "fit_time": bool, "both": bool}``); ``cv``,
        ``seed``.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold, cross_validate
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..sklearn import DanteClassifier

    if not datasets:
        raise ValueError("datasets is empty")
    pipelines = {
        "dante": make_pipeline(StandardScaler(), DanteClassifier() if dante is None else dante),
        "mlp": make_pipeline(StandardScaler(), MLPClassifier() if mlp is None else mlp),
    }
    rows: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _warm_up(pipelines)
        for name in datasets:
            X, y = load_tabular(name, seed)
            folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
            row: dict[str, Any] = {
                "n_samples": int(X.shape[0]),
                "n_features": int(X.shape[1]),
                "n_classes": int(len(np.unique(y))),
            }
            for side, pipe in pipelines.items():
                row[side] = _side(cross_validate(pipe, X, y, cv=folds, scoring="accuracy"))
            row["accuracy_gap_pp"] = 100 * (row["dante"]["accuracy"] - row["mlp"]["accuracy"])
            row["fit_time_ratio"] = row["dante"]["fit_seconds"] / row["mlp"]["fit_seconds"]
            rows[name] = row
    mean_acc = {
        side: float(np.mean([r[side]["accuracy"] for r in rows.values()]))
        for side in ("dante", "mlp")
    }
    gap = 100 * (mean_acc["dante"] - mean_acc["mlp"])
    ratio = float(statistics.median(r["fit_time_ratio"] for r in rows.values()))
    met = {
        "accuracy": gap >= P6_GOAL["accuracy_gap_pp"],
        "fit_time": ratio <= P6_GOAL["fit_time_ratio"],
    }
    met["both"] = met["accuracy"] and met["fit_time"]
    return {
        "datasets": rows,
        "mean_accuracy": mean_acc,
        "accuracy_gap_pp": gap,
        "median_fit_time_ratio": ratio,
        "goal": dict(P6_GOAL),
        "met": met,
        "cv": cv,
        "seed": seed,
    }


def format_table(result: dict[str, Any]) -> str:
    """A Markdown table of a :func:`p6_tabular` result.

    Parameters
    ----------
    result : dict
        What :func:`p6_tabular` returned.

    Returns
    -------
    str
        One row per data set (accuracy, gap, fit time of each side, ratio) and
        a last row with the P6 aggregates.
    """
    lines = [
        "| data set | n x d | DANTE acc | MLP acc | gap (pp) | DANTE fit (s) | MLP fit (s) "
        "| ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in result["datasets"].items():
        d, m = r["dante"], r["mlp"]
        lines.append(
            f"| {name} | {r['n_samples']} x {r['n_features']} | {d['accuracy']:.4f} | "
            f"{m['accuracy']:.4f} | {r['accuracy_gap_pp']:+.2f} | {d['fit_seconds']:.3f} | "
            f"{m['fit_seconds']:.3f} | {r['fit_time_ratio']:.2f} |"
        )
    ma = result["mean_accuracy"]
    lines.append(
        f"| **P6** | | {ma['dante']:.4f} | {ma['mlp']:.4f} | {result['accuracy_gap_pp']:+.2f} "
        f"| | | median {result['median_fit_time_ratio']:.2f} |"
    )
    return "\n".join(lines)


def p6_lines(p6: dict[str, Any] | None) -> list[str]:
    """PERFORMANCE.md summary rows of P6 (the detail is :func:`format_table`)."""
    if not p6:
        return []
    goal, met, ma = p6["goal"], p6["met"], p6["mean_accuracy"]
    where = f"{len(p6['datasets'])} data sets, {p6['cv']}-fold CV, both at their defaults"
    return [
        f"| P6 mean accuracy gap DanteClassifier - MLPClassifier ({where}) | "
        f"{p6['accuracy_gap_pp']:+.2f} pp (DANTE {ma['dante']:.4f}, MLP {ma['mlp']:.4f}) | "
        f">= {goal['accuracy_gap_pp']:g} pp | {'yes' if met['accuracy'] else 'no'} |",
        f"| P6 median fit-time ratio DanteClassifier / MLPClassifier ({where}) | "
        f"{p6['median_fit_time_ratio']:.2f} | <= {goal['fit_time_ratio']:g} | "
        f"{'yes' if met['fit_time'] else 'no'} |",
    ]
