"""Compute and tables of the attention-routing job: encoder vs ridge on the same folds.

Pure functions of a feature-map dataset and
:class:`~neuroflow.encoding.settings.AttentionSettings`; torch is imported by
:mod:`neuroflow.encoding.attention` inside the functions that train.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.model_selection import KFold

from neuroflow.encoding import ridge
from neuroflow.encoding.attention import (
    attention_peakedness,
    predict_routing,
    train_routing_encoder,
)
from neuroflow.encoding.outputs import warn
from neuroflow.encoding.settings import AttentionSettings

TABLE_COLUMNS = {
    "region": "target region (one query each)",
    "model": "encoder",
    "n_targets": "targets in the region",
    "r_mean": "held-out Pearson r, mean over the region's targets",
    "r_sem": "standard error of r over the region's targets",
    "attention_entropy": "normalised entropy of the region's mean attention map (0 = one "
    "token, 1 = uniform; NaN for ridge rows)",
    "attention_peak_to_mean": "peak / mean of the mean attention map (1 = uniform)",
    "attention_flat": "mean attention map flat (entropy >= attention.flat_entropy): no peak "
    "is reported for it",
    "attention_peak_row": "row of the peak of the mean attention map (token grid; -1 for "
    "ridge rows and flat maps)",
    "attention_peak_col": "column of that peak",
    "source_row": "known source row (simulated; -1 = moving/unknown)",
    "source_col": "known source column",
    "object_hit_rate": "moving regions: fraction of stimuli whose attention peak is the object token",
}


def fit_attention_and_ridge(F, Y, regions, settings: AttentionSettings, dev: dict) -> dict:
    """Attention encoder and ridge on the same seeded K folds of stimuli (held-out outputs)."""
    import torch

    n, _, h, w = F.shape
    torch.set_num_threads(max(1, int(settings.threads)))
    splits = list(KFold(n_splits=settings.n_folds, shuffle=True, random_state=settings.random_state).split(F))
    dtype = "float64" if dev["backend"] == "numpy" else "float32"
    t0 = time.perf_counter()
    fit_ridge = ridge.cross_validated_fit(
        F.reshape(n, -1),
        Y,
        np.arange(n),
        model="auto",
        alphas=np.asarray(settings.ridge_alphas),
        n_inner_folds=settings.ridge_inner_folds,
        dtype=dtype,
        random_state=settings.random_state,
        splits=splits,
    )
    pred = np.full(Y.shape, np.nan)
    attention = np.full((n, len(np.unique(regions)), h, w), np.nan)
    fold_of = np.full(n, -1)
    best_epochs, histories = [], []
    for k, (tr, te) in enumerate(splits):
        fit = train_routing_encoder(
            F,
            Y,
            regions,
            tr,
            network=settings.network,
            training=settings.training,
            device=dev["torch_device"],
            random_state=settings.random_state + k,
        )
        pred[te], attention[te] = predict_routing(fit, F[te])
        fold_of[te] = k
        best_epochs.append(fit["best_epoch"])
        histories.append(fit["history"])
    print(
        f"neuroflow.encoding: attention routing, {n} stimuli x {h}x{w} tokens x "
        f"{Y.shape[1]} targets, {settings.n_folds} folds x {settings.training.epochs} "
        f"epochs: {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    r_att = np.array([ridge.correlation(Y[te], pred[te]) for _, te in splits])
    return {
        "splits": splits,
        "prediction": pred,
        "attention": attention,
        "fold": fold_of,
        "r_attention": r_att,
        "ridge": fit_ridge,
        "best_epochs": best_epochs,
        "histories": np.array(histories),
        "regions": list(fit["regions"]),
    }


def _accuracy_rows(result: dict, regions) -> list[dict]:
    rows = []
    models = (
        ("attention routing", result["r_attention"]),
        (f"ridge ({result['ridge']['model']})", result["ridge"]["r"]),
    )
    for name in result["regions"]:
        sel = regions == name
        for model, r in models:
            per_target = np.nanmean(r[:, sel], axis=0)
            rows.append(
                {
                    "region": name,
                    "model": model,
                    "n_targets": int(sel.sum()),
                    "r_mean": float(np.mean(per_target)),
                    "r_sem": float(np.std(per_target, ddof=1) / np.sqrt(sel.sum()))
                    if sel.sum() > 1
                    else np.nan,
                }
            )
    return rows


def known_sources(ds, region_names) -> list:
    """Known (row, col) source of each region from the feature-map file, or None."""
    if "source_row" not in ds:
        return [None] * len(region_names)
    src = {
        str(r): (int(a), int(b))
        for r, a, b in zip(ds["region"].values, ds["source_row"].values, ds["source_col"].values, strict=True)
    }
    return [src.get(r) if src.get(r, (-1, -1))[0] >= 0 else None for r in region_names]


def object_locations(ds, result: dict):
    """Per stimulus and region the known object token (-1 elsewhere), and the hit rate of
    each moving region's per-stimulus attention peak; (None, {}) without moving regions."""
    if "object_row" not in ds:
        return None, {}
    att, names = result["attention"], result["regions"]
    n, _, _, w = att.shape
    peak = att.reshape(n, len(names), -1).argmax(axis=2)
    loc = np.full((n, len(names), 2), -1)
    hits = {}
    for m, name in enumerate(ds["moving"].values.astype(str)):
        k = names.index(name)
        rows, cols = ds["object_row"].values[m], ds["object_col"].values[m]
        loc[:, k, 0], loc[:, k, 1] = rows, cols
        hits[name] = float(np.mean(peak[:, k] == rows * w + cols))
    return loc, hits


def region_table(ds, result: dict, settings: AttentionSettings, warnings: list) -> tuple:
    """One row per region and model; the mean maps' peakedness (flat maps: no peak)."""
    regions = ds["target_region"].values.astype(str)
    names = result["regions"]
    table = pd.DataFrame(_accuracy_rows(result, regions))
    is_att = (table["model"] == "attention routing").to_numpy()
    mean_maps = np.nanmean(result["attention"], axis=0)
    shape = attention_peakedness(mean_maps, settings.flat_entropy)
    k = np.array([names.index(r) for r in table["region"]])
    table["attention_entropy"] = np.where(is_att, shape["entropy"][k], np.nan)
    table["attention_peak_to_mean"] = np.where(is_att, shape["peak_to_mean"][k], np.nan)
    table["attention_flat"] = np.where(is_att, shape["flat"][k], False)
    table["attention_peak_row"] = np.where(is_att, shape["peak"][k, 0], -1)
    table["attention_peak_col"] = np.where(is_att, shape["peak"][k, 1], -1)
    sources = known_sources(ds, names)
    table["source_row"] = [sources[i][0] if sources[i] else -1 for i in k]
    table["source_col"] = [sources[i][1] if sources[i] else -1 for i in k]
    _, hits = object_locations(ds, result)
    table["object_hit_rate"] = [
        hits.get(r, np.nan) if a else np.nan for r, a in zip(table["region"], is_att, strict=True)
    ]
    for i in np.flatnonzero(shape["flat"]):
        warn(
            warnings,
            f"attention map of region {names[i]} is flat (normalised entropy "
            f"{shape['entropy'][i]:.3f} >= {settings.flat_entropy:g}, peak/mean "
            f"{shape['peak_to_mean'][i]:.2f}): no peak location reported",
        )
    return table, shape, mean_maps


def routing_dataset(
    ds, result: dict, mean_maps, shape: dict, settings: AttentionSettings, attrs: dict
) -> xr.Dataset:
    """Held-out predictions, attention maps and their peakedness as NetCDF."""
    n, n_r, h, w = result["attention"].shape
    out = xr.Dataset(
        {
            "prediction_attention": (("stimulus", "target"), result["prediction"]),
            "prediction_ridge": (("stimulus", "target"), result["ridge"]["prediction"]),
            "r_attention": (("fold", "target"), result["r_attention"]),
            "r_ridge": (("fold", "target"), result["ridge"]["r"]),
            "attention": (("stimulus", "region", "y", "x"), result["attention"]),
            "attention_mean": (("region", "y", "x"), mean_maps),
            "attention_entropy": (("region",), shape["entropy"]),
            "attention_peak_to_mean": (("region",), shape["peak_to_mean"]),
            "attention_flat": (("region",), shape["flat"].astype("int8")),
            "fold_of_stimulus": (("stimulus",), result["fold"]),
            "validation_r": (("fold", "epoch"), result["histories"]),
        },
        coords={
            "stimulus": ds["stimulus"].values,
            "target": ds["target"].values,
            "region": result["regions"],
            "y": np.arange(h),
            "x": np.arange(w),
            "fold": np.arange(settings.n_folds),
            "epoch": np.arange(settings.training.epochs),
        },
    )
    out["attention"].attrs["units"] = (
        "cross-attention weight of the region query on each token (held-out stimulus; sums to 1 over tokens)"
    )
    out["attention_entropy"].attrs["units"] = "entropy / log(number of tokens)"
    out["attention_flat"].attrs["description"] = (
        f"1 = mean map flat (normalised entropy >= {settings.flat_entropy:g})"
    )
    out.attrs.update(attrs)
    return out
