"""The EEG stage on a real BIDS EEG dataset written by mne-bids: one job per recording.

sub-01 has 2 sessions x 2 runs, sub-02 one session without a run entity; 10 s of 13-channel
EEG at 128 Hz (BrainVision, 10-20 positions in _electrodes.tsv); sub-01 carries a 10 Hz
alpha rhythm strongest on the parietal and occipital channels, sub-02 none.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from neuroflow.bids import BIDSInputError
from neuroflow.devtools import copy_workflow, run_snakemake
from neuroflow.eeg.inputs import (
    EEGSelectionNote,
    check_eeg_inputs,
    eeg_recordings,
    recording_inputs,
    reports,
)

pytest.importorskip("pybv")
ROOT = Path(__file__).resolve().parents[1]
CHANNELS = ("Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "Fz", "Cz", "Pz")
ALPHA_HZ = 10.0
#: (sub, ses, run) of every recording written
WRITTEN = (("01", "1", "1"), ("01", "1", "2"), ("01", "2", "1"), ("01", "2", "2"), ("02", "1", None))
STEMS = [
    "sub-01_ses-1_task-rest_run-1",
    "sub-01_ses-1_task-rest_run-2",
    "sub-01_ses-2_task-rest_run-1",
    "sub-01_ses-2_task-rest_run-2",
    "sub-02_ses-1_task-rest",
]


def _raw(seed: int, alpha: bool):
    import mne

    rng = np.random.default_rng(seed)
    sfreq, n = 128.0, 1280
    t = np.arange(n) / sfreq
    x = 10e-6 * rng.standard_normal((len(CHANNELS), n))
    if alpha:  # one posterior source: 6 uV at P/O channels, less towards the front
        weight = {"F": 0.2, "C": 0.5, "P": 1.0, "O": 1.0}
        source = 6e-6 * np.sin(2 * np.pi * ALPHA_HZ * t + rng.uniform(0, 2 * np.pi))
        x += np.array([[weight.get(ch[0], 0.2)] for ch in CHANNELS]) * source
    raw = mne.io.RawArray(x, mne.create_info(list(CHANNELS), sfreq, "eeg"), verbose="error")
    raw.set_montage(mne.channels.make_standard_montage("colin27_1020"), verbose="error")
    raw.info["line_freq"] = 50.0
    return raw


@pytest.fixture(scope="module")
def bids_root(tmp_path_factory) -> Path:
    import mne_bids

    root = tmp_path_factory.mktemp("eegbids") / "bids"
    for i, (sub, ses, run) in enumerate(WRITTEN):
        bp = mne_bids.BIDSPath(subject=sub, session=ses, task="rest", run=run, root=root, datatype="eeg")
        mne_bids.write_raw_bids(
            _raw(i, sub == "01"), bp, allow_preload=True, format="BrainVision", verbose="error"
        )
    return root


def _config(root, **top) -> dict:
    return {
        "bids_dir": str(root),
        **top,
        "eeg": {"activate": True, "embedded": {"activate": False}, "simulate": {"n_subjects": 0}},
    }


def test_one_recording_per_file_with_every_entity(bids_root):
    recs = eeg_recordings(_config(bids_root))
    assert list(recs) == STEMS
    for (sub, ses, run), stem in zip(WRITTEN, STEMS):
        rec = recs[stem]
        assert rec["entities"] == {"sub": sub, "ses": ses, "task": "rest", **({"run": run} if run else {})}
        assert rec["folder"] == f"sub-{sub}/ses-{ses}/eeg" and rec["kind"] == "bids"
        assert Path(rec["path"]).name == f"{stem}_eeg.vhdr"
        assert rec["montage"] == "file"  # mne-bids wrote _electrodes.tsv
        names = [Path(p).name for p in recording_inputs(rec, "unused")]
        # the data file, its BrainVision companions, its own sidecars, its session's positions
        assert names[0] == f"{stem}_eeg.vhdr"
        assert {
            f"{stem}_eeg.eeg",
            f"{stem}_eeg.vmrk",
            f"{stem}_channels.tsv",
            f"{stem}_eeg.json",
            f"sub-{sub}_ses-{ses}_space-CapTrak_electrodes.tsv",
        } <= set(names)
        assert not any(other in n for n in names for other in STEMS if other != stem)
    # one MNE Report per subject x session x task, its runs as sections (MNE-BIDS-Pipeline)
    assert reports(recs) == {
        "sub-01_ses-1_task-rest": STEMS[0:2],
        "sub-01_ses-2_task-rest": STEMS[2:4],
        "sub-02_ses-1_task-rest": STEMS[4:5],
    }


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"participant_label": ["01"]}, STEMS[:4]),
        ({"participant_label": ["sub-02"]}, STEMS[4:]),
        ({"exclude_participant_label": ["01"]}, STEMS[4:]),
        ({"participant_label": ["01"], "sessions": ["2"]}, STEMS[2:4]),
        ({"runs": [2]}, [STEMS[1], STEMS[3], STEMS[4]]),  # sub-02 has no run entity: kept
        ({"tasks": ["rest"], "runs": ["01"]}, [STEMS[0], STEMS[2], STEMS[4]]),
    ],
)
def test_selection_keys_filter_the_recordings(bids_root, keys, expected):
    assert list(eeg_recordings(_config(bids_root, **keys))) == expected


def test_session_filter_that_leaves_a_participant_out_is_said(bids_root):
    with pytest.warns(EEGSelectionNote, match=r"\['sub-02'\].*not processed by the EEG stage"):
        recs = eeg_recordings(_config(bids_root, sessions=["2"]))
    assert list(recs) == STEMS[2:4]
    with pytest.raises(
        BIDSInputError,
        match=r"config keys sessions / runs / tasks: no EEG "
        r"recording .* is left.*sessions=\['3'\]",
    ):
        eeg_recordings(_config(bids_root, sessions=["3"]))


def test_participant_without_eeg_is_an_error_naming_the_key_and_folder(bids_root, tmp_path):
    root = tmp_path / "bids"
    shutil.copytree(bids_root, root)
    anat = root / "sub-03/anat/sub-03_T1w.nii.gz"
    anat.parent.mkdir(parents=True)
    anat.write_bytes(b"")
    with pytest.raises(
        BIDSInputError,
        match=rf"config key bids_dir: {root} has no EEG "
        rf"recording .* \['sub-03'\]",
    ):
        check_eeg_inputs(_config(root))
    # leaving it out (or the stage off) is fine
    assert list(check_eeg_inputs(_config(root, exclude_participant_label=["03"]))) == STEMS
    assert check_eeg_inputs({**_config(root), "eeg": {"activate": False}}) == {}


def test_channels_tsv_without_required_columns_is_an_error_naming_the_file(bids_root, tmp_path):
    root = tmp_path / "bids"
    shutil.copytree(bids_root, root)
    tsv = root / "sub-01/ses-2/eeg/sub-01_ses-2_task-rest_run-1_channels.tsv"
    lines = [line.split("\t") for line in tsv.read_text().splitlines()]
    drop = lines[0].index("type")
    tsv.write_text("\n".join("\t".join(c for j, c in enumerate(row) if j != drop) for row in lines) + "\n")
    with pytest.raises(
        BIDSInputError,
        match=rf"config key bids_dir: {tsv} lacks column\(s\) "
        r"\['type'\]",
    ):
        check_eeg_inputs(_config(root))


def test_removed_per_stage_bids_keys_are_an_error():
    from neuroflow.eeg.inputs import CohortError

    with pytest.raises(CohortError, match=r"eeg.bids.root.*top-level bids_dir"):
        eeg_recordings({"eeg": {"bids": {"root": "/data/bids"}}})


# -- through Snakemake -----------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, bids_root) -> tuple[Path, str]:
    work = copy_workflow(tmp_path_factory.mktemp("eegwf") / "w", ROOT)
    base = yaml.safe_load((work / "config/config.yaml").read_text())
    over = {
        k: {"activate": False}
        for k, v in base.items()
        if isinstance(v, dict) and "activate" in v and k != "eeg"
    }
    over.update(
        {
            "bids_dir": str(bids_root),
            "eeg": {
                "activate": True,
                "embedded": {"activate": False},
                "simulate": {"n_subjects": 0},
                "features": {"connectivity": {"activate": False}},
            },
        }
    )
    # the FC benchmark on the EEG stage's cleaned recordings (alpha-band windows of 2 s)
    over["fc"] = {
        "activate": True,
        "use_benchmarks": ["eegalpha"],
        "benchmarks": {
            "eegalpha": {
                "source": "eeg",
                "window_length": 256,
                "window_stride": 128,
                "eeg": {"l_freq": 8.0, "h_freq": 13.0},
            }
        },
        "operators": ["corr_empirical", "spearman"],
        "tasks": ["subject_id"],
        "selectors": ["random"],
        "fractions": [0.5],
        "seeds": 1,
        "protocol": "insample",
    }  # 2 subjects: too few to hold any out
    (work / "config/eeg_bids.yaml").write_text(yaml.safe_dump(over))
    return work, "config/eeg_bids.yaml"


@pytest.mark.workflow
def test_dry_run_plans_one_job_per_recording_and_feeds_fc(workdir):
    work, cfg = workdir
    proc = run_snakemake(work, "-n", "--configfile", cfg)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    # one job per recording (preprocessing, features, connectivity); a report that holds
    # one recording (sub-02, no run) is written by that recording's job
    assert out.count("rule eeg_recording:") == len(STEMS) - 1
    assert out.count("rule eeg_recording_report:") == 1
    for stem, (sub, ses, _) in zip(STEMS, WRITTEN):
        assert f"results/sub-{sub}/ses-{ses}/eeg/{stem}_desc-clean_eeg.fif" in out
    assert out.count("rule eeg_report:") == 2
    assert "results/sub-01/ses-2/eeg/sub-01_ses-2_task-rest_report.html" in out
    assert "results/sub-02/ses-1/eeg/sub-02_ses-1_task-rest_report.html" in out
    # EEG -> FC through the DAG: the samples rule reads every cleaned recording, no raw file
    block = out[out.index("rule fc_samples:") :]
    inputs = block.splitlines()[1].removeprefix("    input: ").split(", ")
    assert inputs == [
        f"results/sub-{sub}/ses-{ses}/eeg/{stem}_desc-clean_eeg.fif"
        for stem, (sub, ses, _) in zip(STEMS, WRITTEN)
    ]


@pytest.mark.workflow
def test_one_recording_runs_through_preprocessing(workdir):
    import mne

    work, cfg = workdir
    stem = "sub-01_ses-2_task-rest_run-2"
    target = f"results/sub-01/ses-2/eeg/{stem}_desc-clean_eeg.fif"
    proc = run_snakemake(work, target, "--configfile", cfg, cores=1)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    summary = json.loads((work / f"results/sub-01/ses-2/eeg/{stem}_desc-preproc_eeg.json").read_text())
    assert summary["recording_id"] == stem and summary["kind"] == "bids"
    assert summary["entities"] == {"sub": "01", "ses": "2", "task": "rest", "run": "2"}
    assert Path(summary["recording"]).name == f"{stem}_eeg.vhdr"
    raw = mne.io.read_raw_fif(work / target, preload=True, verbose="error")
    assert stem in raw.info["description"]
    # the known alpha survives preprocessing: posterior spectra peak at 10 Hz
    psd = raw.compute_psd(picks=["O1", "O2", "Pz"], fmin=3.0, fmax=30.0, verbose="error")
    spectrum = psd.get_data().mean(axis=0)
    assert abs(psd.freqs[np.argmax(spectrum)] - ALPHA_HZ) <= 0.5
    assert spectrum.max() > 5 * np.median(spectrum)
    # only that recording was processed
    assert len(list((work / "results").rglob("*_desc-clean_eeg.fif"))) == 1


def test_fc_source_eeg_needs_the_eeg_stage():
    from neuroflow.eeg.inputs import CohortError, clean_eeg_files

    with pytest.raises(CohortError, match=r"config key fc.benchmarks.x.source: .*eeg.activate"):
        clean_eeg_files({"eeg": {"activate": False}}, "results", "fc.benchmarks.x.source")


def test_a_report_of_one_recording_is_written_by_that_recordings_job():
    """split_reports: the report of one recording whose name follows from the recording's
    (no run, or one run-<label>) goes with that recording's job; a report of several runs,
    or one whose name cannot be derived, stays a job of its own."""
    from neuroflow.eeg.inputs import reports, split_reports

    def rec(stem_, run=None):
        report = "_".join(p for p in stem_.split("_") if not p.startswith("run-"))
        return {"stem": stem_, "report": report, "entities": {"run": run} if run else {}}

    recs = {
        r["stem"]: r
        for r in [
            rec("sub-01_task-rest"),  # no run
            rec("sub-02_ses-1_task-rest_run-1", "1"),  # one run
            rec("sub-03_task-rest_run-1", "1"),
            rec("sub-03_task-rest_run-2", "2"),  # two runs
            rec("sub-04_task-rest"),
            rec("sub-04_task-rest_run-2", "2"),  # mixed
            rec("sub-05_task-rest_run-3_acq-x", "3"),
        ]
    }  # run not last: no
    recs["sub-05_task-rest_run-3_acq-x"]["report"] = "sub-05_task-rest_acq-x"
    shared, solo = split_reports(recs, reports(recs))
    assert solo == {"": ["sub-01_task-rest"], "1": ["sub-02_ses-1_task-rest"]}
    assert sorted(shared) == [
        "sub-03_task-rest_run-1",
        "sub-03_task-rest_run-2",
        "sub-04_task-rest",
        "sub-04_task-rest_run-2",
        "sub-05_task-rest_run-3_acq-x",
    ]
