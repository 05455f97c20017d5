"""State block: the sticky HDP-HMM (weak limit) over time bins with affine-AR emissions:
state paths by FFBS given the latents or single-site with the latents integrated out,
boundary shifts with the latents integrated out, transition weights, and the initial path."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from . import _kernels as _K
from .latent import kalman_loglik
from .numerics import LOG2PI, _chol, _f, _i, _inv_pd, crt


def transition_loglik(x, A, b, Q):
    """``log N(x_t; A_s x_{t-1} + b_s, Q_s)`` for t = 1..T-1, shape (n_time - 1, n_states)."""
    x0, x1 = x[:-1], x[1:]
    n_states, d = b.shape
    out = np.empty((x0.shape[0], n_states))
    for s in range(n_states):
        c = _chol(Q[s])
        q_inv = _inv_pd(Q[s])
        res = x1 - x0 @ A[s].T - b[s]
        out[:, s] = -0.5 * ((res @ q_inv) * res).sum(1) - np.log(np.diag(c)).sum() - 0.5 * d * LOG2PI
    return out


def ffbs_states(rng, loglik, trans):
    """Sample a state path given per-step log-likelihoods (T', L) and a transition matrix.

    The initial distribution is uniform. Returns int array of length T'.
    """
    n, n_states = loglik.shape
    alpha = np.empty((n, n_states))
    lik = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    a = lik[0] / n_states
    alpha[0] = a / a.sum()
    for t in range(1, n):
        a = (alpha[t - 1] @ trans) * lik[t]
        alpha[t] = a / a.sum()
    u = rng.random(n)
    path = np.empty(n, dtype=np.int64)
    cum = np.cumsum(alpha[-1])
    path[-1] = min(np.searchsorted(cum, u[-1] * cum[-1]), n_states - 1)
    for t in range(n - 2, -1, -1):
        w = alpha[t] * trans[:, path[t + 1]]
        cum = np.cumsum(w)
        path[t] = min(np.searchsorted(cum, u[t] * cum[-1]), n_states - 1)
    return path


def sample_states_collapsed(rng, j_obs, h_obs, A, b, Q, states, trans, active=None, reverse=False):
    """One sweep of single-site Gibbs updates of the states with the latents integrated out.

    Gerlach, Carter & Kohn (2000) / Fox et al. (2011): given Gaussian sites of the stacked
    latent (``j_obs`` (T, d, d), ``h_obs`` (T, d): the Polya-Gamma pseudo-observations),
    ``p(states[t] | states[-t], sites) ∝ pi(s_{t-1}, s_t) pi(s_t, s_{t+1})
    ∫ N(x_t; A_s m + b_s, A_s P A_s' + Q_s) exp(-x_t' (J_t + lam_t) x_t / 2
    + (h_t + theta_t)' x_t) dx_t`` where ``N(m, P)`` is the forward filter under the
    already updated ``states[:t]`` and ``(lam, theta)`` the backward messages under the old
    ``states[t+1:]``. Avoids the slow mixing of alternating ``x | states`` and
    ``states | x`` (the sampled latents follow whichever dynamics they were drawn under).

    Parameters
    ----------
    states : ndarray of int, shape (T,)
        Current path (``states[t]`` governs ``x_{t-1} -> x_t``; ``states[0]`` mirrors
        ``states[1]``).
    trans : ndarray, shape (L, L)
        Transition matrix; the path's first transition has a uniform initial distribution.
    active : ndarray of int, optional
        Candidate states (default all L); others keep probability 0.
    reverse : bool
        Visit the bins from last to first (forward filter under the old path, backward
        messages under the updated one). A forward pass moves state boundaries later by
        many bins per sweep but earlier by one at most, and vice versa; alternating the
        direction between sweeps lets a boundary travel either way.

    Returns
    -------
    ndarray of int, shape (T,)
    """
    n_time = h_obs.shape[0]
    cand = np.arange(A.shape[0]) if active is None else np.asarray(active, dtype=np.int64)
    log_tr = np.log(np.maximum(trans, 1e-300))
    u = rng.random(n_time)
    return _K.collapsed_state_pass(
        _f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states), _f(log_tr), _i(cand), u, bool(reverse)
    )


def init_state_sequence(x, n_states, window, rng):
    """Initial state path: k-means on local latent features (as hmmlearn initialises HMMs).

    Features per bin, from moving averages over ``window`` bins: the log latent energy
    ``log ||x_t||^2`` and the log relative step energy ``log(||x_t - x_{t-1}||^2 /
    ||x_t||^2)`` (low for persistent dynamics, about log 2 for white noise),
    standardized. Returns an int array (n_time,) with labels in ``[0, n_states)``.
    """
    if n_states == 1:
        return np.zeros(x.shape[0], dtype=np.int64)
    energy = (x * x).sum(1)
    step = np.concatenate([[0.0], (np.diff(x, axis=0) ** 2).sum(1)])
    step[0] = step[1]
    kernel = np.ones(window) / window
    log_e = np.log(np.convolve(energy, kernel, mode="same") + 1e-12)
    log_s = np.log(np.convolve(step, kernel, mode="same") + 1e-12)
    feats = np.stack([log_e, log_s - log_e], axis=1)
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-12)
    seed = int(rng.integers(2**31 - 1))
    km = KMeans(n_clusters=n_states, n_init=10, random_state=seed).fit(feats)
    return km.labels_.astype(np.int64)


def sample_transitions(rng, path, beta, n_states, alpha, gamma, kappa):
    """Sticky HDP-HMM weak-limit update (Fox et al. 2011): returns ``(beta, pi)``.

    Auxiliary table counts ``m_jk ~ CRT(n_jk, alpha beta_k + kappa [j = k])``, override
    variables ``w_j ~ Binomial(m_jj, rho / (rho + beta_j (1 - rho)))``, ``rho = kappa /
    (alpha + kappa)``; ``beta ~ Dir(gamma / L + mbar_.k)``, ``pi_j ~ Dir(alpha beta + kappa
    e_j + n_j)``.
    """
    n = np.zeros((n_states, n_states))
    np.add.at(n, (path[:-1], path[1:]), 1)
    conc = alpha * beta[None, :] + kappa * np.eye(n_states)
    m = crt(rng, n.astype(np.int64), conc).reshape(n_states, n_states).astype(float)
    rho = kappa / (alpha + kappa)
    diag = np.diag(m).astype(np.int64)
    w = rng.binomial(diag, rho / (rho + beta * (1 - rho)))
    mbar = m.copy()
    mbar[np.diag_indices(n_states)] -= w
    beta = rng.dirichlet(gamma / n_states + mbar.sum(0))
    beta = np.maximum(beta, 1e-300)
    pi = np.vstack(
        [
            rng.dirichlet(np.maximum(alpha * beta + kappa * np.eye(n_states)[j] + n[j], 1e-300))
            for j in range(n_states)
        ]
    )
    return beta, pi


def path_log_prior(states, log_tr):
    """``sum_{t >= 2} log pi(states[t-1], states[t])``: the log prior of a path (uniform
    first state; ``states[0]`` mirrors ``states[1]``), as in :func:`sample_states_collapsed`."""
    return float(log_tr[states[1:-1], states[2:]].sum())


def shift_boundary(path, bounds, j, k):
    """The path with its ``j``-th boundary (a bin ``t`` with ``path[t] != path[t - 1]``, in
    ``bounds``) moved by ``k`` bins, or None when the move would empty a run (every run keeps
    at least one bin, so the boundaries and their order stay)."""
    t = int(bounds[j])
    lo = int(bounds[j - 1]) if j > 0 else 1  # the left run is path[lo:t]
    hi = int(bounds[j + 1]) if j + 1 < bounds.size else path.size  # the right run path[t:hi]
    if not lo < t + k < hi:
        return None
    new = path.copy()
    if k > 0:
        new[t : t + k] = path[t - 1]
    else:
        new[t + k : t] = path[t]
    new[0] = new[1]
    return new


def sample_boundary_shifts(rng, j_obs, h_obs, A, b, Q, states, trans, n_moves, max_shift):
    """Metropolis-Hastings moves of whole state boundaries, latents integrated out.

    Each move picks one boundary of the path uniformly and a shift ``k`` uniformly from
    ``±1 .. ±max_shift`` bins; the bins between the old and the new place take the state of
    the run that grows (:func:`shift_boundary`; a shift that would empty a run is rejected).
    The reverse move (same boundary, ``-k``) has the same probability, so the move is
    accepted with the posterior ratio: the Kalman marginal likelihood of the Polya-Gamma
    sites (:func:`.latent.kalman_loglik`) times the path's transition prior
    (:func:`path_log_prior`). The single-site pass (:func:`sample_states_collapsed`) moves a
    boundary through every bin between two places; where an intermediate place has little
    posterior mass, a boundary stays on one side for hundreds of sweeps, and these moves
    jump it. Returns ``(states, n_accepted)``.
    """
    log_tr = np.log(np.maximum(trans, 1e-300))
    path = np.asarray(states, dtype=np.int64).copy()
    cur = kalman_loglik(j_obs, h_obs, A, b, Q, path) + path_log_prior(path, log_tr)
    n_acc = 0
    for _ in range(n_moves):
        bounds = np.flatnonzero(path[2:] != path[1:-1]) + 2
        if bounds.size == 0:
            break
        j = int(rng.integers(bounds.size))
        k = int(rng.integers(1, max_shift + 1)) * (1 if rng.random() < 0.5 else -1)
        new = shift_boundary(path, bounds, j, k)
        if new is None:
            continue
        val = kalman_loglik(j_obs, h_obs, A, b, Q, new) + path_log_prior(new, log_tr)
        if np.log(rng.random()) < val - cur:
            path, cur = new, val
            n_acc += 1
    return path, n_acc
