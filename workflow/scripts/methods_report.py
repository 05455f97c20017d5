"""Snakemake adapter: the methods page, CITATION.md and CITATION.bib (what was done,
software versions, citations)."""

from neuroflow.report.methods import write_methods
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    sm = snakemake  # noqa: F821
    write_methods(sm.params.config, sm.input.manifest, sm.output.html, sm.output.markdown, sm.output.bibtex)
