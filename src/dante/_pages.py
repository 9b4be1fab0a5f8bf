"""Keep memory-mapped training data out of the resident set.

Reading a NumPy memory map maps its pages into the process, and mapped file
pages count toward the resident set size (RSS) until they are unmapped. A
1,000,000 x 784 float32 memory map (3.1 GB) read once per epoch would thus
end up wholly resident, although nothing was copied. :class:`PageReleaser`
calls ``madvise(MADV_DONTNEED)`` on the mapping once the process holds
``every`` more bytes of file-backed pages, so the pages go back to the
kernel's page cache (re-reads are cheap) and the process keeps only what it
is using.

How much a read maps is the kernel's business, not the bytes read: on Linux
one random 3 KB row can map a whole large folio (measured ~650 KB), so a
100-row minibatch maps tens of MB. The releaser therefore measures: on Linux
it reads the resident file-backed pages from ``/proc/self/statm`` at every
tick (a few microseconds); elsewhere it falls back to counting the bytes the
caller says it read.
"""

from __future__ import annotations

import mmap
from typing import Any

__all__ = ["FAULT_AROUND", "RELEASE_EVERY", "PageReleaser", "find_mmap"]

#: Bytes read between two releases.
RELEASE_EVERY = 64 << 20

#: Bytes the kernel maps around one page fault of a file mapping (Linux's
#: default ``fault_around_bytes``): the least a randomly read row costs in RSS
#: (the byte-counting fallback charges it per row).
FAULT_AROUND = 64 << 10

_PAGE = mmap.PAGESIZE


def _file_resident_bytes() -> int | None:
    """Resident file-backed bytes of this process (Linux), else ``None``."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[2]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def find_mmap(obj: Any) -> mmap.mmap | None:
    """The ``mmap.mmap`` under a NumPy array or torch tensor, if any."""
    try:
        import torch

        if isinstance(obj, torch.Tensor):
            return None  # torch keeps no reference to the numpy base we could walk
    except ImportError:  # pragma: no cover
        pass
    for _ in range(16):
        if obj is None:
            return None
        if isinstance(obj, mmap.mmap):
            return obj
        mm = getattr(obj, "_mmap", None)
        if isinstance(mm, mmap.mmap):
            return mm
        obj = getattr(obj, "base", None)
    return None


class PageReleaser:
    """Count bytes read from a memory-mapped array and release its pages.

    A no-op for arrays that are not memory-mapped (or where ``madvise`` is
    unavailable), so callers need no special case.
    """

    def __init__(self, array: Any, every: int = RELEASE_EVERY) -> None:
        self._mm = find_mmap(array)
        if self._mm is not None and not hasattr(self._mm, "madvise"):  # pragma: no cover
            self._mm = None
        self.every = every
        self._pending = 0
        self._base = _file_resident_bytes() if self._mm is not None else None
        if self._mm is not None:
            # minibatches read rows at random: no read-around on page faults
            # (it made one 100-row gather map ~80 MB)
            try:
                self._mm.madvise(mmap.MADV_RANDOM)
            except (OSError, ValueError, AttributeError):  # pragma: no cover
                pass

    @property
    def active(self) -> bool:
        """Whether the array is memory-mapped."""
        return self._mm is not None

    def tick(self, nbytes: int) -> None:
        """After a read of ``nbytes``: release the pages once the process holds
        ``every`` more bytes of file pages than after the last release
        (measured; where it cannot be measured, once ``nbytes`` add up to it)."""
        if self._mm is None:
            return
        if self._base is not None:
            now = _file_resident_bytes()
            if now is not None:
                if now - self._base >= self.every:
                    self.release()
                return
        self._pending += nbytes
        if self._pending >= self.every:
            self.release()

    def release(self) -> None:
        """Unmap the resident pages now (the data stays in the page cache)."""
        if self._mm is None:
            return
        self._pending = 0
        try:
            self._mm.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):  # closed map or unsupported platform
            self._mm = None
        if self._base is not None:
            self._base = _file_resident_bytes()
