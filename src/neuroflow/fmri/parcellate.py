"""Region signals of one run and one atlas: CIFTI-2, surface and volumetric extraction, and
the empty regions (no signal under the label) marked n/a."""

from __future__ import annotations

import numpy as np

EMPTY_NOTE = (
    "A region is empty when no voxel / vertex of the run carries signal under it (no "
    "unit, all n/a, or a signal constant over the run, e.g. a region outside the "
    "image's brain mask, which reads as zeros). Its column is n/a (never a constant), "
    "it is left out of the denoised series, and FC drops it from every run."
)


def mark_empty_regions(signals: np.ndarray, regions, n_units) -> tuple[np.ndarray, list, dict]:
    """Set empty regions to NaN and say why.

    Parameters
    ----------
    signals : ndarray, shape (n_volumes, n_regions)
    regions : list of str
    n_units : list of int or None
        Voxels / vertices under each region (None when unknown: ready time series).

    Returns
    -------
    signals : ndarray, shape (n_volumes, n_regions)
        A copy, with every empty region's column NaN.
    empty : list of str
    reasons : dict
        Region -> why it is empty (``no voxel/vertex``, ``all n/a``, ``constant signal``).
    """
    signals = np.array(signals, dtype=np.float64, copy=True)
    empty, reasons = [], {}
    for j, (name, n) in enumerate(zip(regions, n_units)):
        col = signals[:, j]
        if n == 0:
            why = "no voxel/vertex with a non-constant signal"
        elif np.isnan(col).all():
            why = "all n/a in the input"
        elif np.nanmax(col) - np.nanmin(col) <= 1e-12 * max(1.0, float(np.nanmax(np.abs(col)))):
            why = f"constant signal ({float(np.nanmean(col)):g}) over the run"
        else:
            continue
        signals[:, j] = np.nan
        empty.append(str(name))
        reasons[str(name)] = why
    return signals, empty, reasons


def extract_cifti(bold, atlas_name: str, atlas: dict, names: dict, side: dict):
    """Region signals of a CIFTI-2 run: the dlabel mapped onto its grayordinates."""
    from neuroflow.fmri.atlases import check_label_table, cifti_labels_on
    from neuroflow.fmri.images import nonconstant_rows
    from neuroflow.fmri.signals import parcellate_surface

    if not atlas.get("dlabel"):
        raise ValueError(
            f"atlas {atlas_name!r} (fmri.atlases.{atlas_name}) has no CIFTI "
            f"'dlabel' file but {bold.sources[0]} is a CIFTI run"
        )
    labels, table, notes = cifti_labels_on(bold.brain_models, atlas["dlabel"], atlas_name)
    check_label_table(labels, names, atlas.get("labels") or "", atlas["dlabel"], atlas_name, all_listed=False)
    table.update(names)
    mask = nonconstant_rows(bold.data)
    masked = int(((labels != 0) & ~mask).sum())
    signals, regions, n_units = parcellate_surface(bold.data, labels, table, mask)
    side["Extraction"] = (
        "CIFTI-2 dlabel mapped onto the series' grayordinates (by structure and "
        "vertex / voxel); mean over the grayordinates of each label with a "
        "non-constant signal"
    )
    side["GrayordinatesWithoutLabel"] = notes["n_unlabelled"]
    side["StructuresWithoutLabel"] = notes["unlabelled_structures"]
    if notes["unlabelled_structures"]:
        print(
            f"atlas {atlas_name}: no labels for {notes['unlabelled_structures']} of "
            f"{bold.sources[0]} ({notes['n_unlabelled']} grayordinates left out)"
        )
    return signals, regions, n_units, masked, [atlas["dlabel"]]


def extract_surface(bold, atlas_name: str, atlas: dict, names: dict, side: dict):
    """Region signals of a surface run: mean over each label's non-constant vertices."""
    from neuroflow.fmri.atlases import check_label_table, load_surface_atlas
    from neuroflow.fmri.images import nonconstant_rows
    from neuroflow.fmri.signals import parcellate_surface

    if not (atlas.get("left") and atlas.get("right")):
        raise ValueError(
            f"atlas {atlas_name!r} has no left/right surface files but {bold.sources[0]} is a surface run"
        )
    left, right, table = load_surface_atlas(atlas["left"], atlas["right"])
    table.update(names)
    labels = np.concatenate([left, right])
    check_label_table(
        labels, names, atlas.get("labels") or "", f"{atlas['left']} / {atlas['right']}", atlas_name
    )
    if labels.size != bold.data.shape[0]:
        raise ValueError(
            f"atlas {atlas_name!r} ({atlas['left']}) has {labels.size} vertices "
            f"but {bold.sources[0]} has {bold.data.shape[0]}: wrong space?"
        )
    mask = nonconstant_rows(bold.data)
    masked = int(((labels != 0) & ~mask).sum())
    signals, regions, n_units = parcellate_surface(bold.data, labels, table, mask)
    side["Extraction"] = "mean over the vertices of each label with a non-constant signal"
    return signals, regions, n_units, masked, [atlas["left"], atlas["right"]]


def extract_volume(bold, atlas_name: str, atlas: dict, names: dict, side: dict):
    """Region signals of a volumetric run: mean over each label's voxels on the data grid."""
    import nibabel as nib

    from neuroflow.fmri.atlases import check_label_table
    from neuroflow.fmri.signals import parcellate_volume

    if not atlas.get("path"):
        raise ValueError(
            f"atlas {atlas_name!r} has no volumetric 'path' but {bold.sources[0]} is a volumetric run"
        )
    if names:
        check_label_table(
            np.unique(np.asarray(nib.load(atlas["path"]).dataobj).round()),
            names,
            atlas["labels"],
            atlas["path"],
            atlas_name,
        )
    signals, regions, n_units = parcellate_volume(bold.img, atlas["path"], names, data=bold.data)
    side["Extraction"] = (
        "mean over the voxels of each label, the atlas resampled to the data "
        "grid (nearest; as nilearn's NiftiLabelsMasker, strategy mean)"
    )
    return signals, regions, n_units, 0, [atlas["path"]]
