"""Reading BOLD runs (NIfTI, GIfTI, MGZ, CIFTI-2 dtseries, ready region time series) with
boundary checks.

Every check raises ``ValueError`` naming the file and what was expected, so that the job of
that run fails alone and its log says why.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuroflow.fmri.atlases import read_cifti, surface_vertices

CIFTI_SUFFIX = ".dtseries.nii"


@dataclass
class Bold:
    """One BOLD run in memory.

    Attributes
    ----------
    kind : {"volume", "surface", "cifti"}
    data : ndarray, shape (n_units, n_volumes)
        Voxels (inside the image's non-constant mask), vertices (left then right) or
        grayordinates (CIFTI, in the file's order).
    t_r : float
        Repetition time in seconds (after the checks of :func:`resolve_t_r`).
    img : nibabel image or None
        The 4D NIfTI (volumes only), for nilearn maskers.
    hemi_sizes : tuple of int
        Vertices per hemisphere (surfaces only).
    brain_models : nibabel.cifti2.BrainModelAxis or None
        The grayordinates (CIFTI only).
    sources : list of str
    t_r_note : str
    """

    kind: str
    data: np.ndarray
    t_r: float
    img: object = None
    hemi_sizes: tuple = ()
    brain_models: object = None
    sources: list = field(default_factory=list)
    t_r_note: str = ""

    @property
    def n_volumes(self) -> int:
        return self.data.shape[1]


def _load_image(path: str):
    """The nibabel image of ``path``, its file read once.

    A gzipped MGZ keeps its TR in a footer after the data, so nibabel decompresses the whole
    file to read the header and again to read the data; here it is decompressed once, into
    memory. Other formats load lazily as usual.

    Raises
    ------
    ValueError
        Naming the file when nibabel cannot read it.
    """
    import nibabel as nib

    try:
        if path.endswith(".mgz"):
            return nib.MGHImage.from_bytes(gzip.decompress(Path(path).read_bytes()))
        return nib.load(path)
    except Exception as exc:  # nibabel and gzip raise many kinds
        raise ValueError(f"{path}: cannot read image: {exc}") from exc


def _mgz_n_volumes(path: str) -> int:
    """Frames of an MGZ from its leading header (no decompression of the data)."""
    from nibabel.freesurfer.mghformat import header_dtype

    try:
        with gzip.open(path, "rb") as fh:
            block = fh.read(header_dtype.itemsize)
        dims = np.frombuffer(block, dtype=header_dtype)[0]["dims"]
    except (OSError, EOFError, ValueError, IndexError) as exc:
        raise ValueError(f"{path}: cannot read image: {exc}") from exc
    return int(dims[3])


def _header_t_r(path: str, img=None):
    """Repetition time (s) stored in an image header, or None (``img``: ``path`` loaded)."""
    import nibabel as nib

    img = _load_image(path) if img is None else img
    if path.endswith(CIFTI_SUFFIX):
        series = img.header.get_axis(0)
        if not isinstance(series, nib.cifti2.SeriesAxis) or series.unit != "SECOND":
            return None
        return float(series.step) if series.step > 0 else None
    if path.endswith((".gii", ".gii.gz")):
        meta = img.darrays[0].meta if img.darrays else {}
        step = meta.get("TimeStep") if meta else None
        return float(step) / 1000.0 if step else None
    if path.endswith((".mgz", ".mgh")):
        tr = float(img.header["tr"])
        return tr / 1000.0 if tr > 0 else None
    zooms = img.header.get_zooms()
    if len(zooms) < 4 or not zooms[3]:
        return None
    unit = img.header.get_xyzt_units()[1]
    return float(zooms[3]) / (1000.0 if unit == "msec" else 1e6 if unit == "usec" else 1.0)


def resolve_t_r(
    bold_path: str,
    bold_json: str = "",
    sheet_t_r: str | float = "",
    source: str = "header",
    tol: float = 1e-3,
    img=None,
) -> tuple[float, str]:
    """Repetition time (s) of a run, cross-checked between header, JSON sidecar and sheet.

    Parameters
    ----------
    source : {"header", "sheet"}
        With ``"sheet"`` the sample sheet's ``t_r`` wins over a disagreeing header (the
        header value is kept in the returned note); a JSON sidecar must still agree.

    Returns
    -------
    t_r : float
    note : str
        How the value was chosen.

    Raises
    ------
    ValueError
        Naming the files when they disagree by more than ``tol`` seconds, or when no TR is known.
    """
    header = _header_t_r(bold_path, img)
    side = None
    if bold_json:
        try:
            side = json.loads(Path(bold_json).read_text()).get("RepetitionTime")
        except (OSError, ValueError) as exc:
            raise ValueError(f"BOLD sidecar {bold_json}: cannot read JSON: {exc}") from exc
        side = float(side) if side is not None else None
    sheet = float(sheet_t_r) if str(sheet_t_r).strip() else None
    if side is not None and header is not None and abs(side - header) > tol:
        raise ValueError(
            f"TR mismatch: the header of {bold_path} says {header:g} s but its "
            f"sidecar {bold_json} says RepetitionTime {side:g} s"
        )
    if sheet is not None and side is not None and abs(sheet - side) > tol:
        raise ValueError(
            f"TR mismatch: the sample sheet says t_r {sheet:g} s but the sidecar "
            f"{bold_json} of {bold_path} says {side:g} s"
        )
    if sheet is not None and header is not None and abs(sheet - header) > tol:
        if source != "sheet":
            raise ValueError(
                f"TR mismatch: the sample sheet says t_r {sheet:g} s but the header "
                f"of {bold_path} says {header:g} s (set t_r_source to 'sheet' in the "
                "sample sheet if the header is known to be wrong)"
            )
        return sheet, f"sample sheet ({sheet:g} s) overrides the header ({header:g} s)"
    for value, note in ((side, "BOLD JSON sidecar"), (sheet, "sample sheet"), (header, "image header")):
        if value is not None:
            if value <= 0:
                raise ValueError(f"{bold_path}: repetition time {value} s from the {note} is not positive")
            return value, note
    raise ValueError(
        f"{bold_path}: no repetition time in the header, no sidecar and no t_r in the sample sheet"
    )


def n_volumes_of(path: str) -> int:
    """Number of volumes of a BOLD file from its header (GIfTI: its data arrays).

    Raises
    ------
    ValueError
        When the file is a single volume (3D image) instead of a series.
    """
    if path.endswith(".mgz"):
        n = _mgz_n_volumes(path)
        if n < 2:
            raise ValueError(f"{path}: a single volume is not a BOLD time series")
        return n
    img = _load_image(path)
    if path.endswith(CIFTI_SUFFIX):
        n = int(img.shape[0]) if len(img.shape) == 2 else 1
    elif path.endswith((".gii", ".gii.gz")):
        n = len(img.darrays) if len(img.darrays) > 1 else int(np.atleast_2d(img.darrays[0].data).shape[-1])
    elif path.endswith((".mgz", ".mgh")):
        n = int(img.shape[-1]) if len(img.shape) == 4 else 1
    else:
        if len(img.shape) != 4:
            raise ValueError(
                f"{path}: image of shape {img.shape} is not 4D; a BOLD series (x, y, z, volumes) is expected"
            )
        n = int(img.shape[3])
    if n < 2:
        raise ValueError(f"{path}: a single volume is not a BOLD time series")
    return n


def nonconstant_rows(data: np.ndarray) -> np.ndarray:
    """Which rows of ``data`` (n_units, n_volumes) vary over time: bool, shape (n_units,).

    Reduces along the memory order of the time-major arrays read here (no temporaries).
    """
    t = data.T
    return t.max(axis=0) > t.min(axis=0)


def _check_finite(data: np.ndarray, path) -> None:
    if np.isfinite(data).all():
        return
    bad = ~np.isfinite(data)
    if bad.any():
        units = int(bad.any(axis=1).sum())
        raise ValueError(
            f"{path}: {int(bad.sum())} non-finite values (NaN/inf) in {units} "
            "voxels/vertices; fix or mask the image before denoising"
        )


def _surface_hemi(path: str, img=None) -> np.ndarray:
    """One hemisphere: ndarray (n_vertices, n_volumes) in the file's dtype and memory order
    (``img``: ``path`` already loaded)."""
    img = _load_image(path) if img is None else img
    if path.endswith((".gii", ".gii.gz")):
        arrays = [np.asarray(d.data) for d in img.darrays]
        data = np.column_stack(arrays) if len(arrays) > 1 else np.atleast_2d(arrays[0])
        if len(arrays) == 1 and data.shape[0] == 1:
            data = data.T
    else:
        data = np.asarray(img.dataobj)  # MGH: (vertices, 1, 1, volumes), Fortran order
        data = data.reshape(data.shape[0], -1, order="F") if data.ndim > 1 else data[:, None]
    if data.ndim != 2 or data.shape[1] < 2:
        raise ValueError(
            f"{path}: expected a BOLD series (vertices x volumes), got shape "
            f"{data.shape}: a single volume is not a time series"
        )
    return data


def _cifti_series(path: str):
    """A CIFTI-2 dense series: data (n_grayordinates, n_volumes) and its BrainModelAxis."""
    import nibabel as nib

    img, _, models = read_cifti(path, nib.cifti2.SeriesAxis, "CIFTI-2 dense time series")
    data = np.asarray(img.dataobj, dtype=np.float64).T
    if data.shape[1] < 2:
        raise ValueError(f"{path}: a single volume is not a BOLD time series")
    return data, models


def load_bold(
    bold: str,
    bold_rh: str = "",
    bold_json: str = "",
    sheet_t_r="",
    t_r_source="header",
    space: str = "",
    tol: float = 1e-3,
    den: str = "",
    all_voxels: bool = False,
) -> Bold:
    """Load a run: a 4D NIfTI, a pair of surface files (GIfTI ``func.gii`` / MGZ), or a
    CIFTI-2 dense series (``.dtseries.nii``). Each file is read once.

    Parameters
    ----------
    all_voxels : bool
        Volumes only: keep every voxel of the grid in ``data`` (in nibabel's Fortran order,
        for label extraction) instead of the non-constant ones.

    Raises
    ------
    ValueError
        3D image where 4D is expected, hemispheres of different lengths, a vertex count that
        does not match the declared space, non-finite values, TR disagreements.
    """
    first = _load_image(bold)
    t_r, note = resolve_t_r(bold, bold_json, sheet_t_r, t_r_source, tol, img=first)
    if bold_rh:
        data, sizes = _surface_pair(bold, bold_rh, first, space, den)
        return Bold("surface", data, t_r, hemi_sizes=sizes, sources=[bold, bold_rh], t_r_note=note)
    if bold.endswith(CIFTI_SUFFIX):
        data, models = _cifti_series(bold)
        _check_finite(data, bold)
        return Bold("cifti", data, t_r, brain_models=models, sources=[bold], t_r_note=note)
    if len(first.shape) != 4 or first.shape[3] < 2:
        raise ValueError(
            f"{bold}: image of shape {first.shape} is not 4D; a BOLD series (x, y, z, volumes) is expected"
        )
    flat = np.asarray(first.dataobj, dtype=np.float64).reshape(-1, first.shape[3], order="F")
    _check_finite(flat, bold)
    if not all_voxels:
        flat = flat[nonconstant_rows(flat)]
    return Bold("volume", flat, t_r, img=first, sources=[bold], t_r_note=note)


def _surface_pair(bold: str, bold_rh: str, left_img, space: str, den: str):
    """Both hemispheres stacked: data (n_vertices, n_volumes) and the vertices per hemisphere."""
    left, right = _surface_hemi(bold, left_img), _surface_hemi(bold_rh)
    if left.shape[1] != right.shape[1]:
        raise ValueError(f"{bold} has {left.shape[1]} volumes but {bold_rh} has {right.shape[1]}")
    expected = surface_vertices(space, den)
    for path, arr in ((bold, left), (bold_rh, right)):
        if expected and arr.shape[0] != expected:
            raise ValueError(
                f"{path}: {arr.shape[0]} vertices, but space {space!r}"
                + (f" den {den!r}" if den else "")
                + f" has {expected}"
            )
    # time-major in memory (one float64 copy, as the files store it); data is its transpose
    data = np.concatenate([left.T, right.T], axis=1, dtype=np.float64).T
    _check_finite(data, f"{bold} / {bold_rh}")
    return data, (left.shape[0], right.shape[0])


def read_region_timeseries(path: str, mat_variable: str = "", labels=None) -> tuple[np.ndarray, list[str]]:
    """Ready region time series: TSV/CSV with a header of region names, or a MATLAB file.

    Parameters
    ----------
    path : str
        ``.tsv`` / ``.csv`` (rows = volumes, columns = regions, header = names) or ``.mat``
        (a 2-D numeric variable ``mat_variable``, or the only 2-D one; regions x volumes is
        assumed when it has fewer rows than columns).
    labels : list of str, optional
        Region names for a ``.mat`` file (default ``region-001`` ...).

    Returns
    -------
    data : ndarray, shape (n_volumes, n_regions)
        A region that is ``n/a`` in every row (XCP-D: too little coverage) stays all-NaN
        (an empty region, listed by the caller); NaN in some rows only is an error.
    names : list of str
    """
    import pandas as pd

    if path.endswith(".mat"):
        data = _read_mat(path, mat_variable)
        if data.shape[0] < data.shape[1]:
            data = data.T
        n = data.shape[1]
        names = list(labels) if labels is not None else [f"region-{i + 1:03d}" for i in range(n)]
        if len(names) != n:
            raise ValueError(f"{path}: {n} regions but the atlas labels list {len(names)} names")
    else:
        sep = "," if path.endswith(".csv") else "\t"
        try:
            table = pd.read_csv(path, sep=sep)
        except (OSError, pd.errors.ParserError) as exc:
            raise ValueError(f"{path}: cannot read region time series: {exc}") from exc
        non_num = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
        if non_num:
            raise ValueError(f"{path}: non-numeric column(s) {non_num[:5]}")
        data, names = table.to_numpy(dtype=np.float64), [str(c) for c in table.columns]
    if data.ndim != 2 or data.shape[0] < 2:
        raise ValueError(f"{path}: expected volumes x regions, got shape {data.shape}")
    empty = np.isnan(data).all(axis=0)
    _check_finite(data[:, ~empty].T, path)
    return data, names


def _read_mat(path: str, variable: str) -> np.ndarray:
    try:
        import scipy.io as sio

        mat = {k: v for k, v in sio.loadmat(path).items() if not k.startswith("__")}
    except NotImplementedError:  # MATLAB v7.3 = HDF5
        import h5py

        with h5py.File(path, "r") as fh:
            mat = {k: np.asarray(fh[k]).T for k in fh if isinstance(fh[k], h5py.Dataset)}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read MATLAB file: {exc}") from exc
    if variable:
        if variable not in mat:
            raise ValueError(f"{path}: no variable {variable!r}; found {sorted(mat)}")
        return np.asarray(mat[variable], dtype=np.float64)
    two_d = [k for k, v in mat.items() if getattr(v, "ndim", 0) == 2 and np.issubdtype(v.dtype, np.number)]
    if len(two_d) != 1:
        raise ValueError(f"{path}: name the variable (mat_variable); 2-D numeric variables: {two_d}")
    return np.asarray(mat[two_d[0]], dtype=np.float64)
