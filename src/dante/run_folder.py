"""The output folder of a command-line run: checked first, locked while in use.

``dante train --out DIR`` (and ``dante reproduce --out DIR``) write results,
checkpoints and figures into one folder. :class:`RunFolder` makes sure no work
is lost there:

* :meth:`RunFolder.check` runs before any data is loaded and creates nothing.
  It refuses a ``--out`` that is a file, lies under a file, is on a read-only
  file system or is not writable, and one that another run is using. For
  ``dante train`` it also applies the results policy: a folder that already
  holds ``metrics.json`` is refused unless ``--overwrite`` (start again) or
  ``--resume`` (continue) is given, and ``--resume`` without a checkpoint to
  continue from is an error (``--resume-if-present`` starts afresh instead).
* :meth:`RunFolder.open` runs once the arguments are known to be good, just
  before training: it creates the folder and takes an exclusive lock on the
  file ``.dante.lock`` inside it, which records the holder's pid, host and
  start time. A second run on the same folder is refused and told who holds
  it. The lock is ``fcntl.flock`` (released by the kernel when the process
  dies, so a killed run leaves no stale lock); where ``flock`` is unavailable
  (Windows, some network file systems) the lock file is created exclusively
  instead, and a lock left by a dead process on the same host is taken over.
* :meth:`RunFolder.close` releases the lock and removes the lock file.

Every refusal is a :class:`RunFolderError` (a ``ValueError``) whose one-line
message names the flag (``--out``), so the CLI reports it as
``dante: error: ...`` with exit status 2.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._new_folder import new_folder

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_NAME",
    "RESULTS_NAME",
    "RunFolder",
    "RunFolderBusy",
    "RunFolderError",
    "new_folder",
]

#: The lock file inside a run folder while a run uses it.
LOCK_NAME = ".dante.lock"
#: The results file whose presence means the folder holds a finished (or partial) run.
RESULTS_NAME = "metrics.json"

# errors of flock itself that mean "no flock here", not "someone holds it"
_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
if hasattr(errno, "ENOTSUP"):
    _NO_FLOCK.add(errno.ENOTSUP)


class RunFolderError(ValueError):
    """A run folder that cannot be used; the message is one line naming the flag."""


class RunFolderBusy(RunFolderError):
    """The folder is locked by another running dante process (named in the message)."""


def _holder_text(raw: str) -> str:
    """``pid N on host H since T`` from a lock file's content (or a plain fallback)."""
    try:
        info = json.loads(raw)
        return f"pid {int(info['pid'])} on host {info['host']} since {info['started']}"
    except (ValueError, KeyError, TypeError):
        return "a process that left no pid in the lock file"


def _read_holder(path: Path) -> tuple[str, dict[str, Any] | None]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError:
        return "a process whose lock file cannot be read", None
    try:
        info = json.loads(raw)
    except ValueError:
        info = None
    return _holder_text(raw), info if isinstance(info, dict) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else (EPERM), or cannot tell
        return True
    return True


class RunFolder:
    """A run's output folder: validated, guarded by a lock, and its results policy.

    Parameters
    ----------
    path : str or path
        The folder (``--out``).
    flag : str, default="--out"
        The option named in error messages.
    checkpoints : sequence of path, optional
        The checkpoint files a resumed run would continue from (``None``: the
        run writes no checkpoints). Only used with ``results_policy``.
    results_policy : bool, default=False
        Apply ``dante train``'s policy on existing results (``metrics.json``)
        and on ``overwrite``/``resume``/``resume_if_present``. ``dante
        reproduce`` skips finished cells by design and leaves this off.
    overwrite : bool, default=False
        Replace an earlier run's results: ``metrics.json`` is overwritten and
        the ``checkpoints`` of this run are deleted when the folder is opened.
    resume : bool, default=False
        Continue from ``checkpoints``; at least one must exist.
    resume_if_present : bool, default=False
        Continue from ``checkpoints`` when one exists, start afresh when none
        does (then an existing ``metrics.json`` still needs ``overwrite``).
    out_given : bool, default=True
        Whether the user named the folder (``resume`` needs it).
    made : sequence of path, default=()
        Folders made for this run before it was opened, innermost first (those
        of :func:`new_folder`); :meth:`close` removes them again if the run
        left them empty, as it does the folders :meth:`open` creates.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        flag: str = "--out",
        checkpoints: Sequence[str | os.PathLike] | None = None,
        results_policy: bool = False,
        overwrite: bool = False,
        resume: bool = False,
        resume_if_present: bool = False,
        out_given: bool = True,
        made: Sequence[str | os.PathLike] = (),
    ) -> None:
        self.path = Path(path)
        self.flag = flag
        self.checkpoints = None if checkpoints is None else [Path(c) for c in checkpoints]
        self.results_policy = results_policy
        self.overwrite = overwrite
        self.resume = resume
        self.resume_if_present = resume_if_present
        self.out_given = out_given
        self._fd: int | None = None
        # folders made for this run (by new_folder, then open()), removed again if left empty
        self._created: list[Path] = [Path(m) for m in made]
        self._flock = False

    # ------------------------------------------------------------ messages
    def _error(self, what: str) -> RunFolderError:
        return RunFolderError(f"{self.flag} {str(self.path)!r} {what}")

    def _os_error(self, exc: OSError, where: Path) -> RunFolderError:
        """An ``OSError`` met while creating the folder or its lock, as one line."""
        if exc.errno == errno.EROFS:
            return self._error(
                f"is on a read-only file system ({where}); choose another {self.flag}"
            )
        if exc.errno in (errno.EACCES, errno.EPERM):
            return self._error(f"is not writable (permission denied on {where})")
        if exc.errno in (errno.ENOTDIR, errno.EEXIST):
            return self._error(f"cannot be a folder: {where} is a file")
        code = errno.errorcode.get(exc.errno or 0, "error")
        return self._error(f"cannot be used: {where}: {exc.strerror or exc} ({code})")

    # --------------------------------------------------------------- check
    def check(self) -> bool:
        """Everything that can be checked without writing; return whether to resume.

        Creates nothing, so it can run before the arguments are fully
        validated and before any data is loaded.

        Returns
        -------
        bool
            Whether the run continues from its checkpoints.

        Raises
        ------
        RunFolderError
            The folder is a file or lies under one, is on a read-only file
            system, is not writable, is locked by another run, or the results
            policy refuses it (see the class description).
        """
        self._check_writable()
        self._check_not_locked()
        return self._resolve_resume() if self.results_policy else False

    def _check_writable(self) -> None:
        path = self.path
        if path.exists() and not path.is_dir():
            raise self._error("is an existing file, not a folder; choose a folder path")
        existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
        if not existing.is_dir():
            raise self._error(f"cannot be a folder: its parent {str(existing)!r} is a file")
        if hasattr(os, "statvfs"):
            try:
                read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
            except OSError:
                read_only = False
            if read_only:
                raise self._error(
                    f"is on a read-only file system ({existing}); choose another {self.flag}"
                )
        if not os.access(existing, os.W_OK | os.X_OK):
            raise self._error(f"is not writable (permission denied on {existing})")

    def _check_not_locked(self) -> None:
        """Refuse a folder whose lock is held, without creating or taking it."""
        lock = self.path / LOCK_NAME
        if not lock.is_file():
            return
        if fcntl is None:  # exclusive-create fallback: the file is the lock
            holder, info = _read_holder(lock)
            if not self._stale(info):
                raise self._in_use(holder)
            return
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            return  # cannot tell here; open() decides
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self._in_use(_read_holder(lock)[0]) from None
            except OSError:
                return  # no flock on this file system; open() uses the fallback
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _in_use(self, holder: str) -> RunFolderBusy:
        return RunFolderBusy(
            f"{self.flag} {str(self.path)!r} is in use by another dante run ({holder}; lock "
            f"file {LOCK_NAME}); wait for it to finish or choose another {self.flag}"
        )

    def _resolve_resume(self) -> bool:
        if self.overwrite and (self.resume or self.resume_if_present):
            raise RunFolderError(
                "--overwrite starts the run again and --resume continues it; pass only one"
            )
        if self.resume and self.resume_if_present:
            raise RunFolderError("pass --resume or --resume-if-present, not both")
        want = "--resume" if self.resume else "--resume-if-present"
        if (self.resume or self.resume_if_present) and not self.out_given:
            raise RunFolderError(f"{want} needs --out DIR, the folder of the run to continue")
        if (self.resume or self.resume_if_present) and self.checkpoints is None:
            raise RunFolderError(
                f"{want} needs --checkpoint-every K (the checkpoints to continue from)"
            )
        found = [c for c in self.checkpoints or [] if c.exists()]
        if self.resume:
            if not found:
                names = ", ".join(str(c.relative_to(self.path)) for c in self.checkpoints or [])
                raise self._error(
                    f"holds no checkpoint to resume from (looked for {names}); check the path, "
                    f"or pass --resume-if-present to start afresh when there is none"
                )
            return True
        if self.resume_if_present and found:
            return True
        if (self.path / RESULTS_NAME).exists() and not self.overwrite:
            raise self._error(
                f"already holds results ({RESULTS_NAME}); pass --overwrite to replace them, "
                f"--resume to continue that run, or choose another {self.flag}"
            )
        return False

    @staticmethod
    def _stale(info: dict[str, Any] | None) -> bool:
        """Whether an exclusive-create lock was left by a dead process on this host."""
        if info is None:
            return False
        try:
            pid = int(info["pid"])
        except (KeyError, TypeError, ValueError):
            return False
        return info.get("host") == socket.gethostname() and not _pid_alive(pid)

    # ---------------------------------------------------------------- open
    def open(self, main: bool = True) -> RunFolder:
        """Create the folder and take its lock (``main``); delete old checkpoints on overwrite.

        Parameters
        ----------
        main : bool, default=True
            Whether this process owns the folder. In a data-parallel run only
            rank 0 does; the other ranks neither lock nor delete anything.

        Returns
        -------
        RunFolder
            ``self``.

        Raises
        ------
        RunFolderError
            The folder cannot be created or written (read-only file system,
            permission denied, a file in the way) or another run holds it.
        """
        if not main or self._fd is not None:
            return self
        new = [p for p in (self.path, *self.path.parents) if not p.exists()]
        self._created = [*new, *self._created]
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._os_error(exc, self.path) from None
        if fcntl is not None:
            try:
                self._open_flock()
            except _NoFlock:
                self._open_exclusive()
        else:  # pragma: no cover - Windows
            self._open_exclusive()
        if self.results_policy and self.overwrite and not self.resume:
            for c in self.checkpoints or []:
                c.unlink(missing_ok=True)
        return self

    def _holder_record(self) -> bytes:
        started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
        return (json.dumps(info) + "\n").encode("utf-8")

    def _open_flock(self) -> None:
        lock = self.path / LOCK_NAME
        for _ in range(10):  # a holder may remove the file between our open and our flock
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise self._os_error(exc, lock) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise self._in_use(_read_holder(lock)[0]) from None
            except OSError as exc:
                os.close(fd)
                if exc.errno in _NO_FLOCK:
                    raise _NoFlock from None
                raise self._os_error(exc, lock) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # we locked a file its holder has just removed: try again
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.write(fd, self._holder_record())
            except OSError as exc:
                os.close(fd)
                raise self._os_error(exc, lock) from None
            self._fd, self._flock = fd, True
            return
        raise self._error(f"cannot be locked: {LOCK_NAME} keeps changing")  # pragma: no cover

    def _open_exclusive(self) -> None:
        lock = self.path / LOCK_NAME
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder, info = _read_holder(lock)
                if not self._stale(info):
                    raise self._in_use(holder) from None
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                continue
            except OSError as exc:
                raise self._os_error(exc, lock) from None
            try:
                os.write(fd, self._holder_record())
            except OSError as exc:
                os.close(fd)
                lock.unlink(missing_ok=True)
                raise self._os_error(exc, lock) from None
            self._fd, self._flock = fd, False
            return
        raise self._in_use(_read_holder(lock)[0])

    # --------------------------------------------------------------- close
    def close(self) -> None:
        """Release the lock and remove the lock file (when held); remove the folders
        made for the run (``made``, and by :meth:`open`) if the run left them empty."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):  # removed while held: the next run makes it anew
                (self.path / LOCK_NAME).unlink()
            os.close(fd)  # closing the descriptor releases the flock
        for folder in self._created:  # a run that wrote nothing leaves no empty folder behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._created = []

    def __enter__(self) -> RunFolder:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a folder dropped without close() does not stay locked
        with contextlib.suppress(Exception):
            self.close()


class _NoFlock(Exception):
    """``flock`` is not supported on this file system."""
