"""Snakemake adapter: homogenize one connectome source into the canonical neuron order."""

from neuroflow.homogenize.pipeline import homogenize_source_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    sm = snakemake  # noqa: F821
    src = sm.params.source
    homogenize_source_files(
        sm.input.tables,
        source_id=sm.wildcards.source,
        reader=src["reader"],
        reader_options=src.get("reader_options", {}),
        cell_table=sm.input.cell_table,
        aliases=sm.input.aliases,
        exclude=sm.params.exclude,
        gap_reduce=sm.params.gap_reduce,
        citation=sm.params.citation,
        label=src.get("label", sm.wildcards.source),
        out_nc=sm.output.nc,
        out_unmapped=sm.output.unmapped,
        expected_rows=sm.params.expected_rows,
    )
