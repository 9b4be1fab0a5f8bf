"""Parameter recovery pieces: generators, NWH tied autoencoder, thesis sparse-coding AE.

Oracles: brute-force incoherence, planted permutations/signs, autograd
gradients, a planted dictionary recovered by the NWH iteration, closed-form
geometric sequences for the contraction fit, the Thm 4.3.2 scale.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dante.shallow.generative import (
    BilinearModel,
    incoherence,
    normalize_columns,
    random_dictionary,
    sparse_magnitude_upper,
)
from dante.shallow.sparse_coding_ae import (
    gradient_descent,
    perturb_rows,
    sc_gradient,
    sc_loss,
    support_size,
    thesis_data,
    thesis_eps,
)
from dante.shallow.tied_autoencoder import (
    fit_contraction,
    geometric_bias,
    init_weights,
    match_columns,
    matched_error,
    nwh_loss_and_gradient,
    nwh_train,
)

# ----------------------------------------------------------------- generators


def test_dictionary_unit_columns_and_incoherence_brute_force():
    A = random_dictionary(40, 12, seed=3)
    assert np.allclose(np.linalg.norm(A, axis=0), 1.0)
    brute = max(abs(A[:, i] @ A[:, j]) for i in range(12) for j in range(12) if i != j)
    assert incoherence(A) == pytest.approx(np.sqrt(40) * brute)
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((10, 4)))[0]
    assert incoherence(Q) == pytest.approx(0.0, abs=1e-12)  # orthonormal: mu = 0


def test_mixture_codes_are_basis_vectors_with_given_probs():
    A = random_dictionary(20, 4, seed=0)
    gen = BilinearModel(A, "mixture", probs=[0.7, 0.1, 0.1, 0.1], seed=1)
    Y, X = gen.sample(4000)
    assert np.all(X.sum(axis=1) == 1) and set(np.unique(X)) == {0.0, 1.0}
    assert np.allclose(Y, X @ A.T)  # no noise
    assert X[:, 0].mean() == pytest.approx(0.7, abs=0.03)


def test_sparse_supports_and_value_ranges():
    A = random_dictionary(30, 50, seed=0)
    Xn = BilinearModel(A, "nonneg_sparse", k=5, a1=1.0, a2=10.0, seed=2).sample_codes(3000)
    assert np.all((Xn != 0).sum(axis=1) == 5)
    nz = Xn[Xn != 0]
    assert nz.min() >= 1.0 and nz.max() <= 10.0
    assert nz.mean() == pytest.approx(5.5, abs=0.15)
    Xs = BilinearModel(A, "sparse", k=3, a1=0.5, seed=2).sample_codes(20000)
    assert np.all((Xs != 0).sum(axis=1) == 3)
    nz = Xs[Xs != 0]
    assert np.abs(nz).min() >= 0.5 and np.abs(nz).max() <= sparse_magnitude_upper(0.5)
    assert nz.mean() == pytest.approx(0.0, abs=0.03)  # kappa_1 = 0
    assert np.mean(nz**2) == pytest.approx(1.0, abs=0.03)  # kappa_2 = 1
    # supports are uniform: every atom used about k/m of the time
    freq = (Xs != 0).mean(axis=0)
    assert np.allclose(freq, 3 / 50, atol=0.012)


def test_noise_level_and_determinism():
    A = random_dictionary(50, 5, seed=0)
    Y, X = BilinearModel(A, "mixture", noise_std=0.2, seed=4).sample(2000)
    assert np.std(Y - X @ A.T) == pytest.approx(0.2, rel=0.02)
    g1 = BilinearModel(A, "nonneg_sparse", k=2, seed=9)
    g2 = BilinearModel(A, "nonneg_sparse", k=2, seed=9)
    b1, b2 = list(g1.batches(8, 3)), list(g2.batches(8, 3))
    assert all(np.array_equal(u, v) for u, v in zip(b1, b2))  # same seed, same stream
    assert not np.array_equal(b1[0], b1[1])  # fresh batch per step


# ----------------------------------------------------------------- matching


def test_hungarian_recovers_permutation_and_signs():
    rng = np.random.default_rng(0)
    A = random_dictionary(60, 8, seed=1)
    perm = rng.permutation(8)
    signs = rng.choice([-1.0, 1.0], size=8)
    W = np.empty_like(A)
    W[:, perm] = A * signs  # column perm[j] of W is signs[j] * A_j
    W = W + 0.01 * rng.standard_normal(W.shape)
    # Hungarian on |W^T A|: matched entries >= 0.97, any other <= 0.28 (measured): no tie
    p, s = match_columns(W, A, sign_flips=True)
    assert np.array_equal(p, perm) and np.array_equal(s, signs)
    assert matched_error(W, A, sign_flips=True)["fro"] < 0.3  # noise: 0.01 sqrt(n m) = 0.22
    # without sign flips the flipped columns cannot be matched well
    if np.any(signs < 0):
        assert matched_error(W, A, sign_flips=False)["fro"] > 1.0


# ----------------------------------------------------------------- NWH


@pytest.mark.parametrize("activation", ["relu", "threshold"])
def test_masked_nwh_gradient_equals_autograd(activation):
    rng = np.random.default_rng(5)
    n, m, N = 15, 6, 40
    A = random_dictionary(n, m, seed=0)
    W = normalize_columns(A + 0.3 * rng.standard_normal((n, m)))
    Y, _ = BilinearModel(A, "nonneg_sparse", k=2, a1=0.5, a2=1.5, noise_std=0.05, seed=1).sample(N)
    b = -0.2 * rng.random(m)
    Wt = torch.tensor(W, requires_grad=True)
    Yt = torch.tensor(Y)
    Z = Yt @ Wt + torch.tensor(b)
    if activation == "relu":
        X = torch.relu(Z)
    else:
        X = Z * (Z.abs() > 0.4).double()  # indicator held fixed, as in the masked rule
    loss = 0.5 * ((Yt - X @ Wt.T) ** 2).sum(dim=1).mean()
    loss.backward()
    assert not np.any(np.isclose(np.abs(Z.detach().numpy()), 0.0 if activation == "relu" else 0.4))
    value, g = nwh_loss_and_gradient(W, Y, b, activation, threshold=0.4)
    # float64, entries ~0.2: measured 5.6e-17; the masks agree (|Z| >= 6e-4 from each kink)
    assert np.allclose(g, Wt.grad.numpy(), atol=1e-10)
    assert value == pytest.approx(loss.item())


def test_nwh_contracts_from_perturbed_truth():
    A = random_dictionary(200, 5, seed=2)
    gen = BilinearModel(A, "mixture", noise_std=0.01, seed=3)
    W0 = init_weights(A, "delta_close", delta=0.4, seed=4)
    assert np.allclose(np.linalg.norm(W0 - A, axis=0), 0.4)
    res = nwh_train(
        W0,
        gen.batches(2000),
        steps=6,
        zeta=5.0,
        bias=geometric_bias(-0.5, 2.0, floor=-0.1),
        A=A,
    )
    e = np.asarray(res.errors)
    assert np.all(np.diff(e[:4]) < 0)  # ||W_s - A||_F decreases (measured steps <= -0.10)
    assert e[-1] < 0.15 * e[0]
    fit = fit_contraction(e[:4] ** 2, method="loglinear")
    assert fit["tau"] > 0.5  # Thm 4: tau in (1/2, 1)


def _sparse_run(code: str, a2: float | None, c: float, seed: int = 0) -> np.ndarray:
    """NWH Thm 4 (ii)/(iii.1) run: threshold at a1/2, b = 0, zeta = c m/k, from A + 0.3E."""
    n, m, k = 60, 8, 2
    A = random_dictionary(n, m, seed=10 + seed)
    a1 = 0.5 if code == "sparse" else 1.0
    kw = {"k": k, "a1": a1, "noise_std": 0.01, "seed": 20 + seed}
    if a2 is not None:
        kw["a2"] = a2
    Y = BilinearModel(A, code, **kw).sample(3000)[0]
    W0 = init_weights(A, "perturbed", delta=0.3, seed=30 + seed)
    res = nwh_train(
        W0,
        Y,
        steps=20,
        zeta=c * m / k,
        bias=0.0,
        activation="threshold",
        threshold=a1 / 2,
        A=A,
        sign_flips=code == "sparse",
    )
    return np.asarray(res.errors)


@pytest.mark.parametrize(("code", "a2"), [("sparse", None), ("nonneg_sparse", 2.0)])
def test_nwh_thm4_sparse_codes_contract_at_a_small_step(code, a2):
    """Thm 4 (ii) and (iii.1): zeta = 0.1 m/k contracts from a delta-close start (the
    study's criterion: final error <= half the initial, never above 1.5x it)."""
    e = _sparse_run(code, a2, 0.1)
    assert e[-1] <= 0.5 * e[0] and e.max() <= 1.5 * e[0]


def test_nwh_thm4_nonneg_literal_step_diverges_for_large_kappa2():
    """Thm 4 (iii.1) with the literal zeta = m/k on U[1, 10] codes (kappa2 = 37): the
    step is ~37x beyond the stable range, so the error at least doubles."""
    e = _sparse_run("nonneg_sparse", 10.0, 1.0)
    assert e[-1] > 2.0 * e[0]


def test_kappa2_matches_sampled_second_moment():
    from dante.shallow.nwh_sparse_study import kappa2

    A = random_dictionary(20, 10, seed=0)
    for a1, a2, code in (
        (0.5, None, "sparse"),
        (1.0, 2.0, "nonneg_sparse"),
        (1.0, 10.0, "nonneg_sparse"),
    ):
        kw = {"k": 3, "a1": a1, "seed": 1} | ({} if a2 is None else {"a2": a2})
        X = BilinearModel(A, code, **kw).sample_codes(20_000)
        m2 = float(np.mean(X[X != 0] ** 2))
        # 60k nonzeros: the standard error of the mean of x^2 is < 0.5% of it for these laws
        assert abs(m2 - kappa2(a1, a2)) <= 0.02 * kappa2(a1, a2)


def test_fit_contraction_recovers_planted_rate_and_floor():
    s = np.arange(12)
    e = 0.02 + (3.0 - 0.02) * 0.4**s  # floor + (e0 - floor)(1 - tau)^s, tau = 0.6
    fit = fit_contraction(e)
    # exact data, float64 polyfit: measured error 1.1e-16
    assert fit["tau"] == pytest.approx(0.6, abs=1e-8)
    assert fit["floor"] == pytest.approx(0.02, abs=1e-8)
    assert fit_contraction(3.0 * 0.4**s, method="loglinear")["tau"] == pytest.approx(0.6)


def test_pca_init_spans_the_dictionary():
    A = random_dictionary(80, 4, seed=0)
    Y, _ = BilinearModel(A, "mixture", noise_std=0.01, seed=1).sample(3000)
    W = init_weights(A, "pca", Y=Y)
    assert np.allclose(W.T @ W, np.eye(4), atol=1e-8)
    # the centred top-3 directions lie in span(A)
    P = A @ np.linalg.pinv(A)
    assert np.linalg.norm(P @ W[:, :3] - W[:, :3]) < 0.05


# ----------------------------------------------------------------- thesis AE


def test_sparse_coding_ae_gradient_equals_autograd():
    rng = np.random.default_rng(0)
    A, Y, _ = thesis_data(12, 20, 0.2, 30, seed=1)
    W = A.T + 0.2 * rng.standard_normal((20, 12))
    eps = 0.7 * rng.random(20)
    Wt = torch.tensor(W, requires_grad=True)
    Yt = torch.tensor(Y)
    pre = Yt @ Wt.T - torch.tensor(eps)
    assert not np.any(np.isclose(pre.detach().numpy(), 0.0))
    loss = 0.5 * ((torch.relu(pre) @ Wt - Yt) ** 2).sum(dim=1).mean()
    loss.backward()
    # float64, entries up to 150: measured 2.8e-14, i.e. ~1e-16 relative
    assert np.allclose(sc_gradient(W, Y, eps), Wt.grad.numpy(), atol=1e-9)
    assert sc_loss(W, Y, eps) == pytest.approx(loss.item())
    assert (torch.relu(pre) > 0).any()  # the encoder term was exercised


def test_expected_gradient_at_dictionary_within_thm432_scale():
    # Theorem 4.3.1's bias for W = A* (delta = 0) with the measured coherence
    n, h, p = 500, 64, 0.01
    A, Y, _ = thesis_data(n, h, p, 2000, seed=0)
    eps = thesis_eps(h, p, 0.0, incoherence(A) / np.sqrt(n))
    G = sc_gradient(A.T, Y, eps)
    assert np.mean(Y @ A > eps) > 0  # the layer is live
    scale = max(5.5**2, 37.0) * h ** (p - 1)  # max(m1^2, m2) h^{p-1}
    assert np.linalg.norm(G, axis=1).mean() < 0.5 * scale
    # far from A* (rows at distance 2, still live) the gradient is much larger
    Wfar = perturb_rows(A, 2.0, 1, seed=1)[0]
    Gfar = sc_gradient(Wfar, Y, eps)
    assert np.linalg.norm(Gfar, axis=1).mean() > 5 * np.linalg.norm(G, axis=1).mean()


def test_gradient_descent_is_monotone_and_moves_towards_dictionary():
    A, Y, _ = thesis_data(20, 32, 0.1, 400, seed=2)
    W0 = perturb_rows(A, 1.0, 1, seed=3)[0]
    r = gradient_descent(W0, Y, A, eps=0.5, max_steps=40)
    # relative slack 1e-9 is rounding only: the smallest measured decrease is 4e-5 relative
    assert np.all(np.diff(r.losses) <= 1e-9 * max(r.losses))
    assert r.dist < r.dist0 and 0 < r.covered < 1


# ----------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: random_dictionary(0, 3), "n must be"),
        (lambda: BilinearModel(np.ones((3, 2)), "mixture"), "unit-norm"),
        (lambda: BilinearModel(random_dictionary(5, 3, 0), "dense"), "code must be"),
        (lambda: BilinearModel(random_dictionary(5, 3, 0), "nonneg_sparse", k=4), "k must be"),
        (lambda: BilinearModel(random_dictionary(5, 3, 0), "sparse", a1=2.0), "a1 must be"),
        (lambda: BilinearModel(random_dictionary(5, 3, 0), noise_std=-1.0), "noise_std"),
        (lambda: nwh_loss_and_gradient(np.eye(3), np.ones((2, 4))), "rows"),
        (
            lambda: nwh_loss_and_gradient(np.eye(3), np.ones((2, 3)), activation="tanh"),
            "activation",
        ),
        (lambda: nwh_train(np.eye(3), np.ones((2, 3)), zeta=0.0), "zeta"),
        (lambda: geometric_bias(-1.0, 0.5), "factor"),
        (lambda: init_weights(np.eye(3), "magic"), "kind"),
        (lambda: init_weights(np.eye(3), "pca"), "Y"),
        (lambda: fit_contraction([1.0, 0.5]), "errors_sq"),
        (lambda: fit_contraction([1.0, 0.5, 0.2], method="x"), "method"),
        (lambda: support_size(100, 1.5), "p must be"),
        (lambda: sc_gradient(np.ones((4, 3)), np.ones((2, 5)), 0.1), "features"),
        (lambda: sc_gradient(np.ones((4, 3)), np.ones((2, 3)), [0.1, 0.2]), "eps"),
        (lambda: perturb_rows(np.eye(3), -1.0), "radius"),
        (lambda: normalize_columns(np.zeros((3, 2))), "zero"),
    ],
)
def test_bad_arguments_raise_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
