"""Core-hours a bundled spec costs under its own protocol (docs/COMPUTE.md).

    python docs/compute_estimate.py [NAME ...]      # default: every bundled spec

Per (cell, method), in backprop-epoch equivalents ``E`` (the cell's budget):
``runs = n + n * [paper_lr] + 0.9 * (fraction * g + keep * sel_seeds)``, the
selection term only when the grid has more than one rate and, with
``share_by: dataset_depth``, only in the first cell of its share group; ``n``
the cell's seed count, ``g`` the grid size plus one expected edge extension.
``cost = runs * E * (CPU s per equivalent of the family) * (n_train * n_params)
/ (the family's reference)``. The CPU seconds are COMPUTE.md's measurements;
AM-Adam and ADMM are counted at 3x SGD. Loads the small data sets to read
their sizes; specs whose data is missing count 0 for those cells.
"""

from __future__ import annotations

import sys

from dante.experiments import load_spec
from dante.experiments.spec import list_experiments
from dante.experiments.training import cells

#: family -> (n_params of the reference network, {"dante"|"sgd": CPU s per equivalent})
FAMILIES = {
    "shallow": (79_510, {"dante": 8.0, "sgd": 8.4}),  # 784-100-10
    "deep": (817_260, {"dante": 105.0, "sgd": 42.0}),  # 784-600-400-200-100-50-10
    "autoencoder": (942_184, {"dante": 87.0, "sgd": 30.0}),  # 784-600-784
}
REFERENCE_N_TRAIN = 60_000
IMAGES = {"mnist": (784, 10, 60_000), "fashion_mnist": (784, 10, 60_000)}


def _n_params(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _sizes(spec, dataset: str) -> tuple[int, int, int]:
    """(inputs, outputs, training rows) of a cell's data set."""
    n_train = (spec.dataset_options.get(dataset) or {}).get("n_train")
    if dataset in IMAGES:
        d_in, d_out, n = IMAGES[dataset]
        return d_in, d_out, n_train or n
    from dante import data

    ds = data.load(dataset, seed=0)
    d_out = ds.n_classes if ds.task == "classification" else 1
    return ds.X_train.shape[1], d_out, n_train or len(ds.X_train)


def core_hours(spec) -> float:
    """The estimate of ``spec`` (a loaded :class:`ExperimentSpec`), in core-hours."""
    total, selected = 0.0, set()
    shared = spec.selection.share_by == "dataset_depth"
    sel = spec.selection
    for cell in cells(spec):
        try:
            d_in, d_out, n_train = _sizes(spec, cell.dataset)
        except Exception:  # data not installed
            continue
        autoencoder = spec.kind in ("autoencoder_svm", "reconstruction")
        if autoencoder:  # encoder widths, then the decoder's mirror
            sizes = [d_in, *cell.hidden, *cell.hidden[-2::-1], d_in]
            family = "autoencoder"
        else:
            sizes = [d_in, *cell.hidden, d_out]
            family = "shallow" if len(cell.hidden) == 1 else "deep"
        ref_params, rates = FAMILIES[family]
        scale = n_train * _n_params(sizes) / (ref_params * REFERENCE_N_TRAIN)
        n = cell.n_seeds
        for key, m in spec.methods.items():
            rate = rates["dante"] if m.alternating else rates["sgd"]
            if m.method in ("am_adam", "admm"):
                rate = 3 * rates["sgd"]
            runs = n + (n if m.paper_lr is not None else 0)
            first = (cell.share_key, key) not in selected
            selected.add((cell.share_key, key))
            if len(m.lr_grid) > 1 and (first or not shared):
                g = len(m.lr_grid) + 1
                runs += 0.9 * (sel.fraction * g + sel.keep * sel.seeds)
            total += runs * cell.budget_epochs * rate * scale
    return total / 3600


def main(names: list[str]) -> None:
    rows = sorted((core_hours(load_spec(n)), n) for n in names or list_experiments())
    cumulative = 0.0
    for hours, name in rows:
        cumulative += hours
        print(f"| {name} | {hours:.1f} | {cumulative:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
