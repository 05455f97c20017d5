"""QC figures: carpet plots before/after denoising and the group summary."""

from __future__ import annotations

import numpy as np

from neuroflow.report.figures import _pyplot, _save


def _rows_for_carpet(data: np.ndarray, max_rows: int) -> np.ndarray:
    """Evenly spaced rows (deterministic), z-scored over time (NaN columns kept)."""
    idx = np.linspace(0, data.shape[0] - 1, min(max_rows, data.shape[0])).round().astype(int)
    sub = data[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(sub, axis=1, keepdims=True)
        sd = np.nanstd(sub, axis=1, keepdims=True)
        z = (sub - mean) / np.where(sd > 0, sd, 1.0)
    return z


def plot_carpets(raw: np.ndarray, cleaned: dict, t_r: float, title: str, path, fd=None,
                 dvars_raw=None, max_rows: int = 800, unit_name: str = "voxels") -> None:
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
    fig, axes = plt.subplots(n_panels + 1, 1, figsize=(8, 1.2 + 1.7 * n_panels), sharex=True,
                             gridspec_kw={"height_ratios": heights}, constrained_layout=True)
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
        ax.imshow(z, aspect="auto", cmap="gray", vmin=-2, vmax=2, interpolation="nearest",
                  extent=extent)
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
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.35 * len(runs) + 1.6), constrained_layout=True,
                             sharey=True)
    y = np.arange(len(runs))
    width = 0.8 / max(len(strategies), 1)
    for j, strat in enumerate(strategies):
        sub = qc[qc["strategy"] == strat].set_index("stem").reindex(runs)
        axes[0].barh(y + j * width, sub["fraction_kept"].to_numpy(dtype=float), height=width,
                     label=strat, color=f"C{j}")
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
