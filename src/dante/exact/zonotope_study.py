"""Study ``zonotope``: Theorem 2.2.1 in ``R^n`` and the zonotope family of Theorem 2.3.10.

``003_a707f9d83869f5a2.txt``, Ch. 2:

* Lemma 2.3.8 / Proposition 2.3.9 / Theorem 2.3.10 (i): the nets
  ``ZONOTOPE^n_{k,w,m} = H_{a^1..a^k} o gamma_Z`` (:func:`dante.exact.zonotope.zonotope_net`)
  are built for the generators of Fig. 2.2 and random ones; their depth and
  size are compared with ``k + 2`` and ``2m + wk``, and their pieces counted
  (2-D: on a grid, :func:`dante.exact.pieces.count_pieces_grid`, with the
  spacing set to half the smallest inradius of the pieces, which provably puts
  a grid point in every piece; 1-D: exactly, :func:`dante.exact.pwl.count_pieces`)
  against the printed counts and the corrected one
  (:func:`dante.exact.zonotope.zonotope_piece_counts`).
* Theorem 2.2.1 (constructive part): random PWL functions in the form (2.1)
  ``sum_j s_j max_{i in S_j} l_i``, ``|S_j| <= n + 1``, and in the lattice form
  ``max_j min_{i in T_j} l_i`` are turned into nets
  (:func:`dante.exact.zonotope.wang_sun_net`, :func:`~dante.exact.zonotope.lattice_net`),
  whose depth is compared with ``ceil(log2(n + 1)) + 1`` and whose values with
  the function's at random points.

Thresholds (declared here, before the run): piece counts and depth/size must
match *exactly*; the nets must equal the functions to ``1e-9`` relative
(``max |net - f| <= 1e-9 max(1, max |f|)``, float64).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..experiments import plotting
from ..experiments.study import Claim, StudyResult, register_study, study_arguments
from .pieces import breakpoints_1d, count_pieces_grid, local_affine, zonotope_min_inradius
from .pwl import count_pieces, hard_function_net
from .zonotope import (
    lattice_eval,
    lattice_net,
    thm221_depth,
    wang_sun_eval,
    wang_sun_net,
    zonotope_net,
    zonotope_piece_counts,
)

__all__ = ["FIG22", "run_zonotope"]

#: generators of Fig. 2.2 of ``003``: left ``b^1 = (0, 1), b^2 = (1, 0)``; middle/right ``c^1..c^4``
FIG22 = {
    "fig2.2 left": np.array([[0.0, 1.0], [1.0, 0.0]]),
    "fig2.2 c1-c4": np.array([[0.25, 0.5], [-0.5, 0.0], [0.0, -0.25], [-0.25, -0.25]]),
}

NAN = float("nan")


def _box(B: np.ndarray) -> float:
    """Half-width of a box holding ``{gamma_Z <= 1}`` with margin 1.5."""
    t = np.linspace(0, 2 * np.pi, 7201)
    u = np.stack([np.cos(t), np.sin(t)], 1)
    return 1.5 / float(np.abs(u @ B.T).sum(1).min())


def _zonotope_row(name: str, B: np.ndarray, w: int, k: int, halvings: int) -> dict[str, Any]:
    m, n = B.shape
    a = [np.arange(1, w) / w] * k
    net = zonotope_net(a, B)
    want = zonotope_piece_counts(n, m, w, k)
    row: dict[str, Any] = {
        "part": "Thm 2.3.10",
        "case": name,
        "n": n,
        "m": m,
        "w": w,
        "k": k,
        "depth": net.depth,
        "depth_thm": k + 2,
        "size": net.size,
        "size_thm": 2 * m + w * k,
        "pieces_thm_2_3_10": want["thm_2_3_10"],
        "pieces_prop_2_3_9": want["prop_2_3_9"],
        "pieces_corrected": want["total"],
    }
    if n == 1:
        row.update(pieces_counted=count_pieces(net), count_method="exact 1-D", spacing=NAN)
        row.update(grid_points=-1, pieces_finer=-1, max_rel_err=NAN)
        return row
    box = _box(B)
    rho = zonotope_min_inradius(B, breakpoints_1d(hard_function_net(a, 1.0)), 1.0, box)
    h = rho / 2  # < sqrt(2) rho: every piece holds a grid point (pieces.py)
    got = count_pieces_grid(net, [-box, -box], [box, box], h)
    finer = (
        count_pieces_grid(net, [-box, -box], [box, box], h / 2**halvings)["pieces"]
        if halvings
        else -1
    )
    row.update(pieces_counted=got["pieces"], count_method="grid", spacing=h)
    row.update(grid_points=got["points"], pieces_finer=finer, max_rel_err=NAN)
    return row


def _thm221_rows(ns: Sequence[int], n_points: int, seed: int) -> list[dict[str, Any]]:
    rows = []
    for n in ns:
        rng = np.random.default_rng([seed, n])
        K, p = 4 * (n + 1), 8
        alpha, beta = rng.normal(size=(K, n)), rng.normal(size=K)
        groups = [
            sorted(rng.choice(K, size=rng.integers(1, n + 2), replace=False)) for _ in range(p)
        ]
        groups[0] = list(range(n + 1))
        signs = rng.choice([-1.0, 1.0], size=p)
        X = rng.normal(scale=3.0, size=(n_points, n))
        for form in ("(2.1) sum s_j max", "lattice max min"):
            if form.startswith("(2.1)"):
                net = wang_sun_net(alpha, beta, groups, signs)
                f = wang_sun_eval(X, alpha, beta, groups, signs)
                bound = thm221_depth(n)
            else:
                net = lattice_net(alpha, beta, groups)
                f = lattice_eval(X, alpha, beta, groups)
                bound = math.ceil(math.log2(max(map(len, groups)))) + math.ceil(math.log2(p)) + 1
            err = float(np.max(np.abs(net(X) - f)) / max(1.0, float(np.max(np.abs(f)))))
            rows.append(
                {
                    "part": "Thm 2.2.1",
                    "case": form,
                    "n": n,
                    "m": p,
                    "w": max(net.widths),
                    "k": len(net.weights),
                    "depth": net.depth,
                    "depth_thm": bound,
                    "size": net.size,
                    "size_thm": -1,
                    "pieces_thm_2_3_10": -1,
                    "pieces_prop_2_3_9": -1,
                    "pieces_corrected": -1,
                    "pieces_counted": -1,
                    "count_method": f"{n_points} random points",
                    "spacing": NAN,
                    "grid_points": -1,
                    "pieces_finer": -1,
                    "max_rel_err": err,
                }
            )
    return rows


@register_study("zonotope")
def run_zonotope(quick: bool, seeds: Sequence[int], out_dir: Path) -> StudyResult:
    """Thm 2.2.1 nets and the ZONOTOPE family (``003_a707f9d83869f5a2.txt``, Ch. 2.2-2.3)."""
    t_start = time.perf_counter()
    seeds, out_dir = study_arguments(quick, seeds, out_dir)
    seed = seeds[0]
    rng = np.random.default_rng(seed)
    gens = dict(FIG22)
    gens["random m=3"] = rng.normal(size=(3, 2))
    if quick:
        cells = [("fig2.2 left", 2, 2), ("fig2.2 c1-c4", 2, 2), ("random m=3", 3, 1)]
        ones = [(2, 2, 2)]
        ns, n_points, halvings = (1, 2, 3, 7), 2000, 0
    else:
        cells = [
            ("fig2.2 left", 2, 2),
            ("fig2.2 c1-c4", 2, 2),
            ("fig2.2 c1-c4", 2, 3),
            ("fig2.2 c1-c4", 3, 1),
            ("random m=3", 3, 2),
            ("random m=3", 4, 1),
        ]
        ones = [(2, 2, 3), (3, 3, 2), (1, 4, 2)]
        ns, n_points, halvings = (1, 2, 3, 4, 7, 8, 15, 16), 100_000, 1
    rows = [_zonotope_row(name, gens[name], w, k, halvings) for name, w, k in cells]
    for m, w, k in ones:
        B = np.random.default_rng([seed, m, w, k]).normal(size=(m, 1))
        rows.append(_zonotope_row(f"1-D m={m}", B, w, k, 0))
    rows += _thm221_rows(ns, n_points, seed)

    zr = [r for r in rows if r["part"] == "Thm 2.3.10"]
    tr = [r for r in rows if r["part"] == "Thm 2.2.1"]
    ws = [r for r in tr if r["case"].startswith("(2.1)")]

    def cell(r: dict[str, Any]) -> str:
        return f"{r['case']} w={r['w']} k={r['k']}"

    claims = [
        Claim(
            "Thm 2.3.10 (i) / Prop. 2.3.9: ZONOTOPE^n_{k,w,m} is a ReLU net of depth k + 2 and "
            "size 2m + wk (held := equal in every cell).",
            all(r["depth"] == r["depth_thm"] and r["size"] == r["size_thm"] for r in zr),
            "; ".join(f"{cell(r)}: depth {r['depth']}, size {r['size']}" for r in zr),
        ),
        Claim(
            "Thm 2.3.10 (i): it has (sum_{i<n} binom(m-1, i)) w^k pieces, as printed (held := "
            "the counted pieces equal the printed number in every cell).",
            all(r["pieces_counted"] == r["pieces_thm_2_3_10"] for r in zr),
            "counted vs printed (Prop. 2.3.9's (m-1)^{n-1} w^k): "
            + "; ".join(
                f"{cell(r)}: {r['pieces_counted']} vs {r['pieces_thm_2_3_10']} "
                f"({r['pieces_prop_2_3_9']})"
                for r in zr
            ),
        ),
        Claim(
            "Corrected count (module dante.exact.zonotope): V w^k + c 1{w even, k >= 2} with "
            "V = 2 sum_{i<n} binom(m-1, i) the zonotope's vertices (twice the printed "
            "Thm 2.3.7 (1)) and c = 1 (n >= 2) or 2 (n = 1) for the region beyond gamma = M "
            "(held := equal to the counted pieces in every cell).",
            all(r["pieces_counted"] == r["pieces_corrected"] for r in zr)
            and all(r["pieces_finer"] in (-1, r["pieces_counted"]) for r in zr),
            "; ".join(f"{cell(r)}: {r['pieces_counted']}" for r in zr)
            + " (2-D grids at half the smallest piece inradius; the finer grid, where run, "
            "gives the same counts)",
        ),
        Claim(
            "Thm 2.2.1 (constructive part): a PWL function given as sum_j s_j max_{i in S_j} l_i "
            "with |S_j| <= n + 1 (eq. (2.1)) is a ReLU net of depth ceil(log2(n + 1)) + 1 "
            "(held := depth equal to the bound and max |net - f| <= 1e-9 max(1, max |f|)).",
            all(r["depth"] == r["depth_thm"] and r["max_rel_err"] <= 1e-9 for r in ws),
            "; ".join(
                f"n={r['n']}: depth {r['depth']}, rel err {r['max_rel_err']:.1e}" for r in ws
            ),
        ),
        Claim(
            "Lattice (max-min) form: max_j min_{i in T_j} l_i is a net of depth "
            "ceil(log2 max|T_j|) + ceil(log2 #groups) + 1 equal to f (same thresholds); the "
            "step from it to form (2.1), which the depth bound needs, is existential in the "
            "thesis (Wang and Sun 2005) and not built here.",
            all(r["depth"] == r["depth_thm"] and r["max_rel_err"] <= 1e-9 for r in tr),
            f"max rel err over {len(tr)} nets: {max(r['max_rel_err'] for r in tr):.1e}",
        ),
    ]

    plt = plotting.pyplot()
    figs = []
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    panels = [("fig2.2 left", 2, 2), ("fig2.2 c1-c4", 2, 2), ("fig2.2 c1-c4", 2, 3)]
    for ax, (name, w, k) in zip(axes, panels):
        B = gens[name]
        net = zonotope_net([np.arange(1, w) / w] * k, B)
        box = _box(B)
        t = np.linspace(-box, box, 401)
        P = np.stack([g.ravel() for g in np.meshgrid(t, t, indexing="xy")], 1)
        _, _, pat = local_affine(net, P)
        _, ids = np.unique(pat, axis=0, return_inverse=True)
        ax.imshow(
            net(P).reshape(t.size, t.size),
            origin="lower",
            extent=(-box, box, -box, box),
            cmap="viridis",
        )
        ax.contour(
            t, t, ids.reshape(t.size, t.size), levels=int(ids.max()) + 1, colors="w", linewidths=0.3
        )
        cnt = next(
            (r["pieces_counted"] for r in zr if r["case"] == name and r["w"] == w and r["k"] == k),
            -1,
        )
        plotting.style_axes(ax, title=f"{name}, w={w}, k={k}: {cnt} pieces", xlabel="r1")
    fig.suptitle("ZONOTOPE^2_{k,w,m} = H o gamma_Z (Fig. 2.2 of 003), activation regions in white")
    figs.append(plotting.save_figure(fig, out_dir, "zonotope_fig22.png", dpi=90))

    setup = (
        "Zonotope cells (generators, w, k): "
        + ", ".join(f"({c[0]}, {c[1]}, {c[2]})" for c in cells)
        + f"; 1-D cells (m, w, k) {ones} with N(0, 1) generators; a^l = (1/w, ..., (w-1)/w), "
        "M = 1 (the sawtooth). 2-D pieces: count_pieces_grid on [-R, R]^2, R = 1.5 / min_u "
        "gamma_Z(u) (holds {gamma <= 1}), spacing = half the smallest Chebyshev inradius of "
        "the pieces (an LP per normal cone x slab between breakpoints of H), grid shifted by an "
        "irrational fraction of a cell; neighbouring grid points with one affine map are joined, "
        "same-map components joined by a straight segment on that map are merged. "
        + (f"pieces_finer: the same at spacing / {2**halvings}. " if halvings else "")
        + f"Thm 2.2.1: n in {list(ns)}, K = 4(n+1) random affine maps, 8 groups of sizes 1..n+1 "
        f"(one of size n+1), random signs; lattice form with the same maps and groups; "
        f"{n_points} points N(0, 9 I). Seed {seed}; wall {time.perf_counter() - t_start:.0f}s."
    )
    return StudyResult(
        title="Ch. 2 in R^n: Theorem 2.2.1's nets and the zonotope hard functions (Thm 2.3.10)",
        source="003_a707f9d83869f5a2.txt, Ch. 2.2-2.3 (Thm 2.2.1, Lemma 2.3.8, Prop. 2.3.9, "
        "Thm 2.3.10, Fig. 2.2)",
        setup=setup,
        rows=rows,
        claims=claims,
        figures=figs,
        seeds=[seed],
    )
