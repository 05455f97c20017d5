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
    A TSV/CSV with one time column and one column per neuron (the header is the label).

Every failure raises :class:`ActivityReadError` (a ``ValueError``) naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


class ActivityReadError(ValueError):
    """A recording file that cannot be read as the configured format."""


def _fail(path, problem: str) -> ActivityReadError:
    return ActivityReadError(f"{path}: {problem}")


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
    import pynwb

    try:
        io = pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True)
    except Exception as exc:  # h5py/hdmf raise many types for a broken file
        raise _fail(path, f"not a readable NWB (HDF5) file: {exc}") from exc
    try:
        try:
            nwb = io.read()
        except Exception as exc:
            raise _fail(path, f"not a readable NWB file: {exc}") from exc
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
    finally:
        io.close()


def _read_units(nwb, path, bin_s: float) -> xr.Dataset:
    if nwb.units is None or len(nwb.units) == 0:
        raise _fail(path, "series: units, but the file has no units table")
    if not bin_s or bin_s <= 0:
        raise _fail(path, f"bin_s must be > 0, got {bin_s}")
    spikes = [np.asarray(nwb.units["spike_times"][i], dtype=float) for i in range(len(nwb.units))]
    nonempty = [s for s in spikes if s.size]
    if not nonempty:
        raise _fail(path, "the units table holds no spike times")
    t0 = np.floor(min(s.min() for s in nonempty) / bin_s) * bin_s
    t1 = max(s.max() for s in nonempty)
    n_bins = int(np.floor((t1 - t0) / bin_s)) + 1
    edges = t0 + bin_s * np.arange(n_bins + 1)
    counts = np.stack([np.histogram(s, edges)[0] for s in spikes], axis=1) / bin_s
    ids = np.asarray(nwb.units.id[:])
    return _recording(counts, edges[:-1] + bin_s / 2, [f"unit-{i}" for i in ids],
                      [""] * ids.size, ids, path=path, reader="nwb", signal="units (binned spikes)",
                      units="spikes/s", nominal_rate_hz=1.0 / bin_s,
                      notes=[f"{ids.size} units binned at {bin_s} s (bin centres)"])


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
    """Read a TSV/CSV of traces: one time column, one column per neuron.

    Parameters
    ----------
    path : str or Path
        ``.tsv``/``.txt`` (tab) or ``.csv`` (comma); the header row names the neurons.
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
