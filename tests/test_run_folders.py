"""Run folders never lose work, and damaged checkpoints are named (issue 12, items 2 and 3).

``dante train --out DIR`` is checked before any data is loaded: a file, a path
under a file, a read-only or unwritable folder, a folder another run holds
(the lock), a folder with earlier results (``--overwrite``/``--resume``) and
``--resume`` with nothing to resume are one ``dante: error:`` line with exit
status 2. A full disk while checkpointing is one line (exit 1) and the
previous checkpoint stays as it was. Truncated, empty and foreign checkpoint
files are a ``ValueError`` naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import dante.reporting
import dante.run_folder
from dante.checkpoint import load_checkpoint, save_checkpoint
from dante.cli import main
from dante.run_folder import LOCK_NAME, RunFolder, RunFolderError

# the smallest real run: one epoch of backprop SGD on the embedded digits (well under a second)
TINY = [
    "train", "--quiet", "--no-plot", "--methods", "sgd", "--hidden", "8",
    "--max-alternations", "1", "--t-am", "1", "--t-sngd", "1",
]  # fmt: skip


@pytest.fixture
def no_data(monkeypatch):
    """Loading the data set fails the test: the run folder must be refused before it."""

    def refuse(args):
        raise AssertionError("the data set was loaded before --out was checked")

    monkeypatch.setattr("dante.cli_train._load_dataset", refuse)


@pytest.fixture
def no_fsync(monkeypatch):
    """Skip fsync in tests that are not about durability (it dominates a tiny run's time)."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("dante: error:"), err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


# ------------------------------------------------------------ --out itself
class _ReadOnlyStatvfs:
    """What os.statvfs reports for a folder on a file system mounted read-only."""

    f_flag = os.ST_RDONLY if hasattr(os, "ST_RDONLY") else 1


def _make_file(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("keep me")
    return tmp_path / "afile"


@pytest.mark.parametrize("case", ["existing file", "parent is a file", "not writable", "read-only"])
def test_unusable_out_is_refused_before_loading_data(case, tmp_path, capsys, monkeypatch, no_data):
    if case == "existing file":
        out, needle = _make_file(tmp_path), "is an existing file"
    elif case == "parent is a file":
        out, needle = _make_file(tmp_path) / "run", "is a file"
    elif case == "not writable":
        out, needle = tmp_path / "locked" / "run", "not writable"
        (tmp_path / "locked").mkdir(mode=0o500)
        # Tests run as root, for whom os.access() on a 0o500 folder is True and creating a
        # file there succeeds; so the permission check is simulated for that folder.
        real_access = os.access
        monkeypatch.setattr(
            dante.run_folder.os,
            "access",
            lambda p, mode: False if Path(p) == tmp_path / "locked" else real_access(p, mode),
        )
    else:
        out, needle = tmp_path / "ro" / "run", "read-only file system"
        (tmp_path / "ro").mkdir()
        # A read-only mount cannot be made without privileges in a test; os.statvfs is
        # what the check reads, so it reports the ST_RDONLY flag for that folder.
        real_statvfs = os.statvfs
        monkeypatch.setattr(
            dante.run_folder.os,
            "statvfs",
            lambda p: _ReadOnlyStatvfs() if Path(p) == tmp_path / "ro" else real_statvfs(p),
        )
    assert main([*TINY, "--out", str(out)]) == 2
    err = _one_line_error(capsys)
    assert "--out" in err and str(out) in err and needle in err
    if case in ("existing file", "parent is a file"):
        assert (tmp_path / "afile").read_text() == "keep me"
    else:
        assert not out.exists()


@pytest.mark.parametrize(
    ("code", "needle"),
    [(errno.EROFS, "read-only file system"), (errno.EACCES, "not writable")],
)
def test_lock_file_creation_errors_name_out(code, needle, tmp_path, monkeypatch):
    """What statvfs/os.access cannot see (a bind mount, an ACL) shows when the lock is created."""
    real_open = os.open

    def failing_open(path, flags, *args):
        if Path(path).name == LOCK_NAME:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(dante.run_folder.os, "open", failing_open)
    folder = RunFolder(tmp_path / "run")
    assert folder.check() is False
    with pytest.raises(RunFolderError, match=needle) as info:
        folder.open()
    assert str(info.value).startswith(f"--out {str(tmp_path / 'run')!r}")


def test_reproduce_out_is_checked_and_locked(tmp_path, capsys):
    out = _make_file(tmp_path)
    assert main(["reproduce", "fig2", "--quick", "--out", str(out)]) == 2
    assert "--out" in _one_line_error(capsys)
    held = RunFolder(tmp_path / "results").open()
    try:
        args = ["reproduce", "fig2", "--quick", "--out", str(tmp_path / "results")]
        assert main(args) == 2
        assert f"pid {os.getpid()}" in _one_line_error(capsys)
    finally:
        held.close()


# -------------------------------------------------------------- the lock
_HOLDER = textwrap.dedent(
    """
    import sys
    from dante.run_folder import RunFolder

    folder = RunFolder(sys.argv[1]).open()
    print("locked", flush=True)
    sys.stdin.read()  # hold the folder until the test closes stdin (or kills us)
    """
)


def test_concurrent_run_is_refused_naming_the_holder(tmp_path, capsys, no_data):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main([*TINY, "--out", str(out)]) == 2
        err = _one_line_error(capsys)
        assert f"pid {holder.pid}" in err and socket.gethostname() in err and "--out" in err
        # the lock is taken atomically too, not only probed: a second open() is refused
        with pytest.raises(RunFolderError, match=f"pid {holder.pid}"):
            RunFolder(out).open()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # a killed holder leaves its lock file but the kernel released the lock: usable again
    assert (out / LOCK_NAME).exists()
    with RunFolder(out):
        assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (out / LOCK_NAME).exists()


def test_without_flock_the_lock_file_is_created_exclusively(tmp_path, monkeypatch):
    monkeypatch.setattr(dante.run_folder, "fcntl", None)
    out = tmp_path / "run"
    out.mkdir()
    with RunFolder(out):
        with pytest.raises(RunFolderError, match=f"pid {os.getpid()}"):
            RunFolder(out).check()
        with pytest.raises(RunFolderError, match=f"pid {os.getpid()}"):
            RunFolder(out).open()
    assert not (out / LOCK_NAME).exists()
    # a lock left by a process that is gone (same host) is taken over
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    info = {"pid": int(dead.stdout), "host": socket.gethostname(), "started": "earlier"}
    (out / LOCK_NAME).write_text(json.dumps(info))
    with RunFolder(out):
        assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()


# --------------------------------------------------- results and --resume
def test_existing_results_need_overwrite_or_resume(tmp_path, capsys, no_data):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"earlier": true}\n')
    assert main([*TINY, "--out", str(out)]) == 2
    err = _one_line_error(capsys)
    assert "metrics.json" in err and "--overwrite" in err and "--resume" in err
    assert json.loads((out / "metrics.json").read_text()) == {"earlier": True}


def test_runs_started_in_the_same_second_get_their_own_default_folder(
    tmp_path, capsys, monkeypatch, no_fsync
):
    """Without --out a run writes to runs/<YYYYmmdd-HHMMSS>; the clock is frozen here, so
    every run asks for the same folder. The second gets <stamp>-2 (it used to be refused:
    the first folder holds results, or is locked while that run is still going), and a
    refused run leaves no empty folder behind."""
    monkeypatch.chdir(tmp_path)
    strftime, stamp = time.strftime, "20260101-120000"
    monkeypatch.setattr(
        time, "strftime", lambda fmt, *t: stamp if fmt == "%Y%m%d-%H%M%S" else strftime(fmt, *t)
    )
    runs = tmp_path / "runs"
    assert main(TINY) == 0
    assert f"wrote {Path('runs', stamp, 'metrics.json')}" in capsys.readouterr().out
    with RunFolder(runs / f"{stamp}-2"):  # a run in progress, locked, no results yet
        assert main(TINY) == 0
    assert f"wrote {Path('runs', stamp + '-3', 'metrics.json')}" in capsys.readouterr().out
    assert main([*TINY, "--resume"]) == 2  # refused (needs --out): makes no folder
    assert "--resume needs --out" in _one_line_error(capsys)
    assert sorted(p.name for p in runs.iterdir()) == [stamp, f"{stamp}-3"]
    for name in (stamp, f"{stamp}-3"):
        assert "sgd" in json.loads((runs / name / "metrics.json").read_text())["methods"]
        assert not (runs / name / LOCK_NAME).exists()


def test_overwrite_replaces_results_and_old_checkpoints(tmp_path, capsys, no_fsync):
    out = tmp_path / "run"
    args = [*TINY, "--out", str(out), "--checkpoint-every", "20"]
    assert main(args) == 0
    (out / "metrics.json").write_text('{"earlier": true}\n')
    # without --overwrite the old run's completed checkpoint would be refused (or resumed)
    assert main([*args, "--overwrite"]) == 0
    assert "sgd" in json.loads((out / "metrics.json").read_text())["methods"]
    assert not (out / LOCK_NAME).exists()  # released (and removed) when the command ends
    state = load_checkpoint(out / "checkpoints" / "sgd.pt")
    assert state["completed"] and state["position"]["stage"] == 0
    capsys.readouterr()
    assert main([*args, "--overwrite", "--resume"]) == 2
    assert "pass only one" in _one_line_error(capsys)


@pytest.mark.parametrize("flag", ["--resume", "--resume-if-present"])
def test_resume_needs_out_and_checkpoint_every(flag, tmp_path, capsys, monkeypatch, no_data):
    monkeypatch.chdir(tmp_path)
    assert main([*TINY, flag]) == 2
    assert f"{flag} needs --out" in _one_line_error(capsys)
    assert main([*TINY, flag, "--out", "x"]) == 2
    assert f"{flag} needs --checkpoint-every" in _one_line_error(capsys)
    assert not (tmp_path / "x").exists()


def test_resume_without_a_checkpoint_is_an_error(tmp_path, capsys, no_data):
    out = tmp_path / "typo"
    assert main([*TINY, "--out", str(out), "--checkpoint-every", "5", "--resume"]) == 2
    err = _one_line_error(capsys)
    assert "--out" in err and "no checkpoint" in err and "--resume-if-present" in err
    assert not out.exists()


def test_resume_if_present_starts_afresh_then_resumes(tmp_path, capsys, no_fsync):
    out = tmp_path / "run"
    args = [*TINY, "--out", str(out), "--checkpoint-every", "20", "--resume-if-present"]
    assert main(args) == 0
    first = json.loads((out / "metrics.json").read_text())
    assert main(args) == 0  # the finished checkpoint is read back, nothing retrained
    again = json.loads((out / "metrics.json").read_text())
    curves = [[c["train_loss"] for c in m["methods"]["sgd"]["curves"]] for m in (first, again)]
    assert curves[0] == curves[1]


# ------------------------------------------------------------- disk full
class _FullDisk:
    """A file object whose writes fail as on a full disk (the descriptor is real)."""

    def __init__(self, fh) -> None:
        self._fh = fh

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def test_full_disk_while_checkpointing_is_one_line_and_keeps_the_checkpoint(
    tmp_path, capsys, monkeypatch, no_fsync
):
    out = tmp_path / "run"
    ckpt = out / "checkpoints" / "sgd.pt"
    real_fdopen = os.fdopen
    calls: list[int] = []
    seen: dict[str, bytes] = {}

    def fdopen(fd, *args, **kwargs):  # every atomic write of this run until sgd.pt is done
        fh = real_fdopen(fd, *args, **kwargs)
        calls.append(fd)
        if len(calls) != 3:  # checkpoints at steps 5 and 10 are written, step 15 fails
            return fh
        seen["before"] = ckpt.read_bytes()
        return _FullDisk(fh)

    monkeypatch.setattr(dante.reporting.os, "fdopen", fdopen)
    assert main([*TINY, "--out", str(out), "--checkpoint-every", "5"]) == 1
    err = _one_line_error(capsys)
    assert str(ckpt) in err and "ENOSPC" in err
    assert ckpt.read_bytes() == seen["before"]  # bit-identical to the last good checkpoint
    state = load_checkpoint(ckpt)
    assert state["budget"]["steps"] == 10 and not state["completed"]
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["sgd.pt"]  # no temporary file
    assert not (out / LOCK_NAME).exists()


def test_full_disk_in_save_checkpoint_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"model": {"w": torch.arange(4.0)}})
    before = path.read_bytes()

    real_fdopen = os.fdopen
    monkeypatch.setattr(dante.reporting.os, "fdopen", lambda fd, *a: _FullDisk(real_fdopen(fd, *a)))
    with pytest.raises(OSError, match="ENOSPC") as info:
        save_checkpoint(path, {"model": {"w": torch.zeros(4)}})
    assert info.value.errno == errno.ENOSPC and str(path) in str(info.value)
    assert path.read_bytes() == before
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.arange(4.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


# ------------------------------------------------------ damaged checkpoints
@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "c.pt"
    save_checkpoint(path, {"model": {"w": torch.zeros(64, 64)}})
    return path.read_bytes()


@pytest.mark.parametrize("cut", ["empty", "10 bytes", "half", "all but 5 bytes", "end record"])
def test_truncated_or_empty_checkpoint_is_named_damaged(cut, good_checkpoint, tmp_path):
    n = len(good_checkpoint)
    path = tmp_path / "c.pt"
    if cut == "end record":  # whole length, but the zip's 22-byte end record overwritten
        path.write_bytes(good_checkpoint[:-22] + bytes(b ^ 0xFF for b in good_checkpoint[-22:]))
    else:
        keep = {"empty": 0, "10 bytes": 10, "half": n // 2, "all but 5 bytes": n - 5}[cut]
        path.write_bytes(good_checkpoint[:keep])
    with pytest.raises(ValueError, match="damaged") as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert str(path) in msg and "Fix:" in msg and len(msg.splitlines()) == 1


def test_cli_resume_from_a_truncated_checkpoint_is_one_line(good_checkpoint, tmp_path, capsys):
    out = tmp_path / "run"
    ckpt = out / "checkpoints" / "sgd.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(good_checkpoint[:-100])
    assert main([*TINY, "--out", str(out), "--checkpoint-every", "20", "--resume"]) == 2
    err = _one_line_error(capsys)
    assert str(ckpt) in err and "damaged" in err


@pytest.mark.parametrize(
    "content",
    [
        b"not a checkpoint",
        pickle.dumps({"a": 1}, protocol=2),
        pickle.dumps({"a": 1}, protocol=4),
        pickle.dumps(ValueError("x"), protocol=2),
    ],
    ids=["garbage", "pickle-2", "pickle-4", "pickled-object"],
)
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_refused_files_never_advise_weights_only_false(content, tmp_path):
    path = tmp_path / "c.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert str(path) in msg and len(msg.splitlines()) == 1
    assert "likely succeed" not in msg and "trusted source" not in msg
    assert "must not be loaded with weights_only=False" in msg
    assert "not a dante checkpoint" in msg or "unsafe" in msg


def test_a_checkpoint_from_before_a_new_config_field_still_resumes():
    # a field added to TrainConfig later (e.g. pair_order) is absent from an older checkpoint:
    # it stands for the default the older version ran with, so only a changed value differs
    from dante.checkpoint import config_differences
    from dante.config import make_config

    current = make_config().model_dump()
    old = {k: v for k, v in current.items() if k not in ("pair_order", "pair_max_rounds")}
    assert config_differences(old, current) == []
    changed = make_config(pair_order="encoder_first").model_dump()
    assert config_differences(old, changed) == [
        "pair_order (checkpoint 'decoder_first', now 'encoder_first')"
    ]


def test_reproduce_side_by_side_shares_cells(tmp_path, capsys):
    # reproduce locks each cell while it runs, not the whole --out: a second process skips the
    # cell the first one holds (naming it) and runs the others, so two shells share a spec
    from dante.experiments.persist import CellStore
    from dante.experiments.spec import load_spec
    from dante.experiments.training import cells

    out = tmp_path / "results"
    spec = load_spec("table3", quick=True)
    chosen = cells(spec)
    held = RunFolder(CellStore(out, spec, chosen[0]).root).open()
    try:
        assert main(["reproduce", "table3", "--quick", "--out", str(out)]) == 0
    finally:
        held.close()
    log = capsys.readouterr().out
    assert f"[{chosen[0].slug}] skipped, another process is running it" in log
    assert f"pid {os.getpid()}" in log
    summary = json.loads((out / "table3.json").read_text())
    assert chosen[0].slug in summary["missing"]  # not run here, so not in the summary
    # once the holder is gone, a rerun runs it
    assert main(["reproduce", "table3", "--quick", "--out", str(out)]) == 0
    assert not json.loads((out / "table3.json").read_text())["missing"]
