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

The NWB readers live in :mod:`neuroflow.activity.nwb` (``read_nwb`` is re-exported here).
Spike trains: :func:`neuroflow.activity.nwb.read_nwb_units` returns the units table itself
(spike times, locations from the ``location`` column or the ``electrodes`` table, epochs,
head angle) as :class:`~neuroflow.activity.nwb.SpikeUnits`;
:mod:`neuroflow.activity.spikes` bins it into counts.

Every failure raises :class:`ActivityReadError` (a ``ValueError``) naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuroflow.activity.nwb import read_nwb
from neuroflow.activity.recording import ActivityReadError, fail, make_recording
from neuroflow.provenance import read_netcdf

__all__ = [
    "READERS",
    "ActivityReadError",
    "fail",
    "read_nwb",
    "read_recording",
    "read_suite2p",
    "read_table",
    "read_time_neuron",
]


# ------------------------------------------------------------------------------- suite2p
_SUITE2P_SIGNALS = ("F", "spks", "Fneu")


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise fail(path, "file not found (suite2p folder incomplete)")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise fail(path, f"not a readable .npy array: {exc}") from exc


def read_suite2p(
    folders,
    rate_hz: float | None = None,
    signal: str = "F",
    neuropil_coefficient: float = 0.7,
    only_cells: bool = True,
) -> xr.Dataset:
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
        raise fail(folders[0], f"signal must be one of {_SUITE2P_SIGNALS}, got {signal!r}")
    if rate_hz is None or not np.isfinite(rate_hz) or rate_hz <= 0:
        raise fail(
            folders[0],
            "suite2p folders need reader_options.rate_hz (the frame rate "
            "in Hz; ops.npy is a pickle and is not read)",
        )
    blocks, ids, rows, notes = [], [], [], []
    n_frames = None
    for folder in folders:
        main, keep = _suite2p_plane(folder, signal, neuropil_coefficient, only_cells, n_frames)
        n_frames = main.shape[1]
        notes.append(
            f"{folder.name}: kept {int(keep.sum())} of {main.shape[0]} ROIs"
            + (" with iscell = 1" if only_cells else "")
        )
        blocks.append(np.asarray(main, dtype=np.float64)[keep].T)
        idx = np.flatnonzero(keep)
        ids += [f"{folder.name}-roi{i}" for i in idx]
        rows += list(idx)
    traces = np.concatenate(blocks, axis=1)
    if traces.shape[1] == 0:
        raise fail(folders[0], "no ROI classified as a cell (set only_cells: false to keep all)")
    time = np.arange(traces.shape[0]) / float(rate_hz)
    what = {
        "F": f"F - {neuropil_coefficient} x Fneu" if neuropil_coefficient else "F",
        "spks": "deconvolved (spks)",
        "Fneu": "neuropil (Fneu)",
    }[signal]
    rec = make_recording(
        traces,
        time,
        ids,
        [""] * len(ids),
        rows,
        path=folders[0],
        reader="suite2p",
        signal=what,
        units="a.u. (suite2p)",
        nominal_rate_hz=float(rate_hz),
        notes=notes,
    )
    rec.attrs["file"] = ",".join(str(f) for f in folders)
    return rec


def _suite2p_plane(folder: Path, signal: str, neuropil_coefficient: float, only_cells: bool, n_frames):
    """One plane folder's ROI x frame array of ``signal`` and the mask of the ROIs kept."""
    if not folder.is_dir():
        raise fail(folder, "not a folder")
    name = signal
    main = _load_npy(folder / f"{name}.npy")
    if main.ndim != 2:
        raise fail(folder / f"{name}.npy", f"expected ROI x frame, got shape {main.shape}")
    if signal == "F" and neuropil_coefficient:
        neu = _load_npy(folder / "Fneu.npy")
        if neu.shape != main.shape:
            raise fail(folder / "Fneu.npy", f"shape {neu.shape} differs from F.npy {main.shape}")
        main = main.astype(np.float64) - float(neuropil_coefficient) * neu.astype(np.float64)
    iscell = _load_npy(folder / "iscell.npy")
    if iscell.shape[0] != main.shape[0]:
        raise fail(folder / "iscell.npy", f"{iscell.shape[0]} rows for {main.shape[0]} ROIs")
    if n_frames is not None and main.shape[1] != n_frames:
        raise fail(folder, f"{main.shape[1]} frames, other planes have {n_frames}")
    flag = iscell[:, 0] if iscell.ndim == 2 else iscell
    keep = flag >= 0.5 if only_cells else np.ones(main.shape[0], dtype=bool)
    return main, keep


# --------------------------------------------------------------------------------- table
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "min": 60.0}


def read_table(path, time_column: str = "time", time_unit: str = "s", units: str = "a.u.") -> xr.Dataset:
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
        raise fail(path, "file not found")
    if time_unit not in _TIME_UNITS:
        raise fail(path, f"time_unit must be one of {sorted(_TIME_UNITS)}, got {time_unit!r}")
    if path.suffix.lower() == ".nc":
        return _read_netcdf_traces(path, time_unit, units)
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        header = pd.read_csv(path, sep=sep, comment="#", header=None, dtype=str, nrows=1)
        table = pd.read_csv(path, sep=sep, comment="#", header=None, skiprows=1)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise fail(path, f"not a readable {'CSV' if sep == ',' else 'TSV'} table: {exc}") from exc
    names = ["" if pd.isna(v) else str(v).strip() for v in header.iloc[0]]  # repeats kept
    if table.shape[1] != len(names):
        raise fail(path, f"{table.shape[1]} data columns for {len(names)} header names")
    if names.count(time_column) != 1:
        raise fail(path, f"no time column {time_column!r} (or more than one); columns: {names[:10]}")
    it = names.index(time_column)
    cols = [j for j in range(len(names)) if j != it]
    bad = [names[j] for j in cols if not pd.api.types.is_numeric_dtype(table[j])]
    if bad:
        raise fail(path, f"non-numeric values in column(s) {bad[:5]}")
    if not pd.api.types.is_numeric_dtype(table[it]):
        raise fail(path, f"non-numeric values in the time column {time_column!r}")
    time = table[it].to_numpy(dtype=float) * _TIME_UNITS[time_unit]
    labels = [names[j] for j in cols]
    ids = [lab if lab and labels.count(lab) == 1 else f"col-{k}" for k, lab in enumerate(labels)]
    return make_recording(
        table[cols].to_numpy(dtype=float),
        time,
        ids,
        labels,
        np.arange(len(cols)),
        path=path,
        reader="table",
        signal="traces from table",
        units=units,
        nominal_rate_hz=np.nan,
        notes=[f"{len(cols)} neuron columns"],
    )


def read_time_neuron(path, variable: str) -> tuple[xr.Dataset, xr.DataArray]:
    """A NetCDF file's ``variable`` with dims (time, neuron), as ``(dataset, array)`` with the
    array transposed to (time, neuron); :class:`ActivityReadError` naming the file else."""
    try:
        src = read_netcdf(path)
    except Exception as exc:
        raise fail(path, f"not a readable NetCDF file: {type(exc).__name__}: {exc}") from exc
    if variable not in src or set(src[variable].dims) != {"time", "neuron"}:
        raise fail(
            path,
            f"expected a variable {variable!r} with dims (time, neuron); has "
            f"{ {k: v.dims for k, v in src.data_vars.items()} }",
        )
    return src, src[variable].transpose("time", "neuron")


def _read_netcdf_traces(path: Path, time_unit: str, units: str) -> xr.Dataset:
    src, arr = read_time_neuron(path, "traces")
    labels = [str(n) for n in src["neuron"].values]
    return make_recording(
        arr.values,
        src["time"].values.astype(float) * _TIME_UNITS[time_unit],
        labels,
        labels,
        np.arange(len(labels)),
        path=path,
        reader="table",
        signal="traces from NetCDF",
        units=str(arr.attrs.get("units", units)),
        nominal_rate_hz=np.nan,
        notes=[f"{len(labels)} neurons"],
    )


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
        raise ValueError(
            f"reader {reader!r} reads one file per recording, got {len(paths)}: {[str(p) for p in paths]}"
        )
    return READERS[reader](paths[0], **options)
