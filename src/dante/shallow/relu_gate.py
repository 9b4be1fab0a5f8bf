"""Provable learners for one ReLU / Lipschitz gate, and DANTE output-block solvers.

Chapter 3 of the Mukherjee thesis (``003_a707f9d83869f5a2.txt``):

* :func:`modified_sgd_relu` -- Algorithm 2, Theorem 3.3.1 (Ch. 3.3): stochastic
  updates ``w <- w + eta 1{y > 0} (y - w.x) x`` on realizable data
  ``y = max(0, w*.x)``. With ``eta = lambda_min / c1``, where
  ``lambda_min = lambda_min(E[1{w*.x > 0} x x^T])`` and
  ``c1 = E[1{w*.x > 0} ||x||^4]``, equation (3.5) and Lemma 3.E.1 give the
  linear rate ``E||w_{t+1} - w*||^2 <= (1 - lambda_min^2 / c1) E||w_t - w*||^2``
  (:func:`modified_sgd_rate`), with no symmetry assumption on the inputs.
* :func:`noise_assisted_subgradient` -- Algorithm 3, Theorem 3.4.1 (Ch. 3.4):
  ``w <- w - eta (g + zeta1) + sqrt(eta) zeta2`` with ``g`` the subgradient of
  the ReLU gate's squared loss. The guarantee is *confinement* of the first
  ``i_max`` iterates in a ball around ``w*`` (:func:`confinement_radius`,
  :func:`confinement_guarantee`), not convergence.
* :func:`glmtron` -- Algorithm 4, Theorem 3.5.2 (Ch. 3.5): GLM-Tron
  ``w_1 = 0, w <- w + (1/m) sum_i (y_i - sigma(w.x_i)) x_i`` for a
  non-decreasing ``L``-Lipschitz ``sigma`` with ``L < 2``, ``||x_i|| <= 1`` and
  bounded (even adversarial) label noise ``|xi_i| <= theta``. After
  ``T = ||w*||^2 / eps`` steps (the printed ``||w*|| / eps`` is a slip -- the
  proof, Appendix 3.B, removes ``eps`` from the *squared* distance per bad
  step; ``docs/ERRATA.md``) the effective risk is below
  ``L / (2 - L) (eps + theta^2 + 2 theta W (L + 1))`` (:func:`glmtron_risk_bound`).

DANTE integration: :class:`GLMTronSolver` and :class:`ModifiedSGDSolver` are
:class:`dante.solvers.StepSolver` subclasses that train the *output layer* of a
:class:`dante.LayeredNet` on the MSE loss, each output unit being an
independent GLM on the augmented input ``[x, 1]`` (weight row and bias
together). Importing this module registers them as the solver names
``"glmtron"`` and ``"relu_gate_sgd"``. A :class:`~dante.RoundRobin` stage has
one solver for all of its blocks, so on a net with hidden layers use
:class:`GLMOutputRoundRobin` (the output block with the GLM solver, the hidden
blocks with SNGD) -- see its docstring.

Examples
--------
>>> import numpy as np
>>> from dante.shallow.relu_gate import glmtron, effective_risk
>>> rng = np.random.default_rng(0)
>>> X = rng.random((200, 3)); X /= np.linalg.norm(X, axis=1).max()
>>> w_star = np.array([1.0, -0.5, 0.8]); y = np.maximum(X @ w_star, 0)
>>> res = glmtron(X, y, "relu", eps=1e-3, w_norm_bound=np.linalg.norm(w_star))
>>> bool(effective_risk(X, res.w, w_star, "relu") < 1e-3)
True
"""

from __future__ import annotations

from .relu_gate_common import (  # noqa: F401  (private helpers kept importable from here)
    GATE_ACTIVATIONS,
    GLMTronResult,
    IterateResult,
    _activation,
    _count,
    _data,
    _nonneg,
    _positive,
    _sigmoid,
    _vector,
)
from .relu_gate_glmtron import effective_risk, glmtron, glmtron_risk_bound, glmtron_steps
from .relu_gate_modified_sgd import (
    modified_sgd_exact_rate,
    modified_sgd_rate,
    modified_sgd_relu,
    modified_sgd_step_size,
    relu_gate_moments,
)
from .relu_gate_noise import (  # noqa: F401
    ConfinementGuarantee,
    _increment_bound,
    confinement_failure_bound,
    confinement_guarantee,
    confinement_radius,
    noise_assisted_subgradient,
    relu_subgradient,
)
from .relu_gate_solvers import (  # noqa: F401  (importing it registers the two solvers)
    GLMOutputRoundRobin,
    GLMTronSolver,
    ModifiedSGDSolver,
    _augment,
    _gate_info,
    _GateSolver,
    _output_layer,
    glmtron_factory,
    relu_gate_sgd_factory,
)

__all__ = [
    "GATE_ACTIVATIONS",
    "ConfinementGuarantee",
    "GLMOutputRoundRobin",
    "GLMTronResult",
    "GLMTronSolver",
    "IterateResult",
    "ModifiedSGDSolver",
    "confinement_failure_bound",
    "confinement_guarantee",
    "confinement_radius",
    "effective_risk",
    "glmtron",
    "glmtron_risk_bound",
    "glmtron_steps",
    "modified_sgd_exact_rate",
    "modified_sgd_rate",
    "modified_sgd_relu",
    "modified_sgd_step_size",
    "noise_assisted_subgradient",
    "relu_gate_moments",
    "relu_subgradient",
]

_SRC = "003_a707f9d83869f5a2.txt"
