"""Core-hours a bundled spec costs under its own protocol (docs/COMPUTE.md).

    python docs/compute_estimate.py [NAME ...]      # default: every bundled spec
    python docs/compute_estimate.py --measured      # what the per-unit files record
    python docs/compute_estimate.py --measured --write   # ... into docs/COMPUTE.md

Per (cell, method), in backprop-epoch equivalents ``E`` (the cell's budget):
``runs = n + n * [paper_lr] + 0.9 * (fraction * g + keep * sel_seeds)``, the
selection term only when the grid has more than one rate and, with
``share_by: dataset_depth``, only in the first cell of its share group; ``n``
the cell's seed count, ``g`` the grid size plus one expected edge extension.
``cost = runs * E * (CPU s per equivalent of the family) * (n_train * n_params)
/ (the family's reference)``. The seconds are COMPUTE.md's second measurement
(one torch thread per process, two processes on two cores);
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
    "shallow": (79_510, {"dante": 0.35, "sgd": 0.36}),  # 784-100-10
    "deep": (817_260, {"dante": 13.0, "sgd": 5.2}),  # 784-600-400-200-100-50-10
    "autoencoder": (942_184, {"dante": 6.6, "sgd": 4.6}),  # 784-600-784
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


def measured(results: str = "results") -> dict[str, tuple[int, float]]:
    """Per spec with per-unit files: (runs recorded, core-hours they took), from
    the ``seconds`` of selection runs and ``total_seconds`` of seed runs."""
    import json
    from pathlib import Path

    def seconds(x) -> float:
        if isinstance(x, dict):
            if "total_seconds" in x:
                return float(x["total_seconds"])
            if isinstance(x.get("seconds"), (int, float)):
                return float(x["seconds"])
            return sum(seconds(v) for v in x.values())
        if isinstance(x, list):
            return sum(seconds(v) for v in x)
        return 0.0

    out: dict[str, tuple[int, float]] = {}
    for spec_dir in sorted(p for p in Path(results).iterdir() if p.is_dir()):
        files = [f for f in spec_dir.rglob("*.json") if f.parent != spec_dir]
        total = sum(seconds(json.loads(f.read_text())) for f in files)
        out[spec_dir.name] = (len(files), total / 3600)
    return out


def _status(name: str, results: str = "results") -> str:
    """A spec's state from its summary file: complete, incomplete (cells done of
    all, training rows) or, with per-unit files but no summary, in progress."""
    import json
    from pathlib import Path

    path = Path(results) / f"{name}.json"
    if not path.exists():
        return "in progress (no summary yet)"
    payload = json.loads(path.read_text())
    done = payload.get("cells", [])
    rows = sorted({int(c["n_train"]) for c in done if "n_train" in c})
    scale = f", {rows[0]:,}-{rows[-1]:,} training rows" if rows else ""
    if rows and rows[0] == rows[-1]:
        scale = f", {rows[0]:,} training rows"
    if payload.get("complete", True):
        return f"complete{scale}"
    total = len(done) + len(payload.get("missing", {}))
    return f"incomplete ({len(done)}/{total} cells{scale})"


_START, _END = "<!-- measured:start -->", "<!-- measured:end -->"


def measured_table() -> list[str]:
    """Markdown lines: per spec with per-unit files, units, core-hours, state."""
    lines = ["| spec | unit files | core-hours measured | state |", "|---|---:|---:|---|"]
    for name, (n, hours) in measured().items():
        if name in ("archive", "reruns"):
            continue
        lines.append(f"| {name} | {n} | {hours:.2f} | {_status(name)} |")
    return lines


def main(names: list[str]) -> None:
    if names[:1] == ["--measured"]:
        lines = measured_table()
        if names[1:] == ["--write"]:
            from pathlib import Path

            doc = Path(__file__).with_name("COMPUTE.md")
            text = doc.read_text()
            head, rest = text.split(_START)
            _, tail = rest.split(_END)
            doc.write_text(head + _START + "\n" + "\n".join(lines) + "\n" + _END + tail)
        print("\n".join(lines))
        return
    rows = sorted((core_hours(load_spec(n)), n) for n in names or list_experiments())
    cumulative = 0.0
    for hours, name in rows:
        cumulative += hours
        print(f"| {name} | {hours:.1f} | {cumulative:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
