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
from dante.distributed import SINGLE, World, check_batch_size, current_world

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


def _train(name: str, batch_size: int, world: World) -> dict:
    kind, kwargs = RUNS[name]
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


def _worker(rank: int, port: int, out: str) -> None:
    """One rank, started the way torchrun starts it (the environment), first
    through the CLI (which joins the group), then through ``dante.fit``."""
    torch.set_num_threads(1)  # two processes on two cores
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    try:
        assert main([*CLI_ARGS, "--out", f"{out}/cli_rank{rank}"]) == 0
        world = current_world()
        assert (world.rank, world.size) == (rank, WORLD)
        results = {name: _train(name, WORLD * PER_RANK, world) for name in RUNS}
        torch.save(results, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def parallel_runs(tmp_path_factory) -> tuple[Path, list[dict]]:
    tmp = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(_free_port(), str(tmp)), nprocs=WORLD, join=True)
    return tmp, [torch.load(tmp / f"rank{r}.pt") for r in range(WORLD)]


@pytest.mark.parametrize("name", list(RUNS))
def test_two_ranks_take_the_steps_of_one_process_with_the_doubled_minibatch(parallel_runs, name):
    single = _train(name, WORLD * PER_RANK, SINGLE)
    rank0, rank1 = (r[name] for r in parallel_runs[1])
    # the ranks hold bit-identical weights: they applied the same reduced gradient
    assert all(torch.equal(a, b) for a, b in zip(rank0["weights"], rank1["weights"]))
    for a, b in zip(rank0["weights"], single["weights"]):
        assert torch.allclose(a, b, rtol=0.0, atol=1e-5), (a - b).abs().max()
    # the weights moved far more than the tolerance (the comparison can fail)
    start = [p.detach() for p in _model(RUNS[name][0]).parameters()]
    assert max(float((a - s).abs().max()) for a, s in zip(single["weights"], start)) > 0.05
    # metrics are all-reduced: every rank records the same curve, the single process's
    assert rank0["train_loss"] == rank1["train_loss"]
    assert rank0["test_loss"] == rank1["test_loss"]
    np.testing.assert_allclose(rank0["train_loss"], single["train_loss"], rtol=1e-5)
    assert len(rank0["train_loss"]) == len(single["train_loss"]) > 2
    for key in ("steps", "samples_seen", "weights_updated"):
        assert rank0[key] == single[key]


def test_a_half_sized_single_minibatch_gives_different_weights(parallel_runs):
    """Control: the per-rank minibatch alone is a different run, so the match
    above is the all-reduce's doing, not a tolerance that hides everything."""
    half = _train("sgd", PER_RANK, SINGLE)
    diff = max(
        float((a - b).abs().max())
        for a, b in zip(half["weights"], parallel_runs[1][0]["sgd"]["weights"])
    )
    assert diff > 1e-2


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
        np.testing.assert_allclose(a, b, rtol=1e-5)
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
