"""Snakemake adapter: every reported TSV rendered as a self-contained HTML table, one page
per TSV in the output folder."""

from neuroflow.report.tables import tsvs_to_html
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    sm = snakemake  # noqa: F821
    tsvs_to_html(sm.input, sm.output[0])
