"""The bi-clustering's counts, taken from the activity stage's standardized counts file.

The activity stage is the one reader of spike data (NWB units tables, counts tables): it
writes ``<entities>_desc-counts_spikes.nc`` with ``counts (time, neuron)`` in spikes per bin
(see :mod:`neuroflow.activity.spikes`). This module only selects from it (units below a
rate) and lays it out as the sampler wants it (neuron x time); it never re-bins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr


def counts_from_activity(activity, min_rate: float = 0.0, path="counts"):
    """Bi-clustering counts from an activity counts Dataset.

    Parameters
    ----------
    activity : xarray.Dataset
        The activity stage's counts: ``counts (time, neuron)`` int, coords ``time`` (bin
        centres, s), ``neuron``, ``location``, optional ``epoch`` (time) and
        ``head_direction`` (time); attrs ``bin_width_s``, ``simulated``.
    min_rate : float
        Drop units whose mean rate is below this (spikes/s).
    path : str or Path
        The file it came from (for messages).

    Returns
    -------
    xarray.Dataset
        ``counts (neuron, time)`` int64 spikes per bin; ``mean_rate (neuron)`` spikes/s;
        ``head_direction (time)`` when the activity file has it; coords ``time``,
        ``neuron``, ``region`` (neuron; the recorded location), ``epoch`` (time) when known.

    Raises
    ------
    ValueError
        Naming the file: not a counts file, or fewer than 2 units left.
    """
    path = Path(path)
    width = _check_activity(activity, path)
    counts = activity["counts"].transpose("neuron", "time").values.astype(np.int64)
    n_bins = counts.shape[1]
    rates = counts.sum(1) / (n_bins * width)
    keep = rates >= min_rate
    if keep.sum() < 2:
        raise ValueError(f"{path}: fewer than 2 units fire at >= {min_rate} spikes/s (bicluster.min_rate)")
    neurons = activity["neuron"].values.astype(str)
    region = (
        activity["location"].values.astype(str)
        if "location" in activity.coords
        else np.array(["unknown"] * neurons.size)
    )
    coords = {
        "neuron": neurons[keep],
        "time": ("time", activity["time"].values, {"units": "s", "long_name": "bin centre"}),
        "region": ("neuron", region[keep]),
    }
    if "epoch" in activity.coords:
        coords["epoch"] = ("time", activity["epoch"].values.astype(str))
    data = {
        "counts": (
            ("neuron", "time"),
            counts[keep],
            {"units": "spikes per bin", "long_name": "binned spike counts"},
        ),
        "mean_rate": ("neuron", rates[keep], {"units": "spikes/s"}),
    }
    if "head_direction" in activity:
        hd = activity["head_direction"]
        data["head_direction"] = ("time", hd.values, dict(hd.attrs))
    dropped = [str(n) for n in neurons[~keep]]
    ds = xr.Dataset(data, coords=coords, attrs=_attrs(activity.attrs, width, dropped, path))
    if dropped:
        print(f"{path.name}: dropped {len(dropped)} unit(s) below {min_rate} spikes/s: {dropped}", flush=True)
    return ds


def _check_activity(activity, path: Path) -> float:
    """The bin width (s) of an activity counts Dataset; raises naming ``path`` if it is none."""
    if "counts" not in activity or set(activity["counts"].dims) != {"time", "neuron"}:
        raise ValueError(f"{path}: not an activity counts file (needs counts (time, neuron))")
    if "bin_width_s" not in activity.attrs:
        raise ValueError(f"{path}: no bin_width_s attribute (not written by the activity stage)")
    width = float(activity.attrs["bin_width_s"])
    n_bins = activity["counts"].sizes["time"]
    if n_bins < 3:
        raise ValueError(f"{path}: {n_bins} time bins; the bi-clustering needs at least 3")
    return width


def _attrs(attrs: dict, width: float, dropped: list[str], path: Path) -> dict:
    """The counts file's attributes, from the activity file's ``attrs``."""
    return {
        "simulated": int(attrs.get("simulated", 0)),
        "bin_width_s": width,
        "time_units": "s",
        "t_start_s": float(attrs.get("t_start_s", np.nan)),
        "t_stop_s": float(attrs.get("t_stop_s", np.nan)),
        "nwb_identifier": str(attrs.get("nwb_identifier", "")),
        "dropped_units": ",".join(dropped),
        "description": f"spike counts binned at {width} s by the activity stage ({path.name})",
    }
