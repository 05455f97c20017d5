"""Report figures of the tRSA stage (matplotlib Agg; deterministic PNG)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroflow.report.figures import _pyplot, _save
from neuroflow.rsa.transforms import FAMILIES, FAMILY_LABELS, Statistic, apply_statistic

KIND_LABEL = {"rdm": "RDM", "rgtm": "RGTM", "rgdm": "RGDM"}


def _finish(plt, fig, path, title: str, axes_title=None) -> None:
    """Title the figure (or one axes), write the PNG atomically, free the figure."""
    (axes_title.set_title if axes_title is not None else fig.suptitle)(title)
    _save(fig, path)
    plt.close(fig)


def _square(vec) -> np.ndarray:
    from scipy.spatial.distance import squareform

    return squareform(np.asarray(vec, dtype=float), checks=False)


def plot_rdm_statistics(vector, conditions, statistics, path, title: str, zero_edges: str = "drop") -> None:
    """One heatmap per statistic of a single RDM (each panel on its own colour scale)."""
    plt = _pyplot()
    n = len(statistics)
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.1 * cols, 3.0 * rows + 0.4), constrained_layout=True, squeeze=False
    )
    for ax, stat in zip(axes.ravel(), statistics):
        mat = _square(apply_statistic(np.asarray(vector)[None, :], stat, zero_edges)[0])
        im = ax.imshow(mat, cmap="viridis", interpolation="nearest")
        ax.set_title(stat.label, fontsize=8)
        ticks = np.arange(len(conditions))
        if len(conditions) <= 12:
            ax.set_xticks(ticks, conditions, rotation=90, fontsize=6)
            ax.set_yticks(ticks, conditions, fontsize=6)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.75)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    _finish(plt, fig, path, title)


def plot_model_comparison(table: pd.DataFrame, path, title: str, method: str) -> None:
    """Bars: model evaluation per statistic, with bootstrap standard errors."""
    plt = _pyplot()
    stats = list(dict.fromkeys(table["statistic"]))
    models = list(dict.fromkeys(table["model"]))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(
        figsize=(max(6, 0.55 * len(stats) * max(1, len(models) / 2)), 3.8), constrained_layout=True
    )
    x = np.arange(len(stats))
    cmap = plt.get_cmap("tab10")
    for k, model in enumerate(models):
        sub = table[table["model"] == model].set_index("statistic").reindex(stats)
        ax.bar(
            x + (k - (len(models) - 1) / 2) * width,
            sub["evaluation"],
            width,
            yerr=sub["bootstrap_se"],
            color=cmap(k % 10),
            label=model,
            capsize=1.5,
            error_kw={"lw": 0.6},
        )
    ax.axhline(0, color="0.3", lw=0.6)
    labels = [Statistic(*_parse_name(s)).label for s in stats]
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"model evaluation ({method}), +- bootstrap SE")
    ax.legend(fontsize=7, ncols=min(4, len(models)), loc="upper right")
    _finish(plt, fig, path, title, axes_title=ax)


def _parse_name(name: str) -> tuple[str, float, float]:
    if name == "rdm":
        return ("rdm", 0.0, 1.0)
    kind, lo, up = name.split("_")
    return (kind, float(lo[1:]), float(up[1:]))


def plot_tuning_and_rdm(tuning, rdm_vector, path, title: str) -> None:
    """Head-direction tuning curves (polar) and the angle-bin RDM."""
    plt = _pyplot()
    fig = plt.figure(figsize=(8.5, 3.8), constrained_layout=True)
    ax0 = fig.add_subplot(1, 2, 1, projection="polar")
    angles = tuning["angle_bin"].values
    closed = np.append(angles, angles[0])
    for k, unit in enumerate(tuning["unit"].values):
        rate = tuning["rate"].values[:, k]
        ax0.plot(closed, np.append(rate, rate[0]) / max(rate.max(), 1e-12), lw=1, label=f"unit {unit}")
    ax0.set_title("tuning curves (rate / max rate)", fontsize=8)
    ax0.legend(fontsize=6, loc="lower left", bbox_to_anchor=(-0.25, -0.15))
    ax1 = fig.add_subplot(1, 2, 2)
    im = ax1.imshow(_square(rdm_vector), cmap="viridis", interpolation="nearest", extent=[0, 360, 360, 0])
    ax1.set_xlabel("head direction bin (deg)")
    ax1.set_ylabel("head direction bin (deg)")
    fig.colorbar(im, ax=ax1, shrink=0.8, label="correlation distance")
    _finish(plt, fig, path, title)


def plot_noise_curves(table: pd.DataFrame, path, chance: float, title: str) -> None:
    """Identification accuracy against RDM noise level, one line per statistic."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, constrained_layout=True)
    cmap = plt.get_cmap("tab10")
    for ax, kind in zip(axes, ("rgtm", "rgdm")):
        sub = table[table["kind"].isin(["rdm", kind])]
        for k, (name, grp) in enumerate(sub.groupby("statistic", sort=False)):
            grp = grp.sort_values("noise_level")
            stat = Statistic(*_parse_name(name))
            style = {"color": "k", "lw": 2} if stat.kind == "rdm" else {"color": cmap(k % 10)}
            ax.errorbar(
                grp["noise_level"],
                grp["accuracy"],
                yerr=grp["accuracy_sd"],
                marker="o",
                ms=3,
                capsize=2,
                label=f"{stat.label} [{stat.family}]",
                **style,
            )
        ax.axhline(chance, color="0.5", ls="--", lw=0.8, label="chance")
        ax.set_xlabel("noise SD added to RDM entries (x SD of all RDM entries)")
        ax.set_title(f"{KIND_LABEL[kind]} vs plain RDM", fontsize=9)
        ax.legend(fontsize=6)
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("leave-one-instance-out identification accuracy")
    _finish(plt, fig, path, title)


def plot_grid(table: pd.DataFrame, path, title: str, chance: float) -> None:
    """Accuracy heat maps over (lower, upper), per kind (RGTM, RGDM) and noise level."""
    plt = _pyplot()
    levels = sorted(table["noise_level"].unique())
    kinds = [k for k in ("rgtm", "rgdm") if k in set(table["kind"])]
    fig, axes = plt.subplots(
        len(kinds),
        len(levels),
        figsize=(3.6 * len(levels), 3.3 * len(kinds) + 0.3),
        constrained_layout=True,
        squeeze=False,
    )
    lows = np.sort(table["lower"].unique())
    ups = np.sort(table["upper"].unique())
    for r, kind in enumerate(kinds):
        for c, level in enumerate(levels):
            ax = axes[r, c]
            sub = table[(table["kind"] == kind) & (table["noise_level"] == level)]
            grid = np.full((len(ups), len(lows)), np.nan)
            for row in sub.itertuples():
                grid[np.searchsorted(ups, row.upper), np.searchsorted(lows, row.lower)] = row.accuracy
            step_l = lows[1] - lows[0] if len(lows) > 1 else 1
            step_u = ups[1] - ups[0] if len(ups) > 1 else 1
            im = ax.imshow(
                grid,
                origin="lower",
                cmap="magma",
                vmin=chance,
                vmax=1,
                extent=[
                    lows[0] - step_l / 2,
                    lows[-1] + step_l / 2,
                    ups[0] - step_u / 2,
                    ups[-1] + step_u / 2,
                ],
                interpolation="nearest",
                aspect="auto",
            )
            best = sub.loc[sub["accuracy"].idxmax()]
            ax.plot(best["lower"], best["upper"], marker="*", color="cyan", ms=9)
            ax.set_title(
                f"{KIND_LABEL[kind]}, noise {level:g}: best {best['accuracy']:.2f} "
                f"at ({best['lower']:.2f}, {best['upper']:.2f})",
                fontsize=7,
            )
            ax.set_xlabel("lower quantile l")
            ax.set_ylabel("upper quantile u")
            fig.colorbar(im, ax=ax, shrink=0.8, label="accuracy")
    _finish(plt, fig, path, title)


def plot_families(table: pd.DataFrame, path, chance: float, title: str) -> None:
    """Mean identification accuracy per family (bars) with bootstrap SD, per kind."""
    plt = _pyplot()
    kinds = [k for k in ("rgtm", "rgdm") if k in set(table["kind"])]
    fig, axes = plt.subplots(
        1, len(kinds), figsize=(5 * len(kinds), 3.8), sharey=True, constrained_layout=True, squeeze=False
    )
    plain = table[table["family"] == "plain"]
    for ax, kind in zip(axes[0], kinds):
        sub = pd.concat([plain, table[table["kind"] == kind]])
        order = ["plain"] + [f for f in FAMILIES if f in set(sub["family"])]
        sub = sub.set_index("family").reindex(order)
        x = np.arange(len(order))
        ax.bar(
            x,
            sub["accuracy_mean"],
            yerr=sub["bootstrap_sd"],
            capsize=3,
            color=["0.3"] + [f"C{i}" for i in range(len(order) - 1)],
        )
        ax.axhline(chance, color="0.5", ls="--", lw=0.8)
        ax.set_xticks(
            x, [FAMILY_LABELS[f].split(" (")[0] for f in order], rotation=30, ha="right", fontsize=7
        )
        ax.set_title(f"{KIND_LABEL[kind]} families vs plain RDM", fontsize=9)
        ax.set_ylim(0, 1.02)
    axes[0, 0].set_ylabel("identification accuracy (mean of sampled (l, u)) +- bootstrap SD")
    _finish(plt, fig, path, title)


def plot_claims(
    summary: pd.DataFrame, claims: pd.DataFrame, path, chance: float, contrast, title: str
) -> None:
    """Contrasted families (bootstrap 95 % band) and the plain RDM against noise level.

    One row per statistic kind, one column per noise model; the dotted line is the 95th
    percentile of the label-permutation null, the dashed one chance.
    """
    plt = _pyplot()
    models = list(dict.fromkeys(claims["noise_model"]))
    kinds = list(dict.fromkeys(claims["kind"]))
    fig, axes = plt.subplots(
        len(kinds),
        len(models),
        figsize=(4.2 * len(models), 3.4 * len(kinds) + 0.4),
        sharey=True,
        constrained_layout=True,
        squeeze=False,
    )
    for r, kind in enumerate(kinds):
        for c, model in enumerate(models):
            ax = axes[r, c]
            sub = summary[summary["noise_model"] == model]
            for k, fam in enumerate(contrast):
                rows = sub[(sub["kind"] == kind) & (sub["family"] == fam)].sort_values("noise_level")
                ax.plot(
                    rows["noise_level"],
                    rows["accuracy_mean"],
                    marker="o",
                    ms=3,
                    color=f"C{k}",
                    label=FAMILY_LABELS[fam].split(" (")[0],
                )
                ax.fill_between(
                    rows["noise_level"], rows["ci_low"], rows["ci_high"], color=f"C{k}", alpha=0.2, lw=0
                )
            plain = sub[sub["family"] == "plain"].sort_values("noise_level")
            ax.plot(
                plain["noise_level"],
                plain["accuracy_mean"],
                color="k",
                ls="--",
                marker="s",
                ms=3,
                label="plain RDM (extra baseline)",
            )
            cl = claims[(claims["noise_model"] == model) & (claims["kind"] == kind)]
            ax.plot(
                cl["noise_level"], cl["null_p95"], color="0.5", ls=":", lw=1, label="null 95th percentile"
            )
            ax.axhline(chance, color="0.5", ls="--", lw=0.8)
            ax.set_ylim(0, 1.02)
            ax.set_title(f"{KIND_LABEL[kind]}, {model} noise", fontsize=9)
            ax.set_xlabel("noise level (SD units of the model)")
            if c == 0:
                ax.set_ylabel("identification accuracy (band: bootstrap 95 %)")
            ax.legend(fontsize=6)
    _finish(plt, fig, path, title)
