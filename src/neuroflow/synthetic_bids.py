"""A small SIMULATED cohort in real BIDS formats, for the chain tests and the DAG bench.

What a lab's dataset holds, written with the libraries that write such files:
- raw BIDS (``bids_dir``): EEG recordings written by mne-bids (BrainVision; one subject
  with 2 sessions x 2 runs), 3 raw task BOLD runs per subject with ``events.tsv``, and NWB files of spike
  units in a DANDI-like ``sub-*/ses-*/ecephys/`` folder (listed in ``.bidsignore``: the
  BIDS validator has no NWB datatype yet);
- fMRIPrep-style derivatives (``derivatives/fmriprep``): preprocessed task BOLD at
  ``res-1`` and ``res-2``, brain masks, confounds TSV + JSON, and a ``dseg`` atlas in the
  same space; for the first subject also a resting-state run on the surface: an
  fsaverage5 GIfTI pair and a CIFTI-2 ``dtseries`` (with a toy ``dlabel`` atlas on the same
  grayordinates).

Every signal has a known answer: EEG alpha at ``ALPHA_HZ`` over posterior channels, BOLD
condition patterns in atlas region 1 (region 2 is noise), spike trains from known
Poisson rates. The dataset description says the data are simulated.
"""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import numpy as np

TR = 2.0
ALPHA_HZ = 10.0
EEG_SFREQ = 128.0
EEG_CHANNELS = (
    "Fp1",
    "Fp2",
    "F3",
    "F4",
    "Fz",
    "C3",
    "C4",
    "Cz",
    "T7",
    "T8",
    "P3",
    "P4",
    "Pz",
    "O1",
    "O2",
    "Oz",
)
CONDITIONS = ("face", "house", "tool", "animal")
SPACE = "MNI152NLin2009cAsym"
CONFOUND_COLUMNS = (
    "trans_x",
    "trans_y",
    "trans_z",
    "rot_x",
    "rot_y",
    "rot_z",
    "white_matter",
    "csf",
    "global_signal",
    "framewise_displacement",
    "std_dvars",
)


def _json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")


def _tsv(path: Path, columns: dict) -> None:
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(columns).to_csv(path, sep="\t", index=False, na_rep="n/a")


def eeg_raw(rng, seconds: float = 20.0):
    """A 16-channel EEG (V): 1/f background + ``ALPHA_HZ`` alpha, largest posteriorly."""
    import mne

    n = int(seconds * EEG_SFREQ)
    white = rng.standard_normal((len(EEG_CHANNELS), n))
    freqs = np.fft.rfftfreq(n, 1 / EEG_SFREQ)
    shape = 1 / np.maximum(freqs, 1.0)
    data = np.fft.irfft(np.fft.rfft(white, axis=1) * shape, n=n, axis=1)
    data /= data.std(axis=1, keepdims=True)
    t = np.arange(n) / EEG_SFREQ
    # alpha spread by volume conduction: strongest over parietal/occipital sites
    weight = np.array([0.6 if c[0] in "PO" else 0.35 if c[0] in "CT" else 0.2 for c in EEG_CHANNELS])
    alpha = np.sin(2 * np.pi * ALPHA_HZ * t + rng.uniform(0, 2 * np.pi))
    data += 0.5 * weight[:, None] * alpha[None, :]
    info = mne.create_info(list(EEG_CHANNELS), EEG_SFREQ, "eeg")
    raw = mne.io.RawArray(data * 10e-6, info, verbose=False)
    raw.set_montage("colin27_1020", verbose=False)
    raw.set_meas_date(1_600_000_000.0)
    return raw


def _affine(voxel_mm: float) -> np.ndarray:
    aff = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    aff[:3, 3] = -8.0  # both grids start at the same voxel centre: res-2 = res-1[::2]
    return aff


def atlas_image(voxel_mm: float, shape=(8, 8, 8)):
    """Two regions: 1 = the left half's central block, 2 = the right half's (dseg)."""
    import nibabel as nib

    lab = np.zeros(shape, dtype=np.int16)
    lab[1:4, 2:6, 2:6] = 1
    lab[4:7, 2:6, 2:6] = 2
    return nib.Nifti1Image(lab, _affine(voxel_mm))


def task_bold(
    rng, events: list[tuple[float, str]], n_vols: int, patterns: dict, shape=(8, 8, 8), voxel_mm: float = 2.0
):
    """BOLD (n_vols volumes): condition ``patterns`` (region-1 voxel weights) convolved
    with the SPM HRF, plus noise and a slow drift; region 2 and elsewhere noise."""
    from nilearn.glm.first_level import compute_regressor

    frame_times = np.arange(n_vols) * TR
    atlas = np.asarray(atlas_image(voxel_mm, shape).dataobj)
    region1 = atlas == 1
    data = rng.normal(0, 1.0, (*shape, n_vols)) + 100.0
    for cond in CONDITIONS:
        onsets = [on for on, c in events if c == cond]
        cond_matrix = np.array([onsets, [4.0] * len(onsets), [1.0] * len(onsets)])
        reg, _ = compute_regressor(cond_matrix, "spm", frame_times)
        data[region1] += np.outer(patterns[cond], reg[:, 0])
    data += np.linspace(0, 2, n_vols)  # drift
    return _bold_image(data, voxel_mm)


def _bold_image(data, voxel_mm: float):
    """A 4D NIfTI with spatial units mm, time units s and the TR in pixdim[4]."""
    import nibabel as nib

    img = nib.Nifti1Image(np.asarray(data, dtype=np.float32), _affine(voxel_mm))
    img.header.set_xyzt_units("mm", "sec")
    zooms = img.header.get_zooms()
    img.header.set_zooms((*zooms[:3], TR))
    return img


def nwb_units(path: Path, subject: str, session: str, rates_hz, seconds: float, rng) -> None:
    """An NWB file with Poisson spike units (known rates), electrodes and two epochs."""
    from datetime import datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    nwb = NWBFile(
        session_description="SIMULATED Poisson units (neuroflow synthetic cohort)",
        identifier=f"{subject}-{session}",
        session_id=session,
        session_start_time=datetime(2020, 1, 1, tzinfo=UTC),
        subject=Subject(subject_id=subject, species="Mus musculus"),
    )
    device = nwb.create_device(name="probe")
    group = nwb.create_electrode_group("shank0", description="simulated", location="ADN", device=device)
    for _ in rates_hz:
        nwb.add_electrode(group=group, location="ADN")
    for i, rate in enumerate(rates_hz):
        n = rng.poisson(rate * seconds)
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, seconds, n)), electrodes=[i])
    nwb.add_epoch(0.0, seconds / 2, ["sleep"])
    nwb.add_epoch(seconds / 2, seconds, ["wake"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _write_raw_dataset_files(bids: Path, subjects) -> None:
    """The raw dataset's description, README, ``.bidsignore`` and participants table."""
    _json(
        bids / "dataset_description.json",
        {
            "Name": "neuroflow synthetic cohort (SIMULATED)",
            "BIDSVersion": "1.9.0",
            "DatasetType": "raw",
            "License": "CC0",
            "Authors": ["neuroflow"],
            "GeneratedBy": [{"Name": "neuroflow.synthetic_bids"}],
        },
    )
    (bids / "README").write_text("SIMULATED data with known answers (neuroflow tests).\n")
    (bids / ".bidsignore").write_text("*.nwb\n")
    _tsv(
        bids / "participants.tsv",
        {
            "participant_id": [f"sub-{s}" for s in subjects],
            "group": ["a" if i % 2 == 0 else "b" for i in range(len(subjects))],
        },
    )
    _json(bids / "participants.json", {"group": {"Description": "simulated group"}})


def _write_fmriprep_templates(bids: Path, deriv: Path) -> None:
    """The derivatives' description, the task BOLD sidecar and the toy atlas at both
    resolutions with its label table."""
    import nibabel as nib

    _json(
        deriv / "dataset_description.json",
        {
            "Name": "fMRIPrep-style outputs (SIMULATED)",
            "BIDSVersion": "1.9.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "fMRIPrep", "Version": "23.2.1"}],
        },
    )
    _json(bids / "task-objects_bold.json", {"TaskName": "objects", "RepetitionTime": TR})
    for res, mm in (("1", 2.0), ("2", 4.0)):
        shape = (8, 8, 8) if res == "1" else (4, 4, 4)
        nib.save(
            atlas_image(mm, shape) if res == "1" else _downsample_atlas(),
            deriv / f"tpl-{SPACE}_res-{res}_atlas-toy_dseg.nii.gz",
        )
    _tsv(deriv / "tpl-atlas-toy_dseg.tsv", {"index": [1, 2], "name": ["left", "right"]})


def _write_subject_eeg(bids: Path, sub: str, first: bool, rng, eeg_seconds: float) -> None:
    """The subject's resting EEG with mne-bids: 2 sessions x 2 runs for the first subject,
    else 1 x 1."""
    import mne_bids

    sessions = ("1", "2") if first else ("1",)
    runs = ("1", "2") if first else ("1",)
    for ses in sessions:
        for run in runs:
            path = mne_bids.BIDSPath(
                subject=sub, session=ses, task="rest", run=run, datatype="eeg", root=bids
            )
            mne_bids.write_raw_bids(
                eeg_raw(rng, eeg_seconds),
                path,
                format="BrainVision",
                allow_preload=True,
                overwrite=True,
                verbose=False,
            )


def _write_subject_fmri(bids: Path, deriv: Path, sub: str, first: bool, rng, n_vols: int) -> dict:
    """The subject's task runs (and, for the first subject, the surface resting run);
    return the region-1 condition patterns."""
    if first:
        _write_surface_rest_run(deriv, sub, rng, n_vols)
    patterns = {
        c: rng.normal(0, 1.5, int(np.sum(np.asarray(atlas_image(2.0).dataobj) == 1))) for c in CONDITIONS
    }
    for run in ("1", "2", "3"):
        _write_task_run(bids, deriv, sub, run, rng, patterns, n_vols)
    return patterns


def _write_subject_nwb(bids: Path, sub: str, rng) -> np.ndarray:
    """The subject's NWB file of 6 Poisson units; return their rates (Hz)."""
    rates = rng.uniform(2, 20, 6)
    nwb_units(
        bids / f"sub-{sub}" / "ses-1" / "ecephys" / f"sub-{sub}_ses-1_task-rest_ecephys.nwb",
        sub,
        "1",
        rates,
        120.0,
        rng,
    )
    return rates


def write_cohort(
    root,
    subjects=("01", "02"),
    seed: int = 0,
    eeg=True,
    fmri=True,
    nwb=True,
    eeg_seconds: float = 20.0,
    n_vols: int = 48,
) -> dict:
    """Write the cohort under ``root`` (``root/bids``, ``root/bids/derivatives/fmriprep``).

    The first subject has 2 sessions x 2 EEG runs; every other subject 1 session x 1 run.
    Returns ``{"bids_dir", "fmriprep", "truth"}`` (truth: the region-1 condition patterns
    per subject, the spike rates per subject).
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    bids = root / "bids"
    deriv = bids / "derivatives" / "fmriprep"
    _write_raw_dataset_files(bids, subjects)
    truth = {"patterns": {}, "rates": {}}
    if fmri:
        _write_fmriprep_templates(bids, deriv)
    for k, sub in enumerate(subjects):  # one random stream, in this order
        if eeg:
            _write_subject_eeg(bids, sub, k == 0, rng, eeg_seconds)
        if fmri:
            truth["patterns"][sub] = _write_subject_fmri(bids, deriv, sub, k == 0, rng, n_vols)
        if nwb:
            truth["rates"][sub] = _write_subject_nwb(bids, sub, rng)
    return {"bids_dir": bids, "fmriprep": deriv, "truth": truth}


def _cifti_models(for_atlas: bool = False):
    """Grayordinates of the toy CIFTI: 40 vertices per hemisphere (30 in the series) and a
    2x2x2 thalamus; the atlas lists every vertex."""
    import nibabel as nib

    c2 = nib.cifti2
    left = c2.BrainModelAxis.from_surface(np.arange(40 if for_atlas else 30), 40, "CortexLeft")
    right = c2.BrainModelAxis.from_surface(
        np.arange(40) if for_atlas else np.arange(10, 40), 40, "CortexRight"
    )
    vox = np.array(np.nonzero(np.ones((2, 2, 2)))).T + 1
    thal = c2.BrainModelAxis(
        name="CIFTI_STRUCTURE_THALAMUS_LEFT",
        voxel=vox,
        affine=np.diag([2.0, 2.0, 2.0, 1.0]),
        volume_shape=(4, 4, 4),
    )
    return left + right + thal


def _write_surface_rest_run(deriv: Path, sub: str, rng, n_vols: int) -> None:
    """A resting-state run on the surface: fsaverage5 GIfTI pair, CIFTI dtseries (+ the toy
    dlabel atlas, written once), confounds."""
    import nibabel as nib

    c2 = nib.cifti2
    func = deriv / f"sub-{sub}" / "func"
    func.mkdir(parents=True, exist_ok=True)
    pre = f"sub-{sub}_task-rest_run-1"
    for hemi in "LR":
        data = rng.standard_normal((10242, n_vols)).astype(np.float32) + 50
        img = nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(data[:, t]) for t in range(n_vols)])
        nib.save(img, func / f"{pre}_hemi-{hemi}_space-fsaverage5_bold.func.gii")
    _json(func / f"{pre}_space-fsaverage5_bold.json", {"RepetitionTime": TR, "TaskName": "rest"})
    axis = _cifti_models()
    series = rng.standard_normal((n_vols, len(axis))).astype(np.float32) + 10
    img = c2.Cifti2Image(series, header=(c2.SeriesAxis(0, TR, n_vols, "second"), axis))
    img.nifti_header.set_intent("ConnDenseSeries")
    nib.save(img, func / f"{pre}_space-fsLR_den-91k_bold.dtseries.nii")
    _json(func / f"{pre}_space-fsLR_den-91k_bold.dtseries.json", {"RepetitionTime": TR, "TaskName": "rest"})
    conf = {c: rng.normal(0, 0.05, n_vols) for c in CONFOUND_COLUMNS}
    conf["framewise_displacement"] = np.r_[np.nan, np.abs(conf["framewise_displacement"][1:])]
    conf["std_dvars"] = np.r_[np.nan, 1 + np.abs(conf["std_dvars"][1:])]
    _tsv(func / f"{pre}_desc-confounds_timeseries.tsv", conf)
    _json(func / f"{pre}_desc-confounds_timeseries.json", {c: {"Method": "simulated"} for c in conf})
    atlas = deriv / "tpl-fsLR_den-91k_atlas-toy_dseg.dlabel.nii"
    if not atlas.exists():
        axis = _cifti_models(for_atlas=True)
        labels = np.array(
            [
                (1 if v < 20 else 2) if n.endswith("LEFT") and "CORTEX" in n else 3 if "CORTEX" in n else 4
                for n, v in zip(axis.name, axis.vertex)
            ],
            dtype=np.int32,
        )
        table = {
            0: ("???", (0, 0, 0, 0)),
            **{k: (f"region{k}", (k / 4, 0.5, 0.5, 1.0)) for k in (1, 2, 3, 4)},
        }
        lab = c2.Cifti2Image(labels[None, :], header=(c2.LabelAxis(["parcels"], [table]), axis))
        lab.nifti_header.set_intent("ConnDenseLabel")
        nib.save(lab, atlas)


def _downsample_atlas():
    import nibabel as nib

    lab = np.asarray(atlas_image(2.0).dataobj)[::2, ::2, ::2]
    return nib.Nifti1Image(lab.astype(np.int16), _affine(4.0))


def _write_task_run(bids: Path, deriv: Path, sub: str, run: str, rng, patterns, n_vols) -> None:
    import nibabel as nib

    order = [CONDITIONS[i % len(CONDITIONS)] for i in rng.permutation(2 * len(CONDITIONS))]
    events = [(6.0 + 10.0 * i, c) for i, c in enumerate(order)]
    ents = f"sub-{sub}_task-objects_run-{run}"
    func = bids / f"sub-{sub}" / "func"
    _tsv(
        func / f"{ents}_events.tsv",
        {
            "onset": [e[0] for e in events],
            "duration": [4.0] * len(events),
            "trial_type": [e[1] for e in events],
        },
    )
    img = task_bold(rng, events, n_vols, patterns)
    func.mkdir(parents=True, exist_ok=True)
    nib.save(img, func / f"{ents}_bold.nii.gz")
    dfunc = deriv / f"sub-{sub}" / "func"
    dfunc.mkdir(parents=True, exist_ok=True)
    for res in ("1", "2"):
        out = img if res == "1" else _bold_image(np.asarray(img.dataobj)[::2, ::2, ::2], 4.0)
        stem = f"{ents}_space-{SPACE}_res-{res}"
        nib.save(out, dfunc / f"{stem}_desc-preproc_bold.nii.gz")
        _json(dfunc / f"{stem}_desc-preproc_bold.json", {"RepetitionTime": TR, "TaskName": "objects"})
        mask = (np.asarray(out.dataobj).mean(axis=-1) > 0).astype(np.uint8)
        nib.save(nib.Nifti1Image(mask, out.affine), dfunc / f"{stem}_desc-brain_mask.nii.gz")
    conf = {}
    for c in CONFOUND_COLUMNS:
        base = rng.normal(0, 0.05, n_vols)
        conf[c] = base
        if c in ("framewise_displacement", "std_dvars"):
            continue
        deriv = np.r_[np.nan, np.diff(base)]  # fMRIPrep's expansions (nilearn's 'full')
        conf[f"{c}_derivative1"] = deriv
        conf[f"{c}_power2"] = base**2
        conf[f"{c}_derivative1_power2"] = deriv**2
    conf["framewise_displacement"] = np.abs(conf["framewise_displacement"])
    conf["framewise_displacement"][0] = np.nan
    conf["std_dvars"] = 1 + np.abs(conf["std_dvars"])
    conf["std_dvars"][0] = np.nan
    _tsv(dfunc / f"{ents}_desc-confounds_timeseries.tsv", conf)
    _json(dfunc / f"{ents}_desc-confounds_timeseries.json", {c: {"Method": "simulated"} for c in conf})


def _fmri_config(deriv: Path, schaefer: str) -> dict:
    """The fMRI stage on the cohort's derivatives: one strategy, the toy volume atlas, the
    fsaverage5 Schaefer atlas and the toy CIFTI atlas."""
    return {
        "activate": True,
        "simulated": True,
        "min_minutes_kept": 1.0,
        "scan": {"strategies": ["simple"]},
        "strategies": {"simple": {"loader": "simple", "options": {"motion": "basic", "wm_csf": "basic"}}},
        "atlases": {
            "toy": {
                "space": "MNI152NLin2009cAsym",
                "path": str(deriv / "tpl-MNI152NLin2009cAsym_res-1_atlas-toy_dseg.nii.gz"),
                "labels": str(deriv / "tpl-atlas-toy_dseg.tsv"),
            },
            "schaefer100": {
                "space": "fsaverage5",
                "left": schaefer.format(h="L"),
                "right": schaefer.format(h="R"),
            },
            "toycifti": {
                "space": "fsLR",
                "den": "91k",
                "dlabel": str(deriv / "tpl-fsLR_den-91k_atlas-toy_dseg.dlabel.nii"),
            },
        },
    }


def _task_configs(atlas: dict) -> dict:
    """Task fMRI: the fMRI stage's regressors (and censoring) -> run-wise GLM -> RDMs
    (``trsa``) / encoding models (``encoding``)."""
    confounds = {"strategy": "fmri", "fmri_strategy": "simple"}
    return {
        "trsa": {
            "activate": True,
            "task": {"activate": True, "res": "1", "atlas": atlas, "confounds": dict(confounds)},
        },
        "encoding": {
            "activate": True,
            "run": [],
            "attention": {"enabled": False},
            "task": {
                "activate": True,
                "res": "1",
                "atlas": atlas,
                "responses": "regions",
                "confounds": dict(confounds),
                "permutation": {"n": 50},
            },
        },
    }


def _fc_config() -> dict:
    """FC benchmarks on the BOLD and EEG of the cohort; two subjects are too few for the
    held-out protocol (>= 4), so the in-sample one."""
    return {
        "activate": True,
        "regions": "all",
        "tasks": ["subject_id"],
        "protocol": "insample",
        "operators": ["corr_empirical", "spearman"],
        "selectors": ["random"],
        "fractions": [0.5],
        "seeds": 1,
        "window_length": 16,
        "window_stride": 8,
        "benchmarks": {
            "bold": {"source": "fmri", "filters": {"atlas": "toy", "strategy": "simple", "res": "1"}},
            "eeg": {"source": "eeg", "window_length": 256, "window_stride": 256},
        },
    }


def cohort_config(cohort: dict, atlas_dir=None, out=None) -> dict:
    """A config running every stage that applies to a :func:`write_cohort` cohort, wired to
    each other and sized for a test (``atlas_dir``: the workflow's ``resources/fmri/atlases``,
    for the fsaverage5 Schaefer atlas; default that of this checkout)."""
    from neuroflow.workflow_files import workflow_root

    atlas_dir = Path(atlas_dir or workflow_root() / "resources/fmri/atlases")
    schaefer = str(
        atlas_dir / "tpl-fsaverage_hemi-{h}_den-10k_atlas-Schaefer2018_desc-100Parcels_dseg.label.gii"
    )
    deriv = cohort["fmriprep"]
    atlas = {
        "image": str(deriv / "tpl-MNI152NLin2009cAsym_res-1_atlas-toy_dseg.nii.gz"),
        "labels": str(deriv / "tpl-atlas-toy_dseg.tsv"),
    }
    cfg = {
        "bids_dir": str(cohort["bids_dir"]),
        "derivatives": [str(deriv)],
        "fmri": _fmri_config(deriv, schaefer),
        "eeg": {"activate": True, "bids": {"simulated": True}},
        "activity": {
            "activate": True,
            "bids": {"activate": True, "simulated": True},
            "counts": {"bin_width": 2.0},
        },
        "bicluster": {
            "activate": True,
            "chains": 2,
            "sampler": {"n_iter": 20, "burn_in": 10, "state_warmup": 5},
        },
        **_task_configs(atlas),
        "fc": _fc_config(),
    }
    if out is not None:
        cfg["results_dir"] = str(out)
    return cfg
