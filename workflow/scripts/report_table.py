"""Snakemake adapter: one reported TSV rendered as a self-contained HTML table."""
from neuroflow.report.tables import tsv_to_html
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    tsv_to_html(snakemake.input[0], snakemake.output[0])  # noqa: F821
