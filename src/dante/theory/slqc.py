"""Strict local quasi-convexity (SLQC), SLQC constants and theory-set SNGD.

The theory the DANTE papers build on (``001_1787bf99fca4a9f2.txt`` Sec. 3.2-3.4,
``000_16cd8e47eb5a686b.txt`` Sec. 3; after Hazan, Levy and Shalev-Shwartz, 2015)
turned into functions that software can call:

* :func:`slqc_check` -- Definition 1 (vectors) and Definition 4 (matrices,
  Frobenius inner product) of ``001``, checked in closed form with margins
  (``.holds`` is the verdict);
* ``kappa_*`` -- the SLQC constants of Theorems 1, 3, 4/5, 6, 7 and
  Corollaries 1/2 of ``001`` (and the sigmoid constant of Hazan et al.);
* :func:`theory_hyperparameters` -- learning rate, number of steps and
  minibatch size of Theorem 8 of ``001`` (Theorem 3.6 of ``000``);
* :func:`empirical_kappa` -- the smallest SLQC constant that a set of points
  (e.g. an SNGD trajectory) actually needs;
* :class:`GLMTeacher`, :func:`make_glm_teacher`,
  :func:`glm_loss_and_grad` -- the idealized (realizable) GLM of Definition 2
  of ``001`` with the sigmoid or generalized ReLU link;
* :func:`run_sngd_glm` -- SNGD (Algorithm 1 of ``001``, through
  :func:`dante.sngd.sngd_step_`) on such a GLM with theory-set parameters,
  recording ``f - f*`` and the empirical SLQC constant along the way.

Loss convention. Like the proofs in ``001`` (Sec. 5.1) the GLM loss is
``f(w) = (1/m) sum_i (y_i - phi(<w, x_i>))^2`` *without* a factor 1/2, so that
``f(w) - f(w*) <= eps`` in Definition 1 means what the theorems mean. The ball
clause of Definition 1 does not depend on the scale of ``f``; the first clause
and ``M`` of Theorem 8 do.
"""

from __future__ import annotations

from dante.theory.glm_teacher import (  # noqa: F401  (private helpers kept importable from here)
    GLM_ACTIVATIONS,
    GLMTeacher,
    _check_activation,
    _link,
    glm_loss_and_grad,
    glm_loss_bound,
    make_glm_teacher,
)
from dante.theory.slqc_arguments import (  # noqa: F401
    ArrayLike,
    _nonnegative,
    _positive,
    _real,
    _scalar,
    _slopes,
    _to_numpy,
)
from dante.theory.slqc_constants import (  # noqa: F401
    TheoryHyperparameters,
    _ceil,
    kappa_generalized_relu,
    kappa_hidden_layer,
    kappa_relu,
    kappa_sigmoid_bce,
    kappa_sigmoid_glm,
    kappa_softmax_ce,
    theory_hyperparameters,
)
from dante.theory.slqc_definition import EmpiricalKappa, SLQCCheck, empirical_kappa, slqc_check
from dante.theory.sngd_glm import SNGDTrace, run_sngd_glm

__all__ = [
    "GLM_ACTIVATIONS",
    "EmpiricalKappa",
    "GLMTeacher",
    "SLQCCheck",
    "SNGDTrace",
    "TheoryHyperparameters",
    "empirical_kappa",
    "glm_loss_and_grad",
    "glm_loss_bound",
    "kappa_generalized_relu",
    "kappa_hidden_layer",
    "kappa_relu",
    "kappa_sigmoid_bce",
    "kappa_sigmoid_glm",
    "kappa_softmax_ce",
    "make_glm_teacher",
    "run_sngd_glm",
    "slqc_check",
    "theory_hyperparameters",
]
