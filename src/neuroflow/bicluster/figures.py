"""Report figures of the bi-clustering stage (matplotlib Agg, deterministic PNG)."""

from __future__ import annotations

import json

import numpy as np

from neuroflow.report.figures import _pyplot, _save


def _title(text, simulated):
    return ("SIMULATED data: " if simulated else "") + text


def _warn(fig, warning) -> None:
    """A red banner on top of the figure when the run did not converge (None: nothing)."""
    if warning:
        fig.suptitle(
            warning + ": see the diagnostics table and the 'convergence' attribute",
            color="#c00000",
            fontsize=9,
            fontweight="bold",
        )


def _time_axis(counts):
    t = counts["time"].values
    unit = str(counts.attrs.get("time_units", "s"))
    return t, ("time bin" if unit == "bin" else f"time ({unit})")


def plot_raster(counts, clusters, states, path, simulated, warning=None, n_found=None) -> None:
    """Spike counts (neurons sorted by cluster) over time, with the state ribbon on top.

    ``n_found``: (clusters, states) found (support in every chain); the title counts only
    those. ``warning``: red banner text of a run that did not converge.
    """
    plt = _pyplot()
    y = counts["counts"].values.astype(float)
    order = np.lexsort((np.arange(len(clusters)), clusters))
    t, xlabel = _time_axis(counts)
    norm = y / np.maximum(y.mean(1, keepdims=True), 1e-9)
    fig, (ax0, ax1) = plt.subplots(
        2, 1, figsize=(9, 5.2), sharex=True, constrained_layout=True, gridspec_kw={"height_ratios": [1, 8]}
    )
    ax0.imshow(
        states[None],
        aspect="auto",
        cmap="tab10",
        vmin=0,
        vmax=9,
        extent=[t[0], t[-1], 0, 1],
        interpolation="nearest",
    )
    ax0.set_yticks([])
    ax0.set_ylabel("state", rotation=0, ha="right", va="center")
    im = ax1.imshow(
        norm[order],
        aspect="auto",
        cmap="Greys",
        vmin=0,
        vmax=3,
        extent=[t[0], t[-1], len(order), 0],
        interpolation="nearest",
    )
    bounds = np.flatnonzero(np.diff(clusters[order])) + 1
    for b in bounds:
        ax1.axhline(b, color="tab:red", lw=1)
    labels = counts["neuron"].values[order]
    if len(labels) <= 40:
        ax1.set_yticks(np.arange(len(labels)) + 0.5)
        ax1.set_yticklabels([f"{lab} (C{clusters[i] + 1})" for lab, i in zip(labels, order)], fontsize=6)
    ax1.set_xlabel(xlabel)
    ax1.set_ylabel("neuron (sorted by cluster)")
    fig.colorbar(im, ax=ax1, shrink=0.6, label="count / neuron's mean count")
    n_cl, n_st = n_found or (int(clusters.max()) + 1, int(states.max()) + 1)
    extra = (int(clusters.max()) + 1 - n_cl, int(states.max()) + 1 - n_st)
    note = f" (+{extra[0]} clusters, {extra[1]} states not found)" if any(extra) else ""
    ax0.set_title(_title(f"{len(labels)} neurons in {n_cl} clusters, {n_st} states{note}", simulated))
    _warn(fig, warning)
    _save(fig, path)
    plt.close(fig)


def plot_states(counts, posterior, states, names, path, simulated, warning=None) -> None:
    """State posterior (stacked) over time with the point estimate and reference labels."""
    plt = _pyplot()
    t, xlabel = _time_axis(counts)
    refs = []
    if "true_state" in counts:
        refs.append(("true state", counts["true_state"].values))
    if "epoch" in counts.coords and np.any(counts["epoch"].values != ""):
        refs.append(("epoch", np.unique(counts["epoch"].values, return_inverse=True)[1]))
    n_rows = 2 + len(refs)
    fig, axes = plt.subplots(
        n_rows,
        1,
        figsize=(9, 1.2 + 1.1 * n_rows),
        sharex=True,
        constrained_layout=True,
        gridspec_kw={"height_ratios": [4] + [1] * (n_rows - 1)},
    )
    cmap = plt.get_cmap("tab10")
    colors = [cmap(k % 10) for k in range(posterior.shape[1] - 1)] + ["0.8"]
    axes[0].stackplot(t, posterior.T, colors=colors, labels=names, step="mid")
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("P(state)")
    axes[0].legend(loc="upper right", fontsize=6, ncol=min(6, len(names)))
    rows = [("point estimate", states)] + refs
    for ax, (name, lab) in zip(axes[1:], rows):
        ax.imshow(
            np.asarray(lab)[None],
            aspect="auto",
            cmap="tab10",
            vmin=0,
            vmax=9,
            extent=[t[0], t[-1], 0, 1],
            interpolation="nearest",
        )
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    if "epoch" in counts.coords and refs and refs[-1][0] == "epoch":
        names_ep = np.unique(counts["epoch"].values)
        axes[-1].set_title(
            "epochs: " + ", ".join(f"{n or 'none'}={k}" for k, n in enumerate(names_ep)), fontsize=7
        )
    axes[-1].set_xlabel(xlabel)
    axes[0].set_title(
        _title("posterior probability of each state (draws aligned to the point estimate)", simulated)
    )
    _warn(fig, warning)
    _save(fig, path)
    plt.close(fig)


def plot_coclustering(psm, clusters, counts, path, simulated, warning=None) -> None:
    """Neuron x neuron posterior co-clustering, sorted by the point estimate."""
    plt = _pyplot()
    order = np.lexsort((np.arange(len(clusters)), clusters))
    fig, ax = plt.subplots(figsize=(5.6, 5), constrained_layout=True)
    im = ax.imshow(psm[np.ix_(order, order)], cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    labels = counts["neuron"].values[order]
    extra = (
        counts["true_cluster"].values[order]
        if "true_cluster" in counts
        else counts["region"].values[order]
        if "region" in counts.coords
        else None
    )
    if len(labels) <= 40:
        ticks = [f"{lab} ({e})" for lab, e in zip(labels, extra)] if extra is not None else list(labels)
        ax.set_xticks(range(len(labels)))
        ax.set_yticks(range(len(labels)))
        ax.set_xticklabels(ticks, rotation=90, fontsize=5)
        ax.set_yticklabels(ticks, fontsize=5)
    for b in np.flatnonzero(np.diff(clusters[order])) + 0.5:
        ax.axhline(b, color="w", lw=0.8)
        ax.axvline(b, color="w", lw=0.8)
    fig.colorbar(im, ax=ax, shrink=0.8, label="P(same cluster)")
    ax.set_title(_title("posterior co-clustering of neurons", simulated))
    _warn(fig, warning)
    _save(fig, path)
    plt.close(fig)


def plot_traces(traces, diag, path, simulated, burn_in=0, warning=None) -> None:
    """Per-chain traces of the number of clusters, of states and of the log-likelihood."""
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(8, 6), sharex=True, constrained_layout=True)
    for ax, key, ylabel in zip(
        axes,
        ("n_clusters", "n_states", "log_lik"),
        ("neuron clusters", "occupied states", "NB log-likelihood"),
    ):
        arr = traces[key]
        it = np.arange(1, arr.shape[1] + 1)
        for c in range(arr.shape[0]):
            ax.plot(
                it,
                arr[c],
                lw=0.8,
                label=f"chain {c}",
                drawstyle="steps-mid" if key != "log_lik" else "default",
            )
        ax.axvline(burn_in + 0.5, color="0.5", ls="--", lw=0.8)
        ax.set_ylabel(ylabel)
        row = diag[(diag["parameter"] == key)]
        if len(row) and np.isfinite(row["r_hat"].values[0]):
            ax.set_title(
                f"R-hat {row['r_hat'].values[0]:.3f}, bulk ESS {row['ess_bulk'].values[0]:.0f} (kept draws)",
                fontsize=7,
            )
    axes[0].legend(fontsize=6)
    axes[-1].set_xlabel("sweep (dashed: end of burn-in)")
    fig.suptitle(_title("MCMC traces", simulated))
    _warn(fig, warning and _title(f"MCMC traces: {warning}", simulated))
    _save(fig, path)
    plt.close(fig)


def plot_latents(t, mean, lower, upper, states, path, simulated, warning=None) -> None:
    """Posterior mean latent trajectories with 95 % bands, per cluster and factor."""
    plt = _pyplot()
    n_cl, p1, _ = mean.shape
    fig, axes = plt.subplots(
        n_cl, 1, figsize=(9, 1.6 + 1.5 * n_cl), sharex=True, constrained_layout=True, squeeze=False
    )
    for k in range(n_cl):
        ax = axes[k, 0]
        for j in range(p1):
            name = "baseline" if j == 0 else f"factor {j}"
            ax.plot(t, mean[k, j], lw=0.8, label=name)
            ax.fill_between(t, lower[k, j], upper[k, j], alpha=0.25, lw=0)
        lo, hi = ax.get_ylim()
        ax.imshow(
            states[None],
            aspect="auto",
            cmap="tab10",
            vmin=0,
            vmax=9,
            alpha=0.15,
            extent=[t[0], t[-1], lo, hi],
            interpolation="nearest",
        )
        ax.set_ylim(lo, hi)
        ax.set_ylabel(f"C{k + 1} latent")
    axes[0, 0].legend(fontsize=6, ncol=p1, loc="upper right")
    axes[-1, 0].set_xlabel("time")
    axes[0, 0].set_title(
        _title(
            "cluster latent trajectories (posterior mean, 95 % band; shading = state point estimate)",
            simulated,
        )
    )
    _warn(fig, warning)
    _save(fig, path)
    plt.close(fig)


def plot_merged(counts, chains, est, conv, bands, figures, simulated, warning) -> None:
    """The five figures of a merge (``figures``: name -> PNG path), from the point
    estimates ``est``, the convergence ``conv`` and the latent ``bands``."""
    point, s_point = est["point"], est["s_point"]
    c_found, s_found = conv["cluster_found"], conv["state_found"]
    traces = {
        k: np.stack([c[f"trace_{k}"].values for c in chains]) for k in ("n_clusters", "n_states", "log_lik")
    }
    shown = [n + ("" if f else " (not found)") for n, f in zip(conv["state_names"], np.append(s_found, True))]
    plot_raster(
        counts,
        point,
        s_point,
        figures["raster"],
        simulated,
        warning=warning,
        n_found=(int(c_found.sum()), int(s_found.sum())),
    )
    plot_states(counts, est["state_posterior"], s_point, shown, figures["states"], simulated, warning=warning)
    plot_coclustering(est["psm"], point, counts, figures["coclustering"], simulated, warning=warning)
    plot_traces(
        traces,
        conv["diag"],
        figures["traces"],
        simulated,
        burn_in=json.loads(chains[0].attrs["settings"])["burn_in"],
        warning=warning,
    )
    plot_latents(counts["time"].values, *bands, s_point, figures["latents"], simulated, warning=warning)
