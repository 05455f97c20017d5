"""Task fMRI -> run-wise GLM -> condition patterns per region -> crossnobis RDMs.

The route of ``trsa.task`` (planned by :mod:`neuroflow.rsa.inputs`):

1. :func:`glm_run_files`, per run: nilearn ``FirstLevelModel`` on the preprocessed BOLD
   inside the run's brain mask (percent signal change, ``signal_scaling=0``), one regressor
   per trial type of the run's ``events.tsv`` convolved with the HRF, cosine drift terms up
   to ``high_pass``, and the fMRIPrep confounds chosen by a nilearn
   ``load_confounds_strategy`` strategy (its own cosine columns are left out: the GLM's
   drift model is the one high-pass). Writes one beta map per condition (4D NIfTI, a volume
   per condition), the residuals (4D NIfTI) and a JSON sidecar (conditions, TR, residual
   degrees of freedom, design columns, sources).
2. :func:`subject_rdm_file`, per subject: the condition patterns of every atlas region in
   every run, the noise precision of the region from the GLM residuals of all runs
   (rsatoolbox ``prec_from_residuals``) and rsatoolbox's crossnobis RDM with the runs as
   cross-validation folds (:func:`neuroflow.rsa.rdm.crossnobis_rdm`) -> NetCDF with dims
   (region, pair).
3. :func:`stack_rdms_file`, per task/space: the subjects' RDMs stacked as (subject, region,
   pair), the input of :func:`neuroflow.rsa.pipeline.identification_files`.

:func:`task_subject_files` runs 1 and 2 for one subject in one job (the rule's shape).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.bids import BIDSInputError
from neuroflow.output_schema import is_simulated, stamp
from neuroflow.provenance import atomic_write, read_netcdf, write_json
from neuroflow.resources import sha256_file
from neuroflow.rsa.outputs import (
    MODEL_COLUMNS,
    RSA_PACKAGES,
    STAT_COLUMNS,
    provenance_attrs,
    write_rsa_netcdf,
)
from neuroflow.rsa.settings import GLMSettings, statistics_from_config
from neuroflow.rulelog import redirect_to_log

KEY = "trsa.task"


# ----------------------------------------------------------------------------- reading
def read_events(path) -> tuple[pd.DataFrame, list[str]]:
    """Events (onset, duration in s, trial_type) of a BIDS ``events.tsv``; notes on dropped rows."""
    table = pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=False, dtype={"trial_type": str})
    missing = [c for c in ("onset", "duration", "trial_type") if c not in table.columns]
    if missing:
        raise BIDSInputError(
            f"config key {KEY}: events file {path} has no column(s) "
            f"{missing} (columns: {list(table.columns)})"
        )
    notes = []
    bad = table["trial_type"].isna() | table["onset"].isna() | table["duration"].isna()
    if bad.any():
        notes.append(
            f"{Path(path).name}: {int(bad.sum())} event(s) without trial_type, onset "
            "or duration left out of the design"
        )
    events = table.loc[~bad, ["onset", "duration", "trial_type"]].reset_index(drop=True)
    return events, notes


def repetition_time(bold) -> float:
    """TR in s: ``RepetitionTime`` of the BOLD's JSON sidecar, else the NIfTI header."""
    import nibabel as nib

    side = Path(str(bold).removesuffix(".gz").removesuffix(".nii") + ".json")
    if side.is_file():
        tr = json.loads(side.read_text()).get("RepetitionTime")
        if tr:
            return float(tr)
    zooms = nib.load(bold).header.get_zooms()
    if len(zooms) < 4 or not zooms[3] > 0:
        raise BIDSInputError(
            f"config key derivatives: {bold} has no RepetitionTime (no JSON "
            "sidecar and no 4th voxel size in the header)"
        )
    return float(zooms[3])


def load_confounds(bold, confounds_tsv, strategy: str, options: dict | None = None):
    """Confound regressors (nilearn ``load_confounds_strategy``) without cosine drift columns.

    Returns ``(confounds DataFrame or None, sample_mask or None, column names)``.
    """
    if strategy == "none":
        return None, None, []
    if strategy == "fmri":
        return fmri_stage_confounds(confounds_tsv)
    from nilearn.interfaces.fmriprep import load_confounds_strategy
    from nilearn.interfaces.fmriprep.load_confounds_utils import get_confounds_file

    try:
        found = get_confounds_file(str(bold), flag_full_aroma=False, flag_tedana=False)
        conf, sample_mask = load_confounds_strategy(str(bold), denoise_strategy=strategy, **(options or {}))
    except (ValueError, FileNotFoundError) as exc:
        raise BIDSInputError(f"config key {KEY}.confounds: {confounds_tsv}: {exc}") from exc
    if Path(found).resolve() != Path(confounds_tsv).resolve():
        raise BIDSInputError(
            f"config key derivatives: nilearn finds {found} beside {bold}, the plan found {confounds_tsv}"
        )
    conf = conf.loc[:, [c for c in conf.columns if not c.startswith("cosine")]]
    return conf, sample_mask, list(conf.columns)


def fmri_stage_confounds(regressors_tsv):
    """The fMRI stage's regressors of one run and its censoring (``VolumesKept`` of the
    JSON sidecar) as ``(confounds or None, sample_mask or None, column names)``.

    A run that the fMRI stage excluded (its minimum-data rule) stops with the reason.
    """
    from neuroflow.fmri.pipeline import read_regressors

    meta = json.loads(Path(regressors_tsv).with_suffix(".json").read_text())
    if meta.get("Excluded"):
        raise ValueError(
            f"{regressors_tsv}: the fMRI stage excluded this run "
            f"({meta.get('ExclusionReason', 'minimum-data rule')}); leave it out "
            "with the top-level runs / exclude_participant_label keys"
        )
    conf = read_regressors(regressors_tsv)
    conf = conf.loc[:, [c for c in conf.columns if not c.startswith("cosine")]]
    kept = meta.get("VolumesKept")
    n_vols = meta.get("NVolumes", len(conf))
    sample_mask = np.asarray(kept, dtype=int) if kept is not None and len(kept) < n_vols else None
    return (conf if conf.shape[1] else None), sample_mask, list(conf.columns)


# ----------------------------------------------------------------------------- GLM
def fit_run_glm(
    bold,
    mask,
    events: pd.DataFrame,
    conditions,
    *,
    t_r: float,
    confounds=None,
    sample_mask=None,
    hrf_model: str = "spm",
    high_pass: float = 1 / 128,
    noise_model: str = "ar1",
):
    """One run's first-level GLM (nilearn); betas of ``conditions`` and residuals.

    Every trial type of ``events`` gets a regressor (those not in ``conditions`` are
    nuisance). Returns ``(betas, residuals, dof, design)``: betas a 4D image (x, y, z,
    n_conditions) in percent signal change per unit regressor, residuals a 4D image
    (x, y, z, n_volumes), dof the residual degrees of freedom, design the design matrix.
    """
    from nilearn.glm.first_level import FirstLevelModel
    from nilearn.image import concat_imgs

    model = FirstLevelModel(
        t_r=t_r,
        hrf_model=hrf_model,
        drift_model="cosine",
        high_pass=high_pass,
        mask_img=mask,
        noise_model=noise_model,
        signal_scaling=0,
        standardize=False,
        minimize_memory=False,
    )
    model.fit(bold, events=events, confounds=confounds, sample_masks=sample_mask)
    design = model.design_matrices_[0]
    columns = list(design.columns)
    betas = []
    for cond in conditions:
        vec = np.zeros(len(columns))
        vec[columns.index(cond)] = 1.0
        betas.append(model.compute_contrast(vec, output_type="effect_size"))
    dof = int(design.shape[0] - np.linalg.matrix_rank(design.to_numpy()))
    return concat_imgs(betas), model.residuals[0], dof, design


def _save_nifti(img, path) -> None:
    import nibabel as nib

    out = nib.Nifti1Image(np.asarray(img.get_fdata(), dtype=np.float32), img.affine)
    out.header.set_xyzt_units("mm", "sec")
    with atomic_write(path, ".nii.gz") as tmp:
        nib.save(out, tmp)


def _glm_sidecar(
    settings: GLMSettings, conditions, nuisance, t_r, dof, design, conf_columns, notes, out_residuals, inputs
) -> dict:
    """The JSON sidecar of :func:`glm_run_files` (before its provenance stamp)."""
    return {
        "Description": "Run-wise first-level GLM (nilearn FirstLevelModel): one beta map "
        "per condition (volumes in the order of Conditions), percent signal "
        "change per unit regressor.",
        "Conditions": list(conditions),
        "NuisanceTrialTypes": nuisance,
        "RepetitionTime": t_r,
        "ResidualDegreesOfFreedom": dof,
        "NumberOfVolumes": int(design.shape[0]),
        "DesignColumns": list(design.columns),
        "ConfoundColumns": conf_columns,
        "HRFModel": settings.hrf_model,
        "HighPassHz": settings.high_pass,
        "NoiseModel": settings.noise_model,
        "ConfoundsStrategy": settings.confounds_strategy,
        "ConfoundsOptions": settings.confounds_options,
        "Notes": notes,
        "Residuals": Path(out_residuals).name,
        "Sources": [{"file": Path(p).name, "sha256": sha256_file(p)} for p in inputs],
    }


def _fit_checked_glm(bold, mask, confounds, table, conditions, t_r: float, settings: GLMSettings):
    """:func:`fit_run_glm` with the run's confounds; a design without residual degrees of
    freedom raises naming the BOLD file. Returns ``(betas, residuals, dof, design,
    confound columns)``."""
    conf, sample_mask, conf_columns = load_confounds(
        bold, confounds, settings.confounds_strategy, settings.confounds_options
    )
    betas, residuals, dof, design = fit_run_glm(
        bold,
        mask,
        table,
        list(conditions),
        t_r=t_r,
        confounds=conf,
        sample_mask=sample_mask,
        hrf_model=settings.hrf_model,
        high_pass=settings.high_pass,
        noise_model=settings.noise_model,
    )
    if dof < 1:
        raise ValueError(
            f"{bold}: the GLM has {design.shape[1]} columns for "
            f"{design.shape[0]} volumes (no residual degrees of freedom)"
        )
    return betas, residuals, dof, design, conf_columns


def glm_run_files(
    bold,
    mask,
    events,
    confounds,
    out_betas,
    out_residuals,
    out_json,
    *,
    conditions,
    hrf_model: str = "spm",
    high_pass: float = 1 / 128,
    noise_model: str = "ar1",
    confounds_strategy: str = "simple",
    confounds_options: dict | None = None,
    dropped_conditions=(),
    simulated: bool,
) -> None:
    """Run-wise GLM of one run -> beta maps (4D NIfTI), residuals (4D NIfTI), JSON sidecar
    (``simulated``: the user's word on the BOLD data, ``fmri.simulated``)."""
    settings = GLMSettings(hrf_model, high_pass, noise_model, confounds_strategy, confounds_options or {})
    table, notes = read_events(events)
    missing = sorted(set(conditions) - set(table["trial_type"]))
    if missing:
        raise BIDSInputError(f"config key {KEY}.conditions: condition(s) {missing} never occur in {events}")
    t_r = repetition_time(bold)
    betas, residuals, dof, design, conf_columns = _fit_checked_glm(
        bold, mask, confounds, table, conditions, t_r, settings
    )
    nuisance = sorted(set(table["trial_type"]) - set(conditions))
    if dropped_conditions:
        notes.append(
            f"trial types not in every run of the group (nuisance regressors, not "
            f"in the RDM): {list(dropped_conditions)}"
        )
    _save_nifti(betas, out_betas)
    _save_nifti(residuals, out_residuals)
    inputs = [p for p in (bold, mask, events, confounds) if p]
    sidecar = _glm_sidecar(
        settings, conditions, nuisance, t_r, dof, design, conf_columns, notes, out_residuals, inputs
    )
    write_json(
        stamp(
            sidecar,
            simulated=simulated,
            packages=RSA_PACKAGES,
        ),
        out_json,
    )
    for note in notes:
        print(f"note: {note}")


# ----------------------------------------------------------------------------- regions
def read_atlas(image, labels=None) -> tuple[object, list[tuple[int, str]]]:
    """Atlas image and its regions ``[(index, name)]`` (labels TSV: index, name; else all
    non-zero values of the image, named ``<index>``)."""
    import nibabel as nib

    img = nib.load(image)
    values = np.unique(np.asarray(img.dataobj)).astype(int)
    present = [int(v) for v in values if v != 0]
    if labels:
        table = pd.read_csv(labels, sep="\t", dtype={"name": str})
        regions = [(int(i), str(n)) for i, n in zip(table["index"], table["name"]) if int(i) != 0]
        unknown = sorted(set(present) - {i for i, _ in regions})
        if unknown:
            raise BIDSInputError(
                f"config key {KEY}.atlas.labels: values {unknown} of {image} are not in {labels}"
            )
        return img, regions
    return img, [(i, str(i)) for i in present]


def region_indices(atlas_img, regions, masks, reference) -> tuple[dict, list[str]]:
    """Flat voxel indices (C order on the reference grid) of each region inside every mask.

    The atlas is resampled to the reference grid (nearest neighbour) when its grid differs.
    """
    import nibabel as nib
    from nilearn.image import resample_to_img

    notes = []
    ref = nib.load(reference) if isinstance(reference, (str, Path)) else reference
    shape3 = ref.shape[:3]
    if atlas_img.shape[:3] != shape3 or not np.allclose(atlas_img.affine, ref.affine):
        atlas_img = resample_to_img(
            atlas_img, ref, interpolation="nearest", force_resample=True, copy_header=True
        )
        notes.append("atlas resampled to the BOLD grid (nearest neighbour)")
    labels = np.asarray(atlas_img.dataobj).astype(int).reshape(-1)
    inside = np.ones(labels.shape, bool)
    for m in masks:
        mimg = nib.load(m)
        if mimg.shape[:3] != shape3:
            raise ValueError(f"mask {m} has shape {mimg.shape[:3]}, the betas {shape3}")
        inside &= np.asarray(mimg.dataobj).reshape(-1) > 0
    return {name: np.flatnonzero((labels == idx) & inside) for idx, name in regions}, notes


def read_glm_sidecars(glm_jsons, conditions) -> list[dict]:
    """The JSON sidecars of :func:`glm_run_files`; each must hold ``conditions`` (sorted)."""
    sidecars = [json.loads(Path(j).read_text()) for j in glm_jsons]
    for j, side in zip(glm_jsons, sidecars):
        if sorted(side["Conditions"]) != conditions:
            raise ValueError(f"{j}: conditions {side['Conditions']}, expected {conditions}")
    return sidecars


def read_run_patterns(betas, residuals, sidecars, conditions, voxels):
    """The condition patterns and GLM residuals of every run at the flat ``voxels``.

    Returns
    -------
    patterns : ndarray, shape (n_runs, n_conditions, n_voxels)
        Betas in the order of ``conditions``.
    residuals : list of ndarray, each shape (n_volumes, n_voxels)
    dof : int
        Residual degrees of freedom of all runs together.
    """
    import nibabel as nib

    pats = np.empty((len(betas), len(conditions), len(voxels)), dtype=float)
    resid, dof = [], 0
    for r, (b, res, side) in enumerate(zip(betas, residuals, sidecars)):
        order = [side["Conditions"].index(c) for c in conditions]
        data = np.asarray(nib.load(b).dataobj, dtype=float)
        pats[r] = data.reshape(-1, data.shape[3])[voxels][:, order].T
        rdata = np.asarray(nib.load(res).dataobj, dtype=np.float32)
        resid.append(rdata.reshape(-1, rdata.shape[3])[voxels].T.astype(float))
        dof += int(side["ResidualDegreesOfFreedom"])
        del data, rdata
    return pats, resid, dof


def subject_rdm_file(
    betas,
    residuals,
    glm_jsons,
    masks,
    atlas,
    labels,
    out_nc,
    *,
    conditions,
    noise_method: str = "shrinkage_diag",
    entities: dict | None = None,
    min_voxels: int = 2,
) -> None:
    """Crossnobis RDM of every atlas region for one subject (runs = folds) -> NetCDF.

    The NetCDF holds ``rdm`` (region, pair; squared Mahalanobis distance per voxel,
    unbiased), ``n_voxels`` (region) and the conditions of every pair; a region with fewer
    than ``min_voxels`` voxels inside every run's mask has NaN distances (and a note).
    """
    from neuroflow.rsa.rdm import region_crossnobis, region_rdm_dataset

    conditions = sorted(str(c) for c in conditions)
    sidecars = read_glm_sidecars(glm_jsons, conditions)
    atlas_img, regions = read_atlas(atlas, labels)
    idx, notes = region_indices(atlas_img, regions, masks, betas[0])
    all_idx = np.unique(np.concatenate([v for v in idx.values()] or [np.array([], int)]))
    pats, resid, dof = read_run_patterns(betas, residuals, sidecars, conditions, all_idx)
    pos = {v: i for i, v in enumerate(all_idx)}
    columns = [(name, np.array([pos[v] for v in idx[name]], dtype=int)) for _, name in regions]
    rdm, n_vox = region_crossnobis(pats, resid, dof, columns, conditions, noise_method, min_voxels, notes)
    ds = region_rdm_dataset(rdm, n_vox, regions, conditions, [Path(b).name for b in betas], noise_method)
    ds.attrs.update(
        provenance_attrs(
            [*betas, *glm_jsons, atlas, *([labels] if labels else [])],
            {"noise_method": noise_method, "residual_dof": dof, "min_voxels": min_voxels},
        )
    )
    ds.attrs.update({f"entity_{k}": str(v) for k, v in (entities or {}).items()})
    ds.attrs.update(subject=str((entities or {}).get("sub", "")), n_runs=len(betas), notes=json.dumps(notes))
    for note in notes:
        print(f"note: {note}")
    simulated = any(is_simulated(json.loads(Path(j).read_text()), j) for j in glm_jsons)
    write_rsa_netcdf(ds, out_nc, simulated=simulated, sources=betas)


def task_subject_files(files: dict, out: dict, logs: dict, params: dict) -> None:
    """One subject of ``trsa.task`` in one job: the run-wise GLM of every run
    (:func:`glm_run_files`, logged to ``logs["glm"][i]``), then the crossnobis RDM per atlas
    region across those runs (:func:`subject_rdm_file`, logged to ``logs["rdm"]``).

    ``files`` maps ``bold``, ``mask``, ``events`` and ``confounds`` to one path per run
    (``confounds`` empty when the strategy reads none), ``atlas`` and ``labels`` (``""``:
    none) to a path; ``out`` maps ``betas``, ``residuals`` and ``json`` to one path per run
    and ``nc`` to the RDM file; ``params`` holds ``conditions``, ``dropped_conditions``,
    ``entities``, ``noise_method``, ``min_voxels``, ``simulated`` and the GLM settings
    (:meth:`GLMSettings.from_config`).
    """
    glm = GLMSettings.from_config(params)
    conditions = list(params["conditions"])
    n_runs = len(out["betas"])
    confounds = list(files["confounds"]) or [""] * n_runs
    for i in range(n_runs):
        with redirect_to_log(logs["glm"][i]):
            glm_run_files(
                files["bold"][i],
                files["mask"][i],
                files["events"][i],
                confounds[i],
                out["betas"][i],
                out["residuals"][i],
                out["json"][i],
                conditions=conditions,
                hrf_model=glm.hrf_model,
                high_pass=glm.high_pass,
                noise_model=glm.noise_model,
                confounds_strategy=glm.confounds_strategy,
                confounds_options=glm.confounds_options,
                dropped_conditions=list(params["dropped_conditions"]),
                simulated=params["simulated"],
            )
    with redirect_to_log(logs["rdm"]):
        subject_rdm_file(
            list(out["betas"]),
            list(out["residuals"]),
            list(out["json"]),
            list(files["mask"]),
            files["atlas"],
            files["labels"],
            out["nc"],
            conditions=conditions,
            noise_method=params["noise_method"],
            entities=dict(params["entities"]),
            min_voxels=params["min_voxels"],
        )


def stack_rdms_file(rdm_ncs, out_nc) -> None:
    """Stack subjects' region RDMs -> NetCDF ``rdm`` (subject, region, pair).

    Regions whose RDM is NaN in any subject are left out (said in ``notes``); the
    subjects must share conditions and regions.
    """
    import xarray as xr

    arrays, subjects, notes, ref, simulated = [], [], [], None, False
    for path in rdm_ncs:
        ds = read_netcdf(path, "region RDM file")
        simulated = simulated or is_simulated(ds.attrs, path)
        if ref is None:
            ref = ds
        for coord in ("condition", "region"):
            if list(ds[coord].values) != list(ref[coord].values):
                raise ValueError(
                    f"{path}: {coord}s {list(ds[coord].values)} differ from "
                    f"{rdm_ncs[0]}'s {list(ref[coord].values)}"
                )
        arrays.append(ds["rdm"].values)
        subjects.append(ds.attrs.get("subject") or Path(path).name.split("_")[0][4:])
    rdms = np.stack(arrays)
    keep = np.isfinite(rdms).all(axis=(0, 2))
    regions = [str(r) for r in ref["region"].values]
    if not keep.all():
        notes.append(
            f"regions without an RDM in some subject left out: {[r for r, k in zip(regions, keep) if not k]}"
        )
    if keep.sum() < 2:
        raise ValueError(
            f"{out_nc}: {int(keep.sum())} region(s) with an RDM in every subject; identification needs >= 2"
        )
    ds = xr.Dataset(
        {"rdm": (("subject", "region", "pair"), rdms[:, keep])},
        coords={
            "subject": subjects,
            "region": [r for r, k in zip(regions, keep) if k],
            "pair": ref["pair"].values,
            "condition": ref["condition"].values,
            "condition_i": ("pair", ref["condition_i"].values),
            "condition_j": ("pair", ref["condition_j"].values),
        },
    )
    ds["rdm"].attrs.update(ref["rdm"].attrs)
    ds.attrs.update(provenance_attrs(rdm_ncs, {}))
    ds.attrs["notes"] = json.dumps(notes)
    for note in notes:
        print(f"note: {note}")
    write_rsa_netcdf(ds, out_nc, simulated=simulated, sources=rdm_ncs)


def task_models_file(
    rdm_nc,
    out_tsv,
    *,
    models: dict,
    statistics,
    method: str = "corr",
    n_boot: int = 200,
    zero_edges: str = "drop",
    random_state: int = 0,
) -> None:
    """Category models vs every region's RDM of one subject, per statistic -> TSV.

    Reuses :func:`neuroflow.rsa.models.compare_models` (rsatoolbox bootstrap over
    conditions) region by region; regions without an RDM get a row with a note.
    """
    from neuroflow.provenance import write_tsv
    from neuroflow.rsa.models import category_models, compare_models

    stats = statistics_from_config(statistics, "trsa.statistics")
    ds = read_netcdf(rdm_nc, "region RDM file")
    conditions = [str(c) for c in ds["condition"].values]
    model_rdms = category_models(conditions, models, "trsa.task.models")
    tables = []
    for region in ds["region"].values:
        data = ds["rdm"].sel(region=region).values
        if not np.isfinite(data).all():
            tables.append(
                pd.DataFrame({"model": list(model_rdms), "note": "no RDM (too few voxels in the region)"})
            )
        else:
            tables.append(
                compare_models(data, model_rdms, conditions, stats, method, n_boot, zero_edges, random_state)
            )
        tables[-1].insert(0, "region", str(region))
    table = pd.concat(tables, ignore_index=True)
    table.insert(0, "subject", ds.attrs.get("subject", ""))
    write_tsv(
        table,
        out_tsv,
        f"rsatoolbox model comparison of every region's crossnobis RDM with category "
        f"models, per representational statistic (comparison '{method}', {n_boot} "
        "bootstrap samples of conditions).",
        {
            **STAT_COLUMNS,
            **MODEL_COLUMNS,
            "region": "atlas region",
            "note": "why the region has no comparison (n/a: it has one)",
        },
        sources=[Path(rdm_nc).name],
        simulated=is_simulated(ds.attrs, rdm_nc),
    )
