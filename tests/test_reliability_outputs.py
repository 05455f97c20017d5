"""Outputs the group can read, no temp file after a failed write, config errors on one screen.

Issue 18, items 4 and 8: every atomic writer gives its file the mode an ordinary new file
gets under the process umask (``mkstemp`` alone gives 0600); a writer that fails leaves
neither its temporary file nor a target; an unknown config key is named with a
did-you-mean, a bad value on one line; a YAML syntax error names file, line and column.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from neuroflow import provenance
from neuroflow.config import ConfigError, check_keys, check_yaml_files, layer
from neuroflow.devtools import copy_workflow, demo_config, run_snakemake
from neuroflow.schema_docs import load_schema

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=[(0o022, 0o644), (0o027, 0o640)], ids=["umask022", "umask027"])
def umask(request):
    """Run the test under a umask; yield the mode a new file must get."""
    mask, mode = request.param
    old = os.umask(mask)
    provenance.process_umask.cache_clear()
    try:
        yield mode
    finally:
        os.umask(old)
        provenance.process_umask.cache_clear()


def _mode(path) -> int:
    return stat.S_IMODE(Path(path).stat().st_mode)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _write_json(out):
    provenance.write_json({"b": 1, "a": [1, 2]}, out / "x.json")
    return [out / "x.json"]


def _write_tsv(out):
    provenance.write_tsv(
        pd.DataFrame({"x": [1.5, 2.0]}), out / "t.tsv", "a table", {"x": "x (s)"}, simulated=False
    )
    return [out / "t.tsv", out / "t.json"]


def _write_netcdf(out):
    provenance.write_netcdf(
        xr.Dataset({"v": ("t", np.arange(4.0))}),
        out / "d.nc",
        simulated=False,
        variables={"v": ("value", "1")},
    )
    return [out / "d.nc"]


def _save_nifti(out):
    import nibabel as nib

    from neuroflow.rsa.taskfmri import _save_nifti

    _save_nifti(nib.Nifti1Image(np.zeros((2, 2, 2, 2)), np.eye(4)), out / "b.nii.gz")
    return [out / "b.nii.gz"]


def _save_fif(out):
    import mne

    from neuroflow.eeg.pipeline import save_fif

    info = mne.create_info(["a", "b"], 100.0, "eeg")
    save_fif(mne.io.RawArray(np.zeros((2, 50)), info, verbose="error"), out / "s_raw.fif")
    return [out / "s_raw.fif"]


def _save_png(out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuroflow.report.figures import _save

    fig = plt.figure(figsize=(1, 1))
    _save(fig, out / "f.png")
    plt.close(fig)
    return [out / "f.png"]


def _label_gifti(out):
    from neuroflow.fmri.atlases import write_label_gifti

    write_label_gifti(np.array([0, 1, 1]), {0: "???", 1: "A"}, out / "a.label.gii", "L")
    return [out / "a.label.gii"]


def _extracted(out):
    from neuroflow.resources import _extract

    tree = out / "tree"
    tree.mkdir()
    (tree / "f.txt").write_bytes(b"data\n")
    entry = {"path": "f.txt", "sha256": hashlib.sha256(b"data\n").hexdigest()}
    _extract(tree, False, "toy", [(entry, out / "data" / "f.txt")])
    return [out / "data" / "f.txt"]


WRITERS = [
    _write_json,
    _write_tsv,
    _write_netcdf,
    _save_nifti,
    _save_fif,
    _save_png,
    _label_gifti,
    _extracted,
]


@pytest.mark.parametrize("writer", WRITERS, ids=[w.__name__.lstrip("_") for w in WRITERS])
def test_written_files_get_the_umask_mode_not_0600(tmp_path, umask, writer):
    files = writer(tmp_path)
    assert {f.name: oct(_mode(f)) for f in files} == {f.name: oct(umask) for f in files}
    for folder in {f.parent for f in files}:
        assert _leftovers(folder) == [], folder


def test_umask_is_read_without_changing_it():
    provenance.process_umask.cache_clear()
    old = os.umask(0o027)
    try:
        provenance.process_umask.cache_clear()
        assert provenance.process_umask() == 0o027
        assert provenance.file_mode() == 0o640
        assert os.umask(0o027) == 0o027  # still set after the read
    finally:
        os.umask(old)
        provenance.process_umask.cache_clear()


class _Unprintable:
    def __str__(self):
        raise RuntimeError("cannot format this cell")

    __repr__ = __str__
    __format__ = None


def _failing_tsv(out):
    table = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", _Unprintable()]})
    provenance.write_tsv(table, out / "t.tsv", "a table", {"x": "x", "y": "y"}, simulated=False)
    return ["t.tsv", "t.json"]


def _failing_netcdf(out):
    provenance.write_netcdf(
        xr.Dataset({"v": ("t", np.arange(3.0))}, attrs={"bad": {"a": 1}}),
        out / "d.nc",
        simulated=False,
        variables={"v": ("value", "1")},
    )
    return ["d.nc"]


def _failing_json(out):
    loop: dict = {}
    loop["self"] = loop
    provenance.write_json(loop, out / "x.json")
    return ["x.json"]


def _failing_body(out):
    with provenance.atomic_write(out / "y.txt") as tmp:
        tmp.write_text("half")
        raise OSError("disk full")


FAILING = [_failing_tsv, _failing_netcdf, _failing_json, _failing_body]


@pytest.mark.parametrize("writer", FAILING, ids=[w.__name__.lstrip("_") for w in FAILING])
def test_failed_write_leaves_no_temp_file_and_no_target(tmp_path, writer):
    with pytest.raises((RuntimeError, TypeError, ValueError, OSError)):
        writer(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_complete_file(tmp_path):
    provenance.write_json({"old": True}, tmp_path / "x.json")
    with pytest.raises(OSError, match="disk full"), provenance.atomic_write(tmp_path / "x.json") as tmp:
        tmp.write_text("{")
        raise OSError("disk full")
    assert json.loads((tmp_path / "x.json").read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


# -- config errors -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema():
    return load_schema(ROOT / "workflow/schemas/config.schema.yaml")


@pytest.fixture(scope="module")
def demo():
    return demo_config(ROOT)


def test_every_shipped_cohort_passes_the_key_check(schema):
    base = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for cohort in sorted((ROOT / "config/cohorts").glob("*.yaml")):
        config = layer(base, yaml.safe_load(cohort.read_text()) or {})
        before = json.dumps(config, sort_keys=True, default=str)
        check_keys(config, schema)
        assert json.dumps(config, sort_keys=True, default=str) == before, cohort  # untouched


@pytest.mark.parametrize(
    "overlay, expected",
    [
        ({"resutls_dir": "x"}, "config key resutls_dir: unknown key; did you mean 'results_dir'?"),
        (
            {"eeg": {"preprocesing": {}}},
            "config key eeg.preprocesing: unknown key; did you mean 'eeg.preprocessing'?",
        ),
        (
            {"connectome": {"sources": {"A": {"datset": "x", "paths": ["a.csv"]}}}},
            "config key connectome.sources.A.datset: unknown key; did you mean "
            "'connectome.sources.A.dataset'?",
        ),
        (
            {"analysis_level": "participants"},
            "config key analysis_level: 'participants' is not one of ['participant', 'group']",
        ),
        ({"resources": {"manifest": 3}}, "config key resources.manifest: 3 is not of type 'string'"),
    ],
)
def test_config_error_names_the_key_on_one_line(schema, demo, overlay, expected):
    with pytest.raises(ConfigError) as err:
        check_keys(layer(demo, overlay), schema)
    assert str(err.value) == expected


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(schema, demo):
    with pytest.raises(ConfigError) as err:
        check_keys(layer(demo, {"eeg": {"preprocessing": {"zzz": 1}}}), schema)
    assert str(err.value).startswith("config key eeg.preprocessing.zzz: unknown key; allowed here: ")
    assert "filter" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "text, where",
    [
        (
            "results_dir: x\nconnectome:\n  activate: true\n   bad: [1, 2\n",
            ":4:7: mapping values are not allowed here",
        ),
        ("results_dir: x\n\tconnectome: {}\n", ":2:1: "),
        ("results_dir: x\nresults_dir: y\n", ":2:1: duplicate key 'results_dir' (first at line 1)"),
    ],
)
def test_yaml_error_names_file_line_and_column(tmp_path, text, where):
    bad = tmp_path / "cohort.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as err:
        check_yaml_files([bad])
    assert str(err.value).startswith(f"{bad}{where}")


def test_neuroflow_run_stops_on_a_yaml_error_before_snakemake(tmp_path, capsys):
    from neuroflow.cli import main

    bad = tmp_path / "cohort.yaml"
    bad.write_text("eeg:\n  activate: true\n   x: 1\n")
    out = tmp_path / "out"
    assert main(["run", str(tmp_path), str(out), "participant", "--config", str(bad)]) == 1
    assert capsys.readouterr().err.startswith(f"neuroflow: error: {bad}:3:5: ")
    assert not out.exists()  # nothing written, snakemake not started


@pytest.mark.workflow
def test_snakemake_names_a_mistyped_key_on_one_screen(tmp_path):
    work = copy_workflow(tmp_path / "wf", ROOT, cohort=None)
    typo = tmp_path / "typo.yaml"
    typo.write_text("resutls_dir: elsewhere\n")
    proc = run_snakemake(work, "-n", "--configfile", str(typo))
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config key resutls_dir: unknown key; did you mean 'results_dir'?" in text
    assert len(text.splitlines()) < 15, text
