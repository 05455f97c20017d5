"""Tables and datasets of the ridge job (built from a fit; written by the pipeline)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from neuroflow.encoding.analysis import LaggedDesign
from neuroflow.encoding.outputs import provenance

SCORE_COLUMNS = {
    "target": "target (neuron, unit or voxel) id",
    "r": "Pearson correlation of held-out prediction and response, mean over outer folds",
    "r_sd": "SD of r over outer folds",
    "r2": "R^2 of the held-out prediction (1 - SSE/SST about the test-fold mean), mean over folds",
    "alpha": "regularisation (one penalty for every feature) chosen by the inner CV, median over outer folds",
    "null_mean": "mean of r under circularly shifted responses (shuffled baseline)",
    "null_p95": "95th percentile of the shuffled baseline",
    "p": "one-sided permutation p-value of r, (1 + #null >= r) / (1 + n)",
    "p_fdr": "Benjamini-Hochberg adjusted p over targets",
    "noise_ceiling": "fraction of single-repeat condition-mean variance explainable "
    "(repeats across runs; NSD/Algonauts formula)",
    "r_condition": "correlation of predicted and observed condition means per run (held out)",
    "r2_normalized": "max(r_condition, 0)^2 / noise_ceiling (n/a where the ceiling is below "
    "min_ceiling: too unreliable to normalise by)",
}


def _band_columns(fit: dict) -> tuple[dict, dict]:
    """Per-band penalties, weights and explained variance (columns, descriptions)."""
    cols, desc = {}, {}
    names = fit["band_names"]
    if fit["deltas"] is not None:
        penalty = np.median(np.exp(-fit["deltas"]), axis=0)  # (n_bands, n_targets)
        weight = fit["band_weight"].mean(axis=0)
        for b, band in enumerate(names):
            cols[f"alpha_{band}"] = penalty[b]
            desc[f"alpha_{band}"] = (
                f"penalty of band {band} (banded ridge: exp(-delta); the "
                "band's weights are shrunk by it), median over folds"
            )
        for b, band in enumerate(names):
            cols[f"weight_{band}"] = weight[b]
            desc[f"weight_{band}"] = (
                f"relative scaling of band {band} (exp(delta) normalised "
                "over bands), mean over folds; not a share of explained "
                "variance (see r2_<band>)"
            )
    if len(names) > 1:
        split = np.nanmean(fit["band_r2"], axis=0)
        for b, band in enumerate(names):
            cols[f"r2_{band}"] = split[b]
            desc[f"r2_{band}"] = (
                f"held-out variance explained by band {band} (himalaya "
                "r2_score_split, product measure; the bands add up to the "
                "joint R^2 about the test mean), mean over folds"
            )
    return cols, desc


def score_table(ds, result: dict, noise: dict) -> tuple[pd.DataFrame, dict]:
    """One row per target and the description of every column."""
    fit, null = result["fit"], result["null"]
    table = pd.DataFrame({"target": ds["target"].values.astype(str)})
    for name in ("location", "voxel_i", "voxel_j", "voxel_k"):
        if name in ds.coords:
            table[name] = ds[name].values
    table["r"] = result["r_mean"]
    table["r_sd"] = np.nanstd(fit["r"], axis=0)
    table["r2"] = np.nanmean(fit["r2"], axis=0)
    desc = dict(SCORE_COLUMNS)
    if fit["deltas"] is None:
        table["alpha"] = np.median(fit["alpha"], axis=0)
    cols, band_desc = _band_columns(fit)
    for name, values in cols.items():
        table[name] = values
    desc.update(band_desc)
    table["null_mean"] = np.nanmean(null, axis=0) if len(null) else np.nan
    table["null_p95"] = np.nanpercentile(null, 95, axis=0) if len(null) else np.nan
    table["p"], table["p_fdr"] = result["p"], result["p_fdr"]
    for name, values in noise.get("columns", {}).items():
        table[name] = values
    return table, {c: desc.get(c, c) for c in table.columns}


def result_dataset(ds, design: LaggedDesign, result: dict, *, attrs: dict) -> xr.Dataset:
    """Per-fold scores, held-out predictions, FIR weights and the null as NetCDF."""
    fit, null = result["fit"], result["null"]
    n_t = design.Y.shape[1]
    coef = result["coef"].reshape(len(design.lags), len(design.feature_names), n_t)
    out = xr.Dataset(
        {
            "r": (("fold", "target"), fit["r"]),
            "r2": (("fold", "target"), fit["r2"]),
            "alpha": (("fold", "target"), fit["alpha"]),
            "prediction": (("time", "target"), fit["prediction"]),
            "fold_of_sample": (("time",), fit["fold"]),
            "coef": (("lag", "feature", "target"), coef),
            "null": (("permutation", "target"), null),
            "p": (("target",), result["p"]),
            "p_fdr": (("target",), result["p_fdr"]),
            "band_r2": (("fold", "band", "target"), fit["band_r2"]),
        },
        coords={
            "target": ds["target"].values,
            "lag": design.lags / design.rate,
            "feature": design.feature_names,
            "band": fit["band_names"],
            "fold": np.arange(len(fit["splits"])),
            "permutation": np.arange(len(null)),
        },
    )
    if fit["deltas"] is not None:
        out["band_weight"] = (("fold", "band", "target"), fit["band_weight"])
        out["band_alpha"] = (("fold", "band", "target"), np.exp(-fit["deltas"]))
        out["band_alpha"].attrs["units"] = "penalty of the band (exp(-delta))"
        out["alpha"].attrs["description"] = "1 / sum over bands of exp(delta) (himalaya)"
    units = ds.attrs["response_units"]
    out["prediction"].attrs["units"] = units
    out["coef"].attrs["units"] = f"{units} per SD of the feature"
    out["lag"].attrs["units"] = "s (response after stimulus)"
    out["r"].attrs["units"] = "Pearson r (held-out fold)"
    out["band_r2"].attrs["units"] = "held-out R^2 of the band's part (himalaya r2_score_split)"
    out.attrs.update(attrs)
    return out


def ridge_attrs(
    design_nc,
    params: dict,
    result: dict,
    *,
    experiment: str,
    subject: str,
    rate: float,
    compute: dict,
    simulated: bool,
) -> dict:
    """NetCDF attributes of the ridge job's dataset (provenance, null record, warnings)."""
    del simulated  # stamped by the writer
    return {
        **provenance([design_nc], params),
        "experiment": experiment,
        "subject": subject,
        "compute": json.dumps(compute),
        "sampling_rate_hz": rate,
        "model": result["fit"]["model"],
        "permutation_null": json.dumps(result["null_record"], sort_keys=True),
        "warnings": json.dumps(result["warnings"]),
    }
