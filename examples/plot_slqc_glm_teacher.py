"""
Checking strict local quasi-convexity on a GLM teacher
======================================================

DANTE rests on one property of its subproblems: a generalized linear model
with the generalized ReLU :math:`\\phi(u) = a u \\ (u \\le 0),\\ b u \\ (u > 0)`
is :math:`(\\epsilon, \\kappa, w^*)`-SLQC (Definition 1 of ``001``) with
:math:`\\kappa = 2 b^3 W / a` wherever :math:`\\lVert w \\rVert \\le W`
(Theorem 1). :mod:`dante.theory` checks the definition in closed form: at a
point :math:`w` with :math:`f(w) - f(w^*) > \\epsilon` the ball clause
:math:`\\langle g, y - w \\rangle \\le 0` on :math:`B(w^*, \\epsilon/\\kappa)`
is :math:`\\langle g, w^* - w \\rangle + (\\epsilon/\\kappa) \\lVert g \\rVert \\le 0`.

This example draws a realizable teacher, checks the definition at random
points of the ball, measures the smallest constant each point needs, and runs
SNGD with Theorem 8's step :math:`\\eta = \\epsilon / \\kappa`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from dante.theory import (
    glm_loss_and_grad,
    glm_loss_bound,
    kappa_generalized_relu,
    make_glm_teacher,
    run_sngd_glm,
    slqc_check,
    theory_hyperparameters,
)

torch.set_num_threads(1)
torch.manual_seed(0)

a, b, W, eps = 0.5, 1.0, 2.0, 1e-3
teacher = make_glm_teacher("generalized_relu", d=5, w_norm=W, seed=0, a=a, b=b)
X, y = teacher.sample(2048, seed=1)  # float64, ||x|| = 1, y = phi(<w*, x>)
w_star = teacher.w_star
kappa = kappa_generalized_relu(W, a=a, b=b)
print(f"Theorem 1: kappa = 2 b^3 W / a = {kappa:g}")


def f(w):
    return glm_loss_and_grad(torch.as_tensor(w), X, y, "generalized_relu", a, b)[0].item()


def grad(w):
    return glm_loss_and_grad(torch.as_tensor(w), X, y, "generalized_relu", a, b)[1]


# %%
# The definition at random points of the ball
# -------------------------------------------
# ``kappa_min`` is the smallest constant for which the ball clause holds at
# that point; the theorem's constant must be at least every one of them.
rng = np.random.default_rng(0)
checks = []
for _ in range(300):
    v = rng.normal(size=5)
    w = torch.as_tensor(v / np.linalg.norm(v) * W * rng.random() ** (1 / 5))  # uniform in B(0, W)
    checks.append(slqc_check(f, grad, w, w_star, eps=eps, kappa=kappa))
need = np.array([c.kappa_min for c in checks if not c.within_eps])
print(f"SLQC holds at {sum(c.holds for c in checks)} of {len(checks)} points")
print(
    f"largest constant needed {need.max():.3g}  vs  formula {kappa:g} "
    f"(ratio {need.max() / kappa:.2g})"
)

# %%
# SNGD with Theorem 8's step
# --------------------------
# :func:`dante.theory.theory_hyperparameters` gives :math:`\eta = \epsilon/\kappa`,
# :math:`T` and the minibatch :math:`b`; the run is capped at 20,000 steps and
# uses the full sample when the theory's batch exceeds it.
M = glm_loss_bound("generalized_relu", W + 0.01, a=a, b=b)
hp = theory_hyperparameters(eps, 0.05, kappa, M, float(torch.linalg.norm(w_star)))
print(f"eta = {hp.eta:.3g}, T = {hp.T:,}, b = {hp.b:,}")
trace = run_sngd_glm(
    teacher,
    X,
    y,
    eta=hp.eta,
    steps=min(hp.T, 20_000),
    batch_size=min(hp.b, len(X)),
    eps=eps,
    record_every=20,
)
print(
    f"first step with f - f* <= 3 eps: {trace.first_hit}; "
    f"empirical kappa of the trajectory: {trace.kappa_emp.kappa:.3g}"
)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].hist(np.log10(need), bins=30, color="tab:blue")
axes[0].axvline(np.log10(kappa), color="k", ls="--", label=r"Theorem 1: $2b^3W/a$")
axes[0].set_xlabel(r"$\log_{10}$ kappa needed at a random point")
axes[0].set_ylabel("points")
axes[0].legend()
axes[1].semilogy(trace.record_steps, trace.record_excess, color="tab:blue")
axes[1].axhline(3 * eps, color="k", ls="--", label=r"$3\epsilon$ (Theorem 8)")
axes[1].set_xlabel("SNGD step")
axes[1].set_ylabel(r"$f(w_t) - f^*$")
axes[1].legend()
fig.tight_layout()
plt.show()
