"""Vectorized kernels of the bi-clustering sampler against dense references: the cluster
and leave-one-out smoother, the candidate-state scores, the site builders, the NB sums."""

import numpy as np
from scipy.stats import nbinom

from neuroflow.bicluster import _batched as _B
from neuroflow.bicluster import _kernels as K
from neuroflow.bicluster._batched import nb_loglik_rows, stacked_sites
from neuroflow.bicluster.latent import cluster_marginals


def _spd(rng, d, scale):
    root = rng.normal(size=(d, d))
    return scale * (root @ root.T / d + 0.5 * np.eye(d))


def _dense_posterior(states, A, b, Q, j_obs, h_obs):
    """Mean and covariance of ``x_{1:T}`` under ``x_1 ~ N(0, I)``, ``x_t = A x_{t-1} + b +
    N(0, Q)`` (per state) times the sites, by one dense Gaussian in T q dimensions."""
    n_time, q = h_obs.shape
    prec = np.zeros((n_time * q, n_time * q))
    lin = np.zeros(n_time * q)
    prec[:q, :q] += np.eye(q)
    for t in range(1, n_time):
        s = states[t]
        qi = np.linalg.inv(Q[s])
        blk = np.zeros((q, n_time * q))  # x_t - A x_{t-1}
        blk[:, t * q : (t + 1) * q] = np.eye(q)
        blk[:, (t - 1) * q : t * q] = -A[s]
        prec += blk.T @ qi @ blk
        lin += blk.T @ qi @ b[s]
    for t in range(n_time):
        prec[t * q : (t + 1) * q, t * q : (t + 1) * q] += j_obs[t]
        lin[t * q : (t + 1) * q] += h_obs[t]
    cov = np.linalg.inv(prec)
    return (cov @ lin).reshape(n_time, q), cov


def test_vectorized_cluster_smoother_matches_the_dense_posterior():
    """Cluster and leave-one-out marginals equal the dense Gaussian posterior's blocks."""
    rng = np.random.default_rng(0)
    n_neur, n_time, q, n_clu, n_st = 5, 12, 3, 2, 2
    z = np.array([0, 1, 0, 1, 1])
    a = np.concatenate([np.ones((n_neur, 1)), rng.normal(size=(n_neur, q - 1))], axis=1)
    om = rng.gamma(2.0, 0.5, size=(n_neur, n_time))
    kap = rng.normal(size=(n_neur, n_time))
    d = n_clu * q
    A = np.stack([np.eye(d) * 0.9 + 0.05 * rng.normal(size=(d, d)) for _ in range(n_st)])
    b = 0.1 * rng.normal(size=(n_st, d))
    Q = np.stack([_spd(rng, d, 0.05) for _ in range(n_st)])
    states = rng.integers(0, n_st, n_time)
    mean, cov = cluster_marginals(kap, om, a, z, n_clu, A, b, Q, states)
    for model in range(n_clu + n_neur):
        k = model if model < n_clu else z[model - n_clu]
        members = (z == k) & (np.arange(n_neur) != model - n_clu)
        blk = slice(k * q, (k + 1) * q)
        jj = np.einsum("nt,na,nb->tab", om[members], a[members], a[members])
        hh = np.einsum("nt,na->ta", kap[members], a[members])
        # the kernel's 1e-6 precision floor per bin (t > 0) is part of its model
        jj[1:] += 1e-6 * np.eye(q)
        want_m, want_c = _dense_posterior(states, A[:, blk, blk], b[:, blk], Q[:, blk, blk], jj, hh)
        np.testing.assert_allclose(mean[model], want_m, atol=1e-9)
        for t in range(n_time):
            np.testing.assert_allclose(
                cov[model, t], want_c[t * q : (t + 1) * q, t * q : (t + 1) * q], atol=1e-9
            )


def _dense_score(mu, sig, jj, h):
    M = np.eye(mu.size) + sig @ jj
    g = h - jj @ mu
    return (
        -0.5 * mu @ jj @ mu + h @ mu - 0.5 * np.linalg.slogdet(M)[1] + 0.5 * g @ np.linalg.solve(M, sig) @ g
    )


def test_pruned_candidate_scores_are_exact_and_prune_only_negligible_states():
    """Scored candidates equal the dense Gaussian formula plus their transition terms;
    the pruned ones (weight 0) would have had a log weight more than 50 below the best, and
    the bound prunes candidates with tiny transition probabilities."""
    rng = np.random.default_rng(1)
    d, n_c = 4, 6
    A = np.stack([np.eye(d) + 0.2 * rng.normal(size=(d, d)) for _ in range(n_c)])
    b = 0.1 * rng.normal(size=(n_c, d))
    Q = np.stack([_spd(rng, d, 0.1) for _ in range(n_c)])
    P, jj = _spd(rng, d, 0.3), _spd(rng, d, 1.0)
    m, h = rng.normal(size=d), rng.normal(size=d)
    prior = np.array([0.0, -1.0, -200.0, -3.0, -500.0, -60.0])
    mus, sigs, score = np.empty((n_c, d)), np.empty((n_c, d, d)), np.empty(n_c)
    n_scored = K.pruned_scores(
        m, P, jj, h, A, b, Q, np.arange(n_c), prior, mus, sigs, score, np.empty((5, d, d)), np.empty((2, d))
    )
    exact = (
        np.array([_dense_score(A[c] @ m + b[c], A[c] @ P @ A[c].T + Q[c], jj, h) for c in range(n_c)]) + prior
    )
    kept = np.isfinite(score)
    assert n_scored == kept.sum() and {2, 4} <= set(np.flatnonzero(~kept))
    np.testing.assert_allclose(score[kept], exact[kept], atol=1e-9)
    assert (exact[~kept] < exact.max() - K.PRUNE_GAP).all()


def test_collapsed_pass_draws_the_states_the_scalar_scores_give():
    """The pass with vectorized candidate scores picks, for fixed uniforms, the state
    whose cumulative weight the scalar ``site_score`` gives (checked at the first bin)."""
    rng = np.random.default_rng(2)
    d, n_time, n_st = 3, 6, 3
    A = np.stack([np.eye(d) * s for s in (0.2, 0.9, 1.0)])
    b = np.zeros((n_st, d))
    Q = np.stack([_spd(rng, d, 0.05) for _ in range(n_st)])
    j_obs = np.stack([_spd(rng, d, 2.0) for _ in range(n_time)])
    h_obs = rng.normal(size=(n_time, d))
    states = np.zeros(n_time, dtype=np.int64)
    log_tr = np.log(np.full((n_st, n_st), 1.0 / n_st))
    lam, theta = K.backward_information(j_obs, h_obs, A, b, Q, states)
    p0 = np.linalg.inv(np.eye(d) + j_obs[0])
    m0 = p0 @ h_obs[0]
    scores = []
    for c in range(n_st):
        bufs = [np.empty((d, d)) for _ in range(4)] + [np.empty(d), np.empty(d)]
        sc, _ = K.site_score(
            A[c] @ m0, A[c] @ p0 @ A[c].T + Q[c], j_obs[1] + lam[1], h_obs[1] + theta[1], *bufs
        )
        scores.append(sc + log_tr[c, 0])
    w = np.exp(np.array(scores) - max(scores))
    cum = np.cumsum(w) / w.sum()
    for u1 in (0.5 * cum[0], 0.5 * (cum[0] + cum[1]), 0.5 * (cum[1] + 1.0)):
        u = np.full(n_time, 0.5)
        u[1] = u1
        new = K.collapsed_state_pass(j_obs, h_obs, A, b, Q, states, log_tr, np.arange(n_st), u, False)
        assert new[1] == np.searchsorted(cum, u1)


def test_stacked_sites_and_nb_row_sums_match_dense_references():
    rng = np.random.default_rng(4)
    n_neur, n_time, q, n_clu = 5, 7, 3, 3
    z = np.array([2, 0, 2, 1, 0])
    a = np.concatenate([np.ones((n_neur, 1)), rng.normal(size=(n_neur, q - 1))], axis=1)
    om, kap = rng.gamma(1.0, size=(n_neur, n_time)), rng.normal(size=(n_neur, n_time))
    loading = np.zeros((n_neur, n_clu * q))
    for i in range(n_neur):
        loading[i, z[i] * q : (z[i] + 1) * q] = a[i]
    jj, hh = stacked_sites(kap, om, a, z, n_clu)
    np.testing.assert_allclose(jj, np.einsum("nt,na,nb->tab", om, loading, loading), atol=1e-12)
    np.testing.assert_allclose(hh, kap.T @ loading, atol=1e-12)
    y = rng.poisson(3.0, size=(4, 40)).astype(float)
    psi = rng.normal(1.0, 1.0, size=(4, 40))
    r = np.array([0.5, 2.0, 10.0, 1000.0])
    lam = np.exp(psi)
    want = nbinom.logpmf(y, r[:, None], r[:, None] / (r[:, None] + lam)).sum(1)
    np.testing.assert_allclose(nb_loglik_rows(y, psi, r), want, rtol=1e-10)


def test_cluster_smoother_falls_back_to_the_scalar_kernel_where_factors_fail():
    """A cluster block whose predicted covariance is indefinite (its Q is) is redone by the
    per-model kernel; every model then equals that kernel's result."""
    from neuroflow.bicluster.latent import batched_smoother

    rng = np.random.default_rng(5)
    n_neur, n_time, q, n_clu = 4, 8, 3, 2
    z = np.array([0, 1, 1, 0])
    a = np.concatenate([np.ones((n_neur, 1)), rng.normal(size=(n_neur, q - 1))], axis=1)
    om, kap = rng.gamma(2.0, 0.5, size=(n_neur, n_time)), rng.normal(size=(n_neur, n_time))
    d = n_clu * q
    A = np.stack([0.9 * np.eye(d)] * 2)
    b = np.zeros((2, d))
    Q = np.stack([_spd(rng, d, 0.05)] * 2)
    Q[:, q:, q:] = np.diag([0.05, -0.5, 0.05])  # cluster 1: indefinite noise
    states = np.zeros(n_time, dtype=np.int64)
    mean, cov = cluster_marginals(kap, om, a, z, n_clu, A, b, Q, states)
    owner = np.concatenate([np.arange(n_clu), z])
    idx = owner[:, None] * q + np.arange(q)[None]
    loo = np.arange(n_clu + n_neur) >= n_clu
    sel = np.where(loo, np.arange(n_clu + n_neur) - n_clu, -1)
    jj = np.stack(
        [
            np.einsum(
                "nt,na,nb->tab",
                om[(z == owner[m]) & (np.arange(n_neur) != sel[m])],
                a[(z == owner[m]) & (np.arange(n_neur) != sel[m])],
                a[(z == owner[m]) & (np.arange(n_neur) != sel[m])],
            )
            for m in range(owner.size)
        ]
    )
    hh = np.stack(
        [
            np.einsum(
                "nt,na->ta",
                kap[(z == owner[m]) & (np.arange(n_neur) != sel[m])],
                a[(z == owner[m]) & (np.arange(n_neur) != sel[m])],
            )
            for m in range(owner.size)
        ]
    )
    blocks = [X[:, idx[:, :, None], idx[:, None, :]].transpose(1, 0, 2, 3) for X in (A, Q)]
    want_m, want_c = batched_smoother(jj, hh, blocks[0], b[:, idx].transpose(1, 0, 2), blocks[1], states)
    _, _, ok = _B.smoother(
        *_B.cluster_sites(kap, om, a, z, n_clu),
        np.ascontiguousarray(blocks[0].transpose(1, 2, 3, 0)),
        np.ascontiguousarray(b[:, idx].transpose(0, 2, 1)),
        np.ascontiguousarray(blocks[1].transpose(1, 2, 3, 0)),
        states,
    )
    assert list(~ok) == list(owner == 1)  # exactly cluster 1's models fell back
    assert np.isfinite(mean).all()
    np.testing.assert_allclose(mean, want_m, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(cov, want_c, rtol=1e-8, atol=1e-10)
