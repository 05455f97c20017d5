"""Per-neuron blocks: initial labels, baselines and loadings by Polya-Gamma regression,
NB dispersions, the Laplace marginal likelihood of a neuron under a candidate cluster
latent, and the auxiliary latent of a new cluster."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.interpolate import CubicSpline
from scipy.ndimage import gaussian_filter1d
from scipy.signal import lfilter
from scipy.spatial.distance import squareform

from ._batched import nb_loglik_rows
from .numerics import _f, _pg, _sym, crt


def init_neuron_labels(y, n_clusters, window):
    """Initial neuron labels: average-linkage clustering of correlation distances.

    Counts are smoothed with a Gaussian kernel (sd ``window`` bins), log1p-transformed
    and correlated across neurons; the tree is cut into ``n_clusters`` groups (over-split
    on purpose: the sampler merges and splits from there).
    """
    if n_clusters <= 1:
        return np.zeros(y.shape[0], dtype=np.int64)
    sm = np.log1p(gaussian_filter1d(y.astype(float), window, axis=1))
    sm = sm - sm.mean(1, keepdims=True)
    norm = np.linalg.norm(sm, axis=1, keepdims=True)
    corr = (sm / np.maximum(norm, 1e-12)) @ (sm / np.maximum(norm, 1e-12)).T
    dist = np.clip(1.0 - corr, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    return fcluster(tree, t=n_clusters, criterion="maxclust").astype(np.int64) - 1


def sample_delta_loading(rng, y, r, z, x, delta, C, sd_delta, sd_c, omega=None):
    """PG-augmented Bayesian regression of ``(delta_i, c_i)`` for all neurons at once.

    ``x`` has shape (K, p + 1, T) (row 0 = baseline mu). ``omega`` (N, T): Polya-Gamma
    variables already drawn given the current ``(delta, C, x, r)`` (the chain draws them once
    per sweep and uses them for the latents too); drawn here when None. Returns new
    ``(delta, C)``.
    """
    n_neur, n_time = y.shape
    p = C.shape[1]
    design = np.concatenate([np.ones((n_neur, 1, n_time)), x[z, 1:]], axis=1)  # (N, p+1, T)
    offset = x[z, 0]  # (N, T)
    if omega is None:
        beta = np.concatenate([delta[:, None], C], axis=1)
        psi = offset + np.einsum("nj,njt->nt", beta, design)
        omega = _pg(rng, y + r, psi - np.log(r))
    kap = (y - r) / 2 + omega * (np.log(r) - offset)
    prec = (design * omega[:, None, :]) @ design.transpose(0, 2, 1)
    prior_prec = np.diag([1 / sd_delta**2] + [1 / sd_c**2] * p)
    prec = prec + prior_prec
    rhs = np.einsum("nat,nt->na", design, kap)
    chol = np.linalg.cholesky(_sym(prec))
    mean = np.linalg.solve(prec, rhs[..., None])[..., 0]
    eps = rng.standard_normal((n_neur, p + 1))
    # x = mean + L^-T eps  has covariance (L L^T)^-1
    draw = mean + np.linalg.solve(np.swapaxes(chol, -1, -2), eps[..., None])[..., 0]
    return draw[:, 0].copy(), draw[:, 1:].copy()


def sample_dispersion(rng, y, psi, r, a0, rate):
    """CRT-augmented Gamma update of NB dispersions ``r_i`` (Zhou & Carin 2015)."""
    n_neur = y.shape[0]
    lt = crt(rng, y, r[:, None]).reshape(y.shape).sum(1)
    lam = np.exp(psi)
    scale_sum = np.log1p(lam / r[:, None]).sum(1)
    return rng.gamma(a0 + lt, 1.0 / (rate + scale_sum), size=n_neur)


def sample_dispersion_mh(rng, y, psi, r, a0, rate, step_sd=0.3, n_steps=3):
    """Random-walk Metropolis on ``log r_i`` (all neurons at once, independent accept steps).

    Target ``prod_t NB(y_it | psi_it, r_i) Gamma(r_i; a0, rate)``; complements the CRT
    update, which moves ``r_i`` slowly when it is large (near-Poisson counts).
    """
    y, psi = _f(y), _f(psi)

    def logp(rr):
        return (
            nb_loglik_rows(y, psi, rr) + (a0 - 1) * np.log(rr) - rate * rr + np.log(rr)
        )  # + log r: Jacobian of log scale

    cur = logp(r)
    for _ in range(n_steps):
        prop = r * np.exp(step_sd * rng.standard_normal(r.size))
        new = logp(prop)
        acc = np.log(rng.random(r.size)) < new - cur
        r = np.where(acc, prop, r)
        cur = np.where(acc, new, cur)
    return r


def laplace_log_marginal(y, offset, X, r, sd_c, n_newton=30):
    """Laplace approximation of ``log int NB(y | offset + c.X, r) N(c; 0, sd_c^2 I) dc``.

    Parameters
    ----------
    y : ndarray, shape (T,)
    offset : ndarray, shape (M, T)
        One row per candidate cluster (``delta_i + mu_k``).
    X : ndarray, shape (M, p, T)
        Candidate factors.
    r : float

    Returns
    -------
    logm : ndarray, shape (M,)
        Up to a constant common to all candidates.
    c_hat : ndarray, shape (M, p)
        Posterior modes.
    cov : ndarray, shape (M, p, p)
        Laplace covariances.
    """
    n_cand, p, _ = X.shape
    c = np.zeros((n_cand, p))
    eye = np.eye(p) / sd_c**2
    for _ in range(n_newton):
        psi = offset + np.einsum("mp,mpt->mt", c, X)
        lam = np.exp(np.minimum(psi, 30.0))
        grad_t = r * (y - lam) / (r + lam)
        w = (y + r) * r * lam / (r + lam) ** 2
        grad = np.einsum("mpt,mt->mp", X, grad_t) - c / sd_c**2
        hess = (X * w[:, None, :]) @ X.transpose(0, 2, 1) + eye
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        norm = np.linalg.norm(step, axis=1, keepdims=True)
        step = step * np.minimum(1.0, 3.0 / np.maximum(norm, 1e-300))
        c = c + step
        if norm.max() < 1e-6:
            break
    psi = offset + np.einsum("mp,mpt->mt", c, X)
    lam = np.exp(np.minimum(psi, 30.0))
    w = (y + r) * r * lam / (r + lam) ** 2
    hess = (X * w[:, None, :]) @ X.transpose(0, 2, 1) + eye
    loglik = (y * psi - (y + r) * np.logaddexp(np.log(r), psi)).sum(1)
    logprior = -0.5 * (c * c).sum(1) / sd_c**2
    _, logdet = np.linalg.slogdet(hess)
    logm = loglik + logprior - 0.5 * logdet
    logm = np.where(np.isfinite(logm), logm, -np.inf)
    return logm, c, np.linalg.inv(hess)


def aux_latent(rng, n_rows, n_time, coef, var, spline):
    """A fresh auxiliary cluster latent (rows, T): AR(1) path or random cubic spline, centred."""
    if spline:
        out = np.empty((n_rows, n_time))
        grid = np.arange(n_time)
        for j in range(n_rows):
            for _ in range(20):
                n_knots = int(rng.integers(11, 36))
                knots = np.linspace(0, n_time - 1, n_knots)
                row = CubicSpline(knots, rng.uniform(-0.2, 0.2, n_knots))(grid)
                row -= row.mean()
                if (np.abs(row) > 2).sum() <= 1:
                    break
            out[j] = row
        return out
    noise = rng.standard_normal((n_rows, 2 * n_time)) * np.sqrt(var)
    path = lfilter([1.0], [1.0, -coef], noise, axis=1)[:, n_time:]
    return path - path.mean(axis=1, keepdims=True)
