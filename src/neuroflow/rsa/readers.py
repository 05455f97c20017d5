"""Readers of the identification rule's input: an RDM stack (NetCDF) and the activations
stored beside it."""

from __future__ import annotations

import numpy as np

from neuroflow.io.haxby import require_file as _check_file
from neuroflow.output_schema import is_simulated
from neuroflow.provenance import read_netcdf


def read_rdm_stack(path, variable: str = "rdm"):
    """Read a (subject-like, region-like, pair) RDM stack from NetCDF.

    Returns
    -------
    rdms : ndarray, shape (n_subjects, n_regions, n_pairs)
    dims : tuple of str
    regions : list of str
    simulated : bool
    """
    ds = read_netcdf(_check_file(path, "RDM stack"), "RDM stack")
    if variable not in ds:
        raise ValueError(f"RDM stack {path}: no variable {variable!r}")
    da = ds[variable]
    if da.ndim != 3 or da.dims[2] != "pair":
        raise ValueError(
            f"RDM stack {path}: {variable!r} must have dims (subject, region, pair), got {da.dims}"
        )
    if not np.isfinite(da.values).all():
        raise ValueError(f"RDM stack {path}: {variable!r} holds NaN or infinite values")
    return (
        da.values.astype(float),
        da.dims,
        [str(r) for r in da[da.dims[1]].values],
        is_simulated(ds.attrs, path, absent=False),
    )  # a user's own stack may lack the flag


def read_activations(path, regions):
    """Per-layer activations stored beside the RDMs (simulated networks), or None.

    Returns
    -------
    activations : list of ndarray or None
        One per region of the stack, shape (n_subjects, n_stimuli, n_units).
    rdm_method : str
        The dissimilarity the stack's RDMs were computed with.
    """
    ds = read_netcdf(_check_file(path, "RDM stack"), "RDM stack")
    names = [f"activation_{r}" for r in regions]
    if not all(n in ds for n in names):
        return None, ds.attrs.get("rdm_method", "correlation")
    return ([ds[n].values.astype(float) for n in names], ds.attrs.get("rdm_method", "correlation"))
