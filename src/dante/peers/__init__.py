"""The alternating-minimization peers of Figure 8 of ``001_1787bf99fca4a9f2.txt``.

* ``"am_adam"`` -- :class:`AMAdam`, online alternating minimization with
  auxiliary variables (Choromanska et al., ICML 2019);
* ``"admm"`` -- :class:`ADMM`, gradient-free ADMM with Bregman iteration
  (Taylor et al., ICML 2016).

Both are :class:`dante.solvers.StepSolver` subclasses, registered with
:func:`dante.solvers.register_solver` on ``import dante.peers``, and run
through :class:`dante.Trainer` with the ``backprop`` schedule (one block = the
whole net), so they share its minibatch order, evaluation points and budget
accounting (every step counts all parameters as updated, as for backprop).
See ``docs/PEERS.md``.

Examples
--------
>>> import numpy as np, dante, dante.peers
>>> rng = np.random.default_rng(0)
>>> X = rng.random((100, 8), dtype=np.float32); y = (X[:, 0] > 0.5).astype(int)
>>> net = dante.MLP([8, 16, 2], seed=0)
>>> res = dante.fit(net, X, y, schedule="backprop", solver="admm", batch_size=100,
...                 max_alternations=3, tol=0)
>>> res.budget.steps
3
"""

from __future__ import annotations

from ..solvers import register_solver
from .admm import ADMM, admm_factory
from .am import AMAdam, am_adam_factory

__all__ = ["ADMM", "AMAdam", "PEER_NAMES"]

#: Solver names this package registers.
PEER_NAMES: tuple[str, ...] = ("am_adam", "admm")

register_solver("am_adam", am_adam_factory)
register_solver("admm", admm_factory)
