"""Adaptive gradient algorithms as the thesis analyses them (``003`` Ch. 5).

``003_a707f9d83869f5a2.txt`` Chapter 5: NAG, RMSProp and ADAM exactly as the
pseudocodes of Sec. 5.2 (Algorithms 5-7) state them
(:mod:`dante.adaptive.optimizers`), the weight-tied ReLU autoencoders and
training loop of Sec. 5.5 (:mod:`dante.adaptive.autoencoders`), the smallest
Hessian eigenvalue from exact Hessian-vector products of Sec. 5.6.2
(:mod:`dante.adaptive.hessian`), and the study ``adaptive`` that checks the
chapter's experimental claims (:mod:`dante.adaptive.study`).
"""

from .autoencoders import TiedAutoencoder, crop22, glorot_uniform_, reconstruction_loss, train
from .hessian import hessian_operator, lambda_min
from .optimizers import (
    ThesisAdam,
    ThesisNAG,
    ThesisRMSProp,
    adam_update_,
    nag_update_,
    rmsprop_update_,
)

__all__ = [
    "ThesisAdam",
    "ThesisNAG",
    "ThesisRMSProp",
    "TiedAutoencoder",
    "adam_update_",
    "crop22",
    "glorot_uniform_",
    "hessian_operator",
    "lambda_min",
    "nag_update_",
    "reconstruction_loss",
    "rmsprop_update_",
    "train",
]
