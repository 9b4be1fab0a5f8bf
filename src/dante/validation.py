"""Input checks at the public API boundary.

Every check raises ``ValueError`` or ``TypeError`` naming the argument and
what is allowed, before any tensor reaches torch.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._pages import PageReleaser

__all__ = [
    "as_features",
    "as_targets",
    "available_memory",
    "check_callbacks",
    "check_classes",
    "check_float32_range",
    "check_lengths",
    "check_memory",
    "check_model_seed",
    "check_training_memory",
    "format_bytes",
    "optimizer_copies",
    "parameter_bytes",
    "training_bytes",
]

_NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# NumPy < 1.24 turns ragged nested lists into an object array with this warning (NumPy >= 1.24
# raises ValueError instead); np.exceptions exists from 1.25, the top-level name until 2.0.
_RAGGED_WARNING = getattr(np, "exceptions", np).VisibleDeprecationWarning


def _to_numpy(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        if value.is_meta:
            raise TypeError(
                f"{name} is a tensor on the 'meta' device, which holds no data; "
                "pass a tensor with values (e.g. on 'cpu')"
            )
        value = value.detach().cpu()
        if value.is_floating_point() and value.dtype not in _NUMPY_FLOATS:
            value = value.float()  # bfloat16, float8: no NumPy dtype
        try:
            value = value.numpy()
        except (TypeError, RuntimeError) as exc:  # sparse, quantized, ...
            raise TypeError(
                f"{name} must be a dense tensor or array of numbers, got a {value.layout} "
                f"{value.dtype} tensor ({exc}); convert it with .to_dense().float()"
            ) from None
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array-like of numbers, got {type(value).__name__}")
    try:
        with warnings.catch_warnings():  # the object-array TypeError below says it clearly
            warnings.simplefilter("ignore", _RAGGED_WARNING)
            arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name} could not be converted to an array ({exc}); is it ragged?"
        ) from None
    if arr.dtype == object:
        raise TypeError(f"{name} must hold numbers, got a ragged or object array")
    # timedelta64 counts as a NumPy number (a signed integer): a duration is no feature
    if arr.dtype.kind == "m" or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
    return arr


def as_features(X: Any, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """Check a 2-D finite, non-empty float matrix and return it as float32.

    A float32 C-contiguous array (e.g. a memory map) is returned without a copy.
    """
    arr = _to_numpy(X, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}; "
            "reshape a single sample with X.reshape(1, -1) or flatten images first"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs samples and features")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features but the model expects {n_features}")
    arr = _as_float32(arr, name)
    _check_finite(arr, name)
    return arr


def _as_float32(arr: np.ndarray, name: str) -> np.ndarray:
    """``arr`` as float32; a finite value beyond float32's range is an error
    (the cast would silently make it Inf)."""
    if arr.dtype == np.float32:
        return arr
    check_float32_range(arr, name)
    return arr.astype(np.float32)


def check_float32_range(arr: np.ndarray, name: str) -> None:
    """A float64 ``arr`` must fit float32, the precision the networks compute in."""
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 4:
        big = np.abs(arr) > _FLOAT32_MAX
        if big.any():
            row = int(np.argwhere(big)[0][0]) if big.ndim else 0
            raise ValueError(
                f"{name} has values beyond the float32 range (|x| > {_FLOAT32_MAX:.3g}, first at "
                f"row {row}); the network computes in float32, so rescale it"
            )


def _check_finite(arr: np.ndarray, name: str, chunk: int = 1 << 14) -> None:
    # chunked, and the pages of a memory map released as we go, so that a
    # memory-mapped matrix never becomes resident whole
    pages = PageReleaser(arr)
    for start in range(0, arr.shape[0], chunk):
        part = arr[start : start + chunk]
        finite = bool(np.isfinite(part).all())
        pages.tick(part.nbytes)
        if not finite:
            bad = start + int(np.argwhere(~np.isfinite(part))[0][0])
            raise ValueError(f"{name} contains NaN or Inf (first at row {bad}); clean or impute it")
    pages.release()


def _num(v: float) -> str:
    """A label for a message: exact when small, 3 digits when huge."""
    return f"{v:.0f}" if abs(v) < 1e15 else f"{v:.3g}"


def as_targets(
    y: Any,
    name: str = "y",
    *,
    classification: bool,
    n_classes: int | None = None,
    n_outputs: int | None = None,
) -> np.ndarray:
    """Check targets: int64 labels in ``[0, n_classes)`` or finite float32 values."""
    arr = _to_numpy(y, name)
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; it needs one target per sample")
    if classification:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D class labels, got shape {arr.shape}")
        if np.issubdtype(arr.dtype, np.floating):
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or Inf")
            if not np.all(arr == np.round(arr)):
                raise ValueError(
                    f"{name} holds non-integer values; classification needs integer labels "
                    "(pass task='regression' for real-valued targets)"
                )
        # the range is read before the cast to int64, which would wrap huge labels
        lo, hi = arr.min().item(), arr.max().item()
        limit = n_classes if n_classes is not None else np.iinfo(np.int64).max
        outs = n_outputs if n_outputs is not None else (n_classes if n_classes > 2 else 1)
        if lo < 0 or hi >= limit:
            if n_classes is None:
                raise ValueError(
                    f"{name} has labels in [{_num(lo)}, {_num(hi)}]; class labels must be "
                    "non-negative int64 values (relabel with sklearn.preprocessing.LabelEncoder)"
                )
            raise ValueError(
                f"{name} has labels in [{_num(lo)}, {_num(hi)}] but must lie in [0, {n_classes}) "
                f"for a network with {outs} output{'' if outs == 1 else 's'}; "
                "relabel with sklearn.preprocessing.LabelEncoder or widen the output layer"
            )
        arr = arr.astype(np.int64)
        return arr
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (n_samples, n_outputs), got {arr.shape}")
    if n_outputs is not None and arr.shape[1] != n_outputs:
        raise ValueError(f"{name} has {arr.shape[1]} columns but the model has {n_outputs} outputs")
    arr = _as_float32(arr, name)
    _check_finite(arr, name)
    return arr


def check_lengths(X: np.ndarray, y: np.ndarray | None, xname: str = "X", yname: str = "y") -> None:
    """``X`` and ``y`` must have one row per sample."""
    if y is not None and len(X) != len(y):
        raise ValueError(
            f"{xname} and {yname} have different lengths ({len(X)} vs {len(y)}); "
            "they need one target per sample"
        )


_HOOKS = ("on_phase_start", "on_step", "on_phase_end", "on_evaluate", "on_fit_end")


def check_callbacks(callbacks: Any) -> list[Any]:
    """``callbacks`` as a list; each must have the hooks of :class:`dante.Callback`."""
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
        raise TypeError(
            f"callbacks must be a list of dante.Callback objects, got {type(callbacks).__name__}"
        )
    for i, cb in enumerate(callbacks):
        missing = [h for h in _HOOKS if not callable(getattr(cb, h, None))]
        if missing:
            raise TypeError(
                f"callbacks[{i}] ({type(cb).__name__}) lacks {', '.join(missing)}; "
                "subclass dante.Callback and override the hooks you need"
            )
    return list(callbacks)


# ------------------------------------------------------- what fit would misread
def check_classes(labels: Any) -> None:
    """Class labels (validated) must hold at least 2 classes: with one there is
    nothing to tell apart, and the accuracy would read 1.0. :func:`dante.fit`
    checks this; :meth:`Trainer.fit` does not, as a ``partial_fit`` chunk may
    hold one class of several."""
    found = np.unique(_to_numpy(labels, "y"))
    if len(found) < 2:
        raise ValueError(
            f"y holds a single class ({_num(float(found[0]))}); classification needs at "
            "least 2 classes (check the labels, or pass task='regression')"
        )


def check_model_seed(seed: Any) -> None:
    """A model's initialisation seed: None or an int in ``[0, 2**32)`` (the
    range the data splits and the command line accept)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be None or a non-negative int, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be None or an int in [0, 2**32), got {seed}")


# ------------------------------------------------------------------ memory
def available_memory() -> int:
    """Bytes of memory available for new allocations: ``MemAvailable`` of
    ``/proc/meminfo`` (Linux), else the physical memory (``os.sysconf``), else
    1 TiB (unknown: the memory checks then pass)."""
    import os

    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 40


def format_bytes(n: float) -> str:
    """``n`` bytes as MiB below 1 GiB, else GiB (3 significant digits)."""
    return f"{n / 2**20:.3g} MiB" if n < 2**30 else f"{n / 2**30:.3g} GiB"


def parameter_bytes(sizes: Sequence[int]) -> int:
    """float32 weights and biases of a net with layer sizes ``sizes``."""
    return 4 * sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def training_bytes(sizes: Sequence[int], batch_size: int, weight_copies: float) -> int:
    """Estimated memory of training a net with layer sizes ``sizes``:
    ``weight_copies`` copies of its float32 parameters (the model, gradients,
    optimizer state, ...) plus one minibatch's activations and their
    gradients (block-input caches are bounded separately and stream when too
    large)."""
    return int(weight_copies * parameter_bytes(sizes) + 2 * 4 * batch_size * sum(sizes))


def optimizer_copies(solver: str, momentum: float) -> int:
    """Parameter-sized state tensors a solver keeps (Adam: two moments)."""
    if solver in ("adam", "am_adam", "admm"):
        return 2
    return 1 if momentum > 0 or solver in ("adagrad", "rmsprop", "momentum") else 0


def check_memory(need: int, what: str, hint: str) -> None:
    """Refuse, before allocating, ``what`` needing ``need`` bytes when less is available."""
    have = available_memory()
    if need > have:
        raise ValueError(
            f"{what} needs about {format_bytes(need)} of memory, more than the "
            f"{format_bytes(have)} available; {hint}"
        )


def check_training_memory(model: Any, config: Any, n_rows: int | None = None) -> None:
    """What :func:`dante.fit` allocates on top of the model: gradients, the
    weights saved at the start of a phase, optimizer state and a batch's
    activations. A batch never holds more than the ``n_rows`` training rows
    (a larger ``batch_size`` is refused later with its own message)."""
    sizes = list(getattr(model, "sizes", []))
    if len(sizes) < 2:
        return
    copies = 2 + optimizer_copies(config.resolved_solver, config.resolved_momentum)
    batch = config.batch_size if n_rows is None else min(config.batch_size, max(n_rows, 1))
    need = training_bytes(sizes, batch, copies)
    check_memory(
        need,
        f"training a {sizes} net with {config.method} (batch {config.batch_size})",
        "use smaller layers or a smaller batch_size",
    )
