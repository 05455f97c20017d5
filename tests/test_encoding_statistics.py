"""Encoding statistics that hold (issue 18 item 7), on simulated sets with known answers.

* on pure-noise targets the default null (fixed-penalty refit per shift) gives uniform
  p-values and no more FDR rejections than the rate, where the fold-wise shift of fixed
  predictions does not;
* band importance (held-out explained variance per band) and the banded-ridge weights at
  the schema's number of search samples rank three bands with a known 0.8/0/0.2 share;
* a flat attention map is flagged and gets no peak; a peaked one gets its peak;
* the runs file of reader files works, with unequal runs, and gives folds by run.
"""

import json

import numpy as np
import pytest
import xarray as xr
from scipy.stats import kstest

from neuroflow.encoding import permutation, ridge
from neuroflow.encoding.attention import attention_peakedness
from neuroflow.encoding.inputs import _schema, experiment_config
from neuroflow.encoding.simulate import pure_noise_set

ALPHAS = np.logspace(-1, 5, 7)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    import scipy.linalg  # noqa: F401  (threadpoolctl limits only libraries already loaded)
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _noise_set(seed, n_targets=40):
    """Autocorrelated features (FIR lags 0-4) and autocorrelated pure-noise targets in three
    runs of unequal length, three contiguous blocks per run, grouped 5-fold CV."""
    X, Y, runs, blocks = pure_noise_set(seed, n_targets)
    fit = ridge.cross_validated_fit(X, Y, blocks, model="ridge", alphas=ALPHAS, n_folds=5, n_inner_folds=3)
    return X, Y, runs, fit


def test_default_null_is_calibrated_on_pure_noise_and_the_fold_wise_shift_is_not():
    n_sets, kw = 12, {"n_permutations": 150, "min_shift": 20}
    p_fixed, p_fold, rejected_sets, fold_corr = [], [], 0, []
    for seed in range(n_sets):
        X, Y, runs, fit = _noise_set(seed)
        r = np.nanmean(fit["r"], axis=0)
        null, error = permutation.fixed_regularisation_null(X, Y, fit, runs, random_state=seed, **kw)
        assert error < 1e-10
        p, p_fdr = permutation.empirical_p(r, null)
        p_fixed.append(p)
        rejected_sets += bool((p_fdr < 0.05).any())
        old = permutation.prediction_shift_null(
            Y, fit["prediction"], fit["splits"], runs, random_state=seed, **kw
        )
        p_fold.append(permutation.empirical_p(r, old)[0])
        fold_corr.append(np.corrcoef(fit["r"])[np.triu_indices(5, 1)].mean())
    p_fixed, p_fold = np.concatenate(p_fixed), np.concatenate(p_fold)
    assert np.mean(fold_corr) > 0.1  # fold scores are dependent under the null
    assert kstest(p_fixed, "uniform").pvalue > 0.01
    assert 0.02 < np.mean(p_fixed < 0.05) <= 0.08
    assert rejected_sets <= 0.05 * n_sets + 1  # FDR 0.05: sets with any rejection
    assert kstest(p_fold, "uniform").pvalue < 1e-4  # the old default is miscalibrated
    assert np.mean(p_fold < 0.05) > 0.1


@pytest.mark.parametrize("model", ["ridge", "kernel_ridge", "banded_ridge"])
def test_fixed_penalty_refit_reproduces_each_models_held_out_predictions(model):
    rng = np.random.default_rng(3)
    n = 120
    X = rng.standard_normal((n, 6 if model != "kernel_ridge" else 150))
    Y = X[:, :2] @ rng.standard_normal((2, 4)) + rng.standard_normal((n, 4))
    bands = np.repeat(["a", "b"], X.shape[1] // 2)
    fit = ridge.cross_validated_fit(
        X, Y, np.repeat(np.arange(4), 30), model=model, alphas=ALPHAS, bands=bands, n_inner_folds=3, n_iter=10
    )
    null, error = permutation.fixed_regularisation_null(
        X, Y, fit, np.zeros(n), n_permutations=5, min_shift=10, random_state=0
    )
    assert fit["model"] == model and error < 1e-8 and null.shape == (5, 4)


def _three_bands(seed=0, n=360, n_targets=6):
    """Bands a, b, c of 10 features; the signal's variance is 0.8 from a and 0.2 from c."""
    rng = np.random.default_rng(seed)
    Xs = [rng.standard_normal((n, 10)) for _ in range(3)]
    sig = [x @ rng.standard_normal((10, n_targets)) for x in (Xs[0], Xs[2])]
    sig = [s / s.std(axis=0) for s in sig]
    Y = np.sqrt(0.8) * sig[0] + np.sqrt(0.2) * sig[1] + rng.standard_normal((n, n_targets))
    return np.hstack(Xs), Y, np.repeat(["a", "b", "c"], 10), np.repeat(np.arange(6), n // 6)


def test_band_importance_and_weights_rank_a_known_case_at_the_schema_default():
    from neuroflow.encoding.scores import score_table

    n_iter = _schema()["properties"]["ridge"]["properties"]["n_iter"]["default"]
    X, Y, bands, groups = _three_bands()
    fit = ridge.cross_validated_fit(
        X,
        Y,
        groups,
        model="auto",
        bands=bands,
        alphas=ALPHAS,
        n_folds=3,
        n_inner_folds=3,
        n_iter=n_iter,
        random_state=0,
    )
    assert fit["model"] == "banded_ridge"
    split = np.nanmean(fit["band_r2"], axis=0).mean(axis=1)  # a, b, c
    weight = fit["band_weight"].mean(axis=(0, 2))
    assert split[0] > split[2] > split[1] and abs(split[1]) < 0.01
    assert split[0] / (split[0] + split[2]) == pytest.approx(0.8, abs=0.1)
    assert weight[0] > weight[2] > weight[1]
    np.testing.assert_allclose(
        np.nanmean(fit["band_r2"].sum(axis=1), axis=0), np.nanmean(fit["r2"], axis=0), atol=0.02
    )
    result = {
        "fit": fit,
        "r_mean": np.nanmean(fit["r"], axis=0),
        "null": np.empty((0, 6)),
        "p": np.full(6, np.nan),
        "p_fdr": np.full(6, np.nan),
    }
    ds = xr.Dataset(coords={"target": [f"t{i}" for i in range(6)]})
    table, columns = score_table(ds, result, {})
    assert "alpha" not in table  # no single hidden penalty
    penalty = table[["alpha_a", "alpha_b", "alpha_c"]].median().to_numpy()
    assert penalty[1] > penalty[2] > penalty[0]  # the empty band is shrunk most
    assert {"weight_a", "r2_a", "r2_c"} <= set(table) and "product measure" in columns["r2_a"]


def test_flat_attention_map_is_flagged_and_gets_no_peak():
    threshold = _schema()["properties"]["attention"]["properties"]["flat_entropy"]["default"]
    rng = np.random.default_rng(0)
    flat = 1 / 36 * (1 + 0.1 * rng.uniform(-1, 1, (6, 6)))  # nearly uniform
    peaked = np.full((6, 6), 0.2 / 35)
    peaked[4, 1] = 0.8
    maps = np.stack([flat / flat.sum(), peaked, np.full((6, 6), 1 / 36)])
    shape = attention_peakedness(maps, threshold)
    assert list(shape["flat"]) == [True, False, True]
    assert shape["peak"].tolist() == [[-1, -1], [4, 1], [-1, -1]]
    assert shape["entropy"][2] == pytest.approx(1.0)
    assert shape["peak_to_mean"][1] == pytest.approx(0.8 * 36)
    assert shape["entropy"][1] < 0.5


def test_runs_file_gives_folds_by_run_with_unequal_runs(tmp_path):
    from neuroflow.encoding.pipeline import design_file

    rng = np.random.default_rng(1)
    lengths = [40, 70, 100]
    np.save(tmp_path / "f.npy", rng.standard_normal((sum(lengths), 3)))
    np.save(tmp_path / "y.npy", rng.standard_normal((sum(lengths), 2)))
    np.save(tmp_path / "runs.npy", np.repeat(["r1", "r2", "r3"], lengths))
    section = {
        "experiments": {
            "own": {"reader": "files", "paths": [], "dataset": "x", "options": {"n_blocks": 1, "rate": 2.0}}
        }
    }
    cfg = experiment_config(section, "own")
    assert cfg["options"]["response_units"] == "a.u." and cfg["options"]["n_blocks"] == 1
    out = tmp_path / "design.nc"
    files = [tmp_path / "f.npy", tmp_path / "y.npy", tmp_path / "runs.npy"]
    design_file("files", files, out, options=cfg["options"], subject="s", task="t", experiment="own")
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        run, block = ds["run"].values, ds["block"].values
        assert [f["file"] for f in json.loads(ds.attrs["inputs"])] == ["f.npy", "y.npy", "runs.npy"]
    assert [int((run == r).sum()) for r in ("r1", "r2", "r3")] == lengths
    splits = ridge.group_splits(block)
    assert len(splits) == 3 and all(len(set(run[te])) == 1 for _, te in splits)
    for index in permutation.circular_shifts(run, 5, 5, 0):  # shifts stay in a run
        assert (run[index] == run).all()
    np.save(tmp_path / "runs.npy", np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match="runs.npy: 10 labels for 210 samples"):
        design_file("files", files, out, options=cfg["options"], subject="s", task="t", experiment="own")
    with pytest.raises(ValueError, match=r"encoding.experiments.own.options: \['kappa'\]"):
        experiment_config(
            {"experiments": {"own": {**section["experiments"]["own"], "options": {"kappa": 2.0}}}}, "own"
        )
