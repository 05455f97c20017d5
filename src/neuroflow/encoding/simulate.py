"""Simulated encoding sets with a known answer: autocorrelated features and pure-noise
targets, where every voxel's true encoding score is zero (the calibration case of the
permutation nulls, used by tests/test_encoding_statistics.py and bench/bench_encoding.py)."""

from __future__ import annotations

import numpy as np

from neuroflow.encoding.features import fir_design


def ar1_noise(rng: np.random.Generator, n: int, k: int, phi: float) -> np.ndarray:
    """``k`` independent stationary AR(1) series of unit variance.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the innovations (drawn as one ``(n, k)`` block).
    n, k : int
        Time points and series.
    phi : float
        Lag-1 autocorrelation, ``|phi| < 1``.

    Returns
    -------
    ndarray, shape (n, k)
        ``x[t] = phi x[t-1] + sqrt(1 - phi^2) e[t]``, ``x[0] = e[0]``.
    """
    e = rng.standard_normal((n, k))
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, n):
        x[t] = phi * x[t - 1] + np.sqrt(1 - phi**2) * e[t]
    return x


def pure_noise_set(seed: int, n_targets: int = 40, lengths=(260, 200, 340)):
    """Autocorrelated features and pure-noise targets in runs of unequal length.

    Three AR(1) features (``phi`` 0.9) expanded to FIR lags 0-4 per run, and ``n_targets``
    AR(1) targets (``phi`` 0.8) drawn independently of them; each run is cut into three
    contiguous blocks for grouped cross-validation.

    Returns
    -------
    X : ndarray, shape (n_times, 15)
        FIR design.
    Y : ndarray, shape (n_times, n_targets)
        Targets (no true encoding).
    runs, blocks : ndarray of int, shape (n_times,)
        Run of each time point, and its block (three per run, numbered across runs).
    """
    rng = np.random.default_rng(seed)
    runs = np.concatenate([np.full(n, i) for i, n in enumerate(lengths)])
    blocks = np.concatenate([3 * i + (np.arange(n) * 3) // n for i, n in enumerate(lengths)])
    X, _ = fir_design(np.vstack([ar1_noise(rng, n, 3, 0.9) for n in lengths]), np.arange(5), runs)
    Y = np.vstack([ar1_noise(rng, n, n_targets, 0.8) for n in lengths])
    return X, Y, runs, blocks
