"""Methods paragraph of the connectome-homogenization stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.homogenize.consensus import MAD_TO_SD
from neuroflow.report.references import cite, dataset_reference, used_versions

HOMOGENIZATION_CITATION = (
    "Simeon Q, Astrom A, Kashyap A, Kording K, Boyden ES (2024). Homogenized C. elegans "
    "neural activity and connectivity data. arXiv:2411.12091."
)


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs (plain text) describing what was done, and the reference list.

    Reads the per-source summary the consensus rule wrote under ``results_dir``.
    """
    summary_path = Path(config["results_dir"]) / "group/connectome/desc-sources_summary.tsv"

    conn = config["connectome"]
    versions = used_versions(config, ("numpy", "pandas", "xarray"))
    sources = conn["sources"]
    chosen = conn["consensus"]["sources"] or sorted(sources)
    n_neurons = len(pd.read_csv(conn["cell_table"], sep="\t").query("kind == 'neuron'"))
    excluded = conn["exclude_neurons"]
    paras = [
        f"Connectomes were homogenized with neuroflow {__version__} (numpy "
        f"{versions['numpy']}, pandas {versions['pandas']}, xarray {versions['xarray']}) "
        f"following Simeon et al. (2024). {len(sources)} sources were read from their original "
        "supplementary tables (not from any parsed cache). Cell labels were mapped to one "
        f"canonical list of {n_neurons - len(excluded)} hermaphrodite neurons sorted "
        "alphabetically"
        + (f" ({', '.join(excluded)} excluded and kept with the end organs)" if excluded else "")
        + ", "
        "with zero padding stripped (VB01 -> VB1); muscles and other end-organ cells were kept "
        "in separate blocks and every label that could not be mapped was listed and counted.",
        "Within a source, duplicate rows of one direction were summed. Gap junctions were made "
        f"undirected by taking the {conn['gap_junction_reduce']} of the listed "
        "directions of each neuron pair; chemical synapses stay directed (rows presynaptic).",
        f"The consensus combines {len(chosen)} sources. Because weight units differ (synapse "
        "counts, numbers of EM sections), each source's weights were divided by the "
        f"{conn['consensus']['normalization']} of its non-zero weights "
        "per synapse type. For each edge we report the number of sources with the edge, the "
        "number of sources that observed both neurons, their ratio (support), the number of "
        "independent EM series, the median normalized weight over sources with the edge, and "
        f"its uncertainty ({MAD_TO_SD} x the median absolute deviation). Source agreement is "
        "the Jaccard index of edge sets and the Spearman correlation of degrees, both on the "
        "neurons observed by both sources. A neuron counts as observed by a source when it "
        "takes part in at least one of that source's edges (the Witvliet 2021 volumes cover "
        "the nerve ring only).",
    ]
    if summary_path.is_file():  # absent only before the consensus rule ran
        summary = pd.read_csv(summary_path, sep="\t")
        counts = "; ".join(
            f"{r.source}: {r.n_neurons_observed} neurons, {r.n_chemical_edges} chemical edges, "
            f"{r.n_electrical_pairs} gap-junction pairs"
            for r in summary.itertuples()
        )
        paras.append(f"Per-source counts after homogenization: {counts}.")
    refs = [HOMOGENIZATION_CITATION, cite("pandas"), cite("xarray")]
    for ds_id in sorted({s.get("dataset") for s in sources.values() if s.get("dataset")}):
        refs.append(dataset_reference(manifest, ds_id))
    return paras, refs
