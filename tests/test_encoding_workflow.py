"""The encoding stage through Snakemake: outputs, no-op rerun, determinism, a broken file.

Runs in a scratch copy of the workflow with only the encoding stage activated: the real
grasshopper receptor experiment (held-out correlation against its shuffled baseline) and
a small attention-routing run on the SIMULATED routing set, on the CPU.
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
PREFIX = "results/sub-locust1/ephys/sub-locust1_task-amnoise_desc-grasshopper"
GROUP = "results/group/encoding"


def run(workdir: Path, *args, check=True):
    proc = run_snakemake(workdir, *args)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def make_workdir(dest: Path, extra_experiments: dict | None = None) -> Path:
    work = copy_workflow(dest, ROOT)
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    for section in cfg.values():  # only the encoding stage
        if isinstance(section, dict) and "activate" in section:
            section["activate"] = False
    cfg["connectome"] = {**cfg["connectome"], "activate": False}
    enc = cfg["encoding"]
    enc.update(activate=True, device="cpu", run=["grasshopper"])
    enc["ridge"]["alphas"] = {"min_log10": -1, "max_log10": 7, "n": 5}
    gh = enc["experiments"]["grasshopper"]
    gh.update(n_inner_folds=2, permutation={"mode": "refit_fixed", "n": 200, "min_shift_s": 0.2})
    enc["attention"]["simulation"]["n_stimuli"] = 100
    enc["attention"].update(epochs=4, n_folds=2, d_model=16, dim_feedforward=16)
    if extra_experiments:
        enc["experiments"].update(extra_experiments)
        enc["run"] = ["grasshopper", *extra_experiments]
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return work


def digests(root: Path) -> dict[str, str]:
    files = [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and p.suffix in {".nc", ".tsv", ".json", ".png"}
        and ("encoding" in str(p) or "/sub-" in str(p))
    ]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = make_workdir(tmp_path_factory.mktemp("encoding"))
    run(work)
    return work


def test_grasshopper_prediction_beats_its_shuffled_baseline(demo):
    scores = pd.read_csv(demo / f"{PREFIX}_scores.tsv", sep="\t")
    row = scores.iloc[0]
    assert row["target"] == "receptor"
    assert row["r"] > 0.25 and row["r"] > row["null_p95"] + 0.15
    assert abs(row["null_mean"]) < 0.05 and row["p"] < 0.01
    side = json.loads((demo / f"{PREFIX}_scores.json").read_text())
    assert side["Compute"] == {
        "device": "cpu",
        "device_name": "cpu",
        "backend": "numpy",
        "peak_gpu_memory_mib": "n/a",
    }
    assert side["Parameters"]["lags_samples"] == [0, 1, 2, 3, 4, 5, 6]
    with xr.open_dataset(demo / f"{PREFIX}_encoding.nc", engine="h5netcdf") as ds:
        assert ds["r"].dims == ("fold", "target") and ds.sizes["fold"] == 5
        assert ds.sizes["permutation"] == 200 and ds["coef"].dims == ("lag", "feature", "target")
        assert json.loads(ds.attrs["compute"])["device"] == "cpu"
        assert json.loads(ds.attrs["inputs"])[0]["file"].endswith("_design.nc")
    with xr.open_dataset(demo / f"{PREFIX}_design.nc", engine="h5netcdf") as ds:
        assert ds.attrs["simulated"] == 0
        files = [f["file"] for f in json.loads(ds.attrs["inputs"])]
        assert files[:2] == ["grasshopper_stimulus1.txt", "grasshopper_spike_times1.txt"]
    side = json.loads((demo / f"{PREFIX}_encoding.json").read_text())
    assert side["Compute"]["device"] == "cpu" and side["Simulated"] is False
    assert side["PermutationNull"]["mode"] == "refit_fixed" and side["PermutationNull"]["calibrated"]
    assert side["PermutationNull"]["reproduction_error"] < 1e-8 and side["Warnings"] == []
    assert {"r2_level", "r2_onset", "alpha"} <= set(scores.columns)  # ridge: one penalty
    assert (demo / f"{PREFIX}_encoding.png").read_bytes()[:4] == b"\x89PNG"


def test_attention_outputs_are_labelled_simulated_with_compute_record(demo):
    table = pd.read_csv(demo / f"{GROUP}/desc-routing_scores.tsv", sep="\t")
    assert set(table["region"]) == {"fixedA", "fixedB", "fixedC", "moving1"}
    assert set(table["model"]) == {"attention routing", "ridge (kernel_ridge)"}
    side = json.loads((demo / f"{GROUP}/desc-routing_scores.json").read_text())
    assert "SIMULATED" in side["TableDescription"] and side["Simulated"] is True
    assert side["Compute"]["peak_gpu_memory_mib"] == "n/a"
    side = json.loads((demo / f"{GROUP}/desc-routing_encoding.json").read_text())
    assert side["Simulated"] is True and side["Description"].startswith("SIMULATED")
    with xr.open_dataset(demo / f"{GROUP}/desc-routing_encoding.nc", engine="h5netcdf") as ds:
        assert ds.attrs["simulated"] == 1
        att = ds["attention"].values
        assert att.shape == (100, 4, 6, 6)
        np.testing.assert_allclose(att.sum(axis=(2, 3)), 1, atol=1e-5)
    att_rows = table[table["model"] == "attention routing"]
    assert att_rows["attention_flat"].all()  # 4 epochs: nearly flat maps, no peak
    assert (att_rows["attention_peak_row"] == -1).all() and (att_rows["attention_entropy"] > 0.9).all()
    assert len(side["Warnings"]) == 4 and "flat" in side["Warnings"][0]
    for png in ("desc-routing_attention.png", "desc-routing_comparison.png"):
        assert (demo / GROUP / png).read_bytes()[:4] == b"\x89PNG"
    methods = (demo / "results/group/desc-methods_report.html").read_text()
    assert "Rokem A" in methods and "Adeli H" in methods and "himalaya" in methods


def test_second_run_does_nothing(demo):
    proc = run(demo, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_rebuilt_stage_outputs_are_byte_identical(demo):
    res = demo / "results"
    before = digests(res)
    assert len(before) >= 12
    shutil.rmtree(res / "group/encoding")
    shutil.rmtree(res / "sub-locust1")
    run(demo)
    assert digests(res) == before


def test_broken_feature_file_fails_alone_and_leaves_nothing_partial(tmp_path):
    work = make_workdir(
        tmp_path / "w",
        {
            "broken": {
                "reader": "files",
                "paths": ["feats.npy", "resp.npy"],
                "subject": "user",
                "task": "x",
                "options": {"rate": 10.0},
            }
        },
    )
    np.save(work / "feats.npy", np.array([[1.0, np.nan]] * 40))
    np.save(work / "resp.npy", np.zeros((40, 2)))
    targets = [f"{PREFIX}_design.nc", "results/sub-user/ephys/sub-user_task-x_desc-broken_design.nc"]
    proc = run(work, "--keep-going", *targets, check=False)
    assert proc.returncode != 0
    assert (work / targets[0]).exists() and not (work / targets[1]).exists()
    assert not [p for p in (work / "results").rglob(".*.part")]
    log = (work / "results/logs/encoding/broken_design.log").read_text()
    assert "feats.npy" in log and "non-finite" in log


def test_every_output_follows_the_output_stamp(demo):
    """BIDS tabular sidecars, the NetCDF attribute schema and the one ``simulated`` encoding
    on every output of the run (units parsed by pint)."""
    import pint

    from neuroflow.output_schema import check_output_tree

    problems = check_output_tree(demo / "results", parse_units=pint.UnitRegistry().parse_units)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
