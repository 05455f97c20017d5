"""One cohort in, the whole chain runs (issue 17): a small SIMULATED cohort in real BIDS
formats (mne-bids EEG, fMRIPrep-style derivatives, task events, NWB units) goes through
``neuroflow run``; the DAG wires the stages to each other."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from neuroflow.bids import Selection, query
from neuroflow.synthetic_bids import cohort_config, write_cohort

ROOT = Path(__file__).resolve().parents[1]


def bids_validator() -> str | None:
    """The npm bids-validator that tests/system/install.sh installs (or one on PATH)."""
    local = ROOT / ".cache/bids-validator/node_modules/.bin/bids-validator"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("bids-validator")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return write_cohort(tmp_path_factory.mktemp("cohort"))


def test_synthetic_cohort_passes_the_bids_validator(cohort):
    exe = bids_validator()
    if exe is None:
        pytest.skip("bids-validator (npm) is not installed: tests/system/install.sh installs it")
    proc = subprocess.run(
        [exe, str(cohort["bids_dir"]), "--json"], capture_output=True, text=True, timeout=300
    )
    report = json.loads(proc.stdout)
    errors = [
        (e["key"], [f["file"]["relativePath"] for f in e["files"]][:3]) for e in report["issues"]["errors"]
    ]
    assert errors == []


def test_synthetic_cohort_is_indexed_with_its_entities(cohort):
    sel = Selection.from_config({"bids_dir": str(cohort["bids_dir"])})
    eeg = query(cohort["bids_dir"], sel, datatype="eeg", suffix="eeg", extension=".vhdr")
    assert [(r["sub"], r.get("ses"), r["run"]) for r in eeg] == [
        ("01", "1", "1"),
        ("01", "1", "2"),
        ("01", "2", "1"),
        ("01", "2", "2"),
        ("02", "1", "1"),
    ]
    bold = query(
        cohort["fmriprep"], sel, True, "derivatives[0]", suffix="bold", desc="preproc", extension=".nii.gz"
    )
    assert sorted({r["res"] for r in bold}) == ["1", "2"] and len(bold) == 12  # 2 subjects x 3 runs x 2 res
    nwb = query(cohort["bids_dir"], sel, extension=".nwb")
    assert [r["sub"] for r in nwb] == ["01", "02"]


def planned_jobs(stdout: str) -> list[dict]:
    """The jobs of a ``snakemake -n`` listing: rule, input and output paths."""
    jobs, job = [], None
    for line in stdout.splitlines():
        if line.startswith("rule ") or line.startswith("checkpoint "):
            job = {"rule": line.split()[1].rstrip(":"), "input": [], "output": []}
            jobs.append(job)
        elif job is not None and line.strip().startswith(("input:", "output:")):
            key, _, rest = line.strip().partition(":")
            job[key] = [p.strip() for p in rest.split(",") if p.strip()]
    return jobs


@pytest.mark.workflow
def test_one_cohort_plans_every_stage_chained(cohort, tmp_path):
    """fMRI -> FC, EEG -> FC, activity -> bi-clustering are DAG edges; no stage reads a raw
    file that another stage standardized."""
    import yaml

    from neuroflow.devtools import copy_workflow, run_snakemake

    work = copy_workflow(tmp_path / "w", cohort=None)
    (work / "chain.yaml").write_text(yaml.safe_dump(cohort_config(cohort)))
    proc = run_snakemake(work, "-n", "--configfile", "chain.yaml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    jobs = planned_jobs(proc.stdout)
    rules = {j["rule"] for j in jobs}
    assert {
        "fmri_group",
        "eeg_recording",
        "activity_counts",
        "bicluster_recording",
        "fc_samples",
        "trsa_task_subject",
        "encoding_task_subject",
    } <= rules
    produced_by = {p: j["rule"] for j in jobs for p in j["output"]}
    # the EEG recordings' jobs (a report of one recording is written by its job)
    eeg_rules = {r for r in rules if r.startswith("eeg_recording")}

    def upstream(*rules_):
        return {produced_by.get(p, "raw") for j in jobs if j["rule"] in rules_ for p in j["input"]}

    fc_inputs = {p for j in jobs if j["rule"] == "fc_samples" for p in j["input"]}
    assert "fmri_group" in upstream("fc_samples") and eeg_rules <= upstream("fc_samples")
    assert not [p for p in fc_inputs if str(cohort["bids_dir"]) in p]  # no raw EEG/BOLD
    assert upstream("bicluster_recording") == {"activity_counts"}  # never the raw NWB
    # task fMRI: the GLM and the encoding design take the fMRI stage's denoising regressors
    for rule in ("trsa_task_subject", "encoding_task_subject"):
        regressors = [
            p for j in jobs if j["rule"] == rule for p in j["input"] if p.endswith("_regressors.tsv")
        ]
        assert regressors and {produced_by.get(p, "raw")[:5] for p in regressors} == {"fmri_"}
    assert not [
        p
        for j in jobs
        if j["rule"] == "trsa_task_subject"
        for p in j["input"]
        if p.endswith("desc-confounds_timeseries.tsv")
    ]
    # every EEG recording is its own job and keeps ses-/run-
    eeg_out = sorted(
        p for j in jobs if j["rule"] in eeg_rules for p in j["output"] if p.endswith("_desc-clean_eeg.fif")
    )
    assert eeg_out == [
        "results/sub-01/ses-1/eeg/sub-01_ses-1_task-rest_run-1_desc-clean_eeg.fif",
        "results/sub-01/ses-1/eeg/sub-01_ses-1_task-rest_run-2_desc-clean_eeg.fif",
        "results/sub-01/ses-2/eeg/sub-01_ses-2_task-rest_run-1_desc-clean_eeg.fif",
        "results/sub-01/ses-2/eeg/sub-01_ses-2_task-rest_run-2_desc-clean_eeg.fif",
        "results/sub-02/ses-1/eeg/sub-02_ses-1_task-rest_run-1_desc-clean_eeg.fif",
    ]
    fmri_out = {p for j in jobs if j["rule"].startswith("fmri") for p in j["output"]}
    rest = "results/sub-01/func/sub-01_task-rest_run-1_space-"
    assert f"{rest}fsaverage5_atlas-schaefer100_desc-simple_timeseries.tsv" in fmri_out
    assert f"{rest}fsLR_den-91k_atlas-toycifti_desc-simple_timeseries.tsv" in fmri_out
    for res in ("1", "2"):
        assert (
            f"results/sub-02/func/sub-02_task-objects_run-2_space-MNI152NLin2009cAsym_"
            f"res-{res}_atlas-toy_desc-simple_timeseries.tsv"
        ) in fmri_out
    # the held-out FC protocol cannot split 2 subjects: said before any job, naming the key
    cfg = cohort_config(cohort)
    cfg["fc"]["protocol"] = "heldout"
    (work / "heldout.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(work, "-n", "--configfile", "heldout.yaml")
    said = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "config key fc.protocol" in said, said[-3000:]
    assert "fc.benchmarks." in said and "has 2" in said


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    import hashlib

    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.workflow
def test_bids_app_runs_the_chain_participant_by_participant_then_group(cohort, tmp_path):
    """`neuroflow run ... participant` for one subject, then the other (the first one's
    files untouched: same sha256 and mtime), then `group`: every stage ran, every entity
    is in the names, pybids reads the outputs back."""
    import subprocess
    import sys

    import yaml
    from bids import BIDSLayout

    cfg = cohort_config(cohort)
    for key in ("bids_dir", "derivatives"):
        cfg.pop(key)
    # the stages' own tests cover ICA and connectivity; the chain needs only their outputs
    cfg["eeg"]["preprocessing"] = {"ica": {"activate": False}}
    cfg["eeg"]["features"] = {"connectivity": {"activate": False}}
    (tmp_path / "cohort.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"

    def run(level, *extra):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "neuroflow.cli",
                "run",
                str(cohort["bids_dir"]),
                str(out),
                level,
                "--derivatives",
                str(cohort["fmriprep"]),
                "--config",
                str(tmp_path / "cohort.yaml"),
                "--cores",
                "2",
                *extra,
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    run("participant", "--participant-label", "01")
    assert (out / "sub-01").is_dir() and not (out / "sub-02").exists()
    assert not (out / "group").exists()
    first = _digests(out / "sub-01")
    run("participant", "--participant-label", "sub-02")
    assert (out / "sub-02/ses-1/eeg").is_dir()
    assert _digests(out / "sub-01") == first  # nothing of sub-01 was touched
    run("group")
    assert _digests(out / "sub-01") == first
    for bench in ("bold", "eeg"):
        scores = out / f"group/fc/bench-{bench}/bench-{bench}_desc-scores_benchmark.tsv"
        assert scores.is_file(), bench
    desc = json.loads((out / "dataset_description.json").read_text())
    assert [g["Name"] for g in desc["GeneratedBy"]] == ["neuroflow", "fMRIPrep"]
    layout = BIDSLayout(out, validate=False, is_derivative=True, config=["bids", "derivatives"])
    clean = layout.get(suffix="eeg", desc="clean", extension=".fif")
    assert sorted((f.entities["subject"], f.entities["session"], str(f.entities["run"])) for f in clean) == [
        ("01", "1", "1"),
        ("01", "1", "2"),
        ("01", "2", "1"),
        ("01", "2", "2"),
        ("02", "1", "1"),
    ]
    series = layout.get(suffix="timeseries", desc="simple", extension=".tsv", atlas="toy")
    assert sorted({f.entities["res"] for f in series}) == ["1", "2"]
    surface = layout.get(subject="01", task="rest", suffix="timeseries", desc="simple", extension=".tsv")
    assert {(f.entities["space"], f.entities.get("den"), f.entities["atlas"]) for f in surface} == {
        ("fsLR", "91k", "toycifti"),
        ("fsaverage5", None, "schaefer100"),
        ("fsaverage5", None, "schaefer400"),
    }  # every atlas of the run's space
    cifti = pd.read_csv(
        next(out.glob("sub-01/func/*_space-fsLR_den-91k_atlas-toycifti_desc-simple_timeseries.tsv")), sep="\t"
    )
    assert cifti.shape[1] == 4 and len(cifti) == 48  # 4 toy regions, every volume
    counts = layout.get(suffix="spikes", desc="counts", extension=".nc")
    assert [(f.entities["subject"], f.entities["session"]) for f in counts] == [("01", "1"), ("02", "1")]
    assert len(list(out.glob("sub-0[12]/ses-1/ephys/*_desc-bicluster_posterior.nc"))) == 2
    # task fMRI -> GLM (fMRI stage's regressors) -> RDMs per subject -> group stack
    glm = json.loads(next(out.glob("sub-01/func/*_run-1_*_desc-betas_statmap.json")).read_text())
    assert glm["ConfoundsStrategy"] == "fmri" and "trans_x" in glm["ConfoundColumns"]
    stack = out / "group/trsa/task-objects_space-MNI152NLin2009cAsym_res-1_desc-crossnobis_rdm.nc"
    assert stack.is_file()
    assert list(out.glob("sub-0[12]/func/*_desc-events_scores.tsv"))
    # the one output stamp on every output of every stage (tests/test_output_schema.py)
    import pint

    from neuroflow.output_schema import check_output_tree

    problems = check_output_tree(out, parse_units=pint.UnitRegistry().parse_units)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    # the cohort is SIMULATED (fmri.simulated, activity.bids.simulated, simulated EEG): the
    # flag reaches the fMRI outputs and the FC benchmarks built from the stages' outputs
    from neuroflow.output_schema import is_simulated
    from neuroflow.provenance import read_netcdf

    series_json = next(out.glob("sub-01/func/*_atlas-toy_desc-simple_timeseries.json"))
    assert is_simulated(json.loads(series_json.read_text()), series_json) is True
    for bench in ("bold", "eeg"):
        nc = out / f"group/fc/bench-{bench}/bench-{bench}_desc-windows_timeseries.nc"
        assert is_simulated(read_netcdf(nc).attrs, nc) is True, bench


@pytest.mark.workflow
def test_a_subject_failing_at_run_time_leaves_the_others_complete(tmp_path):
    """--keep-going: a recording that cannot be read fails its own jobs (the log names the
    file), leaves no partial output, and the other subject's outputs complete."""
    import subprocess
    import sys

    import yaml

    cohort = write_cohort(tmp_path / "c", fmri=False, nwb=False, eeg_seconds=12.0)
    vhdr = next((cohort["bids_dir"] / "sub-02/ses-1/eeg").glob("*_eeg.vhdr"))
    vhdr.write_text(vhdr.read_text().replace("BinaryFormat=IEEE_FLOAT_32", "BinaryFormat=NOPE"))
    cfg = {
        "eeg": {
            "activate": True,
            "preprocessing": {"ica": {"activate": False}},
            "features": {"connectivity": {"activate": False}},
        }
    }
    (tmp_path / "eeg.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "neuroflow.cli",
            "run",
            str(cohort["bids_dir"]),
            str(out),
            "participant",
            "--config",
            str(tmp_path / "eeg.yaml"),
            "--cores",
            "2",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert vhdr.name in proc.stdout + proc.stderr  # the failing file is named
    assert len(list(out.glob("sub-01/ses-*/eeg/*_desc-clean_eeg.fif"))) == 4
    assert list(out.glob("sub-01/ses-1/eeg/*_report.html"))
    assert not list(out.glob("sub-02/**/*.fif")) and not list(out.glob("sub-02/**/*.nc"))
