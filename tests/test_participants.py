"""The common participants sheet (workflow/schemas/participants.schema.yaml) and the
include/exclude selection of the fmri and eeg stages; the fc label sheets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from neuroflow.devtools import copy_workflow, run_snakemake, set_active_stages
from neuroflow.eeg.inputs import eeg_recordings
from neuroflow.fmri.index import build_index
from neuroflow.participants import (
    ParticipantsError,
    check_id_columns,
    check_participant_sheets,
    read_participants,
    select_participants,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/participants.schema.yaml"


def write_sheet(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    return path


def test_valid_sheet_passes_with_sessions_groups_and_extra_columns(tmp_path):
    sheet = write_sheet(
        tmp_path / "participants.tsv",
        [
            ["participant_id", "session", "group", "label", "age"],
            ["sub-01", "ses-1", "control", "first visit", "31"],
            ["sub-01", "ses-2", "control", "", "31"],
            ["sub-HC02", "1", "patient", "n/a", "n/a"],
        ],
    )
    table = read_participants(sheet, SCHEMA)
    assert table["sub"].tolist() == ["01", "01", "HC02"]
    assert table["group"].tolist() == ["control", "control", "patient"]
    assert table["age"].tolist() == ["31", "31", "n/a"]


@pytest.mark.parametrize(
    "rows, where",
    [
        # duplicate participant_id (no session column)
        (
            [["participant_id", "group"], ["sub-01", "a"], ["sub-02", "b"], ["sub-01", "c"]],
            ["lines [2, 4]", "participant_id", "unique"],
        ),
        # duplicate participant x session
        (
            [["participant_id", "session"], ["sub-01", "1"], ["sub-01", "1"]],
            ["lines [2, 3]", "participant_id/session"],
        ),
        # id without the sub- prefix
        ([["participant_id"], ["sub-01"], ["02"]], ["line 3", "column 'participant_id'", "'02'"]),
        # id with a character BIDS labels do not allow
        ([["participant_id"], ["sub-01_a"]], ["line 2", "column 'participant_id'"]),
        # bad session label
        (
            [["participant_id", "session"], ["sub-01", "ses-1"], ["sub-02", "ses_2"]],
            ["line 3", "column 'session'"],
        ),
        # missing required column
        ([["subject", "group"], ["sub-01", "a"]], ["missing required column", "participant_id"]),
    ],
)
def test_bad_sheet_fails_naming_file_row_and_column(tmp_path, rows, where):
    sheet = write_sheet(tmp_path / "bad_participants.tsv", rows)
    with pytest.raises(ParticipantsError) as err:
        read_participants(sheet, SCHEMA)
    msg = str(err.value)
    assert str(sheet) in msg
    for part in where:
        assert part in msg, msg


def test_fmri_run_sheet_ids_follow_the_common_schema(tmp_path):
    check_id_columns(ROOT / "resources/fmri/demo_runs.tsv", schema=SCHEMA)  # the demo sheet is valid
    bad = write_sheet(
        tmp_path / "runs.tsv", [["sub", "ses", "timeseries"], ["01", "1", "a.csv"], ["02", "pre-op", "b.csv"]]
    )
    with pytest.raises(ParticipantsError, match=r"runs.tsv, line 3, column 'ses'"):
        check_id_columns(bad, schema=SCHEMA)
    bad = write_sheet(tmp_path / "runs2.tsv", [["sub", "timeseries"], ["sub-01", "a.csv"]])
    with pytest.raises(ParticipantsError, match=r"runs2.tsv, line 2, column 'sub'"):
        check_id_columns(bad, schema=SCHEMA)


def test_selection_is_sheet_then_include_then_exclude(tmp_path):
    labels = ["01", "02", "03", "04"]
    sheet = write_sheet(
        tmp_path / "p.tsv", [["participant_id"], ["sub-02"], ["sub-03"], ["sub-04"], ["sub-99"]]
    )  # 99: no data in this stage, ignored
    assert select_participants(labels, {}, "x") == labels
    assert select_participants(labels, {"sheet": str(sheet)}, "x", SCHEMA) == ["02", "03", "04"]
    assert select_participants(labels, {"sheet": str(sheet), "exclude": ["sub-03"]}, "x", SCHEMA) == [
        "02",
        "04",
    ]
    assert select_participants(labels, {"include": ["01", "sub-03"], "exclude": ["03"]}, "x") == ["01"]
    with pytest.raises(ParticipantsError, match=r"config key eeg.participants.exclude: .*'05'"):
        select_participants(labels, {"exclude": ["05"]}, "eeg.participants")
    with pytest.raises(ParticipantsError, match="no participant left"):
        select_participants(labels, {"include": ["01"], "exclude": ["01"]}, "x")


def test_eeg_recordings_apply_the_selection(tmp_path):
    eeg = {
        "embedded": {"activate": True, "subject": "phyaat"},
        "simulate": {"n_subjects": 3, "prefix": "sim"},
    }

    def subjects():
        return [r["sub"] for r in eeg_recordings({"eeg": eeg}).values()]

    assert subjects() == ["phyaat", "sim01", "sim02", "sim03"]
    eeg["participants"] = {"exclude": ["sub-sim02"]}
    assert subjects() == ["phyaat", "sim01", "sim03"]
    sheet = write_sheet(
        tmp_path / "p.tsv", [["participant_id", "group"], ["sub-sim01", "a"], ["sub-sim03", "b"]]
    )
    eeg["participants"] = {"sheet": str(sheet)}
    assert subjects() == ["sim01", "sim03"]


def test_fmri_index_keeps_only_selected_participants(tmp_path):
    rng = np.random.default_rng(0)
    rows = [["sub", "task", "timeseries", "t_r", "atlas"]]
    for sub in ("A1", "B2", "C3"):
        np.savetxt(tmp_path / f"{sub}.csv", rng.standard_normal((20, 3)), delimiter=",")
        rows.append([sub, "rest", str(tmp_path / f"{sub}.csv"), "2.0", "toy"])
    rows.append(["D4", "rest", str(tmp_path / "missing.csv"), "2.0", "toy"])  # excluded: file absent
    sheet = write_sheet(tmp_path / "runs.tsv", rows)
    index = build_index(
        sheet, strategies=["minimal"], participants={"include": [], "exclude": ["B2", "sub-D4"]}
    )
    assert index["sub"].tolist() == ["A1", "C3"]
    assert index["stem"].tolist() == ["sub-A1_task-rest", "sub-C3_task-rest"]
    with pytest.raises(ValueError, match="missing.csv"):  # not excluded: its missing file is an error
        build_index(sheet, strategies=["minimal"], participants={"exclude": ["B2"]})


def test_check_participant_sheets_covers_activated_stages_only(tmp_path):
    bad = write_sheet(tmp_path / "bad.tsv", [["participant_id"], ["sub-1"], ["sub-1"]])
    config = {"eeg": {"activate": False, "participants": {"sheet": str(bad)}}}
    check_participant_sheets(config, SCHEMA)
    config["eeg"]["activate"] = True
    with pytest.raises(ParticipantsError, match="bad.tsv"):
        check_participant_sheets(config, SCHEMA)


def test_fc_label_sheets_are_checked_with_their_label_column(tmp_path):
    sheet = write_sheet(
        tmp_path / "p.tsv", [["participant_id", "diagnosis"], ["sub-01", "MDD"], ["sub-02", "HC"]]
    )
    bench = {"source": "runs", "participants": str(sheet), "label_column": "diagnosis"}
    config = {"fc": {"activate": True, "benchmarks": {"mdd": bench}}}
    check_participant_sheets(config, SCHEMA)
    bench["label_column"] = "group"
    with pytest.raises(ParticipantsError, match=r"p.tsv.*fc.benchmarks.mdd.*'group' not found"):
        check_participant_sheets(config, SCHEMA)
    write_sheet(sheet, [["participant_id", "diagnosis"], ["01", "MDD"]])
    with pytest.raises(ParticipantsError, match=r"p.tsv, line 2, column 'participant_id'"):
        check_participant_sheets(config, SCHEMA)


@pytest.fixture(scope="module")
def eeg_workdir(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("participants"), ROOT)
    set_active_stages(work, ["eeg"])
    return work


def _eeg_cohort(work: Path, sheet_rows) -> Path:
    write_sheet(work / "participants.tsv", sheet_rows)
    cohort = work / "config/cohorts/sheet.yaml"
    cohort.write_text(
        yaml.safe_dump(
            {
                "eeg": {
                    "embedded": {"activate": True},
                    "simulate": {"n_subjects": 3},
                    "participants": {"sheet": "participants.tsv"},
                }
            }
        )
    )
    return cohort


@pytest.mark.workflow
def test_workflow_stops_on_a_bad_sheet_before_any_job(eeg_workdir):
    cohort = _eeg_cohort(eeg_workdir, [["participant_id"], ["sub-sim01"], ["sub-sim01"]])
    proc = run_snakemake(eeg_workdir, "-n", "--configfile", str(cohort))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "participants.tsv, lines [2, 3], column 'participant_id'" in out
    assert "Job stats" not in out  # failed while parsing: no DAG, no job


@pytest.mark.workflow
def test_workflow_runs_only_the_sheets_participants(eeg_workdir):
    cohort = _eeg_cohort(eeg_workdir, [["participant_id", "group"], ["sub-sim01", "a"], ["sub-sim03", "b"]])
    proc = run_snakemake(eeg_workdir, "-n", "--configfile", str(cohort))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sub-sim01_task-rest_desc-clean_eeg.fif" in proc.stdout
    assert "sub-sim03_task-rest_desc-clean_eeg.fif" in proc.stdout
    assert "sub-sim02" not in proc.stdout and "sub-phyaat" not in proc.stdout
