"""Boob & Lan SGD-GD for two-layer networks, with its global-optimality certificate.

Paper: ``002_16d5585f51d1d631.txt`` (Boob & Lan), problem (2.1), first-order
condition (3.1)-(3.3), Algorithm 1, condition C1 (Sec. 4), Lemma 5.4,
Lemma 5.7, Theorem 5.8, Theorem 5.9. The printed first-order condition (3.1)
drops a minus sign; the gradients here carry it (``docs/ERRATA.md``, sec. 2).

Problem (2.1)::

    f(W, theta) = (1/2N) sum_i (v_i - theta^T h(W u_i))^2,   W: n x d (n <= d), theta: n

Notation: ``U`` is ``d x N`` (column ``i`` is ``u_i``), ``v`` has length ``N``,
``A = h(WU)`` and ``A' = h'(WU)`` are ``n x N``, ``s = v - A^T theta``.
Gradients (the printed (3.1) of ``002`` drops a minus; ``docs/ERRATA.md``, sec. 2)::

    grad_theta f = -(1/N) A s
    grad_W f     = -(1/N) sum_i s_i (theta * h'(W u_i)) u_i^T  =  -(1/N) (B * s) U^T,
    B = diag(theta) A'.

Certificate (Sec. 3): ``vec(grad_W f) = -(1/N) D s`` where column ``i`` of the
``nd x N`` matrix ``D`` is ``vec(b_i u_i^T)``. Since ``D^T D = (U^T U) * (B^T B)``
(Hadamard product), ``sigma_min(D)^2 = lambda_min((U^T U) * (B^T B))`` when
``N <= nd``, and ``||grad_W f||_F^2 >= sigma_min(D)^2 ||s||^2 / N^2`` gives::

    f = ||s||^2 / (2N) <= N ||grad_W f||_F^2 / (2 sigma_min(D)^2).

Everything is computed in ``torch.float64`` on the CPU: the problems are tiny
(``n, d <= ~10``, ``N <= nd``) and the certificate needs the smallest
eigenvalue of an ill-conditioned Gram matrix, where float32 is not enough.

Choices the paper leaves open (all documented again where they are made):

* ``n <= d`` (the paper's analysis takes ``n = d``); the noise is
  ``xi ~ N(0, sigma^2/n I_n)`` so that ``E||xi||^2 = sigma^2`` exactly as in
  (3.5) (Sec. 3 of ``002``, before (3.4), draws ``xi`` in ``R^d`` with i.i.d.
  zero-mean Gaussian entries, taking ``n = d``; per-entry variance
  ``sigma^2/d`` there is the same).
* Lemma 5.4 is implemented with ``sqrt(2n)`` (``n`` = rows of ``W``, the size
  of the ``h' h^T`` matrix in the proof) where the paper, with ``n = d``,
  writes ``sqrt(2d)``; and with ``L_{hh'}`` replaced by the closed-form upper
  bound ``sqrt(sup|h'|^4 + sup|h|^2 sup|h''|^2) >= sup ||grad H||``,
  ``H(x1, x2) = h(x1) h'(x2)``. Both keep the result an upper bound on ``L``.
* Softplus has unbounded values, so Lemma 5.4's assumptions fail globally
  (Remark 5.5 omits it); for it the constants are taken over the pre-activation
  box ``|x| <= x_max`` and the step size is recomputed every outer step with
  ``x_max = max|W_k U| + 1`` (a local bound, documented as such). No global
  ``L`` exists for it (the ``W``-Hessian of (2.1) is unbounded;
  :func:`~dante.shallow.sgd_gd_problem.lemma54_global_bound` returns ``inf``);
  the one ``L`` valid along a whole run is
  :func:`~dante.shallow.sgd_gd_bounds.lemma54_run_bound`.
* ReLU / leaky ReLU are registered only for the comparison experiment and are
  flagged non-smooth: ``h'`` is discontinuous, Lemma 5.4 gives ``L = inf``, and
  :func:`sgd_gd` then requires an explicit ``gamma``. ``h'(0) := 0`` for ReLU.
* Default ball radius: ``R/2 = 2 max(||theta_0||, sqrt(n))`` when ``R`` is not
  given (the paper keeps ``R`` a free constant, (3.6)).
* Default initialisation (Algorithm 1 says only "random"): ``W_0`` has i.i.d.
  ``N(0, 1/d)`` entries, ``theta_0`` i.i.d. ``N(0, 1/n)`` entries, projected
  onto the ball.
* The inner-loop step is constant, ``beta = min(1/(2 L_theta), 1)`` (5.19 with
  ``sigma = 1/sqrt(N_i)``), with ``L_theta = lambda_max(A A^T)/N`` recomputed at
  each ``W_k`` (the exact Hessian bound of Lemma 5.7's proof, not its looser
  ``u^2 d``).

Layout: :mod:`.sgd_gd_activations`, :mod:`.sgd_gd_problem` (objective,
gradients, ``D``, certificate, Lemma 5.4), :mod:`.sgd_gd_algorithm`
(Algorithm 1), :mod:`.sgd_gd_bounds` (Theorem 5.9 along a run),
:mod:`.sgd_gd_c1` (condition C1); this module re-exports them.
``certificate_tightness``, ``d_full_column_rank``, ``lemma54_global_bound``,
``corollary59_bound`` and ``lemma54_run_bound`` are importable from here but
not in ``__all__`` (``dante.shallow``'s pinned public API does not list them).
"""

from __future__ import annotations

from .sgd_gd_activations import (  # noqa: F401  (DTYPE, Fn kept importable from here)
    ACTIVATIONS,
    DTYPE,
    SMOOTH_ACTIVATIONS,
    Fn,
    SGDGDActivation,
    _sigmoid_d2,
    _tanh_d2,
    get_sgd_gd_activation,
)
from .sgd_gd_algorithm import OuterDiagnostics, SGDGDResult, sgd_gd
from .sgd_gd_bounds import corollary59_bound, lemma54_run_bound, theorem59_bound  # noqa: F401
from .sgd_gd_c1 import C1Screen, _c1_residuals, screen_condition_c1  # noqa: F401
from .sgd_gd_problem import (  # noqa: F401  (private helpers kept importable from here)
    _as_tensor,
    _check_data,
    _check_pos_float,
    _check_pos_int,
    _check_problem,
    _d_gram_extremes,
    _grads,
    _sigma_min_d_sq,
    certificate_bound,
    certificate_tightness,
    d_full_column_rank,
    d_matrix,
    gradients,
    lemma54_bound,
    lemma54_constants,
    lemma54_global_bound,
    objective,
    project_ball,
    sigma_min_d_sq,
    theta_smoothness,
)

__all__ = [
    "ACTIVATIONS",
    "SMOOTH_ACTIVATIONS",
    "C1Screen",
    "OuterDiagnostics",
    "SGDGDActivation",
    "SGDGDResult",
    "certificate_bound",
    "d_matrix",
    "get_sgd_gd_activation",
    "gradients",
    "lemma54_bound",
    "lemma54_constants",
    "objective",
    "project_ball",
    "screen_condition_c1",
    "sgd_gd",
    "sigma_min_d_sq",
    "theorem59_bound",
    "theta_smoothness",
]
