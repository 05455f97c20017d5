"""Figures of the fc stage (matplotlib Agg; deterministic PNG)."""

from __future__ import annotations

import numpy as np

from neuroflow.report.figures import _pyplot, _save

SELECTOR_STYLE = {
    "random": ("0.45", "o"),
    "kcenter": ("tab:blue", "s"),
    "herding": ("tab:green", "^"),
    "el2n": ("tab:purple", "v"),
    "sps_topk": ("tab:orange", "D"),
    "sclcs": ("tab:red", "*"),
    "sclcs_drawcorr": ("tab:brown", "P"),
}


def plot_scores(table, tasks, path, title: str) -> None:
    """Heatmap of each operator's full-set score per task (operators sorted by mean rank)."""
    plt = _pyplot()
    ranks = np.mean([table[f"{t}_rank"].to_numpy(float) for t in tasks], axis=0)
    order = np.argsort(ranks, kind="stable")
    fig, axes = plt.subplots(
        1, len(tasks), figsize=(2.2 * len(tasks) + 2.2, 0.16 * len(table) + 1.4), squeeze=False, sharey=True
    )
    for ax, task in zip(axes[0], tasks):
        vals = table[f"{task}_score"].to_numpy(float)[order]
        ax.barh(np.arange(len(vals)), np.nan_to_num(vals), color="tab:blue")
        ax.set_title(task, fontsize=8)
        ax.set_xlabel("score")
    axes[0][0].invert_yaxis()  # shared y: invert once, best on top
    axes[0][0].set_yticks(np.arange(len(table)))
    axes[0][0].set_yticklabels(table["operator"].to_numpy()[order], fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_sps(ds, path, title: str) -> None:
    """Training loss, mean structure change per epoch, and the SPS distribution."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    epoch = ds["epoch"].values
    for seed in ds["train_seed"].values:
        axes[0].plot(epoch, ds["loss"].sel(train_seed=seed).values, lw=0.8, label=f"seed {seed}")
        axes[1].plot(epoch, ds["delta"].sel(train_seed=seed).values, lw=0.8)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].set_title("contrastive + sparsity loss", fontsize=8)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("mean ||A(e+1) - A(e)||_F")
    axes[1].set_title("structure change", fontsize=8)
    sps = ds["sps"].values
    finite = sps[np.isfinite(sps)]
    if finite.size:
        axes[2].hist(finite, bins=30, color="tab:red", alpha=0.8)
    axes[2].set_xlabel("SPS (lower = more stable)")
    axes[2].set_ylabel("samples")
    axes[2].set_title(f"SPS ({int((~np.isfinite(sps)).sum())} samples never seen twice)", fontsize=8)
    if len(ds["train_seed"]) <= 5:
        axes[0].legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_agreement(summary, tasks, claim, path, k: int, title: str) -> None:
    """Every ranking metric (mean +- SD over seeds) vs core-set size, per selector and task,
    with the random-permutation null (dotted) and the split-half noise ceiling (dashed)."""
    from neuroflow.fc.ranking import METRICS

    plt = _pyplot()
    fig, axes = plt.subplots(
        len(METRICS), len(tasks), figsize=(3.4 * len(tasks), 2.3 * len(METRICS)), squeeze=False
    )
    for c, task in enumerate(tasks):
        part = summary[summary.task == task]
        for name in part.selector.unique():
            rows = part[part.selector == name].sort_values("fraction")
            color, marker = SELECTOR_STYLE.get(name, ("k", "."))
            x = 100 * rows.fraction.to_numpy(float)
            for r, m in enumerate(METRICS):
                y, e = rows[f"{m}_mean"].to_numpy(float), np.nan_to_num(rows[f"{m}_sd"].to_numpy(float))
                axes[r][c].plot(x, y, color=color, marker=marker, ms=4, lw=1, label=name)
                axes[r][c].fill_between(x, y - e, y + e, color=color, alpha=0.12, lw=0)
        for r, m in enumerate(METRICS):
            ref = claim[(claim.task == task) & (claim.metric == m)] if len(claim) else claim
            if len(ref):
                axes[r][c].axhline(ref.null_mean.iloc[0], color="0.3", ls=":", lw=1)
                axes[r][c].axhline(ref.noise_ceiling.iloc[0], color="0.3", ls="--", lw=1)
            axes[r][c].set_ylabel(m.replace("ndcg", f"nDCG@{k}"), fontsize=7)
        axes[0][c].set_title(task, fontsize=8)
        axes[-1][c].set_xlabel("core-set size (% of the pool)")
    axes[0][0].legend(fontsize=6, loc="lower right")
    fig.suptitle(title + "; dotted: permutation null, dashed: split-half ceiling", fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
