"""Stored reconstructions at display precision: 8-bit images, base64.

The autoencoder experiments keep the reconstructions of ten test images per
run for their figures (Figure 9 of ``001_1787bf99fca4a9f2.txt``, Table 4's
and the workshop paper ``000_16cd8e47eb5a686b.txt``'s autoencoders). They are
only ever drawn: :mod:`dante.experiments.plotting` clips each pixel to
[0, 1] and shows it through matplotlib's 256-level grey colour map, so an
8-bit grey level (an error of at most 1/510) is exactly what a figure can
show. Stored as JSON float lists, one value per line, they were most of the
``results/`` tree (36 of its 47 MB; a device session must carry the tree in
64 MiB). Each image is now one base64 string of its 8-bit pixels.

:func:`encode_images` is what the runner stores, :func:`decode_image` what
the plots read (it also reads the float lists of results written before), and
:func:`slim_results` rewrites such earlier results, touching nothing but the
``reconstructions`` entries.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..reporting import write_json

__all__ = ["decode_image", "encode_images", "slim_results"]


def encode_images(images: Any) -> list[str]:
    """One base64 string per image (row) of 8-bit pixels.

    Parameters
    ----------
    images : array-like of shape (n_images, n_pixels)
        Pixel values; clipped to [0, 1] (as the plots do) and rounded to the
        nearest of 256 grey levels.

    Returns
    -------
    list of str
    """
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"images must be 2-D (n_images, n_pixels), got shape {arr.shape}")
    levels = np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in levels]


def decode_image(image: str | list) -> np.ndarray:
    """Pixels in [0, 1] of one stored image (a base64 string, or a float list
    of results written before :func:`encode_images`)."""
    if isinstance(image, str):
        return np.frombuffer(base64.b64decode(image), dtype=np.uint8) / 255.0
    return np.asarray(image, dtype=np.float64)


def _is_float_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], list)


def _slim(node: Any) -> tuple[Any, bool]:
    """``node`` with every ``reconstructions`` entry's float rows encoded."""
    if isinstance(node, dict):
        out, changed = {}, False
        for key, value in node.items():
            if key == "reconstructions" and isinstance(value, dict):
                enc = {k: encode_images(v) if _is_float_rows(v) and k != "feature_shape" else v
                       for k, v in value.items()}  # fmt: skip
                changed |= enc != value
                value = enc
            else:
                value, sub = _slim(value)
                changed |= sub
            out[key] = value
        return out, changed
    if isinstance(node, list):
        items = [_slim(v) for v in node]
        return [v for v, _ in items], any(c for _, c in items)
    return node, False


def slim_results(root: str | Path) -> list[Path]:
    """Encode the stored reconstructions of every JSON file under ``root``.

    Parameters
    ----------
    root : str or pathlib.Path
        A results folder (searched recursively) or one JSON file.

    Returns
    -------
    list of pathlib.Path
        The files rewritten (atomically, in the runner's layout); files
        without float-list reconstructions are left byte for byte.
    """
    root = Path(root)
    paths = [root] if root.is_file() else sorted(root.rglob("*.json"))
    done = []
    for path in paths:
        text = path.read_text()
        if '"reconstructions"' not in text:
            continue
        data, changed = _slim(json.loads(text))
        if changed:
            write_json(path, data)
            done.append(path)
    return done
