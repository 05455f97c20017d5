"""File-level entry points for the connectome rules (one function per rule).

Each function reads its inputs, calls the pure functions of
:mod:`neuroflow.homogenize.connectome` / :mod:`neuroflow.homogenize.consensus`, and writes
its outputs atomically, so a failure never leaves a partial output behind.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pandas as pd
import xarray as xr

from neuroflow.homogenize import consensus as cons_mod
from neuroflow.homogenize.connectome import homogenize_source, source_summary, unmapped_labels
from neuroflow.io.celegans_labels import build_label_map, load_aliases, load_cell_table
from neuroflow.io.connectomes import READERS
from neuroflow.provenance import package_versions, read_netcdf, write_netcdf, write_tsv
from neuroflow.report.figures import plot_agreement, plot_consensus
from neuroflow.resources import sha256_file as sha256_of

SYNAPSE_TYPE_COLUMN = {
    "Description": "synapse type",
    "Levels": {"chemical": "chemical synapse (directed)", "electrical": "gap junction (undirected)"},
}
SUMMARY_COLUMNS = {
    "source": "connectome source id",
    "n_neurons_observed": {"Description": "neurons in at least one edge", "Units": "count"},
    "n_chemical_edges": {
        "Description": "non-zero directed chemical entries among the 300 neurons",
        "Units": "count",
    },
    "n_electrical_pairs": {
        "Description": "non-zero unordered gap-junction pairs (incl. self pairs)",
        "Units": "count",
    },
    "total_chemical_weight": {
        "Description": "sum of chemical weights (in the counts of the source)",
        "Units": "count",
    },
    "total_electrical_weight": {
        "Description": "sum of gap-junction weights over unordered pairs (in the counts of the source)",
        "Units": "count",
    },
    "n_other_chemical_edges": {"Description": "chemical edges with a non-neuron end", "Units": "count"},
    "n_other_electrical_edges": {"Description": "gap-junction edges with a non-neuron end", "Units": "count"},
    "n_unmapped_labels": {"Description": "raw labels that map to no canonical cell", "Units": "count"},
    "unmapped_labels": "comma-separated raw labels that map to no canonical cell",
    "weight_unit": "what a weight counts in that source",
    "series": "data series (animal) of the source",
    "gap_listed_n_pairs": {"Description": "gap-junction pairs as listed in the source", "Units": "count"},
    "gap_listed_n_both_directions": {
        "Description": "pairs the source lists in both directions",
        "Units": "count",
    },
    "gap_listed_n_one_direction": {
        "Description": "pairs the source lists in one direction only",
        "Units": "count",
    },
    "gap_listed_n_both_equal": {
        "Description": "pairs listed in both directions with equal weights",
        "Units": "count",
    },
    "gap_listed_max_abs_difference": {
        "Description": "largest |weight difference| between the two listed directions",
        "Units": "count",
    },
}
UNMAPPED_COLUMNS = {
    "source": "connectome source id",
    "label": "raw label as spelled in the source",
    "role": {
        "Description": "end of the edge the label is on",
        "Levels": {"pre": "presynaptic", "post": "postsynaptic"},
    },
    "synapse_type": SYNAPSE_TYPE_COLUMN,
    "n_edges": {"Description": "edges carrying the label", "Units": "count"},
    "total_weight": {
        "Description": "sum of their weights (in the counts of the source)",
        "Units": "count",
    },
}
EDGE_COLUMNS = {
    "pre": "presynaptic neuron",
    "post": "postsynaptic neuron",
    "synapse_type": SYNAPSE_TYPE_COLUMN,
    "n_sources": {"Description": "sources that have the edge", "Units": "count"},
    "n_observing": {"Description": "sources that observed both neurons", "Units": "count"},
    "support": {"Description": "n_sources / n_observing", "Units": "1"},
    "n_series": {"Description": "data series (animals) that have the edge", "Units": "count"},
    "weight": {"Description": "median over sources of the normalized weight", "Units": "1"},
    "uncertainty": {"Description": "1.4826 x MAD of normalized weights across sources", "Units": "1"},
    "sources": "comma-separated source ids that have the edge",
}
PAIR_COLUMNS = {
    "source_a": "first connectome source id",
    "source_b": "second connectome source id",
    "synapse_type": SYNAPSE_TYPE_COLUMN,
    "degree": {
        "Description": "which degree is compared",
        "Levels": {
            "chemical_out": "chemical out-degree",
            "chemical_in": "chemical in-degree",
            "electrical": "gap-junction degree",
        },
    },
    "n_common_neurons": {"Description": "neurons observed by both sources", "Units": "count"},
    "n_edges_a": {"Description": "edges of source_a among the common neurons", "Units": "count"},
    "n_edges_b": {"Description": "edges of source_b among the common neurons", "Units": "count"},
    "n_shared": {"Description": "edges in both sources", "Units": "count"},
    "jaccard": {"Description": "n_shared / edges in either source", "Units": "1"},
    "spearman_rho": {"Description": "Spearman correlation of the degrees over common neurons", "Units": "1"},
}


def homogenize_source_files(
    files,
    *,
    source_id: str,
    reader: str,
    reader_options: dict,
    cell_table,
    aliases,
    exclude,
    gap_reduce: str,
    citation: str,
    label: str,
    out_nc,
    out_unmapped,
    expected_rows=None,
) -> xr.Dataset:
    """Read one source's original table(s), homogenize, write NetCDF + unmapped-label TSV.

    ``expected_rows`` (optional, one entry per file, ``None`` = unknown): data rows each
    text table must have (the manifest's ``rows``); a shorter file is an error naming it.
    """
    files = [Path(f) for f in files]
    edges = _read_source_tables(files, source_id, reader, reader_options, expected_rows)
    label_map = build_label_map(load_cell_table(cell_table), load_aliases(aliases), tuple(exclude))
    provenance = {
        "label": label,
        "citation": citation,
        "reader": reader,
        "reader_options": reader_options or {},
        "inputs": [{"file": f.name, "sha256": sha256_of(f)} for f in files],
        "cell_table_sha256": sha256_of(cell_table),
        "aliases_sha256": sha256_of(aliases),
        "software_versions": package_versions(),
    }
    ds = homogenize_source(edges, label_map, source_id, gap_reduce=gap_reduce, attrs=provenance)
    write_tsv(
        _unmapped_table(ds, source_id),
        out_unmapped,
        f"Labels of {source_id} that map to no canonical neuron, muscle or end organ; "
        "their edges are kept in the NetCDF's other_edge list.",
        UNMAPPED_COLUMNS,
        sources=[f.name for f in files],
        simulated=False,
    )
    write_netcdf(ds, out_nc, simulated=False, sources=files)
    return ds


def _read_source_tables(files: list[Path], source_id: str, reader: str, reader_options, expected_rows):
    """The edge table of one source: its files read by ``reader`` and stacked, notes joined."""
    if reader not in READERS:
        raise ValueError(
            f"source {source_id!r}: unknown reader {reader!r}; expected one of {sorted(READERS)}"
        )
    expected = list(expected_rows) if expected_rows is not None else [None] * len(files)
    if len(expected) != len(files):
        raise ValueError(f"source {source_id!r}: {len(expected)} expected row counts for {len(files)} files")
    takes_rows = "expected_rows" in inspect.signature(READERS[reader]).parameters
    tables = []
    for f, n in zip(files, expected):
        options = dict(reader_options or {})
        if n is not None and takes_rows and options.get("expected_rows") is None:
            options["expected_rows"] = int(n)
        tables.append(READERS[reader](f, **options))
    edges = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    edges.attrs = dict(tables[0].attrs)
    edges.attrs["notes"] = [n for t in tables for n in t.attrs.get("notes", [])]
    return edges


def _unmapped_table(ds: xr.Dataset, source_id: str) -> pd.DataFrame:
    """The source's labels that map to no canonical cell (their edges are kept in ``ds``)."""
    table = unmapped_labels(
        pd.DataFrame(
            {
                "pre": ds["other_pre"].values,
                "post": ds["other_post"].values,
                "pre_block": ds["other_pre_block"].values,
                "post_block": ds["other_post_block"].values,
                "synapse_type": ds["other_synapse_type"].values,
                "weight": ds["other_weight"].values,
            }
        )
    )
    table.insert(0, "source", source_id)
    return table


def consensus_files(
    source_ncs,
    *,
    series: dict,
    normalization: str,
    cell_table,
    out_nc,
    out_edges,
    out_summary,
    out_jaccard,
    out_degree,
    fig_consensus,
    fig_agreement,
) -> xr.Dataset:
    """Consensus, comparisons and figures from the homogenized source NetCDFs."""
    datasets = []
    for path in source_ncs:
        datasets.append(read_netcdf(path, "homogenized connectome"))
    cons = cons_mod.build_consensus(datasets, series=series, normalization=normalization)
    cons.attrs["inputs"] = ",".join(f"{Path(p).name}:{sha256_of(p)}" for p in source_ncs)
    names = [Path(p).name for p in source_ncs]

    summary = pd.DataFrame([source_summary(ds) for ds in datasets])
    summary["series"] = [series.get(s, s) for s in summary["source"]]
    for key in ("n_pairs", "n_both_directions", "n_one_direction", "n_both_equal", "max_abs_difference"):
        summary[f"gap_listed_{key}"] = [json.loads(ds.attrs["gap_symmetry_qc"])[key] for ds in datasets]
    write_tsv(
        summary,
        out_summary,
        "Per-source counts after homogenization (neuron block) and "
        "the gap-junction symmetry of each source as listed before homogenization.",
        SUMMARY_COLUMNS,
        sources=names,
        simulated=False,
    )
    write_tsv(
        cons_mod.consensus_edges(cons),
        out_edges,
        "Every edge seen by at least one source, with its consensus statistics.",
        EDGE_COLUMNS,
        sources=names,
        simulated=False,
    )
    jac = cons_mod.jaccard_table(datasets)
    write_tsv(
        jac,
        out_jaccard,
        "Edge-set Jaccard index between sources on commonly observed neurons.",
        PAIR_COLUMNS,
        sources=names,
        simulated=False,
    )
    write_tsv(
        cons_mod.degree_table(datasets),
        out_degree,
        "Spearman correlation of degrees between sources on commonly observed neurons.",
        PAIR_COLUMNS,
        sources=names,
        simulated=False,
    )
    cells = load_cell_table(cell_table)
    plot_consensus(cons, cells, fig_consensus)
    plot_agreement(jac, fig_agreement)
    write_netcdf(cons, out_nc, simulated=False, sources=source_ncs)
    return cons
