"""QC figures: carpet plots before/after denoising and the group summary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroflow.report.figures import _pyplot, _save


@dataclass(frozen=True)
class QCSettings:
    """Settings of the per-run QC (``fmri.qc`` and ``fmri.t_r_tolerance`` of the config).

    Attributes
    ----------
    fd_threshold : float
        Framewise displacement (mm) above which a volume counts as high-motion.
    carpet_rows : int
        Rows drawn in each carpet plot.
    max_units : int
        Evenly spaced voxels / vertices on which DVARS and the carpets are computed.
    t_r_tolerance : float
        Seconds by which header, sidecar and sample sheet TRs may differ.
    """

    fd_threshold: float
    carpet_rows: int
    max_units: int
    t_r_tolerance: float

    @classmethod
    def from_config(cls, fmri: dict) -> QCSettings:
        """From the validated ``config["fmri"]`` (schema defaults filled in)."""
        qc = fmri["qc"]
        return cls(
            float(qc["fd_threshold"]),
            int(qc["carpet_rows"]),
            int(qc["max_units"]),
            float(fmri["t_r_tolerance"]),
        )


def _rows_for_carpet(data: np.ndarray, max_rows: int) -> np.ndarray:
    """Evenly spaced rows (deterministic), z-scored over time (NaN columns kept)."""
    idx = np.linspace(0, data.shape[0] - 1, min(max_rows, data.shape[0])).round().astype(int)
    sub = data[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(sub, axis=1, keepdims=True)
        sd = np.nanstd(sub, axis=1, keepdims=True)
        z = (sub - mean) / np.where(sd > 0, sd, 1.0)
    return z


def plot_carpets(
    raw: np.ndarray,
    cleaned: dict,
    t_r: float,
    title: str,
    path,
    fd=None,
    dvars_raw=None,
    max_rows: int = 800,
    unit_name: str = "voxels",
) -> None:
    """Carpet plots of a run before and after each denoising strategy.

    Parameters
    ----------
    raw : ndarray, shape (n_units, n_volumes)
    cleaned : dict
        Strategy -> ndarray (n_units, n_volumes) with NaN columns at censored volumes.
    t_r : float
        Seconds, for the time axis.
    fd, dvars_raw : ndarray, shape (n_volumes,), optional
        Framewise displacement (mm) and DVARS of the raw data, drawn above the carpets.
    """
    plt = _pyplot()
    n_panels = 1 + len(cleaned)
    heights = [1.0] + [2.2] * n_panels
    fig, axes = plt.subplots(
        n_panels + 1,
        1,
        figsize=(8, 1.2 + 1.7 * n_panels),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
        constrained_layout=True,
    )
    n_vol = raw.shape[1]
    minutes = n_vol * t_r / 60.0
    extent = (0, minutes, 0, 1)
    ax = axes[0]
    if fd is not None:
        ax.plot(np.arange(n_vol) * t_r / 60.0, fd, lw=0.7, color="C3", label="FD (mm)")
    if dvars_raw is not None:
        d = dvars_raw / np.nanmax(dvars_raw) if np.nanmax(dvars_raw) > 0 else dvars_raw
        ax.plot(np.arange(n_vol) * t_r / 60.0, d, lw=0.7, color="C0", label="DVARS (raw, scaled to max 1)")
    ax.legend(loc="upper right", fontsize=6, frameon=False)
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)
    panels = [("before denoising", raw)] + [(f"after '{k}'", v) for k, v in cleaned.items()]
    for ax, (name, arr) in zip(axes[1:], panels):
        z = _rows_for_carpet(arr, max_rows)
        ax.imshow(z, aspect="auto", cmap="gray", vmin=-2, vmax=2, interpolation="nearest", extent=extent)
        ax.set_yticks([])
        ax.set_ylabel(f"{name}\n{z.shape[0]} {unit_name}", fontsize=7)
    axes[-1].set_xlabel("time (min); censored volumes blank")
    _save(fig, path)
    plt.close(fig)


def plot_group_qc(qc, path, title: str = "fMRI QC") -> None:
    """Fraction of volumes kept and median DVARS before/after, per run and strategy.

    Parameters
    ----------
    qc : DataFrame
        The group QC table (columns stem, strategy, fraction_kept, excluded,
        dvars_median_raw, dvars_median_clean).
    """
    plt = _pyplot()
    runs = sorted(qc["stem"].unique())
    strategies = sorted(qc["strategy"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.35 * len(runs) + 1.6), constrained_layout=True, sharey=True)
    y = np.arange(len(runs))
    width = 0.8 / max(len(strategies), 1)
    for j, strat in enumerate(strategies):
        sub = qc[qc["strategy"] == strat].set_index("stem").reindex(runs)
        axes[0].barh(
            y + j * width,
            sub["fraction_kept"].to_numpy(dtype=float),
            height=width,
            label=strat,
            color=f"C{j}",
        )
        excl = sub["excluded"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
        for yy in (y + j * width)[excl]:
            axes[0].text(0.02, yy, "excluded", va="center", fontsize=6, color="k")
        ratio = (sub["dvars_median_clean"] / sub["dvars_median_raw"]).to_numpy(dtype=float)
        axes[1].barh(y + j * width, ratio, height=width, color=f"C{j}")
    axes[0].set_yticks(y + 0.4 - width / 2, runs, fontsize=6)
    axes[0].set_xlim(0, 1)
    axes[0].set_xlabel("fraction of volumes kept")
    axes[0].legend(fontsize=6, frameon=False, loc="lower right")
    axes[1].axvline(1.0, color="k", lw=0.6, ls=":")
    axes[1].set_xlabel("median DVARS after / before denoising")
    fig.suptitle(title, fontsize=8)
    _save(fig, path)
    plt.close(fig)


#: Most regressors drawn in the confound-correlation panel (the first ones, in file order).
MAX_CONFOUNDS_DRAWN = 40


def plot_run_qc(
    t_r: float,
    traces: dict,
    kept: dict,
    tsnr_values,
    confounds,
    global_signal,
    title: str,
    path,
    fd_threshold: float = 0.5,
) -> None:
    """One run's QC panels: FD and DVARS over time, kept/censored volumes per strategy, the
    tSNR distribution and the confound correlations (as in fMRIPrep / XCP-D reports).

    Parameters
    ----------
    t_r : float
        Seconds.
    traces : dict
        ``fd`` (mm, or None), ``dvars_raw`` and ``dvars`` (strategy -> ndarray, shape
        (n_volumes,), after cleaning, NaN at censored volumes); data units.
    kept : dict
        Strategy -> ndarray of bool, shape (n_volumes,) (True = kept).
    tsnr_values : ndarray, shape (n_units,), or None
        Temporal mean / SD of every non-constant unit (None: not raw intensities).
    confounds : DataFrame, shape (n_volumes, n_regressors)
        The regressors of one strategy (empty: none).
    global_signal : ndarray, shape (n_volumes,)
        Mean over units of the raw data.
    """
    plt = _pyplot()
    # a fixed layout (constrained_layout would double the drawing time of this busy figure)
    fig = plt.figure(figsize=(8, 7.5))
    top = fig.add_gridspec(
        2,
        1,
        height_ratios=[1.4, 0.25 + 0.18 * len(kept)],
        left=0.14,
        right=0.91,
        top=0.95,
        bottom=0.50,
        hspace=0.5,
    )
    low = fig.add_gridspec(
        1, 3, width_ratios=[1.0, 1.3, 1.0], left=0.08, right=0.76, top=0.40, bottom=0.07, wspace=0.25
    )
    _trace_panel(fig.add_subplot(top[0]), t_r, traces, fd_threshold, title)
    _censor_panel(fig.add_subplot(top[1]), t_r, kept)
    _tsnr_panel(fig.add_subplot(low[0]), tsnr_values)
    _confound_panels(fig.add_subplot(low[1]), fig.add_subplot(low[2]), confounds, global_signal)
    _save(fig, path)
    plt.close(fig)


def _trace_panel(ax, t_r: float, traces: dict, fd_threshold: float, title: str) -> None:
    minutes = np.arange(len(traces["dvars_raw"])) * t_r / 60.0
    ax.plot(minutes, traces["dvars_raw"], lw=0.7, color="0.3", label="DVARS before")
    for j, (name, d) in enumerate(sorted(traces["dvars"].items())):
        ax.plot(minutes, d, lw=0.7, color=f"C{j}", label=f"DVARS after '{name}'")
    ax.set_ylabel("DVARS (data units)")
    ax.set_title(title, fontsize=8)
    if traces.get("fd") is not None:
        fd_ax = ax.twinx()
        fd_ax.plot(minutes, traces["fd"], lw=0.8, color="C3", alpha=0.8, label="FD (mm)")
        fd_ax.axhline(fd_threshold, color="C3", ls=":", lw=0.8)
        fd_ax.set_ylabel(f"FD (mm); dotted: {fd_threshold:g} mm", color="C3")
        fd_ax.legend(loc="upper left", fontsize=6, frameon=False)
    else:
        ax.text(
            0.01, 0.92, "no framewise displacement (no motion confounds)", fontsize=6, transform=ax.transAxes
        )
    ax.legend(loc="upper right", fontsize=6, frameon=False, ncol=2)
    ax.set_xlim(0, minutes[-1] if len(minutes) > 1 else 1)


def _censor_panel(ax, t_r: float, kept: dict) -> None:
    names = sorted(kept)
    raster = np.where(np.array([kept[n] for n in names]).reshape(len(names), -1), 0.7, -0.8)
    n_vol = raster.shape[1]
    ax.imshow(
        raster,
        aspect="auto",
        cmap="RdGy",
        vmin=-1,
        vmax=1,
        interpolation="nearest",
        extent=(0, n_vol * t_r / 60.0, len(names), 0),
    )
    ax.set_yticks(
        np.arange(len(names)) + 0.5, [f"{n}: {int(kept[n].sum())}/{n_vol} kept" for n in names], fontsize=6
    )
    ax.set_xlabel("time (min); grey = kept, red = censored")


def _tsnr_panel(ax, values) -> None:
    if values is None or not len(values):
        ax.text(
            0.5,
            0.5,
            "tSNR not defined\n(mean-centred or\nregion input)",
            ha="center",
            va="center",
            fontsize=7,
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return
    ax.hist(values, bins=50, color="C0")
    med = float(np.median(values))
    ax.axvline(med, color="k", lw=0.8, ls="--")
    ax.set_xlabel(f"tSNR (mean / SD); median {med:.1f}")
    ax.set_ylabel("units")


def _confound_panels(ax_mat, ax_bar, confounds, global_signal) -> None:
    if confounds is None or confounds.shape[1] == 0:
        ax_mat.text(
            0.5,
            0.5,
            "no confound regressors",
            ha="center",
            va="center",
            fontsize=7,
            transform=ax_mat.transAxes,
        )
        ax_mat.set_axis_off()
        ax_bar.set_axis_off()
        return
    cols = list(confounds.columns[:MAX_CONFOUNDS_DRAWN])
    values = confounds[cols].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(np.column_stack([values, global_signal]), rowvar=False)
    ax_mat.imshow(corr[:-1, :-1], cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest", aspect="auto")
    ticks = np.arange(len(cols))
    ax_mat.set_xticks([])
    ax_mat.set_yticks([])
    shown = "" if len(cols) == confounds.shape[1] else f" (first {len(cols)} of {confounds.shape[1]})"
    ax_mat.set_title(f"confound correlations{shown}\n(rows as on the right)", fontsize=7)
    ax_bar.barh(ticks, corr[-1, :-1], color="C1")
    ax_bar.set_yticks(ticks, cols, fontsize=5 if len(cols) > 20 else 6)
    ax_bar.yaxis.tick_right()
    ax_bar.set_ylim(len(cols) - 0.5, -0.5)
    ax_bar.set_xlim(-1, 1)
    ax_bar.axvline(0, color="k", lw=0.5)
    ax_bar.set_xlabel("r with the global signal")
