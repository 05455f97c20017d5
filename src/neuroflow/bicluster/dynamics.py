"""Dynamics block: conjugate MNIW draws of each state's ``(A, b, Q)``, Metropolis-Hastings
moves with the latents integrated out, and changes of the latent frame."""

from __future__ import annotations

import numpy as np

from .latent import kalman_loglik
from .numerics import _chol, _inv_pd, _invwishart, _sym


def mniw_log_prior(A, b, Q, k0, s0):
    """Log density (up to a constant) of ``(A, b, Q)`` under the MNIW prior of
    :func:`sample_dynamics`: ``Q ~ IW(d + 2, s0 I)``, ``[A, b] | Q ~ MN([I, 0], Q, (k0 I)^-1)``."""
    d = b.shape[0]
    nu0 = d + 2
    _, logdet = np.linalg.slogdet(Q)
    q_inv = _inv_pd(Q)
    dev = np.hstack([A - np.eye(d), b[:, None]])
    return float(
        -0.5 * k0 * np.trace(q_inv @ dev @ dev.T)
        - 0.5 * (d + 1) * logdet
        - 0.5 * (nu0 + d + 1) * logdet
        - 0.5 * s0 * np.trace(q_inv)
    )


def sample_dynamics_collapsed(rng, j_obs, h_obs, A, b, Q, states, k0, s0, scale_sd=0.3, n_rounds=1):
    """Metropolis-Hastings scale moves of each used state's dynamics, latents integrated out.

    Target: ``p(A, b, Q | states, sites) ∝ MNIW(A_s, b_s, Q_s) * ∫ p(x | states, A, b, Q)
    prod_t site_t(x_t) dx`` (the Kalman marginal :func:`kalman_loglik`). For every state in
    use, two random-walk proposals on the log scale: ``A_s -> u A_s`` (Jacobian ``u^(d^2)``)
    and ``Q_s -> v Q_s`` (Jacobian ``v^(d (d + 1) / 2)``), ``log u, log v ~ N(0,
    scale_sd^2)``. The conjugate update given sampled latents cannot move a weakly observed
    state's persistence: latents drawn under persistent (or white-noise) dynamics look
    persistent (white), so ``A_s`` given them stays where it is; these moves decide between
    the two on the pseudo-observations themselves. Returns new ``(A, b, Q)`` and the number
    of accepted proposals.
    """
    A, b, Q = A.copy(), b.copy(), Q.copy()
    d = b.shape[1]
    cur = kalman_loglik(j_obs, h_obs, A, b, Q, states)
    used = np.unique(states[1:])
    n_acc = 0
    for _ in range(n_rounds):
        for s in used:
            for what in ("A", "Q"):
                eps = scale_sd * rng.standard_normal()
                u = np.exp(eps)
                A2, Q2 = A.copy(), Q.copy()
                if what == "A":
                    A2[s] = u * A[s]
                    log_jac = d * d * eps
                else:
                    Q2[s] = u * Q[s]
                    log_jac = 0.5 * d * (d + 1) * eps
                new = kalman_loglik(j_obs, h_obs, A2, b, Q2, states)
                log_ratio = (
                    new
                    + mniw_log_prior(A2[s], b[s], Q2[s], k0, s0)
                    + log_jac
                    - cur
                    - mniw_log_prior(A[s], b[s], Q[s], k0, s0)
                )
                if np.log(rng.random()) < log_ratio:
                    A, Q, cur = A2, Q2, new
                    n_acc += 1
    return A, b, Q, n_acc


def change_frame(M, A, b, Q, shift=None):
    """Dynamics ``(A, b, Q)`` (S, d, d), (S, d), (S, d, d) in new latent coordinates
    ``x' = M x + shift``: ``(M A M^-1, M b + shift - A' shift, M Q M^T)``."""
    A_new = M[None] @ A @ np.linalg.inv(M)[None]
    b_new = (M @ b.T).T
    if shift is not None:
        b_new = b_new + shift[None] - np.einsum("sab,b->sa", A_new, shift)
    return A_new, b_new, _sym(M[None] @ Q @ M.T[None])


def frame_proposal(G, k, z, C, x, A, b, Q, states, k0, s0, sd_c):
    """Move cluster ``k``'s latent frame by ``G``; returns ``(log_ratio, C, x, A, b, Q)``.

    ``G`` is a (p + 1, p + 1) matrix with first column ``e_0``: ``x[k] -> G x[k]``, every
    member's loading ``[1, c_i] -> G^-T [1, c_i]`` (so every log rate is unchanged), and the
    dynamics of the used states (``states[1:]``) transformed along, ``A_s -> G A_s G^-1``,
    ``b_s -> G b_s``, ``Q_s -> G Q_s G^T`` (``G`` acting on cluster k's block). Then every
    transition density gains the factor ``|G|^-1``, which the Jacobian of the ``T`` latent
    vectors pays back but once, and ``log_ratio`` is the change of the log posterior plus the
    log Jacobian: the loading priors ``N(0, sd_c^2 I)`` of the members, the ``N(0, I)`` prior
    of ``x_1``, the MNIW priors of the used states, and ``log|G| (1 - n_k + n_used (d +
    2))`` (Jacobians ``|G|^T``, ``|G|^-n_k``, ``|G|^(d + 1)`` per ``Q_s``, ``|G|`` per
    ``b_s``; 1 for ``A_s``). A Metropolis-Hastings move with ``G`` drawn from a family
    closed under inversion with symmetric proposal density (scales ``diag(1, e^u)``, shears
    ``[[1, v], [0, I]]``) accepts with ``min(1, exp(log_ratio))``.
    """
    p1 = G.shape[0]
    d = A.shape[1]
    blk = slice(k * p1, (k + 1) * p1)
    members = np.flatnonzero(z == k)
    used = np.unique(states[1:])
    g_big = np.eye(d)
    g_big[blk, blk] = G
    a = np.concatenate([np.ones((members.size, 1)), C[members]], axis=1)
    c_new = (a @ np.linalg.inv(G))[:, 1:]  # rows (G^-T a_i)^T, first entry 1
    x1, x1_new = x[k, :, 0], G @ x[k, :, 0]
    log_ratio = -0.5 * ((c_new**2).sum() - (C[members] ** 2).sum()) / sd_c**2 - 0.5 * (
        x1_new @ x1_new - x1 @ x1
    )
    A2, b2, Q2 = A.copy(), b.copy(), Q.copy()
    A2[used], b2[used], Q2[used] = change_frame(g_big, A[used], b[used], Q[used])
    for s in used:
        log_ratio += mniw_log_prior(A2[s], b2[s], Q2[s], k0, s0) - mniw_log_prior(A[s], b[s], Q[s], k0, s0)
    log_ratio += np.linalg.slogdet(G)[1] * (1 - members.size + used.size * (d + 2))
    C2, x2 = C.copy(), x.copy()
    C2[members] = c_new
    x2[k] = G @ x[k]
    return float(log_ratio), C2, x2, A2, b2, Q2


def sample_dynamics(rng, x, states, n_states, k0, s0):
    """Conjugate MNIW draw of ``(A_s, b_s, Q_s)`` for every state (prior where unused).

    Prior: ``Q ~ IW(d + 2, s0 I)``, ``[A, b] | Q ~ MN([I, 0], Q, (k0 I)^-1)``.
    """
    d = x.shape[1]
    nu0 = d + 2
    m0 = np.hstack([np.eye(d), np.zeros((d, 1))])
    kk0 = k0 * np.eye(d + 1)
    s0m = s0 * np.eye(d)
    xin = np.hstack([x[:-1], np.ones((x.shape[0] - 1, 1))])
    yout = x[1:]
    lab = states[1:]
    A = np.empty((n_states, d, d))
    b = np.empty((n_states, d))
    Q = np.empty((n_states, d, d))
    for s in range(n_states):
        sel = lab == s
        xs, ys = xin[sel], yout[sel]
        kn = kk0 + xs.T @ xs
        kn_inv = _inv_pd(kn)
        mn = (m0 @ kk0 + ys.T @ xs) @ kn_inv
        sn = s0m + ys.T @ ys + m0 @ kk0 @ m0.T - mn @ kn @ mn.T
        q = _invwishart(rng, nu0 + int(sel.sum()), _sym(sn))
        w = mn + _chol(q) @ rng.standard_normal((d, d + 1)) @ _chol(kn_inv).T
        A[s], b[s], Q[s] = w[:, :d], w[:, d], q
    return A, b, Q
