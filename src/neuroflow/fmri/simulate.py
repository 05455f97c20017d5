"""A tiny simulated fMRIPrep derivatives tree with known ground truth (tests, bench).

Every file name, column and sidecar follows fMRIPrep >= 20.2: the BOLD series
``*_space-<space>_desc-preproc_bold.nii.gz`` with its JSON (``RepetitionTime``), the brain
mask, and ``*_desc-confounds_timeseries.tsv`` + ``.json`` (motion with derivatives and
powers, white matter / CSF / global signals, framewise displacement, DVARS, cosine drift
terms, non-steady-state outliers). The data are SIMULATED: each region of a slab atlas has its
own AR(1) signal; a confound signal (``trans_x``, and the white-matter signal) is added to
every voxel with a known weight.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SPACE = "MNI152NLin2009cAsym"


def _ar1(rng, n, phi=0.6):
    x = np.zeros(n)
    e = rng.standard_normal(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def make_atlas(path, shape=(8, 8, 6), n_regions=3, affine=None) -> Path:
    """Slab atlas: the x axis split into ``n_regions`` equal slabs (labels 1..n)."""
    import nibabel as nib

    affine = np.diag([3.0, 3.0, 3.0, 1.0]) if affine is None else affine
    lab = np.zeros(shape, dtype=np.int16)
    edges = np.linspace(0, shape[0], n_regions + 1).round().astype(int)
    for k in range(n_regions):
        lab[edges[k] : edges[k + 1]] = k + 1
    lab[:, :, 0] = 0  # a background slice
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(lab, affine), path)
    return path


def write_description(root, name: str = "fMRIPrep") -> Path:
    """The ``dataset_description.json`` of a simulated derivatives folder (kept if present)."""
    path = Path(root) / "dataset_description.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "Name": f"SIMULATED {name} derivatives (neuroflow.fmri.simulate)",
                    "BIDSVersion": "1.9.0",
                    "DatasetType": "derivative",
                    "GeneratedBy": [{"Name": name, "Description": "simulated by neuroflow"}],
                },
                indent=1,
            )
        )
    return path


def make_fmriprep_run(
    root,
    sub="01",
    task="rest",
    run="1",
    n_volumes=120,
    t_r=2.0,
    shape=(8, 8, 6),
    n_regions=3,
    confound_weight=3.0,
    high_motion=(),
    random_state=0,
    space=SPACE,
) -> dict:
    """Write one simulated fMRIPrep run under ``root``; return its paths and ground truth.

    Parameters
    ----------
    high_motion : sequence of int
        Volumes given a framewise displacement of 1.2 mm (scrubbed at 0.5 mm).
    confound_weight : float
        Weight of the planted confound (``trans_x``, in data units per unit of regressor).

    Returns
    -------
    dict
        ``bold``, ``confounds``, ``bold_json``, ``mask``, ``planted`` (the planted confound,
        shape (n_volumes,)), ``regions`` (true region signals, (n_volumes, n_regions)),
        ``labels`` (3D label array), ``affine``.
    """
    import nibabel as nib

    rng = np.random.default_rng(random_state)
    write_description(root)
    func = Path(root) / f"sub-{sub}" / "func"
    func.mkdir(parents=True, exist_ok=True)
    prefix = f"sub-{sub}_task-{task}_run-{run}"
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    labels = np.asarray(nib.load(make_atlas(func.parent / "atlas_tmp.nii.gz", shape, n_regions)).dataobj)
    (func.parent / "atlas_tmp.nii.gz").unlink()
    sim = _simulate_signals(rng, labels, shape, n_volumes, n_regions, confound_weight)
    regions, motion, planted, wm, csf, data = sim
    bold, bold_json = _write_bold(func, prefix, space, data, affine, shape, t_r)
    table = _confounds_table(motion, wm, csf, data, n_volumes, high_motion)
    confounds = func / f"{prefix}_desc-confounds_timeseries.tsv"
    table.to_csv(confounds, sep="\t", index=False, na_rep="n/a", float_format="%.8g")
    confounds.with_suffix(".json").write_text(json.dumps({}))
    return {
        "bold": str(bold),
        "confounds": str(confounds),
        "bold_json": str(bold_json),
        "planted": planted,
        "regions": regions,
        "labels": labels,
        "affine": affine,
    }


def _simulate_signals(rng, labels, shape, n_volumes, n_regions, confound_weight):
    """Region signals (AR(1)), motion, the planted confound, white-matter and CSF signals,
    and the voxel data (region signal + noise + planted confounds + 100)."""
    regions = np.column_stack([_ar1(rng, n_volumes) for _ in range(n_regions)])
    motion = np.column_stack([np.cumsum(rng.normal(0, 0.05, n_volumes)) for _ in range(6)])
    motion[:, 3:] *= 0.01  # radians
    planted = motion[:, 0] - motion[:, 0].mean()
    wm = _ar1(rng, n_volumes, 0.3)
    csf = _ar1(rng, n_volumes, 0.3)
    data = np.zeros((*shape, n_volumes))
    for k in range(n_regions):
        vox = labels == k + 1
        noise = rng.normal(0, 0.3, (int(vox.sum()), n_volumes))
        data[vox] = regions[:, k][None, :] + noise
    data[labels == 0] = rng.normal(0, 0.3, (int((labels == 0).sum()), n_volumes))
    data += confound_weight * planted + 0.5 * wm
    data += 100.0
    return regions, motion, planted, wm, csf, data


def _write_bold(func: Path, prefix: str, space: str, data, affine, shape, t_r: float):
    """The preprocessed BOLD series, its brain mask and its JSON sidecar."""
    import nibabel as nib

    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = t_r
    bold = func / f"{prefix}_space-{space}_desc-preproc_bold.nii.gz"
    nib.save(img, bold)
    nib.save(
        nib.Nifti1Image(np.ones(shape, np.uint8), affine),
        func / f"{prefix}_space-{space}_desc-brain_mask.nii.gz",
    )
    bold_json = bold.with_name(bold.name.replace(".nii.gz", ".json"))
    bold_json.write_text(json.dumps({"RepetitionTime": t_r, "SkullStripped": False}))
    return bold, bold_json


def _confounds_table(motion, wm, csf, data, n_volumes: int, high_motion) -> pd.DataFrame:
    """fMRIPrep's confounds columns: motion with derivatives and powers, tissue and global
    signals, FD (``high_motion`` volumes at 1.2 mm), DVARS, cosine drift terms."""
    names = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    conf = {n: motion[:, i] for i, n in enumerate(names)}
    for n in names:
        d = np.concatenate([[np.nan], np.diff(conf[n])])
        conf[f"{n}_derivative1"] = d
        conf[f"{n}_power2"] = conf[n] ** 2
        conf[f"{n}_derivative1_power2"] = d**2
    gs = data.reshape(-1, n_volumes).mean(0)
    for n, sig in (("white_matter", wm), ("csf", csf), ("global_signal", gs)):
        conf[n] = sig
        conf[f"{n}_derivative1"] = np.concatenate([[np.nan], np.diff(sig)])
        conf[f"{n}_power2"] = sig**2
        conf[f"{n}_derivative1_power2"] = conf[f"{n}_derivative1"] ** 2
    fd = np.concatenate(
        [
            [np.nan],
            np.abs(np.diff(motion[:, :3], axis=0)).sum(1)
            + 50 * np.abs(np.diff(motion[:, 3:], axis=0)).sum(1),
        ]
    )
    fd[list(high_motion)] = 1.2
    conf["framewise_displacement"] = fd
    conf["std_dvars"] = np.concatenate([[np.nan], np.full(n_volumes - 1, 1.0)])
    conf["dvars"] = conf["std_dvars"] * 10
    t = np.arange(n_volumes)
    for k in range(3):
        conf[f"cosine{k:02d}"] = np.sqrt(2.0 / n_volumes) * np.cos(np.pi * (t + 0.5) * (k + 1) / n_volumes)
    return pd.DataFrame(conf)
