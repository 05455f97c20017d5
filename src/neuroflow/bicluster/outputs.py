"""Contents of the bi-clustering stage's output files: one chain's draws and the posterior
summary as Datasets, and the convergence verdict added to a table's JSON sidecar (the
pipeline writes them: the provenance stamp names its step)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from neuroflow.bicluster.columns import sim_label
from neuroflow.output_schema import is_simulated
from neuroflow.provenance import write_json

_LOG_RATE = "log(spikes per bin)"


def chain_dataset(out: dict, n_iter: int, neurons, time, attrs: dict) -> xr.Dataset:
    """One chain's kept draws and per-sweep traces (``out`` of
    :func:`neuroflow.bicluster.sampler.run_chain`, ``n_iter`` sweeps) as a Dataset."""
    return xr.Dataset(
        {
            "z": (("draw", "neuron"), out["z"], {"long_name": "neuron cluster label"}),
            "state": (("draw", "time"), out["state"], {"long_name": "discrete state label"}),
            "delta": (
                ("draw", "neuron"),
                out["delta"],
                {"units": _LOG_RATE, "long_name": "neuron baseline"},
            ),
            "dispersion": (("draw", "neuron"), out["dispersion"], {"long_name": "negative-binomial r"}),
            "loading_norm": (
                ("draw", "neuron"),
                out["loading_norm"],
                {"long_name": "Euclidean norm of the loading c_i"},
            ),
            "rate_sd": (
                ("draw", "neuron"),
                out["rate_sd"],
                {"units": _LOG_RATE, "long_name": "sd over time of the neuron's log rate"},
            ),
            "top_state_fraction": (
                "draw",
                out["top_state_fraction"],
                {"long_name": "share of bins in the most occupied state"},
            ),
            "n_clusters": ("draw", out["n_clusters"]),
            "n_states": ("draw", out["n_states"], {"long_name": "occupied states"}),
            "log_lik": ("draw", out["log_lik"], {"long_name": "NB log-likelihood"}),
            "latent": (
                ("draw", "slot", "factor", "time"),
                out["latent"],
                {"long_name": "cluster latents (row 0 baseline), slot = label z"},
            ),
            "trace_n_clusters": ("iteration", out["trace_n_clusters"]),
            "trace_n_states": ("iteration", out["trace_n_states"]),
            "trace_log_lik": ("iteration", out["trace_log_lik"]),
            "log_rate_mean": (("neuron", "time"), out["log_rate_mean"], {"units": _LOG_RATE}),
            "log_rate_sd": (("neuron", "time"), out["log_rate_sd"], {"units": _LOG_RATE}),
        },
        coords={
            "neuron": neurons,
            "time": time,
            "iteration": np.arange(1, n_iter + 1),
            "draw": np.arange(out["z"].shape[0]),
        },
        attrs=attrs,
    )


_SUPPORT = {
    "cluster_support": "per chain: mean over the cluster's neurons of P(neuron in the matched cluster)",
    "state_support": "per chain: mean over the state's bins of P(bin in the matched state)",
    "found": "1 = support >= min_support in every chain",
}


def _estimate_variables(counts, chains, est, bands, loss, state_loss) -> dict:
    """The posterior file's point estimates, state posterior, latent bands and log rates."""
    label = sim_label(is_simulated(counts.attrs))
    lat_mean, lat_lo, lat_hi = bands
    return {
        "coclustering": (
            ("neuron", "neuron_other"),
            est["psm"],
            {"long_name": f"{label}posterior P(neurons i and j share a cluster)"},
        ),
        "cluster_label": (
            "neuron",
            est["point"],
            {"long_name": f"{loss}-loss point estimate (0-based index into coordinate 'cluster')"},
        ),
        "state_posterior": (
            ("time", "state"),
            est["state_posterior"],
            {"long_name": "P(state) per bin, draws aligned to the point estimate; 'unmatched' = no match"},
        ),
        "state_label": (
            "time",
            est["s_point"],
            {"long_name": f"{state_loss}-loss state point estimate (0-based index into coordinate 'state')"},
        ),
        "latent_mean": (
            ("cluster", "factor", "time"),
            lat_mean,
            {"long_name": "posterior mean cluster latent (row 0 baseline)", "units": _LOG_RATE},
        ),
        "latent_lower": (("cluster", "factor", "time"), lat_lo, {"long_name": "2.5 %"}),
        "latent_upper": (("cluster", "factor", "time"), lat_hi, {"long_name": "97.5 %"}),
        "log_rate_mean": (
            ("neuron", "time"),
            np.mean([c["log_rate_mean"].values for c in chains], axis=0),
            {"units": _LOG_RATE, "long_name": "posterior mean log firing rate"},
        ),
    }


def _support_variables(chains, conv) -> dict:
    """The posterior file's numbers of groups per draw and the groups' support per chain."""
    return {
        "n_clusters": (("chain", "draw"), np.stack([c["n_clusters"].values for c in chains])),
        "n_states": (("chain", "draw"), np.stack([c["n_states"].values for c in chains])),
        "cluster_support": (
            ("chain", "cluster"),
            conv["cluster_support"],
            {"long_name": _SUPPORT["cluster_support"]},
        ),
        "state_support": (
            ("chain", "state"),
            np.pad(conv["state_support"], ((0, 0), (0, 1)), constant_values=np.nan),
            {"long_name": _SUPPORT["state_support"]},
        ),
        "cluster_found": ("cluster", conv["cluster_found"].astype(np.int8), {"long_name": _SUPPORT["found"]}),
        "state_found": (
            "state",
            np.append(conv["state_found"], False).astype(np.int8),
            {"long_name": _SUPPORT["found"]},
        ),
    }


def posterior_dataset(counts, chains, est, conv, bands, loss, state_loss) -> xr.Dataset:
    """The posterior summary of all chains (``inputs`` left empty for the caller)."""
    label = sim_label(is_simulated(counts.attrs))
    verdict = conv["verdict"]
    lat_mean = bands[0]
    neurons = counts["neuron"].values
    data = {
        **_estimate_variables(counts, chains, est, bands, loss, state_loss),
        **_support_variables(chains, conv),
    }
    coords = {
        "neuron": neurons,
        "neuron_other": neurons,
        "time": counts["time"].values,
        "state": conv["state_names"],
        "cluster": conv["cluster_names"],
        "factor": ["baseline"] + [f"factor{j}" for j in range(1, lat_mean.shape[1])],
        "chain": np.arange(len(chains)),
        "draw": chains[0]["draw"].values,
    }
    attrs = {
        "description": f"{label}posterior summary of the Wei (2023) bi-clustering model",
        "binder_or_vi_loss_neurons": est["z_loss"],
        "loss_states": est["s_loss"],
        "bin_width_s": float(counts.attrs.get("bin_width_s", 1.0)),
        "time_units": str(counts.attrs.get("time_units", "s")),
        "inputs": "",
        "settings": chains[0].attrs.get("settings", ""),
        "converged": int(verdict["converged"]),
        "chains_disagree": int(verdict["chains_disagree"]),
        "convergence": json.dumps(verdict, sort_keys=True),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def annotate_sidecar(tsv, convergence: dict) -> None:
    """Add the run's convergence verdict to a TSV's JSON sidecar."""
    side = Path(tsv).with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["Converged"] = bool(convergence["converged"])
    meta["Convergence"] = convergence
    write_json(meta, side)
