"""
Recovering a dictionary with a tied ReLU autoencoder (NWH)
==========================================================

Nguyen, Wong and Hegde (``004``) draw data from a generative model
:math:`y = A x^* + \\eta` with a dictionary :math:`A` of unit, incoherent
columns, and train the tied autoencoder
:math:`x = \\sigma(W^\\top y + b)`, :math:`\\hat y = W x` by

.. math::

   W \\leftarrow \\mathrm{normalize\\_columns}(W - \\zeta g),

with :math:`g` the gradient whose :math:`\\sigma'` is replaced by
:math:`1\\{x_i \\ne 0\\}` (their Theorem 4). From a start close to :math:`A`
the error contracts, :math:`\\lVert W_{s+1} - A \\rVert_F^2 \\le (1-\\tau)
\\lVert W_s - A \\rVert_F^2 + \\epsilon` with :math:`\\tau > 1/2`, while the
bias shrinks geometrically. The experiment of their Sec. 6 at a smaller size
(:math:`n = 100` instead of 784): a mixture-of-Gaussians code (:math:`x^* = e_i`),
10 ReLU units, errors measured after matching the columns of :math:`W` to
those of :math:`A` (Hungarian).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from dante.shallow import (
    BilinearModel,
    fit_contraction,
    geometric_bias,
    init_weights,
    nwh_train,
    random_dictionary,
)

torch.set_num_threads(1)

n, m, N = 100, 10, 2000
A = random_dictionary(n, m, seed=0)
Y = BilinearModel(A, "mixture", noise_std=0.01, seed=1).sample(N)[0]
starts = {
    "A + 0.5 E (perturbed truth)": init_weights(A, "perturbed", delta=0.5, seed=2),
    "PCA": init_weights(A, "pca", Y=Y, seed=2),
    "random": init_weights(A, "random", seed=2),
}

runs = {}
for name, W0 in starts.items():
    runs[name] = nwh_train(W0, Y, steps=30, zeta=float(m), bias=geometric_bias(-1.25, 2.0), A=A)
# the same perturbed start with the bias kept away from 0 (|b| >= 0.1)
floored = nwh_train(
    starts["A + 0.5 E (perturbed truth)"],
    Y,
    steps=30,
    zeta=float(m),
    bias=geometric_bias(-1.25, 2.0, floor=-0.1),
    A=A,
)

for name, res in runs.items():
    print(
        f"{name:28s} matched error: start {res.errors[0]:.3f}, best {min(res.errors):.3f}, "
        f"end {res.errors[-1]:.3f}"
    )
print(f"{'perturbed, bias floor -0.1':28s} matched error: end {floored.errors[-1]:.3f}")

# %%
# The contraction of Theorem 4
# ----------------------------
# Fitted on the descent phase of the perturbed start (the steps up to its
# smallest error), :math:`e_{s+1} = (1 - \tau) e_s + c` on the squared error.
errs = np.asarray(runs["A + 0.5 E (perturbed truth)"].errors)
fit = fit_contraction(errs**2, n_fit=int(np.argmin(errs)) + 1, method="loglinear")
print(f"tau = {fit['tau']:.2f} (Theorem 4: tau > 1/2)")

fig, ax = plt.subplots(figsize=(6.5, 3.8))
for name, res in runs.items():
    ax.semilogy(res.errors, label=name)
ax.semilogy(floored.errors, "k--", lw=1, label="perturbed, bias floor -0.1")
ax.set_xlabel("step s")
ax.set_ylabel(r"matched $\|W_s - A\|_F$")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
