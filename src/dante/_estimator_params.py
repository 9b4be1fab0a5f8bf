"""Parameter helpers of the scikit-learn estimators (:mod:`dante.sklearn`).

The shared parameter documentation, the validation and resolution of
``hidden_layer_sizes`` and ``batch_size``, and the number of torch threads a
fit or a prediction runs on. Private: the public API is :mod:`dante.sklearn`.
"""

from __future__ import annotations

import inspect
import numbers
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from .models import _check_sizes

_COMMON_PARAMS = """\
    method : str, default="dante"
        ``"dante"`` (SNGD inside the alternation, Algorithm 1 of ``001``),
        ``"dante_momentum"``, ``"sgd_altmin"`` (SGD inside the alternation), or
        a backprop baseline: ``"sgd"``, ``"momentum"``, ``"adam"``,
        ``"adagrad"``, ``"rmsprop"`` (and the peers ``"am_adam"``, ``"admm"``);
        see :data:`dante.METHODS`.
    lr : float, default={lr}
        Learning rate; for SNGD the length of every step.
    batch_size : int or "auto", default="auto"
        Minibatch size; ``"auto"`` is ``min({auto_batch}, n_samples)``. A value
        above ``n_samples`` is clipped with a warning.
    t_sngd : int, default=5
        Epochs of the block solver per block per alternation (``T`` of
        Algorithm 1, ``001``). Backprop methods run one epoch per round.
    max_alternations : int, default={max_alternations}
        Cap on alternations (rounds over the blocks; for the backprop
        methods: epochs).
    t_am : int, default=2
        Minimum number of alternations (``T_AM`` of Algorithm 2, ``001``).
    tol : float, default=1e-4
        Stop once the training loss changes by less than ``tol`` between
        alternations (after ``t_am`` of them).
    momentum : float, optional
        Solver momentum; ``None`` takes the method's default.
    lr_schedule : str, default="constant"
        Step size across alternations (:mod:`dante.lr_control`): the paper's
        fixed ``"constant"``, ``"step"``, ``"exponential"``, ``"cosine"``,
        ``"plateau"``, ``"theory"`` or a class name of
        ``torch.optim.lr_scheduler``.
    lr_schedule_options : dict, optional
        The schedule's options (e.g. ``{"gamma": 0.5}``).
    output_solver : {None, "ridge", "lbfgs"}, default=None
        Solve the output block on its cached features outright
        (:mod:`dante.output_solvers`) instead of by ``t_sngd`` epochs of the
        block solver: ``"ridge"`` in closed form (identity output, squared
        loss), ``"lbfgs"`` by full-batch L-BFGS. ``None``: like every other
        block (the paper).
    output_solver_options : dict, optional
        The output solver's options (``"ridge"``: ``alpha``; ``"lbfgs"``:
        ``l2``, ``max_passes``, ``tol``).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation and the minibatch order; an int
        gives the same model on every ``fit``.
    device : str, default="cpu"
        Torch device (e.g. ``"cuda"``) for training and inference.
    verbose : bool, default=False
        Show a progress bar.
"""


def _with_common_params(cls: type) -> type:
    """Put the shared parameter descriptions where ``{common_params}`` stands,
    with the class's own defaults (its ``__init__`` and ``_auto_batch``)."""
    defaults = inspect.signature(cls.__init__).parameters
    text = _COMMON_PARAMS
    for key, value in (
        ("lr", defaults["lr"].default),
        ("max_alternations", defaults["max_alternations"].default),
        ("auto_batch", cls._auto_batch),
    ):
        text = text.replace(f"{{{key}}}", str(value))
    doc = cls.__doc__.replace("    {common_params}\n", text)
    cls.__doc__ = doc.replace("    {defaults_notes}\n", _DEFAULTS_NOTES)
    return cls


def _hidden_sizes(value: Any, min_len: int) -> list[int]:
    """``hidden_layer_sizes`` as a list of positive ints (an int is one layer)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if len(value) < min_len:
            raise ValueError(
                f"hidden_layer_sizes needs at least {min_len} size (the code size), got {value!r}"
            )
        value = [int(s) if isinstance(s, np.integer) else s for s in value]
    return _check_sizes(value, "hidden_layer_sizes", 0)


def _check_batch_size(value: Any) -> None:
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"batch_size must be 'auto' or a positive int, got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"batch_size must be 'auto' or a positive int, got {value!r}")
    elif value < 1:
        raise ValueError(f"batch_size must be 'auto' or a positive int, got {value!r}")


def _batch_size(value: Any, n_samples: int, auto: int) -> int:
    """Resolve ``batch_size`` (``"auto"`` is ``min(auto, n_samples)``); a value
    above ``n_samples`` is clipped with a warning, as
    :class:`sklearn.neural_network.MLPClassifier` does."""
    if isinstance(value, str):
        return min(auto, n_samples)
    if value > n_samples:
        warnings.warn(
            f"batch_size={value} is larger than the {n_samples} training samples; "
            f"using batch_size={n_samples}",
            UserWarning,
            stacklevel=4,
        )
        return n_samples
    return int(value)


#: Multiply-adds of one training step (``batch x sum of in x out`` over the
#: layers) below which a fit runs on one torch thread. ``docs/PERFORMANCE.md``
#: measured torch's default threads (one per core) fastest for 784-100-10 at
#: batch 500 (40 M multiply-adds); a tabular net is far below that (digits,
#: 64-100-10 at batch 200: 1.5 M) and there the OpenMP threads only add
#: barriers: on a 2-core machine busy with other work a default fit on iris took
#: 0.27-18 s with 2 threads and 0.13 s with one (same 500 steps).
_ONE_THREAD_WORK = 2**22


def _step_work(model: torch.nn.Module, batch: int) -> int:
    """Multiply-adds (about: one per weight and row) of a forward pass on ``batch`` rows."""
    return batch * sum(p.numel() for p in model.parameters())


@contextmanager
def _torch_threads(work: int) -> Iterator[None]:
    """Run the block on one torch thread when ``work`` (multiply-adds per
    step) is below :data:`_ONE_THREAD_WORK`; restore the count afterwards.

    ``torch.set_num_threads`` is process-wide: another thread of the process
    that runs torch meanwhile also runs on one thread until the fit ends.
    """
    before = torch.get_num_threads()
    if work >= _ONE_THREAD_WORK or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_DEFAULTS_NOTES = """\
    Notes
    -----
    **Why the defaults** (classifier and regressor; the autoencoder keeps
    ``lr=0.01``, ``batch_size`` ``min(32, n)`` and ``max_alternations=10``,
    not re-tuned). They were chosen by 5-fold cross-validation after a
    ``StandardScaler`` on seven data sets that are *not* those of goal P6
    (:data:`dante.bench.p6.TUNING_SETS`: ionosphere, vehicle, svmguide4,
    four ``make_classification`` problems). Figures are mean accuracies over
    the seven with folds seeded 0-1 (after a slash: seeds 2-4); those marked
    "six sets" come from an earlier round without ``clf_small``, where these
    defaults got 0.830. ``MLPClassifier()`` gets 0.834; the earlier defaults
    (``lr=0.01``, batch 32, 10 alternations) got 0.804.

    - ``lr=0.1``, ``batch_size="auto"`` = ``min(200, n)`` (as
      ``MLPClassifier``), ``max_alternations=30``: 0.842 / 0.842. A step costs
      about 0.2 ms whatever the batch at these sizes, so batch 200 takes up to
      6x fewer steps than 32; SNGD's steps have length ``lr`` whatever the
      batch, so fewer steps need longer ones (batch 200 with ``lr=0.01``:
      0.748, six sets). ``lr=0.05``: 0.843 / 0.840 but about 2x slower fits (the loss
      settles later); 0.2: 0.826 (six sets); batch 64: 0.838; ``n/10``: 0.840.
    - ``t_sngd=5`` (the paper's): ``t_sngd=1`` 0.816 (six sets), 3 with 50
      alternations 0.837, 10 with 15 alternations 0.842.
    - ``max_alternations=30``, ``tol=1e-4``: most fits stop by the tolerance
      after 18-30 alternations; 10 alternations: 0.825 (six sets), 60: 0.847 /
      0.840 and slower; ``tol=1e-3``: 0.847 / 0.836, ``1e-5``: 0.843.
    - ``hidden_layer_sizes=(100,)`` (as ``MLPClassifier``): 50 units 0.841,
      200 units 0.851 / 0.839. ``activation="leaky_relu"`` (the papers'
      generalized ReLU): ``"relu"`` 0.841, ``"tanh"`` 0.833.
    - ``loss="cross_entropy"``, ``lr_schedule="constant"``: ``"plateau"``
      0.843 (the same within the noise, about 0.5 points), ``"theory"``
      0.840, ``"cosine"`` 0.838, ``"step"`` 0.824 (a shrinking step shrinks
      the loss change, so the ``tol`` rule stops earlier).
    - ``output_solver=None``: an L-BFGS output layer (``"lbfgs"``) got 0.834
      with its default penalty and 0.854 with ``output_solver_options={"l2":
      0.01}`` (0.856 adding ``"max_passes": 10``), the most accurate setting
      tried, but each fit took 2-5x longer (0.2-0.4 s here), which would
      lose the fit-time half of goal P6 on the smallest sets. Use it when
      accuracy matters more than a fraction of a second.

    On the five P6 data sets (iris, wine, moons, digits, breast cancer; see
    :func:`dante.bench.p6.p6_tabular`) these defaults give a mean 5-fold
    accuracy of 0.958 against ``MLPClassifier``'s 0.949 (folds seeded 0; seeds
    1 and 2: +0.2 and +0.8 points), fitting about 3x faster (median ratio
    0.30-0.34, also with ``MLPClassifier``'s BLAS held to one thread).
    Regressor, 5-fold R^2 (old defaults -> these;
    ``MLPRegressor``): airfoil 0.747 -> 0.839 (0.681), Friedman #1 0.820 ->
    0.906 (0.629), forestfires -0.17 -> -0.63 (-0.32: no model beats the mean).

    A fit whose steps are small (under 2**22 multiply-adds per step: every
    net above) runs on one torch thread: OpenMP threads only add
    barriers there (iris on a busy 2-core machine: 0.27-18 s with 2 threads,
    0.13 s with one).

"""
