"""Report figures of the activity stage (matplotlib Agg, deterministic PNG)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroflow.report.figures import _pyplot, _save


def plot_recording_qc(native, homogenized, path, n_neurons: int = 3, window_s: float = 60.0) -> None:
    """Native vs resampled traces of a few neurons, and the homogenized activity.

    Parameters
    ----------
    native : xarray.Dataset
        Reader output (``traces (time, neuron)``).
    homogenized : xarray.Dataset
        :func:`neuroflow.activity.homogenize.homogenize_recording` output.
    """
    plt = _pyplot()
    a = homogenized.attrs
    fig, axes = plt.subplots(
        2, 1, figsize=(8, 6), constrained_layout=True, gridspec_kw={"height_ratios": [1, 1.3]}
    )
    ax = axes[0]
    t0 = float(native["time"].values[0])
    binned = str(homogenized.attrs.get("time_reference", "")).startswith("bin centres")
    shown = [n for n in homogenized["neuron"].values if n in set(native["neuron"].values)]
    shown += [n for n in homogenized["neuron"].values if n not in shown]
    for k, name in enumerate(shown[:n_neurons]):
        j = int(np.flatnonzero(homogenized["neuron"].values == name)[0])
        orig = homogenized["roi_index"].values[j]
        col = np.flatnonzero(native["roi_index"].values == orig)
        if col.size == 0:
            continue
        tn = native["time"].values - t0
        sel = tn <= window_s
        y = native["traces"].values[sel, col[0]]
        scale = np.nanstd(y) or 1.0
        off = 4.0 * k
        ax.plot(
            tn[sel],
            (y - np.nanmean(y)) / scale + off,
            color="0.6",
            lw=0.6,
            label="native" if k == 0 else None,
        )
        # spike trains keep the file's clock (bin centres); resampled traces start at 0
        tr = homogenized["time"].values - (t0 if binned else 0.0)
        selr = tr <= window_s
        r = homogenized["resampled"].values[selr, j]
        ax.plot(
            tr[selr],
            (r - np.nanmean(y)) / scale + off,
            ".-",
            color=f"C{k}",
            lw=0.9,
            ms=2.5,
            label=f"{name} resampled",
        )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("trace (scaled, offset)")
    how = "binned from spike times, no filter" if binned else "anti-aliased"
    ax.set_title(
        f"{a['recording']}: {a['native_rate_hz']:.3g} Hz -> {a['rate_hz']:.3g} Hz ({how}); {a['signal']}"
    )
    ax.legend(loc="upper right", fontsize=6, ncol=2)
    ax = axes[1]
    act = homogenized["activity"].values.T
    lim = np.nanpercentile(np.abs(act), 99) if np.isfinite(act).any() else 1.0
    im = ax.imshow(
        act,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-lim,
        vmax=lim,
        interpolation="nearest",
        extent=(0, float(homogenized["time"].values[-1]), act.shape[0] - 0.5, -0.5),
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"neuron ({a['n_labelled']} labelled, {a['n_unlabelled']} unlabelled)")
    ax.set_title(
        f"homogenized activity ({homogenized['activity'].attrs.get('units', '')}), "
        f"{a['n_neurons']} neurons x {a['n_samples']} samples; "
        f"simulated: {a.get('simulated', 'no')}"
    )
    fig.colorbar(im, ax=ax, shrink=0.8)
    _save(fig, path)
    plt.close(fig)


def plot_fc(fcs: dict, path) -> None:
    """Small multiples of per-recording functional-connectivity matrices."""
    plt = _pyplot()
    n = max(len(fcs), 1)
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False, constrained_layout=True
    )
    im = None
    for ax, (name, fc) in zip(axes.flat, fcs.items()):
        im = ax.imshow(fc.values, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"{name}\n{fc.attrs.get('kind', '')}, {fc.sizes['neuron']} neurons", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(fcs) :]:
        ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=axes, shrink=0.7, label="r")
    _save(fig, path)
    plt.close(fig)


def plot_auroc(stats: pd.DataFrame, path, predictors=("synapse", "hops")) -> None:
    """Forest plot: AUROC (bootstrap CI) of each connectome for the atlas's responses."""
    plt = _pyplot()
    st = stats[(stats["statistic"] == "auroc") & stats["predictor"].isin(predictors)]
    strains = list(dict.fromkeys(st["strain"]))
    names = list(dict.fromkeys(st["connectome"]))
    fig, axes = plt.subplots(
        1,
        max(len(strains), 1),
        figsize=(4.2 * max(len(strains), 1), 0.28 * len(names) + 1.6),
        sharey=True,
        squeeze=False,
        constrained_layout=True,
    )
    for ax, strain in zip(axes[0], strains):
        for k, pred in enumerate(predictors):
            sub = st[(st["strain"] == strain) & (st["predictor"] == pred)].set_index("connectome")
            y = np.arange(len(names)) + (k - (len(predictors) - 1) / 2) * 0.25
            vals = sub.reindex(names)
            ax.errorbar(
                vals["value"],
                y,
                xerr=[vals["value"] - vals["ci_low"], vals["ci_high"] - vals["value"]],
                fmt="o",
                ms=3,
                lw=1,
                capsize=2,
                color=f"C{k}",
                label=pred,
            )
        ax.axvline(0.5, color="k", lw=0.8, ls="--")
        ax.set_yticks(np.arange(len(names)), names)
        ax.set_xlabel("AUROC for a significant response (q < alpha)")
        ax.set_title(f"Randi et al. 2023 atlas, {strain}")
        ax.invert_yaxis()
    axes[0][0].legend(loc="lower right", fontsize=7)
    _save(fig, path)
    plt.close(fig)


def plot_hops(hops: pd.DataFrame, path) -> None:
    """Fraction of tested pairs with a significant response vs anatomical hop count."""
    plt = _pyplot()
    strains = list(dict.fromkeys(hops["strain"]))
    fig, axes = plt.subplots(
        1,
        max(len(strains), 1),
        figsize=(4.2 * max(len(strains), 1), 3.4),
        sharey=True,
        squeeze=False,
        constrained_layout=True,
    )
    for ax, strain in zip(axes[0], strains):
        sub = hops[hops["strain"] == strain]
        levels = list(dict.fromkeys(sub["hops"]))
        x = np.arange(len(levels))
        for k, (name, g) in enumerate(sub.groupby("connectome", sort=False)):
            g = g.set_index("hops").reindex(levels)
            consensus = g["kind"].iloc[0] == "consensus"
            ax.plot(
                x,
                g["fraction_significant"],
                "o-" if consensus else "-",
                color="k" if consensus else f"C{k % 10}",
                lw=2 if consensus else 0.8,
                alpha=1 if consensus else 0.6,
                label=name,
                ms=3,
            )
            if consensus:
                ax.fill_between(x, g["ci_low"], g["ci_high"], color="k", alpha=0.15, lw=0)
        ax.set_xticks(x, levels)
        ax.set_xlabel("shortest anatomical path (synapses)")
        ax.set_title(f"{strain}")
    axes[0][0].set_ylabel("fraction of tested pairs responding")
    axes[0][-1].legend(fontsize=5, loc="upper right")
    _save(fig, path)
    plt.close(fig)
