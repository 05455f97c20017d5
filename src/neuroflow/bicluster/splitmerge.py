"""Split-merge moves of the neuron labels with each cluster's latent integrated out."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from .latent import kalman_loglik


def split_merge_move(rng, z, site_j, site_h, blocks, states, log_v, gamma, t_max):
    """One sequentially-allocated split-merge Metropolis-Hastings move of neuron labels.

    Dahl (2003) / Jain & Neal (2004), with every cluster's latent integrated out: the
    marginal likelihood of a set of neurons is the Kalman marginal of their Gaussian
    (Polya-Gamma) sites under the cluster's block of the switching dynamics
    (:func:`kalman_loglik`), and the partition prior is the MFM's,
    ``p(z) ∝ V_N(K) prod_k Gamma(gamma + n_k) / Gamma(gamma)``. Two distinct neurons
    ``i, j`` are drawn; if they share a cluster, its other members are allocated one at a
    time, in random order, to the part of ``i`` or of ``j`` with probability ∝
    ``(n_part + gamma) * predictive`` and the split is accepted with
    ``min(1, p(split) / (p(merged) q(split)))``; otherwise the merge of their clusters is
    accepted with ``min(1, p(merged) q(split) / p(split))``, where ``q(split)`` is the
    probability that the allocation reproduces the current split. Both parts are scored
    under the dynamics block of the cluster of ``i`` (the states are shared by all
    clusters, so a part split off a cluster inherits its dynamics), in both directions,
    so the two moves are each other's reverse; with equal blocks for all clusters the
    move leaves the exact posterior of the partition invariant (tested by enumeration).

    Parameters
    ----------
    z : ndarray of int, shape (N,)
        Labels ``0..K-1``.
    site_j, site_h : ndarray, shapes (N, T, q, q) and (N, T, q)
        Per-neuron Gaussian sites of its cluster's latent (q = p + 1).
    blocks : tuple of ndarray
        ``(A, b, Q)`` per cluster: (K, L, q, q), (K, L, q), (K, L, q, q).
    log_v : ndarray
        ``log V_N(t)`` (:func:`log_v_mfm`).

    Returns
    -------
    (kind, accepted, z_new, detail)
        ``kind`` is ``"split"`` or ``"merge"``. After an accepted split the part of ``j``
        gets the new label ``K``; after an accepted merge the cluster of ``j`` is folded
        into that of ``i`` and the labels above it shift down by one. ``detail`` is the
        cluster of ``i`` and (split) the boolean mask of the new cluster or (merge) the
        removed label.
    """
    n = z.size
    i, j = (int(v) for v in rng.choice(n, 2, replace=False))
    k_i, k_j = int(z[i]), int(z[j])
    n_clusters = int(z.max()) + 1
    split = k_i == k_j
    if split:
        others = np.flatnonzero((z == k_i) & (np.arange(n) != i) & (np.arange(n) != j))
    else:
        others = np.flatnonzero(((z == k_i) | (z == k_j)) & (np.arange(n) != i) & (np.arange(n) != j))
    others = rng.permutation(others)
    if split and n_clusters >= t_max:
        return "split", False, z, (k_i, None)
    block = tuple(blk[k_i] for blk in blocks)

    def lik(jj, hh):  # (2, T, q, q), (2, T, q) -> both parts' marginals
        return np.array([kalman_loglik(jj[c], hh[c], *block, states) for c in range(2)])

    cur, size, log_q, in_j = _allocate(rng, z, (i, j, k_j), others, split, site_j, site_h, lik, gamma)
    members = np.flatnonzero(z == k_i) if split else np.flatnonzero((z == k_i) | (z == k_j))
    merged = kalman_loglik(site_j[members].sum(0), site_h[members].sum(0), *block, states)
    n_i, n_j = size
    k_split = n_clusters + 1 if split else n_clusters
    log_split_over_merged = _log_prior_ratio(log_v, k_split, n_i, n_j, gamma) + cur.sum() - merged
    log_acc = log_split_over_merged - log_q if split else log_q - log_split_over_merged
    if not (np.log(rng.random()) < log_acc):
        return ("split" if split else "merge"), False, z, (k_i, None)
    z_new = z.copy()
    if split:
        z_new[in_j] = n_clusters
        return "split", True, z_new, (k_i, in_j)
    z_new[z == k_j] = k_i
    z_new[z_new > k_j] -= 1
    return "merge", True, z_new, (k_i, k_j)


def _log_prior_ratio(log_v, k_split, n_i, n_j, gamma):
    """``log p(z_split) - log p(z_merged)`` under the MFM partition prior (parts of sizes
    ``n_i``, ``n_j``; ``k_split`` clusters after the split)."""
    return (
        log_v[k_split]
        - log_v[k_split - 1]
        + gammaln(gamma + n_i)
        + gammaln(gamma + n_j)
        - gammaln(gamma)
        - gammaln(gamma + n_i + n_j)
    )


def _allocate(rng, z, pair, others, split, site_j, site_h, lik, gamma):
    """Sequential allocation of ``others`` to the parts of neurons ``i`` and ``j``.

    A split draws each allocation with probability ∝ ``(n_part + gamma) * predictive``; a
    merge replays the current split (``z == k_j``). Returns both parts' marginals, sizes,
    the log probability ``log q(split)`` of the allocation, and the mask of ``j``'s part.
    """
    i, j, k_j = pair
    jp = np.stack([site_j[i], site_j[j]])
    hp = np.stack([site_h[i], site_h[j]])
    cur = lik(jp, hp)
    size = np.array([1.0, 1.0])
    log_q = 0.0
    in_j = np.zeros(z.size, dtype=bool)
    in_j[j] = True
    for m in others:
        cand = lik(jp + site_j[m][None], hp + site_h[m][None])
        logw = np.log(size + gamma) + cand - cur
        prob_j = 1.0 / (1.0 + np.exp(np.clip(logw[0] - logw[1], -700, 700)))
        to_j = rng.random() < prob_j if split else bool(z[m] == k_j)
        log_q += (
            np.log(prob_j if to_j else 1.0 - prob_j)
            if 0.0 < prob_j < 1.0
            else (0.0 if (prob_j == 1.0) == to_j else -np.inf)
        )
        c = int(to_j)
        jp[c] += site_j[m]
        hp[c] += site_h[m]
        cur[c] = cand[c]
        size[c] += 1
        in_j[m] = to_j
    return cur, size, log_q, in_j
