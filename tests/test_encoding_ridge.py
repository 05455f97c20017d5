"""Ridge-family encoding models: equal to sklearn / himalaya called directly, known answers."""

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV

from neuroflow.encoding import permutation, ridge
from neuroflow.encoding.device import himalaya_backend, select_device
from neuroflow.encoding.inputs import alpha_grid

ALPHAS = np.logspace(-2, 4, 7)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """One BLAS thread: oversubscribed BLAS on a busy 2-core machine is ~100x slower."""
    import scipy.linalg  # noqa: F401  (threadpoolctl limits only libraries already loaded)
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n, f, t = 240, 12, 5
    X = rng.standard_normal((n, f)) * rng.uniform(0.5, 3, f)
    W = rng.standard_normal((f, t)) * np.array([1, 0.5, 0.2, 0.05, 0.0])
    Y = X @ W + rng.standard_normal((n, t)) + 10
    groups = np.repeat(np.arange(6), 40)
    return X, Y, groups


def _sklearn_reference(X, Y, groups, splits, n_inner):
    """Per target and outer fold: z-score with training stats, GridSearchCV(Ridge)."""
    pred = np.zeros_like(Y)
    for tr, te in splits:
        mu, sd = X[tr].mean(0), X[tr].std(0)
        Xtr, Xte = (X[tr] - mu) / sd, (X[te] - mu) / sd
        inner = ridge.group_splits(groups[tr], n_inner)
        for j in range(Y.shape[1]):
            gs = GridSearchCV(Ridge(), {"alpha": ALPHAS}, cv=inner, scoring="neg_mean_squared_error").fit(
                Xtr, Y[tr, j]
            )
            pred[te, j] = gs.predict(Xte)
    return pred


def test_ridge_scores_equal_sklearn_gridsearch_on_the_same_splits(data):
    X, Y, groups = data
    fit = ridge.cross_validated_fit(X, Y, groups, model="ridge", alphas=ALPHAS, n_folds=3, n_inner_folds=4)
    ref = _sklearn_reference(X, Y, groups, fit["splits"], 4)
    np.testing.assert_allclose(fit["prediction"], ref, rtol=1e-8, atol=1e-8)
    for k, (_, te) in enumerate(fit["splits"]):
        for j in range(Y.shape[1]):
            assert fit["r"][k, j] == pytest.approx(pearsonr(Y[te, j], ref[te, j])[0], abs=1e-9)
            assert fit["r2"][k, j] == pytest.approx(r2_score(Y[te, j], ref[te, j]), abs=1e-9)


def test_kernel_ridge_equals_himalaya_called_directly_and_primal_ridge(data):
    from himalaya.kernel_ridge import KernelRidgeCV

    X, Y, groups = data
    fit = ridge.cross_validated_fit(X, Y, groups, model="kernel_ridge", alphas=ALPHAS, n_inner_folds=3)
    primal = ridge.cross_validated_fit(X, Y, groups, model="ridge", alphas=ALPHAS, n_inner_folds=3)
    tr, te = fit["splits"][2]
    mu, sd = X[tr].mean(0), X[tr].std(0)
    direct = KernelRidgeCV(
        alphas=ALPHAS, kernel="linear", fit_intercept=True, cv=ridge.group_splits(groups[tr], 3), warn=False
    )
    direct.fit((X[tr] - mu) / sd, Y[tr])
    np.testing.assert_allclose(fit["prediction"][te], direct.predict((X[te] - mu) / sd), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(fit["prediction"], primal["prediction"], rtol=1e-6, atol=1e-6)
    assert len(fit["splits"]) == 6  # leave one block out by default


def test_banded_ridge_equals_himalaya_and_weights_the_informative_band():
    from himalaya.ridge import GroupRidgeCV

    rng = np.random.default_rng(1)
    n = 300
    Xa, Xb = rng.standard_normal((n, 4)), rng.standard_normal((n, 6))
    Y = Xa @ rng.standard_normal((4, 3)) + 0.5 * rng.standard_normal((n, 3))
    X = np.hstack([Xa, Xb])
    bands = np.array(["a"] * 4 + ["b"] * 6)
    groups = np.repeat(np.arange(5), 60)
    fit = ridge.cross_validated_fit(
        X, Y, groups, model="auto", bands=bands, alphas=ALPHAS, n_inner_folds=4, n_iter=20, random_state=0
    )
    assert (np.nanmean(fit["band_r2"], axis=0)[0] > 0.5).all()  # band a explains it
    assert fit["model"] == "banded_ridge" and fit["band_names"] == ["a", "b"]
    assert (fit["band_weight"][:, 0] > 0.8).all()  # band a carries the signal
    tr, te = fit["splits"][0]
    mu, sd = X[tr].mean(0), X[tr].std(0)
    direct = GroupRidgeCV(
        groups=np.r_[np.zeros(4, int), np.ones(6, int)],
        fit_intercept=True,
        cv=ridge.group_splits(groups[tr], 4),
        random_state=0,
        solver_params={"alphas": ALPHAS, "n_iter": 20, "progress_bar": False},
    )
    direct.fit((X[tr] - mu) / sd, Y[tr])
    np.testing.assert_allclose(fit["prediction"][te], direct.predict((X[te] - mu) / sd), rtol=1e-7, atol=1e-7)


def test_torch_cpu_backend_matches_numpy(data):
    X, Y, groups = data
    ref = ridge.cross_validated_fit(X, Y, groups, model="ridge", alphas=ALPHAS, n_folds=2, n_inner_folds=3)
    with himalaya_backend("torch"):
        got = ridge.cross_validated_fit(
            X, Y, groups, model="ridge", alphas=ALPHAS, n_folds=2, n_inner_folds=3, dtype="float32"
        )
    np.testing.assert_allclose(got["prediction"], ref["prediction"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(got["r"], ref["r"], atol=1e-4)


def test_folds_keep_blocks_whole_and_inner_cv_sees_training_blocks_only():
    groups = np.repeat([3, 1, 2, 0, 5, 4], 10)
    for tr, te in ridge.group_splits(groups, 3):
        assert not set(groups[tr]) & set(groups[te])
        for itr, ite in ridge.group_splits(groups[tr], 2):
            assert not set(groups[tr][itr]) & set(groups[tr][ite])
    assert len(ridge.group_splits(groups)) == 6
    with pytest.raises(ValueError, match=">= 2 blocks"):
        ridge.group_splits(np.zeros(5))


def test_noise_ceiling_recovers_the_simulated_signal_fraction():
    rng = np.random.default_rng(2)
    n_rep, n_cond, n_t = 12, 40, 200
    signal = rng.standard_normal((1, n_cond, n_t)) * np.sqrt(np.linspace(0.1, 4, n_t))
    responses = signal + rng.standard_normal((n_rep, n_cond, n_t))  # noise var 1
    true = np.linspace(0.1, 4, n_t) / (np.linspace(0.1, 4, n_t) + 1)
    nc = ridge.noise_ceiling(responses)
    assert np.corrcoef(nc, true)[0, 1] > 0.95
    assert np.median(np.abs(nc - true)) < 0.05
    nc3 = ridge.noise_ceiling(responses, n_average=3)  # averaging helps
    assert (nc3 >= nc - 1e-12).all()
    pure_noise = rng.standard_normal((n_rep, n_cond, 1))
    assert ridge.noise_ceiling(pure_noise)[0] < 0.1


def test_condition_means_follow_the_response_delay():
    conditions = np.array(["rest", "a", "a", "b", "b", "rest"] * 2)
    runs = np.repeat([0, 1], 6)
    values = np.zeros((12, 1))
    values[[2, 3, 8, 9], 0] = 1.0  # condition 'a' shows up one sample late
    means, names, _ = ridge.condition_means(values, conditions, runs, delay=1, skip=["rest"])
    assert list(names) == ["a", "b"]
    np.testing.assert_allclose(means[:, :, 0], [[1, 0], [1, 0]])


def test_fixed_penalty_null_is_centred_and_real_signal_is_significant(data):
    X, Y, groups = data
    fit = ridge.cross_validated_fit(X, Y, groups, model="ridge", alphas=ALPHAS, n_inner_folds=5)
    null, error = permutation.fixed_regularisation_null(
        X, Y, fit, np.zeros(len(Y)), n_permutations=300, min_shift=5, random_state=0
    )
    r = np.nanmean(fit["r"], axis=0)
    p, p_fdr = permutation.empirical_p(r, null)
    assert error < 1e-10  # the null refits the very same model
    assert np.abs(null.mean(axis=0)).max() < 0.1
    assert (p[:3] < 0.01).all()  # targets 0-2 carry signal
    assert p[4] > 0.05  # target 4 is pure noise
    assert (p_fdr >= p - 1e-12).all()


def test_refit_permutation_reproduces_with_the_seed(data):
    X, Y, groups = data
    kw = dict(model="ridge", alphas=ALPHAS[::3], n_folds=2, n_inner_folds=2)
    r = np.nanmean(ridge.cross_validated_fit(X, Y, groups, **kw)["r"], axis=0)
    a = permutation.refit_null(
        X, Y, groups, np.zeros(len(Y)), n_permutations=3, min_shift=5, random_state=4, **kw
    )
    b = permutation.refit_null(
        X, Y, groups, np.zeros(len(Y)), n_permutations=3, min_shift=5, random_state=4, **kw
    )
    assert np.array_equal(a, b)
    assert permutation.empirical_p(r, a)[0][0] == pytest.approx(0.25)


def test_device_selection_respects_config_and_cuda_visible_devices(monkeypatch):
    assert select_device("cpu")["device"] == "cpu"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    dev = select_device("auto")
    assert dev == {"device": "cpu", "torch_device": "cpu", "device_name": "cpu", "backend": "numpy"}
    with pytest.raises(RuntimeError, match="no CUDA device is visible"):
        select_device("cuda")
    with pytest.raises(RuntimeError, match="torch_cuda"):
        select_device("cpu", "torch_cuda")
    with pytest.raises(ValueError, match="encoding.device"):
        select_device("gpu")
    assert select_device("cpu", "torch")["backend"] == "torch"


def test_alpha_grid_is_the_configured_decades_and_rejects_an_empty_grid():
    assert alpha_grid({"min_log10": -1, "max_log10": 7, "n": 9}) == [
        0.1,
        1.0,
        10.0,
        100.0,
        1e3,
        1e4,
        1e5,
        1e6,
        1e7,
    ]
    assert alpha_grid({"min_log10": 2, "max_log10": 2, "n": 1}) == [100.0]
    with pytest.raises(ValueError, match="encoding.ridge.alphas"):
        alpha_grid({"min_log10": 3, "max_log10": 1, "n": 4})


def test_svd_ridge_equals_himalaya_ridgecv_called_directly(data):
    from himalaya.ridge import RidgeCV

    X, Y, groups = data
    inner = ridge.group_splits(groups, 3)
    direct = RidgeCV(alphas=ALPHAS, fit_intercept=True, cv=inner, solver_params={"warn": False}).fit(X, Y)
    ours = ridge.SVDRidgeCV(ALPHAS, inner).fit(X, Y)
    np.testing.assert_allclose(ours.best_alphas_, direct.best_alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.predict(X), direct.predict(X), rtol=1e-9, atol=1e-9)
    batched = ridge.SVDRidgeCV(ALPHAS, inner, n_targets_batch=2).fit(X, Y)
    np.testing.assert_allclose(batched.coef_, ours.coef_, rtol=1e-12, atol=1e-12)
