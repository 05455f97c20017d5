"""Small numerical helpers of the bi-clustering sampler: Polya-Gamma draws, stable
Cholesky factors and inverses, inverse-Wishart draws, CRT counts, the negative-binomial
log-likelihood and the MFM coefficients."""

from __future__ import annotations

import numpy as np
from polyagamma import random_polyagamma
from scipy.special import gammaln, logsumexp

LOG2PI = np.log(2 * np.pi)


def _pg(rng, h, z):
    """Polya-Gamma PG(h, z) draws (``polyagamma`` package), same shape as ``z``."""
    return random_polyagamma(h=h, z=z, random_state=rng)


def _sym(a):
    return 0.5 * (a + np.swapaxes(a, -1, -2))


def _f(a):
    """C-contiguous float64 view/copy (the compiled kernels' input type)."""
    return np.ascontiguousarray(a, dtype=np.float64)


def _i(a):
    return np.ascontiguousarray(a, dtype=np.int64)


def _chol(a):
    """Cholesky factor with a growing jitter for nearly singular covariances."""
    a = _sym(a)
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        pass
    jitter = 0.0
    scale = max(float(np.mean(np.diag(a))), 1e-12)
    for _ in range(8):
        try:
            return np.linalg.cholesky(a + jitter * np.eye(a.shape[0]))
        except np.linalg.LinAlgError:
            jitter = scale * 1e-10 if jitter == 0 else jitter * 100
    raise np.linalg.LinAlgError("covariance is not positive definite")


def _inv_pd(a):
    """Inverse of a symmetric positive-definite matrix (symmetrized)."""
    return _sym(np.linalg.inv(a))


def _invwishart(rng, nu, scale):
    """Draw from the inverse-Wishart IW(nu, scale) (Bartlett decomposition)."""
    d = scale.shape[0]
    # W ~ Wishart(nu, scale^-1) ; Q = W^-1
    c = _chol(_inv_pd(scale))
    a = np.zeros((d, d))
    a[np.diag_indices(d)] = np.sqrt(rng.chisquare(nu - np.arange(d)))
    a[np.tril_indices(d, -1)] = rng.standard_normal(d * (d - 1) // 2)
    ca = c @ a
    return _inv_pd(ca @ ca.T)


def crt(rng, y, r):
    """Chinese-restaurant-table counts ``L ~ CRT(y, r)`` elementwise (flattened inputs).

    ``L = sum_{j=0}^{y-1} Bernoulli(r / (r + j))``; vectorized over all customers.
    """
    y, r = np.broadcast_arrays(np.asarray(y, dtype=np.int64), np.asarray(r, dtype=float))
    y, r = y.ravel(), r.ravel()
    total = int(y.sum())
    if total == 0:
        return np.zeros(y.shape, dtype=np.int64)
    owner = np.repeat(np.arange(y.size), y)
    starts = np.cumsum(y) - y
    j = np.arange(total) - np.repeat(starts, y)
    rr = r[owner]
    hit = rng.random(total) < rr / (rr + j)
    return np.bincount(owner, weights=hit, minlength=y.size).astype(np.int64)


def nb_loglik(y, psi, r):
    """Negative-binomial log-likelihood of counts ``y`` with log-mean ``psi``, dispersion ``r``.

    ``r`` broadcasts against ``y`` (shape (n_neurons, 1) for per-neuron dispersions).
    """
    log_r_plus_lam = np.logaddexp(np.log(r), psi)
    return (
        gammaln(y + r)
        - gammaln(r)
        - gammaln(y + 1)
        + r * (np.log(r) - log_r_plus_lam)
        + y * (psi - log_r_plus_lam)
    )


def log_v_mfm(n: int, t_max: int, gamma: float, p_geom: float) -> np.ndarray:
    """``log V_n(t)`` of the MFM (Miller & Harrison 2018) for t = 0..t_max + 1.

    ``V_n(t) = sum_{k >= t} k! / (k - t)! * Gamma(gamma k) / Gamma(gamma k + n) * p_K(k)``
    with ``p_K(k) = p (1 - p)^(k - 1)``; the series is summed far past its 1e-12 tail.
    """
    k = np.arange(1, 5000 + n + t_max, dtype=float)
    log_pk = np.log(p_geom) + (k - 1) * np.log1p(-p_geom)
    out = np.full(t_max + 2, -np.inf)
    for t in range(1, t_max + 2):
        kk = k[k >= t]
        terms = (
            gammaln(kk + 1)
            - gammaln(kk - t + 1)
            + gammaln(gamma * kk)
            - gammaln(gamma * kk + n)
            + log_pk[k >= t]
        )
        out[t] = logsumexp(terms)
    out[0] = 0.0
    return out
