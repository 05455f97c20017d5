"""Sampler blocks of the bi-clustering model: known answers, a PyMC oracle, recovery."""

import numpy as np
import pytest
from scipy.special import gammaln, logsumexp
from sklearn.metrics import adjusted_rand_score

from neuroflow.bicluster import sampler as S
from neuroflow.bicluster.simulate import simulate_bicluster
from neuroflow.bicluster.summarize import point_estimate


def test_crt_counts_have_the_known_mean():
    rng = np.random.default_rng(0)
    y, r = np.full(20000, 7), 2.5
    expected = sum(r / (r + j) for j in range(7))
    assert S.crt(rng, y, r).mean() == pytest.approx(expected, rel=0.02)


def test_mfm_coefficients_match_the_direct_series():
    n, gamma, p = 12, 1.0, 0.2
    got = S.log_v_mfm(n, 5, gamma, p)
    for t in range(1, 6):
        k = np.arange(t, 4000)
        terms = (gammaln(k + 1) - gammaln(k - t + 1) + gammaln(gamma * k) - gammaln(gamma * k + n)
                 + np.log(p) + (k - 1) * np.log1p(-p))
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
    draws = np.stack([S.ffbs_latent(rng, kappa, omega, loading, A, b, Q, states)
                      for _ in range(800)])
    j_obs = (omega.T[:, :, None] * loading[None]).transpose(0, 2, 1) @ loading
    mean, cov = S.batched_smoother(j_obs[None], (kappa.T @ loading)[None], A[None], b[None],
                                   Q[None], states)
    se = np.sqrt(np.diagonal(cov[0], axis1=1, axis2=2) / draws.shape[0])
    assert np.all(np.abs(draws.mean(0) - mean[0]) < 4.5 * se + 1e-3)
    np.testing.assert_allclose(draws.var(0), np.diagonal(cov[0], axis1=1, axis2=2), rtol=0.25)


def test_laplace_marginal_prefers_the_generating_latent():
    rng = np.random.default_rng(2)
    n_time = 300
    X = rng.standard_normal((3, 2, n_time)) * 0.5
    y = rng.poisson(np.exp(0.5 + np.array([0.8, -0.6]) @ X[1]))
    logm, c_hat, _ = S.laplace_log_marginal(y.astype(float), np.full((3, n_time), 0.5), X, 1000.0,
                                            1.0)
    assert np.argmax(logm) == 1
    np.testing.assert_allclose(c_hat[1], [0.8, -0.6], atol=0.15)


@pytest.mark.oracle
def test_polya_gamma_regression_block_matches_pymc_nuts():
    """(delta_i, c_i) | latents: our PG-augmented Gibbs block vs PyMC's NUTS, same model."""
    pm = pytest.importorskip("pymc")
    rng = np.random.default_rng(3)
    n_time, r = 150, 8.0
    X = rng.standard_normal((1, 3, n_time)) * 0.4
    X[0, 0] = 0.0                                     # baseline row
    true = np.array([0.7, 0.5, -0.4])
    lam = np.exp(true[0] + true[1:] @ X[0, 1:])
    y = rng.negative_binomial(r, r / (r + lam))[None].astype(float)
    delta, C = np.zeros(1), np.zeros((1, 2))
    draws = []
    for it in range(1500):
        delta, C = S.sample_delta_loading(rng, y, np.full((1, 1), r), np.zeros(1, int), X, delta,
                                          C, 1.0, 1.0)
        if it >= 300:
            draws.append([delta[0], *C[0]])
    ours = np.array(draws)
    with pm.Model():
        beta = pm.Normal("beta", 0.0, 1.0, shape=3)
        mu = pm.math.exp(beta[0] + pm.math.dot(beta[1:], X[0, 1:]))
        pm.NegativeBinomial("y", mu=mu, alpha=r, observed=y[0])
        trace = pm.sample(draws=1000, tune=500, chains=1, random_seed=3, progressbar=False,
                          compute_convergence_checks=False)
    ref = trace.posterior["beta"].values.reshape(-1, 3)
    np.testing.assert_allclose(ours.mean(0), ref.mean(0), atol=0.04)
    np.testing.assert_allclose(ours.std(0), ref.std(0), rtol=0.2)


def test_sampler_recovers_clusters_and_their_number_on_a_small_simulation():
    """3 clusters x 8 neurons, T = 300 (the paper's generator, smaller): ARI >= 0.9, K = 3."""
    ds = simulate_bicluster(neurons_per_cluster=8, n_time=300, random_state=0)
    st = S.SamplerSettings(n_iter=60, burn_in=30, state_warmup=15)   # starts from 6 groups
    out = S.run_chain(ds["counts"].values, st, random_state=0)
    z_hat, _ = point_estimate(out["z"])
    assert adjusted_rand_score(ds["true_cluster"].values, z_hat) >= 0.9
    assert z_hat.max() + 1 == 3
    s_hat, _ = point_estimate(out["state"])
    # states: clearly above chance on this short chain (the 0.9 is not reached yet)
    assert adjusted_rand_score(ds["true_state"].values, s_hat) >= 0.25
    assert out["latent"].shape[1:] == (out["n_clusters"].max(), 3, 300)
    assert np.all(np.isfinite(out["log_rate_mean"]))


def test_same_seed_gives_identical_chains():
    ds = simulate_bicluster(neurons_per_cluster=3, n_time=60, random_state=5)
    st = S.SamplerSettings(n_iter=6, burn_in=2, state_warmup=2)
    a = S.run_chain(ds["counts"].values, st, random_state=11)
    b = S.run_chain(ds["counts"].values, st, random_state=11)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("counts, needle", [
    (np.ones(10), "2-D"),
    (-np.ones((3, 10)), "non-negative"),
    (np.full((3, 10), 0.5), "integers"),
])
def test_bad_counts_raise_clear_errors(counts, needle):
    with pytest.raises(ValueError, match=needle):
        S.run_chain(counts, S.SamplerSettings(n_iter=2, burn_in=0))


def test_settings_errors_name_the_config_key():
    with pytest.raises(ValueError, match="bicluster.sampler.burn_in"):
        S.SamplerSettings.from_dict({"n_iter": 5, "burn_in": 5})
    with pytest.raises(ValueError, match="unknown key"):
        S.SamplerSettings.from_dict({"n_itr": 5})
