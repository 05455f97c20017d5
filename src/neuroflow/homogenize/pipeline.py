"""File-level entry points for the connectome rules (one function per rule).

Each function reads its inputs, calls the pure functions of
:mod:`neuroflow.homogenize.connectome` / :mod:`neuroflow.homogenize.consensus`, and writes
its outputs atomically, so a failure never leaves a partial output behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import xarray as xr

from neuroflow.homogenize import consensus as cons_mod
from neuroflow.homogenize.connectome import homogenize_source, source_summary, unmapped_labels
from neuroflow.io.celegans_labels import build_label_map, load_aliases, load_cell_table
from neuroflow.provenance import package_versions, write_netcdf, write_tsv
from neuroflow.resources import sha256_file as sha256_of


def homogenize_source_files(files, *, source_id: str, reader: str, reader_options: dict,
                            cell_table, aliases, exclude, gap_reduce: str, citation: str,
                            label: str, out_nc, out_unmapped,
                            expected_rows=None) -> xr.Dataset:
    """Read one source's original table(s), homogenize, write NetCDF + unmapped-label TSV.

    ``expected_rows`` (optional, one entry per file, ``None`` = unknown): data rows each
    text table must have (the manifest's ``rows``); a shorter file is an error naming it.
    """
    import inspect

    from neuroflow.io.connectomes import READERS

    files = [Path(f) for f in files]
    if reader not in READERS:
        raise ValueError(f"source {source_id!r}: unknown reader {reader!r}; "
                         f"expected one of {sorted(READERS)}")
    expected = list(expected_rows) if expected_rows is not None else [None] * len(files)
    if len(expected) != len(files):
        raise ValueError(f"source {source_id!r}: {len(expected)} expected row counts for "
                         f"{len(files)} files")
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
    table = unmapped_labels(pd.DataFrame({
        "pre": ds["other_pre"].values, "post": ds["other_post"].values,
        "pre_block": ds["other_pre_block"].values, "post_block": ds["other_post_block"].values,
        "synapse_type": ds["other_synapse_type"].values, "weight": ds["other_weight"].values,
    }))
    table.insert(0, "source", source_id)
    write_tsv(table, out_unmapped,
              f"Labels of {source_id} that map to no canonical neuron, muscle or end organ; "
              "their edges are kept in the NetCDF's other_edge list.",
              {"label": "raw label as spelled in the source", "role": "pre or post",
               "n_edges": "edges carrying the label", "total_weight": "sum of their weights "
               "(source units)"}, sources=[f.name for f in files])
    write_netcdf(ds, out_nc)
    return ds


def consensus_files(source_ncs, *, series: dict, normalization: str, cell_table,
                    out_nc, out_edges, out_summary, out_jaccard, out_degree,
                    fig_consensus, fig_agreement) -> xr.Dataset:
    """Consensus, comparisons and figures from the homogenized source NetCDFs."""
    from neuroflow.report.figures import plot_agreement, plot_consensus

    datasets = []
    for path in source_ncs:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            datasets.append(ds.load())
    cons = cons_mod.build_consensus(datasets, series=series, normalization=normalization)
    cons.attrs["inputs"] = ",".join(f"{Path(p).name}:{sha256_of(p)}" for p in source_ncs)
    cons.attrs["software_versions"] = str(package_versions())
    names = [Path(p).name for p in source_ncs]

    summary = pd.DataFrame([source_summary(ds) for ds in datasets])
    summary["series"] = [series.get(s, s) for s in summary["source"]]
    for key in ("n_pairs", "n_both_directions", "n_one_direction", "n_both_equal",
                "max_abs_difference"):
        summary[f"gap_listed_{key}"] = [json.loads(ds.attrs["gap_symmetry_qc"])[key]
                                        for ds in datasets]
    write_tsv(summary, out_summary, "Per-source counts after homogenization (neuron block) and "
              "the gap-junction symmetry of each source as listed before homogenization.",
              {"n_chemical_edges": "non-zero directed chemical entries among the 300 neurons",
               "n_electrical_pairs": "non-zero unordered gap-junction pairs (incl. self pairs)",
               "gap_listed_n_one_direction": "pairs the source lists in one direction only",
               "weight_unit": "what a weight counts in that source"}, sources=names)
    write_tsv(cons_mod.consensus_edges(cons), out_edges,
              "Every edge seen by at least one source, with its consensus statistics.",
              {"support": "n_sources / n_observing", "weight": "median normalized weight (1)",
               "uncertainty": "1.4826 x MAD of normalized weights across sources (1)",
               "sources": "comma-separated source ids that have the edge"}, sources=names)
    jac = cons_mod.jaccard_table(datasets)
    write_tsv(jac, out_jaccard, "Edge-set Jaccard index between sources on commonly observed "
              "neurons.", sources=names)
    write_tsv(cons_mod.degree_table(datasets), out_degree, "Spearman correlation of degrees "
              "between sources on commonly observed neurons.", sources=names)
    cells = load_cell_table(cell_table)
    plot_consensus(cons, cells, fig_consensus)
    plot_agreement(jac, fig_agreement)
    write_netcdf(cons, out_nc)
    return cons
