"""Geometry of the training path in weight space (``003`` Secs. 6.3 and 6.5).

Section 6.5 reports, between the initial net ``B`` and the trained net ``A``,
the change of the weight norm (the dilation ``||A|| / ||B||``, Figs. 6.5.2
and 6.5.3) and the angular deflection ``alpha = angle(A, B)`` (Figs. 6.5.1
and 6.F.1); :func:`layer_geometry` gives both for the whole weight vector and
for each layer. :func:`cone_cluster` builds the initial cluster
``{B_{lambda*, j}}`` of Theorem 6.3.1: nets of the same norm as ``B`` within
the cone of half-angle ``0.01 lambda*`` around it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: ``Lambda = {1, ..., 314}``: the angle grid of Definition 26 (angles ``0.01 lambda``)
ANGLE_GRID = 314

__all__ = ["ANGLE_GRID", "angle", "cone_cluster", "lambda_star", "layer_geometry"]


def angle(u: np.ndarray, v: np.ndarray) -> float:
    """Angle in radians between two arrays read as flat vectors (``arccos`` of the cosine)."""
    a = np.asarray(u, dtype=np.float64).ravel()
    b = np.asarray(v, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"u and v must have the same size, got {a.size} and {b.size}")
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        raise ValueError("u and v must be non-zero: the angle to a zero vector is undefined")
    return math.acos(min(1.0, max(-1.0, float(a @ b) / (na * nb))))


def _flat(net: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in net])


def lambda_star(trained: Sequence[np.ndarray], init: Sequence[np.ndarray]) -> int:
    """``lambda* = argmin_{lambda in 1..314} |0.01 lambda - alpha|`` (Theorem 6.3.1)."""
    alpha = angle(_flat(trained), _flat(init))
    return int(np.clip(round(alpha / 0.01), 1, ANGLE_GRID))


def layer_geometry(init: Sequence[np.ndarray], trained: Sequence[np.ndarray]) -> dict[str, Any]:
    """Norm change and angular deflection from ``init`` (``B``) to ``trained`` (``A``).

    Returns
    -------
    dict
        ``norm_init``, ``norm_trained`` (2-norms of the whole weight vectors,
        i.e. the root of the summed squared Frobenius norms), ``dilation``
        (their ratio), ``angle`` (``alpha``, radians), and per layer lists
        ``layer_norm_init``, ``layer_norm_trained``, ``layer_dilation``,
        ``layer_angle`` (Frobenius norms and angles of each ``W_l``).
    """
    if len(init) != len(trained) or not len(init):
        raise ValueError(f"init, trained hold {len(init)}, {len(trained)} layers")
    b, a = _flat(init), _flat(trained)
    if a.shape != b.shape:
        raise ValueError("init and trained must have the same layer shapes")
    nb = [float(np.linalg.norm(np.asarray(w, dtype=np.float64))) for w in init]
    na = [float(np.linalg.norm(np.asarray(w, dtype=np.float64))) for w in trained]
    return {
        "norm_init": float(np.linalg.norm(b)),
        "norm_trained": float(np.linalg.norm(a)),
        "dilation": float(np.linalg.norm(a) / np.linalg.norm(b)),
        "angle": angle(a, b),
        "layer_norm_init": nb,
        "layer_norm_trained": na,
        "layer_dilation": [x / y for x, y in zip(na, nb, strict=True)],
        "layer_angle": [angle(wa, wb) for wa, wb in zip(trained, init, strict=True)],
    }


def cone_cluster(
    init: Sequence[np.ndarray], half_angle: float, k: int, rng: np.random.Generator
) -> list[list[np.ndarray]]:
    """``k`` nets of the norm of ``init`` at angle ``half_angle`` from it.

    Definition 26 asks for ``k_1`` distinct nets "within a conical half-angle
    of ``0.01 lambda``" around ``B`` and Sec. 6.1.1 for "the same norm as
    ``B``"; how they are spread inside the cone is not stated. Here each is
    ``||B|| (cos t B/||B|| + sin t u)`` with ``t = half_angle`` (on the cone's
    surface) and ``u`` a uniformly random unit direction orthogonal to ``B``.

    Parameters
    ----------
    init : sequence of ndarray
        ``B``'s layer matrices.
    half_angle : float
        In ``[0, pi]`` radians.
    k : int
        Number of nets, >= 1.
    rng : numpy.random.Generator
    """
    if not (0 <= half_angle <= math.pi):
        raise ValueError(f"half_angle must lie in [0, pi], got {half_angle!r}")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    shapes = [np.asarray(w).shape for w in init]
    b = _flat(init)
    norm = float(np.linalg.norm(b))
    if norm == 0:
        raise ValueError("init must be non-zero")
    e = b / norm
    out = []
    for _ in range(int(k)):
        u = rng.standard_normal(b.size)
        u -= (u @ e) * e
        u /= np.linalg.norm(u)
        v = norm * (math.cos(half_angle) * e + math.sin(half_angle) * u)
        net, pos = [], 0
        for s in shapes:
            n = int(np.prod(s))
            net.append(v[pos : pos + n].reshape(s))
            pos += n
        out.append(net)
    return out
