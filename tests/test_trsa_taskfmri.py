"""trsa.task: task fMRI (BIDS + fMRIPrep-style derivatives) -> GLM -> region crossnobis RDMs.

A tiny synthetic dataset with a known answer: 4 conditions whose voxel patterns in region 1
sit at known points of a plane (so their pattern distances are known), and no condition
signal at all in region 2 (its crossnobis distances must be ~0 on average: unbiased).
"""

import gc
import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from neuroflow.bids import BIDSInputError
from neuroflow.rsa.inputs import plan_task

ROOT = Path(__file__).resolve().parents[1]
TASK_DEFAULTS = {
    "activate": True,
    "space": "",
    "res": "",
    "conditions": [],
    "hrf_model": "spm",
    "high_pass": 1 / 128,
    "noise_model": "ar1",
    "noise_method": "shrinkage_diag",
    "confounds": {"strategy": "simple", "options": {}},
    "min_runs": 2,
    "min_voxels": 10,
}
CONDITIONS = ["bottle", "chair", "face", "house"]
#: condition -> point of the plane spanned by two voxel patterns (distinct distances)
POINTS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
SHAPE, TR, N_VOL = (10, 10, 10), 2.0, 100
SPACE = "MNI152NLin2009cAsym"
MOTION = [f"{a}_{x}" for a in ("trans", "rot") for x in "xyz"]


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def make_dataset(root: Path, n_subjects: int = 2, n_runs: int = 3, seed: int = 0) -> dict:
    """BIDS raw (events) + fMRIPrep-like derivatives (BOLD, mask, confounds) + an atlas."""
    from nilearn.glm.first_level import make_first_level_design_matrix

    rng = np.random.default_rng(seed)
    bids, deriv = root / "bids", root / "derivatives" / "fmriprep"
    _write_json(bids / "dataset_description.json", {"Name": "toy", "BIDSVersion": "1.9.0"})
    _write_json(
        deriv / "dataset_description.json",
        {
            "Name": "fMRIPrep",
            "BIDSVersion": "1.9.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "fMRIPrep", "Version": "23.2.0"}],
        },
    )
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    atlas = np.where(np.arange(SHAPE[0])[:, None, None] < 5, 1, 2) * np.ones(SHAPE, int)
    nib.save(nib.Nifti1Image(atlas.astype(np.int16), affine), root / "atlas_dseg.nii.gz")
    pd.DataFrame({"index": [1, 2], "name": ["signal", "noise"]}).to_csv(
        root / "atlas_dseg.tsv", sep="\t", index=False
    )
    region1 = atlas.reshape(-1) == 1
    n_vox = int(region1.sum())
    basis = rng.normal(size=(2, n_vox))
    patterns = np.zeros((len(CONDITIONS), atlas.size))
    patterns[:, region1] = 0.6 * POINTS @ basis  # percent signal change
    mask = np.ones(SHAPE, np.uint8)
    mask[:, :, -1] = 0  # one plane outside the brain
    frame_times = np.arange(N_VOL) * TR
    for s in range(1, n_subjects + 1):
        func_raw, func = bids / f"sub-0{s}" / "func", deriv / f"sub-0{s}" / "func"
        func_raw.mkdir(parents=True)
        func.mkdir(parents=True)
        for r in range(1, n_runs + 1):
            name = f"sub-0{s}_task-objects_run-{r}"
            order = np.concatenate([rng.permutation(CONDITIONS) for _ in range(3)])
            events = pd.DataFrame(
                {"onset": 8.0 + 15.0 * np.arange(len(order)), "duration": 4.0, "trial_type": order}
            )
            events.to_csv(func_raw / f"{name}_events.tsv", sep="\t", index=False)
            x = make_first_level_design_matrix(frame_times, events, hrf_model="spm", drift_model=None)[
                CONDITIONS
            ].to_numpy()
            motion = np.cumsum(rng.normal(scale=0.05, size=(N_VOL, 6)), axis=0)
            signal = (
                100.0
                + x @ patterns
                + rng.normal(size=(N_VOL, atlas.size))
                + motion[:, :1] * rng.normal(size=atlas.size)
            )
            bold = signal.T.reshape(*SHAPE, N_VOL).astype(np.float32)
            stem = f"{name}_space-{SPACE}_res-2"
            img = nib.Nifti1Image(bold, affine)
            img.header.set_zooms((2.0, 2.0, 2.0, TR))
            nib.save(img, func / f"{stem}_desc-preproc_bold.nii.gz")
            _write_json(
                func / f"{stem}_desc-preproc_bold.json", {"RepetitionTime": TR, "TaskName": "objects"}
            )
            nib.save(nib.Nifti1Image(mask, affine), func / f"{stem}_desc-brain_mask.nii.gz")
            conf = pd.DataFrame(motion, columns=MOTION)
            for c in MOTION:
                conf[f"{c}_derivative1"] = conf[c].diff()
                conf[f"{c}_power2"] = conf[c] ** 2
                conf[f"{c}_derivative1_power2"] = conf[f"{c}_derivative1"] ** 2
            conf["white_matter"] = rng.normal(size=N_VOL)
            conf["csf"] = rng.normal(size=N_VOL)
            conf["global_signal"] = rng.normal(size=N_VOL)
            conf["cosine00"] = np.cos(np.pi * (np.arange(N_VOL) + 0.5) / N_VOL)
            conf.to_csv(func / f"{name}_desc-confounds_timeseries.tsv", sep="\t", index=False, na_rep="n/a")
            _write_json(func / f"{name}_desc-confounds_timeseries.json", {})
    return {
        "root": root,
        "bids": bids,
        "deriv": deriv,
        "atlas": root / "atlas_dseg.nii.gz",
        "labels": root / "atlas_dseg.tsv",
        "patterns": patterns,
        "region1": region1,
    }


def task_config(data: dict, **task) -> dict:
    cfg = {**TASK_DEFAULTS, "atlas": {"image": str(data["atlas"]), "labels": str(data["labels"])}, **task}
    return {"bids_dir": str(data["bids"]), "derivatives": [str(data["deriv"])], "trsa": {"task": cfg}}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("taskfmri"))


def test_plan_finds_runs_through_bids_and_keeps_entities(dataset):
    plan = plan_task(task_config(dataset))
    assert len(plan.runs) == 6 and len(plan.subjects) == 2 and len(plan.groups) == 1
    run = plan.runs[f"sub-01/func/sub-01_task-objects_run-2_space-{SPACE}_res-2"]
    assert run.events.endswith("sub-01_task-objects_run-2_events.tsv")
    assert run.mask.endswith("run-2_space-MNI152NLin2009cAsym_res-2_desc-brain_mask.nii.gz")
    assert run.confounds.endswith("sub-01_task-objects_run-2_desc-confounds_timeseries.tsv")
    assert f"sub-02/func/sub-02_task-objects_space-{SPACE}_res-2" in plan.subjects
    group = plan.groups[f"task-objects_space-{SPACE}_res-2"]
    assert group.conditions == tuple(CONDITIONS)


@pytest.fixture
def frozen_gc():
    """nilearn runs gc.collect() on every image it reads (``safe_get_data``); with the test
    session's objects frozen those collections skip them (most of this test's time else)."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def test_crossnobis_recovers_geometry_and_is_unbiased_in_noise(dataset, tmp_path, frozen_gc):
    from neuroflow.rsa.taskfmri import stack_rdms_file, task_models_file, task_subject_files

    plan = plan_task(task_config(dataset))
    ncs = []
    for subject in plan.subjects.values():  # one job per subject, as the rule runs it
        runs, bases = subject.runs, [tmp_path / run.key for run in subject.runs]
        bases[0].parent.mkdir(parents=True, exist_ok=True)
        files = {kind: [getattr(r, kind) for r in runs] for kind in ("bold", "mask", "events", "confounds")}
        files.update(atlas=str(dataset["atlas"]), labels=str(dataset["labels"]))
        out = {
            "betas": [f"{b}_desc-betas_statmap.nii.gz" for b in bases],
            "residuals": [f"{b}_desc-residuals_bold.nii.gz" for b in bases],
            "json": [f"{b}_desc-betas_statmap.json" for b in bases],
            "nc": str(tmp_path / f"{subject.key}_desc-crossnobis_rdm.nc"),
        }
        logs = {"glm": [f"{b}_glm.log" for b in bases], "rdm": f"{bases[0]}_rdm.log"}
        params = {**TASK_DEFAULTS, "noise_model": "ols", "conditions": CONDITIONS}
        params.update(dropped_conditions=[], entities=subject.entities, simulated=True)
        task_subject_files(files, out, logs, params)
        ncs.append(out["nc"])
    side = json.loads(Path(out["json"][0]).read_text())
    assert side["Simulated"] is True  # the user's word, carried to the RDMs
    assert all(int(xr.open_dataset(nc, engine="h5netcdf").attrs["simulated"]) == 1 for nc in ncs)
    assert side["ConfoundColumns"] and not any(c.startswith("cosine") for c in side["ConfoundColumns"])
    true = pdist(dataset["patterns"][:, dataset["region1"]], "sqeuclidean")
    for nc in ncs:
        with xr.open_dataset(nc, engine="h5netcdf") as ds:
            assert list(ds["region"].values) == ["signal", "noise"]
            assert list(ds["condition"].values) == CONDITIONS
            signal, noise = ds["rdm"].sel(region="signal").values, ds["rdm"].sel(region="noise").values
            assert ds["n_voxels"].sel(region="signal").item() == 450  # 500 minus the plane
        assert spearmanr(signal, true).statistic > 0.8
        assert signal.min() > 0.1
        assert abs(noise.mean()) < 0.05 * signal.mean()
    # category models (rsatoolbox via neuroflow.rsa.models): the true geometry's nearest
    # neighbours, bottle-chair, beat the wrong grouping in the signal region
    task_models_file(
        ncs[0],
        tmp_path / "models.tsv",
        statistics=[{"kind": "rdm"}],
        models={"near": [["bottle", "chair"]], "wrong": [["bottle", "house"]]},
        n_boot=20,
    )
    models = pd.read_csv(tmp_path / "models.tsv", sep="\t")
    best = models[(models["region"] == "signal") & (models["rank"] == 1)]["model"]
    assert best.tolist() == ["near"] and set(models["region"]) == {"signal", "noise"}
    stack = tmp_path / "stack.nc"
    stack_rdms_file(ncs, stack)
    with xr.open_dataset(stack, engine="h5netcdf") as ds:
        assert ds["rdm"].dims == ("subject", "region", "pair")
        assert ds["rdm"].shape == (2, 2, 6) and list(ds["subject"].values) == ["01", "02"]


def _copy(dataset, tmp_path) -> dict:
    root = tmp_path / "copy"
    for name in ("bids", "derivatives"):
        shutil.copytree(dataset["root"] / name, root / name)
    return {**dataset, "bids": root / "bids", "deriv": root / "derivatives" / "fmriprep"}


def test_events_without_trial_type_names_file_and_key(dataset, tmp_path):
    data = _copy(dataset, tmp_path)
    bad = data["bids"] / "sub-02/func/sub-02_task-objects_run-3_events.tsv"
    pd.read_csv(bad, sep="\t").rename(columns={"trial_type": "stim"}).to_csv(bad, sep="\t", index=False)
    with pytest.raises(BIDSInputError, match=r"trsa\.task.*run-3_events\.tsv.*trial_type"):
        plan_task(task_config(data))


def test_run_without_events_and_too_few_runs_raise(dataset, tmp_path):
    data = _copy(dataset, tmp_path)
    (data["bids"] / "sub-01/func/sub-01_task-objects_run-2_events.tsv").unlink()
    with pytest.raises(BIDSInputError, match=r"sub-01_task-objects_run-2_.*no events\.tsv"):
        plan_task(task_config(data))
    with pytest.raises(BIDSInputError, match=r"trsa\.task\.min_runs: sub-01 .*3 run"):
        plan_task(task_config(dataset, min_runs=4))
    with pytest.raises(BIDSInputError, match=r"trsa\.task\.conditions: .*\['cat'\].*events"):
        plan_task(task_config(dataset, conditions=["face", "cat", "house"]))


def test_two_resolutions_of_a_run_need_space_or_res(dataset, tmp_path):
    data = _copy(dataset, tmp_path)
    func = data["deriv"] / "sub-02/func"
    name = f"sub-02_task-objects_run-1_space-{SPACE}_res-%s_desc-preproc_bold.nii.gz"
    shutil.copy(func / (name % "2"), func / (name % "1"))
    with pytest.raises(
        BIDSInputError,
        match=r"trsa\.task\.space / trsa\.task\.res: two .*"
        r"res-1_desc-preproc.*res-2_desc-preproc",
    ):
        plan_task(task_config(data))
    assert len(plan_task(task_config(data, res="2")).runs) == 6


@pytest.mark.workflow
def test_dry_run_plans_glm_per_run_rdm_per_subject_identification_and_encoding(dataset, tmp_path):
    from neuroflow.devtools import copy_workflow, run_snakemake

    workdir = copy_workflow(tmp_path / "w", ROOT, cohort=None)
    base = yaml.safe_load((workdir / "config/config.yaml").read_text())
    cfg = {
        stage: {"activate": False}
        for stage, section in base.items()
        if isinstance(section, dict) and "activate" in section
    }
    cfg.update(task_config(dataset))
    task = cfg["trsa"]["task"]
    cfg["trsa"] = {"activate": True, "task": {**task, "models": {"near": [["bottle", "chair"]]}}}
    # the same runs -> encoding designs (one per subject) -> ridge
    cfg["encoding"] = {
        "activate": True,
        "run": [],
        "attention": {"enabled": False},
        "task": {k: task[k] for k in ("activate", "atlas", "confounds")},
    }
    (workdir / "cohort.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workdir, "--configfile", "cohort.yaml", "-n", "--quiet", "rules")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    counts = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    # one job per subject: the GLM of each of its 3 runs, then its RDM
    assert counts.get("trsa_task_subject") == 2, out[-3000:]
    assert "trsa_task_glm" not in counts and counts.get("trsa_task_models") == 2
    assert counts.get("trsa_task_stack") == 1 and counts.get("trsa_task_identification") == 1
    assert counts.get("encoding_task_subject") == 2


def test_subjects_with_the_same_runs_share_one_rule_layout():
    """One rule per layout (a rule's outputs are fixed patterns): subjects whose runs differ
    get their own; the layout's names give back every subject's and run's key."""
    from neuroflow.rsa.inputs import TaskPlan, TaskRun, TaskSubject, subject_layouts

    def subject(label, runs):
        base = f"sub-{label}/func/sub-{label}_task-a"
        return TaskSubject(
            f"{base}_space-T1w",
            {"sub": label},
            tuple(
                TaskRun(f"{base}_run-{r}_space-T1w", {"sub": label, "run": r}, "b", "m", "", "e")
                for r in runs
            ),
        )

    subjects = [subject("01", [1, 2]), subject("02", [1, 2]), subject("010", [1, 2, 3])]
    plan = TaskPlan(subjects={s.key: s for s in subjects})
    layouts = subject_layouts(plan)
    assert [(lay.labels, len(lay.runs)) for lay in layouts] == [(("01", "02"), 2), (("010",), 3)]
    assert layouts[0].runs[1] == "sub-{tlabel}/func/sub-{tlabel}_task-a_run-2_space-T1w"
    for lay in layouts:
        for label in lay.labels:
            s = plan.subjects[lay.subject.format(tlabel=label)]
            assert [r.key for r in s.runs] == [run.format(tlabel=label) for run in lay.runs]
