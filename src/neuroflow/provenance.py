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

DEFAULT_PACKAGES = ("neuroflow", "numpy", "pandas", "xarray", "h5netcdf", "scipy")


def package_versions(packages=DEFAULT_PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (``"not installed"`` where absent).

    neuroflow's own entry carries the commit and a dirty flag in a checkout
    (``0.1.0+g<commit>[.dirty]``, :func:`neuroflow.codestamp.code_version`).
    """
    from neuroflow.codestamp import code_version

    out = {}
    for name in packages:
        if name == "neuroflow":
            out[name] = code_version()["label"]
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


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
    sidecar = {"Description": description}
    if columns:
        sidecar["Columns"] = {c: columns.get(c, "") for c in table.columns}
    if sources:
        sidecar["Sources"] = [str(s) for s in sources]
    with atomic_write(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="n/a",
                     lineterminator="\n")
        write_json(sidecar, path.with_suffix(".json"))


def write_json(obj, path) -> None:
    """Write JSON with sorted keys and a trailing newline, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def write_netcdf(ds, path) -> None:
    """Write an xarray Dataset to NetCDF4 (h5netcdf, zlib) atomically.

    Nothing is left at ``path`` if writing fails.
    """
    encoding = {}
    for name, var in ds.data_vars.items():
        if var.dtype.kind in "fiub" and var.ndim > 0:
            encoding[name] = {"zlib": True, "complevel": 4}
    with atomic_write(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
