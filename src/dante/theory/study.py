"""Study "slqc": theory-set SNGD on realizable sigmoid and generalized-ReLU GLMs.

Checks, with the toolkit of :mod:`dante.theory.slqc`, what Sec. 3.2-3.4 of
``001_1787bf99fca4a9f2.txt`` (and Sec. 3 of ``000_16cd8e47eb5a686b.txt``)
claim for a single GLM:

* Theorem 8 (Hazan et al.): with ``eta = eps/kappa``,
  ``T = kappa^2 ||w_1 - w*||^2 / eps^2`` and ``b = M^2 log(4T/delta)/(2 eps^2)``
  SNGD reaches ``f - f* <= 3 eps`` with probability ``1 - 2 delta``;
* the SLQC constants ``e^{||w*||}`` (sigmoid) and ``2 b^3 W / a`` (generalized
  ReLU, Theorem 1) are valid, i.e. upper bounds on the constant the SNGD
  trajectory actually needs (:func:`~dante.theory.slqc.empirical_kappa`);
* "SNGD offers accelerated convergence with the proposed generalized ReLU"
  (end of Sec. 3.4.1 of ``001``): ``kappa`` linear instead of exponential in
  ``||w*||``, so ``T ~ kappa^2`` is exponentially smaller.

Verdict thresholds (issue 15: each from the paper or declared here, before
the runs): Theorem 8's success rate ``>= 1 - 2 delta`` within its own ``T``
(``delta = 0.05`` declared in the spec; runs stopped by the step cap before
``T`` are inconclusive and not counted); the formula constants against the
empirical one, ``kappa_emp / kappa <= 1`` (Definition 1: a valid constant is
at least the one the points need); the generalized-ReLU speed-up on the
*measured* step ratio sigmoid / generalized ReLU: ``> 1`` (fewer steps) at the
largest ``||w*||`` and rising along the ``||w*||`` grid (the predicted ratio
of the ``T`` formulas grows by algebra and is reported, not judged); "faster
at every ``||w*||``": ratio ``> 1`` at each.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dante.experiments import plotting
from dante.experiments.study import Claim, StudyResult, register_study, study_arguments
from dante.theory.slqc import (
    glm_loss_bound,
    make_glm_teacher,
    run_sngd_glm,
    theory_hyperparameters,
)

__all__ = ["measured_ratio_rises", "run_study"]

_ACTS = ("sigmoid", "generalized_relu")
_LABEL = {"sigmoid": "sigmoid", "generalized_relu": "gen. ReLU (a=0.5, b=1)"}


def _plot(
    curves: dict[tuple[str, float], list[tuple[np.ndarray, np.ndarray]]],
    w_norms,
    eps: float,
    cap: int,
    out_dir: Path,
) -> str:
    plt = plotting.pyplot()
    n = len(w_norms)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False)
    colors = {"sigmoid": "tab:red", "generalized_relu": "tab:blue"}
    for ax, W in zip(axes[0], w_norms):
        for act in _ACTS:
            for k, (st, ex) in enumerate(curves[(act, W)]):
                ax.semilogy(
                    np.maximum(st, 1),
                    np.maximum(ex, 1e-12),
                    color=colors[act],
                    alpha=1.0 if k == 0 else 0.35,
                    lw=1.2 if k == 0 else 0.8,
                    label=_LABEL[act] if k == 0 else None,
                )
        ax.axhline(3 * eps, color="k", ls="--", lw=0.8, label="3 eps")
        ax.axvline(cap, color="gray", ls=":", lw=0.8)
        plotting.style_axes(ax, xscale="log", xlabel="SNGD step", title=f"||w*|| = {W:g}")
        ax.set_ylim(1e-10, None)
    plotting.style_axes(axes[0][0], ylabel="f(w_t) - f*", legend=8)
    return plotting.save_figure(fig, out_dir, "slqc_excess.png")


def measured_ratio_rises(ratios: Sequence[float], exact: Sequence[bool]) -> bool:
    """Whether measured step ratios rise from each ``||w*||`` of the grid to the next.

    ``ratios[i]`` is the measured ratio sigmoid / generalized-ReLU steps at the
    ``i``-th ``||w*||`` when ``exact[i]``, otherwise a lower bound on it (the
    sigmoid runs stopped at the step cap) or ``nan`` (unknown). A rise from
    ``i`` to ``i + 1`` is shown only when ``ratios[i]`` is measured and
    ``ratios[i + 1]`` (measured or a lower bound) exceeds it: a lower bound at
    ``i`` leaves the true ratio there unknown above it. The verdict rule of the
    "increasingly so" claim (end of Sec. 3.4.1 of ``001_1787bf99fca4a9f2.txt``).
    """
    if len(ratios) != len(exact):
        raise ValueError(f"ratios and exact differ in length: {len(ratios)} vs {len(exact)}")
    return all(
        ex1 and not math.isnan(r2) and r2 > r1 for r1, r2, ex1 in zip(ratios, ratios[1:], exact)
    )


@register_study("slqc")
def run_study(quick: bool, seeds: Sequence[int], out_dir: Path) -> StudyResult:
    """Theory-set SNGD (Theorem 8 of ``001_1787bf99fca4a9f2.txt``) on GLM teachers.

    For each activation (sigmoid; generalized ReLU with ``a = 0.5, b = 1``),
    each ``||w*||`` and each seed: a realizable teacher ``y = phi(<w*, x>)``
    in ``d = 4`` with ``x`` uniform on the unit sphere, ``m = 2048`` samples
    (``f`` is the empirical loss, ``f* = 0``), the formula ``kappa``, the
    theory ``(eta, T, b)`` for ``eps = 1e-3``, ``delta = 0.05``,
    ``M = glm_loss_bound(act, ||w*|| + eta)``, ``w_1 = 0``; then SNGD with
    ``eta`` for ``min(T, cap)`` steps, stopped 2000 steps after the first
    iterate with ``f - f* <= 3 eps``. The theory ``b`` always exceeds ``m``
    (it scales as ``1/eps^2``), so the exact gradient of ``f`` is used
    (``f_t = f``).

    Parameters
    ----------
    quick : bool
        ``||w*|| in {1, 2}``, first seed only, cap 20,000 steps, stop 200 steps after
        the hit (smoke test).
        Otherwise ``||w*|| in {1, 2, 4, 6}``, all seeds, cap 200,000 steps.
    seeds : sequence of int
        Teacher / sample seeds.
    out_dir : pathlib.Path
        Where ``slqc_excess.png`` is written.
    """
    t_start = time.perf_counter()
    seeds, out_dir = study_arguments(quick, seeds, out_dir)
    if quick:
        seeds = seeds[:1]
    w_norms = (1.0, 2.0) if quick else (1.0, 2.0, 4.0, 6.0)
    cap = 20_000 if quick else 200_000
    d, m, eps, delta, a, b = 4, 2048, 1e-3, 0.05, 0.5, 1.0
    tail = 200 if quick else 2000
    n_pop = 20_000
    target = 3 * eps
    record_every = max(1, cap // 2000)

    rows: list[dict[str, Any]] = []
    curves: dict[tuple[str, float], list[tuple[np.ndarray, np.ndarray]]] = {}
    per_run: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for W in w_norms:
        for act in _ACTS:
            runs = []
            curves[(act, W)] = []
            for s in seeds:
                teacher = make_glm_teacher(act, d, W, s, a=a, b=b)
                X, y = teacher.sample(m, seed=10_000 + s)
                kappa = teacher.kappa
                dist0 = W  # w_1 = 0
                M = glm_loss_bound(act, dist0 + eps / kappa, a=a, b=b)
                hp = theory_hyperparameters(eps, delta, kappa, M, dist0)
                budget = min(hp.T, cap)
                tr = run_sngd_glm(
                    teacher,
                    X,
                    y,
                    eta=hp.eta,
                    steps=budget,
                    batch_size=hp.b,
                    eps=eps,
                    target=target,
                    seed=s,
                    stop_after_hit=tail,
                    record_every=record_every,
                )
                Xp, yp = teacher.sample(n_pop, seed=20_000 + s)
                pop = float(teacher.loss_and_grad(tr.w_final, Xp, yp)[0])
                if tr.first_hit is not None:
                    status = "reached"
                elif budget >= hp.T:
                    status = "failed"  # ran all T steps without reaching 3 eps
                else:
                    status = "not reached within cap"
                runs.append(
                    dict(
                        seed=s,
                        kappa=kappa,
                        hp=hp,
                        budget=budget,
                        trace=tr,
                        pop=pop,
                        status=status,
                    )
                )
                curves[(act, W)].append((tr.record_steps, tr.record_excess))
            per_run[(act, W)] = runs
            hits = [r["trace"].first_hit for r in runs if r["trace"].first_hit is not None]
            hp = runs[0]["hp"]
            n_reached = sum(r["status"] == "reached" for r in runs)
            n_concl = sum(r["status"] != "not reached within cap" for r in runs)
            rows.append(
                {
                    "activation": act,
                    "w_norm": float(W),
                    "kappa_formula": float(runs[0]["kappa"]),
                    "kappa_empirical_max": float(max(r["trace"].kappa_emp.kappa for r in runs)),
                    "eta": float(hp.eta),
                    "T_predicted": float(hp.T),
                    "b_theory": float(hp.b),
                    "b_used": int(runs[0]["trace"].batch_size),
                    "step_budget": int(runs[0]["budget"]),
                    "hit_step_median": float(np.median(hits)) if hits else math.nan,
                    "hit_step_max": float(max(hits)) if hits else math.nan,
                    "reached_3eps": f"{n_reached}/{len(runs)}",
                    "success_rate": float(n_reached / n_concl) if n_concl else math.nan,
                    "final_excess_median": float(
                        np.median([r["trace"].final_excess for r in runs])
                    ),
                    "tail_max_excess": float(
                        max(
                            (
                                r["trace"].tail_max_excess
                                for r in runs
                                if r["trace"].first_hit is not None
                            ),
                            default=math.nan,
                        )
                    ),
                    "final_pop_excess_median": float(np.median([r["pop"] for r in runs])),
                    "not_slqc_points": int(sum(r["trace"].kappa_emp.n_not_slqc for r in runs)),
                }
            )

    fig_name = _plot(curves, w_norms, eps, cap, out_dir)

    # ---- claims -------------------------------------------------------------
    claims: list[Claim] = []
    all_runs = [r for runs in per_run.values() for r in runs]
    concl = [r for r in all_runs if r["status"] != "not reached within cap"]
    ok = [r for r in concl if r["status"] == "reached" and r["trace"].first_hit <= r["hp"].T]
    capped = [
        (r, act, W)
        for (act, W), runs in per_run.items()
        for r in runs
        if r["status"] == "not reached within cap"
    ]
    rate = len(ok) / len(concl) if concl else math.nan
    worst = max((r["trace"].first_hit / r["hp"].T for r in ok), default=math.nan)
    cap_txt = (
        "; ".join(
            f"{act} ||w*||={W:g} seed {r['seed']}: f-f*={r['trace'].final_excess:.3g} after "
            f"{r['budget']} steps (T={r['hp'].T:.3g})"
            for r, act, W in capped
        )
        or "none"
    )
    claims.append(
        Claim(
            claim="Theorem 8 (001) / 3.6 (000): with eta=eps/kappa, T=kappa^2||w1-w*||^2/eps^2, "
            "SNGD reaches f-f* <= 3 eps within T steps in >= 1-2 delta of runs",
            holds=bool(concl) and rate >= 1 - 2 * delta,
            evidence=f"{len(ok)}/{len(concl)} conclusive runs reached 3 eps={target:g} within T "
            f"(rate {rate:.2f} vs 1-2delta={1 - 2 * delta:.2f}); largest hit_step/T = {worst:.2e} "
            f"(T is very pessimistic); runs stopped at the {cap}-step cap before T (inconclusive, "
            f"not counted): {cap_txt}",
        )
    )

    kratio = [r["trace"].kappa_emp.kappa / r["kappa"] for r in all_runs]
    n_bad = sum(r["trace"].kappa_emp.n_not_slqc for r in all_runs)
    claims.append(
        Claim(
            claim="The SLQC constants e^{||w*||} (sigmoid) and 2b^3W/a (generalized ReLU, Thm 1 of "
            "001) are upper bounds on the constant the SNGD trajectory needs",
            holds=n_bad == 0 and max(kratio) <= 1.0,
            evidence="empirical kappa (max over points with f-f*>eps of eps||g||/<g,w-w*>) / "
            f"formula kappa: max {max(kratio):.2e}, median {float(np.median(kratio)):.2e} over "
            f"{len(all_runs)} runs; points with <g, w*-w> >= 0 and f-f*>eps: {n_bad}. The formula "
            "is loose by orders of magnitude, so eta=eps/kappa is very conservative",
        )
    )

    # steps ratio sigmoid / gen-ReLU per ||w*||. When the sigmoid runs stopped at the cap and
    # the generalized-ReLU runs reached 3 eps, cap / median(gen-ReLU hits) is a lower bound.
    parts, ratio_txt = [], []
    t_ratios: list[float] = []
    s_lower: list[float] = []  # measured ratio, or its lower bound; nan if unknown
    s_exact: list[bool] = []  # whether s_lower is the measured ratio itself
    for W in w_norms:
        rs, rr = per_run[("sigmoid", W)], per_run[("generalized_relu", W)]
        t_ratio = rs[0]["hp"].T / rr[0]["hp"].T
        hs = [r["trace"].first_hit for r in rs]
        hr = [r["trace"].first_hit for r in rr]
        if all(h is not None for h in hs + hr):
            lb = float(np.median(hs) / np.median(hr))
            s_txt = f"{lb:.3g}"
        elif all(h is not None for h in hr) and all(
            h is not None or r["status"] == "not reached within cap" for h, r in zip(hs, rs)
        ):
            lb = float(min(r["budget"] for r in rs) / np.median(hr))
            s_txt = f">{lb:.3g} (sigmoid not reached within cap)"
        else:
            lb = math.nan
            s_txt = "n/a"
        t_ratios.append(t_ratio)
        s_lower.append(lb)
        s_exact.append(all(h is not None for h in hs + hr))
        ratio_txt.append(f"W={W:g}: {s_txt}")
        parts.append(f"||w*||={W:g}: T_sig/T_relu={t_ratio:.3g}, steps_sig/steps_relu={s_txt}")
    t_grows = all(t2 > t1 for t1, t2 in zip(t_ratios, t_ratios[1:]))
    grows = measured_ratio_rises(s_lower, s_exact)
    faster_at_large = not math.isnan(s_lower[-1]) and s_lower[-1] > 1.0
    claims.append(
        Claim(
            claim="Generalized ReLU needs fewer SNGD steps than sigmoid at the largest ||w*||, "
            "increasingly so as ||w*|| grows (kappa linear vs exponential in ||w*||; end of "
            "Sec. 3.4.1 of 001), judged on the measured step ratio sigmoid/gen. ReLU: > 1 at "
            "the largest ||w*|| and rising from each ||w*|| to the next",
            holds=bool(grows and faster_at_large),
            evidence="; ".join(parts)
            + f". Predicted ratio T_sig/T_relu = (e^W a/(2b^3W))^2 grows with W: {t_grows} "
            "(algebra, not a measurement). Measured step ratio rising at every step of the "
            f"||w*|| grid: {grows} (a lower bound, from a capped sigmoid run, counts as a rise "
            "only above a measured previous ratio, and a rise after a lower bound cannot be "
            "shown); gen. ReLU needed fewer steps at ||w*|| in "
            f"{[W for W, x in zip(w_norms, s_lower) if not math.isnan(x) and x > 1.0]}",
        )
    )
    every_w = all(not math.isnan(x) and x > 1.0 for x in s_lower)
    claims.append(
        Claim(
            claim="Generalized ReLU is faster than sigmoid at every ||w*|| (the paper's "
            "'exponential improvement' read without the constants)",
            holds=bool(every_w),
            evidence="with a=0.5, b=1: kappa_relu = 4W < e^W only for W > 2.153 (and W < 0.357); "
            "measured step "
            "ratios sigmoid/gen. ReLU "
            + ", ".join(ratio_txt)
            + " (ratio < 1: sigmoid needed fewer steps). With the experiments' leaky ReLU "
            "a=0.01, kappa=200W exceeds e^W for 0.005 < W < 7.28",
        )
    )

    elapsed = time.perf_counter() - t_start
    setup = (
        f"Realizable GLM teachers y = phi(<w*,x>), d={d}, x uniform on the unit sphere, "
        f"m={m} training samples (f = (1/m) sum (y - phi(<w,x>))^2, no 1/2, as in the proofs of "
        f"001 Sec. 5; f* = 0), w* uniform direction with ||w*|| in {list(w_norms)} (same w* for "
        f"both activations per seed), activations sigmoid and generalized ReLU a={a}, b={b} "
        f"(kappa=2b^3W/a=4W; leaky a=0.01 would give 200W). eps={eps}, delta={delta}, "
        f"M = per-sample loss bound on ||w-w*|| <= ||w*||+eta (min(1,(R/4)^2) sigmoid, (bR)^2 "
        f"ReLU). Theory eta=eps/kappa, T=ceil(kappa^2||w*||^2/eps^2) (w_1=0), "
        f"b=ceil(M^2 log(4T/delta)/(2eps^2)); b > m always, so the exact gradient (full batch, "
        f"f_t=f) is used. SNGD via dante.sngd.sngd_step_ for min(T, {cap}) steps, stopped "
        f"{tail} (+<1024) steps after the first iterate with f-f* <= 3eps; 'final' is the last "
        f"iterate. Empirical kappa = max over iterates with f-f*>eps of eps||grad f||/<grad f,"
        f" w-w*> (smallest kappa making them all SLQC). Population excess on {n_pop} fresh "
        f"samples. Seeds {seeds}; float64, CPU; wall time {elapsed:.0f} s."
    )
    return StudyResult(
        title="SLQC constants and theory-set SNGD on GLM teachers",
        source="001_1787bf99fca4a9f2.txt Sec. 3.2-3.4 (Thms 1, 8); 000_16cd8e47eb5a686b.txt "
        "Sec. 3 (Thm 3.4, 3.6)",
        setup=setup,
        rows=rows,
        claims=claims,
        figures=[fig_name],
        seeds=seeds,
    )
