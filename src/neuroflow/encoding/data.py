"""Readers that turn a data set into an encoding *design*: features and responses aligned.

A design is an :class:`xarray.Dataset` with

* ``features`` (time, feature): stimulus features, not yet lagged;
* ``responses`` (time, target): what is predicted (spike rate, BOLD, ...);
* coords ``time`` (s from the start of the run), ``run`` (time; continuous recording, FIR
  lags never cross it), ``block`` (time; cross-validation folds keep blocks whole),
  optionally ``condition`` (time; repeated conditions for the noise ceiling), ``feature``,
  ``band`` (feature; feature space of banded ridge), ``target`` and per-target metadata;
* attrs: ``sampling_rate_hz``, ``response_units``, ``simulated`` and a description.

Readers: :func:`grasshopper_design` (sound envelope -> spike rate), :func:`haxby_design`
(object categories -> BOLD), :func:`headdirection_design` (head angle -> spike rate, from
the activity stage's units file),
:func:`files_design` (user-supplied feature and response arrays); a BIDS cohort's task runs
are read by :mod:`neuroflow.encoding.taskdesign`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from neuroflow.encoding.features import (
    angular_basis,
    category_onehot,
    envelope_features,
    load_feature_file,
    spectrotemporal_features,
)
from neuroflow.io.haxby import read_haxby
from neuroflow.io.haxby import require_file as _check_file


def _contiguous_blocks(n: int, n_blocks: int, offset: int = 0) -> np.ndarray:
    if n_blocks < 1 or n < n_blocks:
        raise ValueError(f"cannot cut {n} samples into {n_blocks} blocks")
    return offset + (np.arange(n) * n_blocks) // n


def _design(
    features,
    responses,
    *,
    time,
    run,
    block,
    feature_names,
    bands,
    target_names,
    rate: float,
    response_units: str,
    description: str,
    simulated: bool = False,
    condition=None,
    target_coords=None,
    feature_units: str = "",
):
    import xarray as xr

    coords = {
        "time": ("time", np.asarray(time, dtype=float)),
        "run": ("time", np.asarray(run).astype(str)),
        "block": ("time", np.asarray(block).astype(int)),
        "feature": np.asarray(feature_names, dtype=str),
        "band": ("feature", np.asarray(bands, dtype=str)),
        "target": np.asarray(target_names, dtype=str),
    }
    if condition is not None:
        coords["condition"] = ("time", np.asarray(condition).astype(str))
    for name, values in (target_coords or {}).items():
        values = np.asarray(values)
        coords[name] = ("target", values.astype(str) if values.dtype == object else values)
    ds = xr.Dataset(
        {
            "features": (("time", "feature"), np.asarray(features, dtype=float)),
            "responses": (("time", "target"), np.asarray(responses, dtype=float)),
        },
        coords=coords,
    )
    ds["time"].attrs["units"] = "s from the start of the run (bin start)"
    ds["responses"].attrs["units"] = response_units
    ds["features"].attrs["units"] = feature_units
    ds.attrs.update(
        sampling_rate_hz=float(rate),
        response_units=response_units,
        description=description,
        simulated=np.int8(bool(simulated)),
    )
    if not np.all(np.isfinite(ds["features"].values)):
        raise ValueError(f"{description}: non-finite feature values")
    return ds


# ----------------------------------------------------------------------- grasshopper audio
def _header_value(path: Path, key: str) -> float | None:
    pattern = re.compile(rf"^#\s*{re.escape(key)}\s*:\s*([-+0-9.eE]+)")
    with open(path) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            if m := pattern.match(line):
                return float(m.group(1))
    return None


def read_grasshopper_pair(stimulus, spikes):
    """One stimulus/response pair of the nitime grasshopper data.

    Parameters
    ----------
    stimulus : path
        Two columns: time (microseconds, uniform) and relative envelope amplitude.
    spikes : path
        Spike times (microseconds), one per line, after a ``#`` header that holds
        ``intensity (dB)``, the peak level of the stimulus (dB SPL).

    Returns
    -------
    amplitude : ndarray, shape (n_samples,)
    fs : float
        Sampling rate (Hz).
    spike_s : ndarray
        Spike times (s from the stimulus start).
    peak_db : float or None
    """
    stimulus, spikes = (
        _check_file(stimulus, "grasshopper stimulus"),
        _check_file(spikes, "grasshopper spike times"),
    )
    try:
        stim = np.loadtxt(stimulus, comments="#", ndmin=2)
        spike_us = np.loadtxt(spikes, comments="#", ndmin=1)
    except ValueError as exc:
        raise ValueError(f"grasshopper files {stimulus} / {spikes}: not numeric columns: {exc}") from exc
    if stim.shape[1] != 2 or len(stim) < 100:
        raise ValueError(
            f"grasshopper stimulus {stimulus}: expected two columns (time in us, "
            f"amplitude) and >= 100 rows, got shape {stim.shape}"
        )
    step = np.diff(stim[:, 0])
    if not np.allclose(step, step[0]) or step[0] <= 0:
        raise ValueError(f"grasshopper stimulus {stimulus}: time column is not uniformly increasing")
    if spike_us.ndim != 1 or np.any(np.diff(spike_us) < 0):
        raise ValueError(f"grasshopper spike times {spikes}: expected increasing times (us)")
    fs = 1e6 / step[0]
    t0 = stim[0, 0]
    return stim[:, 1], fs, (spike_us - t0) * 1e-6, _header_value(spikes, "intensity (dB)")


def grasshopper_design(
    stimulus_files,
    spike_files,
    *,
    bin_s: float,
    n_blocks: int,
    reference: float,
    features: str,
    n_bands: int,
    fmin: float,
) -> xarray.Dataset:  # noqa: F821
    """Spike rate of the grasshopper auditory receptor and its stimulus features.

    Parameters
    ----------
    stimulus_files, spike_files : list of path
        Matching pairs (one run each).
    bin_s : float
        Bin width (s) of features and spike counts.
    n_blocks : int
        Contiguous cross-validation blocks per run.
    reference : float
        0 dB amplitude (2e-5 Pa: dB SPL); the level is anchored to the header's
        ``intensity (dB)`` peak when present.
    features : {'envelope', 'spectrogram'}
        ``envelope``: bands ``level`` (dB SPL) and ``onset`` (dB/s) of the amplitude
        envelope; ``spectrogram``: log band power of the signal itself (for waveforms).
    n_bands, fmin : int, float
        Spectrogram bands and lowest edge (Hz).
    """
    if len(stimulus_files) != len(spike_files) or not stimulus_files:
        raise ValueError("grasshopper: need as many stimulus files as spike files (>= 1)")
    feats, resp, time, run, block = [], [], [], [], []
    names = bands = None
    for i, (stim_path, spike_path) in enumerate(zip(stimulus_files, spike_files, strict=True)):
        amp, fs, spike_s, peak = read_grasshopper_pair(stim_path, spike_path)
        if features == "envelope":
            f, names = envelope_features(amp, fs, bin_s, reference=reference, peak_db=peak)
            bands = names
        elif features == "spectrogram":
            f, names = spectrotemporal_features(amp, fs, bin_s, n_bands=n_bands, fmin=fmin)
            bands = ["spectrogram"] * len(names)
        else:
            raise ValueError(
                f"config key encoding grasshopper features: 'envelope' or 'spectrogram', got {features!r}"
            )
        n = len(f)
        counts = np.histogram(spike_s, bins=np.arange(n + 1) * bin_s)[0]
        feats.append(f)
        resp.append(counts / bin_s)
        time.append(np.arange(n) * bin_s)
        run += [f"stimulus{i + 1}"] * n
        block.append(_contiguous_blocks(n, n_blocks, offset=i * n_blocks))
    return _design(
        np.vstack(feats),
        np.concatenate(resp)[:, None],
        time=np.concatenate(time),
        run=run,
        block=np.concatenate(block),
        feature_names=names,
        bands=bands,
        target_names=["receptor"],
        rate=1 / bin_s,
        response_units="spikes/s",
        feature_units="level: dB SPL; onset: dB/s" if features == "envelope" else "dB (band power)",
        description="grasshopper auditory receptor (Locusta migratoria): sound envelope -> spike rate",
    )


# ----------------------------------------------------------------------------- Haxby fMRI
def haxby_design(bold, mask, attributes, *, baseline: str, categories, tr: float | None):
    """One-hot object-category features and detrended, z-scored BOLD of each voxel.

    Each run is linearly detrended and z-scored per voxel (scipy). Features are the
    indicators of the category on screen (the baseline gives all-zero rows); runs are the
    cross-validation blocks and the repeats of the noise ceiling.
    """
    from scipy.signal import detrend

    ts, labels, runs, voxels, header_tr = read_haxby(bold, mask, attributes)
    tr = float(tr or header_tr)
    cats = list(categories) if categories else sorted(set(labels) - {baseline})
    X = category_onehot(labels, cats)
    Y = np.empty_like(ts)
    time = np.empty(len(ts))
    for r in np.unique(runs):
        idx = np.flatnonzero(runs == r)
        y = detrend(ts[idx], axis=0, type="linear")
        sd = y.std(axis=0)
        Y[idx] = y / np.where(sd > 0, sd, 1.0)
        time[idx] = np.arange(len(idx)) * tr
    return _design(
        X,
        Y,
        time=time,
        run=runs,
        block=runs,
        feature_names=cats,
        bands=["category"] * len(cats),
        target_names=[f"voxel{i:04d}" for i in range(len(voxels))],
        target_coords={"voxel_i": voxels[:, 0], "voxel_j": voxels[:, 1], "voxel_k": voxels[:, 2]},
        rate=1 / tr,
        response_units="z (BOLD, detrended and z-scored per run)",
        feature_units="indicator (0/1)",
        condition=labels,
        description="Haxby 2001 subject 1: object category -> BOLD",
    )


# ------------------------------------------------------------------------- head direction
def read_headdirection(path, epoch: str):
    """Head angle and spike times (within one epoch) from the activity stage's units file.

    Parameters
    ----------
    path : str or Path
        ``<entities>_desc-units_spikes.nc`` of an NWB spike recording (the activity stage
        read the NWB file once: units, ``CompassDirection`` head angle, epochs).
    epoch : str
        Epoch tag; the span runs from the first start to the last stop of its epochs.

    Returns
    -------
    t, angle : ndarray
        Head-angle timestamps (s) and angles (rad, wrapped to [0, 2 pi)) inside the epoch.
    spikes : list of ndarray
        Spike times (s) per unit.
    units : pandas.DataFrame
        Index = unit id (NWB units table), column ``location``.
    span : (float, float)
        Epoch start and stop (s).
    """
    import pandas as pd

    from neuroflow.activity.spikes import read_units_file

    path = _check_file(path, "units file")
    where = f"units file {path}"
    found = read_units_file(path)
    if found.angle_time is None or found.angle_time.size == 0:
        raise ValueError(
            f"{where}: no head-angle series (the activity recording's "
            "angle_series names the CompassDirection series, rad)"
        )
    if not found.epochs:
        raise ValueError(f"{where}: no epochs table")
    t = np.asarray(found.angle_time, dtype=float)
    angle = np.asarray(found.angle, dtype=float)
    ep = [(a, b) for a, b, label in found.epochs if epoch in label.split(",")]
    if not ep:
        raise ValueError(f"{where}: no epoch tagged {epoch!r}")
    start, stop = float(min(a for a, _ in ep)), float(max(b for _, b in ep))
    keep = (t >= start) & (t < stop)
    spikes = [np.asarray(s, dtype=float) for s in found.spike_times]
    units = pd.DataFrame({"location": list(found.location)}, index=pd.Index(found.unit_ids, name="id"))
    return t[keep], np.mod(angle[keep], 2 * np.pi), spikes, units, (start, stop)


def headdirection_design(
    units_file, *, epoch: str, bin_s: float, n_basis: int, basis: str, kappa: float, n_blocks: int
):
    """Angular tuning-basis features of head direction and the spike rate of every unit.

    ``units_file`` is the activity stage's units file of the recording
    (:func:`read_headdirection`).
    """
    t, angle, spikes, units, (start, stop) = read_headdirection(units_file, epoch)
    n = int((stop - start) // bin_s)
    edges = start + np.arange(n + 1) * bin_s
    which = np.digitize(t, edges) - 1
    ok = (which >= 0) & (which < n)
    z = np.zeros(n, dtype=complex)
    np.add.at(z, which[ok], np.exp(1j * angle[ok]))
    count = np.bincount(which[ok], minlength=n)
    with np.errstate(invalid="ignore"):
        mean_angle = np.where(count > 0, np.mod(np.angle(z), 2 * np.pi), np.nan)
    rates = np.column_stack([np.histogram(s, bins=edges)[0] / bin_s for s in spikes])
    # bins without a tracked angle are left out; each stretch between them is its own run,
    # so that FIR lags never bridge a tracking gap
    valid = np.isfinite(mean_angle)
    if valid.sum() < 2 * n_blocks:
        raise ValueError(f"units file {units_file}: only {int(valid.sum())} bins with a head angle")
    stretch = np.cumsum(np.r_[True, np.diff(valid.astype(int)) != 0])
    X, names = angular_basis(mean_angle[valid], n_basis, basis, kappa)
    location = (
        units["location"].astype(str).to_numpy()
        if "location" in units
        else np.array(["unknown"] * len(units))
    )
    ds = _design(
        X,
        rates[valid],
        time=edges[:-1][valid] - start,
        run=[f"{epoch}{s}" for s in stretch[valid]],
        block=_contiguous_blocks(int(valid.sum()), n_blocks),
        feature_names=names,
        bands=["headdirection"] * len(names),
        target_names=[f"unit{u}" for u in units.index],
        target_coords={"location": location},
        rate=1 / bin_s,
        response_units="spikes/s",
        feature_units=f"{basis} basis of head angle",
        description=f"head direction -> spike rate ({epoch} epoch)",
    )
    mean_angle = mean_angle[valid]
    ds["head_angle"] = (("time",), mean_angle)
    ds["head_angle"].attrs["units"] = "rad (circular mean within the bin)"
    return ds


# ----------------------------------------------------------------------- user-supplied
def _read_array(path, variable: str) -> np.ndarray:
    data = load_feature_file(path, variable=variable, ndim=(1, 2))
    return data[:, None] if data.ndim == 1 else data


def _read_runs(path, n_samples: int) -> np.ndarray:
    """Run label of every sample from a ``.npy`` file (1-D, integers or strings)."""
    path = _check_file(path, "runs file")
    try:
        run = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"runs file {path}: not a .npy array of run labels: {exc}") from exc
    if run.ndim != 1 or run.dtype.kind not in "iuU":
        raise ValueError(
            f"runs file {path}: expected a 1-D array of integer or string run "
            f"labels, got shape {run.shape} dtype {run.dtype}"
        )
    if len(run) != n_samples:
        raise ValueError(f"runs file {path}: {len(run)} labels for {n_samples} samples")
    return run


def files_design(
    features, responses, runs=None, *, rate: float, n_blocks: int, band_sizes, band_names, response_units: str
):
    """A design from user files: precomputed features (e.g. DNN activations) and responses.

    Parameters
    ----------
    features : path
        ``.npy`` or ``.nc`` (variable ``features``), shape (n_samples, n_features).
    responses : path
        ``.npy`` or ``.nc`` (variable ``responses``), shape (n_samples, n_targets).
    runs : path, optional
        ``.npy`` of run labels per sample (integers or strings; runs may differ in length);
        None = one run. FIR lags never cross a run and shifts of the null stay within one.
    rate : float
        Sampling rate of the rows (Hz).
    n_blocks : int
        Contiguous cross-validation blocks per run (1 = each run one block: folds by run).
    band_sizes, band_names : list, optional
        Consecutive feature columns forming each band (banded ridge).
    """
    X = _read_array(features, "features")
    Y = _read_array(responses, "responses")
    if len(X) != len(Y):
        raise ValueError(
            f"feature file {features} has {len(X)} rows but response file {responses} has {len(Y)}"
        )
    run = _read_runs(runs, len(X)) if runs else np.zeros(len(X), dtype=int)
    block = np.empty(len(X), dtype=int)
    time = np.empty(len(X))
    offset = 0
    for r in np.unique(run):
        idx = np.flatnonzero(run == r)
        if len(idx) < n_blocks:
            raise ValueError(
                f"runs file {runs}: run {r!r} has {len(idx)} samples, fewer than "
                f"options.n_blocks = {n_blocks} blocks per run"
            )
        block[idx] = _contiguous_blocks(len(idx), n_blocks, offset)
        time[idx] = np.arange(len(idx)) / rate
        offset += n_blocks
    if band_sizes:
        if sum(band_sizes) != X.shape[1]:
            raise ValueError(
                f"feature file {features}: band_sizes {band_sizes} do not add up to its {X.shape[1]} columns"
            )
        names = band_names or [f"band{i}" for i in range(len(band_sizes))]
        bands = np.repeat(names, band_sizes)
    else:
        bands = ["features"] * X.shape[1]
    return _design(
        X,
        Y,
        time=time,
        run=run,
        block=block,
        feature_names=[f"f{i}" for i in range(X.shape[1])],
        bands=bands,
        target_names=[f"target{i}" for i in range(Y.shape[1])],
        rate=rate,
        response_units=response_units,
        description=f"user files {Path(features).name} -> {Path(responses).name}",
    )
