"""Connectome homogenization: one neuron order, one graph format, with provenance.

After Simeon et al. 2024 ("Homogenized C. elegans Neural Activity and Connectivity Data",
arXiv 2411.12091), with these choices (see ``docs`` in the methods paragraph):

* labels are mapped with :class:`neuroflow.io.celegans_labels.LabelMap`; edges between two
  canonical neurons form the neuron block (300 x 300), every other edge (to muscles, end
  organs, or unmapped labels) is kept in a separate edge list and counted;
* duplicate rows within a direction are summed; gap junctions are made undirected by
  reducing the two listed directions of each pair (``mean`` of the listed directions by
  default, as in the seed; ``max`` and ``sum`` available);
* a neuron is *observed* by a source when it takes part in at least one edge of that
  source (EM volumes differ: Witvliet 2021 covers the nerve ring only).
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from neuroflow.io.celegans_labels import LabelMap
from neuroflow.workflow_files import workflow_root

SYNAPSE_TYPES = ("chemical", "electrical")
GAP_REDUCERS = ("mean", "max", "sum")


def map_edges(edges: pd.DataFrame, label_map: LabelMap) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map raw edge labels and split the neuron block from every other edge.

    Parameters
    ----------
    edges : DataFrame
        Columns ``pre, post, synapse_type, weight`` with raw labels.
    label_map : LabelMap

    Returns
    -------
    neuron_edges : DataFrame
        Edges between canonical neurons (labels canonical), duplicates summed.
    other_edges : DataFrame
        All remaining edges with ``pre_block`` / ``post_block`` (``muscle``, ``other`` or
        ``unmapped``; unmapped labels keep their raw spelling), duplicates summed.
    """
    mapped = edges.copy()
    for end in ("pre", "post"):
        pairs = [label_map.map(lab) for lab in mapped[end]]
        mapped[f"{end}_block"] = [p[0] for p in pairs]
        mapped[end] = [p[1] for p in pairs]
    keys = ["pre", "post", "synapse_type", "pre_block", "post_block"]
    mapped = mapped.groupby(keys, as_index=False, sort=True)["weight"].sum()
    is_neuron = (mapped["pre_block"] == "neuron") & (mapped["post_block"] == "neuron")
    neuron_edges = mapped.loc[is_neuron, ["pre", "post", "synapse_type", "weight"]]
    other_edges = mapped.loc[~is_neuron].sort_values(["synapse_type", "pre", "post"])
    return neuron_edges.reset_index(drop=True), other_edges.reset_index(drop=True)


def unmapped_labels(other_edges: pd.DataFrame) -> pd.DataFrame:
    """Table of every unmapped raw label with how many edges and how much weight it carries."""
    rows = []
    for end in ("pre", "post"):
        sub = other_edges[other_edges[f"{end}_block"] == "unmapped"]
        for (label, syn), grp in sub.groupby([end, "synapse_type"]):
            rows.append(
                {
                    "label": label,
                    "role": end,
                    "synapse_type": syn,
                    "n_edges": len(grp),
                    "total_weight": grp["weight"].sum(),
                }
            )
    cols = ["label", "role", "synapse_type", "n_edges", "total_weight"]
    return pd.DataFrame(rows, columns=cols).sort_values(cols[:3]).reset_index(drop=True)


def directed_matrix(edges: pd.DataFrame, labels: list[str], synapse_type: str) -> np.ndarray:
    """Dense ``(n, n)`` matrix, rows pre, columns post, of one synapse type."""
    index = {lab: i for i, lab in enumerate(labels)}
    sub = edges[edges["synapse_type"] == synapse_type]
    mat = np.zeros((len(labels), len(labels)))
    rows = sub["pre"].map(index).to_numpy(dtype=np.intp)
    cols = sub["post"].map(index).to_numpy(dtype=np.intp)
    np.add.at(mat, (rows, cols), sub["weight"].to_numpy(dtype=float))
    return mat


def gap_symmetry_qc(directed: np.ndarray) -> dict:
    """How symmetric the gap junctions were *as listed* in the source.

    Returns counts of unordered neuron pairs (off-diagonal) listed in both directions,
    in one direction only, listed in both with equal weight, and the largest difference.
    """
    upper = np.triu(np.ones_like(directed, dtype=bool), k=1)
    a, b = directed[upper], directed.T[upper]
    listed = (a > 0) | (b > 0)
    both = (a > 0) & (b > 0)
    return {
        "n_pairs": int(listed.sum()),
        "n_both_directions": int(both.sum()),
        "n_one_direction": int((listed & ~both).sum()),
        "n_both_equal": int((both & (a == b)).sum()),
        "max_abs_difference": float(np.abs(a - b)[both].max()) if both.any() else 0.0,
    }


def symmetrize_gap(directed: np.ndarray, reduce: str) -> np.ndarray:
    """Undirected gap-junction matrix from the directions listed in a source.

    Parameters
    ----------
    directed : ndarray, shape (n, n)
        Listed weights, ``directed[i, j]`` for the row ``i -> j``.
    reduce : {"mean", "max", "sum"}
        ``mean``: mean of the listed (non-zero) directions, so a junction listed once or
        twice with the same weight keeps that weight (the seed's default); ``max``: the
        larger direction; ``sum``: both directions added (double counts a junction that the
        source lists twice).

    Returns
    -------
    sym : ndarray, shape (n, n)
        Exactly symmetric.
    """
    if reduce not in GAP_REDUCERS:
        raise ValueError(f"gap_junction_reduce must be one of {GAP_REDUCERS}, got {reduce!r}")
    t = directed.T
    if reduce == "max":
        sym = np.maximum(directed, t)
    elif reduce == "sum":
        sym = directed + t
        np.fill_diagonal(sym, np.diag(directed))
    else:
        count = (directed > 0).astype(float) + (t > 0)
        sym = np.divide(directed + t, count, out=np.zeros_like(directed), where=count > 0)
    return np.maximum(sym, sym.T)  # exact symmetry against float round-off


def _check_some_neurons(
    edges: pd.DataFrame, neuron_edges: pd.DataFrame, other_edges: pd.DataFrame, source_id: str
) -> None:
    """A table none of whose edges joins two canonical neurons is an error, not a zero matrix."""
    if len(neuron_edges):
        return
    where = edges.attrs.get("source_file") or f"source {source_id!r}"
    labels = sorted(set(edges["pre"].astype(str)) | set(edges["post"].astype(str)))
    unmapped = sorted(
        set(other_edges.loc[other_edges["pre_block"] == "unmapped", "pre"])
        | set(other_edges.loc[other_edges["post_block"] == "unmapped", "post"])
    )
    raise ValueError(
        f"{where}: source {source_id!r}: no edge joins two canonical neurons "
        f"({len(unmapped)} of {len(labels)} labels map to no cell, e.g. {unmapped[:5]}); "
        "the connectome would be all zero: check the label spelling, the reader "
        "(connectome.sources." + source_id + ".reader) or add aliases (connectome.aliases)"
    )


@functools.cache
def _schema_gap_reduce() -> str:
    """The schema's ``connectome.gap_junction_reduce`` (workflow/schemas/config.schema.yaml)."""
    schema = yaml.safe_load((workflow_root() / "workflow" / "schemas" / "config.schema.yaml").read_text())
    return schema["properties"]["connectome"]["properties"]["gap_junction_reduce"]["default"]


def _describe_variables(ds: xr.Dataset, unit: str, gap_reduce: str) -> None:
    """Long names and units of every variable and coordinate of a homogenized source
    (``unit``: what the source's weights count)."""
    ds["weight"].attrs.update(
        long_name="synaptic weight, rows presynaptic, columns postsynaptic",
        units="count",
        counted=unit,
        electrical=f"undirected (symmetric), listed directions reduced by {gap_reduce}",
    )
    ds["observed"].attrs.update(long_name="neuron takes part in at least one edge of this source", units="1")
    ds["other_weight"].attrs.update(
        long_name="weight of an edge with a non-neuron end", units="count", counted=unit
    )
    for name, text in (
        ("other_pre", "presynaptic label"),
        ("other_post", "postsynaptic label"),
        ("other_pre_block", "block of the presynaptic label"),
        ("other_post_block", "block of the postsynaptic label"),
        ("other_synapse_type", "synapse type of the edge"),
        ("synapse_type", "synapse type"),
        ("pre", "presynaptic neuron"),
        ("post", "postsynaptic neuron"),
        ("neuron", "neuron"),
    ):
        ds[name].attrs.update(long_name=text, units="1")
    if "other_edge" in ds.coords:
        ds["other_edge"].attrs.update(long_name="edge with a non-neuron end", units="1")


def homogenize_source(
    edges: pd.DataFrame,
    label_map: LabelMap,
    source_id: str,
    *,
    gap_reduce: str | None = None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Homogenize one source's edge table into the canonical neuron order.

    Parameters
    ----------
    edges : DataFrame
        Raw edges (``pre, post, synapse_type, weight``), as returned by the readers in
        :mod:`neuroflow.io.connectomes`; ``edges.attrs`` may hold ``weight_unit``/``notes``.
    label_map : LabelMap
    source_id : str
        Short alphanumeric id, e.g. ``cook2019herm``.
    gap_reduce : str, optional
        See :func:`symmetrize_gap`; default the schema's ``connectome.gap_junction_reduce``.
    attrs : dict, optional
        Extra provenance (citation, input files and checksums, versions, parameters).

    Raises
    ------
    ValueError
        When no edge joins two canonical neurons (e.g. every label unknown), naming the
        file (``edges.attrs["source_file"]``) and the source.

    Returns
    -------
    ds : xarray.Dataset
        ``weight (synapse_type, pre, post)`` over the canonical neurons, ``observed
        (neuron)``, the non-neuron-block edge list on dim ``other_edge`` and provenance.
    """
    gap_reduce = gap_reduce or _schema_gap_reduce()
    neurons = label_map.blocks["neuron"]
    neuron_edges, other_edges = map_edges(edges, label_map)
    _check_some_neurons(edges, neuron_edges, other_edges, source_id)
    chem = directed_matrix(neuron_edges, neurons, "chemical")
    gap_listed = directed_matrix(neuron_edges, neurons, "electrical")
    gap = symmetrize_gap(gap_listed, gap_reduce)
    observed_labels = set(neuron_edges["pre"]) | set(neuron_edges["post"])
    for end in ("pre", "post"):
        observed_labels |= set(other_edges.loc[other_edges[f"{end}_block"] == "neuron", end])
    observed = np.array([n in observed_labels for n in neurons])
    unmapped = unmapped_labels(other_edges)

    ds = xr.Dataset(
        {
            "weight": (("synapse_type", "pre", "post"), np.stack([chem, gap])),
            "observed": (("neuron",), observed),
            "other_pre": (("other_edge",), other_edges["pre"].astype(str).to_numpy()),
            "other_post": (("other_edge",), other_edges["post"].astype(str).to_numpy()),
            "other_pre_block": (("other_edge",), other_edges["pre_block"].astype(str).to_numpy()),
            "other_post_block": (("other_edge",), other_edges["post_block"].astype(str).to_numpy()),
            "other_synapse_type": (("other_edge",), other_edges["synapse_type"].astype(str).to_numpy()),
            "other_weight": (("other_edge",), other_edges["weight"].to_numpy(dtype=float)),
        },
        coords={"synapse_type": list(SYNAPSE_TYPES), "pre": neurons, "post": neurons, "neuron": neurons},
    )
    _describe_variables(ds, edges.attrs.get("weight_unit", "source-specific count"), gap_reduce)
    ds.attrs.update(
        {
            "title": f"Homogenized C. elegans connectome: {source_id}",
            "source_id": source_id,
            "neuron_order": "300 hermaphrodite neurons (CANL/CANR excluded), alphabetical",
            "gap_junction_reduce": gap_reduce,
            "gap_symmetry_qc": json.dumps(gap_symmetry_qc(gap_listed), sort_keys=True),
            "reader_notes": json.dumps(list(edges.attrs.get("notes", []))),
            "n_unmapped_labels": int(unmapped["label"].nunique()),
            "unmapped_labels": ",".join(sorted(unmapped["label"].unique())),
        }
    )
    for key, value in (attrs or {}).items():
        ds.attrs[key] = (
            value if isinstance(value, (str, int, float)) else json.dumps(value, sort_keys=True, default=str)
        )
    return ds


def source_summary(ds: xr.Dataset) -> dict:
    """Counts for one homogenized source: nodes, edges and weights per synapse type."""
    chem = ds["weight"].sel(synapse_type="chemical").values
    gap = ds["weight"].sel(synapse_type="electrical").values
    other_types = ds["other_synapse_type"].values
    return {
        "source": ds.attrs["source_id"],
        "n_neurons_observed": int(ds["observed"].sum()),
        "n_chemical_edges": int((chem > 0).sum()),
        "n_electrical_pairs": int((np.triu(gap) > 0).sum()),
        "total_chemical_weight": float(chem.sum()),
        "total_electrical_weight": float(np.triu(gap).sum()),
        "n_other_chemical_edges": int((other_types == "chemical").sum()),
        "n_other_electrical_edges": int((other_types == "electrical").sum()),
        "n_unmapped_labels": int(ds.attrs["n_unmapped_labels"]),
        "unmapped_labels": ds.attrs["unmapped_labels"],
        "weight_unit": ds["weight"].attrs["counted"],
    }
