"""File-level steps of the bi-clustering stage (what the Snakemake scripts call).

1. :func:`write_counts`: counts of one recording (the activity stage's counts file, or a
   simulation) -> NetCDF.
2. :func:`write_chain`: one MCMC chain -> NetCDF of draws and traces.
3. :func:`merge_chains`: all chains -> posterior NetCDF, diagnostics / clusters /
   validation TSVs and the report figures, with the convergence verdict (R-hat / ESS of
   continuous and label-invariant quantities, chains' co-clustering compared, support of
   every reported cluster and state in every chain) in each output's attributes.

Each step reads, computes, writes (here: the provenance stamp names the step) and plots;
the Datasets are built by :mod:`.outputs`, with names and units from :mod:`.columns`, the
validation scores by :mod:`.validation` and the figures by :mod:`.figures`.
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.bicluster import outputs
from neuroflow.bicluster.columns import PACKAGES, SCORE_COLUMNS, score_table, sim_label, variables_of
from neuroflow.bicluster.counts import counts_from_activity
from neuroflow.bicluster.figures import plot_merged
from neuroflow.bicluster.inputs import bicluster_recordings  # noqa: F401  (the rule file's)
from neuroflow.bicluster.posterior import MONITORED, latent_bands, point_estimates
from neuroflow.bicluster.posterior import convergence as posterior_convergence
from neuroflow.bicluster.settings import SamplerSettings, schema_defaults
from neuroflow.bicluster.simulate import simulate_bicluster
from neuroflow.bicluster.validation import validation_rows
from neuroflow.output_schema import is_simulated
from neuroflow.provenance import package_versions, read_netcdf, write_netcdf, write_tsv
from neuroflow.resources import sha256_file
from neuroflow.rulelog import redirect_to_log


def _open(path, what):
    path = Path(path)
    try:
        return read_netcdf(path, what)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read {what} NetCDF: {type(exc).__name__}: {exc}") from exc


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
        ds = simulate_bicluster(**spec["simulate"], random_state=int(spec["seed"]))
        ds.attrs.update(source="simulation (Wei 2023 generative model)", inputs="[]")
    else:
        if len(inputs) != 1:
            raise ValueError(
                f"recording {recording}: expected one activity counts file, got {list(map(str, inputs))}"
            )
        activity = _open(inputs[0], "activity counts")
        ds = counts_from_activity(activity, min_rate=float(spec["min_rate"]), path=inputs[0])
        simulated = is_simulated(activity.attrs, inputs[0])
        ds.attrs.update(
            source=str(activity.attrs.get("source", "user file")),
            citation=str(activity.attrs.get("citation", "")),
            entities=str(activity.attrs.get("entities", "{}")),
            activity_inputs=str(activity.attrs.get("inputs", "[]")),
            inputs=json.dumps({Path(inputs[0]).name: sha256_file(inputs[0])}),
        )
    ds.attrs.update(recording=recording, parameters=json.dumps(params, sort_keys=True))
    write_netcdf(
        ds,
        out_nc,
        simulated=simulated,
        sources=inputs,
        packages=PACKAGES,
        variables=variables_of(ds, ds.attrs.get("time_units", "s")),
    )


def write_chain(
    counts_nc, out_nc, settings: dict, seed: int, chain: int, run=None, sweeps: int | None = None
):
    """Run one chain on the counts in ``counts_nc`` (or run the chain ``run`` on for
    ``sweeps`` more sweeps) and write all its draws to ``out_nc`` (progress with an ETA every
    10 % of the sweeps or 30 s in the log: neuroflow.progress). Returns the
    :class:`~neuroflow.bicluster.sampler.ChainRun`."""
    from neuroflow.bicluster.sampler import ChainRun  # numba: compiled on first import

    counts = _open(counts_nc, "counts")
    if "counts" not in counts:
        raise ValueError(f"{counts_nc}: no 'counts' variable (neuron, time)")
    st = SamplerSettings.from_dict(settings)
    try:
        if run is None:
            label = f"bi-clustering chain {chain} ({Path(counts_nc).name})"
            run = ChainRun(counts["counts"].values, st, chain_seed(seed, chain), label=label)
        out = run.run(sweeps or st.n_iter).result()
    except ValueError as exc:
        raise ValueError(f"{counts_nc}: {exc}") from exc
    attrs = {
        "chain": int(chain),
        "seed": int(seed),
        "settings": json.dumps(st.as_dict(), sort_keys=True),
        "sweeps": int(run.sweeps),
        "inputs": json.dumps({Path(counts_nc).name: sha256_file(counts_nc)}),
    }
    ds = outputs.chain_dataset(out, run.sweeps, counts["neuron"].values, counts["time"].values, attrs)
    write_netcdf(
        ds,
        out_nc,
        simulated=is_simulated(counts.attrs, counts_nc),
        sources=[counts_nc],
        packages=PACKAGES,
        variables=variables_of(ds, counts.attrs.get("time_units", "s")),
    )
    return run


def _chain_job(job: tuple):
    """One chain (a worker process's task): its draws to its file, its progress to its log;
    returns the chain to run on (``keep``) or None."""
    counts_nc, out_nc, settings, seed, chain, log, run, sweeps, keep = job
    with redirect_to_log(log, append=run is not None):
        if run is not None:
            print(f"not converged after {run.sweeps} sweeps: running {sweeps} more", flush=True)
        run = write_chain(counts_nc, out_nc, settings, seed=seed, chain=chain, run=run, sweeps=sweeps)
    return run if keep else None


def run_chains(
    counts_nc,
    chain_ncs,
    settings: dict,
    seed: int,
    logs,
    threads: int = 1,
    convergence: dict | None = None,
    loss: str = "binder",
    state_loss: str = "pear",
) -> list[dict]:
    """Run every chain of one recording: chain ``i`` writes ``chain_ncs[i]`` from the seed
    stream :func:`chain_seed` ``(seed, i)`` and logs to ``logs[i]``.

    With ``threads`` > 1 the chains run side by side in that many worker processes (spawned,
    not forked: numba's threading layers are not fork-safe; a script calling this guards its
    body with ``if __name__ == "__main__"``, since spawned workers import the main module).
    The files do not depend on ``threads``: each chain has its own seed stream.

    Run until converged: with ``convergence["extend_sweeps"]`` > 0, the verdict of
    :func:`merge_chains` (same ``convergence``, ``loss``, ``state_loss``, ``seed``) is
    taken on the chain files; while it fails, every chain runs that many sweeps further
    (burn-in and thinning unchanged) and its file is rewritten, at most
    ``convergence["max_extensions"]`` times. A sweep budget, not a time budget: the files
    do not depend on the machine's speed.

    Returns
    -------
    list of dict
        One entry per check (empty without extension): ``sweeps`` per chain, ``converged``,
        ``n_failing`` and the first failing diagnostics; :func:`merge_chains` writes it into
        the verdict (``extensions``).
    """
    if len(chain_ncs) != len(logs):
        raise ValueError(f"{len(chain_ncs)} chain files but {len(logs)} logs")
    cfg = {**schema_defaults("convergence"), **(convergence or {})}
    extend = int(cfg["extend_sweeps"]) if int(cfg["max_extensions"]) > 0 else 0
    runs, history = [None] * len(chain_ncs), []
    for rnd in range(int(cfg["max_extensions"]) + 1 if extend else 1):
        jobs = [
            (
                str(counts_nc),
                str(out),
                dict(settings),
                int(seed),
                i,
                str(log),
                runs[i],
                extend if rnd else None,
                bool(extend),
            )
            for i, (out, log) in enumerate(zip(chain_ncs, logs))
        ]
        runs = _map_jobs(jobs, threads)
        if not extend:
            break
        _, conv = _posterior_check(*_read_merge_inputs(chain_ncs, counts_nc), cfg, loss, state_loss, seed)
        verdict = conv["verdict"]
        history.append(
            {
                "sweeps": int(runs[0].sweeps),
                "converged": bool(verdict["converged"]),
                "n_failing": int(verdict["n_failing"]),
                "failing": list(verdict["failing"][:3]),
            }
        )
        if verdict["converged"]:
            break
    return history


def _map_jobs(jobs, threads):
    workers = min(int(threads), len(jobs))
    if workers <= 1:
        return [_chain_job(job) for job in jobs]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_chain_job, jobs))  # re-raises a chain's error


def verdict_warnings(stem: str, verdict: dict, log) -> list[str]:
    """The console lines of a merge's verdict (the log holds the full list): not converged
    (with the first failing diagnostics) and clusters/states not found."""
    lines = []
    if not verdict["converged"]:
        lines.append(
            f"neuroflow WARNING: bicluster {stem}: NOT CONVERGED "
            + (
                f"after {verdict['sweeps_per_chain']} sweeps per chain "
                f"({len(verdict['extensions']) - 1} extension rounds) "
                if verdict.get("extensions")
                else ""
            )
            + f"({verdict['n_failing']} failing diagnostics"
            + ("; chains disagree" if verdict["chains_disagree"] else "")
            + "): "
            + "; ".join(verdict["failing"][:3])
            + f" (all in {log})"
        )
    if verdict["clusters_not_found"] or verdict["states_not_found"]:
        lines.append(
            f"neuroflow WARNING: bicluster {stem}: not found (too little posterior "
            f"support): clusters {verdict['clusters_not_found']}, states "
            f"{verdict['states_not_found']}"
        )
    return lines


def merge_chains(
    chain_ncs,
    counts_nc,
    out_nc,
    out_diag,
    out_clusters,
    out_validation,
    figures: dict,
    loss="binder",
    state_loss="pear",
    n_shuffles=1000,
    seed=0,
    convergence: dict | None = None,
    extensions: list | None = None,
) -> dict:
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
    extensions : list of dict, optional
        The checks of a run until converged (what :func:`run_chains` returns).

    Returns
    -------
    dict
        The convergence verdict (:func:`neuroflow.bicluster.posterior.convergence`), also
        written into every output's attributes.
    """
    counts, chains = _read_merge_inputs(chain_ncs, counts_nc)
    cfg = {**schema_defaults("convergence"), **(convergence or {})}
    est, conv = _posterior_check(counts, chains, cfg, loss, state_loss, seed)
    conv["verdict"].update(
        sweeps_per_chain=int(chains[0].sizes["iteration"]),  # one per sweep run
        extensions=list(extensions or []),
    )
    z_all = np.concatenate([c["z"].values for c in chains])
    bands = latent_bands([c["latent"].values for c in chains], z_all, est["point"])
    warning = _report_verdict(conv["verdict"], counts, counts_nc, cfg)
    simulated = is_simulated(counts.attrs, counts_nc)
    ds = outputs.posterior_dataset(counts, chains, est, conv, bands, loss, state_loss)
    ds.attrs["inputs"] = json.dumps({Path(p).name: sha256_file(p) for p in [counts_nc, *chain_ncs]})
    write_netcdf(
        ds,
        out_nc,
        simulated=simulated,
        sources=[counts_nc, *chain_ncs],
        packages=PACKAGES,
        variables=variables_of(ds, counts.attrs.get("time_units", "s")),
    )
    _write_diagnostics(conv, chains, chain_ncs, out_diag, simulated)
    _write_clusters(counts, est, conv, cfg, loss, chain_ncs, out_clusters, simulated)
    rows = validation_rows(counts, est, conv, cfg, n_shuffles, seed, simulated)
    write_tsv(
        score_table(rows),
        out_validation,
        f"{sim_label(simulated)}agreement of the point estimates with known labels",
        columns=SCORE_COLUMNS,
        sources=[str(counts_nc)],
        simulated=simulated,
    )
    outputs.annotate_sidecar(out_validation, conv["verdict"])
    plot_merged(counts, chains, est, conv, bands, figures, simulated, warning)
    return conv["verdict"]


def _posterior_check(counts, chains, cfg, loss, state_loss, seed):
    """Point estimates from the pooled draws and the convergence verdict: ``(est, conv)``."""
    draws = [{k: c[k].values for k in MONITORED} for c in chains]
    z_all = np.concatenate([d["z"] for d in draws])
    est = point_estimates(z_all, np.concatenate([d["state"] for d in draws]), loss, state_loss, seed)
    conv = posterior_convergence(
        draws, est["point"], est["s_point"], counts["neuron"].values, counts["time"].values, cfg
    )
    return est, conv


def _read_merge_inputs(chain_ncs, counts_nc):
    counts = _open(counts_nc, "counts")
    chains = [_open(p, "chain") for p in chain_ncs]
    n_draws = {c.sizes["draw"] for c in chains}
    if len(n_draws) != 1:
        raise ValueError(
            f"chains {list(map(str, chain_ncs))} have different numbers of draws "
            f"{sorted(n_draws)}: run them with the same settings"
        )
    return counts, chains


def _report_verdict(verdict, counts, counts_nc, cfg):
    """Log the verdict's warnings; returns the figures' banner text (None if converged)."""
    warning = None
    label = sim_label(is_simulated(counts.attrs, counts_nc))
    if not verdict["converged"]:
        warning = (
            f"NOT CONVERGED ({verdict['n_failing']} failing diagnostics"
            + ("; chains disagree" if verdict["chains_disagree"] else "")
            + ")"
        )
        print(
            f"WARNING: {label}{counts.attrs.get('recording', Path(counts_nc).name)}: the "
            f"chains did not converge: " + "; ".join(verdict["failing"]),
            flush=True,
        )
    if verdict["clusters_not_found"] or verdict["states_not_found"]:
        print(
            f"WARNING: point-estimate groups with support < {cfg['min_support']} in "
            f"some chain are not reported as found: clusters "
            f"{verdict['clusters_not_found']}, states {verdict['states_not_found']}",
            flush=True,
        )
    return warning


def _write_diagnostics(conv, chains, chain_ncs, out_diag, simulated) -> None:
    """The arviz diagnostics table, with a ``passes`` column added to ``conv["diag"]``."""
    diag = conv["diag"]
    thr = conv["verdict"]["thresholds"]
    r_ok = np.where(np.isfinite(diag["r_hat"]), diag["r_hat"] < thr["max_r_hat"], False)
    diag["passes"] = diag["constant"] | (
        r_ok & (diag["ess_bulk"] >= thr["min_ess"]) & (diag["ess_tail"] >= thr["min_ess"])
    )
    write_tsv(
        diag,
        out_diag,
        f"{sim_label(simulated)}MCMC diagnostics (arviz "
        f"{package_versions(('arviz',))['arviz']}) over "
        f"{len(chains)} chains x {chains[0].sizes['draw']} kept draws",
        columns={
            "parameter": "label- and rotation-invariant quantities: delta: "
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
            "passes": f"R-hat < {thr['max_r_hat']} and bulk and tail ESS >= {thr['min_ess']:g} (or constant)",
        },
        sources=[str(p) for p in chain_ncs],
        simulated=simulated,
    )
    outputs.annotate_sidecar(out_diag, conv["verdict"])


def _write_clusters(counts, est, conv, cfg, loss, chain_ncs, out_clusters, simulated) -> None:
    """The table of each neuron's point-estimate cluster, whether it was found, and its
    largest co-clustering with another cluster."""
    point, psm = est["point"], est["psm"]
    found, names = conv["cluster_found"], conv["cluster_names"]
    tbl = pd.DataFrame(
        {
            "neuron": counts["neuron"].values,
            "cluster": [names[k] for k in point],
            "cluster_found": [bool(found[k]) for k in point],
            "region": counts["region"].values if "region" in counts.coords or "region" in counts else "n/a",
            "max_coclustering_other": [
                float(np.max(np.where(point == point[i], 0, psm[i]))) for i in range(len(point))
            ],
        }
    )
    if simulated and "true_cluster" in counts and "true_state" in counts:
        tbl["true_cluster"] = counts["true_cluster"].values
    write_tsv(
        tbl,
        out_clusters,
        f"{sim_label(simulated)}neuron clusters ({loss}-loss point estimate)",
        columns={
            "neuron": "unit (neuron) id",
            "cluster": "point-estimate cluster",
            "region": "recorded region of the unit (simulations: the true cluster)",
            "true_cluster": "simulated neuron cluster (simulations only)",
            "cluster_found": f"support >= {cfg['min_support']} in every chain "
            "(false: not reported as a found cluster)",
            "max_coclustering_other": "largest posterior co-clustering with a neuron of another cluster",
        },
        sources=[str(p) for p in chain_ncs],
        simulated=simulated,
    )
    outputs.annotate_sidecar(out_clusters, conv["verdict"])
