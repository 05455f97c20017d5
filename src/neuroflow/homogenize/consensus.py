"""Consensus connectome across homogenized sources, and source-agreement statistics.

Weight units differ between sources (synapse counts, numbers of EM sections, contact
counts), so each source's weights are first normalized per synapse type, by default to
the median of its non-zero weights (a weight of 1 is "a typical synapse of that source";
robust to the heavy tail). Per edge the consensus reports which sources have it, how many
sources could have seen it (both neurons observed), the support fraction, the median
normalized weight over the sources that have it and its spread (scaled median absolute
deviation) as the uncertainty. ``n_series`` counts distinct EM series: White 1986,
Durbin 1987 and Varshney 2011 re-annotate one series (N2U) and are not independent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

NORMALIZATIONS = ("median", "mean", "none")
MAD_TO_SD = 1.4826


def stack_sources(datasets: list[xr.Dataset]) -> xr.Dataset:
    """Stack homogenized sources along a new ``source`` dim (weights and coverage only)."""
    ids = [ds.attrs["source_id"] for ds in datasets]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate source ids: {ids}")
    parts = [ds[["weight", "observed"]].expand_dims(source=[sid]) for sid, ds in zip(ids, datasets)]
    return xr.concat(parts, dim="source", join="exact")


def normalize_weights(weight: np.ndarray, method: str = "median") -> tuple[np.ndarray, np.ndarray]:
    """Scale each (source, synapse type) slice by its typical non-zero weight.

    Parameters
    ----------
    weight : ndarray, shape (n_sources, n_types, n, n)
    method : {"median", "mean", "none"}

    Returns
    -------
    normalized : ndarray, same shape
    scale : ndarray, shape (n_sources, n_types)
        The divisor used (1 for ``none`` or an empty slice).
    """
    if method not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {method!r}")
    scale = np.ones(weight.shape[:2])
    if method != "none":
        reducer = np.median if method == "median" else np.mean
        for s in range(weight.shape[0]):
            for t in range(weight.shape[1]):
                nz = weight[s, t][weight[s, t] > 0]
                if nz.size:
                    scale[s, t] = reducer(nz)
    return weight / scale[:, :, None, None], scale


def build_consensus(
    datasets: list[xr.Dataset], series: dict[str, str] | None = None, normalization: str = "median"
) -> xr.Dataset:
    """Consensus of several homogenized sources.

    Parameters
    ----------
    datasets : list of xarray.Dataset
        Outputs of :func:`neuroflow.homogenize.connectome.homogenize_source`.
    series : dict, optional
        ``source_id -> EM series`` (sources re-annotating one series share a value).
    normalization : {"median", "mean", "none"}

    Returns
    -------
    consensus : xarray.Dataset
        Variables over ``(synapse_type, pre, post)``: ``n_sources``, ``n_observing``,
        ``support``, ``n_series``, ``weight`` (median normalized weight where present),
        ``uncertainty`` (scaled MAD, NaN with < 2 sources); ``present (source, synapse_type,
        pre, post)``; ``coverage (source, neuron)``; ``scale (source, synapse_type)``.
    """
    stacked = stack_sources(datasets)
    ids = list(stacked["source"].values)
    w = stacked["weight"].values
    obs = stacked["observed"].values
    norm, scale = normalize_weights(w, normalization)
    present = w > 0
    observing = np.broadcast_to(obs[:, None, :, None] & obs[:, None, None, :], w.shape)
    n_sources = present.sum(axis=0)
    n_observing = observing.sum(axis=0)
    support = np.divide(n_sources, n_observing, out=np.full(n_sources.shape, np.nan), where=n_observing > 0)
    masked = np.where(present, norm, np.nan)
    with np.errstate(all="ignore"), _quiet_nan_warnings():
        med = np.nanmedian(masked, axis=0)
        mad = MAD_TO_SD * np.nanmedian(np.abs(masked - med[None]), axis=0)
    mad[n_sources < 2] = np.nan
    series = series or {}
    series_ids = sorted({series.get(s, s) for s in ids})
    by_series = np.stack([present[[series.get(s, s) == g for s in ids]].any(axis=0) for g in series_ids])
    dims = ("synapse_type", "pre", "post")
    ds = xr.Dataset(
        {
            "n_sources": (dims, n_sources.astype(np.int16)),
            "n_observing": (dims, n_observing.astype(np.int16)),
            "support": (dims, support),
            "n_series": (dims, by_series.sum(axis=0).astype(np.int16)),
            "weight": (dims, med),
            "uncertainty": (dims, mad),
            "present": (("source",) + dims, present.astype(np.int8)),
            "coverage": (("source", "neuron"), obs),
            "scale": (("source", "synapse_type"), scale),
        },
        coords={
            "source": ids,
            "synapse_type": stacked["synapse_type"].values,
            "pre": stacked["pre"].values,
            "post": stacked["post"].values,
            "neuron": stacked["neuron"].values,
            "series": ("source", [series.get(s, s) for s in ids]),
        },
    )
    return _describe(ds, normalization)


def _describe(ds: xr.Dataset, normalization: str) -> xr.Dataset:
    """Units and long names of every consensus variable and coordinate, and the title."""
    ds["weight"].attrs.update(
        units="1",
        normalization="per source",
        long_name=f"median over sources with the edge of weight / source {normalization} non-zero weight",
    )
    ds["uncertainty"].attrs.update(
        units="1", normalization="per source", long_name="1.4826 x median absolute deviation across sources"
    )
    ds["support"].attrs.update(units="1", long_name="n_sources / n_observing (sources that saw both neurons)")
    ds["scale"].attrs.update(
        units="count",
        long_name=f"per-source {normalization} of non-zero weights (in the counts of each source)",
    )
    for name, text, units in (
        ("n_sources", "sources that have the edge", "count"),
        ("n_observing", "sources that observed both neurons", "count"),
        ("n_series", "data series (animals) that have the edge", "count"),
        ("present", "source has the edge (1) or not (0)", "1"),
        ("coverage", "source observed the neuron (1) or not (0)", "1"),
        ("source", "connectome source", "1"),
        ("synapse_type", "synapse type", "1"),
        ("pre", "presynaptic neuron", "1"),
        ("post", "postsynaptic neuron", "1"),
        ("neuron", "neuron", "1"),
        ("series", "data series (animal) of the source", "1"),
    ):
        ds[name].attrs.update(long_name=text, units=units)
    ds.attrs.update({"title": "Consensus C. elegans connectome", "normalization": normalization})
    return ds


class _quiet_nan_warnings:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def consensus_edges(cons: xr.Dataset) -> pd.DataFrame:
    """Long table of every edge seen by at least one source (electrical: i <= j only)."""
    rows = []
    ids = cons["source"].values
    pre, post = cons["pre"].values, cons["post"].values
    for t, syn in enumerate(cons["synapse_type"].values):
        n = cons["n_sources"].values[t]
        mask = n > 0
        if syn == "electrical":
            mask = mask & np.triu(np.ones_like(mask, dtype=bool))
        ii, jj = np.nonzero(mask)
        present = cons["present"].values[:, t]
        for i, j in zip(ii, jj):
            rows.append(
                {
                    "pre": pre[i],
                    "post": post[j],
                    "synapse_type": syn,
                    "n_sources": int(n[i, j]),
                    "n_observing": int(cons["n_observing"].values[t, i, j]),
                    "support": float(cons["support"].values[t, i, j]),
                    "n_series": int(cons["n_series"].values[t, i, j]),
                    "weight": float(cons["weight"].values[t, i, j]),
                    "uncertainty": float(cons["uncertainty"].values[t, i, j]),
                    "sources": ",".join(ids[present[:, i, j] > 0]),
                }
            )
    return pd.DataFrame(rows)


def _pair_mask(n: int, synapse_type: str) -> np.ndarray:
    if synapse_type == "electrical":
        return np.triu(np.ones((n, n), dtype=bool))
    return np.ones((n, n), dtype=bool)


def jaccard_table(datasets: list[xr.Dataset]) -> pd.DataFrame:
    """Edge-set Jaccard index for every pair of sources and synapse type.

    Only neuron pairs observed by both sources are compared, so a source restricted to the
    nerve ring is not penalized for edges outside its volume. Electrical edges count once
    per unordered pair.
    """
    stacked = stack_sources(datasets)
    ids = list(stacked["source"].values)
    w, obs = stacked["weight"].values, stacked["observed"].values
    rows = []
    for t, syn in enumerate(stacked["synapse_type"].values):
        base = _pair_mask(w.shape[-1], syn)
        for a in range(len(ids)):
            for b in range(len(ids)):
                common = obs[a] & obs[b]
                mask = base & common[:, None] & common[None, :]
                ea, eb = (w[a, t] > 0) & mask, (w[b, t] > 0) & mask
                union = int((ea | eb).sum())
                inter = int((ea & eb).sum())
                rows.append(
                    {
                        "source_a": ids[a],
                        "source_b": ids[b],
                        "synapse_type": syn,
                        "n_common_neurons": int(common.sum()),
                        "n_edges_a": int(ea.sum()),
                        "n_edges_b": int(eb.sum()),
                        "n_shared": inter,
                        "jaccard": inter / union if union else np.nan,
                    }
                )
    return pd.DataFrame(rows)


def degree_table(datasets: list[xr.Dataset]) -> pd.DataFrame:
    """Spearman correlation of node degrees between every pair of sources.

    Degrees (chemical out, chemical in, electrical) are counted on the sub-graph of neurons
    both sources observe.
    """
    stacked = stack_sources(datasets)
    ids = list(stacked["source"].values)
    w, obs = stacked["weight"].values > 0, stacked["observed"].values
    rows = []
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            common = obs[a] & obs[b]
            if common.sum() < 3:
                continue
            sub = w[:, :, common][:, :, :, common]
            for kind, fn in (
                ("chemical_out", lambda m: m[0].sum(axis=1)),
                ("chemical_in", lambda m: m[0].sum(axis=0)),
                ("electrical", lambda m: m[1].sum(axis=1)),
            ):
                x, y = fn(sub[a]), fn(sub[b])
                constant = np.ptp(x) == 0 or np.ptp(y) == 0
                rho = np.nan if constant else stats.spearmanr(x, y).statistic
                rows.append(
                    {
                        "source_a": ids[a],
                        "source_b": ids[b],
                        "degree": kind,
                        "n_common_neurons": int(common.sum()),
                        "spearman_rho": float(rho),
                    }
                )
    return pd.DataFrame(rows)
