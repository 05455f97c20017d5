"""FC operator bank: every operator against a reference library or an analytic value,
symmetry of the undirected ones, direction recovery by the directed ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from neuroflow.fc.operators import (
    FAMILIES,
    compute_operators,
    conditional_granger,
    distance_correlation,
    kendall,
    lagged_correlation,
    operator_bank,
    pairwise_granger,
    select_operators,
    spearman,
    spectral_measures,
)

BANK = operator_bank()
RNG = np.random.default_rng(7)
# 6 samples of 5 correlated regions x 70 volumes (a random mixing of white noise)
MIX = RNG.standard_normal((5, 5))
X = np.einsum("ij,njt->nit", MIX, RNG.standard_normal((6, 5, 70)))


def lagged_pair(n_samples=4, n_t=400, coef=0.8, seed=0):
    """x0 (AR(1), 0.5) drives x1 one sample later (x1(t) = coef x0(t-1) + noise); x2 independent."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 3, n_t))
    for t in range(1, n_t):
        X[:, 0, t] = 0.5 * X[:, 0, t - 1] + rng.standard_normal(n_samples)
        X[:, 1, t] = coef * X[:, 0, t - 1] + 0.6 * rng.standard_normal(n_samples)
    return X


def test_bank_has_at_least_150_documented_operators_in_every_family():
    assert len(BANK) >= 150
    assert {op.family for op in BANK.values()} == set(FAMILIES)
    for op in BANK.values():
        assert op.description and op.library and isinstance(op.directed, bool)
        assert op.name.replace("_", "").isalnum() and op.name.islower()


@pytest.mark.parametrize("name", sorted(BANK))
def test_every_operator_returns_one_finite_matrix_per_sample(name):
    out = BANK[name](X, 0.72)
    assert out.shape == (6, 5, 5)
    off = ~np.eye(5, dtype=bool)
    assert np.isfinite(out[:, off]).all()


@pytest.mark.parametrize("name", sorted(n for n, op in BANK.items() if not op.directed))
def test_undirected_operators_give_symmetric_matrices(name):
    out = BANK[name](X, 0.72)
    np.testing.assert_allclose(out, out.transpose(0, 2, 1), atol=1e-8)


@pytest.mark.parametrize("name", sorted(n for n, op in BANK.items() if not op.signed))
def test_unsigned_operators_are_non_negative(name):
    off = ~np.eye(5, dtype=bool)
    assert (BANK[name](X, 0.72)[:, off] >= -1e-12).all()


#: Directed operators with their own direction tests: contemporaneous or deterministic
#: coupling (tests/test_fc_operators_pairs.py) and the phase slope index, whose
#: per-frequency coherency from 3 tapers is too noisy for the 3x margin below
#: (tests/test_fc_operators_bands.py).
NOT_LAGGED = ("igci", "reci", "ccm_e1", "ccm_e3") + tuple(n for n in BANK if n.startswith("psi_"))


@pytest.mark.parametrize("name", sorted(n for n, op in BANK.items() if op.directed and n not in NOT_LAGGED))
def test_directed_operators_recover_the_direction_of_a_lagged_coupling(name):
    fc = BANK[name](lagged_pair(), 1.0)
    if np.allclose(fc, -fc.transpose(0, 2, 1)):  # antisymmetric (PSI): the sign is the direction
        assert (fc[:, 0, 1] > 0).all()
    fc = np.abs(fc)
    # source 0 -> target 1 is stronger than 1 -> 0 (if not antisymmetric) and than the independent pairs
    assert (fc[:, 0, 1] >= fc[:, 1, 0]).all()
    assert (fc[:, 0, 1] > 3 * np.abs(fc[:, [0, 2, 1, 2], [2, 0, 2, 1]]).max(axis=1)).all()


@pytest.mark.parametrize(
    "kind, est",
    [
        (k, e)
        for k in ("covariance", "correlation", "precision", "partial correlation")
        for e in ("empirical", "ledoitwolf", "oas", "shrunk")
    ],
)
def test_covariance_kinds_equal_nilearn_with_sklearn_estimators(kind, est):
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.covariance import OAS, EmpiricalCovariance, LedoitWolf, ShrunkCovariance

    prefix = {
        "covariance": "cov",
        "correlation": "corr",
        "precision": "prec",
        "partial correlation": "pcorr",
    }[kind]
    estimator = {
        "empirical": EmpiricalCovariance(),
        "ledoitwolf": LedoitWolf(),
        "oas": OAS(),
        "shrunk": ShrunkCovariance(shrinkage=0.1),
    }[est]
    ref = ConnectivityMeasure(cov_estimator=estimator, kind=kind, standardize=False)
    ref = np.stack(ref.fit_transform([x.T for x in X]))
    np.testing.assert_allclose(BANK[f"{prefix}_{est}"](X), ref, rtol=1e-10, atol=1e-12)


def test_pearson_equals_numpy_corrcoef():
    ref = np.stack([np.corrcoef(x) for x in X])
    np.testing.assert_allclose(BANK["corr_empirical"](X), ref, atol=1e-12)


def test_graphical_lasso_partial_correlation_equals_sklearn():
    from nilearn.connectome import prec_to_partial
    from sklearn.covariance import GraphicalLasso

    z = (X - X.mean(-1, keepdims=True)) / X.std(-1, keepdims=True)
    prec = np.stack([GraphicalLasso(alpha=0.1).fit(s.T).precision_ for s in z])
    np.testing.assert_allclose(BANK["prec_glasso"](X), prec, atol=1e-8)
    np.testing.assert_allclose(
        BANK["pcorr_glasso"](X), np.stack([prec_to_partial(p) for p in prec]), atol=1e-8
    )


def test_tangent_equals_nilearn_fit_on_all_samples():
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.covariance import LedoitWolf

    ref = ConnectivityMeasure(cov_estimator=LedoitWolf(), kind="tangent", standardize=False)
    np.testing.assert_allclose(
        BANK["tangent_ledoitwolf"](X), np.stack(ref.fit_transform([x.T for x in X])), atol=1e-10
    )


def test_spearman_and_kendall_equal_scipy_with_ties():
    from scipy.stats import kendalltau, spearmanr

    Xt = np.round(X[:2], 0)  # many ties
    sp, kt = spearman(Xt), kendall(Xt)
    for n in range(2):
        for i in range(5):
            for j in range(5):
                assert sp[n, i, j] == pytest.approx(spearmanr(Xt[n, i], Xt[n, j]).statistic, abs=1e-12)
                assert kt[n, i, j] == pytest.approx(kendalltau(Xt[n, i], Xt[n, j]).statistic, abs=1e-12)


def rank_windows():
    """4 windows x 6 regions x 40 volumes: continuous, heavily tied (rounded), a constant
    region, and a shifted and scaled copy (offset 1e4, scale 1e3)."""
    rng = np.random.default_rng(11)
    W = np.einsum("ij,njt->nit", rng.standard_normal((6, 6)), rng.standard_normal((4, 6, 40)))
    W[1] = np.round(W[1])  # many ties in every region
    W[2, :3] = np.round(W[2, :3] / 2)
    W[2, 4] = 3.0  # a constant region
    W[3] = 1e4 + 1e3 * W[0]
    return W


def dcor_reference(x, y):
    """Distance correlation of two series from their double-centred distance matrices."""

    def centred(v):
        d = np.abs(v[:, None] - v[None, :])
        return d - d.mean(axis=0)[None, :] - d.mean(axis=1)[:, None] + d.mean()

    A, B = centred(x), centred(y)
    dvar2 = (A * A).mean() * (B * B).mean()
    return np.sqrt((A * B).mean() / np.sqrt(dvar2)) if dvar2 > 0 else 0.0


def test_kendall_equals_scipy_tau_b_with_ties_and_zero_for_a_constant_region():
    from scipy.stats import kendalltau

    W = rank_windows()
    kt = kendall(W)
    for n in range(W.shape[0]):
        for i in range(6):
            for j in range(6):
                if n == 2 and 4 in (i, j):
                    assert kt[n, i, j] == 0.0  # scipy: NaN (no untied pair)
                else:
                    ref = kendalltau(W[n, i], W[n, j], variant="b").statistic
                    assert kt[n, i, j] == pytest.approx(ref, abs=1e-10)


def test_distance_correlation_equals_the_per_pair_double_centred_definition():
    W = rank_windows()
    dc = distance_correlation(W)
    for n in range(W.shape[0]):
        for i in range(6):
            for j in range(6):
                assert dc[n, i, j] == pytest.approx(dcor_reference(W[n, i], W[n, j]), abs=1e-10)
    assert (dc[2, 4] == 0).all() and (dc[2, :, 4] == 0).all()


def test_pair_gram_operators_do_not_depend_on_the_buffer_split(monkeypatch):
    import neuroflow.fc.operators.information as ops

    W = rank_windows()
    whole_kt, whole_dc = kendall(W), distance_correlation(W)
    # 3 KB: one window per chunk, its 780 time pairs in blocks of <= 125 (kendall) / 62 (dcor)
    monkeypatch.setattr(ops, "_PAIR_BUFFER_BYTES", 3e3)
    assert len(list(ops._lag_blocks(40, 62))) > 10
    np.testing.assert_array_equal(kendall(W), whole_kt)
    monkeypatch.setattr(ops, "_FLOAT32_EXACT_SUMS", 100)  # the double-precision path
    np.testing.assert_array_equal(kendall(W), whole_kt)
    np.testing.assert_allclose(distance_correlation(W), whole_dc, atol=1e-12)


def test_gaussian_mutual_information_matches_the_analytic_value():
    rho = 0.6
    rng = np.random.default_rng(1)
    a = rng.standard_normal(200_000)
    b = rho * a + np.sqrt(1 - rho**2) * rng.standard_normal(a.size)
    mi = BANK["mi_gaussian"](np.stack([a, b])[None])[0, 0, 1]
    assert mi == pytest.approx(-0.5 * np.log(1 - rho**2), rel=0.01)


def test_distance_correlation_matches_the_bivariate_gaussian_closed_form():
    # Szekely et al. 2007, Theorem 7
    rho = 0.7
    rng = np.random.default_rng(2)
    a = rng.standard_normal(2500)
    b = rho * a + np.sqrt(1 - rho**2) * rng.standard_normal(a.size)
    num = rho * np.arcsin(rho) + np.sqrt(1 - rho**2) - rho * np.arcsin(rho / 2) - np.sqrt(4 - rho**2) + 1
    expected = np.sqrt(num / (1 + np.pi / 3 - np.sqrt(3)))
    got = distance_correlation(np.stack([a, b])[None])[0, 0, 1]
    assert got == pytest.approx(expected, abs=0.02)


def test_distance_correlation_detects_dependence_pearson_misses():
    t = np.linspace(-1, 1, 201)
    x = np.stack([t, t**2])[None]
    assert abs(np.corrcoef(x[0])[0, 1]) < 1e-10
    assert distance_correlation(x)[0, 0, 1] > 0.4


def test_lagged_correlation_equals_corrcoef_of_shifted_segments():
    for lag in (1, 3, -2):
        out = lagged_correlation(X, lag)
        for n in range(2):
            i, j = 1, 3
            if lag >= 0:
                ref = np.corrcoef(X[n, i, : 70 - lag], X[n, j, lag:])[0, 1]
            else:
                ref = np.corrcoef(X[n, i, -lag:], X[n, j, : 70 + lag])[0, 1]
            assert out[n, i, j] == pytest.approx(ref, abs=1e-12)


def test_var1_coefficients_equal_statsmodels():
    from statsmodels.tsa.api import VAR

    Xl = lagged_pair(n_samples=2, n_t=120)
    ours = BANK["var1"](Xl)
    for n in range(2):
        ref = VAR(Xl[n].T).fit(1, trend="c").coefs[0]  # [target, source]
        np.testing.assert_allclose(ours[n], ref.T, atol=1e-10)


def _ols_rss(y, Z):
    import statsmodels.api as sm

    return float(sm.OLS(y, sm.add_constant(Z)).fit().ssr)


@pytest.mark.parametrize("lag", [1, 2])
def test_conditional_granger_equals_restricted_statsmodels_refits(lag):
    Xl = lagged_pair(n_samples=1, n_t=150)[0]
    G = conditional_granger(Xl[None], lag)[0]
    T = Xl.shape[1]
    lagged = {k: Xl[:, lag - k : T - k].T for k in range(1, lag + 1)}  # (T', regions)
    for src, tgt in [(0, 1), (1, 0), (2, 1)]:
        y = Xl[tgt, lag:]
        full = np.hstack([lagged[k] for k in lagged])
        keep = [c for k in lagged for c in range(3) if c != src]
        restricted = np.hstack([lagged[k][:, [c for c in range(3) if c != src]] for k in lagged])
        assert len(keep) == restricted.shape[1]
        ref = np.log(_ols_rss(y, restricted) / _ols_rss(y, full))
        assert G[src, tgt] == pytest.approx(ref, rel=1e-8)


def test_pairwise_granger_equals_bivariate_statsmodels_refits():
    Xl = lagged_pair(n_samples=1, n_t=150)[0]
    G = pairwise_granger(Xl[None])[0]
    for src, tgt in [(0, 1), (1, 0), (2, 0)]:
        y = Xl[tgt, 1:]
        own = Xl[tgt, :-1, None]
        both = np.hstack([own, Xl[src, :-1, None]])
        ref = np.log(_ols_rss(y, own) / _ols_rss(y, both))
        assert G[src, tgt] == pytest.approx(ref, rel=1e-8)


def test_coherence_in_a_one_bin_band_equals_mne_connectivity():
    from mne_connectivity import spectral_connectivity_epochs

    sfreq, n_t = 1 / 0.72, 70
    f = 5 / (n_t / sfreq)  # the 5th frequency bin
    band = (f - 0.2 / (n_t / sfreq), f + 0.2 / (n_t / sfreq))
    with pytest.warns(UserWarning, match="holds one frequency bin"):
        ours = spectral_measures(X[:1], sfreq, *band, nw=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        con = spectral_connectivity_epochs(
            X[:1],
            method=["coh", "imcoh"],
            sfreq=sfreq,
            mode="multitaper",
            mt_bandwidth=2 * 2.0 * sfreq / n_t,
            fmin=band[0],
            fmax=band[1],
            faverage=True,
            verbose=False,
        )
    coh, imcoh = (c.get_data(output="dense")[:, :, 0] for c in con)
    low = np.tril_indices(5, -1)
    np.testing.assert_allclose(ours["coh"][0][low], coh[low], rtol=1e-6)
    np.testing.assert_allclose(ours["imcoh"][0][low], np.abs(imcoh[low]), rtol=1e-6, atol=1e-12)


def test_phase_measures_separate_lagged_from_zero_lag_coupling():
    # shared band-limited signal s: region 1 = s shifted by 90 degrees at every frequency
    # (Hilbert transform), region 2 = s with zero lag (volume-conduction-like), + noise
    from scipy.signal import butter, hilbert, sosfiltfilt

    sfreq, n_t = 1.0, 600
    rng = np.random.default_rng(3)
    s = sosfiltfilt(butter(4, [0.06, 0.14], btype="band", fs=sfreq, output="sos"), rng.standard_normal(n_t))
    s /= s.std()
    Xs = np.stack([s, np.imag(hilbert(s)), s]) + 0.3 * rng.standard_normal((3, n_t))
    m = spectral_measures(Xs[None], sfreq, 0.08, 0.12, nw=3.0)
    assert m["plv"][0, 0, 1] > 0.9 and m["plv"][0, 0, 2] > 0.9
    assert m["pli"][0, 0, 1] > 0.9 and m["pli"][0, 0, 2] < 0.5
    assert m["wpli"][0, 0, 1] > 0.9 and m["wpli"][0, 0, 2] < 0.5
    assert m["imcoh"][0, 0, 1] > 0.7 and m["imcoh"][0, 0, 2] < 0.2
    assert m["coh"][0, 0, 2] > 0.9


def test_spectral_operators_group_samples_by_repetition_time():
    t_r = np.array([0.72, 0.72, 2.0, 2.0, 0.72, 2.0])
    mixed = BANK["coh_slow3"](X, t_r)
    np.testing.assert_allclose(mixed[[0, 1, 4]], BANK["coh_slow3"](X[[0, 1, 4]], 0.72))
    np.testing.assert_allclose(mixed[[2, 3, 5]], BANK["coh_slow3"](X[[2, 3, 5]], 2.0))


def test_compute_operators_shares_work_and_matches_single_calls():
    names = ["corr_empirical", "mi_gaussian", "coh_slow3", "plv_slow3", "gc_cond_lag1"]
    stack = compute_operators(X, 0.72, names, BANK)
    for k, name in enumerate(names):
        np.testing.assert_allclose(stack[k], BANK[name](X, 0.72))


def test_select_operators_resolves_families_and_names_unknown_ones():
    assert select_operators(BANK, "all") == list(BANK)
    assert set(select_operators(BANK, ["rank"])) == {"spearman", "kendall", "spearman_sq", "kendall_sq"}
    with pytest.raises(ValueError, match="unknown operator.*nonsense"):
        select_operators(BANK, ["corr_empirical", "nonsense"])


def test_bad_samples_raise_clear_errors():
    with pytest.raises(ValueError, match="shape"):
        BANK["corr_empirical"](X[0])
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BANK["corr_empirical"](bad)
    with pytest.raises(ValueError, match="more than"):
        conditional_granger(X[:, :, :8], 2)
    with pytest.raises(ValueError, match="holds no frequency bin"):
        spectral_measures(X, 1.0, 0.70, 0.71)


def test_max_lagged_correlation_picks_the_largest_magnitude_lag():
    out = BANK["xcorr_max_lag2"](X)
    for n in range(2):
        cands = []
        for lag in range(-2, 3):
            a, b = (X[n, 1, : 70 - lag], X[n, 3, lag:]) if lag >= 0 else (X[n, 1, -lag:], X[n, 3, : 70 + lag])
            cands.append(np.corrcoef(a, b)[0, 1])
        assert out[n, 1, 3] == pytest.approx(cands[int(np.argmax(np.abs(cands)))], abs=1e-12)


def test_difference_correlation_and_ledoitwolf_mi_follow_their_definitions():
    ref = np.stack([np.corrcoef(np.diff(x, axis=-1)) for x in X])
    np.testing.assert_allclose(BANK["pearson_diff"](X), ref, atol=1e-12)
    r = BANK["corr_ledoitwolf"](X)
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose(
        BANK["mi_gaussian_ledoitwolf"](X)[:, off], -0.5 * np.log(1 - r[:, off] ** 2), rtol=1e-10, atol=1e-12
    )
