"""Metrics files, summary tables and curves shared by the CLI and experiments.

Every figure uses the papers' x-axis, the number of weights updated
(``001_1787bf99fca4a9f2.txt``, Sec. 4), so that DANTE, which updates one
block per step, and backprop, which updates all weights, are compared on
equal work.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "plot_curves",
    "summary_table",
    "write_json",
]


def _new_file_mode() -> int:
    """The permissions ``open()`` would give a new file (0666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one.

    The bytes go to a temporary file in the same folder, are flushed and
    ``fsync``-ed, and the file is renamed over ``path`` (``os.replace`` is
    atomic on POSIX and Windows); the folder is then ``fsync``-ed so the rename
    itself survives a power cut. A failure removes the temporary file and
    leaves ``path`` as it was.

    Raises
    ------
    OSError
        The write failed (a full disk, a read-only file system, ...). When the
        error has an ``errno``, the message names ``path`` and the error code,
        e.g. ``could not write 'run/c.pt': No space left on device (ENOSPC)``.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.chmod(tmp, _new_file_mode())  # mkstemp's 0600 would hide the file from others
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None:
            code = errno.errorcode.get(exc.errno, str(exc.errno))
            raise OSError(
                exc.errno,
                f"could not write {str(path)!r}: {exc.strerror or exc} ({code}); the previous "
                f"version of the file, if any, is left as it was",
            ) from exc
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover - file systems that refuse directory fsync
        pass
    finally:
        os.close(dir_fd)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON atomically (NaN written as null)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and v != v:
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    atomic_write_text(path, json.dumps(clean(data), indent=1) + "\n")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.4f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


_COLUMNS = (
    ("method", "method"),
    ("lr", "lr"),
    ("train_loss", "train loss"),
    ("test_loss", "test loss"),
    ("test_accuracy", "test acc"),
    ("weights_updated", "weights updated"),
    ("wall_seconds", "wall s"),
)


def summary_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """A markdown table with one row per method (from ``TrainResult.to_dict()``)."""
    cols = [c for c in _COLUMNS if any(_value(r, c[0], m) is not None for m, r in results.items())]
    lines = [
        "| " + " | ".join(h for _, h in cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for method, res in results.items():
        lines.append("| " + " | ".join(_fmt(_value(res, k, method)) for k, _ in cols) + " |")
    return "\n".join(lines)


def _value(res: Mapping[str, Any], key: str, method: str) -> Any:
    if key == "method":
        return method
    if key == "lr":
        return res.get("config", {}).get("lr")
    return res.get(key)


_COLORS = {"dante": "tab:blue", "sgd": "tab:green"}


def plot_curves(
    results: Mapping[str, Mapping[str, Any]], out_dir: str | os.PathLike, title: str = ""
) -> list[Path]:
    """Plot loss and accuracy against weights updated; return the PNG paths.

    DANTE is blue and SGD green, as in the paper's figures.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    panels = [("loss", ("train_loss", "test_loss")), ("accuracy", ("test_accuracy",))]
    written = []
    for name, keys in panels:
        if not any(k in c for r in results.values() for c in r["curves"] for k in keys):
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for method, res in results.items():
            curves = res["curves"]
            x = [c["weights_updated"] for c in curves]
            for k in keys:
                ys = [c.get(k) for c in curves]
                if all(v is None for v in ys):
                    continue
                style = "-" if k.startswith("test") or name == "accuracy" else "--"
                ax.plot(
                    x, ys, style, color=_COLORS.get(method), label=f"{method} {k.replace('_', ' ')}"
                )
        ax.set_xlabel("weights updated")
        ax.set_ylabel(name)
        if name == "loss":
            ax.set_yscale("log")
        ax.set_title(title or name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        tmp = out_dir / f".{name}.png.tmp"
        fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        os.replace(tmp, path)
        written.append(path)
    return written
