"""The EEG stage through Snakemake, alone: outputs, a failing subject, no-op rerun, determinism.

A small cohort (the real spkit recording, one 20-s SIMULATED subject and a user FIF file
whose sidecar states the wrong sampling rate) keeps this under a minute on 2 cores.
"""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
import yaml

from neuroflow.devtools import copy_workflow, run_snakemake
from neuroflow.eeg.devdata import noise_raw, write_recording

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow
SUBJECTS = ("phyaat", "sim01")


def _config(workdir: Path, with_bad: bool) -> str:
    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    over = {
        k: {"activate": False}
        for k, v in default.items()
        if isinstance(v, dict) and "activate" in v and k != "eeg"
    }
    over["connectome"] = {"activate": False}
    over["eeg"] = {
        "activate": True,
        "embedded": {"activate": True},
        "simulate": {"n_subjects": 1, "duration": 20.0},
    }
    if with_bad:
        over["eeg"]["subjects"] = {"bad01": {"path": "data/sub-bad01_task-rest_eeg.fif"}}
    name = f"config/eeg_test_{'bad' if with_bad else 'good'}.yaml"
    (workdir / name).write_text(yaml.safe_dump(over))
    return name


def _run(workdir, *args, check=True):
    proc = run_snakemake(workdir, *args)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _digests(results: Path) -> dict:
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file()
        and "logs" not in p.parts
        and p.suffix in {".fif", ".nc", ".tsv", ".json", ".png", ".html"}
        and p.name != "report.html"
    }  # Snakemake's own report embeds its creation time


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("eeg") / "w", ROOT)
    bad = write_recording(noise_raw(duration=10.0), work / "data/sub-bad01_task-rest_eeg.fif")
    bad.with_suffix(".json").write_text(json.dumps({"SamplingFrequency": 500}))
    failed = _run(work, "--keep-going", "--configfile", _config(work, True), check=False)
    return work, failed


def test_bad_subject_fails_alone_with_an_error_naming_its_file(run):
    work, failed = run
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "sub-bad01_task-rest_eeg.fif: sampling rate mismatch" in out
    log = (work / "results/logs/eeg/sub-bad01/eeg/sub-bad01_task-rest_preprocess.log").read_text()
    assert "says 128 Hz" in log and "says 500 Hz" in log
    assert not (work / "results/sub-bad01/eeg/sub-bad01_task-rest_desc-clean_eeg.fif").exists()
    for sub in SUBJECTS:  # the other subjects completed
        assert (work / f"results/sub-{sub}/eeg/sub-{sub}_task-rest_report.html").is_file()


def test_cohort_completes_without_the_bad_subject_and_reruns_nothing(run):
    work, _ = run
    cfg = _config(work, False)
    _run(work, "--configfile", cfg)
    table = pd.read_csv(work / "results/group/eeg/desc-features_eeg.tsv", sep="\t")
    assert table["subject"].tolist() == list(SUBJECTS)
    assert table["simulated"].tolist() == [False, True]
    sim = table.set_index("subject").loc["sim01"]
    assert sim["dead_channel_detected"] and sim["truth_dead_channel"] in sim["bad_channels"]
    assert abs(sim["exponent_error"]) < 0.2  # 20 s only; the 0.1 criterion is in the unit tests
    with xr.open_dataset(
        work / "results/sub-sim01/eeg/sub-sim01_task-rest_desc-spectra_eeg.nc", engine="h5netcdf"
    ) as ds:
        assert ds.attrs["simulated"] == 1 and "SIMULATED" in ds.attrs["description"]
        assert ds["psd_welch"].attrs["units"] == "V**2/Hz" and ds.sizes["channel"] == 32
        assert "sha256" in ds.attrs["inputs"]
    side = json.loads(
        (work / "results/sub-phyaat/eeg/sub-phyaat_task-rest_desc-aperiodic_eeg.json").read_text()
    )
    assert "real recording" in side["TableDescription"] and side["Simulated"] is False
    html = (work / "results/sub-sim01/eeg/sub-sim01_task-rest_report.html").read_text()
    assert "SIMULATED" in html and "Simulation ground truth" in html
    methods = (work / "results/group/desc-methods_report.html").read_text()
    assert "PhyAAt" in methods and "specparam" in methods
    proc = _run(work, "--configfile", cfg, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    _run(work, "--configfile", cfg, "--report", "results/report.html")
    report = (work / "results/report.html").read_text()
    assert "sub-sim01_task-rest_report.html" in report and "desc-aperiodic_eeg.png" in report


def test_rerun_from_scratch_gives_byte_identical_outputs(run):
    work, _ = run
    cfg = _config(work, False)
    first = _digests(work / "results")
    html = work / "results/sub-sim01/eeg/sub-sim01_task-rest_report.html"
    before = html.stat().st_mtime_ns
    # the simulated subject from scratch, and everything downstream (its MNE Report, the group)
    _run(work, "--configfile", cfg, "--forcerun", "eeg_simulate")
    second = _digests(work / "results")
    assert html.stat().st_mtime_ns != before  # really rewritten
    assert len(first) > 40 and first.keys() == second.keys()
    assert first == second


def test_every_output_follows_the_output_stamp(run):
    """BIDS tabular sidecars, the NetCDF attribute schema and the one ``simulated`` encoding
    on every output of the run (units parsed by pint)."""
    import pint

    from neuroflow.output_schema import check_output_tree

    problems = check_output_tree(run[0] / "results", parse_units=pint.UnitRegistry().parse_units)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
