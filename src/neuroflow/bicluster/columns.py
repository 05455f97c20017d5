"""Names, descriptions and units of the bi-clustering stage's NetCDF variables and table
columns (the output schema's ``long_name`` / ``units`` and TSV sidecar ``Description``), and
the packages whose versions its files record."""

from __future__ import annotations

import pandas as pd

PACKAGES = (
    "neuroflow",
    "numpy",
    "scipy",
    "xarray",
    "h5netcdf",
    "pynwb",
    "polyagamma",
    "arviz",
    "scikit-learn",
)
_LOG = "natural log of the expected spike count per bin"
VARIABLES = {  # long_name and units of every variable of the counts, chain and posterior files
    "counts": ("spike count per bin", "count"),
    "mean_rate": ("mean firing rate", "count/s"),
    "head_direction": ("head direction (circular mean within the bin)", "rad"),
    "neuron": ("unit (neuron) id", "1"),
    "neuron_other": ("second neuron of the pair", "1"),
    "region": ("recorded region of the unit (simulations: the true cluster)", "1"),
    "epoch": ("epoch of the bin ('' = none)", "1"),
    "true_cluster": ("simulated neuron cluster", "1"),
    "true_state": ("simulated discrete state", "1"),
    "true_latent": ("simulated cluster latents (row 0 baseline)", "1"),
    "true_delta": (f"simulated neuron baseline ({_LOG})", "1"),
    "true_loading": ("simulated loading c_i", "1"),
    "true_log_rate": (f"simulated log rate ({_LOG})", "1"),
    "cluster": ("neuron cluster", "1"),
    "factor": ("latent factor (0 = baseline)", "1"),
    "loading": ("loading dimension", "1"),
    "state": ("discrete state", "1"),
    "z": ("neuron cluster label", "1"),
    "delta": (f"neuron baseline ({_LOG})", "1"),
    "dispersion": ("negative-binomial dispersion r", "1"),
    "loading_norm": ("Euclidean norm of the loading c_i", "1"),
    "rate_sd": (f"sd over time of the neuron's log rate ({_LOG})", "1"),
    "top_state_fraction": ("share of bins in the most occupied state", "1"),
    "n_clusters": ("occupied neuron clusters", "count"),
    "n_states": ("occupied states", "count"),
    "log_lik": ("negative-binomial log-likelihood", "1"),
    "latent": ("cluster latents (row 0 baseline), slot = label z", "1"),
    "trace_n_clusters": ("occupied neuron clusters at each sweep", "count"),
    "trace_n_states": ("occupied states at each sweep", "count"),
    "trace_log_lik": ("negative-binomial log-likelihood at each sweep", "1"),
    "log_rate_mean": (f"posterior mean log firing rate ({_LOG})", "1"),
    "log_rate_sd": (f"posterior sd of the log firing rate ({_LOG})", "1"),
    "slot": ("cluster slot (label z)", "1"),
    "iteration": ("sampler sweep", "1"),
    "draw": ("kept draw", "1"),
    "chain": ("chain", "1"),
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


def variables_of(ds, time_units: str = "s") -> dict:
    """The entries of :data:`VARIABLES` that ``ds`` has, keeping long_names already set."""
    out = {
        name: (ds[name].attrs.get("long_name") or text, units)
        for name, (text, units) in VARIABLES.items()
        if name in ds.variables
    }
    if "time" in ds.variables:
        out["time"] = (
            ("bin centre" if time_units == "s" else "time bin index"),
            "s" if time_units == "s" else "1",
        )
    return out


SCORE_COLUMNS = {
    "quantity": "what is scored (found groups, agreement with the truth, epochs or regions)",
    "reference": "what the point estimate is compared with",
    "value": {"Description": "score (ARI / AMI, 1 = identical) or count", "Units": "1"},
    "null_mean": {"Description": "mean score under the null", "Units": "1"},
    "null_q95": {"Description": "95th percentile of the null scores", "Units": "1"},
    "p_value": {"Description": "(1 + #null >= value) / (1 + n_null)", "Units": "1"},
    "n_null": {"Description": "null draws (circular shifts or permutations)", "Units": "count"},
}


def score_table(rows) -> pd.DataFrame:
    """The validation table (columns as :data:`SCORE_COLUMNS`) of ``rows``."""
    return pd.DataFrame(
        rows, columns=["quantity", "reference", "value", "null_mean", "null_q95", "p_value", "n_null"]
    )


def sim_label(simulated: bool) -> str:
    """The prefix of every description of simulated data."""
    return "SIMULATED " if simulated else ""
