"""Bi-clustering files: the activity stage's counts of the real recording, chain/merge files,
the workflow (the real recording read by the activity stage, the simulation by the stage)."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from neuroflow.activity.spikes import read_nwb_counts
from neuroflow.bicluster import pipeline as P
from neuroflow.bicluster.counts import counts_from_activity

REPO = Path(__file__).resolve().parents[1]
DATASET = "pynapple_a2929_neurosuite"


@pytest.fixture(scope="module")
def nwb_file() -> Path:
    """The real head-direction NWB file (pynapple 0.11.4 sdist), fetched and sha256-checked."""
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources/datasets.yaml")
    try:
        return fetch_dataset(manifest, DATASET, REPO / "resources/data")[0]
    except Exception as exc:  # no network and no cache
        pytest.fail(f"cannot fetch {DATASET}: {type(exc).__name__}: {exc}")


def test_nwb_counts_keep_every_spike_and_label_the_epochs(nwb_file):
    import h5py

    ds = counts_from_activity(read_nwb_counts(nwb_file, bin_width=2.0), path=nwb_file)
    with h5py.File(nwb_file, "r") as h5:
        n_spikes = h5["units/spike_times"].shape[0]
        locations = [v.decode() for v in h5["units/location"][:]]
    assert ds["counts"].shape == (15, 600)
    assert int(ds["counts"].sum()) == n_spikes          # all spikes lie in 0-1200 s
    assert list(ds["region"].values) == locations
    assert set(ds["epoch"].values) == {"sleep", "wake"}
    assert (ds["epoch"].values[ds["time"].values < 600] == "sleep").all()
    hd = ds["head_direction"].values
    assert np.isnan(hd[ds["time"].values < 600]).all()  # head tracked during wake only
    assert np.nanmin(hd) >= 0 and np.nanmax(hd) <= 2 * np.pi


def test_unreadable_nwb_fails_naming_the_file(tmp_path):
    bad = tmp_path / "broken.nwb"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match="broken.nwb"):
        read_nwb_counts(bad, bin_width=1.0)


def test_chain_and_merge_files_are_labelled_and_reproducible(tmp_path):
    spec = {"simulate": {"n_clusters": 2, "neurons_per_cluster": 4, "n_time": 80}, "seed": 3}
    P.write_counts("sim", spec, [], tmp_path / "counts.nc")
    settings = {"n_iter": 8, "burn_in": 4, "state_warmup": 2}
    for c in range(2):
        P.write_chain(tmp_path / "counts.nc", tmp_path / f"c{c}.nc", settings, seed=1, chain=c)
    P.write_chain(tmp_path / "counts.nc", tmp_path / "again.nc", settings, seed=1, chain=0)
    assert (tmp_path / "c0.nc").read_bytes() == (tmp_path / "again.nc").read_bytes()
    assert (tmp_path / "c0.nc").read_bytes() != (tmp_path / "c1.nc").read_bytes()
    figs = {k: tmp_path / f"{k}.png" for k in
            ("raster", "states", "coclustering", "traces", "latents")}
    P.merge_chains([tmp_path / "c0.nc", tmp_path / "c1.nc"], tmp_path / "counts.nc",
                   tmp_path / "post.nc", tmp_path / "diag.tsv", tmp_path / "clusters.tsv",
                   tmp_path / "val.tsv", figs, n_shuffles=20)
    with xr.open_dataset(tmp_path / "post.nc", engine="h5netcdf") as post:
        assert post["coclustering"].dims == ("neuron", "neuron_other")
        assert post["state_posterior"].dims == ("time", "state")
        np.testing.assert_allclose(post["state_posterior"].sum("state"), 1.0)
        assert post["latent_mean"].dims == ("cluster", "factor", "time")
        assert post.attrs["simulated"] == 1 and "SIMULATED" in post.attrs["description"]
    diag = pd.read_csv(tmp_path / "diag.tsv", sep="\t")
    assert {"r_hat", "ess_bulk", "ess_tail"} <= set(diag.columns)
    assert set(diag["parameter"]) >= {"delta", "log_dispersion", "n_clusters", "n_states"}
    val = pd.read_csv(tmp_path / "val.tsv", sep="\t")
    assert {"ari_neuron_clusters", "ari_states"} <= set(val["quantity"])
    for png in figs.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_merge_refuses_chains_of_different_lengths(tmp_path):
    spec = {"simulate": {"n_clusters": 2, "neurons_per_cluster": 3, "n_time": 40}, "seed": 0}
    P.write_counts("sim", spec, [], tmp_path / "counts.nc")
    P.write_chain(tmp_path / "counts.nc", tmp_path / "a.nc", {"n_iter": 4, "burn_in": 2}, 0, 0)
    P.write_chain(tmp_path / "counts.nc", tmp_path / "b.nc", {"n_iter": 5, "burn_in": 2}, 0, 1)
    with pytest.raises(ValueError, match="different numbers of draws"):
        P.merge_chains([tmp_path / "a.nc", tmp_path / "b.nc"], tmp_path / "counts.nc",
                       tmp_path / "p.nc", tmp_path / "d.tsv", tmp_path / "c.tsv",
                       tmp_path / "v.tsv", {})
    assert not (tmp_path / "p.nc").exists()


@pytest.mark.workflow
def test_workflow_runs_bicluster_alone_and_reruns_nothing(tmp_path):
    from neuroflow.devtools import copy_workflow, run_snakemake

    work = copy_workflow(tmp_path / "w", REPO)
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    for section in cfg.values():
        if isinstance(section, dict) and "activate" in section:
            section["activate"] = False
    cfg["connectome"]["activate"] = False
    # the real recording is read by the activity stage (its counts file feeds the stage)
    act = cfg["activity"]
    act.update(activate=True, recordings={},
               spikes={"A2929": {"dataset": DATASET, "bin_width": 8.0}})
    act.setdefault("funatlas", {})["activate"] = False
    act.setdefault("structure_function", {})["activate"] = False
    cfg["bicluster"] = {
        **cfg["bicluster"], "activate": True, "chains": 2, "n_shuffles": 50,
        "sampler": {"n_iter": 12, "burn_in": 6, "state_warmup": 3},
        "recordings": {"simulated": {"seed": 0, "simulate": {"n_clusters": 2,
                                                             "neurons_per_cluster": 4,
                                                             "n_time": 100}}}}
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_snakemake(work)
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = work / "results"
    for rec in ("A2929", "simulated"):
        base = res / f"sub-{rec}/ephys/sub-{rec}"
        for suffix in ("posterior.nc", "diagnostics.tsv", "clusters.tsv", "validation.tsv"):
            assert Path(f"{base}_desc-bicluster_{suffix}").exists()
        assert len(list((res / f"sub-{rec}/figures").glob("*_bicluster.png"))) == 5
    val = pd.read_csv(res / "sub-A2929/ephys/sub-A2929_desc-bicluster_validation.tsv", sep="\t")
    assert "ari_states_vs_epochs" in set(val["quantity"])    # the epochs came through
    with xr.open_dataset(res / "sub-A2929/ephys/sub-A2929_desc-counts_spikes.nc",
                         engine="h5netcdf") as act_counts, \
            xr.open_dataset(res / "sub-A2929/ephys/sub-A2929_desc-binned_counts.nc",
                            engine="h5netcdf") as bic_counts:
        np.testing.assert_array_equal(act_counts["counts"].values.T, bic_counts["counts"].values)
        assert act_counts.attrs["bin_width_s"] == 8.0 and act_counts.attrs["simulated"] == 0
    methods = (res / "group/desc-methods_report.html").read_text()
    assert "Wei G (2023)" in methods and "Pynapple" in methods and "SIMULATED" in methods
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in res.rglob("*.nc")}
    again = run_snakemake(work, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
    # rerunning one chain from scratch reproduces it byte for byte
    chain = res / "sub-simulated/ephys/sub-simulated_chain-0_desc-bicluster_mcmc.nc"
    forced = run_snakemake(work, "--forcerun", "bicluster_chain",
                           "--until", "bicluster_chain")
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert hashlib.sha256(chain.read_bytes()).hexdigest() == digest[chain]
