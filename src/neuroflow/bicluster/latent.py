"""Latent block: Kalman filtering, smoothing, sampling and marginal likelihoods of the
stacked cluster latents given Gaussian (Polya-Gamma) sites and switching dynamics."""

from __future__ import annotations

import numpy as np

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
    d = loading.shape[1]
    n_time = kappa.shape[1]
    j_obs = (omega.T[:, :, None] * loading[None]).transpose(0, 2, 1) @ loading   # (T, d, d)
    h_obs = kappa.T @ loading
    noise = rng.standard_normal((n_time, d))
    x, m_s, p_s = _K.ffbs(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states), noise,
                          bool(smooth))
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
