"""Shared writing helpers of the encoding stage: provenance attributes, sidecars, threads.

Outputs are written atomically (NetCDF, TSV + JSON sidecar, PNG) by
:mod:`neuroflow.provenance`; simulated data are labelled as such in every output, and
every doubtful result is listed under ``Warnings`` (sidecar) / ``warnings`` (NetCDF
attribute, JSON list) and printed to the rule's log.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from neuroflow.encoding.variables import variables_of
from neuroflow.output_schema import _caller_step, stamp
from neuroflow.provenance import write_json, write_netcdf
from neuroflow.resources import sha256_file

ENCODING_PACKAGES = (
    "neuroflow",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "h5netcdf",
    "himalaya",
    "scikit-learn",
    "statsmodels",
    "torch",
    "nibabel",
    "pynwb",
)


def check_file(path, what: str) -> Path:
    """``path`` as a Path; ValueError naming it when it is not a file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what}: file not found: {path}")
    return path


def provenance(inputs, params: dict) -> dict:
    """NetCDF attributes: input files with their sha256 and the parameters (the stamp of
    :func:`write_encoding_netcdf` adds versions, ``simulated`` and history)."""
    return {
        "inputs": json.dumps([{"file": Path(f).name, "sha256": sha256_file(f)} for f in inputs]),
        "parameters": json.dumps(params, sort_keys=True, default=str),
    }


def write_encoding_netcdf(ds, path, *, simulated: bool, sources=(), response_units=None) -> None:
    """:func:`neuroflow.provenance.write_netcdf` with the stage's variables and packages."""
    write_netcdf(
        ds,
        path,
        simulated=simulated,
        sources=list(sources),
        packages=ENCODING_PACKAGES,
        variables=variables_of(ds, response_units),
        step=_caller_step(2),
    )


@contextlib.contextmanager
def blas_threads(n: int):
    """Cap BLAS/OpenMP threads (oversubscribed BLAS is slower than one thread).

    threadpoolctl only limits libraries already loaded, so the BLAS-backed modules used
    later (scipy, scikit-learn, himalaya) are imported first.
    """
    import himalaya.ridge  # noqa: F401
    import scipy.linalg  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=max(1, int(n))):
        yield


def warn(warnings: list[str], message: str) -> None:
    """Record a doubtful result and print it to the rule's log."""
    warnings.append(message)
    print(f"neuroflow.encoding: WARNING: {message}", flush=True)


def sidecar(
    path,
    description: str,
    compute: dict,
    sources,
    extra: dict | None = None,
    simulated: bool = False,
    warnings=(),
) -> None:
    """JSON sidecar of a NetCDF output (``<stem>.json``)."""
    if simulated:
        description = f"SIMULATED data. {description}"
    side = {"Description": description, "Compute": compute, "Warnings": list(warnings)}
    side.update(extra or {})
    stamp(side, simulated=simulated, sources=sources, packages=ENCODING_PACKAGES)
    write_json(side, Path(path).with_suffix(".json"))


def add_to_sidecar(tsv_path, compute: dict, extra: dict | None = None, warnings=()) -> None:
    """Add the Compute record, warnings and extra keys to the sidecar of ``write_tsv``."""
    side_path = Path(tsv_path).with_suffix(".json")
    side = json.loads(side_path.read_text())
    side["Compute"] = compute
    side["Warnings"] = list(warnings)
    side.update(extra or {})
    write_json(side, side_path)
