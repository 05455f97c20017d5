"""Provenance helpers: checksums, package versions, deterministic file writing."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import pandas as pd

from neuroflow.output_schema import (
    _caller_step,
    apply_variables,
    bids_defined,
    check_dataset,
    stamp,
    tabular_sidecar,
)

DEFAULT_PACKAGES = ("neuroflow", "numpy", "pandas", "xarray", "h5netcdf", "scipy")


def package_versions(packages=DEFAULT_PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (``"not installed"`` where absent).

    neuroflow's own entry carries the commit and a dirty flag in a checkout
    (``0.1.0+g<commit>[.dirty]``, :func:`neuroflow.codestamp.code_version`). Read once per
    process (installed versions do not change within a job; every write stamps them).
    """
    return dict(_package_versions(tuple(packages)))


@functools.cache
def _package_versions(packages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    from neuroflow.codestamp import code_version

    out = []
    for name in packages:
        if name == "neuroflow":
            out.append((name, code_version()["label"]))
            continue
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


@functools.cache
def process_umask() -> int:
    """The umask of this process, read once.

    Linux reports it in ``/proc/self/status``; elsewhere it is read by setting it and
    putting it back at once (``os.umask`` has no read-only form), which is why the answer
    is cached rather than read at every write.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode a new file gets under this process's umask (``0o666 & ~umask``: 0644 for 022)."""
    return 0o666 & ~process_umask()


def atomic_path(final: Path | str, suffix: str = ".part") -> Path:
    """Return a new, empty temporary sibling of `final` with the umask's file mode.

    Write there, then ``os.replace`` it onto `final`; the mode is that of an ordinary new
    file (``mkstemp`` alone gives 0600 whatever the umask, which locks the group out).
    Prefer :func:`atomic_write`, which also removes the temporary file if writing fails.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix, dir=final.parent)
    try:
        os.fchmod(fd, file_mode())
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return Path(tmp)


@contextmanager
def atomic_write(final: Path | str, suffix: str = ".part") -> Iterator[Path]:
    """Context manager: yield a temporary sibling path; on success it replaces `final`.

    The file gets the umask's mode (:func:`file_mode`, set again after writing in case the
    writer recreated it). If the body raises, the temporary file is removed and `final` is
    left as it was (absent, or the previous complete version).
    """
    final = Path(final)
    tmp = atomic_path(final, suffix)
    try:
        yield tmp
        os.chmod(tmp, file_mode())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_tsv(
    table: pd.DataFrame,
    path,
    description: str,
    columns: dict | None = None,
    sources=None,
    *,
    simulated: bool,
    packages=None,
) -> None:
    """Write a TSV and its BIDS tabular JSON sidecar atomically and deterministically.

    Parameters
    ----------
    table : DataFrame
        Written without index, floats with up to 10 significant digits; a boolean
        ``simulated`` column is written ``true``/``false``.
    path : str or Path
        Destination ``.tsv``; the sidecar is the same name with ``.json``.
    description : str
        What the table holds (sidecar key ``TableDescription``).
    columns : dict
        Every column -> its description (str) or ``{"Description", "Units", "Levels"}``;
        a column without a non-empty description raises naming it
        (:func:`neuroflow.output_schema.tabular_sidecar`).
    sources : list of str, optional
        Input files the table was derived from (their names go under ``Sources``).
    simulated : bool
        The table derives from simulated data (sidecar ``"Simulated": true|false``).
    packages : iterable of str, optional
        Packages whose versions are recorded beside the defaults.

    A table BIDS defines (``*_channels.tsv``, ...) gets column objects only in its sidecar
    (:data:`neuroflow.output_schema.BIDS_DEFINED_TABLES`).
    """
    path = Path(path)
    sidecar = tabular_sidecar(table.columns, path, description, columns)
    if bids_defined(path):  # column objects only: BIDS checks every key of these sidecars
        sidecar.pop("TableDescription")
    else:
        stamp(sidecar, simulated=simulated, sources=sources or [], packages=packages, step=_caller_step(2))
    if "simulated" in table.columns and table["simulated"].dtype == bool:
        table = table.assign(simulated=table["simulated"].map({True: "true", False: "false"}))
    with atomic_write(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="n/a", lineterminator="\n")
        write_json(sidecar, path.with_suffix(".json"))


def write_json(obj, path) -> None:
    """Write JSON with sorted keys and a trailing newline, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def write_netcdf(
    ds, path, *, simulated: bool, variables=None, sources=None, packages=None, step: str | None = None
) -> None:
    """Write an xarray Dataset to NetCDF4 (h5netcdf, zlib) atomically, with the one stamp.

    Parameters
    ----------
    ds : xarray.Dataset
        Not modified (a shallow copy is stamped).
    path : str or Path
    simulated : bool
        Written as the int8 global attribute ``simulated`` (1 simulated, 0 recorded).
    variables : dict, optional
        ``{name: (long_name, units)}`` for variables and coordinates that do not carry
        them yet. Every variable and coordinate must end with a ``long_name`` and a unit
        expression (``"1"`` dimensionless, ``"count"``, ``"s"``, ``"Hz"``, ...); text labels
        get ``"1"``. A missing one raises naming the variable and ``path`` (nothing is
        written).
    sources, packages, step
        As :func:`neuroflow.output_schema.stamp` (``step`` defaults to the caller).

    Nothing is left at ``path`` if writing fails.
    """
    ds = apply_variables(ds.copy(), variables)
    stamp(ds, simulated=simulated, sources=sources, packages=packages, step=step or _caller_step(2))
    check_dataset(ds, path)
    encoding = {}
    for name, var in ds.data_vars.items():
        if var.dtype.kind in "fiub" and var.ndim > 0:
            encoding[name] = {"zlib": True, "complevel": 4}
    with atomic_write(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)


def read_netcdf(path, what: str = "NetCDF file"):
    """Read a NetCDF file into memory (the one reader every stage uses).

    NetCDF4/HDF5 files are read with h5netcdf; classic NetCDF3 files (``CDF`` signature,
    e.g. written by scipy or older tools) with scipy's reader. A missing file or another
    format raises naming ``path``.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: file not found: {path}")
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"CDF"):
        engine = "scipy"
    elif magic == b"\x89HDF\r\n\x1a\n":
        engine = "h5netcdf"
    else:
        raise ValueError(
            f"{what}: {path} is not a NetCDF file (neither the NetCDF3 'CDF' nor the NetCDF4/HDF5 signature)"
        )
    with xr.open_dataset(path, engine=engine) as ds:
        return ds.load()
