"""Theory toolkit of the DANTE papers: SLQC, SLQC constants, theory-set SNGD.

``001_1787bf99fca4a9f2.txt`` Sec. 3.2-3.4 and ``000_16cd8e47eb5a686b.txt``
Sec. 3; see :mod:`dante.theory.slqc` and ``docs/SHALLOW.md``. The study
``dante reproduce slqc`` lives in :mod:`dante.theory.study`."""

from __future__ import annotations

from . import slqc
from .slqc import (
    GLM_ACTIVATIONS,
    EmpiricalKappa,
    GLMTeacher,
    SLQCCheck,
    SNGDTrace,
    TheoryHyperparameters,
    empirical_kappa,
    glm_loss_and_grad,
    glm_loss_bound,
    kappa_generalized_relu,
    kappa_hidden_layer,
    kappa_relu,
    kappa_sigmoid_bce,
    kappa_sigmoid_glm,
    kappa_softmax_ce,
    make_glm_teacher,
    run_sngd_glm,
    slqc_check,
    theory_hyperparameters,
)

__all__ = [
    "EmpiricalKappa",
    "GLMTeacher",
    "GLM_ACTIVATIONS",
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
    "slqc",
    "slqc_check",
    "theory_hyperparameters",
]
