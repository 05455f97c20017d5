"""File-level steps of the bi-clustering stage (what the Snakemake scripts call).

1. :func:`write_counts`: counts of one recording (the activity stage's counts file, or a
   simulation) -> NetCDF.
2. :func:`write_chain`: one MCMC chain -> NetCDF of draws and traces.
3. :func:`merge_chains`: all chains -> posterior NetCDF, diagnostics / clusters /
   validation TSVs and the report figures, with the convergence verdict (R-hat / ESS of
   continuous and label-invariant quantities, chains' co-clustering compared, support of
   every reported cluster and state in every chain) in each output's attributes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neuroflow.bicluster import summarize as sm
from neuroflow.bicluster.inputs import bicluster_recordings  # noqa: F401  (the rule file's)
from neuroflow.bicluster.posterior import MONITORED, latent_bands, point_estimates
from neuroflow.bicluster.posterior import convergence as posterior_convergence
from neuroflow.bicluster.settings import SamplerSettings, schema_defaults
from neuroflow.output_schema import is_simulated
from neuroflow.provenance import package_versions, read_netcdf, write_netcdf, write_tsv

PACKAGES = ("neuroflow", "numpy", "scipy", "xarray", "h5netcdf", "pynwb", "polyagamma",
            "arviz", "scikit-learn")
_LOG = "natural log of the expected spike count per bin"
VARIABLES = {  # long_name and units of every variable of the counts, chain and posterior files
    "counts": ("spike count per bin", "count"), "mean_rate": ("mean firing rate", "count/s"),
    "head_direction": ("head direction (circular mean within the bin)", "rad"),
    "neuron": ("unit (neuron) id", "1"), "neuron_other": ("second neuron of the pair", "1"),
    "region": ("recorded region of the unit (simulations: the true cluster)", "1"),
    "epoch": ("epoch of the bin ('' = none)", "1"),
    "true_cluster": ("simulated neuron cluster", "1"),
    "true_state": ("simulated discrete state", "1"),
    "true_latent": ("simulated cluster latents (row 0 baseline)", "1"),
    "true_delta": (f"simulated neuron baseline ({_LOG})", "1"),
    "true_loading": ("simulated loading c_i", "1"),
    "true_log_rate": (f"simulated log rate ({_LOG})", "1"),
    "cluster": ("neuron cluster", "1"), "factor": ("latent factor (0 = baseline)", "1"),
    "loading": ("loading dimension", "1"), "state": ("discrete state", "1"),
    "z": ("neuron cluster label", "1"), "delta": (f"neuron baseline ({_LOG})", "1"),
    "dispersion": ("negative-binomial dispersion r", "1"),
    "loading_norm": ("Euclidean norm of the loading c_i", "1"),
    "rate_sd": (f"sd over time of the neuron's log rate ({_LOG})", "1"),
    "top_state_fraction": ("share of bins in the most occupied state", "1"),
    "n_clusters": ("occupied neuron clusters", "count"), "n_states": ("occupied states", "count"),
    "log_lik": ("negative-binomial log-likelihood", "1"),
    "latent": ("cluster latents (row 0 baseline), slot = label z", "1"),
    "trace_n_clusters": ("occupied neuron clusters at each sweep", "count"),
    "trace_n_states": ("occupied states at each sweep", "count"),
    "trace_log_lik": ("negative-binomial log-likelihood at each sweep", "1"),
    "log_rate_mean": (f"posterior mean log firing rate ({_LOG})", "1"),
    "log_rate_sd": (f"posterior sd of the log firing rate ({_LOG})", "1"),
    "slot": ("cluster slot (label z)", "1"), "iteration": ("sampler sweep", "1"),
    "draw": ("kept draw", "1"), "chain": ("chain", "1"),
    "latent_lower": ("2.5 % posterior quantile of the cluster latent", "1"),
    "latent_upper": ("97.5 % posterior quantile of the cluster latent", "1"),
    "latent_mean": (f"posterior mean cluster latent, row 0 baseline ({_LOG})", "1"),
    "coclustering": ("posterior P(neurons i and j share a cluster)", "1"),
    "cluster_label": ("point-estimate neuron cluster (index into 'cluster')", "1"),
    "state_posterior": ("P(state) per bin", "1"),
    "state_label": ("point-estimate state (index into 'state')", "1"),
    "cluster_support": ("per chain: support of the matched cluster", "1"),
    "state_support": ("per chain: support of the matched state", "1"),
    "cluster_found": ("1 = support >= min_support in every chain", "1"),
    "state_found": ("1 = support >= min_support in every chain", "1"),
}


def _variables(ds, time_units: str = "s") -> dict:
    """The entries of :data:`VARIABLES` that ``ds`` has, keeping long_names already set."""
    out = {name: (ds[name].attrs.get("long_name") or text, units)
           for name, (text, units) in VARIABLES.items() if name in ds.variables}
    if "time" in ds.variables:
        out["time"] = (("bin centre" if time_units == "s" else "time bin index"),
                       "s" if time_units == "s" else "1")
    return out


def _sha(path) -> str:
    from neuroflow.resources import sha256_file

    return sha256_file(path)


def _open(path, what):

    path = Path(path)
    try:
        return read_netcdf(path, what)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read {what} NetCDF: {type(exc).__name__}: {exc}") \
            from exc


def chain_seed(seed: int, chain: int) -> np.random.SeedSequence:
    """Independent, reproducible stream per chain: ``SeedSequence(seed, spawn_key=(chain,))``."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(chain),))


def write_counts(recording: str, spec: dict, inputs, out_nc) -> None:
    """Write the bi-clustering counts of one recording.

    Parameters
    ----------
    recording : str
        Recording id (the output stem, e.g. ``sub-A2929`` or ``sub-01_ses-1``).
    spec : dict
        ``{"simulate": {...}, "seed": int}`` for a simulation (keyword arguments of
        :func:`neuroflow.bicluster.simulate.simulate_bicluster`), or ``{"activity": stem,
        "min_rate": spikes/s}`` for the activity stage's counts file given in ``inputs``.
    inputs : list of str
        The activity stage's ``<entities>_desc-counts_spikes.nc`` (empty for a simulation).
    out_nc : str
    """
    params = {k: v for k, v in spec.items() if k != "citation"}
    simulated = True
    if "simulate" in spec:
        from neuroflow.bicluster.simulate import simulate_bicluster

        ds = simulate_bicluster(**spec["simulate"], random_state=int(spec["seed"]))
        ds.attrs.update(source="simulation (Wei 2023 generative model)", inputs="[]")
    else:
        from neuroflow.bicluster.counts import counts_from_activity

        if len(inputs) != 1:
            raise ValueError(f"recording {recording}: expected one activity counts file, "
                             f"got {list(map(str, inputs))}")
        activity = _open(inputs[0], "activity counts")
        ds = counts_from_activity(activity, min_rate=float(spec["min_rate"]),
                                  path=inputs[0])
        simulated = is_simulated(activity.attrs, inputs[0])
        ds.attrs.update(source=str(activity.attrs.get("source", "user file")),
                        citation=str(activity.attrs.get("citation", "")),
                        entities=str(activity.attrs.get("entities", "{}")),
                        activity_inputs=str(activity.attrs.get("inputs", "[]")),
                        inputs=json.dumps({Path(inputs[0]).name: _sha(inputs[0])}))
    ds.attrs.update(recording=recording, parameters=json.dumps(params, sort_keys=True))
    write_netcdf(ds, out_nc, simulated=simulated, sources=inputs, packages=PACKAGES,
                 variables=_variables(ds, ds.attrs.get("time_units", "s")))


def write_chain(counts_nc, out_nc, settings: dict, seed: int, chain: int) -> None:
    """Run one chain on the counts in ``counts_nc`` and write its draws to ``out_nc``
    (progress with an ETA every 10 % of the sweeps or 30 s in the log: neuroflow.progress)."""
    import xarray as xr

    from neuroflow.bicluster.sampler import run_chain

    counts = _open(counts_nc, "counts")
    if "counts" not in counts:
        raise ValueError(f"{counts_nc}: no 'counts' variable (neuron, time)")
    st = SamplerSettings.from_dict(settings)
    try:
        out = run_chain(counts["counts"].values, st, random_state=chain_seed(seed, chain),
                        label=f"bi-clustering chain {chain} ({Path(counts_nc).name})")
    except ValueError as exc:
        raise ValueError(f"{counts_nc}: {exc}") from exc
    neurons = counts["neuron"].values
    time_c = counts["time"].values
    ds = xr.Dataset(
        {
            "z": (("draw", "neuron"), out["z"], {"long_name": "neuron cluster label"}),
            "state": (("draw", "time"), out["state"], {"long_name": "discrete state label"}),
            "delta": (("draw", "neuron"), out["delta"],
                      {"units": "log(spikes per bin)", "long_name": "neuron baseline"}),
            "dispersion": (("draw", "neuron"), out["dispersion"],
                           {"long_name": "negative-binomial r"}),
            "loading_norm": (("draw", "neuron"), out["loading_norm"],
                             {"long_name": "Euclidean norm of the loading c_i"}),
            "rate_sd": (("draw", "neuron"), out["rate_sd"],
                        {"units": "log(spikes per bin)",
                         "long_name": "sd over time of the neuron's log rate"}),
            "top_state_fraction": ("draw", out["top_state_fraction"],
                                   {"long_name": "share of bins in the most occupied state"}),
            "n_clusters": ("draw", out["n_clusters"]),
            "n_states": ("draw", out["n_states"], {"long_name": "occupied states"}),
            "log_lik": ("draw", out["log_lik"], {"long_name": "NB log-likelihood"}),
            "latent": (("draw", "slot", "factor", "time"), out["latent"],
                       {"long_name": "cluster latents (row 0 baseline), slot = label z"}),
            "trace_n_clusters": ("iteration", out["trace_n_clusters"]),
            "trace_n_states": ("iteration", out["trace_n_states"]),
            "trace_log_lik": ("iteration", out["trace_log_lik"]),
            "log_rate_mean": (("neuron", "time"), out["log_rate_mean"],
                              {"units": "log(spikes per bin)"}),
            "log_rate_sd": (("neuron", "time"), out["log_rate_sd"],
                            {"units": "log(spikes per bin)"}),
        },
        coords={"neuron": neurons, "time": time_c,
                "iteration": np.arange(1, st.n_iter + 1),
                "draw": np.arange(out["z"].shape[0])},
        attrs={"chain": int(chain), "seed": int(seed),
               "settings": json.dumps(st.as_dict(), sort_keys=True),
               "inputs": json.dumps({Path(counts_nc).name: _sha(counts_nc)})},
    )
    write_netcdf(ds, out_nc, simulated=is_simulated(counts.attrs, counts_nc), sources=[counts_nc],
                 packages=PACKAGES, variables=_variables(ds, counts.attrs.get("time_units", "s")))


def _chain_job(job: tuple) -> None:
    """One chain (a worker process's task): its draws to its file, its progress to its log."""
    from neuroflow.rulelog import redirect_to_log

    counts_nc, out_nc, settings, seed, chain, log = job
    with redirect_to_log(log):
        write_chain(counts_nc, out_nc, settings, seed=seed, chain=chain)


def run_chains(counts_nc, chain_ncs, settings: dict, seed: int, logs, threads: int = 1) -> None:
    """Run every chain of one recording: chain ``i`` writes ``chain_ncs[i]`` from the seed
    stream :func:`chain_seed` ``(seed, i)`` and logs to ``logs[i]``.

    With ``threads`` > 1 the chains run side by side in that many worker processes (spawned,
    not forked: numba's threading layers are not fork-safe; a script calling this guards its
    body with ``if __name__ == "__main__"``, since spawned workers import the main module).
    The files do not depend on ``threads``: each chain has its own seed stream.
    """
    if len(chain_ncs) != len(logs):
        raise ValueError(f"{len(chain_ncs)} chain files but {len(logs)} logs")
    jobs = [(str(counts_nc), str(out), dict(settings), int(seed), i, str(log))
            for i, (out, log) in enumerate(zip(chain_ncs, logs))]
    workers = min(int(threads), len(jobs))
    if workers <= 1:
        for job in jobs:
            _chain_job(job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_chain_job, jobs))  # re-raises a chain's error


SCORE_COLUMNS = {
    "quantity": "what is scored (found groups, agreement with the truth, epochs or regions)",
    "reference": "what the point estimate is compared with",
    "value": {"Description": "score (ARI / AMI, 1 = identical) or count", "Units": "1"},
    "null_mean": {"Description": "mean score under the null", "Units": "1"},
    "null_q95": {"Description": "95th percentile of the null scores", "Units": "1"},
    "p_value": {"Description": "(1 + #null >= value) / (1 + n_null)", "Units": "1"},
    "n_null": {"Description": "null draws (circular shifts or permutations)", "Units": "count"},
}


def _score_table(rows):
    import pandas as pd

    return pd.DataFrame(rows, columns=["quantity", "reference", "value", "null_mean",
                                       "null_q95", "p_value", "n_null"])


def _annotate_sidecar(tsv, convergence: dict) -> None:
    """Add the run's convergence verdict to a TSV's JSON sidecar."""
    from neuroflow.provenance import write_json

    side = Path(tsv).with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["Converged"] = bool(convergence["converged"])
    meta["Convergence"] = convergence
    write_json(meta, side)




def verdict_warnings(stem: str, verdict: dict, log) -> list[str]:
    """The console lines of a merge's verdict (the log holds the full list): not converged
    (with the first failing diagnostics) and clusters/states not found."""
    lines = []
    if not verdict["converged"]:
        lines.append(f"neuroflow WARNING: bicluster {stem}: NOT CONVERGED "
                     f"({verdict['n_failing']} failing diagnostics"
                     + ("; chains disagree" if verdict["chains_disagree"] else "") + "): "
                     + "; ".join(verdict["failing"][:3]) + f" (all in {log})")
    if verdict["clusters_not_found"] or verdict["states_not_found"]:
        lines.append(f"neuroflow WARNING: bicluster {stem}: not found (too little posterior "
                     f"support): clusters {verdict['clusters_not_found']}, states "
                     f"{verdict['states_not_found']}")
    return lines


def merge_chains(chain_ncs, counts_nc, out_nc, out_diag, out_clusters, out_validation,
                 figures: dict, loss="binder", state_loss="pear", n_shuffles=1000,
                 seed=0, convergence: dict | None = None) -> dict:
    """Summarize all chains of one recording and draw its figures.

    Parameters
    ----------
    chain_ncs : list of str
        Chain files written by :func:`write_chain` (same settings).
    counts_nc : str
    out_nc, out_diag, out_clusters, out_validation : str
        Posterior NetCDF; diagnostics, clusters and validation TSVs.
    figures : dict
        ``raster``, ``states``, ``coclustering``, ``traces``, ``latents`` -> PNG paths.
    loss, state_loss : {"binder", "pear", "vi"}
        Loss minimized by the neuron / state point estimates (pear: 1 - posterior
        expected adjusted Rand index, i.e. maxPEAR).
    n_shuffles : int
        Circular shifts of the reference labels for the chance level.
    convergence : dict, optional
        The config section ``bicluster.convergence`` (``max_r_hat``, ``min_ess``,
        ``max_coclustering_gap``, ``min_support``, ``max_items``; the schema holds the
        defaults, which fill what a library caller leaves out).

    Returns
    -------
    dict
        The convergence verdict (:func:`neuroflow.bicluster.posterior.convergence`), also
        written into every output's attributes.
    """
    counts, chains = _read_merge_inputs(chain_ncs, counts_nc)
    cfg = {**schema_defaults("convergence"), **(convergence or {})}
    draws = [{k: c[k].values for k in MONITORED} for c in chains]
    z_all = np.concatenate([d["z"] for d in draws])
    est = point_estimates(z_all, np.concatenate([d["state"] for d in draws]), loss,
                          state_loss, seed)
    conv = posterior_convergence(draws, est["point"], est["s_point"], counts["neuron"].values,
                                 counts["time"].values, cfg)
    bands = latent_bands([c["latent"].values for c in chains], z_all, est["point"])
    warning = _report_verdict(conv["verdict"], counts, counts_nc, cfg)
    simulated = is_simulated(counts.attrs, counts_nc)
    ds = _posterior_dataset(counts, chains, est, conv, bands, loss, state_loss)
    ds.attrs["inputs"] = json.dumps({Path(p).name: _sha(p) for p in [counts_nc, *chain_ncs]})
    write_netcdf(ds, out_nc, simulated=simulated, sources=[counts_nc, *chain_ncs],
                 packages=PACKAGES, variables=_variables(ds, counts.attrs.get("time_units", "s")))
    _write_diagnostics(conv, chains, chain_ncs, out_diag, simulated)
    _write_clusters(counts, est, conv, cfg, loss, chain_ncs, out_clusters, simulated)
    rows = _validation_rows(counts, est, conv, cfg, n_shuffles, seed, simulated)
    write_tsv(_score_table(rows), out_validation,
              f"{_label(simulated)}agreement of the point estimates with known labels",
              columns=SCORE_COLUMNS, sources=[str(counts_nc)], simulated=simulated)
    _annotate_sidecar(out_validation, conv["verdict"])
    _plot_merged(counts, chains, est, conv, bands, figures, simulated, warning)
    return conv["verdict"]


def _label(simulated: bool) -> str:
    return "SIMULATED " if simulated else ""


def _read_merge_inputs(chain_ncs, counts_nc):
    counts = _open(counts_nc, "counts")
    chains = [_open(p, "chain") for p in chain_ncs]
    n_draws = {c.sizes["draw"] for c in chains}
    if len(n_draws) != 1:
        raise ValueError(f"chains {list(map(str, chain_ncs))} have different numbers of draws "
                         f"{sorted(n_draws)}: run them with the same settings")
    return counts, chains


def _report_verdict(verdict, counts, counts_nc, cfg):
    """Log the verdict's warnings; returns the figures' banner text (None if converged)."""
    warning = None
    label = _label(is_simulated(counts.attrs, counts_nc))
    if not verdict["converged"]:
        warning = (f"NOT CONVERGED ({verdict['n_failing']} failing diagnostics"
                   + ("; chains disagree" if verdict["chains_disagree"] else "") + ")")
        print(f"WARNING: {label}{counts.attrs.get('recording', Path(counts_nc).name)}: the "
              f"chains did not converge: " + "; ".join(verdict["failing"]), flush=True)
    if verdict["clusters_not_found"] or verdict["states_not_found"]:
        print(f"WARNING: point-estimate groups with support < {cfg['min_support']} in "
              f"some chain are not reported as found: clusters "
              f"{verdict['clusters_not_found']}, states {verdict['states_not_found']}",
              flush=True)
    return warning


def _posterior_dataset(counts, chains, est, conv, bands, loss, state_loss):
    import xarray as xr

    label = _label(is_simulated(counts.attrs))
    verdict = conv["verdict"]
    lat_mean, lat_lo, lat_hi = bands
    neurons = counts["neuron"].values
    long = {"cluster_support": "per chain: mean over the cluster's neurons of P(neuron in "
                               "the matched cluster)",
            "state_support": "per chain: mean over the state's bins of P(bin in the matched "
                             "state)", "found": "1 = support >= min_support in every chain"}
    data = {
        "coclustering": (("neuron", "neuron_other"), est["psm"],
                         {"long_name": f"{label}posterior P(neurons i and j share a cluster)"}),
        "cluster_label": ("neuron", est["point"],
                          {"long_name": f"{loss}-loss point estimate (0-based index into "
                                        "coordinate 'cluster')"}),
        "state_posterior": (("time", "state"), est["state_posterior"],
                            {"long_name": "P(state) per bin, draws aligned to the point "
                                          "estimate; 'unmatched' = no match"}),
        "state_label": ("time", est["s_point"],
                        {"long_name": f"{state_loss}-loss state point estimate (0-based "
                                      "index into coordinate 'state')"}),
        "latent_mean": (("cluster", "factor", "time"), lat_mean,
                        {"long_name": "posterior mean cluster latent (row 0 baseline)",
                         "units": "log(spikes per bin)"}),
        "latent_lower": (("cluster", "factor", "time"), lat_lo, {"long_name": "2.5 %"}),
        "latent_upper": (("cluster", "factor", "time"), lat_hi, {"long_name": "97.5 %"}),
        "log_rate_mean": (("neuron", "time"),
                          np.mean([c["log_rate_mean"].values for c in chains], axis=0),
                          {"units": "log(spikes per bin)",
                           "long_name": "posterior mean log firing rate"}),
        "n_clusters": (("chain", "draw"), np.stack([c["n_clusters"].values for c in chains])),
        "n_states": (("chain", "draw"), np.stack([c["n_states"].values for c in chains])),
        "cluster_support": (("chain", "cluster"), conv["cluster_support"],
                            {"long_name": long["cluster_support"]}),
        "state_support": (("chain", "state"),
                          np.pad(conv["state_support"], ((0, 0), (0, 1)),
                                 constant_values=np.nan),
                          {"long_name": long["state_support"]}),
        "cluster_found": ("cluster", conv["cluster_found"].astype(np.int8),
                          {"long_name": long["found"]}),
        "state_found": ("state", np.append(conv["state_found"], False).astype(np.int8),
                        {"long_name": long["found"]}),
    }
    coords = {"neuron": neurons, "neuron_other": neurons, "time": counts["time"].values,
              "state": conv["state_names"], "cluster": conv["cluster_names"],
              "factor": ["baseline"] + [f"factor{j}" for j in range(1, lat_mean.shape[1])],
              "chain": np.arange(len(chains)), "draw": chains[0]["draw"].values}
    attrs = {"description": f"{label}posterior summary of the Wei (2023) bi-clustering model",
             "binder_or_vi_loss_neurons": est["z_loss"], "loss_states": est["s_loss"],
             "bin_width_s": float(counts.attrs.get("bin_width_s", 1.0)),
             "time_units": str(counts.attrs.get("time_units", "s")),
             "inputs": "",
             "settings": chains[0].attrs.get("settings", ""),
             "converged": int(verdict["converged"]),
             "chains_disagree": int(verdict["chains_disagree"]),
             "convergence": json.dumps(verdict, sort_keys=True)}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _write_diagnostics(conv, chains, chain_ncs, out_diag, simulated):
    diag = conv["diag"]
    thr = conv["verdict"]["thresholds"]
    r_ok = np.where(np.isfinite(diag["r_hat"]), diag["r_hat"] < thr["max_r_hat"], False)
    diag["passes"] = diag["constant"] | (r_ok & (diag["ess_bulk"] >= thr["min_ess"])
                                         & (diag["ess_tail"] >= thr["min_ess"]))
    write_tsv(diag, out_diag,
              f"{_label(simulated)}MCMC diagnostics (arviz "
              f"{package_versions(('arviz',))['arviz']}) over "
              f"{len(chains)} chains x {chains[0].sizes['draw']} kept draws",
              columns={"parameter": "label- and rotation-invariant quantities: delta: "
                                    "baseline log rate; log_dispersion: log NB r; rate_sd: "
                                    "sd over time of the log rate; log_lik; n_clusters; "
                                    "n_states; top_state_fraction: share of bins in the "
                                    "most occupied state; coclustering: 1 if the two "
                                    "neurons share a cluster; state_occupancy: share of "
                                    "all bins in the state of this bin",
                       "neuron": "unit label, neuron pair 'a|b', time bin 't=...' or n/a",
                       "r_hat": "rank-normalized split R-hat",
                       "ess_bulk": "bulk effective sample size (all chains)",
                       "ess_tail": "tail effective sample size (all chains)",
                       "mean": "posterior mean over all chains (in the parameter's units)",
                       "sd": "posterior sd over all chains",
                       "hdi_3%": "lower bound of the 94 % highest-density interval",
                       "hdi_97%": "upper bound of the 94 % highest-density interval",
                       "mcse_mean": "Monte-Carlo standard error of the mean",
                       "mcse_sd": "Monte-Carlo standard error of the sd",
                       "constant": "every draw of every chain equal (nothing to mix)",
                       "passes": f"R-hat < {thr['max_r_hat']} and bulk and tail ESS >= "
                                 f"{thr['min_ess']:g} (or constant)"},
              sources=[str(p) for p in chain_ncs], simulated=simulated)
    _annotate_sidecar(out_diag, conv["verdict"])


def _write_clusters(counts, est, conv, cfg, loss, chain_ncs, out_clusters, simulated):
    import pandas as pd

    point, psm = est["point"], est["psm"]
    found, names = conv["cluster_found"], conv["cluster_names"]
    tbl = pd.DataFrame({"neuron": counts["neuron"].values, "cluster": [names[k] for k in point],
                        "cluster_found": [bool(found[k]) for k in point],
                        "region": counts["region"].values if "region" in counts.coords or
                        "region" in counts else "n/a",
                        "max_coclustering_other": [
                            float(np.max(np.where(point == point[i], 0, psm[i])))
                            for i in range(len(point))]})
    if simulated and "true_cluster" in counts and "true_state" in counts:
        tbl["true_cluster"] = counts["true_cluster"].values
    write_tsv(tbl, out_clusters, f"{_label(simulated)}neuron clusters ({loss}-loss point "
                                 "estimate)",
              columns={"neuron": "unit (neuron) id", "cluster": "point-estimate cluster",
                       "region": "recorded region of the unit (simulations: the true "
                                 "cluster)",
                       "true_cluster": "simulated neuron cluster (simulations only)",
                       "cluster_found": f"support >= {cfg['min_support']} in every chain "
                                        "(false: not reported as a found cluster)",
                       "max_coclustering_other": "largest posterior co-clustering with a "
                                                 "neuron of another cluster"},
              sources=[str(p) for p in chain_ncs], simulated=simulated)
    _annotate_sidecar(out_clusters, conv["verdict"])


def _validation_rows(counts, est, conv, cfg, n_shuffles, seed, simulated):
    """Rows of the validation table: groups found, agreement with the simulated truth,
    with the epochs (circular-shift null) and with the recorded regions (permutation)."""
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    point, s_point = est["point"], est["s_point"]
    c_found, s_found = conv["cluster_found"], conv["state_found"]
    found = f"found: support >= {cfg['min_support']} in every chain"
    nan4 = [np.nan] * 4
    rows = [("n_neuron_clusters", found, float(c_found.sum()), *nan4),
            ("n_states", found, float(s_found.sum()), *nan4),
            ("n_neuron_clusters_not_found", "point-estimate clusters below that support",
             float((~c_found).sum()), *nan4),
            ("n_states_not_found", "point-estimate states below that support",
             float((~s_found).sum()), *nan4)]
    if simulated and "true_cluster" in counts and "true_state" in counts:
        tz, ts = counts["true_cluster"].values, counts["true_state"].values
        rows += [("ari_neuron_clusters", "simulated truth", adjusted_rand_score(tz, point),
                  *nan4),
                 ("ari_states", "simulated truth", adjusted_rand_score(ts, s_point), *nan4),
                 ("true_n_clusters", "simulated truth", float(np.unique(tz).size), *nan4),
                 ("true_n_states", "simulated truth", float(np.unique(ts).size), *nan4)]
    if "epoch" in counts.coords and np.any(counts["epoch"].values != ""):
        ep = counts["epoch"].values
        ok = ep != ""
        ref = np.unique(ep[ok], return_inverse=True)[1]
        for name, score in (("ari_states_vs_epochs", adjusted_rand_score),
                            ("ami_states_vs_epochs", adjusted_mutual_info_score)):
            val = score(ref, s_point[ok])
            null = sm.circular_shift_null(s_point[ok], ref, score, n_shuffles, seed)
            rows.append((name, "epochs (circular-shift null)", val, float(null.mean()),
                         float(np.quantile(null, 0.95)),
                         float((1 + np.sum(null >= val)) / (1 + null.size)), n_shuffles))
    if not simulated and "region" in counts.coords:
        reg = np.unique(counts["region"].values, return_inverse=True)[1]
        if np.unique(reg).size > 1:
            rng = np.random.default_rng(seed)
            val = adjusted_rand_score(reg, point)
            null = np.array([adjusted_rand_score(rng.permutation(reg), point)
                             for _ in range(n_shuffles)])
            rows.append(("ari_clusters_vs_region", "recorded region (permutation null)", val,
                         float(null.mean()), float(np.quantile(null, 0.95)),
                         float((1 + np.sum(null >= val)) / (1 + null.size)), n_shuffles))
    return rows


def _plot_merged(counts, chains, est, conv, bands, figures, simulated, warning):
    from neuroflow.bicluster import figures as figs

    point, s_point = est["point"], est["s_point"]
    c_found, s_found = conv["cluster_found"], conv["state_found"]
    traces = {k: np.stack([c[f"trace_{k}"].values for c in chains])
              for k in ("n_clusters", "n_states", "log_lik")}
    shown = [n + ("" if f else " (not found)") for n, f in
             zip(conv["state_names"], np.append(s_found, True))]
    figs.plot_raster(counts, point, s_point, figures["raster"], simulated, warning=warning,
                     n_found=(int(c_found.sum()), int(s_found.sum())))
    figs.plot_states(counts, est["state_posterior"], s_point, shown, figures["states"],
                     simulated, warning=warning)
    figs.plot_coclustering(est["psm"], point, counts, figures["coclustering"], simulated,
                           warning=warning)
    figs.plot_traces(traces, conv["diag"], figures["traces"], simulated,
                     burn_in=json.loads(chains[0].attrs["settings"])["burn_in"],
                     warning=warning)
    figs.plot_latents(counts["time"].values, *bands, s_point, figures["latents"], simulated,
                      warning=warning)
