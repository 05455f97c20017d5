"""Snakemake adapter: the methods page (what was done, versions, citations)."""
from neuroflow.report.methods import write_methods_html
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    sm = snakemake  # noqa: F821
    write_methods_html(sm.params.config, sm.input.manifest, sm.output[0])
