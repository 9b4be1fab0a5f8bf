"""
Autoencoder reconstructions with greedy pairs
=============================================

A deep autoencoder is trained by DANTE pair by pair from the outside in
(Algorithm 3 of the workshop paper ``000``; Figure 1 of ``001``): the
outermost (encoder, decoder) pair is trained as a one-hidden-layer network by
alternating its two blocks with SNGD, then the next pair inward reconstructs
the previous encoder layer's activations (``reading="stacked"``).
:class:`dante.Autoencoder` mirrors the encoder sizes, so ``[64, 32, 16]``
is the network 64-32-16-32-64 with two pairs.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import dante
from dante.data import load

torch.set_num_threads(1)
torch.manual_seed(0)

ds = load("digits")
ae = dante.Autoencoder([64, 32, 16], output_activation="sigmoid", seed=0)
res = dante.fit(
    ae, ds.X_train, X_test=ds.X_test, lr=0.05, batch_size=32, t_sngd=2, max_alternations=4, seed=0
)

# one stage per pair; the history says which pair each record belongs to
for stage in res.stages:
    print(f"{stage['name']}: {stage['rounds']} rounds, stop: {stage['stop_reason']}")
print(
    f"test reconstruction MSE {res.final['test_loss']:.4f}, "
    f"weights updated {res.budget.weights_updated:,d}"
)

# %%
# Reconstruction error along the run
# ----------------------------------
# Pair 0 (64-32-...-32-64) trains first, then pair 1 (32-16-32) inside it:
# the test loss is that of the whole network at every evaluation point.
fig, ax = plt.subplots(figsize=(6, 3.5))
for name in dict.fromkeys(r["stage"] for r in res.history):
    recs = [r for r in res.history if r["stage"] == name]
    ax.plot(
        [r["weights_updated"] for r in recs],
        [r["test_loss"] for r in recs],
        marker="o",
        ms=3,
        label=name,
    )
ax.set_xlabel("weights updated")
ax.set_ylabel("test MSE (whole network)")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()

# %%
# Test digits and their reconstructions
# -------------------------------------
with torch.no_grad():
    X = torch.as_tensor(ds.X_test[:10])
    codes = ae.encode(X)
    recon = ae.decode(codes).numpy()
print("code shape:", tuple(codes.shape))

fig, axes = plt.subplots(2, 10, figsize=(10, 2.3))
for i in range(10):
    axes[0, i].imshow(ds.X_test[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[1, i].imshow(np.clip(recon[i], 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    for row in (0, 1):
        axes[row, i].set_axis_off()
axes[0, 0].set_title("test digits", loc="left", fontsize=9)
axes[1, 0].set_title("reconstructions from the 16-unit code", loc="left", fontsize=9)
fig.tight_layout()
plt.show()
