"""Sampler blocks of the bi-clustering model: known answers, a PyMC oracle, recovery."""

import numpy as np
import pytest
from scipy.special import gammaln, logsumexp
from sklearn.metrics import adjusted_rand_score

from neuroflow.bicluster import sampler as S
from neuroflow.bicluster.simulate import fitted_true_dynamics, simulate_bicluster
from neuroflow.bicluster.summarize import point_estimate


def test_crt_counts_have_the_known_mean():
    rng = np.random.default_rng(0)
    y, r = np.full(20000, 7), 2.5
    expected = sum(r / (r + j) for j in range(7))
    assert S.crt(rng, y, r).mean() == pytest.approx(expected, rel=0.02)


def test_dispersion_moves_target_the_exact_posterior():
    """CRT Gibbs + log-scale Metropolis for r_i: posterior mean of log r matches a grid."""
    rng = np.random.default_rng(6)
    n_time, r_true = 300, 6.0
    psi = rng.normal(1.0, 0.5, (2, n_time))
    y = rng.negative_binomial(r_true, r_true / (r_true + np.exp(psi))).astype(float)
    grid = np.linspace(-2, 6, 2001)
    exact = []
    for i in range(2):
        lp = np.array([S.nb_loglik(y[i], psi[i], np.exp(g)).sum() - np.exp(g) + g for g in grid])
        w = np.exp(lp - lp.max())
        exact.append((w * grid).sum() / w.sum())
    r, draws = np.ones(2), []
    for it in range(3000):
        r = S.sample_dispersion(rng, y, psi, r, 1.0, 1.0)
        r = S.sample_dispersion_mh(rng, y, psi, r, 1.0, 1.0)
        if it >= 300:
            draws.append(np.log(r))
    np.testing.assert_allclose(np.mean(draws, axis=0), exact, atol=0.03)


def test_mfm_coefficients_match_the_direct_series():
    n, gamma, p = 12, 1.0, 0.2
    got = S.log_v_mfm(n, 5, gamma, p)
    for t in range(1, 6):
        k = np.arange(t, 4000)
        terms = (
            gammaln(k + 1)
            - gammaln(k - t + 1)
            + gammaln(gamma * k)
            - gammaln(gamma * k + n)
            + np.log(p)
            + (k - 1) * np.log1p(-p)
        )
        assert got[t] == pytest.approx(logsumexp(terms), abs=1e-9)


def test_ffbs_draws_average_to_the_kalman_smoother_mean():
    rng = np.random.default_rng(1)
    n_neur, n_time, d = 6, 40, 2
    loading = rng.standard_normal((n_neur, d))
    omega = rng.uniform(0.5, 2.0, (n_neur, n_time))
    kappa = rng.standard_normal((n_neur, n_time)) * omega
    A = np.stack([0.9 * np.eye(d), 0.5 * np.eye(d)])
    b = np.zeros((2, d))
    Q = np.stack([0.1 * np.eye(d), 0.3 * np.eye(d)])
    states = np.repeat([0, 1], n_time // 2)
    draws = np.stack([S.ffbs_latent(rng, kappa, omega, loading, A, b, Q, states) for _ in range(800)])
    j_obs = (omega.T[:, :, None] * loading[None]).transpose(0, 2, 1) @ loading
    mean, cov = S.batched_smoother(j_obs[None], (kappa.T @ loading)[None], A[None], b[None], Q[None], states)
    se = np.sqrt(np.diagonal(cov[0], axis1=1, axis2=2) / draws.shape[0])
    assert np.all(np.abs(draws.mean(0) - mean[0]) < 4.5 * se + 1e-3)
    np.testing.assert_allclose(draws.var(0), np.diagonal(cov[0], axis1=1, axis2=2), rtol=0.25)


def _small_switching_model(n_time=5, seed=0):
    """A 2-state, 2-D switching linear model with Gaussian sites (exact answers by enumeration)."""
    rng = np.random.default_rng(seed)
    A = np.stack([0.2 * np.eye(2), np.array([[0.95, -0.2], [0.2, 0.95]])])
    b = np.array([[0.3, -0.1], [0.0, 0.1]])
    Q = np.stack([0.5 * np.eye(2), 0.05 * np.eye(2)])
    j_obs = np.stack([np.diag(rng.uniform(0.5, 3, 2)) for _ in range(n_time)])
    h_obs = rng.normal(0, 1.5, (n_time, 2))
    trans = np.array([[0.8, 0.2], [0.3, 0.7]])
    return A, b, Q, j_obs, h_obs, trans


def _dense_log_marginal(states, A, b, Q, j_obs, h_obs):
    """log ∫ N(x; c, S) exp(-x'Jx/2 + h'x) dx with the stacked prior of x_{1:T} built densely."""
    n_time, d = h_obs.shape
    G = np.zeros((n_time * d, n_time * d))
    c = np.zeros(n_time * d)
    noise = np.zeros((n_time * d, n_time * d))
    G[:d, :d] = np.eye(d)
    noise[:d, :d] = np.eye(d)
    for t in range(1, n_time):
        blk = slice(t * d, (t + 1) * d)
        G[blk] = A[states[t]] @ G[(t - 1) * d : t * d]
        G[blk, blk] += np.eye(d)
        c[blk] = A[states[t]] @ c[(t - 1) * d : t * d] + b[states[t]]
        noise[blk, blk] = Q[states[t]]
    S_ = G @ noise @ G.T
    J = np.zeros_like(S_)
    for t in range(n_time):
        J[t * d : (t + 1) * d, t * d : (t + 1) * d] = j_obs[t]
    h = h_obs.ravel()
    M = np.eye(n_time * d) + S_ @ J
    g = h - J @ c
    return -0.5 * c @ J @ c + h @ c - 0.5 * np.linalg.slogdet(M)[1] + 0.5 * g @ np.linalg.solve(M, S_) @ g


def test_kalman_marginal_likelihood_equals_the_dense_gaussian_integral():
    A, b, Q, j_obs, h_obs, _ = _small_switching_model()
    for states in ([0, 0, 1, 1, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]):
        states = np.array(states)
        assert S.kalman_loglik(j_obs, h_obs, A, b, Q, states) == pytest.approx(
            _dense_log_marginal(states, A, b, Q, j_obs, h_obs), abs=1e-9
        )


@pytest.mark.parametrize("reverse", [False, True])
def test_collapsed_state_sampler_targets_the_exact_posterior(reverse):
    """Latents integrated out: state marginals match enumeration of all 2^(T-1) paths."""
    import itertools

    A, b, Q, j_obs, h_obs, trans = _small_switching_model()
    n_time = h_obs.shape[0]
    paths = list(itertools.product(range(2), repeat=n_time - 1))
    logp = np.array(
        [
            _dense_log_marginal(np.array([p[0], *p]), A, b, Q, j_obs, h_obs)
            + sum(np.log(trans[p[i], p[i + 1]]) for i in range(n_time - 2))
            for p in paths
        ]
    )
    prob = np.exp(logp - logsumexp(logp))
    exact = np.array([sum(pr for pr, p in zip(prob, paths) if p[t] == 1) for t in range(n_time - 1)])
    rng = np.random.default_rng(1)
    states = np.zeros(n_time, dtype=int)
    hits = np.zeros(n_time - 1)
    n_sweeps = 3000
    for _ in range(n_sweeps):
        states = S.sample_states_collapsed(rng, j_obs, h_obs, A, b, Q, states, trans, reverse=reverse)
        hits += states[1:] == 1
    np.testing.assert_allclose(hits / n_sweeps, exact, atol=0.04)


def test_boundary_shifts_leave_the_exact_path_posterior_invariant():
    """Paths drawn from the exact posterior (enumeration of all 2^7 paths, latents
    integrated out) are still distributed so after boundary-shift moves, which move most of
    them."""
    import itertools

    from scipy.stats import chisquare

    from neuroflow.bicluster.latent import kalman_loglik
    from neuroflow.bicluster.states import path_log_prior, sample_boundary_shifts

    n_time = 8
    A, b, Q, j_obs, h_obs, trans = _small_switching_model(n_time, seed=3)
    rng = np.random.default_rng(4)
    paths = np.array([[p[0], *p] for p in itertools.product(range(2), repeat=n_time - 1)])
    logp = np.array(
        [kalman_loglik(j_obs, h_obs, A, b, Q, p) + path_log_prior(p, np.log(trans)) for p in paths]
    )
    prob = np.exp(logp - logsumexp(logp))
    index = {tuple(p): i for i, p in enumerate(paths)}
    n_draws = 20000
    start = rng.choice(len(paths), size=n_draws, p=prob)
    counts, moved = np.zeros(len(paths)), 0
    for i in start:
        new, _ = sample_boundary_shifts(rng, j_obs, h_obs, A, b, Q, paths[i], trans, 2, 3)
        counts[index[tuple(new)]] += 1
        moved += not np.array_equal(new, paths[i])
    assert moved > 0.3 * n_draws
    keep = prob * n_draws > 5  # the chi-square test's cells
    expected = np.append(prob[keep], prob[~keep].sum()) * n_draws
    observed = np.append(counts[keep], counts[~keep].sum())
    assert chisquare(observed, expected).pvalue > 1e-3


def test_state_block_recovers_the_true_path_given_the_true_latents():
    """Given the simulation's true latents, FFBS of states + MNIW dynamics finds the path."""
    for seed in (1, 2):
        ds = simulate_bicluster(random_state=seed)
        truth = ds["true_state"].values
        x = ds["true_latent"].values.transpose(2, 0, 1).reshape(truth.size, -1)
        rng = np.random.default_rng(0)
        n_states = 10
        states = S.init_state_sequence(x, 2, 10, rng)
        beta = np.full(n_states, 1 / n_states)
        for _ in range(8):
            A, b, Q = S.sample_dynamics(rng, x, states, n_states, 1.0, 0.01)
            beta, pi = S.sample_transitions(rng, states[1:], beta, n_states, 5.0, 5.0, 10.0)
            path = S.ffbs_states(rng, S.transition_loglik(x, A, b, Q), pi)
            states = np.concatenate([path[:1], path])
        assert adjusted_rand_score(truth, states) >= 0.95


def test_dynamics_posterior_covers_the_true_parameters_given_the_true_states():
    """Conjugate MNIW draws of (A_s, b_s) given latents and states centre on the truth."""
    rng = np.random.default_rng(4)
    d, n_time = 3, 3000
    c, s_ = np.cos(np.pi / 20), np.sin(np.pi / 20)
    rot = np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]])  # the paper's pi/20 turn
    A_true = np.stack([0.1 * np.eye(d), 0.97 * rot])
    b_true = np.array([[0.2, -0.1, 0.05], [0.0, 0.03, -0.02]])
    states = np.repeat(np.arange(n_time // 100) % 2, 100)
    x = np.zeros((n_time, d))
    for t in range(1, n_time):
        s = states[t]
        x[t] = A_true[s] @ x[t - 1] + b_true[s] + 0.1 * rng.standard_normal(d)
    draws = [S.sample_dynamics(rng, x, states, 2, 1.0, 0.01) for _ in range(300)]
    A_d = np.stack([dr[0] for dr in draws])
    b_d = np.stack([dr[1] for dr in draws])
    Q_d = np.stack([dr[2] for dr in draws])
    q_diag = Q_d[:, :, np.arange(d), np.arange(d)]
    for est, true in ((A_d, A_true), (b_d, b_true), (q_diag, np.full((2, d), 0.01))):
        z = np.abs(est.mean(0) - true) / est.std(0)
        assert z.max() < 4.0


def test_collapsed_dynamics_moves_target_the_latent_marginal_posterior():
    """MH scale moves of (A, Q), latents integrated out, match a grid of prior x Kalman marginal."""
    rng = np.random.default_rng(5)
    n_time, k0, s0 = 6, 0.5, 0.1
    j_obs = rng.uniform(0.5, 3.0, (n_time, 1, 1))
    h_obs = rng.normal(0.0, 1.0, (n_time, 1))
    b = np.array([[0.2]])
    states = np.zeros(n_time, dtype=int)
    # grid over log A, log Q (A > 0: scale moves keep the sign), density x A x Q (Jacobian)
    la, lq = np.meshgrid(np.linspace(-5, 2, 71), np.linspace(-7, 3, 71), indexing="ij")
    logp = np.array(
        [
            [
                S.kalman_loglik(
                    j_obs, h_obs, np.exp(a).reshape(1, 1, 1), b, np.exp(q).reshape(1, 1, 1), states
                )
                + S.mniw_log_prior(np.exp(a).reshape(1, 1), b[0], np.exp(q).reshape(1, 1), k0, s0)
                + a
                + q
                for a, q in zip(ra, rq)
            ]
            for ra, rq in zip(la, lq)
        ]
    )
    w = np.exp(logp - logp.max())
    w /= w.sum()
    exact = np.array([(w * la).sum(), (w * lq).sum()])
    sd = np.sqrt(np.array([(w * la**2).sum(), (w * lq**2).sum()]) - exact**2)
    A, Q = np.full((1, 1, 1), 0.5), np.full((1, 1, 1), 0.1)
    draws = []
    for it in range(3000):
        A, _, Q, _ = S.sample_dynamics_collapsed(rng, j_obs, h_obs, A, b, Q, states, k0, s0, scale_sd=1.0)
        if it >= 300:
            draws.append([np.log(A[0, 0, 0]), np.log(Q[0, 0, 0])])
    got = np.mean(draws, axis=0)
    assert np.all(np.abs(got - exact) < 0.15 * sd), (got, exact, sd)


def _frame_log_target(z, C, x, A, b, Q, states, k0, s0, sd_c):
    """Every prior term that a frame move touches, written out directly (dense densities)."""
    from scipy.stats import multivariate_normal as mvn

    xs = x.transpose(2, 0, 1).reshape(x.shape[2], -1)
    out = -0.5 * (C**2).sum() / sd_c**2 + mvn(np.zeros(xs.shape[1])).logpdf(xs[0])
    for t in range(1, xs.shape[0]):
        s = states[t]
        out += mvn(A[s] @ xs[t - 1] + b[s], Q[s]).logpdf(xs[t])
    return out + sum(S.mniw_log_prior(A[s], b[s], Q[s], k0, s0) for s in range(A.shape[0]))


def _log_abs_jacobian(fn, v):
    """log |det| of the (affine) map ``fn`` from its action on the unit vectors."""
    base = fn(v)
    cols = [fn(v + e) - base for e in np.eye(v.size)]
    return np.linalg.slogdet(np.array(cols).T)[1]


@pytest.mark.parametrize("kind", ["scale", "shear", "general"])
def test_frame_move_ratio_is_the_posterior_ratio_times_the_jacobian(kind):
    """log_ratio of a frame move = change of the dense log posterior + log |Jacobian|, with
    the Jacobian of the whole map (loadings, latents, used states' A, b, Q) taken numerically;
    and the log rates do not change."""
    rng = np.random.default_rng(11)
    p1, n_clusters, n_time, n_states, k0, s0, sd_c = 3, 2, 6, 3, 0.3, 0.2, 0.8
    d = n_clusters * p1
    z = np.array([0, 1, 0, 1, 0])
    C = rng.normal(size=(z.size, p1 - 1))
    x = rng.normal(size=(n_clusters, p1, n_time))
    states = np.array([2, 0, 1, 0, 0, 1])  # state 2 only at t = 0: unused
    A = rng.normal(0, 0.3, (n_states, d, d)) + np.eye(d)
    b = rng.normal(0, 0.2, (n_states, d))
    Q = np.array([m @ m.T / d + 0.1 * np.eye(d) for m in rng.normal(size=(n_states, d, d))])
    G = np.eye(p1)
    if kind in ("scale", "general"):
        G[1:, 1:] = np.diag([1.3, 0.7])
    if kind in ("shear", "general"):
        G[0, 1:] = [0.4, -0.25]
    if kind == "general":
        G[1, 2] = 0.3
    k = 0
    log_ratio, C2, x2, A2, b2, Q2 = S.frame_proposal(G, k, z, C, x, A, b, Q, states, k0, s0, sd_c)

    def log_rate(C, x):
        return np.array([x[z[i], 0] + C[i] @ x[z[i], 1:] for i in range(z.size)])

    np.testing.assert_allclose(log_rate(C2, x2), log_rate(C, x), atol=1e-12)
    np.testing.assert_array_equal(A2[2], A[2])  # the unused state is left alone
    used = [0, 1]
    iu = np.triu_indices(d)

    def pack(C, x, A, b, Q):
        return np.concatenate(
            [C.ravel(), x.ravel(), A[used].ravel(), b[used].ravel(), np.concatenate([q[iu] for q in Q[used]])]
        )

    def unpack(v):
        sizes = [C.size, x.size, len(used) * d * d, len(used) * d, len(used) * iu[0].size]
        parts = np.split(v, np.cumsum(sizes)[:-1])
        Qs = Q.copy()
        for j, s in enumerate(used):
            m = np.zeros((d, d))
            m[iu] = parts[4].reshape(len(used), -1)[j]
            Qs[s] = m + np.triu(m, 1).T
        As, bs = A.copy(), b.copy()
        As[used], bs[used] = parts[2].reshape(len(used), d, d), parts[3].reshape(len(used), d)
        return parts[0].reshape(C.shape), parts[1].reshape(x.shape), As, bs, Qs

    def move(v):
        Cv, xv, Av, bv, Qv = unpack(v)
        return pack(*S.frame_proposal(G, k, z, Cv, xv, Av, bv, Qv, states, k0, s0, sd_c)[1:])

    expected = (
        _frame_log_target(z, C2, x2, A2, b2, Q2, states, k0, s0, sd_c)
        - _frame_log_target(z, C, x, A, b, Q, states, k0, s0, sd_c)
        + _log_abs_jacobian(move, pack(C, x, A, b, Q))
    )
    assert log_ratio == pytest.approx(expected, abs=1e-8)


def test_frame_moves_keep_log_rates_and_mix_the_loading_scale():
    """Frame moves on a chain started at the truth leave every log rate unchanged and move
    the members' loading scale far more per sweep than the Gibbs blocks alone."""
    ds = simulate_bicluster(random_state=0)
    _, A, b, Q = fitted_true_dynamics(ds)
    ch = S._Chain(
        ds["counts"].values,
        S.SamplerSettings.from_dict({"frame_moves": 1}),
        np.random.default_rng(0),
        init_labels=ds["true_cluster"].values,
    )
    ch.start_at(
        ds["true_delta"].values,
        ds["true_loading"].values,
        ds["true_latent"].values,
        ds["true_state"].values,
        A,
        b,
        Q,
    )
    assert ch.step_frame() == 0  # not during the warm-up
    ch.iteration += 1
    before = ch.log_rate()
    scales = [np.linalg.norm(ch.C[ch.z == 0])]
    for _ in range(20):
        assert ch.step_frame() > 0
        scales.append(np.linalg.norm(ch.C[ch.z == 0]))
    np.testing.assert_allclose(ch.log_rate(), before, atol=1e-9)
    # one Gibbs draw of c | x moves the norm by its conditional sd (~ a few %); 20 rounds
    # of frame moves wander by tens of percent
    assert np.ptp(np.log(scales)) > 0.2


def test_laplace_marginal_prefers_the_generating_latent():
    rng = np.random.default_rng(2)
    n_time = 300
    X = rng.standard_normal((3, 2, n_time)) * 0.5
    y = rng.poisson(np.exp(0.5 + np.array([0.8, -0.6]) @ X[1]))
    logm, c_hat, _ = S.laplace_log_marginal(y.astype(float), np.full((3, n_time), 0.5), X, 1000.0, 1.0)
    assert np.argmax(logm) == 1
    np.testing.assert_allclose(c_hat[1], [0.8, -0.6], atol=0.15)


@pytest.mark.oracle
def test_polya_gamma_regression_block_matches_pymc_nuts():
    """(delta_i, c_i) | latents: our PG-augmented Gibbs block vs PyMC's NUTS, same model."""
    pm = pytest.importorskip("pymc")
    rng = np.random.default_rng(3)
    n_time, r = 150, 8.0
    X = rng.standard_normal((1, 3, n_time)) * 0.4
    X[0, 0] = 0.0  # baseline row
    true = np.array([0.7, 0.5, -0.4])
    lam = np.exp(true[0] + true[1:] @ X[0, 1:])
    y = rng.negative_binomial(r, r / (r + lam))[None].astype(float)
    delta, C = np.zeros(1), np.zeros((1, 2))
    draws = []
    for it in range(1500):
        delta, C = S.sample_delta_loading(rng, y, np.full((1, 1), r), np.zeros(1, int), X, delta, C, 1.0, 1.0)
        if it >= 300:
            draws.append([delta[0], *C[0]])
    ours = np.array(draws)
    with pm.Model():
        beta = pm.Normal("beta", 0.0, 1.0, shape=3)
        mu = pm.math.exp(beta[0] + pm.math.dot(beta[1:], X[0, 1:]))
        pm.NegativeBinomial("y", mu=mu, alpha=r, observed=y[0])
        trace = pm.sample(
            draws=1000, tune=500, chains=1, random_seed=3, progressbar=False, compute_convergence_checks=False
        )
    ref = trace.posterior["beta"].values.reshape(-1, 3)
    np.testing.assert_allclose(ours.mean(0), ref.mean(0), atol=0.04)
    np.testing.assert_allclose(ours.std(0), ref.std(0), rtol=0.2)


def test_compiled_small_matrix_solver_matches_lapack():
    from neuroflow.bicluster import _linalg as K

    rng = np.random.default_rng(0)
    for d in (1, 3, 9):
        a = rng.normal(size=(d, d))
        a[0] *= 1e-4  # a tiny leading pivot forces row exchanges
        rhs = rng.normal(size=(d, 4))
        x, logdet = K.solve_logdet(a, rhs)
        np.testing.assert_allclose(x, np.linalg.solve(a, rhs), rtol=1e-8, atol=1e-10)
        assert logdet == pytest.approx(np.linalg.slogdet(a)[1], abs=1e-9)
    with pytest.raises(np.linalg.LinAlgError):
        K.solve_logdet(np.zeros((2, 2)), np.eye(2))


def test_sampled_candidate_latents_follow_the_posterior_marginals():
    rng = np.random.default_rng(1)
    ch = S._Chain(np.ones((4, 40), dtype=np.int64), S.SamplerSettings.from_dict(), rng)
    mean = rng.normal(size=(40, 3))
    root = rng.normal(size=(40, 3, 3)) * 0.3
    cov = root @ np.swapaxes(root, -1, -2) + 0.01 * np.eye(3)
    draws = np.stack([ch._candidate(mean, cov) for _ in range(4000)])  # (n, 3, T)
    np.testing.assert_allclose(draws.mean(0), mean.T, atol=0.05)
    np.testing.assert_allclose(np.cov(draws[:, :, 7].T), cov[7], atol=0.05)
    flat = cov.copy()
    flat[3] = np.diag([0.04, 0.0, -1e-12])  # singular, rounding-indefinite
    assert np.all(np.isfinite(ch._candidate(mean, flat)))
    mean_only = S._Chain(
        np.ones((4, 40), dtype=np.int64), S.SamplerSettings.from_dict(dict(candidate_latent="mean")), rng
    )
    np.testing.assert_array_equal(mean_only._candidate(mean, cov), mean.T)


def _partition_problem(n_neur=4, n_time=8, q=2, seed=1):
    rng = np.random.default_rng(seed)
    states = rng.integers(0, 2, n_time)
    a = rng.normal(size=(n_neur, q))
    om, kap = rng.gamma(2.0, 0.5, (n_neur, n_time)), rng.normal(size=(n_neur, n_time))
    site_j = om[:, :, None, None] * (a[:, :, None] * a[:, None, :])[:, None]
    site_h = kap[:, :, None] * a[:, None, :]
    block = (
        np.stack([0.9 * np.eye(q), 0.3 * np.eye(q)]),
        rng.normal(size=(2, q)) * 0.1,
        np.stack([0.2 * np.eye(q), 0.5 * np.eye(q)]),
    )
    return states, site_j, site_h, block


def test_split_merge_leaves_the_exact_partition_posterior_invariant():
    """All 15 partitions of 4 neurons: p(z) ∝ MFM prior x Kalman marginal of each cluster's
    sites; the split-merge chain alone must visit them with these frequencies (a wrong
    proposal probability or prior ratio moves mass by far more than the tolerance)."""
    import itertools

    states, site_j, site_h, (A, b, Q) = _partition_problem()
    gamma, t_max = 1.0, 4
    log_v = S.log_v_mfm(4, t_max, gamma, 0.3)

    def canon(z):
        seen = {}
        return tuple(seen.setdefault(v, len(seen)) for v in z)

    parts = sorted({canon(z) for z in itertools.product(range(4), repeat=4)})

    def log_post(z):
        z = np.array(z)
        out = log_v[z.max() + 1]
        for k in range(z.max() + 1):
            m = z == k
            out += (
                gammaln(gamma + m.sum())
                - gammaln(gamma)
                + S.kalman_loglik(site_j[m].sum(0), site_h[m].sum(0), A, b, Q, states)
            )
        return out

    lp = np.array([log_post(z) for z in parts])
    exact = np.exp(lp - logsumexp(lp))
    rng = np.random.default_rng(2)
    z, hits, n_moves = np.zeros(4, dtype=int), dict.fromkeys(parts, 0), 5000
    for _ in range(n_moves):
        k = z.max() + 1
        blocks = tuple(np.repeat(x[None], k, 0) for x in (A, b, Q))
        _, _, z, _ = S.split_merge_move(rng, z, site_j, site_h, blocks, states, log_v, gamma, t_max)
        hits[canon(z)] += 1
    freq = np.array([hits[p] for p in parts]) / n_moves
    assert 0.5 * np.abs(freq - exact).sum() < 0.04


def test_split_merge_separates_two_merged_clusters():
    """Started with two simulated clusters merged into one, Neal's algorithm 8 alone keeps
    them merged (a prior-drawn latent for a new cluster fits no neuron); the split-merge
    moves separate them."""
    ds = simulate_bicluster(n_clusters=2, neurons_per_cluster=10, n_time=500, random_state=0)
    y, truth = ds["counts"].values, ds["true_cluster"].values
    found = {}
    for every in (0, 1):
        st = S.SamplerSettings.from_dict(dict(n_iter=25, burn_in=5, state_warmup=5, split_merge_every=every))
        out = S.run_chain(y, st, random_state=4, init_labels=np.zeros(truth.size, int))
        found[every] = max(adjusted_rand_score(truth, z) for z in out["z"])
    assert found[0] < 0.5 and found[1] == 1.0


@pytest.mark.slow
def test_sampler_recovers_clusters_and_their_number_on_the_papers_simulation():
    """The paper's size (3 clusters x 10 neurons, T = 500, 2 states, NB r = 10), seed 0,
    six chains of 60 sweeps (about 5 s each, idle).

    Neuron clusters and their number are recovered by most chains within 60 sweeps by
    Neal's algorithm 8 alone (split-merge moves off here); the others split a true cluster
    (K = 4 or 5, ARI 0.83-0.86): chains in another mode, which chains of 2,000 sweeps visit
    and leave and the convergence checks are to catch (bench notes). With the dependency
    versions of 2026-12 (numpy 2.4.6, scipy 1.17.1, numba 0.65.1) streams 0-5 give neuron
    ARI 1, 0.86, 0.83, 1, 1, 1 and state ARI 0.63, 0.77, 0.58, 0.65, 0.59, 0.60 with the
    default boundary moves (0.45-0.60, median 0.53, without them; 4 of 6 exact either way).
    The states are not learned to the truth in 60 sweeps: over 2 x 10,000 sweeps
    (bench/bench_bicluster.py) state ARI 0.75-0.98 on seeds 0-4.
    """
    ds = simulate_bicluster(random_state=0)
    # starts from 6 groups
    st = S.SamplerSettings.from_dict(dict(n_iter=60, burn_in=30, state_warmup=15, split_merge_every=0))
    state_ari, neuron_ari, n_found = [], [], []
    for stream in range(6):
        out = S.run_chain(ds["counts"].values, st, random_state=stream)
        z_hat, _ = point_estimate(out["z"])
        neuron_ari.append(adjusted_rand_score(ds["true_cluster"].values, z_hat))
        n_found.append(z_hat.max() + 1)
        s_hat, _ = point_estimate(out["state"], loss="pear")
        state_ari.append(adjusted_rand_score(ds["true_state"].values, s_hat))
        assert out["latent"].shape[1:] == (out["n_clusters"].max(), 3, 500)
        assert np.all(np.isfinite(out["log_rate_mean"]))
    exact = [a == 1.0 and k == 3 for a, k in zip(neuron_ari, n_found)]
    assert sum(exact) >= 3, (neuron_ari, n_found)  # most chains: the true partition
    assert min(neuron_ari) >= 0.8, neuron_ari  # the others: one true cluster split
    assert np.median(state_ari) >= 0.45, state_ari  # chance 0


def test_chain_started_at_the_truth_keeps_clusters_and_states():
    """start_at: the sampler started at a simulation's true parameters stays near them.

    Paper-size simulation, seed 2 (where the state posterior is sharp): after 20 sweeps the
    labels are still the true ones and the state path agrees with the truth (ARI >= 0.8);
    wrong shapes are refused with the argument's name.
    """
    ds = simulate_bicluster(random_state=2)
    ts, tz = ds["true_state"].values, ds["true_cluster"].values
    _, A, b, Q = fitted_true_dynamics(ds)
    Q = Q + 1e-6 * np.eye(Q.shape[1])
    st = S.SamplerSettings.from_dict(dict(n_iter=20, burn_in=0))
    ch = S._Chain(S._check_counts(ds["counts"].values), st, np.random.default_rng(0), init_labels=tz)
    with pytest.raises(ValueError, match="start_at: x has shape"):
        ch.start_at(
            ds["true_delta"].values, ds["true_loading"].values, ds["true_latent"].values[:2], ts, A, b, Q
        )
    ch.start_at(
        ds["true_delta"].values,
        ds["true_loading"].values,
        ds["true_latent"].values,
        ts,
        A,
        b,
        Q,
        r=np.full(tz.size, 10.0),
    )
    for _ in range(20):
        ch.sweep()
    assert adjusted_rand_score(tz, ch.z) == 1.0
    assert adjusted_rand_score(ts, ch.states) >= 0.8


def test_same_seed_gives_identical_chains():
    ds = simulate_bicluster(neurons_per_cluster=3, n_time=60, random_state=5)
    st = S.SamplerSettings.from_dict(dict(n_iter=6, burn_in=2, state_warmup=2))
    a = S.run_chain(ds["counts"].values, st, random_state=11)
    b = S.run_chain(ds["counts"].values, st, random_state=11)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_a_chain_run_on_holds_the_draws_of_one_longer_run():
    """Run until converged continues chains: a chain run 7 sweeps, sent through pickle (a
    worker process) and run 9 more holds exactly the draws of one 16-sweep run."""
    import pickle

    ds = simulate_bicluster(neurons_per_cluster=3, n_time=60, random_state=5)
    y = ds["counts"].values
    st = S.SamplerSettings.from_dict(dict(n_iter=16, burn_in=5, thin=2, state_warmup=2))
    whole = S.run_chain(y, st, random_state=11)
    run = pickle.loads(pickle.dumps(S.ChainRun(y, st, 11).run(7)))
    assert run.sweeps == 7 and len(run.latents) == 1  # sweep 7 is the first kept
    parts = run.run(9).result()
    assert parts["z"].shape[0] == (16 - 5) // 2
    for key in whole:
        assert parts[key].dtype == whole[key].dtype
        np.testing.assert_array_equal(parts[key], whole[key])


@pytest.mark.parametrize(
    "counts, needle",
    [
        (np.ones(10), "2-D"),
        (-np.ones((3, 10)), "non-negative"),
        (np.full((3, 10), 0.5), "integers"),
    ],
)
def test_bad_counts_raise_clear_errors(counts, needle):
    with pytest.raises(ValueError, match=needle):
        S.run_chain(counts, S.SamplerSettings.from_dict(dict(n_iter=2, burn_in=0)))


def test_settings_errors_name_the_config_key():
    with pytest.raises(ValueError, match="bicluster.sampler.burn_in"):
        S.SamplerSettings.from_dict({"n_iter": 5, "burn_in": 5})
    with pytest.raises(ValueError, match="unknown key"):
        S.SamplerSettings.from_dict({"n_itr": 5})
    with pytest.raises(ValueError, match="bicluster.sampler.boundary_max_shift: must be >= 1"):
        S.SamplerSettings.from_dict({"boundary_max_shift": 0})


def test_cholesky_site_score_and_filter_update_match_the_dense_formulas():
    """The compiled Gaussian site score / update (Cholesky forms, LU fallback) equal the
    direct formulas, also with a singular site precision and a non-PD prior covariance."""
    from neuroflow.bicluster import _kernels as K

    rng = np.random.default_rng(3)
    d = 5
    root = rng.normal(size=(d, d))
    mu, h = rng.normal(size=d), rng.normal(size=d)
    jj_rank2 = (lambda a: a @ a.T)(rng.normal(size=(d, 2)))  # singular (PSD) site
    for sig, jj in (
        (root @ root.T + 0.1 * np.eye(d), jj_rank2),
        (root @ root.T + 0.1 * np.eye(d), jj_rank2 + np.eye(d)),
        (np.diag([1.0, 0.5, -1e-3, 2.0, 1.0]), jj_rank2 + np.eye(d)),
    ):
        M = np.eye(d) + sig @ jj
        g = h - jj @ mu
        want = (
            -0.5 * mu @ jj @ mu
            + h @ mu
            - 0.5 * np.linalg.slogdet(M)[1]
            + 0.5 * g @ np.linalg.solve(M, sig) @ g
        )
        bufs = [np.empty((d, d)) for _ in range(4)] + [np.empty(d), np.empty(d)]
        got, _ = K.site_score(mu, sig, jj, h, *bufs)
        assert got == pytest.approx(want, abs=1e-9)
        m, p = K.filter_update(mu, sig, jj, h)
        p_want = np.linalg.solve(M, sig)
        np.testing.assert_allclose(p, 0.5 * (p_want + p_want.T), atol=1e-10)
        np.testing.assert_allclose(m, mu + p_want @ g, atol=1e-10)
