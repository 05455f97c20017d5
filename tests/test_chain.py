"""One cohort in, the whole chain runs (issue 17): a small SIMULATED cohort in real BIDS
formats (mne-bids EEG, fMRIPrep-style derivatives, task events, NWB units) goes through
``neuroflow run``; the DAG wires the stages to each other."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from neuroflow.bids import Selection, query
from neuroflow.synthetic_bids import write_cohort

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
    proc = subprocess.run([exe, str(cohort["bids_dir"]), "--json"], capture_output=True,
                          text=True, timeout=300)
    report = json.loads(proc.stdout)
    errors = [(e["key"], [f["file"]["relativePath"] for f in e["files"]][:3])
              for e in report["issues"]["errors"]]
    assert errors == []


def test_synthetic_cohort_is_indexed_with_its_entities(cohort):
    sel = Selection.from_config({"bids_dir": str(cohort["bids_dir"])})
    eeg = query(cohort["bids_dir"], sel, datatype="eeg", suffix="eeg", extension=".vhdr")
    assert [(r["sub"], r.get("ses"), r["run"]) for r in eeg] == [
        ("01", "1", "1"), ("01", "1", "2"), ("01", "2", "1"), ("01", "2", "2"), ("02", "1", "1")]
    bold = query(cohort["fmriprep"], sel, True, "derivatives[0]", suffix="bold",
                 desc="preproc", extension=".nii.gz")
    assert sorted({r["res"] for r in bold}) == ["1", "2"] and len(bold) == 8   # 2 subjects x 2 runs x 2 res
    nwb = query(cohort["bids_dir"], sel, extension=".nwb")
    assert [r["sub"] for r in nwb] == ["01", "02"]
