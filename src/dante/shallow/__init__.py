"""Provable shallow-network algorithms of the other seed papers.

* :mod:`.relu_gate` -- modified SGD, noise-assisted subgradient dynamics and
  GLM-Tron for a ReLU gate (``003_a707f9d83869f5a2.txt`` Ch. 3), also as DANTE
  block solvers (``"relu_gate_sgd"``, ``"glmtron"``, registered on import);
* :mod:`.sgd_gd` -- Boob & Lan's SGD-GD (``002_16d5585f51d1d631.txt``);
* :mod:`.generative`, :mod:`.tied_autoencoder` -- NWH's generative models and
  weight-tied autoencoder (``004_4ea39d312f58ea24.txt``);
* :mod:`.sparse_coding_ae` -- the sparse-coding ReLU autoencoder of ``003`` Ch. 4.

Names that two modules share stay in their modules: the activation tables
:data:`.sgd_gd.ACTIVATIONS` and :data:`.tied_autoencoder.ACTIVATIONS`, and the
function :func:`.sgd_gd.sgd_gd` (``dante.shallow.sgd_gd`` is the module). The studies
(``*_study.py``) are run by ``dante reproduce``; see ``docs/SHALLOW.md``."""

from __future__ import annotations

from . import generative, relu_gate, sparse_coding_ae, tied_autoencoder
from . import sgd_gd as _sgd_gd_module
from .generative import *  # noqa: F403  (each: exactly the module's __all__)
from .relu_gate import *  # noqa: F403
from .sgd_gd import *  # noqa: F403
from .sparse_coding_ae import *  # noqa: F403
from .tied_autoencoder import *  # noqa: F403

sgd_gd = _sgd_gd_module  # the module; the function of the same name is sgd_gd.sgd_gd
del ACTIVATIONS  # noqa: F821  (from the star imports) two modules define it; each keeps its own

_MODULES = (generative, relu_gate, _sgd_gd_module, sparse_coding_ae, tied_autoencoder)
__all__ = sorted(
    {"generative", "relu_gate", "sgd_gd", "sparse_coding_ae", "tied_autoencoder"}
    | {n for m in _MODULES for n in m.__all__ if n not in ("ACTIVATIONS", "sgd_gd")}
)
