"""Checkpoint files of a training run: what they hold, how they are written and read.

:class:`dante.Trainer` writes a checkpoint every ``checkpoint_every``
**minibatch steps** (solver steps, ``Budget.steps``; the one unit every method
shares, and fine enough that a long epoch on a large or memory-mapped data set
is not lost whole) and once more when the run completes. A checkpoint holds
everything needed to continue the run so that a run killed at any moment and
resumed ends with the same weights, bit for bit, as one that never stopped:

* the model's parameters and every block solver's state (momentum buffers,
  Adam moments, a peer's per-sample state);
* the position in the schedule: stage, alternation (round), block, epoch and
  the next minibatch of that epoch, with the minibatch-order generator's state
  at the start of that epoch (the epoch's permutation is drawn again, exactly);
* the stage's stopping-rule state (``f_{t-1}`` of Algorithm 2 of
  ``000_16cd8e47eb5a686b.txt``), the budget counters, the metrics history;
* every random number generator: the trainer's ``torch.Generator``, torch's
  global CPU generator, every CUDA device's generator (when CUDA is in use),
  NumPy's global generator and Python's :mod:`random`;
* the configuration, the schedule's stage names, and a fingerprint of the
  training data, checked on resume.

Writing is atomic (:func:`dante.reporting.atomic_write_bytes`): a crash
during a write leaves the previous checkpoint. The file is a
``torch.save`` of plain containers (dicts, lists, tuples, numbers, strings,
tensors) and is read with ``torch.load(weights_only=True)``, which never runs
code stored in the file; a file that carries other pickled objects is refused.
"""

from __future__ import annotations

import errno
import io
import os
import pickle
import random
import zipfile
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .reporting import atomic_write_bytes
from .training.state import TrainerState

__all__ = [
    "FORMAT",
    "RESUME_FREE_KEYS",
    "VERSION",
    "capture_rng",
    "check_checkpoint_args",
    "config_differences",
    "data_fingerprint",
    "load_checkpoint",
    "load_solver_state",
    "restore_rng",
    "restore_trainer",
    "save_checkpoint",
    "trainer_state",
]

FORMAT = "dante-checkpoint"
VERSION = 1

#: :class:`~dante.TrainConfig` keys that may differ between a checkpoint and the
#: run that resumes it: they change where and how fast a run goes, not what it
#: computes (``cache_inputs``/``cache_memory_gb`` give the same weights, see
#: ``tests/test_fast_paths.py``; another ``device`` gives the same algorithm,
#: though not the same bits).
RESUME_FREE_KEYS = frozenset({"progress", "device", "cache_inputs", "cache_memory_gb"})


# ------------------------------------------------------------------ RNG state
def capture_rng(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every random number generator's state, as plain tensors and numbers.

    Parameters
    ----------
    generator : torch.Generator, optional
        A generator the caller owns (the trainer's minibatch order).
    """
    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global generator itself
    py_version, py_internal, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": str(np_state[0]),
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {
            "version": int(py_version),
            "internal": torch.tensor(py_internal, dtype=torch.int64),
            "gauss": py_gauss,
        },
        "cuda": (
            torch.cuda.get_rng_state_all()
            if torch.cuda.is_available() and torch.cuda.is_initialized()
            else []
        ),
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    """Set every generator to a state from :func:`capture_rng`.

    CUDA states are restored only when this process sees as many CUDA devices
    as the process that saved them (a CPU run resumed elsewhere skips them).
    """
    torch.set_rng_state(state["torch"].cpu())
    np_state = state["numpy"]
    np.random.set_state(  # noqa: NPY002 - the legacy global generator itself
        (
            np_state["name"],
            np_state["keys"].cpu().numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    py = state["python"]
    random.setstate(
        (py["version"], tuple(int(v) for v in py["internal"].cpu().tolist()), py["gauss"])
    )
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"].cpu())


# ------------------------------------------------------------- consistency
def data_fingerprint(X: torch.Tensor, T: torch.Tensor, rows: int = 64) -> dict[str, Any]:
    """Shapes, dtypes and a CRC-32 of the first and last ``rows`` rows of the
    training inputs and targets: enough to notice that a resumed run was
    given other data, without reading a (memory-mapped) data set whole."""
    out: dict[str, Any] = {}
    for name, t in (("X", X), ("T", T)):
        crc = 0
        for part in (t[:rows], t[-rows:]):
            crc = zlib.crc32(part.detach().cpu().contiguous().numpy().tobytes(), crc)
        out[name] = {"shape": list(t.shape), "dtype": str(t.dtype), "crc32": crc}
    return out


def config_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``"key (checkpoint A, now B)"`` for every key that differs, except
    :data:`RESUME_FREE_KEYS`.

    A key the checkpoint lacks (it was written before that
    :class:`~dante.TrainConfig` field existed) stands for the field's default,
    which is what the older version ran with: a checkpoint stays resumable
    across releases that add options, unless the run sets one.
    """
    from .config import TrainConfig

    def saved_value(k: str) -> Any:
        if k in saved:
            return saved[k]
        field = TrainConfig.model_fields.get(k)
        return None if field is None else field.get_default(call_default_factory=True)

    keys = sorted((set(saved) | set(current)) - RESUME_FREE_KEYS)
    return [
        f"{k} (checkpoint {saved_value(k)!r}, now {current.get(k)!r})"
        for k in keys
        if saved_value(k) != current.get(k)
    ]


# ------------------------------------------------------------------- files
def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> int:
    """Write ``state`` (plain containers and tensors) atomically; return its size in bytes."""
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **state}, buf)
    data = buf.getbuffer()
    atomic_write_bytes(path, data)
    return len(data)


_ZIP_MAGIC = b"PK\x03\x04"  # the first bytes of a zip archive


def _damaged(path: Path, why: str) -> ValueError:
    return ValueError(
        f"checkpoint {str(path)!r} is damaged ({why}); it cannot be resumed. Fix: delete it "
        f"(and resume from an earlier copy if you have one) to start the run again."
    )


def _foreign(path: Path) -> ValueError:
    return ValueError(
        f"checkpoint {str(path)!r} is not a dante checkpoint: not a readable torch file "
        f"(damaged, or another format such as a raw pickle). It may be unsafe and must not be "
        f"loaded with weights_only=False. Fix: point the checkpoint at a file written by dante, "
        f"or delete this one to start the run again."
    )


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, never running pickled code.

    Parameters
    ----------
    path : str or path
    map_location : str or torch.device, default="cpu"
        Where the tensors are loaded.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is damaged (empty, truncated, corrupt), carries pickled Python
        objects other than plain containers and tensors (refused unread), is not
        a dante checkpoint, or was written by a newer dante. The message names
        the file and never suggests ``weights_only=False``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"checkpoint path must be a str or os.PathLike, got {path!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise _damaged(path, "the file is empty, 0 bytes")
    with open(path, "rb") as fh:
        head = fh.read(4)
    zipped = head == _ZIP_MAGIC  # torch.save writes a zip archive
    if zipped:
        try:
            complete = zipfile.is_zipfile(path)
        except (zipfile.BadZipFile, ValueError, EOFError):
            complete = False
        if not complete:
            raise _damaged(path, "truncated or corrupt: the end of the zip archive is missing")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = next((ln.strip() for ln in str(exc).splitlines() if "GLOBAL" in ln), "")
        detail = detail.removeprefix("WeightsUnpickler error: ").split(" was not ")[0]
        if detail:
            raise ValueError(
                f"checkpoint {str(path)!r} was refused: it carries pickled Python objects "
                f"that are not tensors or plain data ({detail}), so it is not a dante "
                f"checkpoint and may be unsafe. dante loads checkpoints with "
                f"torch.load(weights_only=True) and never runs code from a file; this file "
                f"must not be loaded with weights_only=False. Fix: point the checkpoint at a "
                f"file written by dante, or delete this one and start the run again."
            ) from None
        if zipped:  # a torch archive whose pickle is not one: damaged, not foreign
            raise _damaged(path, "corrupt: its data.pkl record is not a valid pickle") from None
        raise _foreign(path) from None
    except Exception as exc:  # torch raises RuntimeError, OSError, EOFError, UnicodeDecodeError...
        if isinstance(exc, OSError) and exc.errno not in (None, errno.EINVAL):
            raise  # a real I/O error (permission, device), not a property of the file
        if not zipped:
            raise _foreign(path) from None
        first = str(exc).splitlines()[0].split(". ")[0] if str(exc) else type(exc).__name__
        raise _damaged(path, f"corrupt or truncated: {first}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(
            f"{str(path)!r} is not a dante checkpoint (no format={FORMAT!r} entry). Fix: pass "
            f"the path of a checkpoint written by dante.Trainer, or another path to start anew."
        )
    if state.get("version", 0) > VERSION:
        raise ValueError(
            f"checkpoint {str(path)!r} has format version {state['version']}, newer than this "
            f"dante understands ({VERSION}); upgrade dante to resume it"
        )
    return state


# ------------------------------------------------------------ the trainer
def check_checkpoint_args(
    checkpoint: str | os.PathLike | None, checkpoint_every: int | None, resume: bool
) -> Path | None:
    """Validate :class:`~dante.Trainer`'s checkpoint arguments; return the path."""
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be True or False, got {resume!r}")
    if checkpoint_every is not None and (
        isinstance(checkpoint_every, bool)
        or not isinstance(checkpoint_every, int)
        or checkpoint_every < 1
    ):
        raise ValueError(
            f"checkpoint_every must be a positive number of minibatch steps, got "
            f"{checkpoint_every!r}"
        )
    if checkpoint is None:
        if checkpoint_every is not None or resume:
            raise ValueError(
                "checkpoint_every and resume need checkpoint=<file path> (where the checkpoint "
                "is written and read)"
            )
        return None
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a file path, got {type(checkpoint).__name__}")
    path = Path(checkpoint)
    if path.is_dir():
        raise ValueError(f"checkpoint {str(path)!r} is a folder; give a file path such as run.pt")
    if path.exists() and not resume:
        raise ValueError(
            f"checkpoint {str(path)!r} already exists; pass resume=True (CLI: --resume) to "
            f"continue that run, or delete the file / choose another path to start anew"
        )
    if resume:  # a write killed midway leaves its temporary file (never the checkpoint)
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            tmp.unlink(missing_ok=True)
    return path


def trainer_state(trainer: TrainerState, completed: bool) -> dict[str, Any]:
    """Everything :func:`restore_trainer` needs, as plain containers and tensors."""
    solvers = [
        {"stage": key[0], "block": list(key[1]), "class": st["class"], "state": st["state"]}
        for key, st in trainer._pending_states.items()
    ]
    for (stage, block), opt in trainer._optimizers.items():
        solvers.append(
            {
                "stage": stage,
                "block": list(block),
                "class": type(opt).__name__,
                "state": opt.state_dict(),
            }
        )
    return {
        "completed": completed,
        "config": trainer.config.model_dump(),
        "schedule": [s.name for s in trainer.stages],
        "model_class": type(trainer.model).__name__,
        "model": trainer.model.state_dict(),
        "solvers": solvers,
        "position": dict(trainer._pos),
        "epoch_rng": trainer._epoch_rng,
        "rng": capture_rng(trainer._generator),
        "epochs_done": trainer._epoch,
        "budget": asdict(trainer.budget),
        "history": trainer.history,
        "stages": trainer._result.stages,
        "data": data_fingerprint(trainer._train.X, trainer._train.T),
        "lr_control": trainer._lr_control.state_dict(),
    }


def _mismatch(path: Path, what: str, items: list[str]) -> ValueError:
    return ValueError(
        f"cannot resume from {str(path)!r}: the {what} differs: {'; '.join(items)}. Fix: resume "
        f"with the checkpoint's settings, or start a new run (another checkpoint path, or "
        f"delete this file)"
    )


def restore_trainer(trainer: TrainerState, state: dict[str, Any], path: str | os.PathLike) -> bool:
    """Check that ``state`` belongs to this run and load it into ``trainer``.

    Returns whether the checkpointed run had completed. Raises ``ValueError``
    naming what differs (configuration keys, schedule, model, data) before
    anything is changed.
    """
    path = Path(path)
    diffs = config_differences(state["config"], trainer.config.model_dump())
    if diffs:
        raise _mismatch(path, "configuration", diffs)
    names = [s.name for s in trainer.stages]
    if state["schedule"] != names:
        raise _mismatch(path, "schedule", [f"stages (checkpoint {state['schedule']}, now {names})"])
    model = trainer.model
    saved = {k: tuple(v.shape) for k, v in state["model"].items()}
    now = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if state["model_class"] != type(model).__name__ or saved != now:
        items = []
        if state["model_class"] != type(model).__name__:
            items.append(f"class (checkpoint {state['model_class']}, now {type(model).__name__})")
        items += [
            f"{k} (checkpoint {saved.get(k)}, now {now.get(k)})"
            for k in sorted(set(saved) | set(now))
            if saved.get(k) != now.get(k)
        ]
        raise _mismatch(path, "model", items)
    data = data_fingerprint(trainer._train.X, trainer._train.T)
    if state["data"] != data:
        items = [
            f"{k} (checkpoint {state['data'][k]}, now {data[k]})"
            for k in data
            if state["data"].get(k) != data[k]
        ]
        raise _mismatch(path, "training data", items)
    with torch.no_grad():
        model.load_state_dict(state["model"])
    budget = trainer.budget
    for k, v in state["budget"].items():
        setattr(budget, k, v)
    trainer.history[:] = state["history"]
    trainer._result.stages[:] = state["stages"]
    trainer._epoch = state["epochs_done"]
    trainer._checkpoint_step = budget.steps
    trainer._pending_states = {
        (s["stage"], tuple(s["block"])): {"class": s["class"], "state": s["state"]}
        for s in state["solvers"]
    }
    if "lr_control" in state:  # absent from checkpoints written before step-size control
        trainer._lr_control.load_state_dict(state["lr_control"])
    if state["completed"]:
        restore_rng(state["rng"], trainer._generator)
        return True
    trainer._pos = dict(state["position"])
    trainer._resume = {**state["position"], "rng": state["rng"], "epoch_rng": state["epoch_rng"]}
    return False


def load_solver_state(solver: Any, saved: dict[str, Any], key: tuple[str, tuple[int, ...]]) -> None:
    """Load a block solver's saved state, checking that it is the same kind of solver."""
    if type(solver).__name__ != saved["class"]:
        raise ValueError(
            f"cannot resume: the solver of stage {key[0]!r}, block {list(key[1])} is "
            f"{type(solver).__name__} but the checkpoint holds a {saved['class']} state; "
            f"resume with the same solver"
        )
    solver.load_state_dict(saved["state"])
