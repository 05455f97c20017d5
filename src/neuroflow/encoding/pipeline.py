"""File-level entry points of the encoding rules (one function per rule).

Each function reads its inputs, calls the pure functions of :mod:`neuroflow.encoding`, and
writes its outputs atomically (NetCDF, TSV + JSON sidecar, PNG); a failure leaves nothing
partial behind. The compute device is chosen once per job, printed to the rule's log, and
recorded (device, name, himalaya backend, peak GPU memory) in the NetCDF attributes and in
every JSON sidecar. Simulated data are labelled as such in every output.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.provenance import package_versions, write_json, write_netcdf, write_tsv
from neuroflow.resources import sha256_file

ENCODING_PACKAGES = ("neuroflow", "numpy", "scipy", "pandas", "xarray", "h5netcdf", "himalaya",
                     "scikit-learn", "statsmodels", "torch", "nibabel", "pynwb")
READERS = ("grasshopper", "haxby", "headdirection", "files")


EXPERIMENT_DEFAULTS = {
    "dataset": None, "paths": [], "recording": None, "subject": "01", "datatype": "ephys", "task": "stim",
    "options": {}, "lags_s": [0.0, 0.0], "model": "auto", "n_folds": 0, "n_inner_folds": 5,
    "permutation": {"mode": "predictions", "n": 1000, "min_shift_s": 1.0},
    "noise_ceiling": {"enabled": False, "delay_s": 0.0, "skip": [], "min_ceiling": 0.1},
}


def experiment_config(section: dict, experiment: str) -> dict:
    """One experiment of config section ``encoding`` with the schema's defaults filled in.

    (Snakemake fills schema defaults of named properties only, not of the entries of a
    mapping such as ``encoding.experiments``.)
    """
    experiments = section.get("experiments") or {}
    if experiment not in experiments:
        raise ValueError(f"config key encoding.run: unknown experiment {experiment!r}; "
                         f"defined under encoding.experiments: {sorted(experiments)}")
    given = experiments[experiment]
    cfg = {**EXPERIMENT_DEFAULTS, **given}
    for key in ("permutation", "noise_ceiling"):
        cfg[key] = {**EXPERIMENT_DEFAULTS[key], **(given.get(key) or {})}
    key = f"encoding.experiments.{experiment}"
    if cfg["reader"] == "headdirection":
        _check_units_experiment(cfg, key)
    elif cfg["recording"]:
        raise ValueError(f"config key {key}.recording: only reader headdirection reads an "
                         "activity recording's units file")
    elif not cfg["dataset"] and not cfg["paths"]:
        raise ValueError(f"config key {key}: give a manifest dataset or input paths")
    return cfg


def _check_units_experiment(cfg: dict, key: str) -> None:
    """A headdirection experiment reads the activity stage's units file of ``recording``."""
    for old in ("dataset", "paths"):
        if cfg[old]:
            raise ValueError(
                f"config key {key}.{old}: moved: reader headdirection reads the activity "
                f"stage's units file now; put the NWB file under activity.spikes.<id> (dataset "
                f"or path) and name it in {key}.recording")
    if "angle_series" in (cfg.get("options") or {}):
        raise ValueError(f"config key {key}.options.angle_series: moved: the activity stage "
                         "reads the head angle (activity.spikes.<id>.angle_series)")
    if not cfg["recording"]:
        raise ValueError(f"config key {key}.recording: not set; reader headdirection needs a "
                         "spike recording of the activity stage (an activity.spikes id such as "
                         "A2929)")


def experiment_prefix(results_dir: str, experiment: str, cfg: dict) -> str:
    """BIDS-derivatives prefix of an experiment's outputs (append ``_<suffix>.<ext>``)."""
    sub = cfg["subject"]
    return (f"{results_dir}/sub-{sub}/{cfg['datatype']}/sub-{sub}_task-{cfg['task']}"
            f"_desc-{experiment}")


def experiment_inputs(cfg: dict, manifest: dict, dest_root, units_file=None) -> list[str]:
    """Input files of an experiment: its manifest dataset's files, or its own paths; for
    reader headdirection the activity stage's ``units_file`` of its recording."""
    from neuroflow.resources import dataset_paths

    if cfg["reader"] == "headdirection":
        return [str(units_file)]
    if cfg["dataset"]:
        return [str(p) for p in dataset_paths(manifest, cfg["dataset"], dest_root)]
    return [str(p) for p in cfg["paths"]]


def _check_file(path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what}: file not found: {path}")
    return path


def _provenance(inputs, params: dict, simulated: bool = False) -> dict:
    return {"inputs": json.dumps([{"file": Path(f).name, "sha256": sha256_file(f)}
                                  for f in inputs]),
            "parameters": json.dumps(params, sort_keys=True, default=str),
            "software_versions": json.dumps(package_versions(ENCODING_PACKAGES), sort_keys=True),
            "simulated": "true" if simulated else "false"}


@contextlib.contextmanager
def _threads(n: int):
    """Cap BLAS/OpenMP threads (oversubscribed BLAS is slower than one thread).

    threadpoolctl only limits libraries already loaded, so the BLAS-backed modules used
    later (scipy, scikit-learn, himalaya) are imported first.
    """
    import himalaya.ridge  # noqa: F401
    import scipy.linalg  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=max(1, int(n))):
        yield


def _sidecar(path, description: str, compute: dict, sources, extra: dict | None = None,
             simulated: bool = False):
    if simulated:
        description = f"SIMULATED data. {description}"
    side = {"Description": description, "Simulated": simulated, "Compute": compute,
            "Sources": [Path(s).name for s in sources]}
    side.update(extra or {})
    write_json(side, Path(path).with_suffix(".json"))


def _add_compute(tsv_path, compute: dict, extra: dict | None = None) -> None:
    """Add the Compute record (and extra keys) to the sidecar written by ``write_tsv``."""
    side_path = Path(tsv_path).with_suffix(".json")
    side = json.loads(side_path.read_text())
    side["Compute"] = compute
    side.update(extra or {})
    write_json(side, side_path)


# ------------------------------------------------------------------------------- designs
def design_file(reader: str, inputs, out_nc, *, options: dict | None = None, subject: str,
                task: str, experiment: str) -> None:
    """Read a data set into an encoding design (features + responses) -> NetCDF.

    Parameters
    ----------
    reader : {'grasshopper', 'haxby', 'headdirection', 'files'}
    inputs : list of path
        grasshopper: stimulus/spike-time file pairs (stim1, spikes1, stim2, spikes2, ...);
        haxby: BOLD, mask, attributes; headdirection: the activity stage's units file
        (``<entities>_desc-units_spikes.nc``); files: features,
        responses[, runs].
    options : dict
        Keyword options of the reader (config ``encoding.experiments.<id>.options``).
    """
    from neuroflow.encoding import data

    funcs = {"grasshopper": data.grasshopper_design, "haxby": data.haxby_design,
             "headdirection": data.headdirection_design, "files": data.files_design}
    if reader not in funcs:
        raise ValueError(f"config key encoding.experiments.{experiment}.reader: expected one of "
                         f"{READERS}, got {reader!r}")
    options = dict(options or {})
    accepted = {p.name for p in inspect.signature(funcs[reader]).parameters.values()
                if p.kind == p.KEYWORD_ONLY}
    if unknown := sorted(set(options) - accepted):
        raise ValueError(f"config key encoding.experiments.{experiment}.options: {unknown} not "
                         f"understood by reader {reader!r} (accepted: {sorted(accepted)})")
    inputs = [str(_check_file(p, f"encoding experiment {experiment} input")) for p in inputs]
    if reader == "grasshopper":
        if len(inputs) < 2 or len(inputs) % 2:
            raise ValueError(f"encoding experiment {experiment}: grasshopper needs stimulus / "
                             f"spike-time file pairs, got {len(inputs)} files")
        ds = data.grasshopper_design(inputs[0::2], inputs[1::2], **options)
    elif reader == "haxby":
        ds = data.haxby_design(*inputs[:3], **options)
    elif reader == "headdirection":
        ds = data.headdirection_design(inputs[0], **options)
    else:
        ds = data.files_design(*inputs[:3], **options)
    ds.attrs.update(_provenance(inputs, {"reader": reader, **options},
                                ds.attrs.get("simulated") == "true"))
    ds.attrs.update(subject=subject, task=task, experiment=experiment, reader=reader)
    write_netcdf(ds, out_nc)


# ---------------------------------------------------------------------------------- ridge
_SCORE_COLUMNS = {
    "target": "target (neuron, unit or voxel) id",
    "r": "Pearson correlation of held-out prediction and response, mean over outer folds",
    "r_sd": "SD of r over outer folds",
    "r2": "R^2 of the held-out prediction (1 - SSE/SST about the test-fold mean), mean over "
          "folds",
    "alpha": "regularisation chosen by the inner CV, median over outer folds",
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


def _lags(lags_s, rate: float, key: str) -> np.ndarray:
    if len(lags_s) != 2 or lags_s[0] > lags_s[1]:
        raise ValueError(f"config key {key}: expected [min_s, max_s] with min <= max, got "
                         f"{lags_s}")
    lo, hi = (int(round(v * rate)) for v in lags_s)
    return np.arange(lo, hi + 1)


def ridge_files(design_nc, out_nc, out_tsv, out_png, *, experiment: str, lags_s,
                model: str = "auto", alphas=None, n_folds=None, n_inner_folds: int = 5,
                n_iter: int = 32, permutation: dict | None = None,
                noise_ceiling: dict | None = None, device: str = "auto",
                backend: str = "auto", n_targets_batch=None, random_state: int = 0,
                threads: int = 1) -> None:
    """Cross-validated ridge-family encoding model of one design -> scores and figure.

    Writes ``out_nc`` (per fold scores, alphas, band weights, held-out predictions, FIR
    weights refit on all data, null distribution; JSON sidecar), ``out_tsv`` (one row per
    target; JSON sidecar with the compute record) and ``out_png``.
    """
    import xarray as xr

    from neuroflow.encoding import ridge
    from neuroflow.encoding.device import compute_record, describe, himalaya_backend, select_device
    from neuroflow.encoding.features import fir_design
    from neuroflow.encoding.figures import plot_ridge_summary

    key = f"encoding.experiments.{experiment}"
    perm = {"mode": "predictions", "n": 1000, "min_shift_s": 1.0, **(permutation or {})}
    if perm["mode"] not in ("predictions", "refit"):
        raise ValueError(f"config key {key}.permutation.mode: 'predictions' or 'refit', got "
                         f"{perm['mode']!r}")
    with xr.open_dataset(_check_file(design_nc, "encoding design"), engine="h5netcdf") as ds:
        ds = ds.load()
    rate = float(ds.attrs["sampling_rate_hz"])
    lags = _lags(lags_s, rate, f"{key}.lags_s")
    feats, names = ds["features"].values, [str(f) for f in ds["feature"].values]
    X, lagged = fir_design(feats, lags, ds["run"].values, names)
    bands = np.tile(ds["band"].values.astype(str), len(lags))
    Y = ds["responses"].values
    groups, runs = ds["block"].values, ds["run"].values
    dev = select_device(device, backend, "encoding.device")
    print(describe(dev), flush=True)
    dtype = "float64" if dev["backend"] == "numpy" else "float32"
    alphas = np.asarray(alphas if alphas is not None else np.logspace(-2, 8, 21), dtype=float)
    fit_kw = dict(model=model, alphas=alphas, bands=bands, n_folds=n_folds,
                  n_inner_folds=n_inner_folds, n_iter=n_iter, random_state=random_state,
                  n_targets_batch=n_targets_batch, dtype=dtype)
    min_shift = max(1, int(round(perm["min_shift_s"] * rate)))
    t0 = time.perf_counter()
    with _threads(threads), himalaya_backend(dev["backend"]), compute_record(dev) as compute:
        fit = ridge.cross_validated_fit(X, Y, groups, **fit_kw)
        r_mean = np.nanmean(fit["r"], axis=0)
        if perm["n"] > 0 and perm["mode"] == "predictions":
            null = ridge.prediction_shift_null(Y, fit["prediction"], fit["splits"], runs,
                                               n_permutations=perm["n"], min_shift=min_shift,
                                               random_state=random_state)
            p, p_fdr = ridge.empirical_p(r_mean, null)
        elif perm["n"] > 0:
            res = ridge.permutation_test(X, Y, groups, runs, r_mean, n_permutations=perm["n"],
                                         min_shift=min_shift, random_state=random_state,
                                         **fit_kw)
            null, p, p_fdr = res["null"], res["p"], res["p_fdr"]
        else:
            null = np.empty((0, Y.shape[1]))
            p = p_fdr = np.full(Y.shape[1], np.nan)
        full = ridge.refit_all(X, Y, groups, model=fit["model"], alphas=alphas, bands=bands,
                               n_inner_folds=n_inner_folds, n_iter=n_iter,
                               random_state=random_state, dtype=dtype)
    print(f"neuroflow.encoding: {experiment}: {fit['model']} on {X.shape[0]} samples x "
          f"{X.shape[1]} lagged features x {Y.shape[1]} targets, {len(fit['splits'])} folds, "
          f"{perm['n']} shifts ({perm['mode']}): {time.perf_counter() - t0:.1f} s", flush=True)
    n_t = Y.shape[1]
    table = pd.DataFrame({"target": ds["target"].values.astype(str)})
    for name in ("location", "voxel_i", "voxel_j", "voxel_k"):
        if name in ds.coords:
            table[name] = ds[name].values
    table["r"] = r_mean
    table["r_sd"] = np.nanstd(fit["r"], axis=0)
    table["r2"] = np.nanmean(fit["r2"], axis=0)
    table["alpha"] = np.median(fit["alpha"], axis=0)
    if fit["band_weight"] is not None:
        for b, band in enumerate(fit["band_names"]):
            table[f"weight_{band}"] = fit["band_weight"][:, b].mean(axis=0)
            _SCORE_COLUMNS[f"weight_{band}"] = (f"relative weight of band {band} (banded ridge "
                                                "exp(delta) normalised over bands), mean over folds")
    table["null_mean"] = np.nanmean(null, axis=0) if len(null) else np.nan
    table["null_p95"] = np.nanpercentile(null, 95, axis=0) if len(null) else np.nan
    table["p"], table["p_fdr"] = p, p_fdr
    nc_info = {}
    nc_cfg = {"enabled": False, "delay_s": 0.0, "skip": [], "min_ceiling": 0.1,
              **(noise_ceiling or {})}
    if nc_cfg["enabled"]:
        if "condition" not in ds.coords:
            raise ValueError(f"config key {key}.noise_ceiling.enabled: design {design_nc} has no "
                             "repeated conditions (no 'condition' coordinate)")
        delay = int(round(nc_cfg["delay_s"] * rate))
        obs, cond_names, _ = ridge.condition_means(Y, ds["condition"].values, runs, delay,
                                                   nc_cfg["skip"])
        prd, _, _ = ridge.condition_means(fit["prediction"], ds["condition"].values, runs,
                                          delay, nc_cfg["skip"])
        nc = ridge.noise_ceiling(obs, n_average=1)
        flat_o, flat_p = obs.reshape(-1, n_t), prd.reshape(-1, n_t)
        keep = np.all(np.isfinite(flat_o), axis=1) & np.all(np.isfinite(flat_p), axis=1)
        r_cond = ridge.correlation(flat_o[keep], flat_p[keep])
        table["noise_ceiling"] = nc
        table["r_condition"] = r_cond
        with np.errstate(invalid="ignore", divide="ignore"):
            table["r2_normalized"] = np.where(nc >= nc_cfg["min_ceiling"],
                                              np.maximum(r_cond, 0) ** 2 / nc, np.nan)
        nc_info = {"NoiseCeiling": {"conditions": [str(c) for c in cond_names],
                                    "repeats": "runs", "delay_s": nc_cfg["delay_s"]}}
    simulated = ds.attrs.get("simulated") == "true"
    subject = ds.attrs.get("subject", "?")
    params = {"lags_samples": lags.tolist(), "lags_s": list(lags_s), "model": fit["model"],
              "alphas": alphas.tolist(), "n_folds": n_folds, "n_inner_folds": n_inner_folds,
              "n_iter": n_iter, "permutation": perm, "noise_ceiling": nc_cfg,
              "random_state": random_state, "dtype": dtype}
    write_tsv(table, out_tsv,
              f"Encoding model '{experiment}' (sub-{subject}): {fit['model']} (himalaya), "
              f"{len(fit['splits'])} outer folds of whole blocks, regularisation per target by "
              f"{n_inner_folds}-fold grouped inner CV; FIR lags {lags_s[0]}-{lags_s[1]} s."
              + (" SIMULATED data." if simulated else ""),
              {c: _SCORE_COLUMNS.get(c, c) for c in table.columns}, sources=[Path(design_nc).name])
    _add_compute(out_tsv, compute, {"Parameters": params, **nc_info})
    coef = full["coef"].reshape(len(lags), len(names), n_t)
    out = xr.Dataset(
        {"r": (("fold", "target"), fit["r"]), "r2": (("fold", "target"), fit["r2"]),
         "alpha": (("fold", "target"), fit["alpha"]),
         "prediction": (("time", "target"), fit["prediction"]),
         "fold_of_sample": (("time",), fit["fold"]),
         "coef": (("lag", "feature", "target"), coef),
         "null": (("permutation", "target"), null),
         "p": (("target",), p), "p_fdr": (("target",), p_fdr)},
        coords={"target": ds["target"].values, "lag": lags / rate, "feature": names,
                "fold": np.arange(len(fit["splits"])), "permutation": np.arange(len(null))})
    if fit["band_weight"] is not None:
        out["band_weight"] = (("fold", "band", "target"), fit["band_weight"])
        out = out.assign_coords(band=fit["band_names"])
    out["prediction"].attrs["units"] = ds.attrs["response_units"]
    out["coef"].attrs["units"] = f"{ds.attrs['response_units']} per SD of the feature"
    out["lag"].attrs["units"] = "s (response after stimulus)"
    out["r"].attrs["units"] = "Pearson r (held-out fold)"
    out.attrs.update(_provenance([design_nc], params, simulated))
    out.attrs.update(experiment=experiment, subject=subject, compute=json.dumps(compute),
                     sampling_rate_hz=rate, model=fit["model"])
    write_netcdf(out, out_nc)
    _sidecar(out_nc, f"Per-fold scores, held-out predictions, FIR weights and shuffled "
             f"baseline of encoding model '{experiment}'.", compute, [design_nc],
             {"Parameters": params}, simulated=simulated)
    best = int(np.nanargmax(np.where(np.isfinite(r_mean), r_mean, -np.inf)))
    te = fit["splits"][0][1]
    first_run = te[ds["run"].values[te] == ds["run"].values[te][0]]
    excerpt = first_run[:120]
    title = (f"sub-{subject} '{experiment}': {fit['model']}, held-out r = "
             f"{np.nanmean(r_mean):.3f} (mean over {n_t} target{'s' if n_t > 1 else ''})"
             + (" - SIMULATED" if simulated else ""))
    plot_ridge_summary(ds["time"].values, Y, fit["prediction"], excerpt, lags / rate, coef,
                       names, r_mean, null, list(ds["target"].values.astype(str)), out_png,
                       title=title, response_units=ds.attrs["response_units"], best=best)


# ------------------------------------------------------------------------ attention routing
def routing_simulation_file(out_nc, *, n_stimuli: int = 300, n_channels: int = 8,
                            height: int = 6, width: int = 6, n_moving: int = 1,
                            targets_per_region: int = 4, marker: float = 4.0,
                            noise: float = 0.3, smoothness: float = 1.0,
                            random_state: int = 0) -> None:
    """SIMULATED feature maps + responses with known routing -> NetCDF (feature-map format)."""
    import xarray as xr

    from neuroflow.encoding.attention import simulate_routing

    sim = simulate_routing(n_stimuli, n_channels, height, width, n_moving=n_moving,
                           targets_per_region=targets_per_region, marker=marker, noise=noise,
                           smoothness=smoothness, random_state=random_state)
    names = list(sim["source"])
    src = np.array([sim["source"][n] if sim["source"][n] is not None else (-1, -1)
                    for n in names])
    moving = [n for n in names if sim["source"][n] is None]
    ds = xr.Dataset(
        {"features": (("stimulus", "channel", "y", "x"), sim["features"]),
         "responses": (("stimulus", "target"), sim["responses"]),
         "source_row": (("region",), src[:, 0]), "source_col": (("region",), src[:, 1]),
         "object_row": (("moving", "stimulus"), sim["object_location"][..., 0]),
         "object_col": (("moving", "stimulus"), sim["object_location"][..., 1])},
        coords={"stimulus": np.arange(n_stimuli), "channel": np.arange(n_channels),
                "y": np.arange(height), "x": np.arange(width), "region": names,
                "moving": moving,
                "target": [f"{r}_t{i % targets_per_region}" for i, r in
                           enumerate(sim["regions"])],
                "target_region": ("target", sim["regions"])})
    ds["features"].attrs["units"] = "z (SIMULATED feature map, smoothed Gaussian noise)"
    ds["responses"].attrs["units"] = "a.u. (SIMULATED)"
    ds["source_row"].attrs["description"] = "known source token row (-1: moving region)"
    ds.attrs.update(_provenance([], {"n_stimuli": n_stimuli, "n_channels": n_channels,
                                     "height": height, "width": width, "n_moving": n_moving,
                                     "targets_per_region": targets_per_region,
                                     "marker": marker, "noise": noise,
                                     "smoothness": smoothness, "random_state": random_state},
                                simulated=True))
    ds.attrs["description"] = ("SIMULATED routing set: fixed regions read one location of the "
                               "feature map; moving regions read the location of a marked "
                               "object that changes with the stimulus")
    write_netcdf(ds, out_nc)


def read_feature_map(path):
    """Feature maps, responses and target regions from a NetCDF file.

    Expected: ``features`` (stimulus, channel, y, x), ``responses`` (stimulus, target) and
    a ``target_region`` coordinate on ``target``; optional ``source_row``/``source_col``
    (region) and ``object_row``/``object_col`` (moving, stimulus) for known routing.
    """
    import xarray as xr

    path = _check_file(path, "feature-map file")
    try:
        ds = xr.open_dataset(path, engine="h5netcdf").load()
    except Exception as exc:  # h5py/xarray raise many types for damaged files
        raise ValueError(f"feature-map file {path}: cannot read: {exc}") from exc
    for name, dims in (("features", ("stimulus", "channel", "y", "x")),
                       ("responses", ("stimulus", "target"))):
        if name not in ds or ds[name].dims != dims:
            raise ValueError(f"feature-map file {path}: needs variable {name!r} with dims "
                             f"{dims}")
    if "target_region" not in ds.coords:
        raise ValueError(f"feature-map file {path}: needs coordinate 'target_region' "
                         "(region of each target)")
    for name in ("features", "responses"):
        if not np.all(np.isfinite(ds[name].values)):
            raise ValueError(f"feature-map file {path}: non-finite values in {name!r}")
    return ds


def attention_files(featuremap_nc, out_nc, out_tsv, out_png_routing, out_png_comparison, *,
                    d_model: int = 32, n_heads: int = 4, dim_feedforward: int = 64,
                    dropout: float = 0.1, n_layers: int = 1, temperature: float = 10000.0,
                    epochs: int = 30, batch_size: int = 32, learning_rate: float = 3e-3,
                    weight_decay: float = 1e-4, grad_clip: float = 0.1, lr_step: int = 100,
                    validation_fraction: float = 0.1, n_folds: int = 5,
                    ridge_alphas=None, ridge_inner_folds: int = 5, n_examples: int = 3,
                    device: str = "auto", backend: str = "auto", random_state: int = 0,
                    threads: int = 1) -> None:
    """Attention-routing encoder vs ridge on the same folds; routing maps and figures."""
    import torch
    import xarray as xr
    from sklearn.model_selection import KFold

    from neuroflow.encoding import ridge
    from neuroflow.encoding.attention import predict_routing, train_routing_encoder
    from neuroflow.encoding.device import compute_record, describe, himalaya_backend, select_device
    from neuroflow.encoding.figures import plot_model_comparison, plot_routing

    ds = read_feature_map(featuremap_nc)
    F, Y = ds["features"].values, ds["responses"].values
    regions = ds["target_region"].values.astype(str)
    n, _, h, w = F.shape
    if n < 2 * n_folds:
        raise ValueError(f"feature-map file {featuremap_nc}: {n} stimuli are too few for "
                         f"{n_folds} folds")
    dev = select_device(device, backend, "encoding.device")
    print(describe(dev), flush=True)
    torch.set_num_threads(max(1, int(threads)))
    splits = list(KFold(n_splits=n_folds, shuffle=True, random_state=random_state).split(F))
    dtype = "float64" if dev["backend"] == "numpy" else "float32"
    alphas = np.asarray(ridge_alphas if ridge_alphas is not None else np.logspace(-2, 6, 17))
    pred_att = np.full(Y.shape, np.nan)
    attention = np.full((n, len(np.unique(regions)), h, w), np.nan)
    fold_of = np.full(n, -1)
    best_epochs, histories = [], []
    t0 = time.perf_counter()
    with _threads(threads), himalaya_backend(dev["backend"]), compute_record(dev) as compute:
        X = F.reshape(n, -1)
        fit_ridge = ridge.cross_validated_fit(X, Y, np.arange(n), model="auto", alphas=alphas,
                                              n_inner_folds=ridge_inner_folds, dtype=dtype,
                                              random_state=random_state, splits=splits)
        for k, (tr, te) in enumerate(splits):
            fit = train_routing_encoder(
                F, Y, regions, tr, d_model=d_model, n_heads=n_heads,
                dim_feedforward=dim_feedforward, dropout=dropout, n_layers=n_layers,
                temperature=temperature, epochs=epochs, batch_size=batch_size,
                learning_rate=learning_rate, weight_decay=weight_decay, grad_clip=grad_clip,
                lr_step=lr_step, validation_fraction=validation_fraction,
                device=dev["torch_device"], random_state=random_state + k)
            pred_att[te], attention[te] = predict_routing(fit, F[te])
            fold_of[te] = k
            best_epochs.append(fit["best_epoch"])
            histories.append(fit["history"])
            region_names = fit["regions"]
    print(f"neuroflow.encoding: attention routing, {n} stimuli x {h}x{w} tokens x "
          f"{Y.shape[1]} targets, {n_folds} folds x {epochs} epochs: "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    r_att = np.array([ridge.correlation(Y[te], pred_att[te]) for _, te in splits])
    r_ridge = fit_ridge["r"]
    rows = []
    for name in region_names:
        sel = regions == name
        for model, r in (("attention routing", r_att), (f"ridge ({fit_ridge['model']})",
                                                        r_ridge)):
            per_target = np.nanmean(r[:, sel], axis=0)
            rows.append({"region": name, "model": model, "n_targets": int(sel.sum()),
                         "r_mean": float(np.mean(per_target)),
                         "r_sem": float(np.std(per_target, ddof=1) / np.sqrt(sel.sum()))
                         if sel.sum() > 1 else np.nan})
    table = pd.DataFrame(rows)
    mean_maps = np.nanmean(attention, axis=0)
    peak = [np.unravel_index(int(np.argmax(m)), m.shape) for m in mean_maps]
    sources = [None] * len(region_names)
    if "source_row" in ds:
        src = {str(r): (int(a), int(b)) for r, a, b in zip(ds["region"].values,
                                                           ds["source_row"].values,
                                                           ds["source_col"].values)}
        sources = [src.get(r) if src.get(r, (-1, -1))[0] >= 0 else None for r in region_names]
    peaks = {name: list(map(int, p)) for name, p in zip(region_names, peak)}
    is_att = (table["model"] == "attention routing").to_numpy()
    table["attention_peak_row"] = [peaks[r][0] if a else -1
                                   for r, a in zip(table["region"], is_att)]
    table["attention_peak_col"] = [peaks[r][1] if a else -1
                                   for r, a in zip(table["region"], is_att)]
    table["source_row"] = [s[0] if s else -1 for r in table["region"]
                           for s in [sources[list(region_names).index(r)]]]
    table["source_col"] = [s[1] if s else -1 for r in table["region"]
                           for s in [sources[list(region_names).index(r)]]]
    hit = np.full(len(table), np.nan)
    example_loc = None
    if "object_row" in ds:
        flat = attention.reshape(n, len(region_names), -1).argmax(axis=2)
        example_loc = np.full((n, len(region_names), 2), -1)
        for m, name in enumerate(ds["moving"].values.astype(str)):
            k = list(region_names).index(name)
            rows_, cols_ = ds["object_row"].values[m], ds["object_col"].values[m]
            example_loc[:, k, 0], example_loc[:, k, 1] = rows_, cols_
            hit[(table["region"].to_numpy() == name) & is_att] = float(
                np.mean(flat[:, k] == rows_ * w + cols_))
    table["object_hit_rate"] = hit
    simulated = ds.attrs.get("simulated") == "true"
    params = {"d_model": d_model, "n_heads": n_heads, "dim_feedforward": dim_feedforward,
              "dropout": dropout, "n_layers": n_layers, "temperature": temperature,
              "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
              "weight_decay": weight_decay, "grad_clip": grad_clip, "lr_step": lr_step,
              "validation_fraction": validation_fraction, "n_folds": n_folds,
              "ridge_alphas": alphas.tolist(), "ridge_inner_folds": ridge_inner_folds,
              "random_state": random_state, "best_epochs": best_epochs}
    write_tsv(table, out_tsv,
              "Attention-routing transformer encoder (Adeli et al. 2025) vs ridge on the same "
              f"{n_folds} folds of stimuli: held-out correlation per region (mean over its "
              "targets of the mean over folds), peak of the mean attention map, known source "
              "(-1: none or unknown) and, for moving regions, the fraction of stimuli whose "
              "attention peak is the object's token." + (" SIMULATED data." if simulated
                                                          else ""),
              {"region": "target region (one query each)", "model": "encoder",
               "n_targets": "targets in the region",
               "r_mean": "held-out Pearson r, mean over the region's targets",
               "r_sem": "standard error of r over the region's targets",
               "attention_peak_row": "row of the peak of the mean attention map (token grid; "
                                     "-1 for ridge rows)",
               "attention_peak_col": "column of that peak",
               "source_row": "known source row (simulated; -1 = moving/unknown)",
               "source_col": "known source column",
               "object_hit_rate": "moving regions: fraction of stimuli whose attention peak is "
                                  "the object token"},
              sources=[Path(featuremap_nc).name])
    _add_compute(out_tsv, compute, {"Parameters": params})
    out = xr.Dataset(
        {"prediction_attention": (("stimulus", "target"), pred_att),
         "prediction_ridge": (("stimulus", "target"), fit_ridge["prediction"]),
         "r_attention": (("fold", "target"), r_att), "r_ridge": (("fold", "target"), r_ridge),
         "attention": (("stimulus", "region", "y", "x"), attention),
         "attention_mean": (("region", "y", "x"), mean_maps),
         "fold_of_stimulus": (("stimulus",), fold_of),
         "validation_r": (("fold", "epoch"), np.array(histories))},
        coords={"stimulus": ds["stimulus"].values, "target": ds["target"].values,
                "region": list(region_names), "y": np.arange(h), "x": np.arange(w),
                "fold": np.arange(n_folds), "epoch": np.arange(epochs)})
    out["attention"].attrs["units"] = ("cross-attention weight of the region query on each "
                                       "token (held-out stimulus; sums to 1 over tokens)")
    out.attrs.update(_provenance([featuremap_nc], params, simulated))
    out.attrs["compute"] = json.dumps(compute)
    write_netcdf(out, out_nc)
    _sidecar(out_nc, "Held-out predictions and attention (routing) maps of the attention-"
             "routing encoder and ridge predictions on the same folds.", compute,
             [featuremap_nc], {"Parameters": params}, simulated=simulated)
    label = " - SIMULATED" if simulated else ""
    ex = np.arange(min(n_examples, n))
    plot_routing(mean_maps, list(region_names), sources, attention[ex],
                 example_loc[ex] if example_loc is not None else None, out_png_routing,
                 title="Attention routing: where each region's query looks (held-out stimuli; "
                       "circles: known source)" + label)
    plot_model_comparison(table, out_png_comparison,
                          title="Held-out accuracy per region, same folds" + label)
