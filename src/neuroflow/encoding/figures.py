"""Figures of the encoding stage (matplotlib Agg, deterministic PNG)."""

from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    from neuroflow.report.figures import _save as save

    try:
        save(fig, path)
    finally:
        _plt().close(fig)


def plot_ridge_summary(
    time,
    observed,
    predicted,
    excerpt,
    lag_s,
    coef,
    feature_names,
    r_mean,
    null,
    target_names,
    path,
    *,
    title: str,
    response_units: str,
    best: int,
) -> None:
    """Held-out prediction, FIR weights and per-target accuracy against the null.

    Parameters
    ----------
    time : ndarray, shape (n_samples,)
        Time within the run (s).
    observed, predicted : ndarray, shape (n_samples, n_targets)
    excerpt : ndarray of int
        Sample indices shown in panel A (a stretch of one held-out block).
    lag_s : ndarray, shape (n_lags,)
    coef : ndarray, shape (n_lags, n_features, n_targets)
        Weights refit on all data (per z-scored feature).
    feature_names : list of str
    r_mean : ndarray, shape (n_targets,)
        Mean held-out correlation over folds.
    null : ndarray, shape (n_permutations, n_targets)
        Null mean correlations (shifted responses).
    best : int
        Target shown in panels A and B.
    """
    plt = _plt()
    response_units = response_units.split(" (")[0]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), gridspec_kw={"width_ratios": [2, 1, 1.3]})
    _panel_prediction(axes[0], time, observed, predicted, excerpt, best, target_names, response_units)
    _panel_weights(axes[1], lag_s, coef, feature_names, best, response_units)
    _panel_accuracy(axes[2], r_mean, null, target_names)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def _panel_prediction(ax, time, observed, predicted, excerpt, best, target_names, response_units) -> None:
    """Panel A: observed and held-out predicted response of the best target (an excerpt)."""
    t = time[excerpt]
    ax.plot(t, observed[excerpt, best], color="0.6", lw=0.8, label="observed")
    ax.plot(t, predicted[excerpt, best], color="C3", lw=1.2, label="predicted (held out)")
    ax.set(
        xlabel="time in run (s)", ylabel=response_units, title=f"A  {target_names[best]}: held-out prediction"
    )
    ax.legend(loc="upper right", fontsize=8)


def _panel_weights(ax, lag_s, coef, feature_names, best, response_units) -> None:
    """Panel B: the weights refit on all data (per feature, or FIR over the lags)."""
    if len(lag_s) == 1:  # no lags: weight per feature
        x = np.arange(len(feature_names))
        ax.plot(x, coef[0, :, best], marker="o", color="C0")
        ax.set_xticks(x, feature_names, rotation=90, fontsize=7)
        ax.set(
            xlabel=f"feature (lag {lag_s[0]:g} s)",
            ylabel=f"weight ({response_units} per SD)",
            title="B  weights (all data)",
        )
    else:
        ms = lag_s.max() < 1
        for j, name in enumerate(feature_names):
            ax.plot(lag_s * 1000 if ms else lag_s, coef[:, j, best], marker="o", ms=3, label=name)
        ax.set(
            xlabel="lag (ms)" if ms else "lag (s)",
            ylabel=f"weight ({response_units} per SD)",
            title="B  FIR weights (all data)",
        )
        if len(feature_names) <= 12:
            ax.legend(fontsize=7, ncol=2 if len(feature_names) > 4 else 1)
    ax.axhline(0, color="k", lw=0.5)


def _panel_accuracy(ax, r_mean, null, target_names) -> None:
    """Panel C: held-out correlation per target against the shuffled baseline."""
    n_t = len(r_mean)
    if n_t <= 40:
        order = np.arange(n_t)
        x = np.arange(n_t)
        lo, hi = np.nanpercentile(null, [2.5, 97.5], axis=0) if len(null) else (None, None)
        if len(null) > 1:
            ax.vlines(x, lo[order], hi[order], color="0.5", lw=4, alpha=0.5, label="shuffled baseline (95 %)")
            ax.plot(x, np.nanmean(null, axis=0)[order], "_", color="k", ms=10)
        ax.plot(x, r_mean[order], "o", color="C3", label="model (mean over folds)")
        ax.set_xticks(x, [target_names[i] for i in order], rotation=90 if n_t > 3 else 0, fontsize=7)
        ax.set(ylabel="held-out correlation r", title="C  accuracy vs shuffled baseline")
    else:
        bins = np.linspace(min(np.nanmin(r_mean), np.nanmin(null) if null.size else 0), np.nanmax(r_mean), 40)
        ax.hist(r_mean[np.isfinite(r_mean)], bins=bins, color="C3", alpha=0.7, label=f"model ({n_t} targets)")
        if null.size:
            ax.hist(
                np.nanpercentile(null, 95, axis=0),
                bins=bins,
                color="0.5",
                alpha=0.6,
                label="shuffled baseline, 95th pct",
            )
        ax.set(xlabel="held-out correlation r", ylabel="targets", title="C  accuracy vs shuffled baseline")
    ax.axhline(0, color="k", lw=0.5) if n_t <= 40 else ax.axvline(0, color="k", lw=0.5)
    ax.legend(fontsize=7)


def plot_routing(
    mean_maps, region_names, sources, example_maps, example_locations, path, *, title: str
) -> None:
    """Mean attention map of every region query, and single-stimulus maps of moving ones.

    Parameters
    ----------
    mean_maps : ndarray, shape (n_regions, height, width)
        Attention weight of each token, averaged over held-out stimuli.
    sources : list of (row, col) or None
        Known source of each region (simulated data), drawn as a white circle.
    example_maps : ndarray, shape (n_examples, n_regions, height, width)
        Single held-out stimuli.
    example_locations : ndarray, shape (n_examples, n_regions, 2) or None
        Known per-stimulus source (moving regions; -1 where not applicable).
    """
    plt = _plt()
    n_r = len(region_names)
    n_ex = len(example_maps)
    fig, axes = plt.subplots(1 + n_ex, n_r, figsize=(2.4 * n_r, 2.3 * (1 + n_ex)), squeeze=False)
    for k, name in enumerate(region_names):
        ax = axes[0, k]
        im = ax.imshow(mean_maps[k], cmap="viridis", vmin=0)
        if sources[k] is not None:
            ax.plot(sources[k][1], sources[k][0], "o", mfc="none", mec="w", ms=14, mew=2)
        ax.set_title(f"{name}\nmean over stimuli", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        for e in range(n_ex):
            ax = axes[1 + e, k]
            ax.imshow(example_maps[e, k], cmap="viridis", vmin=0)
            if example_locations is not None and example_locations[e, k, 0] >= 0:
                ax.plot(
                    example_locations[e, k, 1],
                    example_locations[e, k, 0],
                    "o",
                    mfc="none",
                    mec="w",
                    ms=14,
                    mew=2,
                )
            ax.set_title(f"stimulus {e + 1}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def plot_model_comparison(table, path, *, title: str) -> None:
    """Held-out correlation per region: attention-routing encoder vs ridge, same splits.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``region``, ``model``, ``r_mean`` and ``r_sem``.
    """
    plt = _plt()
    regions = list(dict.fromkeys(table["region"]))
    models = list(dict.fromkeys(table["model"]))
    fig, ax = plt.subplots(figsize=(1.4 * len(regions) + 2, 3.6))
    width = 0.8 / len(models)
    for m, model in enumerate(models):
        sub = table[table["model"] == model].set_index("region").loc[regions]
        x = np.arange(len(regions)) + (m - (len(models) - 1) / 2) * width
        ax.bar(x, sub["r_mean"], width, yerr=sub["r_sem"], capsize=3, label=model, color=f"C{m}")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(np.arange(len(regions)), regions)
    ax.set(ylabel="held-out correlation r (mean over targets)", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
