"""Head-direction tuning curves from an NWB file: a representation whose topology is a circle.

Spike times of the selected units (NWB ``units`` table, filtered by electrode location) and
the head angle (a ``SpatialSeries`` in radians under ``acquisition/CompassDirection``) give,
within one epoch, the firing rate of each unit in equal angle bins (spikes / occupancy).
The angle bins are the conditions of the RDM; a head-direction population should give a
ring-shaped representation.
"""

from __future__ import annotations

import warnings

import numpy as np


def _check_nwb(path, nwb, angle_series: str, epoch: str):
    where = f"NWB file {path}"
    if nwb.units is None or len(nwb.units) == 0:
        raise ValueError(f"{where}: no units table")
    compass = nwb.acquisition.get("CompassDirection")
    if compass is None or angle_series not in compass.spatial_series:
        raise ValueError(f"{where}: no acquisition/CompassDirection/{angle_series} series "
                         "(head angle in radians)")
    if nwb.epochs is None:
        raise ValueError(f"{where}: no epochs table")
    tags = [list(t) for t in nwb.epochs["tags"][:]]
    if not any(epoch in t for t in tags):
        raise ValueError(f"{where}: no epoch tagged {epoch!r}; tags: {tags}")
    return compass.spatial_series[angle_series]


def tuning_curves(path, n_bins: int = 36, epoch: str = "wake", location: str = "adn",
                  angle_series: str = "ry"):
    """Firing rate of each unit per head-angle bin within an epoch.

    Parameters
    ----------
    path : str or Path
        NWB file (pynwb reads it; nothing is written).
    n_bins : int
        Number of equal angle bins over [0, 2 pi).
    epoch : str
        Tag of the epoch rows (NWB ``epochs`` table) to use.
    location : str
        Keep units whose ``location`` equals this (empty: all units).
    angle_series : str
        Name of the head-angle series in ``CompassDirection``.

    Returns
    -------
    xarray.Dataset
        ``rate`` (angle_bin, unit) in spikes/s and ``occupancy`` (angle_bin) in s; coords
        ``angle_bin`` (bin centre, rad) and ``unit`` (NWB unit id).
    """
    import pynwb
    import xarray as xr

    if n_bins < 4:
        raise ValueError(f"config key trsa.headdirection.n_bins: need >= 4, got {n_bins}")
    with pynwb.NWBHDF5IO(str(path), "r") as io, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # old files, newer schema
        nwb = io.read()
        series = _check_nwb(path, nwb, angle_series, epoch)
        t = np.asarray(series.timestamps[:], dtype=float)
        angle = np.mod(np.asarray(series.data[:], dtype=float), 2 * np.pi)
        ep = nwb.epochs.to_dataframe()
        ep = ep[[epoch in tags for tags in ep["tags"]]]
        units = nwb.units.to_dataframe()
    if location:
        units = units[units["location"].astype(str) == location]
        if units.empty:
            raise ValueError(f"NWB file {path}: no unit with location {location!r}")
    in_epoch = np.zeros(len(t), dtype=bool)
    for start, stop in zip(ep["start_time"], ep["stop_time"]):
        in_epoch |= (t >= start) & (t < stop)
    if in_epoch.sum() < 2:
        raise ValueError(f"NWB file {path}: no head-angle samples in epoch {epoch!r}")
    dt = float(np.median(np.diff(t)))
    edges = np.linspace(0, 2 * np.pi, n_bins + 1)
    occupancy = np.histogram(angle[in_epoch], bins=edges)[0] * dt
    if (occupancy == 0).any():
        raise ValueError(f"NWB file {path}: {int((occupancy == 0).sum())} angle bin(s) never "
                         f"visited in epoch {epoch!r}; use fewer bins")
    unwrapped = np.unwrap(angle)
    t_lo, t_hi = t[in_epoch].min(), t[in_epoch].max()
    rates = []
    for spikes in units["spike_times"]:
        s = np.asarray(spikes, dtype=float)
        keep = np.zeros(len(s), dtype=bool)
        for start, stop in zip(ep["start_time"], ep["stop_time"]):
            keep |= (s >= max(start, t_lo)) & (s < min(stop, t_hi))
        spike_angle = np.mod(np.interp(s[keep], t, unwrapped), 2 * np.pi)
        rates.append(np.histogram(spike_angle, bins=edges)[0] / occupancy)
    centres = (edges[:-1] + edges[1:]) / 2
    ds = xr.Dataset({"rate": (("angle_bin", "unit"), np.array(rates).T),
                     "occupancy": (("angle_bin",), occupancy)},
                    coords={"angle_bin": centres, "unit": units.index.to_numpy()})
    ds["rate"].attrs["units"] = "spikes/s"
    ds["occupancy"].attrs["units"] = "s"
    ds["angle_bin"].attrs["units"] = "rad (bin centre)"
    ds.attrs.update(epoch=epoch, location=location or "all", angle_series=angle_series,
                    n_bins=n_bins)
    return ds
