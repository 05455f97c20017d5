"""Head-direction tuning curves from the activity stage's units file: a ring topology.

Spike times of the selected units (filtered by recorded location) and the head angle (rad)
of the activity stage's units file (:func:`neuroflow.activity.spikes.read_units_file`: the
NWB file's units table, ``CompassDirection`` series and epochs, read once by that stage)
give, within one epoch, the firing rate of each unit in equal angle bins (spikes /
occupancy). The angle bins are the conditions of the RDM; a head-direction population
should give a ring-shaped representation.
"""

from __future__ import annotations

import numpy as np

from neuroflow.rsa.models import compare_models, line_model, ring_model
from neuroflow.rsa.networks import activation_rdm


def _check_units(units, epoch: str):
    where = f"units file {units.path}"
    if not units.spike_times:
        raise ValueError(f"{where}: no units")
    if units.angle_time is None or units.angle_time.size == 0:
        raise ValueError(
            f"{where}: no head-angle series (the activity recording's "
            "angle_series names the CompassDirection series, rad)"
        )
    if not units.epochs:
        raise ValueError(f"{where}: no epochs table")
    tags = [label.split(",") for _, _, label in units.epochs]
    if not any(epoch in t for t in tags):
        raise ValueError(f"{where}: no epoch tagged {epoch!r}; tags: {tags}")


def tuning_curves(units, n_bins: int = 36, epoch: str = "wake", location: str = "adn"):
    """Firing rate of each unit per head-angle bin within an epoch.

    Parameters
    ----------
    units : SpikeUnits or str or Path
        The activity stage's units file (a path is read with
        :func:`neuroflow.activity.spikes.read_units_file`).
    n_bins : int
        Number of equal angle bins over [0, 2 pi).
    epoch : str
        Tag of the epochs to use (an epoch whose tags include it).
    location : str
        Keep units whose ``location`` equals this (empty: all units).

    Returns
    -------
    xarray.Dataset
        ``rate`` (angle_bin, unit) in spikes/s and ``occupancy`` (angle_bin) in s; coords
        ``angle_bin`` (bin centre, rad) and ``unit`` (NWB unit id).
    """
    import xarray as xr

    from neuroflow.activity.spikes import read_units_file

    if n_bins < 4:
        raise ValueError(f"config key trsa.headdirection.n_bins: need >= 4, got {n_bins}")
    if not hasattr(units, "spike_times"):
        units = read_units_file(units)
    path = units.path
    _check_units(units, epoch)
    t = np.asarray(units.angle_time, dtype=float)
    angle = np.mod(np.asarray(units.angle, dtype=float), 2 * np.pi)
    ep = [(start, stop) for start, stop, label in units.epochs if epoch in label.split(",")]
    ids = np.asarray(units.unit_ids)
    keep_units = np.ones(ids.size, dtype=bool)
    if location:
        keep_units = np.asarray([str(x) == location for x in units.location])
        if not keep_units.any():
            raise ValueError(f"units file {path}: no unit with location {location!r}")
    in_epoch = np.zeros(len(t), dtype=bool)
    for start, stop in ep:
        in_epoch |= (t >= start) & (t < stop)
    if in_epoch.sum() < 2:
        raise ValueError(f"units file {path}: no head-angle samples in epoch {epoch!r}")
    dt = float(np.median(np.diff(t)))
    edges = np.linspace(0, 2 * np.pi, n_bins + 1)
    occupancy = np.histogram(angle[in_epoch], bins=edges)[0] * dt
    if (occupancy == 0).any():
        raise ValueError(
            f"units file {path}: {int((occupancy == 0).sum())} angle bin(s) never "
            f"visited in epoch {epoch!r}; use fewer bins"
        )
    unwrapped = np.unwrap(angle)
    t_lo, t_hi = t[in_epoch].min(), t[in_epoch].max()
    rates = []
    for spikes, kept in zip(units.spike_times, keep_units):
        if not kept:
            continue
        s = np.asarray(spikes, dtype=float)
        keep = np.zeros(len(s), dtype=bool)
        for start, stop in ep:
            keep |= (s >= max(start, t_lo)) & (s < min(stop, t_hi))
        spike_angle = np.mod(np.interp(s[keep], t, unwrapped), 2 * np.pi)
        rates.append(np.histogram(spike_angle, bins=edges)[0] / occupancy)
    centres = (edges[:-1] + edges[1:]) / 2
    ds = xr.Dataset(
        {"rate": (("angle_bin", "unit"), np.array(rates).T), "occupancy": (("angle_bin",), occupancy)},
        coords={"angle_bin": centres, "unit": ids[keep_units]},
    )
    ds["rate"].attrs["units"] = "spikes/s"
    ds["occupancy"].attrs["units"] = "s"
    ds["angle_bin"].attrs["units"] = "rad (bin centre)"
    ds.attrs.update(epoch=epoch, location=location or "all", angle_series=units.angle_series, n_bins=n_bins)
    return ds


def angle_rdm(tuning, rdm_method: str, units):
    """The RDM over angle bins of :func:`tuning_curves` (rsatoolbox ``calc_rdm`` of the
    population rate vectors), added to ``tuning`` as ``rdm`` (pair) with ``angle_i`` and
    ``angle_j``; ``units`` (the file) names the input in errors.

    Returns
    -------
    tuning : xarray.Dataset
    rdm : ndarray, shape (n_bins * (n_bins - 1) / 2,)
    """
    rates = tuning["rate"].values
    if (rates.std(axis=1) == 0).any() and rdm_method == "correlation":
        raise ValueError(
            f"units file {units}: some angle bins have identical rates in every unit "
            "(correlation distance undefined); use rdm_method: euclidean"
        )
    rdm = activation_rdm(rates, rdm_method)
    angles = tuning["angle_bin"].values
    iu = np.triu_indices(len(angles), k=1)
    tuning["rdm"] = (("pair",), rdm)
    tuning = tuning.assign_coords(
        pair=np.arange(len(rdm)), angle_i=("pair", angles[iu[0]]), angle_j=("pair", angles[iu[1]])
    )
    tuning["rdm"].attrs.update(
        units=f"{rdm_method} distance between the population rate "
        "vectors of two angle bins (rsatoolbox calc_rdm)"
    )
    return tuning, rdm


def ring_line_comparison(
    rdm, angles, statistics, method: str, n_boot: int, zero_edges: str, random_state: int
):
    """Ring vs line model RDMs against the angle-bin RDM, per statistic
    (:func:`neuroflow.rsa.models.compare_models`; bins labelled in degrees)."""
    labels = [f"{np.degrees(a):.0f}deg" for a in angles]
    return compare_models(
        rdm,
        {"ring": ring_model(angles), "line": line_model(angles)},
        labels,
        statistics,
        method,
        n_boot,
        zero_edges,
        random_state,
    )
