"""Reader of the Haxby et al. (2001) files as shipped for the PyMVPA tutorial.

Used by the tRSA stage (category RDMs) and the encoding stage (category features -> BOLD).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def require_file(path, what: str) -> Path:
    """`path` as a Path; a ValueError naming `what` and the path when it is not a file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what}: file not found: {path}")
    return path


def read_haxby(bold, mask, attributes):
    """Masked time series, labels and runs of the PyMVPA Haxby 2001 files.

    Parameters
    ----------
    bold, mask : path
        4-D BOLD NIfTI image and the 3-D (or 4-D with one volume) brain mask.
    attributes : path
        Text table, one line per volume: category label and run number.

    Returns
    -------
    timeseries : ndarray, shape (n_volumes, n_voxels)
    labels, runs : ndarray, shape (n_volumes,)
    voxels : ndarray, shape (n_voxels, 3)
        Voxel indices (i, j, k) in the BOLD image.
    tr : float
        Repetition time from the NIfTI header (s).

    Raises
    ------
    ValueError
        A missing or unreadable file, a mask that does not fit the image, or an attributes
        table that is not two columns with one row per volume; the message names the file.
    """
    import nibabel as nib

    bold, mask, attributes = (
        require_file(bold, "BOLD image"),
        require_file(mask, "mask image"),
        require_file(attributes, "attributes table"),
    )
    try:
        img = nib.load(bold)
        data = np.asanyarray(img.dataobj)
        mask_data = np.asanyarray(nib.load(mask).dataobj) > 0
    except Exception as exc:  # nibabel raises many types for damaged files
        raise ValueError(f"cannot read NIfTI image {bold} / {mask}: {exc}") from exc
    if data.ndim != 4 or data.shape[:3] != mask_data.shape[:3]:
        raise ValueError(
            f"BOLD image {bold}: shape {data.shape} does not match mask {mask} shape {mask_data.shape}"
        )
    try:
        table = pd.read_csv(
            attributes, sep=r"\s+", header=None, names=["label", "run"], dtype={"label": str, "run": int}
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(
            f"attributes table {attributes}: expected two columns (label, run) per volume: {exc}"
        ) from exc
    if len(table) != data.shape[3]:
        raise ValueError(
            f"attributes table {attributes}: {len(table)} rows but {bold} has {data.shape[3]} volumes"
        )
    mask3 = mask_data.reshape(mask_data.shape[:3])
    timeseries = data[mask3].T.astype(np.float64)
    tr = float(img.header.get_zooms()[3])
    return timeseries, table["label"].to_numpy(), table["run"].to_numpy(), np.argwhere(mask3), tr
