"""The clean base config, cohort files that replace maps of inputs, the BIDS selection keys
and the BIDS-app command ``neuroflow run`` (issue 17)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from neuroflow.bids import BIDSInputError, Selection, check_bids_config, stem
from neuroflow.config import at_level, layer
from neuroflow.devtools import copy_workflow, demo_config, run_snakemake

ROOT = Path(__file__).resolve().parents[1]


def job_counts(stdout: str) -> dict[str, int]:
    """``{rule: count}`` of a ``snakemake -n`` job-stats table."""
    counts, table = {}, False
    for line in stdout.splitlines():
        if line.startswith("job ") and "count" in line:
            table = True
            continue
        if table:
            parts = line.split()
            if not parts or parts[0] == "total":
                break
            if len(parts) == 2 and parts[1].isdigit():
                counts[parts[0]] = int(parts[1])
    return counts


def write_bids(root: Path, subjects=("01", "02"), description=True) -> Path:
    """A minimal BIDS dataset: dataset_description.json and one anatomical file each."""
    root.mkdir(parents=True)
    if description:
        (root / "dataset_description.json").write_text(json.dumps({"Name": "tiny", "BIDSVersion": "1.9.0"}))
    for sub in subjects:
        anat = root / f"sub-{sub}" / "anat"
        anat.mkdir(parents=True)
        (anat / f"sub-{sub}_T1w.nii.gz").write_bytes(b"")
    return root


# -- the base config and the demo cohort ------------------------------------------------


@pytest.mark.workflow
def test_base_config_runs_no_data(tmp_path):
    base = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    stages = [k for k, v in base.items() if isinstance(v, dict) and "activate" in v]
    assert len(stages) == 8 and not any(base[s]["activate"] for s in stages)
    work = copy_workflow(tmp_path / "w", cohort=None)
    proc = run_snakemake(work, "-n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert job_counts(proc.stdout) == {"dataset_description": 1, "methods_report": 1, "all": 1}


def test_demo_cohort_runs_the_four_demo_stages():
    cfg = demo_config(ROOT)
    on = sorted(k for k, v in cfg.items() if isinstance(v, dict) and v.get("activate"))
    assert on == ["activity", "connectome", "eeg", "trsa"]
    assert len(cfg["connectome"]["sources"]) == 12
    # the off stages' demo inputs sit in the demo cohort, ready for the stage demo files
    assert set(cfg["fc"]["benchmarks"]) == {"hcp", "sim"}
    assert set(cfg["bicluster"]["recordings"]) == {"simulated"}
    assert set(cfg["activity"]["spikes"]) == {"A2929"}  # recorded units: the activity stage


def test_cohort_maps_replace_and_null_removes():
    base = {
        "activity": {"recordings": {"a": {"x": 1}, "b": {"x": 2}}, "step_s": 0.3},
        "connectome": {"sources": {"s1": {"r": 1}}, "consensus": {"sources": []}},
    }
    over = {
        "activity": {"recordings": {"c": {"x": 3}}},
        "connectome": {"consensus": {"normalization": "mean"}},
    }
    out = layer(base, over)
    assert out["activity"]["recordings"] == {"c": {"x": 3}}  # replaced, not merged
    assert out["activity"]["step_s"] == 0.3  # settings still merge
    assert out["connectome"]["sources"] == {"s1": {"r": 1}}  # untouched map stays
    assert out["connectome"]["consensus"] == {"sources": [], "normalization": "mean"}
    two = layer(base, over, {"activity": {"recordings": {"c": None, "d": {"x": 4}}}})
    assert two["activity"]["recordings"] == {"d": {"x": 4}}  # the last file wins
    assert base["activity"]["recordings"].keys() == {"a", "b"}  # inputs not modified


@pytest.mark.workflow
def test_cohort_file_replaces_maps_in_the_workflow(tmp_path):
    """Layered over the demo cohort, a cohort's sources/recordings replace the demo's, and a
    null entry is dropped (``recordings: {A2929: null}`` used to fail the schema)."""
    work = copy_workflow(tmp_path / "w", cohort=None)
    demo = demo_config(ROOT)
    (work / "mine.yaml").write_text(
        yaml.safe_dump(
            {
                "connectome": {"sources": {"cook2019herm": demo["connectome"]["sources"]["cook2019herm"]}},
                "activity": {
                    "recordings": {"cnmfematlab": demo["activity"]["recordings"]["cnmfematlab"]},
                    "spikes": {"A2929": None},
                },
                "bicluster": {
                    "activate": True,
                    "recordings": {"other": None, "simulated": demo["bicluster"]["recordings"]["simulated"]},
                },
                "eeg": {"activate": False},
                "trsa": {"activate": False},
            }
        )
    )
    proc = run_snakemake(work, "-n", "--configfile", "config/cohorts/demo.yaml", "mine.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    jobs = job_counts(proc.stdout)
    assert jobs["homogenize_connectome"] == 1
    assert jobs["activity_homogenize"] == 1
    assert jobs["bicluster_recording"] == 1  # the simulated recording only (its chains inside)


@pytest.mark.workflow
def test_every_cohort_file_validates(tmp_path):
    """Each shipped cohort (alone, or over the demo cohort as its header says) plans."""
    work = copy_workflow(tmp_path / "w", cohort=None)
    for path in sorted((ROOT / "config/cohorts").glob("*.yaml")):
        over_demo = "cohorts/demo.yaml config/cohorts/" in path.read_text()
        files = (["config/cohorts/demo.yaml"] if over_demo else []) + [f"config/cohorts/{path.name}"]
        proc = run_snakemake(work, "-n", "--quiet", "rules", "--configfile", *files)
        assert proc.returncode == 0, f"{path.name}: {proc.stderr[-2000:]}"


# -- BIDS selection ----------------------------------------------------------------------


def test_selection_filters_by_entities():
    sel = Selection.from_config(
        {
            "bids_dir": "x",
            "participant_label": ["sub-01", "02"],
            "exclude_participant_label": [],
            "sessions": ["ses-b"],
            "runs": [1],
            "tasks": "all",
        }
    )
    assert sel.keeps({"sub": "01", "ses": "b", "run": "01"})
    assert not sel.keeps({"sub": "01", "ses": "a", "run": "01"})
    assert not sel.keeps({"sub": "01", "ses": "b", "run": "2"})
    assert not sel.keeps({"sub": "03", "ses": "b"})
    assert sel.keeps({"sub": "02"})  # no session entity: not dropped by sessions
    with pytest.raises(BIDSInputError, match="participant_label"):
        Selection.from_config({"participant_label": ["0 1"]})


def test_stem_keeps_every_entity_in_bids_order():
    ents = {
        "desc": "preproc",
        "res": "2",
        "space": "MNI152NLin2009cAsym",
        "run": "01",
        "task": "rest",
        "ses": "1",
        "sub": "01",
        "den": "91k",
        "acq": "AP",
    }
    assert stem(ents) == (
        "sub-01_ses-1_task-rest_acq-AP_run-01_space-MNI152NLin2009cAsym_res-2_den-91k_desc-preproc"
    )


def test_check_bids_config_names_key_and_file(tmp_path):
    bids = write_bids(tmp_path / "ds")
    assert check_bids_config({"bids_dir": str(bids)}).bids_dir == str(bids)
    cases = [
        ({"bids_dir": str(tmp_path / "nope")}, "bids_dir", "does not exist"),
        (
            {"bids_dir": str(write_bids(tmp_path / "nodesc", description=False))},
            "bids_dir",
            "dataset_description.json",
        ),
        ({"bids_dir": str(bids), "participant_label": ["07"]}, "participant_label", "sub-07"),
        (
            {"bids_dir": str(bids), "exclude_participant_label": ["01", "02"]},
            "exclude_participant_label",
            "no participant",
        ),
        (
            {"bids_dir": str(bids), "derivatives": [str(tmp_path / "fmriprep")]},
            "derivatives[0]",
            "does not exist",
        ),
    ]
    for cfg, key, text in cases:
        with pytest.raises(BIDSInputError) as err:
            check_bids_config(cfg)
        assert key in str(err.value) and text in str(err.value), str(err.value)
    deriv = write_bids(tmp_path / "fmriprep", subjects=("01",))
    with pytest.raises(BIDSInputError, match=r"derivatives\[0\].*sub-02.*missing"):
        check_bids_config(
            {"bids_dir": str(bids), "derivatives": [str(deriv)], "participant_label": ["01", "02"]}
        )


def test_participant_level_keeps_subject_outputs():
    targets = [
        "r/dataset_description.json",
        "r/group/x.tsv",
        "r/sub-01/eeg/a.fif",
        "r/group/desc-methods_report.html",
        "r/sub-02/ses-1/func/b.tsv",
    ]
    assert at_level(targets, "group", "r") == targets
    assert at_level(targets, "participant", "r") == [
        "r/dataset_description.json",
        "r/sub-01/eeg/a.fif",
        "r/sub-02/ses-1/func/b.tsv",
    ]


# -- the BIDS-app command ------------------------------------------------------------------


def neuroflow(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "neuroflow.cli", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.workflow
def test_bids_app_runs_from_any_folder(tmp_path):
    bids = write_bids(tmp_path / "ds")
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    proc = neuroflow(
        "run",
        str(bids),
        "out",
        "participant",
        "--participant-label",
        "01",
        "--work-dir",
        "work",
        "--dry-run",
        "--cores",
        "1",
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    overlay = yaml.safe_load((cwd / "out/logs/neuroflow-run_participant.yaml").read_text())
    assert overlay == {
        "bids_dir": str(bids),
        "results_dir": str(cwd / "out"),
        "analysis_level": "participant",
        "participant_label": ["01"],
    }
    assert "inputs found for stage(s): none" in proc.stderr  # anatomy only: nothing applies
    assert (cwd / "work/Snakefile").is_file() and (cwd / "work/config/cohorts/demo.yaml").is_file()
    listed = neuroflow("resources", "list", cwd=cwd)
    assert listed.returncode == 0 and "cook_2019_herm" in listed.stdout


@pytest.mark.workflow
def test_bids_app_stops_on_unknown_participant_before_any_job(tmp_path):
    bids = write_bids(tmp_path / "ds")
    proc = neuroflow(
        "run",
        str(bids),
        str(tmp_path / "out"),
        "group",
        "--participant-label",
        "09",
        "--work-dir",
        str(tmp_path / "work"),
        "--cores",
        "1",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "config key participant_label" in text and "sub-09" in text and str(bids) in text
    assert not (tmp_path / "out/dataset_description.json").exists()


def test_stages_are_detected_from_the_dataset(tmp_path):
    from neuroflow.bids import detect_stages

    bids = write_bids(tmp_path / "ds", subjects=("01", "02", "03"))
    (bids / "sub-01/eeg").mkdir()
    (bids / "sub-01/eeg/sub-01_task-rest_eeg.edf").write_bytes(b"")
    (bids / "sub-02/ses-1").mkdir()
    (bids / "sub-02/ses-1/sub-02_ses-1_ecephys.nwb").write_bytes(b"")  # DANDI-like
    deriv = write_bids(tmp_path / "xcpd", subjects=())
    func = deriv / "sub-03/func"
    func.mkdir(parents=True)
    (func / "sub-03_task-rest_space-fsLR_seg-4S156Parcels_den-91k_stat-mean_timeseries.tsv").write_text(
        "a\tb\n1\t2\n"
    )
    cfg = {"bids_dir": str(bids), "derivatives": [str(deriv)]}
    assert detect_stages(Selection.from_config(cfg)) == ["eeg", "activity", "fmri"]
    assert detect_stages(Selection.from_config({**cfg, "participant_label": ["02"]})) == ["activity"]
    assert detect_stages(Selection.from_config({**cfg, "exclude_participant_label": ["01"]})) == [
        "activity",
        "fmri",
    ]


def test_wheel_ships_the_workflow(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    names = zipfile.ZipFile(next(tmp_path.glob("neuroflow-*.whl"))).namelist()
    base = "neuroflow/_workflow/"
    for need in (
        "Snakefile",
        "workflow/rules/common.smk",
        "workflow/schemas/config.schema.yaml",
        "config/config.yaml",
        "config/cohorts/demo.yaml",
        "profiles/default/config.yaml",
        "resources/datasets.yaml",
    ):
        assert base + need in names, need
    assert not any(n.startswith(base + "resources/data/") for n in names)


def test_dataset_description_carries_input_derivatives(tmp_path):
    from neuroflow.report.methods import write_dataset_description

    bids = write_bids(tmp_path / "ds")
    deriv = write_bids(tmp_path / "fmriprep", subjects=("01",))
    (deriv / "dataset_description.json").write_text(
        json.dumps(
            {
                "Name": "fMRIPrep outputs",
                "BIDSVersion": "1.9.0",
                "DatasetType": "derivative",
                "GeneratedBy": [{"Name": "fMRIPrep", "Version": "23.2.1"}],
            }
        )
    )
    out = tmp_path / "out" / "dataset_description.json"
    out.parent.mkdir()
    write_dataset_description(out, bids_dir=str(bids), derivatives=[str(deriv)])
    desc = json.loads(out.read_text())
    assert [g["Name"] for g in desc["GeneratedBy"]] == ["neuroflow", "fMRIPrep"]
    assert desc["GeneratedBy"][1]["Version"] == "23.2.1"
    assert [s["URL"] for s in desc["SourceDatasets"]] == [bids.as_uri(), deriv.as_uri()]
    assert desc["DatasetType"] == "derivative" and desc["HowToAcknowledge"]
    assert {"group/", "logs/"} <= set((out.parent / ".bidsignore").read_text().split())


def test_fill_defaults_fills_nested_settings_but_not_map_entries():
    from neuroflow.config import fill_defaults

    schema = {
        "properties": {
            "task": {
                "type": "object",
                "default": {},
                "properties": {
                    "res": {"default": ""},
                    "confounds": {"default": {}, "properties": {"strategy": {"default": "simple"}}},
                },
            },
            "experiments": {
                "default": {},
                "additionalProperties": {
                    "properties": {"options": {"default": {}, "properties": {"bin_s": {"default": 0.1}}}}
                },
            },
        }
    }
    node = fill_defaults({"experiments": {"a": {"options": {}}}}, schema)
    assert node["task"] == {"res": "", "confounds": {"strategy": "simple"}}
    assert node["experiments"] == {"a": {"options": {}}}  # map entries untouched
