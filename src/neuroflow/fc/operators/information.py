"""Rank and information-theoretic operators: Spearman, Kendall tau-b, Gaussian and
Gaussian-copula mutual information, distance correlation (biased and unbiased) and the
Hilbert-Schmidt independence criterion, the last three as Gram matrices over time pairs."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from ._base import gaussian_mi, memo, normalize_gram, pearson, zero_diagonal


def spearman(X, t_r=None, cache=None):
    """Spearman rank correlation: Pearson correlation of ``scipy.stats.rankdata`` ranks."""
    return pearson(rankdata(X, axis=-1), {})


#: Bytes of pair-difference buffer held at once by :func:`kendall` and :func:`distance_correlation`.
_PAIR_BUFFER_BYTES = 8e6


#: Integer sums below this are exact in single precision (2**24).
_FLOAT32_EXACT_SUMS = 2**24


def _lag_blocks(n_t: int, max_pairs: int):
    """Group the lags 1 .. n_t - 1 into runs of at most ``max_pairs`` time pairs (>= 1 lag)."""
    block, size = [], 0
    for k in range(1, n_t):
        if block and size + n_t - k > max_pairs:
            yield block
            block, size = [], 0
        block.append(k)
        size += n_t - k
    yield block


def _pair_gram(X, fill, dtype):
    """Gram matrix over all time pairs of a per-pair feature, for every sample.

    ``fill(a, b, out)`` writes the feature of the pairs (t + k, t) of each region into
    ``out`` from ``a = x[..., k:]`` and ``b = x[..., :-k]``. The pairs t < u are visited lag
    by lag (u = t + k) in blocks of at most :data:`_PAIR_BUFFER_BYTES`, so memory stays
    bounded for any window length, and each block adds ``F @ F.T`` (one BLAS call).

    Returns
    -------
    ndarray, shape (n_samples, n_regions, n_regions)
        ``G[n, i, j] = sum_{t<u} f_i(t, u) f_j(t, u)``, in ``dtype``.
    """
    n, r, n_t = X.shape
    n_pairs = n_t * (n_t - 1) // 2
    item = np.dtype(dtype).itemsize
    chunk = max(1, int(_PAIR_BUFFER_BYTES // (r * n_pairs * item)))
    max_pairs = max(1, int(_PAIR_BUFFER_BYTES // (min(chunk, n) * r * item)))
    G = np.zeros((n, r, r), dtype=dtype)
    for start in range(0, n, chunk):
        x = X[start : start + chunk]
        for lags in _lag_blocks(n_t, max_pairs):
            F = np.empty(x.shape[:2] + (sum(n_t - k for k in lags),), dtype=dtype)
            off = 0
            for k in lags:
                fill(x[..., k:], x[..., :-k], F[..., off : off + n_t - k])
                off += n_t - k
            G[start : start + chunk] += F @ F.transpose(0, 2, 1)
    return G


def _sign_of_difference(a, b, out):
    np.sign(a - b, out=out)


def kendall(X, t_r=None, cache=None):
    """Kendall tau-b of every region pair (ties as in ``scipy.stats.kendalltau``).

    With the pair-sign vectors s_i(t, u) = sign(x_i(u) - x_i(t)) over all time pairs t < u,
    the numerator (concordant - discordant pairs) of every region pair is one Gram matrix,
    sum s_i s_j, and tau-b's tie correction is its diagonal: sum s_i^2 counts the pairs not
    tied in region i, so tau_b(i, j) = sum s_i s_j / sqrt(sum s_i^2 * sum s_j^2). The Gram
    matrix is formed in single precision where that is exact (integer sums < 2**24, windows
    up to 5,793 samples). A constant region (no untied pair) gets 0 (scipy: NaN); constant
    regions are dropped before the bank (:func:`neuroflow.fc.data.samples_dataset`).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_regions, n_times)

    Returns
    -------
    ndarray, shape (n_samples, n_regions, n_regions)
        In [-1, 1]; diagonal 1.
    """
    n_t = X.shape[-1]
    dtype = np.float32 if n_t * (n_t - 1) // 2 < _FLOAT32_EXACT_SUMS else np.float64
    num = _pair_gram(X, _sign_of_difference, dtype).astype(float)
    return normalize_gram(num)


def _abs_difference(a, b, out):
    np.subtract(a, b, out=out)
    np.abs(out, out=out)


def _mean_abs_difference(x):
    """a_t = mean_u |x_t - x_u| for every t, from sorted cumulative sums (O(T log T)).

    Returns an array shaped like ``x`` (..., n_times).
    """
    n_t = x.shape[-1]
    order = np.argsort(x, axis=-1)
    s = np.take_along_axis(x, order, axis=-1)
    c = np.cumsum(s, axis=-1)
    k = np.arange(n_t)
    total = (k * s - (c - s)) + ((c[..., -1:] - c) - (n_t - 1 - k) * s)
    out = np.empty_like(x)
    np.put_along_axis(out, order, total / n_t, axis=-1)
    return out


def dcor_from_gram(gram, rows, n_t: int, bias: bool = True):
    """Distance correlation of every region pair from two sums over the distance matrices.

    ``gram[i, j] = sum_{t != u} d_i(t, u) d_j(t, u)`` and ``rows[i, t] = sum_u d_i(t, u)``
    (zero diagonals) determine both centrings, because a centred matrix's inner product
    expands into them: double centring (V-statistic, ``bias=True``) gives
    <A_i, A_j> = gram - (2 / T) rows_i.rows_j + S_i S_j / T^2, U-centring (Szekely & Rizzo
    2014, ``bias=False``) gives gram - 2 / (T - 2) rows_i.rows_j + S_i S_j / ((T-1)(T-2)),
    with S the grand sums. dCor = sqrt(V_ij / sqrt(V_ii V_jj)) (biased) or U_ij /
    sqrt(U_ii U_jj) (unbiased, may be negative), as hyppo ``Dcorr(bias=...)``; 0 where a
    variance is <= 0.
    """
    S = rows.sum(-1)
    rr = rows @ rows.transpose(0, 2, 1)
    if bias:
        c = gram - (2.0 / n_t) * rr + S[:, :, None] * S[:, None, :] / n_t**2
    else:
        c = gram - (2.0 / (n_t - 2)) * rr + S[:, :, None] * S[:, None, :] / ((n_t - 1) * (n_t - 2))
    var = np.einsum("nii->ni", c)
    ok = (var[:, :, None] > 0) & (var[:, None, :] > 0)
    denom = np.sqrt(np.where(ok, var[:, :, None] * var[:, None, :], 1.0))
    stat = np.where(ok, c / denom, 0.0)
    return np.sqrt(np.clip(stat, 0.0, None)) if bias else stat


def distance_correlation(X, t_r=None, cache=None, bias: bool = True):
    """Distance correlation (Szekely, Rizzo & Bakirov 2007) of every region pair.

    With d_i(t, u) = |x_i(t) - x_i(u)|, the inner products of the centred distance matrices
    need only the Gram matrix of the distance vectors over the time pairs t < u (one
    matrix product for all region pairs) and the row sums of d_i (from sorted cumulative
    sums); see :func:`dcor_from_gram`. ``bias=True``: the V-statistic (in [0, 1]);
    ``bias=False``: the unbiased U-statistic form (hyppo ``Dcorr()``). A constant region
    gets 0.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_regions, n_times)

    Returns
    -------
    ndarray, shape (n_samples, n_regions, n_regions)
        Diagonal 1.
    """
    n_t = X.shape[-1]
    if cache is None:
        cache = {}

    def parts():
        Xc = X - X.mean(axis=-1, keepdims=True)  # distances are shift-invariant; keeps cumsums small
        return 2.0 * _pair_gram(Xc, _abs_difference, np.float64), n_t * _mean_abs_difference(Xc)

    gram, rows = memo(cache, "dcor_parts", parts)
    return dcor_from_gram(gram, rows, n_t, bias)


def _median_distance(x):
    """Median of |x(t) - x(u)| over t < u, per region of one window (1 if 0)."""
    n_t = x.shape[-1]
    med = np.empty(x.shape[0])
    iu = np.triu_indices(n_t, 1)
    for i, v in enumerate(x):
        med[i] = np.median(np.abs(v[iu[0]] - v[iu[1]]))
    return np.where(med > 0, med, 1.0)


def hsic(X, t_r=None, cache=None, bias: bool = False):
    """Hilbert-Schmidt independence criterion, normalised as hyppo ``Hsic(bias)``.

    The Gaussian kernel of each region (bandwidth: the median distance between its own time
    points; hyppo applies the first variable's bandwidth to both, so its value depends on
    the order of the pair) gives the distance 1 - k(t, u); HSIC is the distance correlation of these
    (:func:`dcor_from_gram`), all region pairs from one Gram matrix per window, built from
    blocks of time rows (memory bounded for long windows).
    """
    n, r, n_t = X.shape
    gram, rows = np.zeros((n, r, r)), np.empty((n, r, n_t))
    block = max(1, int(4e6 // (r * n_t)))
    for k, x in enumerate(X):
        scale = 2.0 * _median_distance(x)[:, None, None] ** 2
        for start in range(0, n_t, block):
            d = x[:, start : start + block, None] - x[:, None, :]  # (r, B, T)
            D = 1.0 - np.exp(-(d**2) / scale)
            F = D.reshape(r, -1)
            gram[k] += F @ F.T
            rows[k, :, start : start + block] = D.sum(-1)
    return dcor_from_gram(gram, rows, n_t, bias)


def copula_normal(X):
    """Gaussian-copula transform of each region: ndtri(rank / (T + 1)) (Ince et al. 2017)."""
    return ndtri(rankdata(X, axis=-1) / (X.shape[-1] + 1.0))


def mi_pearson(X, t_r, cache):
    """Operator: Gaussian mutual information of the Pearson correlation (nats)."""
    return zero_diagonal(gaussian_mi(pearson(X, cache)))


def mi_copula(X, t_r, cache):
    """Operator: Gaussian-copula mutual information (nats; Ince et al. 2017, no bias term)."""
    return zero_diagonal(gaussian_mi(pearson(copula_normal(X), {})))


def mi_from(kind_op):
    """Operator: Gaussian mutual information of the correlation given by another operator."""

    def op(X, t_r, cache):
        return zero_diagonal(gaussian_mi(kind_op(X, t_r, cache)))

    return op
