"""
The Boob-Lan optimality certificate along an SGD-GD run
=======================================================

Boob and Lan (``002``) study the two-layer problem

.. math::

   f(W, \\theta) = \\frac{1}{2N} \\sum_{i=1}^N \\bigl(v_i - \\theta^\\top h(W u_i)\\bigr)^2,
   \\qquad W \\in \\mathbb{R}^{n \\times d},

with a smooth activation :math:`h`, and train it by SGD-GD (their Algorithm 1):
an inner loop of projected noisy SGD on :math:`\\theta` with :math:`W` fixed,
then one gradient step on :math:`W`. Their Sec. 3 gives a certificate: with
:math:`\\mathrm{vec}(\\nabla_W f) = -\\frac{1}{N} D s` and :math:`D` of full
column rank (:math:`N \\le nd`),

.. math::

   f \\le \\frac{N \\lVert \\nabla_W f \\rVert_F^2}{2\\, \\sigma_{\\min}(D)^2},

so a small :math:`W`-gradient certifies a near-global minimum; Theorem 5.9
says the running minimum of :math:`\\lVert \\nabla_W f \\rVert^2` falls as
:math:`O(1/N_o)`. The run below records both at every outer step.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from dante.shallow.sgd_gd import sgd_gd

torch.set_num_threads(1)
torch.manual_seed(0)
rng = np.random.default_rng(0)

d = n = 5
N = 20  # N <= n d = 25: D can have full column rank
U = rng.normal(size=(d, N)) / np.sqrt(d)  # inputs as columns
W_t, theta_t = rng.normal(size=(n, d)), rng.normal(size=n)
v = theta_t @ (1 / (1 + np.exp(-W_t @ U)))  # a sigmoid teacher: f* = 0 is reachable

res = sgd_gd(U, v, n=n, activation="sigmoid", n_outer=200, seed=0)
k = np.asarray(res.column("k"))
f = np.asarray(res.column("f"))
cert = np.asarray(res.column("certificate"))
gmin = np.asarray(res.column("running_min_grad_w_sq"))

finite = np.isfinite(cert)
print(f"outer steps {len(k)}, final f = {f[-1]:.3e}, final certificate = {cert[-1]:.3e}")
print(
    f"certificate >= f at {np.sum(cert[finite] >= f[finite])} of {finite.sum()} steps "
    f"where it is finite"
)
slope = np.polyfit(np.log(k[10:] + 1), np.log(gmin[10:]), 1)[0]
print(
    f"log-log slope of min ||grad_W f||^2 against k: {slope:.2f} (Theorem 5.9: O(1/k), slope <= -1)"
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
axes[0].semilogy(k, f, label="$f(W_k, \\theta_k)$")
axes[0].semilogy(
    k[finite], cert[finite], label=r"certificate $N\|\nabla_W f\|^2 / 2\sigma_{\min}(D)^2$"
)
axes[0].set_xlabel("outer step k")
axes[0].legend(fontsize=8)
axes[0].set_title("the certificate bounds f from above", fontsize=9)
axes[1].loglog(k + 1, gmin, label=r"$\min_{j \leq k} \|\nabla_W f\|_F^2$")
ref = gmin[10] * (k[10] + 1) / (k + 1)
axes[1].loglog(k + 1, ref, "k--", lw=1, label="slope -1")
axes[1].set_xlabel("k + 1")
axes[1].legend(fontsize=8)
axes[1].set_title("Theorem 5.9: O(1/k)", fontsize=9)
for ax in axes:
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
