"""Snakemake adapter: consensus connectome, source comparisons and their figures."""

from neuroflow.homogenize.pipeline import consensus_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    sm = snakemake  # noqa: F821
    consensus_files(
        sm.input.sources,
        series=sm.params.series,
        normalization=sm.params.normalization,
        cell_table=sm.input.cell_table,
        out_nc=sm.output.nc,
        out_edges=sm.output.edges,
        out_summary=sm.output.summary,
        out_jaccard=sm.output.jaccard,
        out_degree=sm.output.degree,
        fig_consensus=sm.output.fig_consensus,
        fig_agreement=sm.output.fig_agreement,
    )
