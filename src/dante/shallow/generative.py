"""Seeded generators for the bilinear model ``y = A x* + eta`` with a known ground truth.

Nguyen, Wong and Hegde (``004_4ea39d312f58ea24.txt``, Sec. 2.2, assumptions A1-A4)
and the sparse-coding chapter of the Mukherjee thesis (``003_a707f9d83869f5a2.txt``,
Ch. 4.2) both draw data from

    y = A x* + eta,   A in R^{n x m} with unit-norm, mu-incoherent columns,
    eta ~ N(0, s^2 I),

with one of three code models:

* ``"mixture"`` - mixture of spherical Gaussians: ``x* = e_i`` with probability
  ``p_i`` (``k = 1``, ``kappa_1 = kappa_2 = a_1 = a_2 = 1``);
* ``"sparse"`` - ``k``-sparse coding: support of size ``k`` drawn uniformly,
  nonzeros sub-Gaussian with ``|x_i| >= a1`` and ``E x_i = 0``, ``E x_i^2 = 1``;
* ``"nonneg_sparse"`` - non-negative sparse coding: support of size ``k`` drawn
  uniformly, nonzeros ``U[a1, a2]`` (the thesis: ``k = h^p``, ``U[1, 10]``).

Samples are returned as **rows** (``Y`` has shape ``(N, n)``, ``X`` shape
``(N, m)``), the convention of :mod:`dante`. A :class:`BilinearModel` owns a
``numpy.random.Generator``: every call of :meth:`BilinearModel.sample` or every
item of :meth:`BilinearModel.batches` is a fresh draw, and two models built
with the same seed produce the same stream.

Choices left open by the papers (documented here, tested in
``tests/test_recovery.py``):

* The dictionary is Gaussian with normalised columns (NWH Sec. 6 draws
  ``A_i ~ N(0, I/sqrt(n))``; the scale is irrelevant after normalisation, which
  A1-A4 require anyway).
* Sparse supports have exactly ``k`` elements, uniform over all ``k``-subsets
  (the thesis's special case of ``D_S``; NWH A1 allows "at most ``k``").
* Sub-Gaussian nonzeros of ``"sparse"``: a Rademacher sign times a magnitude
  ``U[a1, c]`` with ``c = (-a1 + sqrt(12 - 3 a1^2)) / 2`` so that
  ``E x_i^2 = kappa_2 = 1`` (bounded, hence sub-Gaussian; needs ``0 < a1 <= 1``,
  which NWH note follows from ``kappa_2 = 1``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CODE_MODELS",
    "BilinearModel",
    "incoherence",
    "normalize_columns",
    "random_dictionary",
    "sparse_magnitude_upper",
]

#: names accepted by :class:`BilinearModel` (``code=``)
CODE_MODELS = ("mixture", "sparse", "nonneg_sparse")


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        kind = type(seed).__name__
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {kind}")
    return np.random.default_rng(seed)


def _pos_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def normalize_columns(B: np.ndarray) -> np.ndarray:
    """Return ``B`` with every column scaled to unit Euclidean norm.

    The ``normalize(.)`` operator of Theorem 4 in ``004_4ea39d312f58ea24.txt``.

    Raises
    ------
    ValueError
        If ``B`` is not 2-D or has an all-zero (or non-finite) column.
    """
    B = np.asarray(B, dtype=float)
    if B.ndim != 2:
        raise ValueError(f"B must be a 2-D matrix, got shape {B.shape}")
    norms = np.linalg.norm(B, axis=0)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        bad = np.flatnonzero(~np.isfinite(norms) | (norms == 0)).tolist()
        raise ValueError(f"B has zero or non-finite columns {bad}; normalize needs nonzero columns")
    return B / norms


def random_dictionary(n: int, m: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Gaussian dictionary ``A in R^{n x m}`` with unit-norm columns.

    NWH Sec. 6 (``004_4ea39d312f58ea24.txt``) and thesis Sec. 4.6
    (``003_a707f9d83869f5a2.txt``): "random gaussian dictionaries", columns
    normalised (Definition 1 needs unit columns).
    """
    n = _pos_int(n, "n")
    m = _pos_int(m, "m")
    rng = _rng(seed)
    return normalize_columns(rng.standard_normal((n, m)))


def incoherence(A: np.ndarray) -> float:
    """``mu = sqrt(n) max_{i != j} |<A_i, A_j>|`` (Definition 1 of ``004``).

    ``A`` must have unit-norm columns (checked to 1e-6). Returns 0 for one column.
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2:
        raise ValueError(f"A must be a 2-D matrix, got shape {A.shape}")
    if not np.allclose(np.linalg.norm(A, axis=0), 1.0, atol=1e-6):
        raise ValueError("A must have unit-norm columns; pass normalize_columns(A)")
    n, m = A.shape
    if m < 2:
        return 0.0
    G = np.abs(A.T @ A)
    np.fill_diagonal(G, 0.0)
    return float(np.sqrt(n) * G.max())


def sparse_magnitude_upper(a1: float) -> float:
    """Upper end ``c`` of ``|x_i| ~ U[a1, c]`` giving ``E x_i^2 = 1`` (see module notes)."""
    if not 0.0 < a1 <= 1.0:
        raise ValueError(f"a1 must be in (0, 1] for the standardized sparse model, got {a1}")
    return float((-a1 + np.sqrt(12.0 - 3.0 * a1 * a1)) / 2.0)


@dataclass
class BilinearModel:
    """Generator of ``y = A x* + eta`` (NWH eq. (3); thesis Ch. 4.2).

    Parameters
    ----------
    A : ndarray, shape (n, m)
        Ground-truth dictionary with unit-norm columns.
    code : {"mixture", "sparse", "nonneg_sparse"}
        Code model (module docstring).
    k : int, default=1
        Support size for the sparse models (ignored, and 1, for ``"mixture"``).
    a1, a2 : float
        Magnitude bounds: ``"sparse"`` uses ``|x_i| >= a1`` (``a2`` unused, the
        upper end is fixed by ``E x_i^2 = 1``); ``"nonneg_sparse"`` draws
        ``U[a1, a2]``. Defaults ``a1 = 1, a2 = 10`` (thesis Sec. 4.6); for
        ``"sparse"`` pass ``a1 <= 1``.
    noise_std : float, default=0.0
        ``s`` of ``eta ~ N(0, s^2 I)``.
    probs : sequence of float, optional
        Mixture weights ``p_i`` (default uniform).
    seed : int or numpy Generator, optional
        Seeds the stream of samples.

    Examples
    --------
    >>> A = random_dictionary(20, 5, seed=0)
    >>> gen = BilinearModel(A, "nonneg_sparse", k=2, seed=1)
    >>> Y, X = gen.sample(4)
    >>> Y.shape, X.shape, int((X != 0).sum(axis=1).max())
    ((4, 20), (4, 5), 2)
    """

    A: np.ndarray
    code: str = "mixture"
    k: int = 1
    a1: float = 1.0
    a2: float = 10.0
    noise_std: float = 0.0
    probs: Sequence[float] | None = None
    seed: int | np.random.Generator | None = None

    def __post_init__(self) -> None:
        A = np.asarray(self.A, dtype=float)
        if A.ndim != 2:
            raise ValueError(f"A must be a 2-D (n, m) matrix, got shape {A.shape}")
        if not np.allclose(np.linalg.norm(A, axis=0), 1.0, atol=1e-6):
            raise ValueError("A must have unit-norm columns; pass normalize_columns(A)")
        self.A = A
        if self.code not in CODE_MODELS:
            raise ValueError(f"code must be one of {CODE_MODELS}, got {self.code!r}")
        m = A.shape[1]
        if self.code == "mixture":
            self.k = 1
        else:
            self.k = _pos_int(self.k, "k")
            if self.k > m:
                raise ValueError(f"k must be <= m = {m} (support size), got {self.k}")
        if not np.isfinite(self.noise_std) or self.noise_std < 0:
            raise ValueError(f"noise_std must be a finite number >= 0, got {self.noise_std}")
        if self.code == "sparse":
            self._upper = sparse_magnitude_upper(self.a1)
        elif self.code == "nonneg_sparse":
            if not (np.isfinite(self.a1) and np.isfinite(self.a2) and 0 < self.a1 <= self.a2):
                raise ValueError(f"need 0 < a1 <= a2 < inf, got a1={self.a1}, a2={self.a2}")
        if self.probs is not None:
            p = np.asarray(self.probs, dtype=float)
            if self.code != "mixture":
                raise ValueError("probs applies only to code='mixture'")
            if p.shape != (m,) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
                raise ValueError(f"probs must be {m} non-negative weights summing to 1")
            self._probs = p
        else:
            self._probs = None
        self._rng = _rng(self.seed)

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def m(self) -> int:
        return self.A.shape[1]

    def sample_codes(self, N: int) -> np.ndarray:
        """``N`` fresh codes ``x*`` as rows, shape ``(N, m)``."""
        N = _pos_int(N, "N")
        rng, m, k = self._rng, self.m, self.k
        X = np.zeros((N, m))
        if self.code == "mixture":
            idx = rng.choice(m, size=N, p=self._probs)
            X[np.arange(N), idx] = 1.0
            return X
        # uniform k-subsets: the k smallest of m iid uniforms per row
        supp = np.argpartition(rng.random((N, m)), k - 1, axis=1)[:, :k]
        rows = np.repeat(np.arange(N), k)
        if self.code == "nonneg_sparse":
            vals = rng.uniform(self.a1, self.a2, size=N * k)
        else:
            mags = rng.uniform(self.a1, self._upper, size=N * k)
            vals = mags * rng.choice((-1.0, 1.0), size=N * k)
        X[rows, supp.ravel()] = vals
        return X

    def sample(self, N: int) -> tuple[np.ndarray, np.ndarray]:
        """``N`` fresh samples: ``(Y, X)`` with ``Y = X A^T + eta`` (rows)."""
        X = self.sample_codes(N)
        Y = X @ self.A.T
        if self.noise_std > 0:
            Y = Y + self.noise_std * self._rng.standard_normal(Y.shape)
        return Y, X

    def batches(self, batch_size: int, n_batches: int | None = None) -> Iterator[np.ndarray]:
        """Iterator of fresh batches ``Y`` (``n_batches`` of them, or forever)."""
        batch_size = _pos_int(batch_size, "batch_size")
        if n_batches is not None:
            n_batches = _pos_int(n_batches, "n_batches")
        count = 0
        while n_batches is None or count < n_batches:
            yield self.sample(batch_size)[0]
            count += 1
