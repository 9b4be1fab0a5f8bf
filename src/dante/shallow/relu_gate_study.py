"""Study ``relu_gate``: the three ReLU-gate learners of Ch. 3 of ``003_a707f9d83869f5a2.txt``.

Checks, on teachers with *non-symmetric* input distributions:

* modified SGD (Algorithm 2, Theorem 3.3.1, eq. (3.5)): the fitted per-step
  rate of ``||w_t - w*||^2`` against the predicted ``1 - lambda_min^2 / c1``
  (step ``lambda_min / c1`` estimated from the observable indicator
  ``1{y > 0}``), with the exact mean-square rate
  (:func:`~dante.shallow.relu_gate.modified_sgd_exact_rate`) as an oracle;
* GLM-Tron (Algorithm 4, Theorem 3.5.2) under bounded adversarial label noise:
  the effective risk within ``T = ||w*||^2 / eps`` steps against
  ``L / (2 - L) (eps + nu^2 + 2 nu W (L + 1))``;
* noise-assisted subgradient dynamics (Algorithm 3, Theorem 3.4.1): the
  largest distance from ``w*`` over ``i_max`` steps against the confinement
  radius ``r*`` at failure probability ``delta``.

Verdict thresholds (issue 15: each from the thesis or declared here, before
the runs): the predicted rate ``1 - lambda_min^2 / c1`` of eq. (3.5) (every
per-run fitted rate and every mean-over-runs fitted rate at most it; the fit
uses ``log ||w_t - w*||^2`` while it exceeds the declared floor ``1e-20``);
exact equality of the two indicators' moments; the GLM-Tron bound of
Theorem 3.5.2; the fraction of runs leaving the ball of radius ``r*`` at most
``delta = 0.05`` (Theorem 3.4.1's failure probability, ``delta`` declared in
the spec); the printed-step claim is judged at ``eta = 0.5`` of the printed
limit, the first point of the declared step grid.
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
from .relu_gate_study_cells import (
    DISTRIBUTIONS,
    W_NORM,
    _glm_cell,
    _noise_cell,
    _row,
    _sgd_cell,
    fitted_rate,
    make_teacher,
)

__all__ = ["fitted_rate", "make_teacher", "run_study"]


@register_study("relu_gate")
def run_study(quick: bool, seeds: Sequence[int], out_dir: Path) -> StudyResult:
    """Modified SGD, noise-assisted GD and GLM-Tron on ReLU gates (``003``, Ch. 3.3-3.5).

    See the module docstring for what is measured; ``quick`` is a smoke test
    (n=4, 400 samples, fewer steps and runs).
    """
    t_start = time.perf_counter()
    seeds, out_dir = study_arguments(quick, seeds, out_dir)
    dim, n_samples = (4, 400) if quick else (6, 2000)
    sgd_T, sgd_runs = (2000, 4) if quick else (20000, 16)
    eps = 0.04 if quick else 0.01
    nus = (0.0, 0.1) if quick else (0.0, 0.05, 0.2)
    acts = ("relu", "sigmoid")
    adversaries = ("against_wstar", "shifted_teacher", "against_prediction")
    i_max, noise_runs = (300, 4) if quick else (3000, 16)
    s1, s2, delta = 0.2, 0.1, 0.05

    rows: list[dict[str, Any]] = []
    sgd: dict[str, list[dict[str, Any]]] = {k: [] for k in DISTRIBUTIONS}
    glm: dict[tuple[str, float, str], list[dict[str, Any]]] = {}
    noise: dict[str, list[dict[str, Any]]] = {k: [] for k in DISTRIBUTIONS}
    curves: dict[str, Any] = {}
    for dist in DISTRIBUTIONS:
        for seed in seeds:
            rng = np.random.default_rng([seed, DISTRIBUTIONS.index(dist)])
            X, w_star = make_teacher(dist, n_samples, dim, rng)
            cell = _sgd_cell(X, w_star, sgd_T, sgd_runs, rng, seed)
            sgd[dist].append(cell)
            for act in acts:
                for nu in nus:
                    for adv in adversaries if nu > 0 else ("none",):
                        g = _glm_cell(X, w_star, act, nu, adv, eps)
                        glm.setdefault((act, nu, adv), []).append(g)
                        if (dist, seed, act, nu, adv) == (
                            DISTRIBUTIONS[0],
                            seeds[0],
                            "relu",
                            nus[-1],
                            "against_prediction",
                        ):
                            curves["glmtron"] = g["curve"]
            nz = _noise_cell(X, w_star, i_max, noise_runs, s1, s2, delta, rng, seed)
            noise[dist].append(nz)
            if dist == DISTRIBUTIONS[0] and seed == seeds[0]:
                curves["sgd"] = cell["curve"]
                curves["noise"] = nz["curve"]
                curves["radius"] = nz["radius"]

    # ---- modified SGD rows
    sgd_ok_all, env_all, ratio_all, exact_ok = True, [], [], True
    for dist in DISTRIBUTIONS:
        cells = sgd[dist]
        per = [r for c in cells for r in c["per_run"]]
        within = sum(r <= c["pred"] for c in cells for r in c["per_run"])
        preds = [c["pred"] for c in cells for _ in c["per_run"]]
        rows.append(
            _row(
                "modified_sgd",
                dist,
                f"T={sgd_T}, runs={sgd_runs}/seed",
                "per-run fitted rate of ||w-w*||^2",
                per,
                preds,
                (within, len(per)),
            )
        )
        n_within = {}
        for key, setting, quantity in (
            ("ms_rate", "mean over runs", "fitted rate of E||w-w*||^2"),
            ("exact", "oracle", "exact rate of E||w-w*||^2"),
        ):
            vals = [c[key] for c in cells]
            n_within[key] = sum(c[key] <= c["pred"] for c in cells)
            rows.append(
                _row(
                    "modified_sgd",
                    dist,
                    setting,
                    quantity,
                    vals,
                    [c["pred"] for c in cells],
                    (n_within[key], len(cells)),
                )
            )
        sgd_ok_all &= within == len(per) and n_within["ms_rate"] == len(cells)
        exact_ok &= n_within["exact"] == len(cells)
        env_all += [c["envelope"] for c in cells]
        ratio_all += [math.log(r) / math.log(c["pred"]) for c in cells for r in c["per_run"]]
    ind_ok = all(c["indicator_match"] for d in DISTRIBUTIONS for c in sgd[d])

    # ---- GLM-Tron rows
    glm_best_ok, glm_final_ok, n_glm, worst_slack = True, True, 0, 0.0
    for (act, nu, adv), cells in glm.items():
        bounds = [c["bound"] for c in cells]
        best = [c["best"] for c in cells]
        final = [c["final"] for c in cells]
        wb = sum(c["best"] < c["bound"] for c in cells)
        wf = sum(c["final"] < c["bound"] for c in cells)
        T = cells[0]["T"]
        setting = f"{act}, nu={nu}, {adv}, T={T}"
        rows.append(
            _row(
                "glmtron", "all", setting, "min_{t<=T} excess risk", best, bounds, (wb, len(cells))
            )
        )
        rows.append(
            _row("glmtron", "all", setting, "excess risk at T", final, bounds, (wf, len(cells)))
        )
        glm_best_ok &= wb == len(cells)
        glm_final_ok &= wf == len(cells)
        n_glm += len(cells)
        worst_slack = max(worst_slack, max(f / b for f, b in zip(final, bounds, strict=True)))

    # ---- noise-assisted rows
    noise_viol, noise_total, radii, maxds, viol_printed = 0, 0, [], [], 0
    for dist in DISTRIBUTIONS:
        cells = noise[dist]
        md = [m for c in cells for m in c["maxd"]]
        rr = [c["radius"] for c in cells for _ in c["maxd"]]
        rp = [c["radius_printed"] for c in cells for _ in c["maxd"]]
        w = sum(m <= r for m, r in zip(md, rr, strict=True))
        wp = sum(m <= r for m, r in zip(md, rp, strict=True))
        fracs = sorted({c["frac"] for c in cells})
        setting = f"i_max={i_max}, eta={fracs}/(C^2 sqrt(2 i_max)), S1={s1}, std2={s2}"
        rows.append(
            _row(
                "noise_assisted",
                dist,
                setting,
                "max_t ||w_t-w*|| vs r* (Azuma k^2)",
                md,
                rr,
                (w, len(md)),
            )
        )
        rows.append(
            _row(
                "noise_assisted",
                dist,
                setting,
                "max_t ||w_t-w*|| vs r* (printed k)",
                md,
                rp,
                (wp, len(md)),
            )
        )
        fin = [f for c in cells for f in c["final"]]
        rows.append(
            _row(
                "noise_assisted",
                dist,
                "same runs",
                "final ||w-w*|| vs r* (Azuma k^2)",
                fin,
                rr,
                (sum(f <= r for f, r in zip(fin, rr, strict=True)), len(fin)),
            )
        )
        noise_viol += len(md) - w
        viol_printed += len(md) - wp
        noise_total += len(md)
        radii += rr
        maxds += md

    fracs_all = sorted({c["frac"] for d in DISTRIBUTIONS for c in noise[d]})
    half_radii = [c["radius_printed_half"] for d in DISTRIBUTIONS for c in noise[d]]
    finals = [f for d in DISTRIBUTIONS for c in noise[d] for f in c["final"]]
    claims = [
        Claim(
            "Modified SGD for a ReLU gate (Alg. 2, Thm 3.3.1, eq. 3.5) converges linearly on "
            "non-symmetric inputs with per-step rate of ||w_t-w*||^2 at most "
            "1 - lambda_min^2/c1 (eta = lambda_min/c1 estimated from 1{y>0}); judged per run "
            "and on the mean over runs (the theorem bounds the mean)",
            bool(sgd_ok_all),
            f"every per-run fitted rate and every mean-over-runs fitted rate <= its predicted "
            f"rate: {sgd_ok_all}; log(rate)/log(pred) per run in [{min(ratio_all):.2f}, "
            f"{max(ratio_all):.2f}] (>1 = faster than predicted); max over t of "
            f"mean_runs||d_t||^2 / (pred^t ||d_0||^2) for t >= 1 (Monte-Carlo mean of {sgd_runs} "
            f"runs) = {max(env_all):.3g}; exact "
            f"mean-square rate <= predicted in all cells: {exact_ok}",
        ),
        Claim(
            "The observable indicator 1{y>0} gives the same moments as 1{w*.x>0} "
            "(realizable labels)",
            bool(ind_ok),
            "lambda_min and c1 computed both ways agree exactly in every cell",
        ),
        Claim(
            "GLM-Tron (Alg. 4, Thm 3.5.2): within T = ||w*||^2/eps steps the effective risk "
            "drops below L/(2-L)(eps + nu^2 + 2 nu W (L+1)) under bounded adversarial noise",
            bool(glm_best_ok),
            f"min over t<=T below the bound in all {n_glm} runs: {glm_best_ok} "
            f"(eps={eps}, W=||w*||={W_NORM}, nu in {list(nus)}, relu and sigmoid, two static "
            f"and one adaptive adversary)",
        ),
        Claim(
            "GLM-Tron's final iterate w_T (not only the best t<=T) is within the same bound "
            "(stronger than the theorem's proof gives)",
            bool(glm_final_ok),
            f"final risk below the bound in all runs: {glm_final_ok}; largest "
            f"final/bound = {worst_slack:.3g}",
        ),
        Claim(
            f"Noise-assisted subgradient dynamics (Alg. 3, Thm 3.4.1) stay within r* of w* for "
            f"i_max steps with probability >= 1 - delta (delta={delta})",
            noise_viol <= delta * noise_total,
            f"{noise_viol}/{noise_total} runs left the ball ({viol_printed} for the printed-k "
            f"radius); max distance / r* = "
            f"{max(m / r for m, r in zip(maxds, radii, strict=True)):.3g} "
            f"(r* in [{min(radii):.3g}, {max(radii):.3g}]); the guarantee is confinement, "
            f"not convergence: final distances in the table (mean {np.mean(finals):.3g} from a "
            f"start at 3; at the step the corrected bound allows the iterates barely move)",
        ),
        Claim(
            "Thm 3.4.1 as printed: any eta < 1/(C^2 sqrt(2 i_max)) gives a nontrivial "
            "confinement guarantee (exponent lam^2/(2 i_max k)); tested at eta = 0.5 of the "
            "printed limit (first point of the declared step grid) with the exponent the "
            "proof's Azuma step gives",
            bool(max(fracs_all) >= 0.5),
            f"the exponent the proof's Azuma-Hoeffding step (Thm 3.D.1, c_i = k) gives is "
            f"lam^2/(2 i_max k^2); with it no lambda reaches delta={delta} at eta = 0.5 or 0.25 "
            f"of the printed limit (largest working fraction on our grid: {max(fracs_all)}), "
            f"while the printed exponent gives r* = {min(half_radii):.3g}-{max(half_radii):.3g} "
            f"at 0.5 of the limit. Derivation check, not a measurement.",
        ),
    ]

    # ---- figure
    fig, ax = plotting.pyplot().subplots(figsize=(7, 4.2))
    for key, label in (
        ("sgd", "modified SGD (Alg. 2), realizable"),
        ("glmtron", f"GLM-Tron (Alg. 4), ReLU, nu={nus[-1]} adaptive adversary"),
        ("noise", "noise-assisted GD (Alg. 3), realizable"),
    ):
        ax.loglog(np.arange(1, len(curves[key]) + 1), curves[key], label=label)
    ax.axhline(curves["radius"], ls="--", c="gray", label=f"r* (Thm 3.4.1, delta={delta})")
    plotting.style_axes(
        ax,
        xlabel="step t + 1",
        ylabel="||w_t - w*||",
        title=f"ReLU gate, {DISTRIBUTIONS[0]} inputs, n={dim}, seed {seeds[0]}",
        legend=8,
    )
    fig_name = plotting.save_figure(fig, out_dir, "relu_gate_distance.png", dpi=120)

    setup = (
        f"Teachers: n={dim} features, {n_samples} samples per (distribution, seed); inputs "
        f"from {', '.join(DISTRIBUTIONS)} (non-symmetric; see make_teacher), rescaled to "
        f"max ||x||=1; w* Gaussian with ||w*||={W_NORM}. Modified SGD: realizable ReLU "
        f"labels, eta = lambda_min/c1 from the label indicator, w1 random with ||w1||=2, "
        f"{sgd_T} single-sample steps, {sgd_runs} sample orders per seed, rates fitted by "
        f"least squares on log||w_t-w*||^2 while it exceeds 1e-20. GLM-Tron: relu and "
        f"sigmoid, eps={eps}, T=ceil(||w*||^2/eps); noise |xi|=nu: 'against_wstar' "
        f"xi=-nu sign(w*.x) (static), 'shifted_teacher' labels sigma((w*+nu u).x) with u the "
        f"top eigenvector of E[xx^T] (static, realizable by another gate), "
        f"'against_prediction' xi_t=nu sign(sigma(w_t.x)-"
        f"sigma(w*.x)) (adaptive, per step); excess risk = mean (sigma(w.x)-sigma(w*.x))^2. "
        f"Noise-assisted: realizable ReLU labels, w0 at distance 3 from w*, "
        f"eta = frac/(C^2 sqrt(2 i_max)) with the largest frac in (0.5, 0.25, 0.1, ...) for "
        f"which the k^2 (Azuma) form of Thm 3.4.1 reaches delta (the printed eta < "
        f"1/(C^2 sqrt(2 i_max)) is not enough once the exponent is corrected), "
        f"zeta1 uniform on the sphere of radius S1={s1}, "
        f"zeta2 ~ N(0, {s2}^2 I), {noise_runs} runs per seed; r* from Thm 3.4.1 at "
        f"delta={delta} (C_L=0.9 sqrt(n); exponent lam^2/(2 i_max k^2) as Theorem 3.D.1 "
        f"gives, and also the printed lam^2/(2 i_max k)). "
        f"Seeds {seeds}; each run is paired with its own thesis value (which depends on the "
        f"seed's data): 'worst_margin' = max(measured - thesis) (<= 0: within), "
        f"'within_thesis' counts runs meeting it. "
        f"Wall time {time.perf_counter() - t_start:.1f} s."
    )
    return StudyResult(
        title="ReLU-gate learners: modified SGD, noise-assisted GD, GLM-Tron",
        source="003_a707f9d83869f5a2.txt, Ch. 3.3-3.5",
        setup=setup,
        rows=rows,
        claims=claims,
        figures=[fig_name],
        seeds=seeds,
    )
