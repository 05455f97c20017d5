"""Compute step of the ridge job: FIR design, nested CV fit, null, refit, noise ceiling.

Pure functions of a design (:mod:`neuroflow.encoding.data`) and
:class:`~neuroflow.encoding.settings.RidgeSettings`; nothing is read or written here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from neuroflow.encoding import permutation, ridge
from neuroflow.encoding.features import fir_design
from neuroflow.encoding.outputs import warn
from neuroflow.encoding.settings import RidgeSettings


@dataclass(frozen=True)
class LaggedDesign:
    """A design's arrays ready for the fit."""

    X: np.ndarray  # (n_samples, n_lags * n_features), lag-major columns
    Y: np.ndarray  # (n_samples, n_targets)
    bands: np.ndarray  # (n_lags * n_features,) band of each column
    blocks: np.ndarray  # (n_samples,) cross-validation blocks
    runs: np.ndarray  # (n_samples,) continuous recordings
    feature_names: list
    lags: np.ndarray  # samples
    rate: float  # Hz


def lag_samples(lags_s, rate: float, key: str) -> np.ndarray:
    """Every sample lag between ``lags_s[0]`` and ``lags_s[1]`` seconds."""
    if len(lags_s) != 2 or lags_s[0] > lags_s[1]:
        raise ValueError(f"config key {key}: expected [min_s, max_s] with min <= max, got {list(lags_s)}")
    lo, hi = (int(round(v * rate)) for v in lags_s)
    return np.arange(lo, hi + 1)


def lagged_design(ds, settings: RidgeSettings) -> LaggedDesign:
    """FIR-lag the features of design ``ds`` (lags never cross a run)."""
    rate = float(ds.attrs["sampling_rate_hz"])
    lags = lag_samples(settings.lags_s, rate, f"{settings.key}.lags_s")
    names = [str(f) for f in ds["feature"].values]
    X, _ = fir_design(ds["features"].values, lags, ds["run"].values, names)
    return LaggedDesign(
        X=X,
        Y=ds["responses"].values,
        bands=np.tile(ds["band"].values.astype(str), len(lags)),
        blocks=ds["block"].values,
        runs=ds["run"].values,
        feature_names=names,
        lags=lags,
        rate=rate,
    )


def fit_kwargs(settings: RidgeSettings, design: LaggedDesign, dtype: str) -> dict:
    """Keyword arguments of :func:`neuroflow.encoding.ridge.cross_validated_fit`."""
    return {
        "model": settings.model,
        "alphas": np.asarray(settings.alphas),
        "bands": design.bands,
        "n_folds": settings.n_folds,
        "n_inner_folds": settings.n_inner_folds,
        "n_iter": settings.n_iter,
        "random_state": settings.random_state,
        "n_targets_batch": settings.n_targets_batch,
        "dtype": dtype,
    }


def fit_encoding(design: LaggedDesign, settings: RidgeSettings, dtype: str) -> dict:
    """Nested CV fit, its shifted-response null, p-values and the all-data refit.

    Returns
    -------
    dict
        ``fit`` (:func:`~neuroflow.encoding.ridge.cross_validated_fit`), ``r_mean``,
        ``null`` (n_permutations, n_targets), ``p``, ``p_fdr``, ``null_record``, ``coef``
        (n_features, n_targets; all-data refit) and ``warnings`` (list of str).
    """
    t0 = time.perf_counter()
    kw = fit_kwargs(settings, design, dtype)
    fit = ridge.cross_validated_fit(design.X, design.Y, design.blocks, **kw)
    r_mean = np.nanmean(fit["r"], axis=0)
    perm = settings.permutation
    null, record = permutation.shift_null(
        perm.mode,
        design.X,
        design.Y,
        design.runs,
        fit,
        n_permutations=perm.n,
        min_shift=max(1, int(round(perm.min_shift_s * design.rate))),
        random_state=settings.random_state,
        refit_kwargs=kw,
    )
    p, p_fdr = permutation.empirical_p(r_mean, null) if len(null) else (np.full(len(r_mean), np.nan),) * 2
    full = ridge.refit_all(
        design.X,
        design.Y,
        design.blocks,
        model=fit["model"],
        alphas=kw["alphas"],
        bands=design.bands,
        n_inner_folds=settings.n_inner_folds,
        n_iter=settings.n_iter,
        random_state=settings.random_state,
        dtype=dtype,
    )
    print(
        f"neuroflow.encoding: {settings.experiment}: {fit['model']} on {design.X.shape[0]} "
        f"samples x {design.X.shape[1]} lagged features x {design.Y.shape[1]} targets, "
        f"{len(fit['splits'])} folds, {perm.n} shifts ({perm.mode}): "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    out = {
        "fit": fit,
        "r_mean": r_mean,
        "null": null,
        "p": p,
        "p_fdr": p_fdr,
        "null_record": record,
        "coef": full["coef"],
        "warnings": [],
    }
    _collect_warnings(out, perm.n)
    return out


def _collect_warnings(result: dict, n_permutations: int) -> None:
    """Say every doubtful part of a fit (log + the ``warnings`` list of the outputs)."""
    warnings, fit = result["warnings"], result["fit"]
    if result["null_record"]["warning"]:
        warn(
            warnings,
            f"permutation null ({result['null_record']['mode']}): {result['null_record']['warning']}",
        )
    if 0 < n_permutations < 19:
        warn(warnings, f"only {n_permutations} shifts: no p-value can be below 0.05")
    if n_permutations == 0:
        warn(warnings, "no shifts (permutation.n = 0): no p-values and no shuffled baseline")
    if fit["band_weight"] is not None:
        w_rank = np.argmax(fit["band_weight"].mean(axis=0), axis=0)
        v_rank = np.argmax(np.nanmean(fit["band_r2"], axis=0), axis=0)
        disagree = int(np.sum(w_rank != v_rank))
        if disagree:
            warn(
                warnings,
                f"banded ridge: for {disagree} of {len(w_rank)} targets the band "
                "with the largest weight is not the band explaining the most "
                "held-out variance; the weights are relative scalings from a "
                "random search (encoding.ridge.n_iter) - read the r2_<band> columns",
            )
    r = fit["r"]
    if np.isnan(r).any():
        warn(
            warnings,
            f"{int(np.isnan(r).any(axis=0).sum())} targets have an undefined "
            "held-out r in some fold (a constant response or prediction)",
        )


def noise_ceiling_scores(ds, Y, prediction, runs, settings: RidgeSettings, design_nc) -> dict:
    """Noise ceiling and normalised condition-mean R^2 per target (conditions repeat across
    runs). Returns the table columns and the sidecar record; ``{}`` when disabled."""
    nc_cfg = settings.noise_ceiling
    if not nc_cfg.enabled:
        return {}
    if "condition" not in ds.coords:
        raise ValueError(
            f"config key {settings.key}.noise_ceiling.enabled: design "
            f"{design_nc} has no repeated conditions (no 'condition' coordinate)"
        )
    delay = int(round(nc_cfg.delay_s * float(ds.attrs["sampling_rate_hz"])))
    cond = ds["condition"].values
    obs, names, _ = ridge.condition_means(Y, cond, runs, delay, nc_cfg.skip)
    prd, _, _ = ridge.condition_means(prediction, cond, runs, delay, nc_cfg.skip)
    nc = ridge.noise_ceiling(obs, n_average=1)
    flat_o, flat_p = obs.reshape(-1, Y.shape[1]), prd.reshape(-1, Y.shape[1])
    keep = np.all(np.isfinite(flat_o), axis=1) & np.all(np.isfinite(flat_p), axis=1)
    r_cond = ridge.correlation(flat_o[keep], flat_p[keep])
    with np.errstate(invalid="ignore", divide="ignore"):
        normalized = np.where(nc >= nc_cfg.min_ceiling, np.maximum(r_cond, 0) ** 2 / nc, np.nan)
    return {
        "columns": {"noise_ceiling": nc, "r_condition": r_cond, "r2_normalized": normalized},
        "record": {
            "NoiseCeiling": {
                "conditions": [str(c) for c in names],
                "repeats": "runs",
                "delay_s": nc_cfg.delay_s,
            }
        },
    }
