"""NWB readers of the activity stage: ``RoiResponseSeries`` traces, and the ``units``
table (spike times, locations, epochs, head angle) as :class:`SpikeUnits`.

:func:`read_nwb` is the ``nwb`` reader of :mod:`neuroflow.activity.readers` (see its
docstring for the returned structure); :mod:`neuroflow.activity.spikes` bins
:func:`read_nwb_units`' spike trains. Every failure raises
:class:`~neuroflow.activity.recording.ActivityReadError` naming the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from neuroflow.activity.recording import fail, make_recording


def _roi_series(nwb) -> dict[str, object]:
    """Every RoiResponseSeries of the file: ``"<module>/<interface>/<series>" -> series``."""
    import pynwb

    found = {}
    for mod_name, module in nwb.processing.items():
        for iface_name, iface in module.data_interfaces.items():
            series = getattr(iface, "roi_response_series", None)
            if series is None and isinstance(iface, pynwb.ophys.RoiResponseSeries):
                series = {iface_name: iface}
            for s_name, s in (series or {}).items():
                found[f"{mod_name}/{iface_name}/{s_name}"] = s
    return found


def _pick_series(found: dict, wanted: str | None, path):
    if not found:
        raise fail(
            path, "no RoiResponseSeries (fluorescence traces) in the file; use series: units for spike times"
        )
    keys = list(found)
    if wanted:
        hits = [k for k in keys if k == wanted or k.endswith("/" + wanted) or k.split("/")[1] == wanted]
        if len(hits) != 1:
            raise fail(path, f"series {wanted!r} matches {len(hits)} RoiResponseSeries; available: {keys}")
        return hits[0]
    for rule in (
        lambda k: k.split("/")[1] == "Fluorescence",
        lambda k: "fluor" in k.lower(),
        lambda k: "dff" in k.lower(),
    ):
        hits = [k for k in keys if rule(k)]
        if hits:
            return hits[0]
    return keys[0]


def _roi_table_columns(series, label_column: str | None, path):
    """ROI ids, raw labels and iscell flags of the ROIs a series refers to."""
    region = series.rois
    rows = np.asarray(region.data[:], dtype=np.int64)
    table = region.table
    ids = np.asarray(table.id[:])[rows]
    labels = [""] * rows.size
    if label_column:
        if label_column not in table.colnames:
            raise fail(
                path,
                f"ROI table {table.name!r} has no column {label_column!r}; columns: {list(table.colnames)}",
            )
        col = table[label_column].data[:]
        labels = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(col)[rows]]
    iscell = None
    if "iscell" in table.colnames:
        iscell = np.asarray(table["iscell"].data[:], dtype=float)[rows]
        iscell = iscell[:, 0] if iscell.ndim == 2 else iscell
    return rows, ids, labels, iscell


def read_nwb(
    path,
    series: str | None = None,
    label_column: str | None = None,
    only_cells: bool = True,
    bin_s: float = 0.1,
) -> xr.Dataset:
    """Read one NWB file's traces (or its units binned into counts).

    Parameters
    ----------
    path : str or Path
        An NWB 2.x HDF5 file.
    series : str, optional
        Which ``RoiResponseSeries``: its name, ``"<interface>"`` or
        ``"<module>/<interface>/<series>"``. Default: the ``Fluorescence`` interface's
        series (else the first fluorescence/dF/F series). ``"units"`` bins the spike times
        of the units table instead.
    label_column : str, optional
        Column of the ROI table holding neuron labels (e.g. NeuroPAL identities). Without
        it neurons get anonymous ids ``roi-<id>``.
    only_cells : bool
        Keep only ROIs with ``iscell`` = 1 where the ROI table has suite2p's ``iscell``.
    bin_s : float
        Bin width (s) for ``series="units"``; values become spikes/s.

    Returns
    -------
    recording : xarray.Dataset
        ``traces (time, neuron)``; see the module docstring.
    """

    path = Path(path)
    if not path.is_file():
        raise fail(path, "file not found")
    with warnings.catch_warnings():
        # pynwb warns about suite2p's ROI x time layout, which is handled below
        warnings.filterwarnings("ignore", message=".*oriented incorrectly", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="hdmf")
        return _read_nwb(path, series, label_column, only_cells, bin_s)


def _read_nwb(path: Path, series, label_column, only_cells, bin_s) -> xr.Dataset:
    with _open_nwb(path) as nwb:
        if series == "units":
            return _read_units(nwb, path, bin_s)
        found = _roi_series(nwb)
        key = _pick_series(found, series, path)
        s = found[key]
        data = np.asarray(s.data[:], dtype=np.float64)
        rows, ids, labels, iscell = _roi_table_columns(s, label_column, path)
        notes = [f"series {key}"]
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2:
            raise fail(path, f"series {key} has {data.ndim}-D data; expected time x ROI")
        if data.shape[1] != rows.size and data.shape[0] == rows.size:
            data = data.T
            notes.append(
                f"data stored ROI x time ({rows.size} x {data.shape[0]}), transposed "
                "(suite2p's NWB export writes it so)"
            )
        elif data.shape[1] != rows.size:
            raise fail(path, f"series {key} has data of shape {data.shape} but {rows.size} ROIs")
        data = data * float(s.conversion) + float(getattr(s, "offset", 0.0) or 0.0)
        if s.timestamps is not None:
            time = np.asarray(s.timestamps[:], dtype=np.float64)
            rate = float(s.rate) if s.rate else np.nan
        else:
            if not s.rate:
                raise fail(path, f"series {key} has neither timestamps nor a rate")
            rate = float(s.rate)
            time = float(s.starting_time or 0.0) + np.arange(data.shape[0]) / rate
        if time.size != data.shape[0]:
            raise fail(path, f"series {key}: {time.size} timestamps for {data.shape[0]} samples")
        keep = np.ones(rows.size, dtype=bool)
        if iscell is not None and only_cells:
            keep = iscell >= 0.5
            notes.append(f"kept {int(keep.sum())} of {rows.size} ROIs with iscell = 1")
            if not keep.any():
                raise fail(path, "no ROI has iscell = 1 (set only_cells: false to keep all)")
        names = [lab if lab else f"roi-{int(i)}" for lab, i in zip(labels, ids)]
        kind = type(s.parent).__name__ if s.parent is not None else "RoiResponseSeries"
        signal = f"{key.split('/')[1]} ({kind})"
        return make_recording(
            data[:, keep],
            time,
            np.asarray(names)[keep],
            np.asarray(labels)[keep],
            ids[keep],
            path=path,
            reader="nwb",
            signal=signal,
            units=str(s.unit),
            nominal_rate_hz=rate,
            notes=notes,
        )


def _read_units(nwb, path, bin_s: float) -> xr.Dataset:
    """The units table binned over the spikes' span, as rates (spikes/s) for homogenization.

    Bins are ``bin_s`` wide with edges at multiples of ``bin_s`` on the file's clock; ``time``
    holds the bin centres and ``attrs["bin_width_s"]`` the width, which tells
    :func:`neuroflow.activity.homogenize.homogenize_recording` never to filter them (the
    activity stage bins at ``activity.step_s``)."""
    from neuroflow.activity.spikes import bin_spikes

    if not bin_s or bin_s <= 0:
        raise fail(path, f"bin_s must be > 0, got {bin_s}")
    units = _units_of(nwb, path, angle_series="")
    nonempty = [s for s in units.spike_times if s.size]
    t0 = np.floor(min(s.min() for s in nonempty) / bin_s) * bin_s
    n_bins = int(np.floor((max(s.max() for s in nonempty) - t0) / bin_s)) + 1
    counts = bin_spikes(units, bin_s, t_start=t0, t_stop=t0 + n_bins * bin_s, use_epochs=False)
    ids = units.unit_ids
    rec = make_recording(
        counts["counts"].values / bin_s,
        counts["time"].values,
        [f"unit-{i}" for i in ids],
        [""] * ids.size,
        ids,
        path=path,
        reader="nwb",
        signal="units (binned spikes)",
        units="spikes/s",
        nominal_rate_hz=1.0 / bin_s,
        notes=[f"{ids.size} units binned at {bin_s} s from their spike times (time = bin centres)"],
    )
    rec.attrs["bin_width_s"] = float(bin_s)
    return rec


@dataclass(frozen=True)
class SpikeUnits:
    """The spike trains of an NWB ``units`` table and what the file says about them.

    Attributes
    ----------
    spike_times : list of ndarray
        One array of spike times (s, file clock) per unit, in table order.
    unit_ids : ndarray of int, shape (n_units,)
        The table's ``id`` column.
    location : list of str
        Recorded region per unit: the ``location`` column, else the location(s) of the
        unit's ``electrodes``, else ``"unknown"``.
    epochs : list of (start_s, stop_s, label)
        The file's ``epochs`` table (label = its tags, else ``epoch<k>``); empty if none.
    angle_time, angle : ndarray or None
        Time stamps (s) and values (rad) of the head-angle series, when asked for and present.
    angle_series : str
        Where the angle came from (``""`` when none).
    identifier : str
        The NWB file's identifier.
    path : Path
    notes : list of str
    """

    spike_times: list
    unit_ids: np.ndarray
    location: list
    epochs: list
    angle_time: np.ndarray | None
    angle: np.ndarray | None
    angle_series: str
    identifier: str
    path: Path
    notes: list


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _unit_locations(units, n: int, notes: list) -> list[str]:
    cols = units.colnames
    if "location" in cols:
        return [_text(v) for v in units["location"][:]]
    if "electrodes" in cols:
        out = []
        for i in range(n):
            rows = units["electrodes"][i]
            locs = (
                sorted({_text(v) for v in rows["location"]})
                if "location" in getattr(rows, "columns", ())
                else []
            )
            out.append("+".join(locs) if locs else "unknown")
        notes.append("unit locations from the electrodes table")
        return out
    notes.append("the units table has neither 'location' nor 'electrodes': location unknown")
    return ["unknown"] * n


def _head_angle(nwb, angle_series: str):
    """(timestamps, values, where) of a CompassDirection series, or (None, None, "")."""
    if not angle_series:
        return None, None, ""
    places = [("acquisition", nwb.acquisition)]
    places += [(f"processing/{name}", mod.data_interfaces) for name, mod in nwb.processing.items()]
    for where, container in places:
        iface = container.get("CompassDirection") if hasattr(container, "get") else None
        if iface is None or angle_series not in iface.spatial_series:
            continue
        s = iface.spatial_series[angle_series]
        v = np.asarray(s.data[:], dtype=float)
        v = v[:, 0] if v.ndim == 2 else v.ravel()
        if s.timestamps is not None:
            t = np.asarray(s.timestamps[:], dtype=float)
        else:
            t = float(s.starting_time or 0.0) + np.arange(v.size) / float(s.rate)
        return t, v, f"{where}/CompassDirection/{angle_series}"
    return None, None, ""


def _units_of(nwb, path: Path, angle_series: str) -> SpikeUnits:
    if nwb.units is None or len(nwb.units) == 0:
        raise fail(path, "the file has no units table (no spike times)")
    units = nwb.units
    n = len(units)
    notes: list[str] = []
    spikes = [np.asarray(units.get_unit_spike_times(i), dtype=float).ravel() for i in range(n)]
    if not any(s.size for s in spikes):
        raise fail(path, "the units table holds no spike times")
    bad = [int(i) for i, s in zip(units.id[:], spikes) if not np.isfinite(s).all()]
    if bad:
        raise fail(path, f"units {bad[:10]} have NaN or infinite spike times")
    epochs = []
    if nwb.epochs is not None and len(nwb.epochs) > 0:
        table = nwb.epochs.to_dataframe()
        for k, row in enumerate(table.itertuples()):
            tags = getattr(row, "tags", None)
            tags = [] if tags is None else list(tags)  # an array when several tags
            label = ",".join(_text(t) for t in tags) if tags else f"epoch{k}"
            epochs.append((float(row.start_time), float(row.stop_time), label))
    t, v, where = _head_angle(nwb, angle_series)
    if angle_series and t is None:
        notes.append(f"no CompassDirection/{angle_series} series: no head direction")
    return SpikeUnits(
        spike_times=spikes,
        unit_ids=np.asarray(units.id[:], dtype=np.int64),
        location=_unit_locations(units, n, notes),
        epochs=epochs,
        angle_time=t,
        angle=v,
        angle_series=where,
        identifier=str(nwb.identifier),
        path=path,
        notes=notes,
    )


def read_nwb_units(path, angle_series: str = "ry") -> SpikeUnits:
    """Read the ``units`` table (spike times, locations), epochs and head angle of an NWB file.

    Parameters
    ----------
    path : str or Path
        An NWB 2.x HDF5 file with a ``units`` table.
    angle_series : str
        Name of a ``CompassDirection`` spatial series (acquisition or a processing module)
        holding the head angle in rad; ``""`` to skip.

    Returns
    -------
    SpikeUnits
    """
    path = Path(path)
    if not path.is_file():
        raise fail(path, "file not found")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="hdmf")
        with _open_nwb(path) as nwb:
            return _units_of(nwb, path, angle_series)


class _open_nwb:
    """``with _open_nwb(path) as nwb``: read an NWB file, errors naming the file."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        import pynwb

        try:
            self.io = pynwb.NWBHDF5IO(str(self.path), "r", load_namespaces=True)
        except Exception as exc:  # h5py/hdmf raise many types for a broken file
            raise fail(self.path, f"not a readable NWB (HDF5) file: {exc}") from exc
        try:
            return self.io.read()
        except Exception as exc:
            self.io.close()
            raise fail(self.path, f"not a readable NWB file: {exc}") from exc

    def __exit__(self, *exc):
        self.io.close()
        return False
