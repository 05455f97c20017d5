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
from neuroflow.bicluster import columns, outputs
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
    assert int(ds["counts"].sum()) == n_spikes  # all spikes lie in 0-1200 s
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
    # the chains side by side in worker processes (the rule's threads) ...
    P.run_chains(
        tmp_path / "counts.nc",
        [tmp_path / "c0.nc", tmp_path / "c1.nc"],
        settings,
        seed=1,
        logs=[tmp_path / "c0.log", tmp_path / "c1.log"],
        threads=2,
    )
    assert "bi-clustering chain 1" in (tmp_path / "c1.log").read_text()
    # ... write the bytes of one chain run on its own
    P.write_chain(tmp_path / "counts.nc", tmp_path / "again.nc", settings, seed=1, chain=0)
    assert (tmp_path / "c0.nc").read_bytes() == (tmp_path / "again.nc").read_bytes()
    assert (tmp_path / "c0.nc").read_bytes() != (tmp_path / "c1.nc").read_bytes()
    figs = {k: tmp_path / f"{k}.png" for k in ("raster", "states", "coclustering", "traces", "latents")}
    P.merge_chains(
        [tmp_path / "c0.nc", tmp_path / "c1.nc"],
        tmp_path / "counts.nc",
        tmp_path / "post.nc",
        tmp_path / "diag.tsv",
        tmp_path / "clusters.tsv",
        tmp_path / "val.tsv",
        figs,
        n_shuffles=20,
    )
    with xr.open_dataset(tmp_path / "post.nc", engine="h5netcdf") as post:
        assert post["coclustering"].dims == ("neuron", "neuron_other")
        assert post["state_posterior"].dims == ("time", "state")
        np.testing.assert_allclose(post["state_posterior"].sum("state"), 1.0)
        assert post["latent_mean"].dims == ("cluster", "factor", "time")
        assert post.attrs["simulated"] == 1 and "SIMULATED" in post.attrs["description"]
        assert post.attrs["converged"] == 0  # 2 x 4 draws: ESS far below 400
    diag = pd.read_csv(tmp_path / "diag.tsv", sep="\t")
    assert {"r_hat", "ess_bulk", "ess_tail"} <= set(diag.columns)
    assert set(diag["parameter"]) >= {"delta", "log_dispersion", "n_clusters", "n_states"}
    val = pd.read_csv(tmp_path / "val.tsv", sep="\t")
    assert {"ari_neuron_clusters", "ari_states"} <= set(val["quantity"])
    for png in figs.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_until_converged_extends_the_chains_until_the_checks_pass_or_the_budget_ends(tmp_path):
    import json

    from neuroflow.bicluster.methods import methods_text

    spec = {"simulate": {"n_clusters": 2, "neurons_per_cluster": 4, "n_time": 80}, "seed": 3}
    P.write_counts("sim", spec, [], tmp_path / "counts.nc")
    settings = {"n_iter": 8, "burn_in": 4, "state_warmup": 2}
    chains = [tmp_path / "c0.nc", tmp_path / "c1.nc"]
    logs = [tmp_path / "c0.log", tmp_path / "c1.log"]
    # lax thresholds: after 8 sweeps the two chains hold different neuron partitions
    # (co-clustering R-hat inf); 12 sweeps further they have mixed
    conv = {
        "extend_sweeps": 12,
        "max_extensions": 2,
        "min_ess": 4,
        "max_r_hat": 100,
        "max_coclustering_gap": 1.0,
    }
    hist = P.run_chains(tmp_path / "counts.nc", chains, settings, 1, logs, threads=2, convergence=conv)
    assert [(h["sweeps"], h["converged"]) for h in hist] == [(8, False), (20, True)]
    assert any(f.startswith("r_hat(coclustering") for f in hist[0]["failing"])
    assert "not converged after 8 sweeps: running 12 more" in logs[1].read_text()
    # an extended chain holds the draws of one run of 20 sweeps
    P.write_chain(tmp_path / "counts.nc", tmp_path / "long.nc", {**settings, "n_iter": 20}, 1, 0)
    with (
        xr.open_dataset(chains[0], engine="h5netcdf") as ext,
        xr.open_dataset(tmp_path / "long.nc", engine="h5netcdf") as long,
    ):
        assert ext.attrs["sweeps"] == 20 and ext.sizes["iteration"] == 20 and ext.sizes["draw"] == 16
        for var in ("z", "state", "delta", "latent", "trace_log_lik", "log_rate_mean"):
            np.testing.assert_array_equal(ext[var].values, long[var].values)
    figs = {k: tmp_path / f"{k}.png" for k in ("raster", "states", "coclustering", "traces", "latents")}
    val = tmp_path / "sub-x/ephys/sub-x_desc-bicluster_validation.tsv"
    val.parent.mkdir(parents=True)
    outs = [tmp_path / "post.nc", tmp_path / "diag.tsv", tmp_path / "clusters.tsv", val]
    verdict = P.merge_chains(
        chains, tmp_path / "counts.nc", *outs, figs, n_shuffles=10, seed=1, convergence=conv, extensions=hist
    )
    assert verdict["converged"] and verdict["sweeps_per_chain"] == 20 and verdict["extensions"] == hist
    with xr.open_dataset(outs[0], engine="h5netcdf") as post:
        assert json.loads(post.attrs["convergence"])["extensions"] == hist
    cfg = {
        "results_dir": str(tmp_path),
        "bicluster": {"convergence": conv, "recordings": {"x": {"seed": 0, "simulate": {}}}},
    }
    paras = " ".join(methods_text(cfg, {"datasets": {}})[0])
    assert "every chain was run 12 sweeps further" in paras
    assert "Results for 'sub-x': 20 sweeps per chain after 1 extension round (the checks passed)" in paras
    # an unreachable threshold: the budget (2 rounds of 12) ends the run, reported unconverged
    conv = {**conv, "min_ess": 1e9}
    hist = P.run_chains(tmp_path / "counts.nc", chains, settings, 1, logs, threads=1, convergence=conv)
    assert [(h["sweeps"], h["converged"]) for h in hist] == [(8, False), (20, False), (32, False)]
    with xr.open_dataset(chains[1], engine="h5netcdf") as ext:
        assert ext.attrs["sweeps"] == 32 and ext.sizes["draw"] == 28


def test_merge_refuses_chains_of_different_lengths(tmp_path):
    spec = {"simulate": {"n_clusters": 2, "neurons_per_cluster": 3, "n_time": 40}, "seed": 0}
    P.write_counts("sim", spec, [], tmp_path / "counts.nc")
    P.write_chain(tmp_path / "counts.nc", tmp_path / "a.nc", {"n_iter": 4, "burn_in": 2}, 0, 0)
    P.write_chain(tmp_path / "counts.nc", tmp_path / "b.nc", {"n_iter": 5, "burn_in": 2}, 0, 1)
    with pytest.raises(ValueError, match="different numbers of draws"):
        P.merge_chains(
            [tmp_path / "a.nc", tmp_path / "b.nc"],
            tmp_path / "counts.nc",
            tmp_path / "p.nc",
            tmp_path / "d.tsv",
            tmp_path / "c.tsv",
            tmp_path / "v.tsv",
            {},
        )
    assert not (tmp_path / "p.nc").exists()


def fake_chain(path, z, state, chain):
    """A chain file of given neuron labels ``z`` (draw, neuron) and states (draw, time)."""
    rng = np.random.default_rng(chain)
    n_draws, n_neurons = z.shape
    n_time = state.shape[1]
    draw = lambda *shape: rng.standard_normal((n_draws, *shape))  # noqa: E731
    ds = xr.Dataset(
        {
            "z": (("draw", "neuron"), z),
            "state": (("draw", "time"), state),
            "delta": (("draw", "neuron"), draw(n_neurons)),
            "dispersion": (("draw", "neuron"), np.exp(draw(n_neurons))),
            "loading_norm": (("draw", "neuron"), np.abs(draw(n_neurons))),
            "rate_sd": (("draw", "neuron"), np.abs(draw(n_neurons))),
            "top_state_fraction": ("draw", rng.random(n_draws)),
            "n_clusters": ("draw", np.array([np.unique(d).size for d in z])),
            "n_states": ("draw", np.array([np.unique(d).size for d in state])),
            "log_lik": ("draw", draw()),
            "latent": (("draw", "slot", "factor", "time"), draw(int(z.max()) + 1, 2, n_time)),
            "trace_n_clusters": ("iteration", np.full(n_draws, 2)),
            "trace_n_states": ("iteration", np.full(n_draws, 2)),
            "trace_log_lik": ("iteration", np.zeros(n_draws)),
            "log_rate_mean": (("neuron", "time"), np.zeros((n_neurons, n_time))),
            "log_rate_sd": (("neuron", "time"), np.zeros((n_neurons, n_time))),
        },
        coords={"draw": np.arange(n_draws), "iteration": np.arange(1, n_draws + 1)},
        attrs={"chain": chain, "settings": '{"burn_in": 0}'},
    )
    ds.to_netcdf(path, engine="h5netcdf")


def test_chains_in_different_modes_are_written_unconverged_and_unsupported_state_not_found(tmp_path, capsys):
    import json

    spec = {"simulate": {"n_clusters": 2, "neurons_per_cluster": 4, "n_time": 60}, "seed": 0}
    P.write_counts("sim", spec, [], tmp_path / "counts.nc")
    three = np.repeat([0, 1, 2, 0], 15)  # chain 0: three states
    two = np.where(three == 2, 0, three)  # chain 1: never state 2
    split, merged = np.repeat([0, 1], 4), np.zeros(8, int)
    fake_chain(tmp_path / "c0.nc", np.tile(split, (40, 1)), np.tile(three, (40, 1)), 0)
    fake_chain(tmp_path / "c1.nc", np.tile(merged, (40, 1)), np.tile(two, (40, 1)), 1)
    figs = {k: tmp_path / f"{k}.png" for k in ("raster", "states", "coclustering", "traces", "latents")}
    out = [tmp_path / n for n in ("post.nc", "diag.tsv", "clusters.tsv", "val.tsv")]
    verdict = P.merge_chains(
        [tmp_path / "c0.nc", tmp_path / "c1.nc"],
        tmp_path / "counts.nc",
        *out,
        figs,
        n_shuffles=10,
        state_loss="binder",
        convergence={"min_ess": 10},
    )
    assert not verdict["converged"] and verdict["chains_disagree"]
    assert "WARNING" in capsys.readouterr().out
    with xr.open_dataset(out[0], engine="h5netcdf") as post:
        assert post.attrs["converged"] == 0 and post.attrs["chains_disagree"] == 1
        assert json.loads(post.attrs["convergence"])["failing"] == verdict["failing"]
        labels = post["state_label"].values
        found = dict(zip(post["state"].values, post["state_found"].values))
    for tsv in out[1:]:
        side = json.loads(tsv.with_suffix(".json").read_text())
        assert side["Converged"] is False
        assert side["Convergence"]["failing"] == verdict["failing"]
    # the blended state path has three states; the one chain 1 never holds is not found
    assert np.unique(labels).size == 3
    assert sorted(found.values()) == [0, 0, 1, 1]  # incl. 'unmatched'
    assert verdict["n_states_found"] == 2 and verdict["states_not_found"] == ["S3"]
    val = pd.read_csv(out[3], sep="\t").set_index("quantity")["value"]
    assert val["n_states"] == 2 and val["n_states_not_found"] == 1
    diag = pd.read_csv(out[1], sep="\t")
    assert not diag.loc[diag["parameter"] == "coclustering", "passes"].all()


def test_sampler_settings_take_their_defaults_from_the_schema_only():
    import dataclasses

    from neuroflow.bicluster.settings import SamplerSettings, schema_defaults

    schema = yaml.safe_load((REPO / "workflow/schemas/bicluster.schema.yaml").read_text())
    props = schema["properties"]["sampler"]["properties"]
    fields = dataclasses.fields(SamplerSettings)
    assert {f.name for f in fields} == set(props)
    assert all(f.default is dataclasses.MISSING for f in fields)  # no default restated
    built = SamplerSettings.from_dict({"n_iter": 70})
    assert built.as_dict() == {**{k: v["default"] for k, v in props.items()}, "n_iter": 70}
    conv = schema["properties"]["convergence"]["properties"]
    assert schema_defaults("convergence") == {k: v["default"] for k, v in conv.items()}
    assert "CONVERGENCE_DEFAULTS" not in vars(P)


def test_methods_paragraph_says_a_run_did_not_converge(tmp_path):
    from neuroflow.bicluster.methods import methods_text
    from neuroflow.provenance import write_tsv

    val = tmp_path / "sub-x/ephys/sub-x_desc-bicluster_validation.tsv"
    val.parent.mkdir(parents=True)
    write_tsv(
        columns.score_table([("n_states", "found", 2.0, *[np.nan] * 4)]),
        val,
        "scores",
        columns.SCORE_COLUMNS,
        simulated=True,
    )
    verdict = {
        "converged": False,
        "failing": ["chains_disagree: chains 0 and 1 differ"],
        "n_failing": 1,
        "clusters_not_found": [],
        "states_not_found": ["S3"],
    }
    outputs.annotate_sidecar(val, verdict)
    cfg = {
        "results_dir": str(tmp_path),
        "bicluster": {
            "sampler": {},
            "convergence": {"max_r_hat": 1.01},
            "recordings": {"x": {"seed": 0, "simulate": {}}},
        },
    }
    paras, _ = methods_text(cfg, {"datasets": {}})
    assert "R-hat below 1.01" in " ".join(paras)
    assert "Results for 'sub-x': NOT CONVERGED (chains_disagree" in paras[-1]
    assert "support in some chain: S3" in paras[-1]
    assert "10 Metropolis-Hastings moves per sweep shifted a random boundary" in " ".join(paras)
    cfg["bicluster"]["sampler"] = {"boundary_moves": 0}
    assert "shifted a random boundary" not in " ".join(methods_text(cfg, {"datasets": {}})[0])


def test_validation_scores_states_against_epochs_and_clusters_against_regions():
    """States equal to the epochs (unlabelled bins left out) and clusters equal to the regions
    score 1, above every null draw (unequal epochs: no circular shift maps them onto
    themselves); found groups are counted."""
    from neuroflow.bicluster.validation import validation_rows

    epochs = np.array(["sleep"] * 15 + ["wake"] * 25 + [""] * 4)
    s_point = np.r_[np.zeros(15, int), np.ones(25, int), [0, 1, 0, 1]]
    regions = np.repeat(["a", "b"], 6)
    counts = xr.Dataset(
        coords={
            "neuron": [f"n{i}" for i in range(12)],
            "region": ("neuron", regions),
            "epoch": ("time", epochs),
        }
    )
    est = {"point": np.repeat([1, 0], 6), "s_point": s_point}
    conv = {"cluster_found": np.array([True, False]), "state_found": np.array([True, True])}
    rows = validation_rows(counts, est, conv, {"min_support": 0.5}, n_shuffles=50, seed=0, simulated=False)
    tbl = columns.score_table(rows).set_index("quantity")
    assert tbl.loc["n_neuron_clusters", "value"] == 1 and tbl.loc["n_neuron_clusters_not_found", "value"] == 1
    assert tbl.loc["n_states", "value"] == 2 and tbl.loc["n_states_not_found", "value"] == 0
    for q in ("ari_states_vs_epochs", "ami_states_vs_epochs", "ari_clusters_vs_region"):
        row = tbl.loc[q]
        assert row["value"] == pytest.approx(1.0) and row["n_null"] == 50
        assert row["null_mean"] < 0.5 and row["p_value"] == pytest.approx(1 / 51)
    assert "ari_states" not in tbl.index  # no simulated truth


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
    act.update(activate=True, recordings={}, spikes={"A2929": {"dataset": DATASET, "bin_width": 8.0}})
    act.setdefault("funatlas", {})["activate"] = False
    act.setdefault("structure_function", {})["activate"] = False
    cfg["bicluster"] = {
        **cfg["bicluster"],
        "activate": True,
        "chains": 2,
        "n_shuffles": 50,
        "sampler": {"n_iter": 12, "burn_in": 6, "state_warmup": 3},
        "recordings": {
            "simulated": {"seed": 0, "simulate": {"n_clusters": 2, "neurons_per_cluster": 4, "n_time": 100}}
        },
    }
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
    assert "ari_states_vs_epochs" in set(val["quantity"])  # the epochs came through
    with (
        xr.open_dataset(
            res / "sub-A2929/ephys/sub-A2929_desc-counts_spikes.nc", engine="h5netcdf"
        ) as act_counts,
        xr.open_dataset(
            res / "sub-A2929/ephys/sub-A2929_desc-binned_counts.nc", engine="h5netcdf"
        ) as bic_counts,
    ):
        np.testing.assert_array_equal(act_counts["counts"].values.T, bic_counts["counts"].values)
        assert act_counts.attrs["bin_width_s"] == 8.0 and act_counts.attrs["simulated"] == 0
    methods = (res / "group/desc-methods_report.html").read_text()
    assert "Wei G (2023)" in methods and "Pynapple" in methods and "SIMULATED" in methods
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in res.rglob("*.nc")}
    again = run_snakemake(work, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
    # rerunning the recording's chains (side by side) from scratch reproduces them byte for byte
    chain = res / "sub-simulated/ephys/sub-simulated_chain-0_desc-bicluster_mcmc.nc"
    forced = run_snakemake(work, "--forcerun", "bicluster_recording", "--until", "bicluster_recording")
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert hashlib.sha256(chain.read_bytes()).hexdigest() == digest[chain]


def _counts_table(tmp_path, kind, counts, time):
    """A counts table as a user gives it: TSV (time column + one column per neuron) or
    NetCDF (counts (time, neuron))."""
    names = [f"unit{i}" for i in range(counts.shape[0])]
    if kind == "tsv":
        path = tmp_path / "counts.tsv"
        pd.DataFrame({"time": time, **dict(zip(names, counts))}).to_csv(path, sep="\t", index=False)
    else:
        path = tmp_path / "counts.nc"
        xr.Dataset(
            {"counts": (("time", "neuron"), counts.T)}, coords={"time": time, "neuron": names}
        ).to_netcdf(path, engine="h5netcdf")
    return path


def _table_spec(simulated):
    return {
        "reader": "table",
        "simulated": simulated,
        "stem": "sub-tab",
        "label": "tab",
        "time_column": "time",  # as spike_recordings fills it
        "key": "activity.spikes.tab",
        "source": "user counts table",
        "entities": {"sub": "tab"},
    }


@pytest.mark.parametrize("kind", ["tsv", "nc"])
def test_counts_table_runs_through_the_stage_with_its_labels_bins_and_flag(tmp_path, kind):
    """A counts table (TSV or NetCDF, time x neuron) the user flags as simulated: the stage's
    counts, chain and merge keep its neuron labels, bin centres, bin width and the flag."""
    from neuroflow.activity.pipeline import counts_file
    from neuroflow.bicluster.simulate import simulate_bicluster

    ds = simulate_bicluster(n_clusters=2, neurons_per_cluster=3, n_time=50, random_state=4)
    time = 10.0 + 0.25 * np.arange(50) + 0.125  # bin centres, 0.25 s bins
    table = _counts_table(tmp_path, kind, ds["counts"].values, time)
    counts_file([table], spec=_table_spec(True), citation="", out_nc=tmp_path / "act.nc")
    P.write_counts(
        "sub-tab", {"activity": "sub-tab", "min_rate": 0.0}, [tmp_path / "act.nc"], tmp_path / "bic.nc"
    )
    with xr.open_dataset(tmp_path / "bic.nc", engine="h5netcdf") as got:
        assert list(got["neuron"].values) == [f"unit{i}" for i in range(6)]
        np.testing.assert_allclose(got["time"].values, time)
        np.testing.assert_array_equal(got["counts"].values, ds["counts"].values)
        assert got.attrs["bin_width_s"] == 0.25 and got.attrs["simulated"] == 1
    if kind == "nc":
        return
    for c in range(2):
        P.write_chain(
            tmp_path / "bic.nc",
            tmp_path / f"c{c}.nc",
            {"n_iter": 6, "burn_in": 2, "state_warmup": 2},
            seed=0,
            chain=c,
        )
    figs = {k: tmp_path / f"{k}.png" for k in ("raster", "states", "coclustering", "traces", "latents")}
    P.merge_chains(
        [tmp_path / "c0.nc", tmp_path / "c1.nc"],
        tmp_path / "bic.nc",
        tmp_path / "post.nc",
        tmp_path / "d.tsv",
        tmp_path / "cl.tsv",
        tmp_path / "v.tsv",
        figs,
        n_shuffles=10,
    )
    with xr.open_dataset(tmp_path / "post.nc", engine="h5netcdf") as post:
        assert post.attrs["simulated"] == 1 and "SIMULATED" in post.attrs["description"]
        assert post.attrs["bin_width_s"] == 0.25
        assert list(post["neuron"].values) == [f"unit{i}" for i in range(6)]
    # data flagged simulated by the user carries no truth: no ARI against one is claimed
    assert "ari_states" not in set(pd.read_csv(tmp_path / "v.tsv", sep="\t")["quantity"])


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda c, t: (c - 2, t), "non-negative whole numbers"),
        (lambda c, t: (c + 0.5, t), "non-negative whole numbers"),
        (lambda c, t: (c, t[::-1].copy()), "not evenly spaced"),
        (lambda c, t: (c, np.concatenate([t[:10], t[10:] + 0.1])), "not evenly spaced"),
    ],
)
def test_bad_counts_tables_fail_naming_the_file(tmp_path, edit, needle):
    from neuroflow.activity.spikes import read_counts_table

    counts, time = edit(np.ones((3, 20), dtype=np.int64), 0.5 * np.arange(20))
    table = _counts_table(tmp_path, "tsv", counts, time)
    with pytest.raises(ValueError, match=needle) as err:
        read_counts_table(table)
    assert str(table) in str(err.value) or table.name in str(err.value)


def test_console_warnings_say_unconverged_chains_and_unsupported_groups():
    from neuroflow.bicluster.pipeline import verdict_warnings

    bad = {
        "converged": False,
        "n_failing": 4,
        "chains_disagree": True,
        "failing": ["r_hat a 1.3", "r_hat b 1.2", "ess c 50", "ess d 20"],
        "clusters_not_found": [2],
        "states_not_found": [],
    }
    lines = verdict_warnings("sub-x", bad, "log.txt")
    assert len(lines) == 2
    assert "NOT CONVERGED (4 failing diagnostics; chains disagree)" in lines[0]
    assert "ess c 50" in lines[0] and "ess d 20" not in lines[0] and "log.txt" in lines[0]
    assert "clusters [2]" in lines[1]
    good = {**bad, "converged": True, "clusters_not_found": []}
    assert verdict_warnings("sub-x", good, "log.txt") == []
    extended = {**bad, "sweeps_per_chain": 140, "extensions": [{}, {}, {}]}
    assert (
        "NOT CONVERGED after 140 sweeps per chain (2 extension rounds) (4 failing"
        in (verdict_warnings("sub-x", extended, "log.txt")[0])
    )
