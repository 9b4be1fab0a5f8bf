"""Study ``exact_erm``: how far DANTE and backprop SGD land from the certified optimum.

On tiny regression problems the global minimum of the training MSE over
depth-2 ReLU nets of the trained width is computed exactly by Algorithm 1 of
``003_a707f9d83869f5a2.txt`` (Ch. 2.4, :func:`dante.exact.erm.exact_erm`, with
an output bias, as :class:`dante.MLP` has one). The same data are fitted by
``dante.fit`` with ``method="dante"`` and ``method="sgd"`` on
``MLP([n, w, 1], activation="relu", output_activation="identity")``, and the
optimality gap ``train MSE - optimum`` is reported.

A second group of rows runs Algorithm 1 in ``R^3``/``R^4`` and with the hinge
loss (:func:`exact_erm` for any ``n`` and any convex loss) against a brute-force
upper bound (:func:`dante.exact.oracle.restart_upper_bound`: the least loss of
many random Adam restarts), and records the solve time; :data:`MINUTE_SIZES`
lists the largest sizes measured to finish within a minute on one core.

Thresholds, declared here before the run:

* certified: every convex program reached its certificate (``kkt <= 1e-7``);
* oracle sanity: no trained or restarted net beats the optimum (gap
  ``>= -1e-9`` in MSE units; ``-1e-7`` in summed loss for the restarts, the
  LP tolerance);
* brute-force sharpness (a property of the oracle, not of the theorem): the
  best restart is within 1% of the optimum (``<= 1.01 opt + 1e-6 / D`` in mean
  loss) in at least 90% of the brute-force instances;
* project hypothesis (no paper claim): DANTE ends within 1% of the optimum
  (``MSE <= 1.01 opt + 1e-9``) in at least half of the runs, and at least as
  often as SGD.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..experiments import plotting
from ..experiments.study import Claim, StudyResult, register_study, study_arguments
from .erm import exact_erm
from .oracle import restart_upper_bound

__all__ = ["MINUTE_SIZES", "make_instance", "run_study"]

#: (loss, n, width) -> (largest D measured to finish within 60 s, its seconds): one core,
#: x ~ N(0, I), y ~ N(0, 1) (hinge: its sign), output bias, measured when the shared machine
#: was idle (under a load of ~20 the same runs took ~20x longer). Where every size tried
#: finished, the limit is larger than listed (squared n=1 w=2, n=1 w=3, n=2 w=1, n=3 w=1).
MINUTE_SIZES: dict[tuple[str, int, int], tuple[int, float]] = {
    ("squared", 1, 2): (320, 24.2),
    ("squared", 1, 3): (60, 11.8),
    ("squared", 2, 1): (240, 22.9),
    ("squared", 2, 2): (30, 35.9),
    ("squared", 3, 1): (80, 37.7),
    ("squared", 3, 2): (14, 37.4),
    ("squared", 4, 1): (40, 44.8),
    ("squared", 5, 1): (24, 47.1),
    ("hinge", 1, 3): (24, 46.9),  # D = 32: 80 s
    ("hinge", 2, 1): (120, 35.9),
    ("hinge", 2, 2): (14, 28.7),  # D = 18: 66 s
    ("hinge", 3, 1): (40, 25.7),
}

# training settings (documented in the study's setup string)
_DANTE = {"method": "dante", "lr": 0.01, "t_sngd": 5, "batch_size": 4}
_SGD = {"method": "sgd", "lr": 0.05, "batch_size": 4}
_TRAIN_KEYS = ("dante_mse", "dante_gap", "dante_rel_gap", "sgd_mse", "sgd_gap", "sgd_rel_gap")
NAN = float("nan")


def make_instance(n: int, D: int, target: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``U[-1, 1]^n`` and targets.

    ``target="teacher"``: a width-2 ReLU net (Gaussian weights, biases
    ``N(0, 0.25)``) plus ``N(0, 0.05^2)`` noise; ``"smooth"``: the
    non-realizable ``sin(3 x)`` (1-D) or ``sin(2 x_1) cos(2 x_2)`` (2-D) plus
    the same noise. Any ``n``: ``"random"``, ``x ~ N(0, I)``, ``y ~ N(0, 1)``;
    ``"labels"``, ``+-1`` labels of a width-2 ReLU teacher split at its
    median, 20% flipped (for the hinge).
    """
    if target == "random":  # any n: y ~ N(0, 1)
        rng = np.random.default_rng([seed, n, D, 2])
        return rng.normal(size=(D, n)), rng.normal(size=D)
    if target == "labels":  # any n: +-1 labels of a width-2 ReLU teacher, 20% flipped
        rng = np.random.default_rng([seed, n, D, 3])
        X = rng.normal(size=(D, n))
        f = np.maximum(X @ rng.normal(size=(n, 2)) + 0.5 * rng.normal(size=2), 0) @ rng.normal(
            size=2
        )
        y = np.where(f > np.median(f), 1.0, -1.0)
        return X, np.where(rng.random(D) < 0.2, -y, y)
    if target not in ("teacher", "smooth"):
        raise ValueError(
            f"target must be 'teacher', 'smooth', 'random' or 'labels', got {target!r}"
        )
    rng = np.random.default_rng([seed, n, D, 0 if target == "teacher" else 1])
    X = rng.uniform(-1, 1, size=(D, n))
    if n == 1:
        X = np.sort(X, axis=0)
    if target == "teacher":
        W = rng.normal(size=(2, n))
        b = rng.normal(size=2) * 0.5
        v = rng.normal(size=2)
        y = np.maximum(X @ W.T + b, 0) @ v
    else:
        y = np.sin(3 * X[:, 0]) if n == 1 else np.sin(2 * X[:, 0]) * np.cos(2 * X[:, 1])
    return X, y + 0.05 * rng.normal(size=D)


def _train(X: np.ndarray, y: np.ndarray, width: int, seed: int, kw: dict, epochs: int):
    import dante

    net = dante.MLP(
        [X.shape[1], width, 1], activation="relu", output_activation="identity", seed=seed
    )
    dante.fit(
        net,
        X.astype(np.float32),
        y.astype(np.float32),
        task="regression",
        max_alternations=epochs,
        tol=0.0,
        seed=seed,
        **kw,
    )
    net = net.double()
    with torch.no_grad():
        out = net(torch.as_tensor(X)).numpy()[:, 0]
    # the float64 MSE of the trained weights: a member of the same network class
    return float(np.mean((out - y) ** 2)), net


@register_study("exact_erm")
def run_study(quick: bool, seeds: Sequence[int], out_dir: Path) -> StudyResult:
    """Certified ERM optimum (``003``, Algorithm 1) vs DANTE and SGD on tiny ReLU regressions."""
    seeds, out_dir = study_arguments(quick, seeds, out_dir)
    plt = plotting.pyplot()
    if quick:
        cells = [(1, 8, 1), (1, 8, 2), (2, 7, 1)]
        targets = ["smooth"]
        dante_alt, sgd_epochs = 10, 60
        brute_cells = [(3, 7, 1, "squared"), (2, 7, 1, "hinge")]
        restarts, steps = 16, 200
    else:
        cells = [(1, 20, 1), (1, 20, 2), (1, 20, 3), (2, 12, 1), (2, 12, 2)]
        targets = ["teacher", "smooth"]
        dante_alt, sgd_epochs = 100, 500
        brute_cells = [
            (3, 10, 1, "squared"),
            (3, 7, 2, "squared"),
            (4, 9, 1, "squared"),
            (1, 12, 3, "hinge"),
            (2, 10, 2, "hinge"),
            (3, 10, 1, "hinge"),
        ]
        restarts, steps = 64, 600
    rows = []
    fits_1d = {}
    for n, D, width in cells:
        for target in targets:
            for seed in seeds:
                X, y = make_instance(n, D, target, seed)
                t0 = time.perf_counter()
                res = exact_erm(X, y, width, output_bias=True)
                t_erm = time.perf_counter() - t0
                opt = res.mse
                mse_d, net_d = _train(X, y, width, seed, _DANTE, dante_alt)
                mse_s, net_s = _train(X, y, width, seed, _SGD, sgd_epochs)
                denom = max(opt, 1e-12)
                rows.append(
                    {
                        "n": n,
                        "D": D,
                        "width": width,
                        "target": target,
                        "loss": "squared",
                        "seed": seed,
                        "opt_mse": opt,
                        "certified": bool(res.certified),
                        "kkt": res.kkt_residual,
                        "n_qps": res.n_qps,
                        "n_guesses": res.n_guesses,
                        "erm_s": round(t_erm, 3),
                        "dante_mse": mse_d,
                        "dante_gap": mse_d - opt,
                        "dante_rel_gap": (mse_d - opt) / denom,
                        "sgd_mse": mse_s,
                        "sgd_gap": mse_s - opt,
                        "sgd_rel_gap": (mse_s - opt) / denom,
                        "brute_mean_loss": NAN,
                    }
                )
                if n == 1 and seed == seeds[0] and target == targets[-1]:
                    fits_1d[width] = (X, y, res, net_d, net_s)

    train_rows = list(rows)
    for n, D, width, loss in brute_cells:
        for seed in seeds:
            X, y = make_instance(n, D, "random" if loss == "squared" else "labels", seed)
            t0 = time.perf_counter()
            res = exact_erm(X, y, width, output_bias=True, loss=loss)
            t_erm = time.perf_counter() - t0
            brute = restart_upper_bound(
                X, y, width, loss=loss, restarts=restarts, steps=steps, lr=0.02, seed=seed
            )
            rows.append(
                {
                    "n": n,
                    "D": D,
                    "width": width,
                    "target": "random" if loss == "squared" else "labels",
                    "loss": loss,
                    "seed": seed,
                    "opt_mse": res.mse,
                    "certified": bool(res.certified),
                    "kkt": res.kkt_residual,
                    "n_qps": res.n_qps,
                    "n_guesses": res.n_guesses,
                    "erm_s": round(t_erm, 3),
                    **{k: NAN for k in _TRAIN_KEYS},
                    "brute_mean_loss": brute / D,
                }
            )
    brute_rows = rows[len(train_rows) :]

    figures = []
    if fits_1d:
        fig, axes = plt.subplots(1, len(fits_1d), figsize=(4 * len(fits_1d), 3.2), squeeze=False)
        for ax, (width, (X, y, res, net_d, net_s)) in zip(axes[0], sorted(fits_1d.items())):
            grid = np.linspace(-1.05, 1.05, 400)
            with torch.no_grad():
                gd = net_d(torch.as_tensor(grid[:, None])).numpy()[:, 0]
                gs = net_s(torch.as_tensor(grid[:, None])).numpy()[:, 0]
            ax.plot(X[:, 0], y, "ko", ms=4, label="data")
            ax.plot(grid, res.predict(grid), "g-", lw=2, label="exact ERM")
            ax.plot(grid, gd, "b--", label="DANTE")
            ax.plot(grid, gs, "r:", label="SGD")
            plotting.style_axes(ax, title=f"width {width}: opt MSE {res.mse:.4f}", xlabel="x")
        plotting.style_axes(axes[0][0], legend=7)
        figures.append(plotting.save_figure(fig, out_dir, "exact_erm_fits_1d.png"))

    labels = [f"{r['n']}D w{r['width']} {r['target'][0]}" for r in train_rows]
    keys = sorted(set(labels), key=labels.index)
    med_d = [
        np.median([r["dante_rel_gap"] for r, k in zip(train_rows, labels) if k == key])
        for key in keys
    ]
    med_s = [
        np.median([r["sgd_rel_gap"] for r, k in zip(train_rows, labels) if k == key])
        for key in keys
    ]
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(keys) + 2), 3.4))
    pos = np.arange(len(keys))
    ax.bar(pos - 0.2, np.maximum(med_d, 1e-6), 0.4, label="DANTE")
    ax.bar(pos + 0.2, np.maximum(med_s, 1e-6), 0.4, label="SGD")
    ax.axhline(0.01, color="k", lw=0.8, ls="--", label="1% of optimum")
    ax.set_xticks(pos)
    ax.set_xticklabels(keys, rotation=30, ha="right", fontsize=8)
    plotting.style_axes(ax, yscale="log", ylabel="median relative gap (MSE - opt) / opt", legend=8)
    figures.append(plotting.save_figure(fig, out_dir, "exact_erm_gaps.png"))

    tol = 1e-9
    min_gap_d = min(r["dante_gap"] for r in train_rows)
    min_gap_s = min(r["sgd_gap"] for r in train_rows)
    n_cert = sum(r["certified"] for r in rows)
    within_d = float(np.mean([r["dante_mse"] <= 1.01 * r["opt_mse"] + tol for r in train_rows]))
    within_s = float(np.mean([r["sgd_mse"] <= 1.01 * r["opt_mse"] + tol for r in train_rows]))
    # brute force: summed-loss units (x D) for the LP tolerance
    b_gap = [(r["brute_mean_loss"] - r["opt_mse"]) * r["D"] for r in brute_rows]
    b_close = [r["brute_mean_loss"] <= 1.01 * r["opt_mse"] + 1e-6 / r["D"] for r in brute_rows]
    claims = [
        Claim(
            "Algorithm 1 (Ch. 2.4) solves ERM for depth-2 ReLU nets to global optimality: "
            "every convex program reached its certificate (held := every instance certified, "
            "KKT / duality-gap residual <= 1e-7)",
            n_cert == len(rows),
            f"{n_cert}/{len(rows)} instances certified; max certificate residual "
            f"{max(r['kkt'] for r in rows):.1e}",
        ),
        Claim(
            "Oracle sanity: no trained net of the same width beats the certified optimum "
            "(held := both gaps >= -1e-9 in MSE units)",
            min_gap_d >= -tol and min_gap_s >= -tol,
            f"min DANTE gap {min_gap_d:.2e}, min SGD gap {min_gap_s:.2e} (MSE units)",
        ),
        Claim(
            "Theorem 2.4.1 for any input dimension and convex loss (squared in R^3, R^4; hinge): "
            f"the certified optimum is <= the best of {restarts} random restarts ({steps} Adam "
            "steps) in every instance (held := restarts - optimum >= -1e-7 in summed loss)",
            bool(min(b_gap) >= -1e-7),
            f"min (restarts - optimum) {min(b_gap):.2e} (summed loss) over {len(b_gap)} "
            "instances; ERM seconds (first seed) "
            + ", ".join(
                f"{r['loss']} n={r['n']} D={r['D']} w={r['width']}: {r['erm_s']:.1f}"
                for r in brute_rows
                if r["seed"] == seeds[0]
            ),
        ),
        Claim(
            "Brute-force sharpness (declared in the module docstring): the best of the random "
            "restarts is within 1% of the certified optimum in >= 90% of the instances (held := "
            "restarts <= 1.01 opt + 1e-6 / D in mean loss)",
            bool(np.mean(b_close) >= 0.9),
            f"within 1% in {np.mean(b_close):.0%} of {len(b_close)}; where not (mean loss, "
            "optimum vs restarts): "
            + ", ".join(
                f"{r['loss']} n={r['n']} D={r['D']} w={r['width']} s{r['seed']}: "
                f"{r['opt_mse']:.3f} vs {r['brute_mean_loss']:.3f}"
                for r, ok in zip(brute_rows, b_close)
                if not ok
            ),
        ),
        Claim(
            "Project hypothesis (declared in the module docstring; no paper claim): DANTE ends "
            "within 1% of the certified optimum in at least half of the runs and at least as "
            "often as SGD (held := share(DANTE) >= 0.5 and >= share(SGD))",
            bool(within_d >= 0.5 and within_d >= within_s),
            f"DANTE {within_d:.0%}, SGD {within_s:.0%} of {len(train_rows)} runs "
            f"(MSE <= 1.01 opt + 1e-9)",
        ),
    ]
    setup = (
        f"Instances: cells (n, D, width) = {cells}; targets {targets} "
        "(teacher: width-2 ReLU net + N(0, 0.05^2) noise; smooth: sin(3x) in 1-D, "
        "sin(2x1)cos(2x2) in 2-D, + the same noise); x ~ U[-1, 1]^n; "
        f"seeds {seeds}. Optimum: exact_erm(..., output_bias=True) (Algorithm 1 of "
        "003_a707f9d83869f5a2.txt with the loss of the summed output; active-set QPs "
        "certified by KKT). Trained: dante.MLP([n, w, 1], relu, identity, seed=seed), "
        f"dante.fit DANTE {_DANTE} with max_alternations={dante_alt} (round-robin, output "
        f"first; 5 SNGD epochs per block per alternation), SGD {_SGD} for {sgd_epochs} "
        "epochs; tol=0 (no early stop), float32 training; the gap is the float64 MSE of "
        "the trained weights minus the optimum MSE; relative gap divides by the optimum. "
        f"Brute-force rows (loss column): cells (n, D, width, loss) = {brute_cells}, "
        "'random' targets y ~ N(0, 1), 'labels' = +-1 from a width-2 ReLU teacher, 20% "
        "flipped, x ~ N(0, I); exact_erm(..., output_bias=True, loss=...) (squared: active-set "
        "QPs, hinge: HiGHS LPs, certified by the duality gap); opt_mse is the mean loss; "
        f"brute_mean_loss is the least mean loss over {restarts} float64 Adam restarts x "
        f"{steps} steps (lr 0.02). Sizes that finish within a minute on one core (loss, n, "
        "width: largest D measured, seconds): "
        + "; ".join(
            f"{k[0]} n={k[1]} w={k[2]}: D={v[0]} ({v[1]:.0f} s)" for k, v in MINUTE_SIZES.items()
        )
        + " (cost exponential in width and n, polynomial in D)."
    )
    return StudyResult(
        title="Exact ERM for depth-2 ReLU nets: optimality gaps of DANTE and SGD",
        source="003_a707f9d83869f5a2.txt, Ch. 2.4 (Algorithm 1, Theorem 2.4.1)",
        setup=setup,
        rows=rows,
        claims=claims,
        figures=figures,
        seeds=seeds,
    )
