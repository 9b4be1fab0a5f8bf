"""Verdicts over seeds (PROTOCOL.md section 5): intervals, orientation, the central claim."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy
from scipy import stats

from dante.experiments.verdicts import (
    bootstrap_interval,
    central_claim,
    compare,
    loss_at_fraction,
    verdict,
    weights_to_reach,
    welch_interval,
)


def test_welch_interval_by_hand():
    # a = [1, 2, 3]: mean 2, s^2 = 1; b = [2, 4]: mean 3, s^2 = 2.
    # se^2 = 1/3 + 2/2 = 4/3; dof = (4/3)^2 / ((1/3)^2/2 + 1^2/1) = (16/9) / (19/18) = 32/19
    diff, lo, hi, dof = welch_interval([1.0, 2.0, 3.0], [2.0, 4.0])
    assert diff == pytest.approx(-1.0, rel=1e-12)
    assert dof == pytest.approx(32 / 19, rel=1e-12)
    half = stats.t.ppf(0.975, 32 / 19) * math.sqrt(4 / 3)
    assert (lo, hi) == pytest.approx((-1.0 - half, -1.0 + half), rel=1e-12)
    # the t quantile at 32/19 dof is far above the normal 1.96: the interval is wide
    assert half > 5.0


def test_welch_interval_matches_scipy_ttest():
    if tuple(int(p) for p in scipy.__version__.split(".")[:2]) < (1, 11):
        pytest.skip("TtestResult.confidence_interval needs SciPy >= 1.11")
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.015, 0.004, 5), rng.normal(0.013, 0.0007, 5)
    for level in (0.9, 0.95, 0.99):
        ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
        diff, lo, hi, dof = welch_interval(a, b, level)
        assert (lo, hi) == pytest.approx((ref.low, ref.high), rel=1e-10)
        assert diff == pytest.approx(a.mean() - b.mean(), rel=1e-12)
        assert dof == pytest.approx(stats.ttest_ind(a, b, equal_var=False).df, rel=1e-10)


def test_welch_interval_refuses_too_little():
    with pytest.raises(ValueError, match="at least 2"):
        welch_interval([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        welch_interval([1.0, float("nan")], [1.0, 2.0])


def test_constant_samples_give_a_point_interval():
    assert welch_interval([2.0, 2.0, 2.0], [1.0, 1.0]) == (1.0, 1.0, 1.0, 3.0)


def test_bootstrap_is_seeded_and_near_welch_on_large_samples():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 1.0, 400), rng.normal(0.0, 1.0, 400)
    one = bootstrap_interval(a, b, 0.95, 4000, seed=7)
    assert one[:3] == bootstrap_interval(a, b, 0.95, 4000, seed=7)[:3]
    assert one[:3] != bootstrap_interval(a, b, 0.95, 4000, seed=8)[:3]
    assert math.isnan(one.dof)
    w = welch_interval(a, b)
    assert one.diff == pytest.approx(w.diff, rel=1e-12)
    # 400 a side: the percentile bootstrap and Welch agree to a few percent of the width
    width = w.hi - w.lo
    assert abs(one.lo - w.lo) < 0.05 * width and abs(one.hi - w.hi) < 0.05 * width


def test_interval_containing_zero_is_inconclusive():
    assert verdict((0.1, -0.2, 0.4), True, True) == "inconclusive"
    assert verdict((-0.1, -0.4, 0.2), False, True) == "inconclusive"
    assert verdict((0.0, 0.0, 0.3), True, True) == "inconclusive"  # touching 0


@pytest.mark.parametrize(
    ("interval", "higher_is_better", "claimed_better", "expected"),
    [
        ((0.02, 0.01, 0.03), True, True, "held"),  # accuracy up, claimed better
        ((0.02, 0.01, 0.03), True, False, "not held"),
        ((0.02, 0.01, 0.03), False, True, "not held"),  # a loss went up: worse
        ((0.02, 0.01, 0.03), False, False, "held"),
        ((-0.02, -0.03, -0.01), False, True, "held"),  # loss down, claimed better
        ((-0.02, -0.03, -0.01), True, True, "not held"),  # accuracy down
    ],
)
def test_orientation_accuracy_vs_loss(interval, higher_is_better, claimed_better, expected):
    assert verdict(interval, higher_is_better, claimed_better) == expected


def test_fewer_than_five_seeds_give_no_verdict():
    assert verdict((1.0, 0.5, 1.5), True, True, n_seeds=4) == "too few seeds"
    assert verdict((1.0, 0.5, 1.5), True, True, n_seeds=5) == "held"
    four = compare(
        [2.0, 2.1, 2.2, 2.3], [1.0, 1.1, 1.2, 1.3], higher_is_better=True, claimed_better=True
    )
    assert four["verdict"] == "too few seeds"
    assert four["lo"] > 0  # the interval is still shown
    # a failed seed (None) leaves 4 of 5
    five = compare(
        [2.0, 2.1, 2.2, 2.3, None],
        [1.0, 1.1, 1.2, 1.3, 1.4],
        higher_is_better=True,
        claimed_better=True,
    )
    assert five["verdict"] == "too few seeds" and five["dropped"] == 1


def test_compare_orients_losses_and_reports_table2_row():
    # the row: tuned SGD+AltMin 0.0150 +- 0.0043 vs DANTE 0.0133 +- 0.0007 (5 seeds)
    altmin = [0.0150 + 0.0043 * z for z in (-1.2, -0.5, 0.0, 0.5, 1.2)]
    dante = [0.0133 + 0.0007 * z for z in (-1.2, -0.5, 0.0, 0.5, 1.2)]
    res = compare(altmin, dante, higher_is_better=False, claimed_better=False)
    # oriented so that positive favours the method: the loss is higher, so the diff is negative
    assert res["diff"] == pytest.approx(-(0.0150 - 0.0133), rel=1e-9)
    assert res["lo"] < 0 < res["hi"]
    assert res["verdict"] == "inconclusive"
    clear = compare([x + 0.02 for x in altmin], dante, higher_is_better=False, claimed_better=False)
    assert clear["hi"] < 0 and clear["verdict"] == "held"


def test_loss_at_fraction_interpolates_a_piecewise_linear_curve():
    curve = {"weights_updated": [0, 100, 300], "train_loss": [1.0, 0.5, 0.1]}
    assert loss_at_fraction(curve, 400, 0.125) == pytest.approx(0.75)  # x = 50
    assert loss_at_fraction(curve, 400, 0.5) == pytest.approx(0.3)  # x = 200
    # past the last evaluation (a run that stopped early): its last value
    assert loss_at_fraction(curve, 400, 1.0) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="fraction"):
        loss_at_fraction(curve, 400, 1.5)


def test_weights_to_reach_finds_the_crossing():
    curve = {"weights_updated": [0, 100, 300], "train_loss": [1.0, 0.5, 0.1]}
    # 0.3 lies between 0.5 (x=100) and 0.1 (x=300): halfway, x = 200
    assert weights_to_reach(curve, 0.3, 1000) == (pytest.approx(200.0), True)
    assert weights_to_reach(curve, 0.75, 1000) == (pytest.approx(50.0), True)
    assert weights_to_reach(curve, 1.0, 1000) == (0.0, True)
    # first crossing, not a later one after a rise
    bumpy = {"weights_updated": [0, 10, 20, 30], "train_loss": [1.0, 0.2, 0.9, 0.1]}
    assert weights_to_reach(bumpy, 0.6, 99)[0] == pytest.approx(5.0)


def test_never_reached_counts_as_the_budget():
    curve = {"weights_updated": [0, 100, 300], "train_loss": [1.0, 0.5, 0.1]}
    assert weights_to_reach(curve, 0.05, 1000) == (1000.0, False)


def _run(seed, xs, ys):
    return {"seed": seed, "train_loss": ys[-1], "curve": {"weights_updated": xs, "train_loss": ys}}


def _cell(n_seeds=5):
    """DANTE falls fast then flattens at 0.30; SGD falls slower, dips to 0.15 at 75% of the
    budget and ends at 0.20."""
    xs = [0.0, 250.0, 500.0, 750.0, 1000.0]
    dante, sgd = [], []
    for s, e in enumerate([-0.008, -0.005, -0.001, 0.006, 0.008][:n_seeds]):
        dante.append(_run(s, xs, [1.0, 0.35 + e, 0.32 + e, 0.31 + e, 0.30 + e]))
        sgd.append(_run(s, xs, [1.0, 0.70 + e, 0.45 + e, 0.15 + e, 0.20 + e]))
    return {"budget_weights": 1000, "methods": {"dante": {"runs": dante}, "sgd": {"runs": sgd}}}


def test_central_claim_dante_leads_early_sgd_overtakes():
    res = central_claim(_cell())
    assert res["status"] == "ok"
    assert res["target"] == pytest.approx(0.20)
    by = {m["name"]: m for m in res["measures"]}
    assert by["loss@25%"]["verdict"] == "held"
    assert by["loss@25%"]["diff"] == pytest.approx(0.70 - 0.35)  # positive favours DANTE
    assert by["loss@50%"]["verdict"] == "held"
    assert by["final loss"]["verdict"] == "not held"
    assert by["final loss"]["diff"] == pytest.approx(0.20 - 0.30)
    reach = by["weights to reach"]
    # DANTE never reaches SGD's mean final loss 0.20: all five count as the budget
    assert reach["never_method"] == 5 and reach["never_baseline"] == 0
    assert reach["method_mean"] == pytest.approx(1000.0)
    # SGD crosses 0.20 between 500 (0.45 + e) and 750 (0.15 + e): at 500 + 250 (0.25 + e) / 0.3
    expected = np.mean(
        [500 + 250 * (0.25 + e) / 0.3 for e in (-0.008, -0.005, -0.001, 0.006, 0.008)]
    )
    assert reach["baseline_mean"] == pytest.approx(expected, rel=1e-9)
    assert reach["verdict"] == "not held"


def test_central_claim_without_per_seed_curves():
    cell = _cell()
    for r in cell["methods"]["sgd"]["runs"]:
        del r["curve"]
    res = central_claim(cell)
    assert res["status"] == "no per-seed curves" and res["measures"] == []
    assert central_claim(cell, baseline="adam")["status"] == "missing method"


def test_central_claim_with_four_seeds_gives_no_verdict():
    res = central_claim(_cell(n_seeds=4))
    assert {m["verdict"] for m in res["measures"]} == {"too few seeds"}
