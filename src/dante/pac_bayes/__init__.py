"""PAC-Bayesian risk bounds for trained bias-free ReLU nets (``003`` Ch. 6).

:func:`nbs_bound` (Theorem 6.1.3, Neyshabur-Bhojanapalli-Srebro 2017 as the
thesis restates it), :func:`cluster_bound` (Theorem 6.3.1, the thesis's
Gaussian-mixture bound over a cluster of ``k_1`` nets), :func:`niceness`
(Definition 25), the weight-space geometry of Sec. 6.5
(:func:`layer_geometry`, :func:`cone_cluster`), the synthetic data of Sec.
6.4.2 (:func:`two_clusters`), the nets' margins and ``beta``
(:mod:`dante.pac_bayes.nets`) and the study ``pac_bayes``
(:mod:`dante.pac_bayes.study`, verdicts and figures in
:mod:`dante.pac_bayes.report`).
"""

from .bounds import cluster_bound, nbs_bound
from .data import input_bound, rejection_rule, two_clusters
from .geometry import ANGLE_GRID, angle, cone_cluster, lambda_star, layer_geometry
from .nets import beta, margin_risk, max_width, net_outputs, niceness

__all__ = [
    "ANGLE_GRID",
    "angle",
    "beta",
    "cluster_bound",
    "cone_cluster",
    "input_bound",
    "lambda_star",
    "layer_geometry",
    "margin_risk",
    "max_width",
    "nbs_bound",
    "net_outputs",
    "niceness",
    "rejection_rule",
    "two_clusters",
]
