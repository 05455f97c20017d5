"""Provenance helpers: checksums, package versions, deterministic file writing."""

from __future__ import annotations

import json
import os
import tempfile
from importlib import metadata
from pathlib import Path

import pandas as pd

DEFAULT_PACKAGES = ("neuroflow", "numpy", "pandas", "xarray", "h5netcdf", "scipy")


def package_versions(packages=DEFAULT_PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (``"not installed"`` where absent)."""
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def atomic_path(final: Path | str, suffix: str = ".part"):
    """Return a temporary sibling path; write there, then ``os.replace`` onto ``final``."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix, dir=final.parent)
    os.close(fd)
    return Path(tmp)


def write_tsv(table: pd.DataFrame, path, description: str, columns: dict[str, str] | None = None,
              sources=None) -> None:
    """Write a TSV and its JSON sidecar (BIDS style) atomically and deterministically.

    Parameters
    ----------
    table : DataFrame
        Written without index, floats with up to 10 significant digits.
    path : str or Path
        Destination ``.tsv``; the sidecar is the same name with ``.json``.
    description : str
        What the table holds.
    columns : dict, optional
        Column name -> description (with unit).
    sources : list of str, optional
        Input files the table was derived from.
    """
    path = Path(path)
    tmp = atomic_path(path)
    table.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="n/a",
                 lineterminator="\n")
    sidecar = {"Description": description}
    if columns:
        sidecar["Columns"] = {c: columns.get(c, "") for c in table.columns}
    if sources:
        sidecar["Sources"] = [str(s) for s in sources]
    write_json(sidecar, path.with_suffix(".json"))
    os.replace(tmp, path)


def write_json(obj, path) -> None:
    """Write JSON with sorted keys and a trailing newline, atomically."""
    path = Path(path)
    tmp = atomic_path(path)
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def write_netcdf(ds, path) -> None:
    """Write an xarray Dataset to NetCDF4 (h5netcdf, zlib) atomically.

    Nothing is left at ``path`` if writing fails.
    """
    path = Path(path)
    tmp = atomic_path(path)
    encoding = {}
    for name, var in ds.data_vars.items():
        if var.dtype.kind in "fiub" and var.ndim > 0:
            encoding[name] = {"zlib": True, "complevel": 4}
    try:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
