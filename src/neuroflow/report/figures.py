"""Report figures. Matplotlib with the Agg backend; PNG output is deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.provenance import atomic_path

CLASS_ORDER = ("sensory", "interneuron", "motorneuron", "other")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "svg.hashsalt": "neuroflow"})
    return plt


def _save(fig, path):
    path = Path(path)
    tmp = atomic_path(path, suffix=".png")
    try:
        fig.savefig(tmp, dpi=120, metadata={"Software": None})
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def neuron_order(neurons, cells: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Indices ordering neurons by sensory/inter/motor class, then label; and class spans."""
    sim = dict(zip(cells["label"], cells.get("sim_class", pd.Series(dtype=str))))
    cls = [sim.get(n, "other") if sim.get(n) in CLASS_ORDER else "other" for n in neurons]
    order = sorted(range(len(neurons)), key=lambda i: (CLASS_ORDER.index(cls[i]), neurons[i]))
    spans, start = [], 0
    for c in CLASS_ORDER:
        n = sum(1 for x in cls if x == c)
        if n:
            spans.append((c, start, start + n))
            start += n
    return np.array(order), spans


def plot_consensus(cons, cells: pd.DataFrame, path) -> None:
    """Heatmaps of consensus support (fraction of observing sources with the edge)."""
    plt = _pyplot()
    neurons = list(cons["pre"].values)
    order, spans = neuron_order(neurons, cells)
    types = list(cons["synapse_type"].values)
    fig, axes = plt.subplots(1, len(types), figsize=(6 * len(types), 5.6), constrained_layout=True)
    for ax, syn in zip(np.atleast_1d(axes), types):
        sup = cons["support"].sel(synapse_type=syn).values[np.ix_(order, order)]
        sup = np.where(np.isnan(sup) | (sup == 0), np.nan, sup)
        im = ax.imshow(sup, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        for name, a, b in spans:
            ax.axhline(b - 0.5, color="0.6", lw=0.5)
            ax.axvline(b - 0.5, color="0.6", lw=0.5)
            ax.text(-3, (a + b) / 2, name, ha="right", va="center", rotation=90, fontsize=7)
        ax.set_title(
            f"{syn}: {int((cons['n_sources'].sel(synapse_type=syn).values > 0).sum())} "
            f"matrix entries seen by >= 1 source"
        )
        ax.set_xlabel("postsynaptic neuron (class, then name)")
        ax.set_ylabel("presynaptic neuron (class, then name)", labelpad=14)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.7, label="support: sources with edge / sources observing pair")
    _save(fig, path)
    plt.close(fig)


def plot_agreement(jaccard: pd.DataFrame, path) -> None:
    """Source x source Jaccard heatmaps, one per synapse type."""
    plt = _pyplot()
    types = list(dict.fromkeys(jaccard["synapse_type"]))
    ids = list(dict.fromkeys(jaccard["source_a"]))
    fig, axes = plt.subplots(1, len(types), figsize=(5.5 * len(types), 5), constrained_layout=True)
    for ax, syn in zip(np.atleast_1d(axes), types):
        sub = jaccard[jaccard["synapse_type"] == syn]
        mat = sub.pivot(index="source_a", columns="source_b", values="jaccard").loc[ids, ids]
        im = ax.imshow(mat.values, cmap="magma", vmin=0, vmax=1)
        ax.set_xticks(range(len(ids)), ids, rotation=90)
        ax.set_yticks(range(len(ids)), ids)
        for i in range(len(ids)):
            for j in range(len(ids)):
                v = mat.values[i, j]
                if np.isfinite(v):
                    ax.text(
                        j, i, f"{v:.2f}", ha="center", va="center", fontsize=5, color="w" if v < 0.6 else "k"
                    )
        ax.set_title(f"{syn} edge overlap (Jaccard, on commonly observed neurons)")
        fig.colorbar(im, ax=ax, shrink=0.7, label="Jaccard index")
    _save(fig, path)
    plt.close(fig)
