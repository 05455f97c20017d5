"""Binned spike counts from an NWB file (units table, epochs, head direction).

Read with pynwb; returns a labelled xarray Dataset ``counts`` (neuron, time).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _check_window(t_start, t_stop, bin_width, path):
    if not bin_width > 0:
        raise ValueError(f"{path}: bin_width must be > 0 s, got {bin_width}")
    if t_stop is not None and t_start is not None and t_stop <= t_start:
        raise ValueError(f"{path}: t_stop ({t_stop}) must be after t_start ({t_start})")


def read_nwb_counts(path, bin_width=1.0, t_start=None, t_stop=None, angle_series="ry",
                    min_rate=0.0):
    """Bin the spike trains of an NWB units table into counts.

    Parameters
    ----------
    path : str or Path
        NWB file with a ``units`` table (``spike_times``; optional ``location``), and
        optionally an ``epochs`` table (with tags) and a ``CompassDirection`` spatial
        series (head angle, rad).
    bin_width : float
        Bin width in seconds.
    t_start, t_stop : float, optional
        Window in seconds (default: the epochs' span, else the spikes' span).
    angle_series : str
        Name of the CompassDirection series holding the head angle ('' to skip).
    min_rate : float
        Drop units whose mean rate in the window is below this (spikes/s).

    Returns
    -------
    xarray.Dataset
        ``counts`` (neuron, time) int64 spikes per bin; coords ``time`` (bin centres, s),
        ``neuron`` (unit labels), ``region`` (neuron), ``epoch`` (time; '' outside any
        epoch); ``head_direction`` (time, rad, circular mean per bin, NaN untracked).

    Raises
    ------
    ValueError
        Naming the file: unreadable, no units table, no spikes in the window.
    """
    import xarray as xr
    from pynwb import NWBHDF5IO

    path = Path(path)
    _check_window(t_start, t_stop, bin_width, path)
    try:
        io = NWBHDF5IO(str(path), "r", load_namespaces=True)
        nwb = io.read()
    except Exception as exc:  # h5py / pynwb raise many types for a bad file
        raise ValueError(f"{path}: cannot read NWB file: {type(exc).__name__}: {exc}") from exc
    try:
        if nwb.units is None or len(nwb.units) == 0:
            raise ValueError(f"{path}: NWB file has no units table (no spike times)")
        units = nwb.units
        ids = [int(i) for i in units.id[:]]
        cols = units.colnames
        regions = ([str(v) for v in units["location"][:]] if "location" in cols
                   else ["unknown"] * len(ids))
        trains = [np.asarray(units.get_unit_spike_times(j), dtype=float) for j in range(len(ids))]
        epochs = []
        if nwb.epochs is not None and len(nwb.epochs) > 0:
            ep = nwb.epochs.to_dataframe()
            for row in ep.itertuples():
                tags = getattr(row, "tags", [])
                label = ",".join(str(t) for t in tags) if len(tags) else f"epoch{row.Index}"
                epochs.append((float(row.start_time), float(row.stop_time), label))
        angle_t = angle_v = None
        if angle_series and "CompassDirection" in nwb.acquisition:
            series = nwb.acquisition["CompassDirection"].spatial_series
            if angle_series in series:
                angle_t = np.asarray(series[angle_series].timestamps[:], dtype=float)
                angle_v = np.asarray(series[angle_series].data[:], dtype=float).ravel()
        identifier = str(nwb.identifier)
    finally:
        io.close()
    all_spikes = np.concatenate([t for t in trains if t.size]) if any(t.size for t in trains) \
        else np.array([])
    if t_start is None:
        t_start = min(e[0] for e in epochs) if epochs else (all_spikes.min() if all_spikes.size
                                                            else 0.0)
    if t_stop is None:
        t_stop = max(e[1] for e in epochs) if epochs else (all_spikes.max() if all_spikes.size
                                                           else 0.0)
    _check_window(t_start, t_stop, bin_width, path)
    n_bins = int(np.floor((t_stop - t_start) / bin_width + 1e-9))
    if n_bins < 3:
        raise ValueError(f"{path}: window {t_start}-{t_stop} s holds fewer than 3 bins of "
                         f"{bin_width} s")
    edges = t_start + bin_width * np.arange(n_bins + 1)
    counts = np.stack([np.histogram(t, bins=edges)[0] for t in trains]).astype(np.int64)
    rates = counts.sum(1) / (n_bins * bin_width)
    keep = rates >= min_rate
    if keep.sum() < 2:
        raise ValueError(f"{path}: fewer than 2 units with >= {min_rate} spikes/s in "
                         f"{t_start}-{t_stop} s")
    centres = 0.5 * (edges[:-1] + edges[1:])
    epoch_lab = np.array([""] * n_bins, dtype=object)
    for start, stop, label in epochs:
        epoch_lab[(centres >= start) & (centres < stop)] = label
    hd = np.full(n_bins, np.nan)
    if angle_t is not None and angle_t.size:
        idx = np.digitize(angle_t, edges) - 1
        ok = (idx >= 0) & (idx < n_bins) & np.isfinite(angle_v)
        s = np.bincount(idx[ok], weights=np.sin(angle_v[ok]), minlength=n_bins)
        c = np.bincount(idx[ok], weights=np.cos(angle_v[ok]), minlength=n_bins)
        n = np.bincount(idx[ok], minlength=n_bins)
        hd = np.where(n > 0, np.mod(np.arctan2(s, c), 2 * np.pi), np.nan)
    neurons = [f"unit{ids[j]:03d}" for j in range(len(ids))]
    ds = xr.Dataset(
        {
            "counts": (("neuron", "time"), counts[keep],
                       {"units": "spikes per bin", "long_name": "binned spike counts"}),
            "head_direction": ("time", hd, {"units": "rad", "long_name":
                                            f"circular mean of CompassDirection/{angle_series}"}),
            "mean_rate": ("neuron", rates[keep], {"units": "spikes/s"}),
        },
        coords={
            "neuron": np.array(neurons)[keep].astype(str),
            "time": ("time", centres, {"units": "s", "long_name": "bin centre"}),
            "region": ("neuron", np.array(regions)[keep].astype(str)),
            "epoch": ("time", epoch_lab.astype(str)),
        },
        attrs={"simulated": 0, "bin_width_s": float(bin_width), "time_units": "s",
               "t_start_s": float(t_start), "t_stop_s": float(t_stop),
               "nwb_identifier": identifier,
               "description": f"spike counts binned at {bin_width} s from {path.name}"},
    )
    return ds
