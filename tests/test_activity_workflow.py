"""The activity stage through Snakemake: outputs, no-op rerun, determinism, a broken file.

Runs in a scratch copy of the workflow with two connectome sources (the structure-function
rules take the connectome stage's outputs), the real suite2p NWB recording and a simulated
worm recording in TSV (labelled simulated).
"""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from neuroflow.devtools import copy_workflow, run_snakemake

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow
SOURCES = ("white1986whole", "witvliet2021animal8")


def run(workdir: Path, *args, check=True):
    proc = run_snakemake(workdir, *args)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def simulated_worm(path: Path, n: int = 1000, rate: float = 4.0):
    rng = np.random.default_rng(7)
    t = np.arange(n) / rate
    drive = np.sin(2 * np.pi * 0.03 * t)
    cols = {"time": t}
    for k, lab in enumerate(["AVAL", "AVAR", "RIML", "RIMR", "AS01", "SMDD?", "unk"]):
        cols[lab] = 5 + (1 if k < 4 else 0.2) * drive + 0.3 * rng.standard_normal(n)
    pd.DataFrame(cols).to_csv(path, sep="\t", index=False)


def make_workdir(dest: Path, recordings: dict) -> Path:
    work = copy_workflow(dest, ROOT)
    simulated_worm(work / "simworm.tsv")
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["connectome"]["sources"] = {s: cfg["connectome"]["sources"][s] for s in SOURCES}
    act = cfg["activity"]
    act["activate"] = True
    act["recordings"] = recordings
    act["structure_function"]["n_bootstrap"] = 100
    for stage, section in cfg.items():  # only connectome + activity
        if isinstance(section, dict) and "activate" in section and stage not in ("activity", "connectome"):
            section["activate"] = False
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return work


RECORDINGS = {
    "suite2pnwb": {
        "reader": "nwb",
        "dataset": "pynapple_suite2p_nwb",
        "reader_options": {"series": "Fluorescence"},
    },
    "simworm": {
        "reader": "table",
        "paths": ["simworm.tsv"],
        "simulated": True,
    },  # the test's own synthetic recording
}


def digests(root: Path) -> dict[str, str]:
    files = [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and p.suffix in {".nc", ".tsv", ".json", ".png"}
        and ("activity" in str(p) or "/sub-" in str(p))
    ]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = make_workdir(tmp_path_factory.mktemp("activity"), RECORDINGS)
    run(work)
    return work


def test_stage_outputs_are_well_formed(demo):
    res = demo / "results"
    index = pd.read_csv(res / "group/activity/desc-recordings_index.tsv", sep="\t")
    assert index["recording"].tolist() == ["simworm", "suite2pnwb"]
    worm = index.set_index("recording").loc["simworm"]
    assert (worm["n_labelled"], worm["n_unlabelled"], worm["n_ambiguous"]) == (5, 2, 1)
    assert worm["native_rate_hz"] == pytest.approx(4.0) and bool(worm["simulated"]) is True
    mouse = index.set_index("recording").loc["suite2pnwb"]
    assert (mouse["n_samples_native"], mouse["n_samples"], mouse["n_neurons"]) == (2000, 601, 20)
    with xr.open_dataset(
        res / "sub-simworm/ophys/sub-simworm_desc-homogenized_activity.nc", engine="h5netcdf"
    ) as ds:
        assert list(ds["neuron"].values[:5]) == ["AS1", "AVAL", "AVAR", "RIML", "RIMR"]
        assert ds["activity"].dims == ("time", "neuron") and ds.attrs["step_s"] == 0.333
        assert json.loads(ds.attrs["inputs"])[0]["file"] == "simworm.tsv"
    with xr.open_dataset(
        res / "sub-simworm/ophys/sub-simworm_desc-fc_connectivity.nc", engine="h5netcdf"
    ) as fc:
        assert float(fc["fc"].sel(neuron="AVAL", neuron_j="AVAR")) > 0.5  # shared drive
    stats = pd.read_csv(res / "group/activity/desc-structurefunction_stats.tsv", sep="\t")
    assert set(stats["connectome"]) == {*SOURCES, "consensus"}
    syn = stats.query("statistic == 'auroc' and predictor == 'synapse' and strain == 'wt'")
    assert (syn["ci_low"] > 0.5).all() and (syn["value"] < 0.75).all()
    fcan = pd.read_csv(res / "group/activity/desc-fcanatomy_stats.tsv", sep="\t")
    assert fcan.set_index("recording").loc["simworm", "n_labelled"] == 5
    for png in (
        "desc-structurefunction_auroc.png",
        "desc-structurefunction_hops.png",
        "desc-recordings_fc.png",
    ):
        assert (res / "group/figures" / png).read_bytes()[:4] == b"\x89PNG"
    methods = (res / "group/desc-methods_report.html").read_text()
    assert "Randi F" in methods and "resample_poly" in methods and "Viejo G" in methods


def test_second_run_does_nothing(demo):
    proc = run(demo, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_rebuilt_stage_outputs_are_byte_identical(demo):
    res = demo / "results"
    before = digests(res)
    assert len(before) > 10
    shutil.rmtree(res / "group/activity")
    for sub in res.glob("sub-*"):
        shutil.rmtree(sub)
    run(demo)
    assert digests(res) == before


def test_broken_recording_fails_alone_and_leaves_nothing_partial(tmp_path):
    recordings = {"simworm": RECORDINGS["simworm"], "broken": {"reader": "table", "paths": ["broken.tsv"]}}
    work = make_workdir(tmp_path / "w", recordings)
    (work / "broken.tsv").write_text("time\tAVAL\n0\t1\n0.25\tnot-a-number\n")
    targets = [f"results/sub-{r}/ophys/sub-{r}_desc-homogenized_activity.nc" for r in recordings]
    proc = run(work, "--keep-going", *targets, check=False)
    assert proc.returncode != 0
    assert (work / targets[0]).exists() and not (work / targets[1]).exists()
    assert not list((work / "results/sub-broken").rglob("*.nc"))
    assert not [p for p in (work / "results").rglob(".*.part")]
    log = (work / "results/logs/activity/sub-broken_homogenize.log").read_text()
    assert "broken.tsv" in log and "non-numeric" in log
    assert "broken.tsv" in proc.stdout + proc.stderr


def test_every_output_follows_the_output_stamp(demo):
    """BIDS tabular sidecars, the NetCDF attribute schema and the one ``simulated`` encoding
    on every output of the run (units parsed by pint)."""
    import pint

    from neuroflow.output_schema import check_output_tree

    problems = check_output_tree(demo / "results", parse_units=pint.UnitRegistry().parse_units)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
