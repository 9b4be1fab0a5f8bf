"""Study ``sparse_coding_ae``: thesis Tables 4.6.1-4.6.2 at reduced sizes.

The Mukherjee thesis (``003_a707f9d83869f5a2.txt``), Sec. 4.6: the norm of the
expected gradient of the sparse-coding ReLU autoencoder near ``A*``
(Table 4.6.1, Theorem 4.3.2) and the share of the initial distance that
gradient descent covers (Table 4.6.2). The sizes are reduced (the setup text
lists what is dropped: ``h = 4096``, ``N``, the number of random points).
Split out of :mod:`dante.shallow.recovery_study`, which re-exports it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..experiments import plotting
from ..experiments.study import Claim, StudyResult, register_study, study_arguments
from . import sparse_coding_ae as sc
from .generative import incoherence

__all__ = ["COHERENCE", "PAPER_T461", "PAPER_T462", "run_sparse_coding_ae"]

NAN = float("nan")

#: Table 4.6.1 of ``003``: (h, p) -> (gradient norm, h^{p-1})
PAPER_T461: dict[tuple[int, float], float] = {}
_T461 = {
    256: (0.0137, 0.0138, 0.0126, 0.0095, 0.0284, 0.0464, 0.0343),
    512: (0.0058, 0.0058, 0.0054, 0.0071, 0.0104, 0.0214, 0.0028),
    1024: (0.0025, 0.0024, 0.0026, 0.0079, 0.0078, 0.0099, 0.00),
    2048: (0.0011, 0.0012, 0.0025, 0.0031, 0.0032, 0.0036, 0.00),
    4096: (0.0006, 0.0012, 0.0013, 0.0026, 0.0020, 0.0008, 0.00),
}
_P461 = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
for _h, _vals in _T461.items():
    for _p, _v in zip(_P461, _vals):
        PAPER_T461[(_h, _p)] = _v
#: Table 4.6.2 of ``003``: (h, p) -> share of the initial distance covered
PAPER_T462 = {
    (256, 0.05): 0.977,
    (256, 0.1): 0.969,
    (512, 0.05): 0.986,
    (512, 0.1): 0.982,
    (1024, 0.05): 0.99,
    (1024, 0.1): 0.988,
    (2048, 0.05): 0.992,
    (2048, 0.1): 0.99,
    (4096, 0.05): 0.994,
    (4096, 0.1): 0.992,
}
#: "the coherence parameter was approximately 0.1" (Sec. 4.6), read as mu/sqrt(n)
COHERENCE = 0.1


@register_study("sparse_coding_ae")
def run_sparse_coding_ae(quick: bool, seeds: Sequence[int], out_dir: Path) -> StudyResult:
    """Thesis Tables 4.6.1-4.6.2 (``003_a707f9d83869f5a2.txt``, Sec. 4.6) at reduced sizes."""
    t_start = time.perf_counter()
    seeds, out_dir = study_arguments(quick, seeds, out_dir)
    seed = seeds[0]
    n, m1 = 50, 5.5
    if quick:
        hs1, ps1, N, pts = (256,), (0.05, 0.1), 1000, 3
        hs2, ps2, max_steps = (256,), (0.1,), 30
    else:
        hs1, ps1, N, pts = (256, 512, 1024, 2048), _P461, 5000, 20
        hs2, ps2, max_steps = (256, 512, 1024), (0.05, 0.1), 300
    rows: list[dict[str, Any]] = []
    for h in hs1:
        for p in ps1:
            A, Y, _ = sc.thesis_data(n, h, p, N, seed=10_000 * seed + h)
            delta = float(h) ** (-2 * p)
            eps = sc.thesis_eps(h, p, delta / 2, COHERENCE, m1)
            mu_max = incoherence(A) / np.sqrt(n)
            eps_lit = sc.thesis_eps(h, p, delta, mu_max, m1)
            pre_max = float((Y.astype(np.float32) @ A.astype(np.float32)).max())
            g = sc.expected_gradient_norm(A, Y, eps, delta / 2, n_points=pts, seed=seed)
            rows.append(
                {
                    "table": "4.6.1",
                    "h": h,
                    "p": p,
                    "k": sc.support_size(h, p),
                    "eps": eps,
                    "grad_norm": g["grad_norm"],
                    "grad_norm_at_A": g["grad_norm_at_A"],
                    "h^(p-1)": float(h) ** (p - 1),
                    "paper_grad_norm": PAPER_T461.get((h, p), NAN),
                    "active_frac": g["active_frac"],
                    "dead_at_literal_eps": bool(pre_max < eps_lit),
                    "covered": NAN,
                    "paper_covered": NAN,
                    "gd_steps": -1,
                }
            )
    for h in hs2:
        for p in ps2:
            A, Y, _ = sc.thesis_data(n, h, p, N, seed=10_000 * seed + h)
            delta = float(h) ** (-2 * p)
            eps = sc.thesis_eps(h, p, delta / 2, COHERENCE, m1)
            W0 = sc.perturb_rows(A, h / 5 * delta, 1, seed=seed + 7)[0]
            r = sc.gradient_descent(W0, Y.astype(np.float32), A, eps, max_steps=max_steps)
            rows.append(
                {
                    "table": "4.6.2",
                    "h": h,
                    "p": p,
                    "k": sc.support_size(h, p),
                    "eps": eps,
                    "grad_norm": NAN,
                    "grad_norm_at_A": NAN,
                    "h^(p-1)": float(h) ** (p - 1),
                    "paper_grad_norm": NAN,
                    "active_frac": NAN,
                    "dead_at_literal_eps": False,
                    "covered": r.covered,
                    "paper_covered": PAPER_T462.get((h, p), NAN),
                    "gd_steps": r.steps if r.converged else -r.steps,
                }
            )

    # ---- claims
    t1 = [r for r in rows if r["table"] == "4.6.1"]
    t2 = [r for r in rows if r["table"] == "4.6.2"]
    live = [r for r in t1 if r["active_frac"] > 0]
    dec_ok, pairs = 0, 0
    for p in ps1:
        seq = [r["grad_norm"] for r in t1 if r["p"] == p and r["active_frac"] > 0]
        for a, b in zip(seq, seq[1:]):
            pairs += 1
            dec_ok += b < a
    ratios = np.array([r["grad_norm"] / r["h^(p-1)"] for r in live])
    small_p = [r for r in live if r["p"] <= 0.1]
    ratio_small = np.array([r["grad_norm"] / r["h^(p-1)"] for r in small_p])
    claims = [
        Claim(
            "Table 4.6.1 / Thm 4.3.2: for fixed p the gradient norm near A* falls with h "
            "(held := every consecutive-h pair of live cells decreases).",
            bool(pairs > 0 and dec_ok == pairs),
            f"{dec_ok}/{pairs} consecutive-h pairs decrease (cells with live ReLUs only; "
            f"{len(t1) - len(live)} cells have a dead hidden layer, gradient exactly 0)",
        ),
        Claim(
            "Thm 4.3.2: ||E[dL/dW_i]|| = o(max(m1^2, m2) h^{p-1}) near A* (max(m1^2, m2) = "
            "37 for U[1, 10]); Table 4.6.1 reports it of the order of h^{p-1} itself "
            "(held := every live cell has grad_norm / h^(p-1) <= 37).",
            bool(len(ratios) > 0 and ratios.max() <= 37.0),
            (
                f"grad_norm / h^(p-1) over live cells: {ratios.min():.2f}-{ratios.max():.1f} "
                f"(p <= 0.1: {ratio_small.min():.1f}-{ratio_small.max():.1f}); the paper's "
                "ratios are 0.06-4.4, so our absolute values are larger by a factor ~5-20 "
                "(the bias eps, which sets them, is not given for Sec. 4.6)"
            )
            if len(ratio_small)
            else "no live cells with p <= 0.1",
        ),
        Claim(
            "Theorem 4.3.1's literal bias eps = 2 m1 k (delta + max_ij |<A_i, A_j>|) leaves some "
            "ReLU active at these sizes (otherwise Table 4.6.1 would be all zeros; held := at "
            "least one cell has a pre-activation above the literal eps).",
            bool(not all(r["dead_at_literal_eps"] for r in t1)),
            f"{sum(r['dead_at_literal_eps'] for r in t1)}/{len(t1)} cells have every "
            "pre-activation <A_i, y> below the literal eps at W = A*, so the literal bias kills "
            "the layer; the study therefore uses mu/sqrt(n) = 0.1 and delta := delta/2.",
        ),
        Claim(
            "Table 4.6.2: gradient descent from columnwise distance (h/5) delta covers "
            ">= 96.9% of the initial average columnwise distance (the paper's smallest "
            "entry, held := every cell).",
            bool(all(r["covered"] >= 0.969 for r in t2)),
            "covered: "
            + ", ".join(f"h={r['h']},p={r['p']}: {100 * r['covered']:.1f}%" for r in t2)
            + " (paper 96.9-99.4%)",
        ),
    ]

    # ---- figure
    fig, axes = plotting.pyplot().subplots(1, 2, figsize=(11, 4))
    for p in ps1:
        hh = [r["h"] for r in t1 if r["p"] == p]
        gg = [max(r["grad_norm"], 1e-8) for r in t1 if r["p"] == p]
        (line,) = axes[0].plot(hh, gg, "o-", label=f"p={p}")
        pp = [PAPER_T461.get((h, p), NAN) for h in hh]
        axes[0].plot(hh, np.maximum(pp, 1e-8), "x:", color=line.get_color())
    for p in ps2:
        hh = [r["h"] for r in t2 if r["p"] == p]
        axes[1].plot(hh, [100 * r["covered"] for r in t2 if r["p"] == p], "o-", label=f"ours p={p}")
        axes[1].plot(
            hh, [100 * PAPER_T462.get((h, p), NAN) for h in hh], "x:", label=f"paper p={p}"
        )
    for ax, labels in zip(
        axes,
        (
            dict(
                yscale="log",
                ylabel="avg column norm of E[dL/dW_i]",
                title="Table 4.6.1 (o ours, x paper)",
                legend=6,
            ),
            dict(ylabel="% of initial distance covered", title="Table 4.6.2", legend=7),
        ),
    ):
        plotting.style_axes(ax, xscale={"value": "log", "base": 2}, xlabel="h", **labels)
    fig_name = plotting.save_figure(fig, out_dir, "sparse_coding_ae.png", dpi=90)

    setup = (
        f"n={n}, N={N} samples y = A* x* (Gaussian A* with unit columns, k = round(h^p) "
        "nonzeros U[1, 10] on uniform supports, no noise), one dictionary per (h, p), seed "
        f"{seed}. Table 4.6.1: h in {list(hs1)}, p in {list(ps1)}; {pts} random W (paper: 200) "
        "whose rows are at distance delta/2 = 1/(2 h^{2p}) from the columns of A*; gradients "
        "averaged over the points, then the column norms averaged over columns (grad_norm); "
        "grad_norm_at_A is the same at W = A*^T. eps = 2 m1 h^p (delta/2 + 0.1), m1 = 5.5: "
        "Theorem 4.3.1's bias applied to the ball of radius delta/2 that holds W, with "
        "'coherence parameter approximately 0.1' read as mu/sqrt(n) = 0.1 (the literal maximum "
        "coherence 0.6 kills the layer: column dead_at_literal_eps). Table 4.6.2: h in "
        f"{list(hs2)}, p in {list(ps2)}; W^T started at columnwise distance (h/5) delta in "
        "random directions, full-batch gradient descent with Armijo backtracking until "
        f"||grad|| <= 2e-5 ||grad_0|| or {max_steps} steps (gd_steps < 0: cap hit); covered = "
        "1 - mean_i ||W_i - A*_i|| / initial. float32. "
        "Reduced against the paper (Sec. 4.6: n=50, N=5000, h in {256, ..., 4096}, 200 "
        "random points per cell): "
        + ("quick mode: " if quick else "")
        + f"h = {sorted({256, 512, 1024, 2048, 4096} - set(hs1))} dropped from Table 4.6.1 and "
        f"h = {sorted({256, 512, 1024, 2048, 4096} - set(hs2))} from Table 4.6.2 (time: the "
        "h = 4096 cells need ~(4096/2048)^2 = 4x the 2048 ones; the paper's h = 4096 entries "
        f"stay in paper_grad_norm / PAPER_T461 unmatched), N = {N} (paper 5000), {pts} random "
        f"points (paper 200), Table 4.6.2 p in {list(ps2)} (paper 0.05, 0.1) with at most "
        f"{max_steps} descent steps (the paper gives no cap). "
        f"Wall {time.perf_counter() - t_start:.0f}s on one core."
    )
    return StudyResult(
        title="Sparse coding with a ReLU autoencoder: gradient near A* and descent (thesis "
        "Tables 4.6.1-4.6.2)",
        source="003_a707f9d83869f5a2.txt, Ch. 4, Sec. 4.6, Tables 4.6.1 and 4.6.2",
        setup=setup,
        rows=rows,
        claims=claims,
        figures=[fig_name],
        seeds=[seed],
    )
