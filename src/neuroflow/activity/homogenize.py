"""Per-recording homogenization: canonical labels, one time step, one normalization.

Labels go through the *same* :class:`neuroflow.io.celegans_labels.LabelMap` as the
connectomes (cell table + alias table, zero padding stripped), so a neuron's name is the
same in an activity file and in a connectome. Differences from the seed (Simeon et al.
2024, ``worm-data-preprocess``), each a fix of a pitfall it documents:

* labels with ``?`` (left/right or dorsal/ventral unresolved) are *not* silently turned
  into an identity: by default they become unlabelled neurons (status ``ambiguous``);
  ``ambiguous: resolve`` assigns the first unused canonical label matching the pattern
  (``?`` = any one character) and flags it ``ambiguous_resolved``;
* unlabelled neurons keep anonymous ids and are counted; their optional 300-slot position
  (``slot``) is drawn with a seeded generator (the seed's was unseeded) and must never be
  interpreted; unrecorded slots are NaN, not 0, in :func:`~neuroflow.activity.neuron_labels.to_canonical`;
* resampling is anti-aliased (polyphase FIR) instead of interpolation + block averaging;
* spike trains are never filtered: NWB units are binned at the common step directly from
  the spike times (:func:`neuroflow.activity.spikes.bin_spikes`), ``time`` holds the bin
  centres on the file's clock, and a spike-count/rate trace at any other step is an error
  (a low-pass filter rings below zero on sparse counts: negative firing rates);
* a recording too short for the smoothing (window longer than
  :data:`MAX_SMOOTHING_FRACTION` of it) or for the dF/F baseline window is an error that
  names the recording and the config key;
* smoothing runs on the common grid, so the window is the same duration for every
  recording (the seed smooths on each dataset's native grid);
* output is float32 (the seed stored float16);
* recordings without labelled neurons are kept (``require_labelled: false``), because
  the embedded demo recordings (mouse) have anonymous ROIs.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import xarray as xr

from neuroflow.activity.inputs import activity_schema
from neuroflow.activity.neuron_labels import assign_slots, map_neuron_labels
from neuroflow.activity.resample import (
    longest_runs_s,
    native_step,
    normalize_traces,
    resample_traces,
    smooth_traces,
)
from neuroflow.config import fill_defaults
from neuroflow.output_schema import is_simulated, recorded_units

MAX_SMOOTHING_FRACTION = 0.05
"""Longest smoothing window, as a fraction of the recording's duration (a 20 s recording
smoothed over 2.664 s would average 13 % of itself into every sample)."""
SPIKE_UNITS = ("spikes/s", "spikes/bin", "spikes", "spikes/sec", "hz (spikes)", "count/s")
"""Trace units that mark spike counts or rates (never resampled by a filter)."""


def _check_params(params: dict) -> None:
    for key in ("step_s", "max_gap_s"):
        if not isinstance(params.get(key), (int, float)) or params[key] <= 0:
            raise ValueError(f"activity parameter {key} must be > 0, got {params.get(key)!r}")


def is_spike_recording(rec: xr.Dataset) -> bool:
    """Whether a reader's recording holds binned spikes (counts or rates), not a trace."""
    unit = str(rec["traces"].attrs.get("units", "")).strip().lower()
    return "bin_width_s" in rec.attrs or unit in SPIKE_UNITS


def smoothing_span_s(smoothing: dict, step_s: float) -> tuple[float, str]:
    """Duration (s) over which a smoothing mixes samples, and the config key setting it.

    ``moving``: the window; ``gaussian``: the full width at half maximum
    (``2.355 sigma_s``); ``exponential``: the time constant ``-step_s / ln(1 - alpha)``
    (0 for ``alpha = 1``); ``none``: 0.
    """
    method = smoothing["method"]
    if method == "moving":
        return float(smoothing["window_s"]), "activity.smoothing.window_s"
    if method == "gaussian":
        return 2.3548 * float(smoothing["sigma_s"]), "activity.smoothing.sigma_s"
    if method == "exponential":
        alpha = float(smoothing["alpha"])
        return (0.0 if alpha >= 1 else -step_s / np.log(1 - alpha)), "activity.smoothing.alpha"
    return 0.0, "activity.smoothing.method"


def _check_duration(
    where: str, recording_id: str, duration: float, step_s: float, smoothing: dict, normalization: dict
) -> None:
    """A recording too short for the requested smoothing or dF/F baseline is an error."""
    span, key = smoothing_span_s(smoothing, step_s)
    if span > MAX_SMOOTHING_FRACTION * duration:
        raise ValueError(
            f"{where}: {duration:.4g} s is too short for the smoothing: its "
            f"{smoothing['method']} window of {span:.4g} s ({key}) is {100 * span / duration:.3g} "
            f"% of the recording, more than {100 * MAX_SMOOTHING_FRACTION:g} % (the recording "
            f"must last >= {span / MAX_SMOOTHING_FRACTION:.4g} s); shorten {key} or remove "
            f"activity.recordings.{recording_id}"
        )
    base = float(normalization.get("baseline_window_s") or 0.0)
    if normalization["method"] in ("dff", "dff_zscore") and base > duration:
        raise ValueError(
            f"{where}: {duration:.4g} s is shorter than the dF/F baseline window "
            f"activity.normalization.baseline_window_s = {base:g} s"
        )


def spikes_on_grid(traces, time, step_s: float, *, where: str = "recording", jitter_tolerance: float = 0.05):
    """Binned spikes already at the common step, passed through without any filter.

    Parameters
    ----------
    traces : ndarray, shape (n_bins, n_neurons)
        Spike counts or rates per bin (NaN marks a missing bin).
    time : ndarray, shape (n_bins,)
        Bin centres (s).
    step_s : float
        The common step; the bins must have this width.

    Returns
    -------
    values : ndarray, shape (n_bins, n_neurons)
    time : ndarray, shape (n_bins,)
        The bin centres, unchanged.
    info : dict
        Same keys as :func:`neuroflow.activity.resample.resample_traces`' ``info``.

    Raises
    ------
    ValueError
        When the bins are not ``step_s`` wide or not contiguous: resampling spike counts
        with a low-pass filter gives negative rates, so it is refused.
    """
    x = np.asarray(traces, dtype=np.float64)
    t = np.asarray(time, dtype=np.float64)
    dt = native_step(t)
    k = np.round((t - t[0]) / step_s)
    deviation = float(np.max(np.abs(t - t[0] - k * step_s)) / step_s)
    if abs(dt - step_s) > 1e-6 * step_s or deviation > jitter_tolerance or (np.diff(k) != 1).any():
        raise ValueError(
            f"{where}: spike counts/rates in {dt:.6g} s bins cannot be resampled to "
            f"activity.step_s = {step_s:g} s (filtering sparse counts gives negative rates); "
            "bin the spike times at activity.step_s (NWB units are binned there), or give "
            "a table whose rows are contiguous bins of activity.step_s"
        )
    longest = longest_runs_s(np.isnan(x), step_s)
    info = {
        "native_step_s": float(step_s),
        "up": 1,
        "down": 1,
        "regridded": False,
        "max_timestamp_deviation": deviation,
        "n_time_gaps": 0,
        "n_bridged_samples": 0,
        "n_invalid_native_samples": int(np.isnan(x).sum()),
        "longest_invalid_run_s": longest,
        "n_native": int(t.size),
        "n_out": int(t.size),
        "native_duration_s": float(t.size * step_s),
    }
    return x.copy(), t.copy(), info


@functools.cache
def _schema_defaults() -> dict:
    """The activity schema's defaults of every :class:`HomogenizeSettings` field
    (``activity.<key>``; ``ambiguous``, ``slots``, ``random_state`` from ``activity.labels``)."""
    act = fill_defaults({}, activity_schema())
    return {
        f.name: act["labels"][f.name] if f.name in act["labels"] else act[f.name]
        for f in fields(HomogenizeSettings)
    }


@dataclass(frozen=True)
class HomogenizeSettings:
    """The parameters of :func:`homogenize_recording` (see there); build it with
    :meth:`from_params`, which takes what a mapping leaves out (keys of ``smoothing`` and
    ``normalization`` included) from the activity schema's defaults
    (workflow/schemas/activity.schema.yaml, the one place they are written)."""

    step_s: float
    max_gap_s: float
    jitter_tolerance: float
    interpolation: str
    kaiser_beta: float
    max_nan_run_fraction: float
    min_samples: int
    require_labelled: bool
    smoothing: dict
    normalization: dict
    ambiguous: str
    slots: str
    random_state: int

    @classmethod
    def from_params(cls, params: dict) -> HomogenizeSettings:
        """Settings from the rule's ``homogenize`` params or a partial mapping.

        Raises
        ------
        TypeError
            A key that is not a field (as a keyword argument it does not take would).
        """
        defaults = _schema_defaults()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise TypeError(f"homogenize_recording() got unexpected settings {unknown}")
        merged = {**defaults, **params}
        for key in ("smoothing", "normalization"):
            merged[key] = {**defaults[key], **(params.get(key) or {})}
        return cls(**merged)


def _check_recording(rec: xr.Dataset, s: HomogenizeSettings, where: str, recording_id: str) -> bool:
    """Check length and duration; return whether the recording holds spike counts/rates."""
    _check_params({"step_s": s.step_s, "max_gap_s": s.max_gap_s})
    n_native = rec.sizes["time"]
    if n_native < s.min_samples:
        raise ValueError(
            f"{where}: {n_native} samples < min_samples = {s.min_samples} "
            "(lower activity.min_samples to keep short recordings)"
        )
    spikes = is_spike_recording(rec)
    t_native = rec["time"].values
    _check_duration(
        where,
        recording_id,
        n_native * s.step_s if spikes else float(t_native[-1] - t_native[0]),
        s.step_s,
        s.smoothing,
        s.normalization,
    )
    return spikes


def _neuron_ids(rec: xr.Dataset, table: pd.DataFrame, label_map) -> list[str]:
    """Canonical label, else the file's id, else ``unlabelled-<roi>`` (ids must be unique)."""
    ids = [lab if lab else str(orig) for lab, orig in zip(table["label"], rec["neuron"].values)]
    clash = [
        i
        for i, (lab, orig) in enumerate(zip(table["label"], rec["neuron"].values))
        if not lab and str(orig) in set(label_map.blocks["neuron"])
    ]
    for i in clash:  # an unlabelled neuron whose file id is a canonical name (e.g. duplicate)
        ids[i] = f"unlabelled-{int(rec['roi_index'].values[i])}"
    if len(set(ids)) != len(ids):
        ids = [
            lab if lab else f"unlabelled-{int(r)}" for lab, r in zip(table["label"], rec["roi_index"].values)
        ]
    return ids


def _onto_grid(rec: xr.Dataset, s: HomogenizeSettings, spikes: bool, where: str):
    """Values on the common grid: spike bins as they are, traces anti-aliased resampled."""
    t_native = rec["time"].values
    if spikes:  # never filtered: a low-pass filter rings below zero on sparse counts
        return spikes_on_grid(
            rec["traces"].values, t_native, s.step_s, where=where, jitter_tolerance=s.jitter_tolerance
        )
    return resample_traces(
        rec["traces"].values,
        t_native,
        s.step_s,
        max_gap_s=s.max_gap_s,
        jitter_tolerance=s.jitter_tolerance,
        interpolation=s.interpolation,
        kaiser_beta=s.kaiser_beta,
    )


def _smooth_normalize_drop(
    values, info: dict, ids: list[str], table: pd.DataFrame, s: HomogenizeSettings, where: str
):
    """Smooth and normalize; drop neurons with long invalid runs or a dF/F baseline <= 0.

    Returns the normalized traces, the mask of kept neurons and the dropped ones (dicts).
    """
    duration = info["native_duration_s"]
    longest = np.asarray(info["longest_invalid_run_s"])
    dropped = [
        {
            "neuron": ids[j],
            "raw_label": table["raw_label"][j],
            "reason": f"longest NaN/gap run {longest[j]:.3g} s > "
            f"{s.max_nan_run_fraction:g} x {duration:.4g} s",
        }
        for j in np.flatnonzero(longest > s.max_nan_run_fraction * duration)
    ]
    keep = longest <= s.max_nan_run_fraction * duration
    sm, norm = s.smoothing, s.normalization
    smoothed = smooth_traces(
        values, s.step_s, sm["method"], sm["window_s"], sm["causal"], sm["alpha"], sm["sigma_s"]
    )
    window = int(round(norm["baseline_window_s"] / s.step_s))
    normalized, bad = normalize_traces(smoothed, norm["method"], norm["baseline_percentile"], window)
    for j in np.flatnonzero(bad & keep):
        dropped.append({"neuron": ids[j], "raw_label": table["raw_label"][j], "reason": "dF/F baseline <= 0"})
    keep &= ~bad
    if not keep.any():
        raise ValueError(f"{where}: every neuron was dropped ({dropped[:3]} ...)")
    return normalized, keep, dropped


def _neuron_coords(
    rec: xr.Dataset, table: pd.DataFrame, ids: list[str], keep, label_map, s: HomogenizeSettings
) -> tuple[list[int], list[str], dict]:
    """Kept neurons in canonical order, then unlabelled ones: order, labels, coords."""
    canon = label_map.blocks["neuron"]
    rank = {c: i for i, c in enumerate(canon)}
    kept = np.flatnonzero(keep)
    order = sorted(kept, key=lambda j: (0, rank[table["label"][j]]) if table["label"][j] else (1, j))
    labels = [table["label"][j] for j in order]
    slot = assign_slots(labels, canon, s.slots, s.random_state)
    status = table["status"].to_numpy()[order]
    coords = {
        "neuron": [ids[j] for j in order],
        "raw_label": ("neuron", table["raw_label"].to_numpy()[order].astype(str)),
        "label_status": ("neuron", status.astype(str)),
        "is_labelled": ("neuron", np.array([bool(lab) for lab in labels])),
        "slot": ("neuron", slot),
        "roi_index": ("neuron", rec["roi_index"].values[order]),
    }
    return order, labels, coords


def _homogenized_arrays(
    rec: xr.Dataset, s: HomogenizeSettings, spikes: bool, new_time, coords: dict, order, normalized, values
) -> xr.Dataset:
    """The ``activity`` and ``resampled`` arrays with their coordinates and variable attrs."""
    file_units, units_in_file = recorded_units(rec["traces"].attrs.get("units", ""))
    norm_units = file_units if s.normalization["method"] == "none" else "1"
    ds = xr.Dataset(
        {
            "activity": (("time", "neuron"), normalized[:, order].astype(np.float32)),
            "resampled": (("time", "neuron"), values[:, order].astype(np.float32)),
        },
        coords={"time": new_time, **coords},
    )
    if spikes:
        ds["time"].attrs.update(units="s", long_name="bin centre (file clock)", bin_width_s=float(s.step_s))
    else:
        ds["time"].attrs.update(units="s", long_name="time from the first native sample")
    ds["activity"].attrs.update(
        units=norm_units,
        long_name=(
            f"resampled to {s.step_s} s, smoothed ({s.smoothing['method']}), normalized "
            f"({s.normalization['method']})"
        ),
    )
    if units_in_file:
        ds["resampled"].attrs["units_in_file"] = units_in_file
        if norm_units == "1" and s.normalization["method"] == "none":
            ds["activity"].attrs["units_in_file"] = units_in_file
    ds["resampled"].attrs.update(
        units=file_units,
        long_name=(
            f"spike times binned at {s.step_s} s (no filter)"
            if spikes
            else f"anti-aliased resampling to {s.step_s} s"
        ),
    )
    ds["slot"].attrs.update(
        units="1",
        long_name=(
            "index in the canonical neuron list; for unlabelled neurons a seeded random free slot "
            "(never interpret it)"
        ),
    )
    for name, text in (
        ("neuron", "neuron id (canonical label or anonymous id)"),
        ("raw_label", "neuron label as written in the file"),
        ("label_status", "how the raw label mapped to the canonical list"),
        ("is_labelled", "neuron has a canonical label (1) or not (0)"),
        ("roi_index", "index of the trace in the file"),
    ):
        if name in ds.variables:
            ds[name].attrs.update(long_name=text, units="1")
    return ds


def _recording_attrs(
    rec: xr.Dataset,
    s: HomogenizeSettings,
    recording_id: str,
    spikes: bool,
    info: dict,
    new_time,
    table: pd.DataFrame,
    labels: list[str],
    dropped: list[dict],
) -> dict:
    """Rates, durations, counts, dropped neurons and every parameter of one recording."""
    n_lab = int(sum(bool(x) for x in labels))
    counts = table["status"].value_counts()
    return {
        "recording": recording_id,
        "reader": rec.attrs.get("reader", ""),
        "signal": rec.attrs.get("signal", ""),
        "file": rec.attrs.get("file", ""),
        "nominal_rate_hz": float(rec.attrs.get("nominal_rate_hz", np.nan)),
        "native_rate_hz": 1.0 / info["native_step_s"],
        "native_step_s": info["native_step_s"],
        "rate_hz": 1.0 / s.step_s,
        "step_s": float(s.step_s),
        "native_duration_s": info["native_duration_s"],
        "duration_s": float(new_time[-1] - new_time[0]),
        "n_samples_native": int(rec.sizes["time"]),
        "n_samples": int(new_time.size),
        "n_rois": int(rec.sizes["neuron"]),
        "n_neurons": int(len(labels)),
        "n_labelled": n_lab,
        "n_unlabelled": int(len(labels) - n_lab),
        "n_ambiguous": int(counts.get("ambiguous", 0) + counts.get("ambiguous_resolved", 0)),
        "n_dropped": len(dropped),
        "dropped": json.dumps(dropped),
        "label_status_counts": json.dumps({k: int(v) for k, v in sorted(counts.items())}),
        "time_reference": "bin centres, file clock" if spikes else "first native sample",
        "resampling": json.dumps(
            {k: v for k, v in info.items() if k != "longest_invalid_run_s"}
            | {
                "method": (
                    "spike times binned at step_s (no filter, bin centres)"
                    if spikes
                    else "scipy.signal.resample_poly"
                ),
                "kaiser_beta": s.kaiser_beta,
                "max_gap_s": s.max_gap_s,
                "jitter_tolerance": s.jitter_tolerance,
                "interpolation": s.interpolation,
            }
        ),
        "smoothing": json.dumps(s.smoothing),
        "normalization": json.dumps(s.normalization),
        "labels": json.dumps({"ambiguous": s.ambiguous, "slots": s.slots, "random_state": s.random_state}),
        "notes": json.dumps(list(rec.attrs.get("notes", []))),
    }


def homogenize_recording(
    rec: xr.Dataset, label_map, *, recording_id: str, attrs: dict | None = None, **settings
) -> xr.Dataset:
    """Homogenize one recording read by :mod:`neuroflow.activity.readers`.

    The settings below are keyword arguments; those left out take the activity schema's
    defaults (:meth:`HomogenizeSettings.from_params`).

    Parameters
    ----------
    rec : xarray.Dataset
        ``traces (time, neuron)`` with coords ``raw_label``, ``roi_index``.
    label_map : LabelMap
        The connectomes' label map.
    recording_id : str
        Used in error messages and attrs.
    step_s, max_gap_s, jitter_tolerance, interpolation, kaiser_beta
        See :func:`neuroflow.activity.resample.resample_traces`.
    max_nan_run_fraction : float
        Neurons whose longest invalid (unbridged NaN / gap) run exceeds this fraction of
        the recording are dropped (seed: 5 %).
    min_samples : int
        Fewest native samples a recording must have (seed: 600). Besides, the smoothing
        window may span at most :data:`MAX_SMOOTHING_FRACTION` (5 %) of the recording and
        the dF/F baseline window at most all of it; a shorter recording is an error.
    require_labelled : bool
        Fail when no neuron maps to a canonical label (the seed skips such recordings).
    smoothing : dict
        ``method``, ``window_s``, ``causal``, ``alpha``, ``sigma_s``
        (:func:`~neuroflow.activity.resample.smooth_traces`).
    normalization : dict
        ``method``, ``baseline_percentile``, ``baseline_window_s``
        (:func:`~neuroflow.activity.resample.normalize_traces`).
    ambiguous, slots, random_state
        See :func:`~neuroflow.activity.neuron_labels.map_neuron_labels` and
        :func:`~neuroflow.activity.neuron_labels.assign_slots`.

    Returns
    -------
    homogenized : xarray.Dataset
        ``activity (time, neuron)`` float32 (resampled, smoothed, normalized) and
        ``resampled (time, neuron)`` float32 (anti-aliased, in the recording's unit);
        coords ``time`` (traces: s from the first sample, ``k * step_s``; binned spikes:
        the bin centres on the file's clock, see ``time.attrs``), ``neuron`` (canonical
        labels first, in canonical order, then anonymous ids), ``raw_label``,
        ``label_status``, ``is_labelled``, ``slot``, ``roi_index``; attrs with rates,
        durations, counts, dropped neurons and every parameter.
    """
    s = HomogenizeSettings.from_params(settings)
    where = f"recording {recording_id!r} ({rec.attrs.get('file', '?')})"
    spikes = _check_recording(rec, s, where, recording_id)
    table = map_neuron_labels(rec["raw_label"].values, label_map, s.ambiguous)
    if s.require_labelled and not (table["label"] != "").any():
        raise ValueError(
            f"{where}: no neuron label maps to the canonical list and activity.require_labelled is true"
        )
    ids = _neuron_ids(rec, table, label_map)
    values, new_time, info = _onto_grid(rec, s, spikes, where)
    normalized, keep, dropped = _smooth_normalize_drop(values, info, ids, table, s, where)
    order, labels, coords = _neuron_coords(rec, table, ids, keep, label_map, s)
    ds = _homogenized_arrays(rec, s, spikes, new_time, coords, order, normalized, values)
    ds.attrs.update(_recording_attrs(rec, s, recording_id, spikes, info, new_time, table, labels, dropped))
    ds.attrs.update(attrs or {})
    return ds


def index_row(ds: xr.Dataset, source: str) -> dict:
    """One row of the dataset index from a homogenized recording's attrs."""
    a = ds.attrs
    return {
        "recording": a["recording"],
        "source": source,
        "reader": a["reader"],
        "signal": a["signal"],
        "simulated": is_simulated(a, a.get("recording")),
        "native_rate_hz": a["native_rate_hz"],
        "rate_hz": a["rate_hz"],
        "native_duration_s": a["native_duration_s"],
        "duration_s": a["duration_s"],
        "n_samples_native": a["n_samples_native"],
        "n_samples": a["n_samples"],
        "n_rois": a["n_rois"],
        "n_neurons": a["n_neurons"],
        "n_labelled": a["n_labelled"],
        "n_unlabelled": a["n_unlabelled"],
        "n_ambiguous": a["n_ambiguous"],
        "n_dropped": a["n_dropped"],
        "n_nan_samples": int(np.isnan(ds["activity"].values).sum()),
    }
