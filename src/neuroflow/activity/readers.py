"""Readers for activity recordings as users bring them.

Every reader returns the same labelled structure, an :class:`xarray.Dataset` with

* ``traces (time, neuron)`` float64, in the recording's own unit (``traces.attrs["units"]``);
* coordinates ``time`` (s, as stored in the file), ``neuron`` (an id unique within the
  recording: the raw label when the file gives one, else an anonymous ROI/unit id),
  ``raw_label`` (the label as written in the file, ``""`` when none) and ``roi_index``
  (row of the ROI/unit table, or column index);
* attrs ``reader``, ``file`` (one or several paths), ``signal`` (what the values are),
  ``nominal_rate_hz`` (the rate the file declares, NaN when it declares none) and ``notes``.

Supported formats
-----------------
``nwb``
    ``RoiResponseSeries`` of an NWB file (pynwb): fluorescence, neuropil, deconvolved
    traces, dF/F, CNMF-E / minian / Inscopix exports; or the ``units`` table, binned into
    spike counts. suite2p's NWB export stores ROI x time (transposed against the NWB
    schema); the reader detects it from the ROI-table length and says so in ``notes``.
``suite2p``
    One or several suite2p plane folders (``F.npy``, ``Fneu.npy``, ``spks.npy``,
    ``iscell.npy``, arrays of ROI x frame). ``ops.npy`` and ``stat.npy`` are pickles and
    are never read, so the frame rate must be given (``rate_hz``).
``table``
    A TSV/CSV with one time column and one column per neuron (the header is the label), or
    a NetCDF file with ``traces (time, neuron)``.

Spike trains: :func:`read_nwb_units` returns the units table itself (spike times, locations
from the ``location`` column or the ``electrodes`` table, epochs, head angle) as
:class:`SpikeUnits`; :mod:`neuroflow.activity.spikes` bins it into counts.

Every failure raises :class:`ActivityReadError` (a ``ValueError``) naming the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuroflow.provenance import read_netcdf


class ActivityReadError(ValueError):
    """A recording file that cannot be read as the configured format."""


def fail(path, problem: str) -> ActivityReadError:
    """The reader error for ``path`` (the message starts with the file)."""
    return ActivityReadError(f"{path}: {problem}")


_fail = fail


def _recording(traces: np.ndarray, time: np.ndarray, ids, raw_labels, roi_index, *, path,
               reader: str, signal: str, units: str, nominal_rate_hz: float,
               notes: list[str]) -> xr.Dataset:
    """Assemble and check the common structure (time strictly increasing, finite)."""
    traces = np.asarray(traces, dtype=np.float64)
    time = np.asarray(time, dtype=np.float64)
    if traces.ndim != 2 or traces.shape[0] != time.size:
        raise _fail(path, f"traces of shape {traces.shape} do not match {time.size} time points")
    if traces.shape[0] < 2 or traces.shape[1] < 1:
        raise _fail(path, f"needs at least 2 time points and 1 neuron, got shape {traces.shape}")
    if not np.isfinite(time).all():
        raise _fail(path, "time stamps contain NaN or infinite values")
    if (np.diff(time) <= 0).any():
        i = int(np.argmax(np.diff(time) <= 0))
        raise _fail(path, f"time stamps are not strictly increasing (sample {i + 1}: "
                          f"{time[i]} -> {time[i + 1]} s)")
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise _fail(path, f"duplicated neuron ids {dup[:10]}")
    ds = xr.Dataset(
        {"traces": (("time", "neuron"), traces)},
        coords={"time": time, "neuron": ids,
                "raw_label": ("neuron", [str(x) for x in raw_labels]),
                "roi_index": ("neuron", np.asarray(roi_index, dtype=np.int64))},
    )
    ds["time"].attrs["units"] = "s"
    ds["traces"].attrs["units"] = units
    ds.attrs.update(reader=reader, file=str(path), signal=signal,
                    nominal_rate_hz=float(nominal_rate_hz), notes=list(notes))
    return ds


# ----------------------------------------------------------------------------------- NWB
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
        raise _fail(path, "no RoiResponseSeries (fluorescence traces) in the file; "
                          "use series: units for spike times")
    keys = list(found)
    if wanted:
        hits = [k for k in keys if k == wanted or k.endswith("/" + wanted)
                or k.split("/")[1] == wanted]
        if len(hits) != 1:
            raise _fail(path, f"series {wanted!r} matches {len(hits)} RoiResponseSeries; "
                              f"available: {keys}")
        return hits[0]
    for rule in (lambda k: k.split("/")[1] == "Fluorescence",
                 lambda k: "fluor" in k.lower(), lambda k: "dff" in k.lower()):
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
            raise _fail(path, f"ROI table {table.name!r} has no column {label_column!r}; "
                              f"columns: {list(table.colnames)}")
        col = table[label_column].data[:]
        labels = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(col)[rows]]
    iscell = None
    if "iscell" in table.colnames:
        iscell = np.asarray(table["iscell"].data[:], dtype=float)[rows]
        iscell = iscell[:, 0] if iscell.ndim == 2 else iscell
    return rows, ids, labels, iscell


def read_nwb(path, series: str | None = None, label_column: str | None = None,
             only_cells: bool = True, bin_s: float = 0.1) -> xr.Dataset:
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
        raise _fail(path, "file not found")
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
            raise _fail(path, f"series {key} has {data.ndim}-D data; expected time x ROI")
        if data.shape[1] != rows.size and data.shape[0] == rows.size:
            data = data.T
            notes.append(f"data stored ROI x time ({rows.size} x {data.shape[0]}), transposed "
                         "(suite2p's NWB export writes it so)")
        elif data.shape[1] != rows.size:
            raise _fail(path, f"series {key} has data of shape {data.shape} but "
                              f"{rows.size} ROIs")
        data = data * float(s.conversion) + float(getattr(s, "offset", 0.0) or 0.0)
        if s.timestamps is not None:
            time = np.asarray(s.timestamps[:], dtype=np.float64)
            rate = float(s.rate) if s.rate else np.nan
        else:
            if not s.rate:
                raise _fail(path, f"series {key} has neither timestamps nor a rate")
            rate = float(s.rate)
            time = float(s.starting_time or 0.0) + np.arange(data.shape[0]) / rate
        if time.size != data.shape[0]:
            raise _fail(path, f"series {key}: {time.size} timestamps for {data.shape[0]} samples")
        keep = np.ones(rows.size, dtype=bool)
        if iscell is not None and only_cells:
            keep = iscell >= 0.5
            notes.append(f"kept {int(keep.sum())} of {rows.size} ROIs with iscell = 1")
            if not keep.any():
                raise _fail(path, "no ROI has iscell = 1 (set only_cells: false to keep all)")
        names = [lab if lab else f"roi-{int(i)}" for lab, i in zip(labels, ids)]
        kind = type(s.parent).__name__ if s.parent is not None else "RoiResponseSeries"
        signal = f"{key.split('/')[1]} ({kind})"
        return _recording(data[:, keep], time, np.asarray(names)[keep],
                          np.asarray(labels)[keep], ids[keep], path=path, reader="nwb",
                          signal=signal, units=str(s.unit), nominal_rate_hz=rate, notes=notes)


def _read_units(nwb, path, bin_s: float) -> xr.Dataset:
    """The units table binned over the spikes' span, as rates (spikes/s) for homogenization.

    Bins are ``bin_s`` wide with edges at multiples of ``bin_s`` on the file's clock; ``time``
    holds the bin centres and ``attrs["bin_width_s"]`` the width, which tells
    :func:`neuroflow.activity.homogenize.homogenize_recording` never to filter them (the
    activity stage bins at ``activity.step_s``)."""
    from neuroflow.activity.spikes import bin_spikes

    if not bin_s or bin_s <= 0:
        raise _fail(path, f"bin_s must be > 0, got {bin_s}")
    units = _units_of(nwb, path, angle_series="")
    nonempty = [s for s in units.spike_times if s.size]
    t0 = np.floor(min(s.min() for s in nonempty) / bin_s) * bin_s
    n_bins = int(np.floor((max(s.max() for s in nonempty) - t0) / bin_s)) + 1
    counts = bin_spikes(units, bin_s, t_start=t0, t_stop=t0 + n_bins * bin_s, use_epochs=False)
    ids = units.unit_ids
    rec = _recording(counts["counts"].values / bin_s, counts["time"].values,
                     [f"unit-{i}" for i in ids], [""] * ids.size, ids, path=path, reader="nwb",
                     signal="units (binned spikes)", units="spikes/s",
                     nominal_rate_hz=1.0 / bin_s,
                     notes=[f"{ids.size} units binned at {bin_s} s from their spike times "
                            "(time = bin centres)"])
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
            locs = (sorted({_text(v) for v in rows["location"]})
                    if "location" in getattr(rows, "columns", ()) else [])
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
        raise _fail(path, "the file has no units table (no spike times)")
    units = nwb.units
    n = len(units)
    notes: list[str] = []
    spikes = [np.asarray(units.get_unit_spike_times(i), dtype=float).ravel() for i in range(n)]
    if not any(s.size for s in spikes):
        raise _fail(path, "the units table holds no spike times")
    bad = [int(i) for i, s in zip(units.id[:], spikes) if not np.isfinite(s).all()]
    if bad:
        raise _fail(path, f"units {bad[:10]} have NaN or infinite spike times")
    epochs = []
    if nwb.epochs is not None and len(nwb.epochs) > 0:
        table = nwb.epochs.to_dataframe()
        for k, row in enumerate(table.itertuples()):
            tags = getattr(row, "tags", None)
            tags = [] if tags is None else list(tags)       # an array when several tags
            label = ",".join(_text(t) for t in tags) if tags else f"epoch{k}"
            epochs.append((float(row.start_time), float(row.stop_time), label))
    t, v, where = _head_angle(nwb, angle_series)
    if angle_series and t is None:
        notes.append(f"no CompassDirection/{angle_series} series: no head direction")
    return SpikeUnits(spike_times=spikes, unit_ids=np.asarray(units.id[:], dtype=np.int64),
                      location=_unit_locations(units, n, notes), epochs=epochs, angle_time=t,
                      angle=v, angle_series=where, identifier=str(nwb.identifier), path=path,
                      notes=notes)


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
        raise _fail(path, "file not found")
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
            raise _fail(self.path, f"not a readable NWB (HDF5) file: {exc}") from exc
        try:
            return self.io.read()
        except Exception as exc:
            self.io.close()
            raise _fail(self.path, f"not a readable NWB file: {exc}") from exc

    def __exit__(self, *exc):
        self.io.close()
        return False


# ------------------------------------------------------------------------------- suite2p
_SUITE2P_SIGNALS = ("F", "spks", "Fneu")


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise _fail(path, "file not found (suite2p folder incomplete)")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _fail(path, f"not a readable .npy array: {exc}") from exc


def read_suite2p(folders, rate_hz: float | None = None, signal: str = "F",
                 neuropil_coefficient: float = 0.7, only_cells: bool = True) -> xr.Dataset:
    """Read one or several suite2p plane folders (ROIs of all planes side by side).

    Parameters
    ----------
    folders : path or list of paths
        ``.../suite2p/plane<k>`` folders with ``F.npy``, ``Fneu.npy``, ``spks.npy``,
        ``iscell.npy`` (each ROI x frame, float32; iscell ROI x 2).
    rate_hz : float
        Frame rate (Hz) per plane; required because ``ops.npy`` is a pickle and is not read.
    signal : {"F", "spks", "Fneu"}
        ``F``: fluorescence minus ``neuropil_coefficient`` x neuropil (suite2p's own
        default 0.7); ``spks``: deconvolved activity; ``Fneu``: neuropil alone.
    only_cells : bool
        Keep ROIs classified as cells (``iscell[:, 0] == 1``).

    Returns
    -------
    recording : xarray.Dataset
        ``traces (time, neuron)`` with neuron ids ``<plane folder>-roi<k>``; time is
        ``frame / rate_hz`` (s).
    """
    folders = [Path(f) for f in ([folders] if isinstance(folders, (str, Path)) else folders)]
    if signal not in _SUITE2P_SIGNALS:
        raise _fail(folders[0], f"signal must be one of {_SUITE2P_SIGNALS}, got {signal!r}")
    if rate_hz is None or not np.isfinite(rate_hz) or rate_hz <= 0:
        raise _fail(folders[0], "suite2p folders need reader_options.rate_hz (the frame rate "
                                "in Hz; ops.npy is a pickle and is not read)")
    blocks, ids, rows, notes = [], [], [], []
    n_frames = None
    for folder in folders:
        if not folder.is_dir():
            raise _fail(folder, "not a folder")
        name = signal
        main = _load_npy(folder / f"{name}.npy")
        if main.ndim != 2:
            raise _fail(folder / f"{name}.npy", f"expected ROI x frame, got shape {main.shape}")
        if signal == "F" and neuropil_coefficient:
            neu = _load_npy(folder / "Fneu.npy")
            if neu.shape != main.shape:
                raise _fail(folder / "Fneu.npy", f"shape {neu.shape} differs from F.npy {main.shape}")
            main = main.astype(np.float64) - float(neuropil_coefficient) * neu.astype(np.float64)
        iscell = _load_npy(folder / "iscell.npy")
        if iscell.shape[0] != main.shape[0]:
            raise _fail(folder / "iscell.npy", f"{iscell.shape[0]} rows for {main.shape[0]} ROIs")
        if n_frames is not None and main.shape[1] != n_frames:
            raise _fail(folder, f"{main.shape[1]} frames, other planes have {n_frames}")
        n_frames = main.shape[1]
        flag = iscell[:, 0] if iscell.ndim == 2 else iscell
        keep = flag >= 0.5 if only_cells else np.ones(main.shape[0], dtype=bool)
        notes.append(f"{folder.name}: kept {int(keep.sum())} of {main.shape[0]} ROIs"
                     + (" with iscell = 1" if only_cells else ""))
        blocks.append(np.asarray(main, dtype=np.float64)[keep].T)
        idx = np.flatnonzero(keep)
        ids += [f"{folder.name}-roi{i}" for i in idx]
        rows += list(idx)
    traces = np.concatenate(blocks, axis=1)
    if traces.shape[1] == 0:
        raise _fail(folders[0], "no ROI classified as a cell (set only_cells: false to keep all)")
    time = np.arange(traces.shape[0]) / float(rate_hz)
    what = {"F": f"F - {neuropil_coefficient} x Fneu" if neuropil_coefficient else "F",
            "spks": "deconvolved (spks)", "Fneu": "neuropil (Fneu)"}[signal]
    rec = _recording(traces, time, ids, [""] * len(ids), rows, path=folders[0],
                     reader="suite2p", signal=what, units="a.u. (suite2p)",
                     nominal_rate_hz=float(rate_hz), notes=notes)
    rec.attrs["file"] = ",".join(str(f) for f in folders)
    return rec


# --------------------------------------------------------------------------------- table
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "min": 60.0}


def read_table(path, time_column: str = "time", time_unit: str = "s",
               units: str = "a.u.") -> xr.Dataset:
    """Read a table of traces: TSV/CSV (one time column, one column per neuron) or NetCDF.

    Parameters
    ----------
    path : str or Path
        ``.tsv``/``.txt`` (tab) or ``.csv`` (comma); the header row names the neurons.
        ``.nc``: a variable ``traces`` with dims ``time`` and ``neuron`` (either order) and a
        ``time`` coordinate.
    time_column : str
        Header of the time column.
    time_unit : {"s", "ms", "min"}
        Unit of the time column.
    units : str
        Unit of the traces, recorded in the output.
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found")
    if time_unit not in _TIME_UNITS:
        raise _fail(path, f"time_unit must be one of {sorted(_TIME_UNITS)}, got {time_unit!r}")
    if path.suffix.lower() == ".nc":
        return _read_netcdf_traces(path, time_unit, units)
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        header = pd.read_csv(path, sep=sep, comment="#", header=None, dtype=str, nrows=1)
        table = pd.read_csv(path, sep=sep, comment="#", header=None, skiprows=1)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise _fail(path, f"not a readable {'CSV' if sep == ',' else 'TSV'} table: {exc}") from exc
    names = ["" if pd.isna(v) else str(v).strip() for v in header.iloc[0]]  # repeats kept
    if table.shape[1] != len(names):
        raise _fail(path, f"{table.shape[1]} data columns for {len(names)} header names")
    if names.count(time_column) != 1:
        raise _fail(path, f"no time column {time_column!r} (or more than one); columns: {names[:10]}")
    it = names.index(time_column)
    cols = [j for j in range(len(names)) if j != it]
    bad = [names[j] for j in cols if not pd.api.types.is_numeric_dtype(table[j])]
    if bad:
        raise _fail(path, f"non-numeric values in column(s) {bad[:5]}")
    if not pd.api.types.is_numeric_dtype(table[it]):
        raise _fail(path, f"non-numeric values in the time column {time_column!r}")
    time = table[it].to_numpy(dtype=float) * _TIME_UNITS[time_unit]
    labels = [names[j] for j in cols]
    ids = [lab if lab and labels.count(lab) == 1 else f"col-{k}" for k, lab in enumerate(labels)]
    return _recording(table[cols].to_numpy(dtype=float), time, ids, labels,
                      np.arange(len(cols)), path=path, reader="table",
                      signal="traces from table", units=units, nominal_rate_hz=np.nan,
                      notes=[f"{len(cols)} neuron columns"])


def read_time_neuron(path, variable: str) -> tuple[xr.Dataset, xr.DataArray]:
    """A NetCDF file's ``variable`` with dims (time, neuron), as ``(dataset, array)`` with the
    array transposed to (time, neuron); :class:`ActivityReadError` naming the file else."""
    try:
        src = read_netcdf(path)
    except Exception as exc:
        raise _fail(path, f"not a readable NetCDF file: {type(exc).__name__}: {exc}") from exc
    if variable not in src or set(src[variable].dims) != {"time", "neuron"}:
        raise _fail(path, f"expected a variable {variable!r} with dims (time, neuron); has "
                          f"{ {k: v.dims for k, v in src.data_vars.items()} }")
    return src, src[variable].transpose("time", "neuron")


def _read_netcdf_traces(path: Path, time_unit: str, units: str) -> xr.Dataset:
    src, arr = read_time_neuron(path, "traces")
    labels = [str(n) for n in src["neuron"].values]
    return _recording(arr.values, src["time"].values.astype(float) * _TIME_UNITS[time_unit],
                      labels, labels, np.arange(len(labels)), path=path, reader="table",
                      signal="traces from NetCDF", units=str(arr.attrs.get("units", units)),
                      nominal_rate_hz=np.nan, notes=[f"{len(labels)} neurons"])


READERS = {"nwb": read_nwb, "suite2p": read_suite2p, "table": read_table}


def read_recording(reader: str, paths, **options) -> xr.Dataset:
    """Dispatch to a reader. ``paths``: one file (nwb, table) or the suite2p files/folders."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if reader not in READERS:
        raise ValueError(f"unknown activity reader {reader!r}; expected one of {sorted(READERS)}")
    if reader == "suite2p":
        folders = list(dict.fromkeys(p if p.is_dir() else p.parent for p in paths))
        return read_suite2p(folders, **options)
    if len(paths) != 1:
        raise ValueError(f"reader {reader!r} reads one file per recording, got {len(paths)}: "
                         f"{[str(p) for p in paths]}")
    return READERS[reader](paths[0], **options)
