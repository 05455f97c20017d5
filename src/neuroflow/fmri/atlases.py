"""Atlases: surface label resampling (fs_LR 32k -> fsaverage5), loading (GIfTI, CIFTI-2
dlabel), space checks.

The Schaefer 2018 parcellations that BrainSpace 0.3.0 ships are on the conte69 / fs_LR 32k
mesh, not on fsaverage5. :func:`fslr32k_to_fsaverage5_labels` carries them to fsaverage5
with the HCP registration between the two spaces (Van Essen et al. 2012; the spheres of the
HCP ``standard_mesh_atlases``): fsaverage5 vertex *i* is vertex *i* of the icosahedral
fsaverage 164k mesh, whose position in fs_LR space is given by the
``fs_{L,R}-to-fs_LR_fsaverage.{L,R}_LR.spherical_std.164k_fs_{L,R}.surf.gii`` sphere; each
fsaverage5 vertex takes the label of the nearest fs_LR 32k vertex on the unit sphere
(nearest-neighbour label transfer). The result is committed under
``resources/fmri/atlases/`` (GIfTI label files, templateflow-style names).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FSAVERAGE5_N_VERTICES = 10242
FSLR32K_N_VERTICES = 32492
SURFACE_SPACES = {"fsaverage5": FSAVERAGE5_N_VERTICES, "fsLR32k": FSLR32K_N_VERTICES}
#: Vertices per hemisphere of the spaces whose density is a ``den-`` entity.
SURFACE_DENSITIES = {
    ("fsaverage", "10k"): 10242,
    ("fsaverage", "41k"): 40962,
    ("fsaverage", "164k"): 163842,
    ("fsLR", "32k"): FSLR32K_N_VERTICES,
    ("fsLR", "59k"): 59292,
    ("fsLR", "164k"): 163842,
}


def surface_vertices(space: str, den: str = "") -> int | None:
    """Vertices per hemisphere of a surface space (``fsaverage5``, or ``fsLR`` + ``32k``)."""
    return SURFACE_SPACES.get(space) or SURFACE_DENSITIES.get((space, den))


def _unit(xyz: np.ndarray) -> np.ndarray:
    xyz = np.asarray(xyz, dtype=np.float64)
    return xyz / np.linalg.norm(xyz, axis=1, keepdims=True)


def fslr32k_to_fsaverage5_labels(labels_32k, fslr_sphere_32k, fsaverage_in_fslr_164k) -> np.ndarray:
    """Nearest-neighbour transfer of one hemisphere's labels from fs_LR 32k to fsaverage5.

    Parameters
    ----------
    labels_32k : ndarray of int, shape (32492,)
        Labels on the fs_LR 32k mesh (0 = medial wall / unknown).
    fslr_sphere_32k : ndarray, shape (32492, 3)
        Vertex coordinates of the fs_LR 32k sphere (any radius).
    fsaverage_in_fslr_164k : ndarray, shape (163842, 3)
        The fsaverage 164k sphere deformed to fs_LR space (HCP
        ``fs_L-to-fs_LR_fsaverage.L_LR.spherical_std.164k_fs_L.surf.gii``); its first 10242
        vertices are the fsaverage5 vertices.

    Returns
    -------
    ndarray of int32, shape (10242,)
        Label of each fsaverage5 vertex.
    """
    from scipy.spatial import cKDTree

    labels_32k = np.asarray(labels_32k)
    if labels_32k.shape != (FSLR32K_N_VERTICES,) or len(fslr_sphere_32k) != FSLR32K_N_VERTICES:
        raise ValueError(
            f"fs_LR 32k labels and sphere must have {FSLR32K_N_VERTICES} vertices, "
            f"got {labels_32k.shape} and {np.shape(fslr_sphere_32k)}"
        )
    if len(fsaverage_in_fslr_164k) < FSAVERAGE5_N_VERTICES:
        raise ValueError("the deformed fsaverage sphere has fewer than 10242 vertices")
    tree = cKDTree(_unit(fslr_sphere_32k))
    _, nearest = tree.query(_unit(fsaverage_in_fslr_164k[:FSAVERAGE5_N_VERTICES]))
    return labels_32k[nearest].astype(np.int32)


def write_label_gifti(labels, names: dict[int, str], path, hemi: str) -> None:
    """Write one hemisphere's labels as a GIfTI label file (``.label.gii``), atomically.

    Parameters
    ----------
    labels : ndarray of int, shape (n_vertices,)
    names : dict
        Label value -> name; 0 should be the background ("???" / medial wall).
    hemi : {"L", "R"}
    """
    import nibabel as nib

    from neuroflow.provenance import atomic_path

    table = nib.gifti.GiftiLabelTable()
    rng = np.random.default_rng(0)
    for key in sorted(names):
        lab = nib.gifti.GiftiLabel(key=int(key), red=0.0, green=0.0, blue=0.0, alpha=0.0)
        if key:
            lab.red, lab.green, lab.blue = (float(c) for c in rng.uniform(0.1, 0.9, 3))
            lab.alpha = 1.0
        lab.label = names[key]
        table.labels.append(lab)
    arr = nib.gifti.GiftiDataArray(
        np.asarray(labels, dtype=np.int32),
        intent="NIFTI_INTENT_LABEL",
        datatype="NIFTI_TYPE_INT32",
        encoding="GIFTI_ENCODING_B64GZ",
    )
    structure = {"L": "CortexLeft", "R": "CortexRight"}[hemi]
    img = nib.gifti.GiftiImage(
        darrays=[arr],
        labeltable=table,
        meta=nib.gifti.GiftiMetaData({"AnatomicalStructurePrimary": structure}),
    )
    tmp = atomic_path(path, suffix=".label.gii")
    try:
        nib.save(img, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def schaefer_fsaverage5_from_conte69(
    parcellation_csv, fslr_spheres, fsaverage_in_fslr, out_dir, n_parcels: int
) -> list[Path]:
    """Build the fsaverage5 Schaefer label files of one resolution from the conte69 labels.

    Parameters
    ----------
    parcellation_csv : path
        BrainSpace ``schaefer_<n>_conte69.csv`` (64984 integers, left then right).
    fslr_spheres : (path, path)
        fs_LR 32k spheres, left and right.
    fsaverage_in_fslr : (path, path)
        HCP deformed fsaverage 164k spheres (in fs_LR space), left and right.
    out_dir : path
    n_parcels : int

    Returns
    -------
    list of Path
        ``tpl-fsaverage_hemi-{L,R}_den-10k_atlas-Schaefer2018_desc-<n>Parcels_dseg.label.gii``.
    """
    import nibabel as nib

    labels = np.loadtxt(parcellation_csv, dtype=np.int64)
    if labels.size != 2 * FSLR32K_N_VERTICES:
        raise ValueError(f"{parcellation_csv}: expected {2 * FSLR32K_N_VERTICES} labels, got {labels.size}")
    half = n_parcels // 2
    out = []
    for i, hemi in enumerate(("L", "R")):
        lab32 = labels[i * FSLR32K_N_VERTICES : (i + 1) * FSLR32K_N_VERTICES]
        sphere = nib.load(str(fslr_spheres[i])).darrays[0].data
        deformed = nib.load(str(fsaverage_in_fslr[i])).darrays[0].data
        lab5 = fslr32k_to_fsaverage5_labels(lab32, sphere, deformed)
        offset = 0 if hemi == "L" else half
        names = {0: "???"} | {k: f"{hemi}H_{k - offset:03d}" for k in range(1 + offset, half + 1 + offset)}
        missing = sorted(set(names) - {0} - set(np.unique(lab5).tolist()))
        if missing:
            raise ValueError(f"{parcellation_csv}: parcels {missing} vanish on fsaverage5 ({hemi})")
        path = Path(out_dir) / (
            f"tpl-fsaverage_hemi-{hemi}_den-10k_atlas-Schaefer2018_desc-{n_parcels}Parcels_dseg.label.gii"
        )
        write_label_gifti(lab5, names, path, hemi)
        out.append(path)
    return out


# --------------------------------------------------------------------------- loading
def load_surface_atlas(left, right) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Read a pair of GIfTI label files (or .annot / .mgz / 1-D text) of one parcellation.

    Returns
    -------
    left, right : ndarray of int, shape (n_vertices,)
    names : dict
        Label value -> region name (from the GIfTI label table; ``label-<k>`` otherwise).
    """
    labs, names = [], {}
    for path in (left, right):
        lab, table = _read_surface_labels(path)
        labs.append(lab)
        names.update(table)
    for key in set(np.unique(np.concatenate(labs)).tolist()) - set(names):
        names[int(key)] = f"label-{int(key)}"
    return labs[0], labs[1], names


def _read_surface_labels(path) -> tuple[np.ndarray, dict[int, str]]:
    import nibabel as nib

    path = str(path)
    try:
        if path.endswith(".gii") or path.endswith(".gii.gz"):
            img = nib.load(path)
            lab = np.asarray(img.darrays[0].data).astype(np.int64).ravel()
            return lab, {int(k): v for k, v in img.labeltable.get_labels_as_dict().items()}
        if path.endswith(".annot"):
            lab, _, nm = nib.freesurfer.read_annot(path)
            return lab.astype(np.int64), {i: n.decode() for i, n in enumerate(nm)}
        if path.endswith((".mgz", ".mgh", ".nii", ".nii.gz")):
            return np.asarray(nib.load(path).get_fdata()).astype(np.int64).ravel(), {}
        return np.loadtxt(path, dtype=np.int64).ravel(), {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"atlas file {path}: cannot read labels: {exc}") from exc


def check_label_table(
    values, names: dict, labels_tsv, atlas_file, atlas_name: str = "", all_listed: bool = True
) -> None:
    """The indices of an atlas labels table must be the label values of its image.

    Parameters
    ----------
    values : array-like of int
        Label values found in the atlas image (0 = background, ignored).
    names : dict
        Index -> name read from ``labels_tsv`` (an index 0 row, the background, is ignored).
    all_listed : bool
        Also require every (non-zero) index of the table to occur in the image (off for
        CIFTI, where only the grayordinates of the series are seen).

    Raises
    ------
    ValueError
        Naming both files, the values without a name and the indices without a region: a
        table shifted by one (0-based indices for a 1-based image) would otherwise give every
        region its neighbour's name.
    """
    if not names:
        return
    found = {int(v) for v in np.unique(np.asarray(values))} - {0}
    listed = {int(k) for k in names} - {0}
    unnamed = sorted(found - listed)
    unused = sorted(listed - found) if all_listed else []
    if unnamed or unused:
        what = f"atlas {atlas_name!r} " if atlas_name else "atlas "
        parts = []
        if unnamed:
            parts.append(
                f"label value(s) {unnamed[:8]}{' ...' if len(unnamed) > 8 else ''} of "
                f"{atlas_file} have no row in {labels_tsv}"
            )
        if unused:
            parts.append(
                f"index(es) {unused[:8]}{' ...' if len(unused) > 8 else ''} of {labels_tsv} "
                f"do not occur in {atlas_file}"
            )
        raise ValueError(
            f"{what}labels table does not match its image: {'; '.join(parts)} (image "
            f"values {min(found, default=0)}..{max(found, default=0)}, table indices "
            f"{min(listed, default=0)}..{max(listed, default=0)}; an off-by-one "
            "table would mislabel every region). Fix the 'index' column "
            f"(fmri.atlases.{atlas_name or '<name>'}.labels)"
        )


def check_atlas_space(atlas_name: str, atlas_space: str, run_space: str, run_file) -> None:
    """Raise ValueError naming both files when an atlas and a run are in different spaces."""
    if (atlas_space or "") != (run_space or ""):
        raise ValueError(
            f"atlas {atlas_name!r} is in space {atlas_space!r} but {run_file} is in "
            f"space {run_space!r}: choose an atlas in the run's space (or resample "
            "it) and list it under fmri.atlases with that space"
        )


# --------------------------------------------------------------------------- CIFTI-2
def read_cifti(path, first_axis, what: str, where: str = ""):
    """A CIFTI-2 file whose axes are ``first_axis`` x BrainModelAxis: ``(image, first axis,
    brain models)``; a ValueError naming ``where`` (default the path) and ``what`` else."""
    import nibabel as nib

    where = where or str(path)
    try:
        img = nib.load(str(path))
        axis, models = img.header.get_axis(0), img.header.get_axis(1)
    except Exception as exc:  # nibabel raises many kinds
        raise ValueError(f"{where}: cannot read a {what}: {exc}") from exc
    if not isinstance(axis, first_axis) or not isinstance(models, nib.cifti2.BrainModelAxis):
        raise ValueError(
            f"{where}: not a {what} (axes {type(axis).__name__} x "
            f"{type(models).__name__}; expected {first_axis.__name__} x "
            "BrainModelAxis)"
        )
    return img, axis, models


def cifti_labels_on(brain_models, dlabel_path, atlas_name: str = "") -> tuple[np.ndarray, dict, dict]:
    """Labels of a CIFTI-2 ``dlabel`` atlas on the grayordinates of a BOLD series.

    The atlas and the series are matched grayordinate by grayordinate: a surface vertex by
    (structure, vertex index), a voxel by (structure, voxel indices) on the same volume grid;
    the two files need not list the same grayordinates in the same order.

    Parameters
    ----------
    brain_models : nibabel.cifti2.BrainModelAxis
        The grayordinates of the series (its ``dtseries`` axis 1).
    dlabel_path : str
        ``.dlabel.nii`` file (its first map is used); label 0 / ``???`` = no region.

    Returns
    -------
    labels : ndarray of int, shape (n_grayordinates,)
        Label of each grayordinate of the series (0 where the atlas has none).
    names : dict
        Label key -> region name (label 0 left out).
    notes : dict
        ``unlabelled_structures``: structures of the series the atlas does not cover;
        ``n_unlabelled``: grayordinates of the series without a label.

    Raises
    ------
    ValueError
        The file is not a CIFTI-2 dlabel, or a structure's vertex count / voxel grid differs
        from the series' (another density or space), naming the atlas file.
    """
    import nibabel as nib

    where = f"atlas {atlas_name!r} ({dlabel_path})" if atlas_name else f"atlas {dlabel_path}"
    img, label_axis, atlas_models = read_cifti(
        dlabel_path, nib.cifti2.LabelAxis, "CIFTI-2 dlabel file", where
    )
    values = np.asarray(img.dataobj)[0].round().astype(np.int64)
    names = {int(k): str(v[0]) for k, v in label_axis.label[0].items() if int(k) != 0}
    atlas_parts = {name: (slc, bm) for name, slc, bm in atlas_models.iter_structures()}
    out = np.zeros(len(brain_models), dtype=np.int64)
    uncovered = []
    for name, slc, bm in brain_models.iter_structures():
        if name not in atlas_parts:
            uncovered.append(name)
            continue
        aslc, abm = atlas_parts[name]
        avals = values[aslc]
        if bm.surface_mask.all():
            n_bold, n_atlas = bm.nvertices[name], abm.nvertices.get(name)
            if n_bold != n_atlas:
                raise ValueError(
                    f"{where}: {name} has {n_atlas} vertices but the BOLD series has "
                    f"{n_bold}: another surface density (den)"
                )
            full = np.zeros(n_bold, dtype=np.int64)
            full[abm.vertex] = avals
            out[slc] = full[bm.vertex]
        else:
            if tuple(abm.volume_shape) != tuple(brain_models.volume_shape) or not np.allclose(
                abm.affine, brain_models.affine
            ):
                raise ValueError(
                    f"{where}: the volume grid of {name} ({abm.volume_shape}) differs "
                    f"from the BOLD series' ({brain_models.volume_shape}): another "
                    "space or resolution"
                )
            grid = np.zeros(tuple(brain_models.volume_shape), dtype=np.int64)
            grid[tuple(abm.voxel.T)] = avals
            out[slc] = grid[tuple(bm.voxel.T)]
    for key in set(np.unique(out).tolist()) - set(names) - {0}:
        names[int(key)] = f"label-{int(key)}"
    notes = {"unlabelled_structures": uncovered, "n_unlabelled": int((out == 0).sum())}
    return out, names, notes
