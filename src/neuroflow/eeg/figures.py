"""Figures of the EEG stage (matplotlib Agg): the per-recording figures of the MNE Report
and the group figures. Every title of a simulated recording starts with ``SIMULATED``."""

from __future__ import annotations

import re

import mne
import numpy as np
import pandas as pd

from neuroflow.report.figures import _pyplot, _save


def sim_title(text: str, simulated: bool) -> str:
    """``text``, prefixed with ``SIMULATED - `` for a simulated recording."""
    return f"SIMULATED - {text}" if simulated else text


def _label(ds) -> str:
    return ds.attrs.get("recording") or f"sub-{ds.attrs['subject']}"


def plot_spectra(ds, simulated: bool, truth: dict | None = None):
    """Channel-mean Welch and multitaper PSD (log-log) with the aperiodic fit."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for var, dim, label in (
        ("psd_welch", "freq", "Welch"),
        ("psd_multitaper", "freq_multitaper", "multitaper"),
    ):
        f = ds[dim].values
        ax.loglog(f, ds[var].values.mean(axis=0) * 1e12, label=f"{label} (channel mean)")
    if "aperiodic_exponent" in ds:
        f = ds["freq"].values
        f = f[f > 0]
        off = float(np.median(ds["aperiodic_offset"].values))
        exp = float(np.median(ds["aperiodic_exponent"].values))
        ax.loglog(
            f, 10 ** (off - exp * np.log10(f)), "k--", label=f"aperiodic fit, median exponent {exp:.2f}"
        )
    if truth:
        ax.axvline(
            truth["alpha_peak_frequency"],
            color="tab:red",
            lw=0.8,
            label=f"true alpha {truth['alpha_peak_frequency']:.2f} Hz, "
            f"true exponent {truth['aperiodic_exponent']:.2f}",
        )
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (uV^2/Hz)")
    ax.set_title(sim_title(f"{_label(ds)}: power spectrum", simulated))
    ax.legend(fontsize=7)
    return fig


def plot_topomaps(ds, info, simulated: bool):
    """Relative band power and the aperiodic exponent on the scalp."""
    plt = _pyplot()
    maps = [(f"{b} rel. power", ds["relative_band_power"].sel(band=b).values) for b in ds["band"].values]
    if "aperiodic_exponent" in ds:
        maps.append(("aperiodic exponent", ds["aperiodic_exponent"].values))
    # at most four maps a row, so that the page shows them at full size (8.5 in wide at most)
    ncols = min(len(maps), 4)
    nrows = -(-len(maps) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, squeeze=False, figsize=(2.1 * ncols, 2.5 * nrows), constrained_layout=True
    )
    for ax in axes.ravel()[len(maps) :]:
        ax.remove()
    for ax, (name, values) in zip(axes.ravel(), maps):
        im, _ = mne.viz.plot_topomap(
            values, info, axes=ax, show=False, cmap="viridis", sensors=True, contours=0, res=32
        )
        ax.set_title(name, fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.6)
    fig.suptitle(sim_title(f"{_label(ds)}: scalp maps", simulated), fontsize=9)
    return fig


def plot_connectivity(con, simulated: bool):
    """Connectivity matrices: one panel per method and band."""
    plt = _pyplot()
    methods, bands = list(con["method"].values), list(con["band"].values)
    fig, axes = plt.subplots(
        len(methods),
        len(bands),
        squeeze=False,
        figsize=(2.4 * len(bands), 2.3 * len(methods)),
        constrained_layout=True,
    )
    for i, m in enumerate(methods):
        for j, b in enumerate(bands):
            ax = axes[i, j]
            im = ax.imshow(
                con["connectivity"].sel({"method": m, "band": b}).values,
                vmin=0,
                vmax=1,
                cmap="magma",
                interpolation="nearest",
            )
            ax.set_title(f"{m}, {b}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.6)
    fig.suptitle(sim_title(f"{_label(con)}: sensor connectivity", simulated), fontsize=9)
    return fig


def _psd_mean(raw):
    """Channel-mean Welch PSD of the good EEG channels: (freqs, V^2/Hz)."""
    sfreq = raw.info["sfreq"]
    spec = raw.compute_psd(
        method="welch", picks="eeg", fmax=sfreq / 2, n_fft=min(int(2 * sfreq), raw.n_times), verbose="error"
    )
    return spec.freqs, spec.get_data().mean(axis=0)


def plot_psd_before_after(raw_before, raw_after, simulated: bool, label: str):
    """Channel-mean Welch PSD after filtering (before bad-channel interpolation and ICA) and
    of the cleaned data, log power."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    fig.subplots_adjust(left=0.13, right=0.97, top=0.9, bottom=0.14)
    for raw, name, style in (
        (raw_after, "cleaned", "-"),
        (raw_before, "filtered (before interpolation and ICA)", "--"),
    ):
        f, p = _psd_mean(raw)
        ax.semilogy(f, p * 1e12, style, lw=1.2, label=name)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (uV^2/Hz), channel mean")
    ax.set_title(sim_title(f"{label}: power spectrum before / after cleaning", simulated), fontsize=9)
    ax.legend(fontsize=7)
    return fig


def plot_butterfly(raw, epochs, simulated: bool, label: str, seconds: float = 10.0):
    """Butterfly plots: the first ``seconds`` of the cleaned data and the mean of the kept
    epochs with its global field power (uV)."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(7, 5))
    fig.subplots_adjust(left=0.1, right=0.97, top=0.93, bottom=0.1, hspace=0.35)
    stop = min(raw.n_times, int(seconds * raw.info["sfreq"]))
    data, times = raw.get_data(picks="eeg", stop=stop, return_times=True)
    axes[0].plot(times, data.T * 1e6, lw=0.4, color="k", alpha=0.5)
    axes[0].set_title(
        sim_title(f"{label}: cleaned data, first {times[-1]:.0f} s, every EEG channel", simulated), fontsize=9
    )
    axes[0].set_ylabel("uV")
    evoked = epochs.average(picks="eeg")
    ev = evoked.data * 1e6
    axes[1].plot(evoked.times, ev.T, lw=0.5, alpha=0.6)
    axes[1].plot(evoked.times, ev.std(axis=0), color="k", lw=1.5, label="GFP")
    axes[1].set_title(f"mean of the {len(epochs)} kept epochs (colours: channels)", fontsize=9)
    axes[1].set_xlabel("time (s)")
    axes[1].set_ylabel("uV")
    axes[1].legend(fontsize=7, loc="upper right")
    return fig


def plot_drop_log(log: pd.DataFrame, threshold_uv, simulated: bool, label: str):
    """Epoch rejection: peak-to-peak amplitude of each epoch (kept / dropped) against the
    threshold, and the drop reasons (criterion:channel)."""
    plt = _pyplot()
    fig, (ax, bar) = plt.subplots(1, 2, figsize=(8, 3), gridspec_kw={"width_ratios": [2, 1]})
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.16, wspace=0.45)
    kept = log["kept"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    p2p = log["max_peak_to_peak_uV"].to_numpy(float)
    ax.scatter(log["onset"][kept], p2p[kept], s=12, color="tab:blue", label="kept")
    ax.scatter(log["onset"][~kept], p2p[~kept], s=18, color="tab:red", marker="x", label="dropped")
    if threshold_uv:
        ax.axhline(
            float(threshold_uv), color="k", ls=":", lw=0.8, label=f"threshold {float(threshold_uv):g} uV"
        )
    ax.set_xlabel("epoch onset (s)")
    ax.set_ylabel("max peak-to-peak (uV)")
    ax.legend(fontsize=7)
    ax.set_title(sim_title(f"{label}: {int(kept.sum())} of {len(log)} epochs kept", simulated), fontsize=9)
    reasons = log.loc[~kept, "drop_reason"].astype(str).value_counts().sort_index()
    if len(reasons):
        bar.barh(np.arange(len(reasons)), reasons.to_numpy(), color="tab:red")
        bar.set_yticks(np.arange(len(reasons)), reasons.index, fontsize=7)
        bar.set_xlabel("epochs dropped")
    else:
        bar.text(0.5, 0.5, "no epoch dropped", ha="center", va="center", transform=bar.transAxes)
        bar.set_axis_off()
    return fig


def plot_ica_scores(components: pd.DataFrame, simulated: bool, label: str):
    """ICA: each component's EOG (and ECG) score and explained variance; removed in red."""
    plt = _pyplot()
    scores = [c for c in ("eog_score", "ecg_score") if components[c].notna().any()]
    fig, axes = plt.subplots(
        1 + len(scores), 1, figsize=(7, 1.8 * (1 + len(scores))), sharex=True, squeeze=False
    )
    fig.subplots_adjust(left=0.12, right=0.98, top=0.9, bottom=0.22, hspace=0.15)
    x = np.arange(len(components))
    removed = components["excluded"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    colors = np.where(removed, "tab:red", "tab:gray")
    for ax, col in zip(axes[:, 0], ["explained_variance", *scores]):
        ax.bar(x, components[col].to_numpy(float), color=colors)
        ax.set_ylabel(col.replace("_", " "), fontsize=7)
        ax.axhline(0, color="k", lw=0.5)
    axes[-1, 0].set_xticks(x, components["component"], rotation=90, fontsize=6)
    axes[0, 0].set_title(
        sim_title(f"{label}: ICA components ({int(removed.sum())} removed, red)", simulated), fontsize=9
    )
    return fig


# -- group figures ----------------------------------------------------------------------


def _names(table: pd.DataFrame) -> list[str]:
    """Short recording labels for axes: the BIDS stem without ``sub-`` and ``task-``."""
    return [re.sub(r"(^sub-|_task-[A-Za-z0-9]+)", "", r) for r in table["recording"]]


def plot_group_aperiodic(table: pd.DataFrame, path) -> None:
    """Per-recording aperiodic exponent and alpha peak; simulated truth as red crosses."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), constrained_layout=True)
    x = np.arange(len(table))
    labels = [f"{s}{' (sim)' if sim else ''}" for s, sim in zip(_names(table), table["simulated"])]
    for ax, col, truth, unit in (
        (axes[0], "exponent", "truth_exponent", ""),
        (axes[1], "alpha_peak_frequency", "truth_alpha_peak_frequency", " (Hz)"),
    ):
        ax.bar(
            x,
            table[col],
            color=["tab:gray" if s else "tab:blue" for s in table["simulated"]],
            label="recovered (median over channels)",
        )
        if truth in table and table[truth].notna().any():
            ax.plot(x, table[truth], "rx", ms=9, mew=2, label="simulated truth")
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_ylabel(col.replace("_", " ") + unit)
        ax.legend(fontsize=7, loc="lower right")
    n_sim = int(table["simulated"].sum())
    fig.suptitle(
        f"Aperiodic exponent and alpha peak per recording ({n_sim} SIMULATED, {len(table) - n_sim} real)",
        fontsize=9,
    )
    _save(fig, path)
    plt.close(fig)


def plot_group_psd(spectra: dict, simulated: dict, path) -> None:
    """Channel-mean Welch spectra of every recording (keys: BIDS stems), log-log."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for rec, (f, p) in spectra.items():
        ax.loglog(
            f,
            p * 1e12,
            ls="--" if simulated[rec] else "-",
            label=f"{rec}{' (SIMULATED)' if simulated[rec] else ''}",
        )
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (uV^2/Hz)")
    ax.set_title("Channel-mean power spectra after preprocessing (Welch)")
    ax.legend(fontsize=7)
    _save(fig, path)
    plt.close(fig)


def plot_group_bandpower(table: pd.DataFrame, bands, path) -> None:
    """Stacked relative band power (mean over channels) per recording."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4), constrained_layout=True)
    bottom = np.zeros(len(table))
    x = np.arange(len(table))
    for b in bands:
        vals = table[f"relative_{b}"].to_numpy(float)
        ax.bar(x, vals, bottom=bottom, label=b)
        bottom += vals
    ax.set_xticks(
        x,
        [f"{s}{' (sim)' if sim else ''}" for s, sim in zip(_names(table), table["simulated"])],
        rotation=30,
        ha="right",
    )
    ax.set_ylabel("relative power")
    ax.set_title("Relative band power, mean over channels (sim = SIMULATED)")
    ax.legend(fontsize=7, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    _save(fig, path)
    plt.close(fig)
