"""Task fMRI of a BIDS cohort -> encoding design (events -> denoised BOLD, one run a block).

Its own module so that only the task rules depend on the task-fMRI readers of the rsa stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroflow.encoding.data import _design


def task_fmri_design(
    bolds,
    masks,
    events,
    confounds,
    atlas,
    labels,
    *,
    conditions,
    confounds_strategy: str,
    confounds_options,
    high_pass: float,
    responses: str,
):
    """Events of a subject's task runs -> denoised BOLD (encoding design, one run a block).

    Per run (files as planned by :func:`neuroflow.rsa.inputs.plan_task`): the BOLD inside
    the atlas regions and every run's mask is cleaned with nilearn ``signal.clean``
    (linear detrend, the fMRIPrep confounds of the nilearn ``load_confounds_strategy``
    strategy without their cosine columns, cosine high-pass at ``high_pass`` Hz, z-score
    per run). Features are the fraction of each volume covered by each condition's events
    (:func:`neuroflow.encoding.features.events_boxcar`; the FIR lags of the ridge rule
    model the haemodynamic delay). ``responses``: ``voxels`` (one target per voxel, with
    its region) or ``regions`` (the mean of each region's cleaned voxels).
    """
    if responses not in ("voxels", "regions"):
        raise ValueError(f"config key encoding.task.responses: voxels or regions, got {responses!r}")
    conditions = [str(c) for c in conditions]
    cleaning = TaskCleaning(conditions, confounds_strategy, confounds_options, high_pass, responses)
    idx, voxels, region_of = _atlas_voxels(atlas, labels, masks, bolds[0])
    X, Y, time, run, block = [], [], [], [], []
    trs = set()
    for r, (bold, ev, conf_tsv) in enumerate(zip(bolds, events, confounds, strict=True)):
        tr, feats, cleaned, keep = _clean_run(bold, ev, conf_tsv, voxels, region_of, idx, cleaning)
        trs.add(tr)
        X.append(feats)
        Y.append(cleaned)
        time.append(keep * tr)
        run.append(np.full(len(keep), Path(bold).name.split("_desc-")[0]))
        block.append(np.full(len(keep), r))
    if len(trs) != 1:
        raise ValueError(f"runs with different repetition times {sorted(trs)}: {bolds}")
    tr = trs.pop()
    targets, coords = _targets(idx, voxels, region_of, masks, responses)
    return _design(
        np.concatenate(X),
        np.concatenate(Y),
        time=np.concatenate(time),
        run=np.concatenate(run),
        block=np.concatenate(block),
        feature_names=conditions,
        bands=["events"] * len(conditions),
        target_names=targets,
        target_coords=coords,
        rate=1 / tr,
        response_units="z (BOLD, cleaned and z-scored per run)",
        feature_units="fraction of the volume covered by the condition's events",
        description="task fMRI: events -> denoised BOLD",
    )


@dataclass(frozen=True)
class TaskCleaning:
    """How every task run of a subject is cleaned and described (``encoding.task``)."""

    conditions: list
    confounds_strategy: str
    confounds_options: object
    high_pass: float
    responses: str


def _atlas_voxels(atlas, labels, masks, first_bold):
    """Voxels of each atlas region inside every run's mask: ``{region: flat voxel indices}``
    (empty regions left out), all of them concatenated, and the region of each."""
    from neuroflow.rsa.taskfmri import read_atlas, region_indices

    atlas_img, regions = read_atlas(atlas, labels or None)
    idx, _ = region_indices(atlas_img, regions, masks, first_bold)
    idx = {name: v for name, v in idx.items() if len(v)}
    if not idx:
        raise ValueError(f"atlas {atlas}: no region has a voxel inside the masks")
    voxels = np.concatenate(list(idx.values()))
    region_of = np.concatenate([[name] * len(v) for name, v in idx.items()])
    return idx, voxels, region_of


def _clean_run(bold, ev, conf_tsv, voxels, region_of, idx, cleaning: TaskCleaning):
    """One run: its TR, the event features and the cleaned responses of the kept volumes,
    and the indices of those volumes."""
    import nibabel as nib
    from nilearn.signal import clean

    from neuroflow.encoding.features import events_boxcar
    from neuroflow.rsa.taskfmri import load_confounds, read_events, repetition_time

    tr = repetition_time(bold)
    data = np.asarray(nib.load(bold).dataobj, dtype=np.float32)
    ts = data.reshape(-1, data.shape[3])[voxels].T.astype(float)
    del data
    conf, sample_mask, _ = load_confounds(
        bold, conf_tsv, cleaning.confounds_strategy, cleaning.confounds_options
    )
    keep = np.arange(len(ts)) if sample_mask is None else np.asarray(sample_mask)
    cleaned = clean(
        ts[keep],
        confounds=None if conf is None else conf.to_numpy()[keep],
        detrend=True,
        standardize="zscore_sample",
        high_pass=cleaning.high_pass,
        t_r=tr,
    )
    table, _ = read_events(ev)
    feats = events_boxcar(table, len(ts), tr, cleaning.conditions)[keep]
    if cleaning.responses == "regions":
        cleaned = np.column_stack([cleaned[:, region_of == name].mean(axis=1) for name in idx])
    return tr, feats, cleaned, keep


def _targets(idx, voxels, region_of, masks, responses: str):
    """Target names and coordinates: the regions, or the voxels with their (i, j, k) and region."""
    import nibabel as nib

    if responses == "regions":
        return list(idx), {}
    ijk = np.column_stack(np.unravel_index(voxels, nib.load(masks[0]).shape[:3]))
    targets = [f"voxel{i:06d}" for i in range(len(voxels))]
    coords = {"voxel_i": ijk[:, 0], "voxel_j": ijk[:, 1], "voxel_k": ijk[:, 2], "region": region_of}
    return targets, coords


def task_design_file(
    bolds,
    masks,
    events,
    confounds,
    atlas,
    labels,
    out_nc,
    *,
    conditions,
    entities: dict,
    confounds_strategy: str,
    confounds_options,
    high_pass: float,
    responses: str,
    simulated: bool,
) -> None:
    """:func:`task_fmri_design` of one subject's runs -> NetCDF (the ridge rule's input)."""
    from neuroflow.encoding.outputs import provenance, write_encoding_netcdf

    ds = task_fmri_design(
        bolds,
        masks,
        events,
        confounds,
        atlas,
        labels,
        conditions=conditions,
        confounds_strategy=confounds_strategy,
        confounds_options=confounds_options,
        high_pass=high_pass,
        responses=responses,
    )
    inputs = [p for p in (*bolds, *masks, *events, *confounds, atlas, labels) if p]
    ds.attrs.update(
        provenance(
            inputs,
            {
                "reader": "task",
                "conditions": list(conditions),
                "confounds_strategy": confounds_strategy,
                "confounds_options": confounds_options or {},
                "high_pass_hz": high_pass,
                "responses": responses,
            },
        )
    )
    ds.attrs.update(
        subject=str(entities.get("sub", "")),
        task=str(entities.get("task", "")),
        experiment="task",
        reader="task",
    )
    write_encoding_netcdf(ds, out_nc, simulated=simulated, sources=inputs)
