"""File-level entry points of the encoding rules (one function per rule).

Each reads its inputs, computes (:mod:`~neuroflow.encoding.analysis`,
:mod:`~neuroflow.encoding.routing`), writes its outputs atomically and plots, as separate
calls. The compute device is chosen once per job, printed to the rule's log, and recorded
(device, name, himalaya backend, peak GPU memory) in the NetCDF attributes and in every
JSON sidecar. Simulated data are labelled as such in every output; doubtful results are
listed under ``Warnings`` / ``warnings`` and printed to the log.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from neuroflow.encoding import data
from neuroflow.encoding.analysis import fit_encoding, lagged_design, noise_ceiling_scores
from neuroflow.encoding.attention import simulate_routing
from neuroflow.encoding.device import compute_record, describe, himalaya_backend, select_device
from neuroflow.encoding.figures import plot_model_comparison, plot_ridge_summary, plot_routing
from neuroflow.encoding.inputs import READERS
from neuroflow.encoding.outputs import (
    add_to_sidecar,
    blas_threads,
    check_file,
    provenance,
    sidecar,
    write_encoding_netcdf,
)
from neuroflow.encoding.routing import (
    TABLE_COLUMNS,
    fit_attention_and_ridge,
    known_sources,
    object_locations,
    region_table,
    routing_dataset,
)
from neuroflow.encoding.scores import result_dataset, ridge_attrs, score_table
from neuroflow.encoding.settings import AttentionSettings, RidgeSettings
from neuroflow.output_schema import is_simulated
from neuroflow.provenance import read_netcdf, write_tsv


# ------------------------------------------------------------------------------- designs
def read_design(reader: str, inputs, options: dict, experiment: str):
    """Read a data set into an encoding design (features + responses).

    ``inputs``: grasshopper: stimulus/spike-time file pairs (stim1, spikes1, ...); haxby:
    BOLD, mask, attributes; headdirection: the activity stage's units file; files:
    features, responses[, runs]. ``options``: every option of the reader (config
    ``encoding.experiments.<id>.options`` over ``encoding.reader_options.<reader>``).
    """
    key = f"encoding.experiments.{experiment}"
    if reader not in READERS:
        raise ValueError(f"config key {key}.reader: expected one of {READERS}, got {reader!r}")
    inputs = [str(check_file(p, f"encoding experiment {experiment} input")) for p in inputs]
    if reader == "grasshopper":
        if len(inputs) < 2 or len(inputs) % 2:
            raise ValueError(
                f"encoding experiment {experiment}: grasshopper needs stimulus / "
                f"spike-time file pairs, got {len(inputs)} files"
            )
        return data.grasshopper_design(inputs[0::2], inputs[1::2], **options)
    if reader == "haxby":
        return data.haxby_design(*inputs[:3], **options)
    if reader == "headdirection":
        return data.headdirection_design(inputs[0], **options)
    if len(inputs) not in (2, 3):
        raise ValueError(
            f"config key {key}.paths: reader files needs features, responses "
            f"and optionally a runs file, got {len(inputs)} files"
        )
    return data.files_design(*inputs, **options)


def design_file(
    reader: str, inputs, out_nc, *, options: dict, subject: str, task: str, experiment: str
) -> None:
    """:func:`read_design` -> NetCDF with provenance."""
    ds = read_design(reader, inputs, dict(options), experiment)
    simulated = is_simulated(ds.attrs, f"design of {experiment}")
    if reader == "headdirection":  # the activity stage's units file says whether it is simulated
        simulated = simulated or is_simulated(read_netcdf(inputs[0]).attrs, inputs[0])
    ds.attrs.update(provenance(inputs, {"reader": reader, **options}))
    ds.attrs.update(subject=subject, task=task, experiment=experiment, reader=reader)
    write_encoding_netcdf(ds, out_nc, simulated=simulated, sources=inputs)


# ---------------------------------------------------------------------------------- ridge
def _open(path, what: str) -> xr.Dataset:
    path = check_file(path, what)
    try:
        return read_netcdf(path, what)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{what} {path}: cannot read: {exc}") from exc


def ridge_files(design_nc, out_nc, out_tsv, out_png, settings: RidgeSettings) -> None:
    """Cross-validated ridge-family encoding model of one design -> scores and figure.

    Writes ``out_nc`` (per fold scores, alphas, band weights and explained variance,
    held-out predictions, FIR weights refit on all data, null distribution; JSON sidecar),
    ``out_tsv`` (one row per target; JSON sidecar) and ``out_png``.
    """
    ds = _open(design_nc, "encoding design")
    design = lagged_design(ds, settings)
    dev = select_device(settings.device, settings.backend, "encoding.device")
    print(describe(dev), flush=True)
    dtype = "float64" if dev["backend"] == "numpy" else "float32"
    with blas_threads(settings.threads), himalaya_backend(dev["backend"]), compute_record(dev) as compute:
        result = fit_encoding(design, settings, dtype)
    noise = noise_ceiling_scores(ds, design.Y, result["fit"]["prediction"], design.runs, settings, design_nc)
    params = {
        **settings.record(),
        "lags_samples": design.lags.tolist(),
        "model": result["fit"]["model"],
        "dtype": dtype,
    }
    write_ridge_outputs(
        ds,
        design,
        result,
        noise,
        params,
        compute,
        settings,
        design_nc=design_nc,
        out_nc=out_nc,
        out_tsv=out_tsv,
    )
    plot_ridge(ds, design, result, settings, out_png)


def write_ridge_outputs(
    ds, design, result, noise, params, compute, settings, *, design_nc, out_nc, out_tsv
) -> None:
    """Scores table (TSV + sidecar) and the NetCDF dataset (+ sidecar) of a ridge job."""
    simulated = is_simulated(ds.attrs, design_nc)
    subject = ds.attrs.get("subject", "?")
    fit, warnings = result["fit"], result["warnings"]
    table, columns = score_table(ds, result, noise)
    doubt = (" WARNINGS: " + " | ".join(warnings)) if warnings else ""
    write_tsv(
        table,
        out_tsv,
        f"Encoding model '{settings.experiment}' (sub-{subject}): {fit['model']} "
        f"(himalaya), {len(fit['splits'])} outer folds of whole blocks, regularisation "
        f"per target by {settings.n_inner_folds}-fold grouped inner CV; FIR lags "
        f"{settings.lags_s[0]}-{settings.lags_s[1]} s; null: "
        f"{result['null_record']['mode']}." + (" SIMULATED data." if simulated else "") + doubt,
        columns,
        sources=[Path(design_nc).name],
        simulated=simulated,
    )
    extra = {"Parameters": params, "PermutationNull": result["null_record"], **noise.get("record", {})}
    add_to_sidecar(out_tsv, compute, extra, warnings)
    attrs = ridge_attrs(
        design_nc,
        params,
        result,
        experiment=settings.experiment,
        subject=subject,
        rate=design.rate,
        compute=compute,
        simulated=simulated,
    )
    write_encoding_netcdf(
        result_dataset(ds, design, result, attrs=attrs),
        out_nc,
        simulated=simulated,
        sources=[design_nc],
        response_units=ds.attrs["response_units"],
    )
    sidecar(
        out_nc,
        f"Per-fold scores, held-out predictions, FIR weights, explained "
        f"variance per band and shuffled baseline of encoding model "
        f"'{settings.experiment}'.",
        compute,
        [design_nc],
        extra,
        simulated=simulated,
        warnings=warnings,
    )


def plot_ridge(ds, design, result, settings: RidgeSettings, out_png) -> None:
    """Held-out prediction, FIR weights and accuracy against the null."""
    fit, r_mean = result["fit"], result["r_mean"]
    n_t = design.Y.shape[1]
    best = int(np.nanargmax(np.where(np.isfinite(r_mean), r_mean, -np.inf)))
    te = fit["splits"][0][1]
    first_run = te[design.runs[te] == design.runs[te][0]]
    simulated = is_simulated(ds.attrs)
    title = (
        f"sub-{ds.attrs.get('subject', '?')} '{settings.experiment}': {fit['model']}, "
        f"held-out r = {np.nanmean(r_mean):.3f} (mean over {n_t} target"
        f"{'s' if n_t > 1 else ''})"
        + (" - SIMULATED" if simulated else "")
        + (" - see warnings in the sidecar" if result["warnings"] else "")
    )
    coef = result["coef"].reshape(len(design.lags), len(design.feature_names), n_t)
    plot_ridge_summary(
        ds["time"].values,
        design.Y,
        fit["prediction"],
        first_run[:120],
        design.lags / design.rate,
        coef,
        design.feature_names,
        r_mean,
        result["null"],
        list(ds["target"].values.astype(str)),
        out_png,
        title=title,
        response_units=ds.attrs["response_units"],
        best=best,
    )


# ------------------------------------------------------------------------ attention routing
def routing_simulation_file(out_nc, *, simulation: dict, random_state: int) -> None:
    """SIMULATED feature maps + responses with known routing -> NetCDF (feature-map format)."""
    sim = simulate_routing(**simulation, random_state=random_state)
    names = list(sim["source"])
    src = np.array([sim["source"][n] if sim["source"][n] is not None else (-1, -1) for n in names])
    n, c, h, w = sim["features"].shape
    per_region = simulation["targets_per_region"]
    ds = xr.Dataset(
        {
            "features": (("stimulus", "channel", "y", "x"), sim["features"]),
            "responses": (("stimulus", "target"), sim["responses"]),
            "source_row": (("region",), src[:, 0]),
            "source_col": (("region",), src[:, 1]),
            "object_row": (("moving", "stimulus"), sim["object_location"][..., 0]),
            "object_col": (("moving", "stimulus"), sim["object_location"][..., 1]),
        },
        coords={
            "stimulus": np.arange(n),
            "channel": np.arange(c),
            "y": np.arange(h),
            "x": np.arange(w),
            "region": names,
            "moving": [m for m in names if sim["source"][m] is None],
            "target": [f"{r}_t{i % per_region}" for i, r in enumerate(sim["regions"])],
            "target_region": ("target", sim["regions"]),
        },
    )
    ds["features"].attrs["units"] = "z (SIMULATED feature map, smoothed Gaussian noise)"
    ds["responses"].attrs["units"] = "a.u. (SIMULATED)"
    ds["source_row"].attrs["description"] = "known source token row (-1: moving region)"
    ds.attrs.update(provenance([], {**simulation, "random_state": random_state}))
    ds.attrs["description"] = (
        "SIMULATED routing set: fixed regions read one location of the "
        "feature map; moving regions read the location of a marked "
        "object that changes with the stimulus"
    )
    ds.attrs["response_units"] = "a.u. (SIMULATED)"
    ds.attrs["feature_units"] = "z (SIMULATED feature map, smoothed Gaussian noise)"
    write_encoding_netcdf(ds, out_nc, simulated=True)


def read_feature_map(path) -> xr.Dataset:
    """Feature maps, responses and target regions from a NetCDF file.

    Expected: ``features`` (stimulus, channel, y, x), ``responses`` (stimulus, target) and
    a ``target_region`` coordinate on ``target``; optional ``source_row``/``source_col``
    (region) and ``object_row``/``object_col`` (moving, stimulus) for known routing.
    """
    path = check_file(path, "feature-map file")
    try:
        ds = read_netcdf(path, "feature-map file")
    except Exception as exc:  # h5py/xarray raise many types for damaged files
        raise ValueError(f"feature-map file {path}: cannot read: {exc}") from exc
    for name, dims in (
        ("features", ("stimulus", "channel", "y", "x")),
        ("responses", ("stimulus", "target")),
    ):
        if name not in ds or ds[name].dims != dims:
            raise ValueError(f"feature-map file {path}: needs variable {name!r} with dims {dims}")
    if "target_region" not in ds.coords:
        raise ValueError(f"feature-map file {path}: needs coordinate 'target_region' (region of each target)")
    for name in ("features", "responses"):
        if not np.all(np.isfinite(ds[name].values)):
            raise ValueError(f"feature-map file {path}: non-finite values in {name!r}")
    return ds


def attention_files(
    featuremap_nc, out_nc, out_tsv, out_png_routing, out_png_comparison, settings: AttentionSettings
) -> None:
    """Attention-routing encoder vs ridge on the same folds; routing maps and figures."""
    ds = read_feature_map(featuremap_nc)
    n = ds.sizes["stimulus"]
    if n < 2 * settings.n_folds:
        raise ValueError(
            f"feature-map file {featuremap_nc}: {n} stimuli are too few for "
            f"encoding.attention.n_folds = {settings.n_folds} folds"
        )
    dev = select_device(settings.device, settings.backend, "encoding.device")
    print(describe(dev), flush=True)
    regions = ds["target_region"].values.astype(str)
    with blas_threads(settings.threads), himalaya_backend(dev["backend"]), compute_record(dev) as compute:
        result = fit_attention_and_ridge(
            ds["features"].values, ds["responses"].values, regions, settings, dev
        )
    warnings: list[str] = []
    table, shape, mean_maps = region_table(ds, result, settings, warnings)
    write_attention_outputs(
        ds,
        result,
        table,
        shape,
        mean_maps,
        settings,
        compute,
        warnings,
        featuremap_nc=featuremap_nc,
        out_nc=out_nc,
        out_tsv=out_tsv,
    )
    plot_attention(
        ds,
        result,
        table,
        mean_maps,
        settings,
        out_png_routing=out_png_routing,
        out_png_comparison=out_png_comparison,
    )


def write_attention_outputs(
    ds, result, table, shape, mean_maps, settings, compute, warnings, *, featuremap_nc, out_nc, out_tsv
) -> None:
    """Region table (TSV + sidecar) and the NetCDF of predictions and attention maps."""
    simulated = is_simulated(ds.attrs, featuremap_nc)
    params = {**settings.record(), "best_epochs": result["best_epochs"]}
    doubt = (" WARNINGS: " + " | ".join(warnings)) if warnings else ""
    write_tsv(
        table,
        out_tsv,
        "Attention-routing transformer encoder (Adeli et al. 2025) vs ridge on the same "
        f"{settings.n_folds} folds of stimuli: held-out correlation per region (mean "
        "over its targets of the mean over folds), peakedness of the mean attention map "
        "(entropy, peak/mean; flat maps get no peak), its peak, the known source "
        "(-1: none or unknown) and, for moving regions, the fraction of stimuli whose "
        "attention peak is the object's token." + (" SIMULATED data." if simulated else "") + doubt,
        TABLE_COLUMNS,
        sources=[Path(featuremap_nc).name],
        simulated=simulated,
    )
    add_to_sidecar(out_tsv, compute, {"Parameters": params}, warnings)
    attrs = {
        **provenance([featuremap_nc], params),
        "compute": json.dumps(compute),
        "warnings": json.dumps(warnings),
    }
    write_encoding_netcdf(
        routing_dataset(ds, result, mean_maps, shape, settings, attrs),
        out_nc,
        simulated=simulated,
        sources=[featuremap_nc],
        response_units=ds.attrs.get("response_units"),
    )
    sidecar(
        out_nc,
        "Held-out predictions and attention (routing) maps of the attention-"
        "routing encoder and ridge predictions on the same folds.",
        compute,
        [featuremap_nc],
        {"Parameters": params},
        simulated=simulated,
        warnings=warnings,
    )


def plot_attention(ds, result, table, mean_maps, settings, *, out_png_routing, out_png_comparison) -> None:
    """Routing maps (known sources circled) and the accuracy comparison."""
    label = " - SIMULATED" if is_simulated(ds.attrs) else ""
    flat = [r for r, f in zip(table["region"], table["attention_flat"], strict=True) if f]
    flat_note = f" (flat maps, no peak: {', '.join(flat)})" if flat else ""
    n = len(result["attention"])
    ex = np.arange(min(settings.n_examples, n))
    locations, _ = object_locations(ds, result)
    plot_routing(
        mean_maps,
        result["regions"],
        known_sources(ds, result["regions"]),
        result["attention"][ex],
        locations[ex] if locations is not None else None,
        out_png_routing,
        title="Attention routing: where each region's query looks (held-out stimuli; "
        "circles: known source)" + label + flat_note,
    )
    plot_model_comparison(table, out_png_comparison, title="Held-out accuracy per region, same folds" + label)
