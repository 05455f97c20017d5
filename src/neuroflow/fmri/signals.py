"""Parcellation (region means) and denoising (nilearn.signal.clean) of BOLD signals.

Order of operations follows nilearn's label maskers: region signals are extracted first
(mean over the voxels / vertices of each label), then cleaned with ``signal.clean``
(detrend, confound regression, filtering, standardization, censoring). Because the
extraction is shared by every strategy and the confounds by every atlas, each is computed
once per run; the result equals ``NiftiLabelsMasker(...).fit_transform(img, confounds,
sample_mask)`` (checked in the tests).
"""

from __future__ import annotations

import numpy as np

CLEAN_KEYS = ("detrend", "standardize", "standardize_confounds", "low_pass", "high_pass", "filter")


def parcellate_volume(img, atlas_path: str, names: dict | None = None):
    """Mean BOLD signal of each label of a volumetric atlas (nilearn NiftiLabelsMasker).

    Parameters
    ----------
    img : 4D Nifti1Image or path
    atlas_path : str
        Integer label image (0 = background), resampled to the data grid (nearest) by
        nilearn when the grids differ.
    names : dict, optional
        Label value -> region name.

    Returns
    -------
    signals : ndarray, shape (n_volumes, n_regions)
    labels : list of str
    n_units : list of int
        Voxels per region on the data grid.
    """
    import nibabel as nib
    from nilearn.image import resample_to_img
    from nilearn.maskers import NiftiLabelsMasker

    atlas = nib.load(atlas_path)
    if len(atlas.shape) != 3:
        raise ValueError(f"atlas {atlas_path}: expected a 3D label image, got shape {atlas.shape}")
    masker = NiftiLabelsMasker(labels_img=atlas, standardize=None, detrend=False,
                               resampling_target="data", strategy="mean", keep_masked_labels=False,
                               dtype="float64")
    signals = masker.fit_transform(img)
    on_grid = resample_to_img(atlas, img, interpolation="nearest", copy_header=True,
                              force_resample=True)
    lab = np.asarray(on_grid.dataobj).astype(np.int64).ravel()
    ids = [int(i) for i in np.unique(lab) if i != 0]
    if len(ids) != signals.shape[1]:
        raise ValueError(f"atlas {atlas_path}: {len(ids)} labels on the data grid but nilearn "
                         f"returned {signals.shape[1]} signals")
    names = names or {}
    counts = np.bincount(lab)
    return (np.asarray(signals, dtype=np.float64), [names.get(i, f"label-{i}") for i in ids],
            [int(counts[i]) for i in ids])


def parcellate_surface(data: np.ndarray, labels: np.ndarray, names: dict | None = None,
                       mask: np.ndarray | None = None):
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
    labels : list of str
    n_units : list of int
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape[0] != data.shape[0]:
        raise ValueError(f"atlas has {labels.shape[0]} vertices but the data have {data.shape[0]}")
    ids = [int(i) for i in np.unique(labels) if i != 0]
    use = labels.copy()
    if mask is not None:
        use[~mask] = 0
    index = np.searchsorted(ids, use)
    valid = use != 0
    counts = np.bincount(index[valid], minlength=len(ids)).astype(np.float64)
    sums = np.zeros((len(ids), data.shape[1]))
    np.add.at(sums, index[valid], data[valid])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    names = names or {}
    return means.T, [names.get(i, f"label-{i}") for i in ids], [int(c) for c in counts]


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
    return signal.clean(np.asarray(signals, dtype=np.float64), confounds=conf, sample_mask=sample_mask,
                        t_r=t_r, **kwargs)
