"""Posterior summaries of a recording's merged chains (computations on arrays only).

:func:`point_estimates` (neuron and state partitions, co-clustering, state posterior),
:func:`latent_bands` (posterior mean and 95 % bands of the cluster latents) and
:func:`convergence` (R-hat / ESS of the monitored quantities, chains compared, support of
every reported cluster and state in every chain). The merge step of the workflow
(:func:`neuroflow.bicluster.pipeline.merge_chains`) and the bench use them alike.
"""

from __future__ import annotations

import numpy as np

from . import summarize as sm

#: The per-draw variables of a chain (:func:`neuroflow.bicluster.sampler.run_chain`, and
#: the chain NetCDF files) that the merge reads.
MONITORED = (
    "z",
    "state",
    "delta",
    "dispersion",
    "rate_sd",
    "top_state_fraction",
    "log_lik",
    "n_clusters",
    "n_states",
)


def point_estimates(z_all, s_all, loss="binder", state_loss="pear", seed=0) -> dict:
    """Point estimates of the neuron and state partitions from the pooled draws.

    Returns ``psm`` (neuron co-clustering), ``point`` and ``z_loss`` (neurons), ``s_point``
    and ``s_loss`` (states; from <= 400 evenly thinned draws) and ``state_posterior``
    (time, state + 1: draws aligned to the point estimate, last column unmatched).
    """
    psm = sm.coclustering(z_all)
    point, z_loss = sm.point_estimate(z_all, psm, loss=loss, random_state=seed)
    sel = np.linspace(0, s_all.shape[0] - 1, min(400, s_all.shape[0])).astype(int)
    psm_t = sm.coclustering(s_all[sel])
    s_point, s_loss = sm.point_estimate(s_all[sel], psm_t, loss=state_loss, random_state=seed)
    return {
        "psm": psm,
        "point": point,
        "z_loss": z_loss,
        "s_point": s_point,
        "s_loss": s_loss,
        "state_posterior": sm.state_posterior(s_all, s_point),
    }


def latent_bands(latents, z_all, point):
    """Posterior mean, 2.5 % and 97.5 % of the cluster latents aligned to ``point``.

    ``latents``: one array (draw, slot, factor, time) per chain (slots NaN-padded to the
    largest count). Returns three arrays (cluster, factor, time).
    """
    slots = max(lat.shape[1] for lat in latents)
    lat = np.concatenate(
        [
            np.pad(x, ((0, 0), (0, slots - x.shape[1]), (0, 0), (0, 0)), constant_values=np.nan)
            for x in latents
        ]
    )
    aligned = sm.align_latents(lat, z_all, point)
    with np.errstate(all="ignore"):
        return (
            np.nanmean(aligned, axis=0),
            np.nanquantile(aligned, 0.025, axis=0),
            np.nanquantile(aligned, 0.975, axis=0),
        )


def _monitored(chains, neurons, times, max_items):
    """The diagnostics table over the continuous and label-invariant quantities."""
    stack = {k: np.stack([c[k] for c in chains]) for k in MONITORED}
    cont = {
        "delta": stack["delta"],
        "log_dispersion": np.log(stack["dispersion"]),
        "rate_sd": stack["rate_sd"],
        "top_state_fraction": stack["top_state_fraction"],
        "log_lik": stack["log_lik"],
        "n_clusters": stack["n_clusters"].astype(float),
        "n_states": stack["n_states"].astype(float),
    }
    cont["coclustering"], pair_names = sm.pair_indicators(stack["z"], [str(n) for n in neurons], max_items)
    cont["state_occupancy"], occ_bins = sm.state_occupancy(stack["state"], max_items)
    return sm.diagnostics_table(
        cont,
        neurons,
        items={"coclustering": pair_names, "state_occupancy": [f"t={float(times[b]):g}" for b in occ_bins]},
    )


def convergence(chains, point, s_point, neurons, times, cfg) -> dict:
    """The run's convergence verdict and the support of every reported group.

    Parameters
    ----------
    chains : list of dict
        Per chain, the :data:`MONITORED` arrays (draw first).
    point, s_point : ndarray of int
        Neuron and state point estimates.
    neurons, times : sequence
        Neuron labels and bin centres (s).
    cfg : dict
        ``bicluster.convergence`` (``max_r_hat``, ``min_ess``, ``max_coclustering_gap``,
        ``min_support``, ``max_items``).

    Returns
    -------
    dict
        ``verdict`` (:func:`neuroflow.bicluster.summarize.check_convergence` plus
        ``clusters_not_found``, ``states_not_found``, ``n_clusters_found``,
        ``n_states_found``), ``diag`` (the diagnostics table), ``cluster_support`` /
        ``state_support`` (chain, group), ``cluster_found`` / ``state_found`` (group,),
        ``cluster_names``, ``state_names`` (the states plus ``unmatched``).
    """
    n_d = chains[0]["z"].shape[0]
    sel_c = np.unique(np.linspace(0, n_d - 1, min(200, n_d)).astype(int))
    z_ch = [c["z"][sel_c] for c in chains]
    s_ch = [c["state"][sel_c] for c in chains]
    out = {
        "cluster_support": sm.label_support(z_ch, point),  # (chain, cluster)
        "state_support": sm.label_support(s_ch, s_point),
    }  # (chain, state)
    out["cluster_found"] = out["cluster_support"].min(axis=0) >= cfg["min_support"]
    out["state_found"] = out["state_support"].min(axis=0) >= cfg["min_support"]
    out["state_names"] = [f"S{k + 1}" for k in range(out["state_support"].shape[1])] + ["unmatched"]
    out["cluster_names"] = [f"C{k + 1}" for k in range(int(point.max()) + 1)]
    out["diag"] = _monitored(chains, neurons, times, int(cfg["max_items"]))
    gaps = {}
    for key, draws, names in (
        ("neurons", z_ch, [str(n) for n in neurons]),
        ("time bins", s_ch, [f"t={float(t):g}" for t in times]),
    ):
        gap, where = sm.chain_gap(draws)
        gaps[key] = (gap, where[:2] + tuple(names[i] for i in where[2:]))
    verdict = sm.check_convergence(
        out["diag"], gaps, len(chains), cfg["max_r_hat"], cfg["min_ess"], cfg["max_coclustering_gap"]
    )
    verdict["thresholds"]["min_support"] = float(cfg["min_support"])
    verdict["clusters_not_found"] = [n for n, f in zip(out["cluster_names"], out["cluster_found"]) if not f]
    verdict["states_not_found"] = [n for n, f in zip(out["state_names"], out["state_found"]) if not f]
    verdict["n_clusters_found"] = int(out["cluster_found"].sum())
    verdict["n_states_found"] = int(out["state_found"].sum())
    out["verdict"] = verdict
    return out
