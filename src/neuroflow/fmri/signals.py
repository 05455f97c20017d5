"""Parcellation (region means) and denoising (nilearn.signal.clean) of BOLD signals.

Order of operations follows nilearn's label maskers: region signals are extracted first
(mean over the voxels / vertices of each label), then cleaned with ``signal.clean``
(detrend, confound regression, filtering, standardization, censoring). Because the
extraction is shared by every strategy and the confounds by every atlas, each is computed
once per run; the result equals ``NiftiLabelsMasker(...).fit_transform(img, confounds,
sample_mask)`` (checked in the tests). Region means are one sparse (regions x units) product
over data read once.
"""

from __future__ import annotations

import numpy as np

CLEAN_KEYS = ("detrend", "standardize", "standardize_confounds", "low_pass", "high_pass", "filter")


def _label_means(data: np.ndarray, labels: np.ndarray):
    """Mean of the rows of ``data`` under each non-zero label.

    Parameters
    ----------
    data : ndarray, shape (n_units, n_volumes)
    labels : ndarray of int, shape (n_units,)
        0 = no region.

    Returns
    -------
    means : ndarray, shape (n_volumes, n_regions)
        NaN for a label without any unit.
    ids : list of int
        The labels, sorted.
    counts : ndarray of int, shape (n_regions,)
    """
    ids, inverse = np.unique(labels, return_inverse=True)
    keep = ids != 0
    n_regions = int(keep.sum())
    region = np.where(keep, np.cumsum(keep) - 1, n_regions)[inverse]  # background -> n_regions
    counts = np.bincount(region, minlength=n_regions + 1)[:n_regions]
    by_time = data.T
    if by_time.flags.c_contiguous:  # time-major in memory (as read from the files): one pass a volume
        sums = np.empty((by_time.shape[0], n_regions))
        for t, volume in enumerate(by_time):
            sums[t] = np.bincount(region, weights=volume, minlength=n_regions + 1)[:n_regions]
    else:
        from scipy import sparse

        units = np.flatnonzero(region < n_regions)
        member = sparse.csr_matrix(
            (np.ones(units.size), (region[units], units)), shape=(n_regions, labels.size)
        )
        sums = np.asarray(member @ data).T
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return means, [int(i) for i in ids[keep]], counts


def parcellate_volume(img, atlas_path: str, names: dict | None = None, data: np.ndarray | None = None):
    """Mean BOLD signal of each label of a volumetric atlas (NiftiLabelsMasker's mean).

    As nilearn's ``NiftiLabelsMasker(resampling_target="data", strategy="mean")``: the atlas
    is resampled to the data grid (nearest neighbour) and every voxel under a label counts;
    a label that vanishes on the data grid gives no region.

    Parameters
    ----------
    img : 4D Nifti1Image or path
    atlas_path : str
        Integer label image (0 = background).
    names : dict, optional
        Label value -> region name.
    data : ndarray, shape (n_voxels, n_volumes), optional
        ``img``'s data already read, every voxel of the grid in Fortran order
        (:func:`neuroflow.fmri.images.load_bold` with ``all_voxels=True``).

    Returns
    -------
    signals : ndarray, shape (n_volumes, n_regions)
    labels : list of str
    n_units : list of int
        Voxels per region on the data grid.
    """
    import nibabel as nib
    from nilearn.image import resample_img

    img = nib.load(img) if isinstance(img, (str, bytes)) or hasattr(img, "__fspath__") else img
    atlas = nib.load(atlas_path)
    if len(atlas.shape) != 3:
        raise ValueError(f"atlas {atlas_path}: expected a 3D label image, got shape {atlas.shape}")
    on_grid = resample_img(
        atlas,
        target_affine=img.affine,
        target_shape=img.shape[:3],
        interpolation="nearest",
        copy_header=True,
        force_resample=True,
    )
    lab = np.asarray(on_grid.dataobj).round().astype(np.int64).ravel(order="F")
    if data is None:
        data = np.asarray(img.dataobj, dtype=np.float64).reshape(lab.size, -1, order="F")
    signals, ids, counts = _label_means(data, lab)
    names = names or {}
    return signals, [names.get(i, f"label-{i}") for i in ids], [int(c) for c in counts]


def parcellate_surface(
    data: np.ndarray, labels: np.ndarray, names: dict | None = None, mask: np.ndarray | None = None
):
    """Mean signal over the vertices of each label (the mean of SurfaceLabelsMasker).

    Parameters
    ----------
    data : ndarray, shape (n_vertices, n_volumes)
        Left then right hemisphere.
    labels : ndarray of int, shape (n_vertices,)
        Same vertex order; 0 = background (medial wall).
    mask : ndarray of bool, shape (n_vertices,), optional
        Vertices to use (e.g. those with a non-constant signal).

    Returns
    -------
    signals : ndarray, shape (n_volumes, n_regions)
        NaN for a label whose vertices are all outside ``mask``.
    labels : list of str
    n_units : list of int
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape[0] != data.shape[0]:
        raise ValueError(f"atlas has {labels.shape[0]} vertices but the data have {data.shape[0]}")
    ids = [int(i) for i in np.unique(labels) if i != 0]
    use = labels if mask is None else np.where(mask, labels, 0)
    means, found, counts = _label_means(data, use)
    out = np.full((data.shape[1], len(ids)), np.nan)
    full_counts = np.zeros(len(ids), dtype=np.int64)
    where = np.searchsorted(ids, found)
    out[:, where] = means
    full_counts[where] = counts
    names = names or {}
    return out, [names.get(i, f"label-{i}") for i in ids], [int(c) for c in full_counts]


def denoise(signals: np.ndarray, t_r: float, regressors=None, sample_mask=None, **clean) -> np.ndarray:
    """Clean region (or voxel) signals with ``nilearn.signal.clean``.

    Parameters
    ----------
    signals : ndarray, shape (n_volumes, n_signals)
    t_r : float
        Repetition time (s).
    regressors : ndarray or DataFrame, shape (n_volumes, n_regressors), optional
    sample_mask : ndarray of int, optional
        Volumes kept (censoring); the output has only these rows.
    **clean
        ``detrend``, ``standardize``, ``standardize_confounds``, ``low_pass``, ``high_pass``
        (Hz), ``filter``.

    Returns
    -------
    ndarray, shape (n_kept, n_signals)
    """
    from nilearn import signal

    conf = None
    if regressors is not None and np.shape(regressors)[1] > 0:
        conf = np.asarray(regressors, dtype=np.float64)
    if sample_mask is not None and len(sample_mask) == signals.shape[0]:
        sample_mask = None
    kwargs = {k: clean[k] for k in CLEAN_KEYS if k in clean}
    return signal.clean(
        np.asarray(signals, dtype=np.float64), confounds=conf, sample_mask=sample_mask, t_r=t_r, **kwargs
    )
