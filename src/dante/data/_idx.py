"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["read_idx"]

_MAGIC = {0x00000801: 1, 0x00000803: 3}  # labels (n,), images (n, rows, cols)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) of unsigned bytes.

    Raises
    ------
    ValueError
        Wrong magic number, or fewer bytes than the header promises.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read IDX file ({exc})") from None
    if len(raw) < 8:
        raise ValueError(f"{path}: truncated IDX file ({len(raw)} bytes, no header)")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in _MAGIC:
        raise ValueError(
            f"{path}: wrong magic number 0x{magic:08x}; expected 0x00000801 (labels) or "
            "0x00000803 (images) of an unsigned-byte IDX file"
        )
    ndim = _MAGIC[magic]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims))
    if len(raw) - header < count:
        raise ValueError(
            f"{path}: truncated IDX file: header promises {count} values of shape {tuple(dims)}, "
            f"found {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, count=count, offset=header).reshape(dims)
