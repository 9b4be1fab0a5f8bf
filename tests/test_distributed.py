"""Data-parallel training (``dante.distributed``): two gloo processes on the
loopback interface take exactly the steps of one process whose minibatch is
their two slices together.

The oracle is the single-process trainer itself, run with the global
minibatch: the all-reduced gradient of the mean loss over the global
minibatch equals the single-process gradient up to float summation order
(two partial sums of 4 rows vs one sum of 8), i.e. relative differences of a
few 1e-7 per step; they do not grow here: after 78-312 steps the weights
differ by at most 1.3e-7 (measured for every run below). ``atol=1e-5`` leaves room
for that rounding and would fail for any real deviation (one step is 1e-2 or
more; an unscaled, unsummed or per-rank-normalized gradient moves the weights
by that much).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import dante
from dante.cli import main
from dante.distributed import SINGLE, World, check_batch_size, current_world, init_from_env

WORLD = 2
PER_RANK = 4  # each rank's slice; the global minibatch is 8
N_TRAIN = 201  # 201 = 25 * 8 + 1: the last global minibatch has one row, rank 1's slice is empty

# (name, model factory, fit keyword arguments)
RUNS = {
    "dante": ("mlp", dict(method="dante", lr=0.02, t_sngd=2, max_alternations=2, tol=0.0)),
    "dante_momentum": (
        "mlp",
        dict(method="dante", lr=0.02, momentum=0.5, t_sngd=1, max_alternations=2, tol=0.0),
    ),
    "sgd": ("mlp", dict(method="sgd", lr=0.1, max_alternations=4, tol=0.0)),
    "adam": (
        "mlp",
        dict(method="adam", lr=0.01, loss="cross_entropy", max_alternations=3, tol=0.0),
    ),
    "autoencoder": ("ae", dict(method="dante", lr=0.02, t_sngd=1, max_alternations=2, tol=0.0)),
}


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.random((N_TRAIN, 10), dtype=np.float32)
    y = (X[:, :3].argmax(axis=1)).astype(np.int64)
    return X, y


def _model(kind: str) -> dante.LayeredNet:
    if kind == "mlp":
        return dante.MLP([10, 16, 12, 3], seed=3)  # three blocks, round robin
    return dante.Autoencoder([10, 6, 3], seed=3)  # greedy pairs, stage inputs from the prefix


def _train(name: str, batch_size: int, world: World, **extra) -> dict:
    kind, kwargs = RUNS[name]
    kwargs = {**kwargs, **extra}
    X, y = _data()
    net = _model(kind)
    if kind == "ae":
        res = dante.fit(net, X, batch_size=batch_size, world=world, **kwargs)
    else:
        res = dante.fit(net, X, y, X[:50], y[:50], batch_size=batch_size, world=world, **kwargs)
    return {
        "weights": [p.detach().clone() for p in net.parameters()],
        "train_loss": [h["train_loss"] for h in res.history],
        "test_loss": [h.get("test_loss") for h in res.history],
        "steps": res.budget.steps,
        "samples_seen": res.budget.samples_seen,
        "weights_updated": res.budget.weights_updated,
    }


# `dante train` on the digits data, small and quick (DANTE, then SGD on its budget)
CLI_ARGS = [
    "train", "--quiet", "--no-plot", "--hidden", "16", "--batch-size", "64",
    "--max-alternations", "1", "--t-sngd", "2", "--methods", "dante,sgd",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, ports: tuple[int, int], out: str) -> None:
    """One rank, started the way torchrun starts it (the environment), first
    through the CLI (which joins the group and, once every rank has finished,
    destroys it), then, in a group joined anew on a second port, through
    ``dante.fit``."""
    torch.set_num_threads(1)  # two processes on two cores
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(ports[0]),
    )
    try:
        assert main([*CLI_ARGS, "--out", f"{out}/cli_rank{rank}"]) == 0
        # the CLI left no group behind for an atexit hook to tear down
        assert not dist.is_initialized()
        os.environ["MASTER_PORT"] = str(ports[1])
        world, _ = init_from_env()
        assert (world.rank, world.size) == (rank, WORLD) and world == current_world()
        results = {name: _train(name, WORLD * PER_RANK, world) for name in RUNS}
        results["resumed"] = _crash_and_resume(world, out)
        torch.save(results, f"{out}/rank{rank}.pt")
        world.close()
        world.close()  # idempotent
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


class _Crash(dante.Callback):
    """Interrupts the run after a given step; the ranks run in lockstep (every
    step all-reduces), so both stop after the same step."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step(self, trainer, loss):
        if trainer.budget.steps == self.at:
            raise KeyboardInterrupt


RESUME_RUN = "dante_momentum"  # round robin over three blocks, momentum state in the checkpoint
# 26 global minibatches per epoch, 3 blocks x 1 epoch x 2 alternations = 156 steps:
# crashes in the first phase, mid-epoch in the third, and in the second alternation
CRASHES = (5, 61, 122)
EVERY = 4  # checkpoint every 4 steps: the crash at 61 leaves the checkpoint of step 60


def _crash_and_resume(world: World, out: str) -> dict:
    """Two ranks interrupted at each of ``CRASHES`` and resumed from rank 0's
    checkpoint each time; a copy of the step-60 checkpoint is kept for a
    one-process resume."""
    path = f"{out}/ddp_checkpoint.pt"
    ckpt = dict(checkpoint=path, checkpoint_every=EVERY, resume=True)
    for at in CRASHES:
        try:
            _train(RESUME_RUN, WORLD * PER_RANK, world, callbacks=[_Crash(at)], **ckpt)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError(f"the run was not interrupted at step {at}")
        world.barrier()
        if at == 61 and world.is_main:
            shutil.copy(path, f"{out}/ddp_checkpoint_step60.pt")
    world.barrier()
    return _train(RESUME_RUN, WORLD * PER_RANK, world, **ckpt)


@pytest.fixture(scope="module")
def parallel_runs(tmp_path_factory) -> tuple[Path, list[dict]]:
    tmp = tmp_path_factory.mktemp("ddp")
    ports = (_free_port(), _free_port())
    while ports[1] == ports[0]:
        ports = (ports[0], _free_port())
    mp.spawn(_worker, args=(ports, str(tmp)), nprocs=WORLD, join=True)
    return tmp, [torch.load(tmp / f"rank{r}.pt") for r in range(WORLD)]


@pytest.mark.parametrize("name", list(RUNS))
def test_two_ranks_take_the_steps_of_one_process_with_the_doubled_minibatch(parallel_runs, name):
    single = _train(name, WORLD * PER_RANK, SINGLE)
    rank0, rank1 = (r[name] for r in parallel_runs[1])
    # the ranks hold bit-identical weights: they applied the same reduced gradient (exact by
    # construction: with two ranks the sum is a + b = b + a, and both ranks run one thread)
    assert all(torch.equal(a, b) for a, b in zip(rank0["weights"], rank1["weights"]))
    for a, b in zip(rank0["weights"], single["weights"]):
        assert torch.allclose(a, b, rtol=0.0, atol=1e-5), (a - b).abs().max()
    # the weights moved far more than the tolerance (the comparison can fail)
    start = [p.detach() for p in _model(RUNS[name][0]).parameters()]
    # measured 0.37-0.58, against the 1.3e-7 rounding and the 1e-5 tolerance
    assert max(float((a - s).abs().max()) for a, s in zip(single["weights"], start)) > 0.05
    # metrics are all-reduced: every rank records the same curve, the single process's
    assert rank0["train_loss"] == rank1["train_loss"]
    assert rank0["test_loss"] == rank1["test_loss"]
    # float32 losses, two summation orders: measured relative difference <= 1.1e-7
    np.testing.assert_allclose(rank0["train_loss"], single["train_loss"], rtol=1e-5)
    # tol=0: no float-decided early stop, so the evaluation count is exact
    assert len(rank0["train_loss"]) == len(single["train_loss"]) > 2
    for key in ("steps", "samples_seen", "weights_updated"):
        assert rank0[key] == single[key]


def test_two_ranks_interrupted_and_resumed_end_bit_identical(parallel_runs):
    """Multi-rank resume: rank 0 writes the checkpoint, every rank reads it back;
    three interruptions later both ranks hold the weights of the uninterrupted
    two-rank run, bit for bit, with the same curve and budget."""
    for ranks in parallel_runs[1]:
        # same two-rank, one-thread layout for both runs: the same float operations
        got, ref = ranks["resumed"], ranks[RESUME_RUN]
        assert all(torch.equal(a, b) for a, b in zip(got["weights"], ref["weights"], strict=True))
        assert got["train_loss"] == ref["train_loss"] and got["steps"] == ref["steps"] == 156
        assert got["weights_updated"] == ref["weights_updated"]


def test_a_two_rank_checkpoint_resumes_in_one_process(parallel_runs, tmp_path):
    """The run is defined by the seed and the global minibatch, not the number
    of ranks, so a two-rank checkpoint (step 60 of 156) finishes in a single
    process with the weights of the two-rank run (float rounding only)."""
    path = tmp_path / "ckpt.pt"
    shutil.copy(parallel_runs[0] / "ddp_checkpoint_step60.pt", path)
    kind, kwargs = RUNS[RESUME_RUN]
    X, y = _data()
    net = _model(kind)
    trainer = dante.Trainer(
        net, batch_size=WORLD * PER_RANK, checkpoint=path, checkpoint_every=EVERY, resume=True,
        **kwargs,
    )  # fmt: skip
    res = trainer.fit(X, y, X[:50], y[:50])
    assert trainer.resumed_from_step == 60  # it continued the two-rank run, not a fresh one
    ref = parallel_runs[1][0][RESUME_RUN]
    for a, b in zip(net.parameters(), ref["weights"], strict=True):
        # measured 3e-8 (see the module docstring for the 1e-5)
        assert torch.allclose(a.detach(), b, rtol=0.0, atol=1e-5), (a - b).abs().max()
    assert res.budget.steps == ref["steps"]
    np.testing.assert_allclose([h["train_loss"] for h in res.history], ref["train_loss"], rtol=1e-5)


def test_a_half_sized_single_minibatch_gives_different_weights(parallel_runs):
    """Control: the per-rank minibatch alone is a different run, so the match
    above is the all-reduce's doing, not a tolerance that hides everything."""
    half = _train("sgd", PER_RANK, SINGLE)
    diff = max(
        float((a - b).abs().max())
        for a, b in zip(half["weights"], parallel_runs[1][0]["sgd"]["weights"])
    )
    assert diff > 1e-2  # measured 0.15


def test_shards_partition_every_global_minibatch():
    idx = torch.arange(100, 108)
    for n in (8, 5, 1):
        parts = [World(rank=r, size=2).shard(idx[:n]) for r in range(2)]
        assert torch.equal(torch.cat(parts), idx[:n])
        assert abs(len(parts[0]) - len(parts[1])) <= 1
    assert World(rank=1, size=3).rows(10) == (3, 6)
    assert SINGLE.shard(idx) is idx


def test_batch_size_not_divisible_by_world_size_is_refused_before_any_work():
    with pytest.raises(ValueError, match=r"batch_size=33 is not divisible by the world size 2"):
        check_batch_size(33, 2)
    check_batch_size(33, 1)
    net = dante.MLP([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match="world size 2"):
        dante.Trainer(net, batch_size=33, world=World(rank=0, size=2))
    with pytest.raises(ValueError, match="'admm' is not a gradient optimizer"):
        dante.Trainer(net, method="admm", batch_size=32, world=World(rank=0, size=2))
    with pytest.raises(ValueError, match="rank < size"):
        World(rank=2, size=2)
    with pytest.raises(TypeError, match="World"):
        dante.Trainer(net, world=2)


def test_cli_names_batch_size_and_world_size(monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["train", "--batch-size", "33", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--batch-size=33" in err and "world size 2" in err


def _compare_cli_metrics(two_dir: Path, one_dir: Path) -> None:
    two = json.loads((two_dir / "metrics.json").read_text())["methods"]
    one = json.loads((one_dir / "metrics.json").read_text())["methods"]
    for method in ("dante", "sgd"):
        a = [c["train_loss"] for c in two[method]["curves"]]
        b = [c["train_loss"] for c in one[method]["curves"]]
        assert len(a) == len(b) > 2
        np.testing.assert_allclose(a, b, rtol=1e-5)  # float32 losses: measured <= 1.1e-7
        for key in ("weights_updated", "samples_seen", "steps"):
            assert two[method][key] == one[method][key]


def test_cli_two_ranks_match_one_process_and_only_rank0_writes(parallel_runs, tmp_path):
    tmp, _ = parallel_runs
    assert (tmp / "cli_rank0" / "metrics.json").exists()
    assert not (tmp / "cli_rank1").exists()
    assert main([*CLI_ARGS, "--out", str(tmp_path / "one")]) == 0
    _compare_cli_metrics(tmp / "cli_rank0", tmp_path / "one")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not on PATH")
def test_torchrun_two_processes_match_one(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [
        str(Path(sys.executable).with_name("torchrun")),
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "-m", "dante", *CLI_ARGS, "--out", str(tmp_path / "two"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("| method |") == 1  # rank 1 printed no table
    assert main([*CLI_ARGS, "--out", str(tmp_path / "one")]) == 0
    _compare_cli_metrics(tmp_path / "two", tmp_path / "one")
