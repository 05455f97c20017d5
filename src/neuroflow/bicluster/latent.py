"""Latent block: Kalman filtering, smoothing, sampling and marginal likelihoods of the
stacked cluster latents given Gaussian (Polya-Gamma) sites and switching dynamics."""

from __future__ import annotations

import numpy as np

from . import _batched as _B
from . import _kernels as _K
from .numerics import _f, _i


def ffbs_latent(rng, kappa, omega, loading, A, b, Q, states, smooth=False):
    """Sample ``x_{1:T}`` given Gaussian pseudo-observations and switching dynamics.

    Parameters
    ----------
    kappa, omega : ndarray, shape (n_neurons, n_time)
        Pseudo-observation ``kappa / omega ~ N(loading @ x_t, 1 / omega)`` per neuron.
    loading : ndarray, shape (n_neurons, d)
    A : ndarray, shape (n_states, d, d); b : (n_states, d); Q : (n_states, d, d)
    states : ndarray of int, shape (n_time,)
        ``states[t]`` governs the transition ``x_{t-1} -> x_t`` (``states[0]`` unused).
    smooth : bool
        Also return the Rauch-Tung-Striebel smoothed marginals.

    Returns
    -------
    x : ndarray, shape (n_time, d)
    mean, cov : ndarray, shapes (n_time, d) and (n_time, d, d)
        Only with ``smooth=True``: posterior marginal means and covariances of ``x_t``.
    """
    j_obs = (omega.T[:, :, None] * loading[None]).transpose(0, 2, 1) @ loading  # (T, d, d)
    return ffbs_sites(rng, j_obs, kappa.T @ loading, A, b, Q, states, smooth)


def stacked_sites(kappa, omega, a, z, n_clusters):
    """The Polya-Gamma sites as Gaussian factors of the stacked latent: ``(J, h)`` of
    shapes (T, d, d) and (T, d) for loadings ``a`` (N, p + 1) = ``[1, c_i]`` in the block of
    cluster ``z_i`` (the same as the dense ``loading`` products of :func:`ffbs_latent`)."""
    return _B.stacked_sites(_f(kappa), _f(omega), _f(a), _i(z), int(n_clusters))


def ffbs_sites(rng, j_obs, h_obs, A, b, Q, states, smooth=False):
    """:func:`ffbs_latent` given the sites as Gaussian factors ``exp(-x_t' J_t x_t / 2 +
    h_t' x_t)``, ``j_obs`` (T, d, d), ``h_obs`` (T, d)."""
    n_time, d = h_obs.shape
    noise = rng.standard_normal((n_time, d))
    x, m_s, p_s = _K.ffbs(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states), noise, bool(smooth))
    if smooth:
        return x, m_s, p_s
    return x


def batched_smoother(j_obs, h_obs, A, b, Q, states):
    """Kalman/RTS smoothed marginals for a batch of independent small state-space models.

    Parameters
    ----------
    j_obs : ndarray, shape (B, T, q, q)
        Observation precision contributions per time (``sum_i omega_it a_i a_i^T``).
    h_obs : ndarray, shape (B, T, q)
        Observation information (``sum_i kappa_it a_i``).
    A : ndarray, shape (B, L, q, q); b : (B, L, q); Q : (B, L, q, q)
        Per-model switching dynamics; ``states`` (T,) as in :func:`ffbs_latent`.

    Returns
    -------
    mean : ndarray, shape (B, T, q); cov : ndarray, shape (B, T, q, q)
    """
    return _K.batched_smoother(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states))


def backward_information(j_obs, h_obs, A, b, Q, states):
    """Backward information messages ``p(sites_{t+1:T} | x_t, states_{t+1:T})``.

    Returns ``(lam, theta)`` of shapes (T, d, d) and (T, d) with
    ``p(sites_{t+1:} | x_t) ∝ exp(-x_t' lam_t x_t / 2 + theta_t' x_t)``; the
    normalizing constants (common to every value of ``states[t]``) are dropped.
    """
    return _K.backward_information(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states))


def kalman_loglik(j_obs, h_obs, A, b, Q, states):
    """``log ∫ p(x_{1:T} | states, A, b, Q) prod_t exp(-x_t' J_t x_t / 2 + h_t' x_t) dx``.

    The latents' marginal likelihood of the Gaussian (Polya-Gamma) sites, by the forward
    Kalman filter (``x_1 ~ N(0, I)``); shapes as in :func:`sample_states_collapsed`.
    ``-inf`` when the filter breaks down numerically (e.g. explosive proposed dynamics).
    """
    try:
        with np.errstate(all="ignore"):
            out = _K.kalman_loglik(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states))
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
        return -np.inf
    return float(out) if np.isfinite(out) else -np.inf


def cluster_marginals(kappa, omega, a, z, n_clusters, A, b, Q, states):
    """Smoothed marginals of every cluster's latent and of every neuron's cluster without
    the neuron, each block under its own diagonal block of the dynamics.

    ``kappa``, ``omega`` (N, T): Polya-Gamma sites; ``a`` (N, q): loadings ``[1, c_i]``;
    ``z`` (N,): labels; ``A`` (L, d, d), ``b`` (L, d), ``Q`` (L, d, d) with ``d =
    n_clusters q``. Returns ``(mean, cov)`` of shapes (K + N, T, q[, q]) as
    :func:`batched_smoother` (rows K + i: neuron i left out); models whose Cholesky
    factors fail in the vectorized kernel are redone by :func:`batched_smoother`.
    """
    z = _i(z)
    jj, hh = _B.cluster_sites(_f(kappa), _f(omega), _f(a), z, int(n_clusters))
    p1 = a.shape[1]
    owner = np.concatenate([np.arange(n_clusters), z])
    idx = owner[:, None] * p1 + np.arange(p1)[None]  # (B, q)
    a_blk = A[:, idx[:, :, None], idx[:, None, :]]  # (L, B, q, q)
    q_blk = Q[:, idx[:, :, None], idx[:, None, :]]
    b_blk = b[:, idx]  # (L, B, q)
    mean, cov, ok = _B.smoother(
        jj,
        hh,
        _f(a_blk.transpose(0, 2, 3, 1)),
        _f(b_blk.transpose(0, 2, 1)),
        _f(q_blk.transpose(0, 2, 3, 1)),
        _i(states),
    )
    if not ok.all():
        bad = np.flatnonzero(~ok)
        mean[bad], cov[bad] = batched_smoother(
            jj[..., bad].transpose(3, 0, 1, 2),
            hh[..., bad].transpose(2, 0, 1),
            a_blk[:, bad].transpose(1, 0, 2, 3),
            b_blk[:, bad].transpose(1, 0, 2),
            q_blk[:, bad].transpose(1, 0, 2, 3),
            states,
        )
    return mean, cov
