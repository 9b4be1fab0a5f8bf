"""Data-parallel training on ``torch.distributed``: one world, sharded minibatches.

DANTE's block solver is SNGD (Algorithm 1 of ``001_1787bf99fca4a9f2.txt``)::

    w <- w - lr * g / ||g||,   g = grad of the mean loss over the minibatch

with **one** norm over the whole block. Normalization is not linear, so ranks
must not normalize their own gradients: every rank computes the gradient of
the mean loss over *its* rows, scales it by ``n_rank / n_global`` and the
scaled gradients are summed over the ranks (one all-reduce) **before** the
solver takes its norm. The sum is then exactly ``grad (1/n_global) sum_i
l_i``, the gradient one process would compute on the whole global minibatch,
so ``N`` ranks with ``m`` rows each take the step of one process with
minibatch ``N * m`` (up to float summation order). The same all-reduce serves
the backprop baselines (SGD, Adam, ...), which go through the same loop.

Sharding: ``batch_size`` is the *global* minibatch and must be a multiple of
the world size. Every rank draws the same permutation from the seed and takes
a contiguous slice (:meth:`World.shard`) of every global minibatch; the last,
smaller minibatch of an epoch is split as evenly as it goes (a slice may be
empty). The union of the slices is the single-process minibatch, so the
minibatch sequence is the single-process one, not ``DistributedSampler``'s
(which pads the epoch with repeated samples).

The training set is replicated on every rank (each rank reads only its rows
per step, but the frozen-prefix cache of a block covers every row). Metrics
are sharded by rows and their sums all-reduced, so every rank records the same
numbers and takes the same stopping decision; only rank 0 writes files.
At the end every rank meets in :meth:`World.close`, which then destroys the
process group. See ``docs/DISTRIBUTED.md``.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "SINGLE",
    "World",
    "check_batch_size",
    "check_parallel_solver",
    "current_world",
    "init_from_env",
    "world_size_from_env",
]


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"environment variable {name}={text!r} is not an integer") from None


def world_size_from_env(environ: Mapping[str, str] | None = None) -> int:
    """``WORLD_SIZE`` as set by ``torchrun`` (1 when unset)."""
    size = _env_int(os.environ if environ is None else environ, "WORLD_SIZE", 1)
    if size < 1:
        raise ValueError(f"environment variable WORLD_SIZE={size} must be >= 1")
    return size


def check_batch_size(batch_size: int, world_size: int, name: str = "batch_size") -> None:
    """Raise ``ValueError`` unless the global minibatch splits evenly over the ranks.

    Parameters
    ----------
    batch_size : int
        Global minibatch size (all ranks together).
    world_size : int
        Number of processes.
    name : str, default="batch_size"
        How the caller spells the argument (``"--batch-size"`` on the CLI).
    """
    if world_size > 1 and batch_size % world_size != 0:
        lo = batch_size - batch_size % world_size
        raise ValueError(
            f"{name}={batch_size} is not divisible by the world size {world_size} "
            f"(WORLD_SIZE): {name} is the global minibatch, split evenly across the ranks; "
            f"choose a multiple of {world_size}, e.g. {max(lo, world_size)} or {lo + world_size}"
        )


def check_parallel_solver(spec: Any, world_size: int, name: str = "solver") -> None:
    """Raise ``ValueError`` for a peer solver (:func:`dante.solvers.register_solver`,
    e.g. ADMM or AM-Adam) in a data-parallel run: those update the block from a
    whole minibatch themselves, so there is no gradient to all-reduce."""
    from .solvers import is_peer_solver

    if world_size > 1 and isinstance(spec, str) and is_peer_solver(spec):
        raise ValueError(
            f"{name} {spec!r} is not a gradient optimizer and cannot run data-parallel "
            f"(world size {world_size}); run it in one process"
        )


@dataclass(frozen=True)
class World:
    """The processes training one model together (one rank = one process).

    Parameters
    ----------
    rank : int, default=0
        This process's rank in ``[0, size)``.
    size : int, default=1
        Number of processes.
    device : str, default="cpu"
        Device of this rank's tensors (``"cuda:<local_rank>"`` with NCCL);
        collectives on metrics use it.
    group : torch.distributed.ProcessGroup, optional
        Process group of the collectives (``None``: the default group).

    Notes
    -----
    With ``size == 1`` every method is a no-op that needs no process group,
    so the trainer calls them unconditionally.
    """

    rank: int = 0
    size: int = 1
    device: str = "cpu"
    group: Any = None

    def __post_init__(self) -> None:
        for name in ("rank", "size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"World {name} must be an int, got {value!r}")
        if self.size < 1 or not 0 <= self.rank < self.size:
            raise ValueError(f"World needs size >= 1 and 0 <= rank < size, got {self}")

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that prints and writes files."""
        return self.rank == 0

    # ---------------------------------------------------------------- shards
    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous slice of a global minibatch's row indices.

        Slices of consecutive ranks are consecutive and differ in length by
        at most one (``torch.tensor_split``); their union is ``idx``.
        """
        if self.size == 1:
            return idx
        return torch.tensor_split(idx, self.size)[self.rank]

    def rows(self, n: int) -> tuple[int, int]:
        """This rank's contiguous share ``[lo, hi)`` of ``n`` rows (for metrics)."""
        return n * self.rank // self.size, n * (self.rank + 1) // self.size

    # ----------------------------------------------------------- collectives
    @torch.no_grad()
    def allreduce_grads_(
        self, params: Sequence[torch.Tensor], loss: torch.Tensor, weight: float
    ) -> torch.Tensor:
        """Turn local mean-loss gradients into the global minibatch's, in place.

        Every rank passes the gradients (``p.grad``) of the mean loss over its
        own rows and ``weight = n_rank / n_global``; after the call every
        rank's ``p.grad`` holds ``sum_r weight_r * grad_r``, the gradient of the
        mean loss over the global minibatch, and the return value is that mean
        loss. One all-reduce of one flat buffer (gradients and loss).

        Parameters
        ----------
        params : sequence of torch.Tensor
            The block's parameters; a missing ``.grad`` counts as zero.
        loss : torch.Tensor
            This rank's mean loss (0-dim).
        weight : float
            This rank's share of the global minibatch; ``0`` (an empty slice)
            contributes nothing, even if ``loss`` is NaN.

        Returns
        -------
        torch.Tensor
            The global minibatch's mean loss (0-dim, detached).
        """
        if self.size == 1:
            return loss
        dtype = params[0].dtype
        parts = [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).to(dtype)
            for p in params
        ]
        parts.append(loss.detach().reshape(1).to(dtype))
        flat = torch.cat(parts)
        if weight == 0:
            flat.zero_()
        else:
            flat.mul_(weight)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM, group=self.group)
        offset = 0
        for p in params:
            chunk = flat[offset : offset + p.numel()].view_as(p)
            offset += p.numel()
            if p.grad is None:
                p.grad = chunk.to(p.dtype).clone()
            else:
                p.grad.copy_(chunk)
        return flat[-1].clone()

    def sum(self, *values: float) -> list[float]:
        """All-reduce (sum) a few host numbers in float64; identical on all ranks."""
        if self.size == 1:
            return [float(v) for v in values]
        buf = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(buf, op=dist.ReduceOp.SUM, group=self.group)
        return buf.tolist()

    @torch.no_grad()
    def broadcast_(self, tensors: Iterable[torch.Tensor]) -> None:
        """Overwrite the tensors with rank 0's (a common starting point)."""
        if self.size == 1:
            return
        for t in tensors:
            dist.broadcast(t.data, src=0, group=self.group)

    def barrier(self) -> None:
        """Wait for every rank."""
        if self.size > 1:
            dist.barrier(group=self.group)

    def close(self) -> None:
        """End the run on this rank: wait for every rank, then leave the process group.

        The default process group is destroyed if :func:`init_from_env` created
        it (a group the caller initialized is the caller's to destroy). Every
        rank must call this on its normal path, after rank 0 has written its
        files: a rank that simply returned and exited while rank 0 was still
        writing, leaving the teardown to the ``atexit`` hook, sometimes died
        with ``terminate called without an active exception`` (SIGABRT) in
        gloo's shutdown. Do not call it on an error path: the ranks that did
        not fail would wait in the barrier for one that never comes (the
        ``atexit`` hook still destroys the group at exit). A no-op with
        ``size == 1`` or once the group is gone, so calling it twice is harmless.
        """
        global _owns_group
        if self.size == 1 or not (dist.is_available() and dist.is_initialized()):
            return
        self.barrier()
        if _owns_group:
            _owns_group = False
            dist.destroy_process_group()

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Run the block on rank 0 first, then on the others (e.g. a download
        into a shared cache that should happen once)."""
        if not self.is_main:
            self.barrier()
        try:
            yield
        finally:
            if self.is_main:
                self.barrier()


#: The single-process world (no process group needed).
SINGLE = World()

# whether init_from_env created the default process group (then World.close and the
# atexit hook destroy it), and whether that hook is registered
_owns_group = False
_atexit_registered = False


def current_world(device: str = "cpu") -> World:
    """The world of the initialized default process group (``SINGLE`` if none)."""
    if not (dist.is_available() and dist.is_initialized()):
        return World(device=device)
    return World(rank=dist.get_rank(), size=dist.get_world_size(), device=device)


def init_from_env(
    device: str = "cpu", environ: Mapping[str, str] | None = None
) -> tuple[World, str]:
    """Join the process group that ``torchrun`` describes in the environment.

    Reads ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (rendezvous through
    ``MASTER_ADDR``/``MASTER_PORT``, ``init_method="env://"``). Backend: NCCL
    for a CUDA device (each rank takes ``cuda:<LOCAL_RANK>``), gloo otherwise.
    Without ``WORLD_SIZE`` (or with ``WORLD_SIZE=1``) nothing is initialized.

    Parameters
    ----------
    device : str, default="cpu"
        The requested device (``"cpu"`` or ``"cuda"``).
    environ : mapping, optional
        Environment to read (default ``os.environ``).

    Returns
    -------
    world : World
    device : str
        This rank's device (``"cuda:<LOCAL_RANK>"`` for CUDA under torchrun).
    """
    global _owns_group, _atexit_registered
    env = os.environ if environ is None else environ
    size = world_size_from_env(env)
    if size == 1:
        return World(device=device), device
    rank = _env_int(env, "RANK", -1)
    local_rank = _env_int(env, "LOCAL_RANK", 0)
    if not 0 <= rank < size:
        raise ValueError(
            f"WORLD_SIZE={size} needs RANK in [0, {size}), got RANK={env.get('RANK')!r}; "
            "start the processes with torchrun"
        )
    if not dist.is_available():  # pragma: no cover - torch built without distributed
        raise ValueError("this torch build has no torch.distributed; run one process")
    cuda = torch.device(device).type == "cuda"
    if cuda:
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if cuda else "gloo", init_method="env://", rank=rank, world_size=size
        )
        _owns_group = True
        if not _atexit_registered:  # fallback for runs that end without World.close()
            atexit.register(_destroy)
            _atexit_registered = True
    return World(rank=dist.get_rank(), size=dist.get_world_size(), device=device), device


def _destroy() -> None:
    """``atexit``: destroy the group :func:`init_from_env` created, unless already gone."""
    global _owns_group
    if _owns_group and dist.is_initialized():
        _owns_group = False
        dist.destroy_process_group()
