"""The structure every activity reader returns, and the readers' error.

:func:`make_recording` assembles an :class:`xarray.Dataset` with ``traces (time, neuron)``
and the coordinates and attrs described in :mod:`neuroflow.activity.readers`, checking the
time stamps and neuron ids on the way.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


class ActivityReadError(ValueError):
    """A recording file that cannot be read as the configured format."""


def fail(path, problem: str) -> ActivityReadError:
    """The reader error for ``path`` (the message starts with the file)."""
    return ActivityReadError(f"{path}: {problem}")


def make_recording(
    traces: np.ndarray,
    time: np.ndarray,
    ids,
    raw_labels,
    roi_index,
    *,
    path,
    reader: str,
    signal: str,
    units: str,
    nominal_rate_hz: float,
    notes: list[str],
) -> xr.Dataset:
    """Assemble and check the common structure (time strictly increasing, finite)."""
    traces = np.asarray(traces, dtype=np.float64)
    time = np.asarray(time, dtype=np.float64)
    if traces.ndim != 2 or traces.shape[0] != time.size:
        raise fail(path, f"traces of shape {traces.shape} do not match {time.size} time points")
    if traces.shape[0] < 2 or traces.shape[1] < 1:
        raise fail(path, f"needs at least 2 time points and 1 neuron, got shape {traces.shape}")
    if not np.isfinite(time).all():
        raise fail(path, "time stamps contain NaN or infinite values")
    if (np.diff(time) <= 0).any():
        i = int(np.argmax(np.diff(time) <= 0))
        raise fail(
            path, f"time stamps are not strictly increasing (sample {i + 1}: {time[i]} -> {time[i + 1]} s)"
        )
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise fail(path, f"duplicated neuron ids {dup[:10]}")
    ds = xr.Dataset(
        {"traces": (("time", "neuron"), traces)},
        coords={
            "time": time,
            "neuron": ids,
            "raw_label": ("neuron", [str(x) for x in raw_labels]),
            "roi_index": ("neuron", np.asarray(roi_index, dtype=np.int64)),
        },
    )
    ds["time"].attrs["units"] = "s"
    ds["traces"].attrs["units"] = units
    ds.attrs.update(
        reader=reader,
        file=str(path),
        signal=signal,
        nominal_rate_hz=float(nominal_rate_hz),
        notes=list(notes),
    )
    return ds
