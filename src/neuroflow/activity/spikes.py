"""Spike counts: NWB units binned at a requested width, and counts tables users bring;
the units file (every spike time) and its reader :func:`read_units_file`.

Every function here returns the activity stage's standardized counts structure, an
:class:`xarray.Dataset` with

* ``counts (time, neuron)`` int64, ``units = "spikes/bin"``;
* coordinates ``time`` (bin centres, s), ``neuron`` (unit ids), ``location`` (recorded region
  per neuron, ``"unknown"`` when the file does not say), and, when the file has epochs,
  ``epoch`` (time; the label of the epoch holding the bin centre, ``""`` outside);
* ``head_direction (time)`` (rad, circular mean of the head angle per bin, NaN where
  untracked) when the NWB file has the angle series;
* attrs ``bin_width_s``, ``units`` (``"count"`` per bin), ``simulated`` (int8 0/1), ``epochs``
  (JSON list of ``[start_s, stop_s, label]``), ``t_start_s``, ``t_stop_s``, ``reader``,
  ``file`` and ``notes``.

Counts are always binned from spike times (bin edges ``t_start + k * bin_width``); a counts
table is taken at its own bins and never resampled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuroflow.activity.nwb import SpikeUnits, read_nwb_units
from neuroflow.activity.readers import read_time_neuron
from neuroflow.activity.recording import fail as _fail
from neuroflow.provenance import read_netcdf

COUNT_UNITS = "count"


def _counts_dataset(
    counts, centres, bin_width, neurons, location, *, epochs, simulated, reader, path, notes, t_start, t_stop
) -> xr.Dataset:
    centres = np.asarray(centres, dtype=float)
    ds = xr.Dataset(
        {
            "counts": (
                ("time", "neuron"),
                np.asarray(counts, dtype=np.int64),
                {"units": COUNT_UNITS, "long_name": "spike count per bin"},
            )
        },
        coords={
            "time": ("time", centres, {"units": "s", "long_name": "bin centre"}),
            "neuron": (
                "neuron",
                np.asarray([str(n) for n in neurons]),
                {"long_name": "unit (neuron) id", "units": "1"},
            ),
            "location": (
                "neuron",
                np.asarray([str(x) for x in location]),
                {"long_name": "recorded brain location of the unit", "units": "1"},
            ),
        },
    )
    if epochs:
        labels = np.full(centres.size, "", dtype=object)
        for start, stop, label in epochs:
            labels[(centres >= start) & (centres < stop)] = label
        ds = ds.assign_coords(
            epoch=("time", labels.astype(str), {"long_name": "epoch of the bin ('' = none)", "units": "1"})
        )
    ds.attrs.update(
        bin_width_s=float(bin_width),
        units=COUNT_UNITS,
        simulated=np.int8(bool(simulated)),
        time_units="s",
        epochs=json.dumps([[float(a), float(b), str(c)] for a, b, c in epochs]),
        t_start_s=float(t_start),
        t_stop_s=float(t_stop),
        reader=reader,
        file=str(path),
        notes=list(notes),
    )
    return ds


def bin_spikes(
    units: SpikeUnits,
    bin_width: float,
    t_start: float | None = None,
    t_stop: float | None = None,
    use_epochs: bool = True,
    simulated: bool = False,
) -> xr.Dataset:
    """Count each unit's spikes in bins of ``bin_width`` s.

    Parameters
    ----------
    units : SpikeUnits
        From :func:`neuroflow.activity.nwb.read_nwb_units`.
    bin_width : float
        Bin width (s). Edges are ``t_start + k * bin_width``; the last edge is the last
        whole bin's end (a spike on it is counted, as ``numpy.histogram`` does).
    t_start, t_stop : float, optional
        Window (s). Default: the span of the epochs table (when ``use_epochs`` and the file
        has one), else of the spikes.
    use_epochs : bool
        Take the default window from the epochs.
    simulated : bool
        The file holds simulated spikes (written into the attrs).

    Returns
    -------
    counts : xarray.Dataset
        See the module docstring. Spikes outside the window are reported in ``notes``.
    """
    path = units.path
    spikes = units.spike_times
    epochs = units.epochs
    every, t_stop, edges = _bin_edges(units, bin_width, t_start, t_stop, use_epochs)
    n_bins = edges.size - 1
    counts = np.stack([np.histogram(s, bins=edges)[0] for s in spikes], axis=1)
    notes = _window_notes(units.notes, every.size, int(counts.sum()), edges, t_stop)
    centres = 0.5 * (edges[:-1] + edges[1:])
    neurons = [f"unit{int(i):03d}" for i in units.unit_ids]
    ds = _counts_dataset(
        counts,
        centres,
        bin_width,
        neurons,
        units.location,
        epochs=epochs,
        simulated=simulated,
        reader="nwb units",
        path=path,
        notes=notes,
        t_start=edges[0],
        t_stop=edges[-1],
    )
    ds = ds.assign_coords(
        unit_id=(
            "neuron",
            np.asarray(units.unit_ids, dtype=np.int64),
            {"long_name": "NWB units table id", "units": "1"},
        )
    )
    ds["mean_rate"] = (
        "neuron",
        counts.sum(0) / (n_bins * bin_width),
        {"units": "count/s", "long_name": "mean firing rate over the binned span"},
    )
    if units.angle_time is not None and units.angle_time.size:
        ds["head_direction"] = (
            "time",
            _head_direction(units, edges),
            {
                "units": "rad",
                "long_name": f"circular mean of {units.angle_series} per bin (NaN: not tracked)",
            },
        )
    ds.attrs["nwb_identifier"] = units.identifier
    return ds


def _bin_edges(units: SpikeUnits, bin_width: float, t_start, t_stop, use_epochs: bool):
    """Every spike time, the window end and the bin edges of :func:`bin_spikes` (checked)."""
    path = units.path
    if not (bin_width and bin_width > 0):
        raise _fail(path, f"bin_width must be > 0 s, got {bin_width}")
    spikes = units.spike_times
    every = np.concatenate([s for s in spikes if s.size]) if spikes else np.array([])
    epochs = units.epochs
    if t_start is None:
        t_start = min(e[0] for e in epochs) if (epochs and use_epochs) else float(every.min())
    if t_stop is None:
        t_stop = max(e[1] for e in epochs) if (epochs and use_epochs) else float(every.max())
    if not t_stop > t_start:
        raise _fail(path, f"t_stop ({t_stop} s) must be after t_start ({t_start} s)")
    n_bins = int(np.floor((t_stop - t_start) / bin_width + 1e-9))
    if n_bins < 1:
        raise _fail(path, f"window {t_start}-{t_stop} s is shorter than one {bin_width} s bin")
    return every, t_stop, t_start + bin_width * np.arange(n_bins + 1)


def _window_notes(notes, n_spikes: int, n_counted: int, edges: np.ndarray, t_stop: float) -> list[str]:
    """The reader's notes, plus the spikes left out of the window and a cut window end."""
    notes = list(notes)
    outside = int(n_spikes - n_counted)
    if outside:
        notes.append(
            f"{outside} of {n_spikes} spikes lie outside {edges[0]:g}-{edges[-1]:g} s and are not counted"
        )
    if edges[-1] < t_stop - 1e-9:
        notes.append(f"window end {t_stop:g} s cut to {edges[-1]:g} s (whole bins only)")
    return notes


def _head_direction(units: SpikeUnits, edges: np.ndarray) -> np.ndarray:
    """Circular mean of the head angle per bin (rad in [0, 2 pi); NaN where untracked)."""
    n_bins = edges.size - 1
    idx = np.digitize(units.angle_time, edges) - 1
    ok = (idx >= 0) & (idx < n_bins) & np.isfinite(units.angle)
    sin = np.bincount(idx[ok], weights=np.sin(units.angle[ok]), minlength=n_bins)
    cos = np.bincount(idx[ok], weights=np.cos(units.angle[ok]), minlength=n_bins)
    n = np.bincount(idx[ok], minlength=n_bins)
    with np.errstate(invalid="ignore"):
        return np.where(n > 0, np.mod(np.arctan2(sin, cos), 2 * np.pi), np.nan)


def read_nwb_counts(
    path, bin_width: float, t_start=None, t_stop=None, angle_series="ry", simulated: bool = False
) -> xr.Dataset:
    """An NWB file's units table -> counts (:func:`read_nwb_units` then :func:`bin_spikes`)."""
    units = read_nwb_units(path, angle_series=angle_series)
    return bin_spikes(units, bin_width, t_start, t_stop, simulated=simulated)


def _uniform_bins(time: np.ndarray, path) -> float:
    if time.size < 2:
        raise _fail(path, f"needs at least 2 time bins, got {time.size}")
    if not np.isfinite(time).all():
        raise _fail(path, "the time column holds NaN or infinite values")
    step = np.diff(time)
    width = float(np.median(step))
    if width <= 0 or np.abs(step - width).max() > 1e-6 * max(width, 1e-12) + 1e-9:
        i = int(np.argmax(np.abs(step - width)))
        raise _fail(
            path,
            f"time bins are not evenly spaced (bin {i + 1}: {time[i]} -> "
            f"{time[i + 1]} s, median width {width} s); counts are never "
            "resampled, so give bins of one width",
        )
    return width


def read_counts_table(path, time_column: str = "time", simulated: bool = False) -> xr.Dataset:
    """Read a counts table: TSV/CSV (time column + one column per neuron) or NetCDF.

    Parameters
    ----------
    path : str or Path
        ``.tsv``/``.txt`` (tab), ``.csv`` (comma): the time column holds bin centres in s,
        the other columns are neurons (header = id), values are spike counts per bin.
        ``.nc``: a variable ``counts`` with dims ``time`` and ``neuron`` (either order) and
        a ``time`` coordinate of bin centres (s); an optional ``location`` (neuron) coordinate.
    time_column : str
        Header of the time column (tables).
    simulated : bool
        The counts are simulated (the flag is carried into every downstream output).

    Returns
    -------
    counts : xarray.Dataset
        See the module docstring; the bin width is the (uniform) spacing of the time column.
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found")
    location = None
    if path.suffix.lower() == ".nc":
        src, arr = read_time_neuron(path, "counts")
        values = arr.values.astype(float)
        time = np.asarray(src["time"].values, dtype=float)
        neurons = [str(n) for n in src["neuron"].values]
        if "location" in src.coords:
            location = [str(x) for x in src["location"].values]
    else:
        sep = "," if path.suffix.lower() == ".csv" else "\t"
        try:
            table = pd.read_csv(path, sep=sep, comment="#")
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise _fail(path, f"not a readable table: {exc}") from exc
        if time_column not in table.columns:
            raise _fail(path, f"no time column {time_column!r}; columns: {list(table.columns)[:10]}")
        neurons = [str(c) for c in table.columns if c != time_column]
        if not neurons:
            raise _fail(path, "no neuron column besides the time column")
        bad = [c for c in neurons if not pd.api.types.is_numeric_dtype(table[c])]
        if bad or not pd.api.types.is_numeric_dtype(table[time_column]):
            raise _fail(path, f"non-numeric values in column(s) {(bad or [time_column])[:5]}")
        time = table[time_column].to_numpy(dtype=float)
        values = table[neurons].to_numpy(dtype=float)
    if len(set(neurons)) != len(neurons):
        raise _fail(path, "repeated neuron ids in the header")
    width = _uniform_bins(time, path)
    if not np.isfinite(values).all() or (values < 0).any() or (values != np.round(values)).any():
        raise _fail(
            path,
            "counts must be non-negative whole numbers (spikes per bin); for "
            "traces use an activity recording with reader: table",
        )
    return _counts_dataset(
        values.astype(np.int64),
        time,
        width,
        neurons,
        location or ["unknown"] * len(neurons),
        epochs=[],
        simulated=simulated,
        reader="counts table",
        path=path,
        notes=[f"{len(neurons)} neurons x {time.size} bins of {width:g} s from a table"],
        t_start=time[0] - width / 2,
        t_stop=time[-1] + width / 2,
    )


# ------------------------------------------------------------------------------ units file
#: ``desc-units_spikes.nc``: every spike time of one recording, the second standardized
#: output of the activity stage (beside the counts), for analyses that need finer timing
#: than the count bins (head-direction tuning curves, encoding models).
UNITS_FORMAT = "neuroflow spike units 1"


def units_dataset(units: SpikeUnits, simulated: bool = False) -> xr.Dataset:
    """A :class:`SpikeUnits` as an :class:`xarray.Dataset` (the standardized units file).

    Spike times are a CF contiguous ragged array: ``spike_time (spike)`` (s, file clock),
    unit after unit in table order, and ``spike_count (unit)`` (its ``sample_dimension``
    attr names ``spike``); unit ``k``'s spikes are ``spike_time[offset[k]:offset[k + 1]]``
    with ``offset = cumsum([0, *spike_count])``. Coordinates ``unit`` (the NWB ``id``
    column), ``neuron`` (``unit<id:03d>``, the counts file's names) and ``location``
    (unit). With a head-angle series: ``head_angle (angle_sample)`` (rad, as stored,
    not wrapped) with coordinate ``angle_time`` (s). Epochs: ``epoch_start``,
    ``epoch_stop`` (s) and ``epoch_label`` (the NWB tags joined by ``,``) along ``epoch``.
    Attrs: ``time_units`` (s), ``angle_units`` (rad), ``simulated`` (0/1), ``angle_series``,
    ``nwb_identifier``, ``file``, ``notes``, ``format``.
    """
    counts = np.asarray([s.size for s in units.spike_times], dtype=np.int64)
    flat = (
        np.concatenate([np.asarray(s, dtype=float) for s in units.spike_times])
        if units.spike_times
        else np.zeros(0)
    )
    ids = np.asarray(units.unit_ids, dtype=np.int64)
    ds = xr.Dataset(
        {
            "spike_time": (
                "spike",
                flat,
                {
                    "units": "s",
                    "long_name": "spike time (file clock), unit after unit (CF contiguous ragged array)",
                },
            ),
            "spike_count": (
                "unit",
                counts,
                {"sample_dimension": "spike", "units": "count", "long_name": "number of spikes of the unit"},
            ),
        },
        coords={
            "unit": ("unit", ids, {"long_name": "NWB units table id", "units": "1"}),
            "neuron": (
                "unit",
                np.asarray([f"unit{int(i):03d}" for i in ids]),
                {"long_name": "unit (neuron) id", "units": "1"},
            ),
            "location": (
                "unit",
                np.asarray([str(x) for x in units.location]),
                {"long_name": "recorded brain location of the unit", "units": "1"},
            ),
        },
    )
    ds = _epoch_variables(ds, list(units.epochs))
    if units.angle_time is not None:
        ds = _head_angle_variables(ds, units)
    ds.attrs.update(
        format=UNITS_FORMAT,
        time_units="s",
        angle_units="rad",
        simulated=np.int8(bool(simulated)),
        angle_series=units.angle_series,
        nwb_identifier=units.identifier,
        file=str(units.path),
        notes=json.dumps(list(units.notes)),
    )
    return ds


def _epoch_variables(ds: xr.Dataset, epochs: list) -> xr.Dataset:
    """``epoch_start``, ``epoch_stop`` (s) and ``epoch_label`` along ``epoch``."""
    ds["epoch_start"] = (
        "epoch",
        np.asarray([e[0] for e in epochs], dtype=float),
        {"units": "s", "long_name": "epoch start"},
    )
    ds["epoch_stop"] = (
        "epoch",
        np.asarray([e[1] for e in epochs], dtype=float),
        {"units": "s", "long_name": "epoch stop"},
    )
    ds["epoch_label"] = (
        "epoch",
        np.asarray([str(e[2]) for e in epochs], dtype=str),
        {"units": "1", "long_name": "epoch label"},
    )
    return ds


def _head_angle_variables(ds: xr.Dataset, units: SpikeUnits) -> xr.Dataset:
    """``head_angle (angle_sample)`` (rad, as stored) with its ``angle_time`` coordinate."""
    ds["head_angle"] = (
        "angle_sample",
        np.asarray(units.angle, dtype=float),
        {"units": "rad", "long_name": f"head angle ({units.angle_series}), as stored (not wrapped)"},
    )
    ds = ds.assign_coords(
        angle_time=(
            "angle_sample",
            np.asarray(units.angle_time, dtype=float),
            {"units": "s", "long_name": "time of the head-angle sample (file clock)"},
        )
    )
    return ds


def read_units_file(path) -> SpikeUnits:
    """Read a units file written by the activity stage (:func:`units_dataset`).

    Returns
    -------
    SpikeUnits
        ``path`` is the units file; ``angle_time``/``angle`` are None when the recording
        had no head-angle series.

    Raises
    ------
    ActivityReadError
        The file is missing, unreadable, or not a units file (names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "units file not found")
    try:
        ds = read_netcdf(path, "units file")
    except Exception as exc:
        raise _fail(path, f"not a readable NetCDF file: {type(exc).__name__}: {exc}") from exc
    if ds.attrs.get("format") != UNITS_FORMAT or not {"spike_time", "spike_count"} <= set(ds):
        raise _fail(
            path,
            f"not a units file of the activity stage (format {UNITS_FORMAT!r} "
            "with spike_time and spike_count)",
        )
    counts = ds["spike_count"].values.astype(np.int64)
    flat = ds["spike_time"].values.astype(float)
    if counts.sum() != flat.size or (counts < 0).any():
        raise _fail(path, f"spike_count sums to {counts.sum()}, spike_time has {flat.size}")
    offsets = np.concatenate([[0], np.cumsum(counts)])
    spikes = [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
    epochs = [
        (float(a), float(b), str(c))
        for a, b, c in zip(ds["epoch_start"].values, ds["epoch_stop"].values, ds["epoch_label"].values)
    ]
    has_angle = "head_angle" in ds
    notes = ds.attrs.get("notes", "[]")
    return SpikeUnits(
        spike_times=spikes,
        unit_ids=ds["unit"].values.astype(np.int64),
        location=[str(x) for x in ds["location"].values],
        epochs=epochs,
        angle_time=ds["angle_time"].values.astype(float) if has_angle else None,
        angle=ds["head_angle"].values.astype(float) if has_angle else None,
        angle_series=str(ds.attrs.get("angle_series", "")),
        identifier=str(ds.attrs.get("nwb_identifier", "")),
        path=path,
        notes=list(json.loads(notes)) if isinstance(notes, str) else list(notes),
    )
