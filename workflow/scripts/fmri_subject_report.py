"""Snakemake adapter: the fMRI QC page (HTML) of one subject."""

from neuroflow.fmri.report import write_subject_page
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    write_subject_page(
        sm.wildcards.fmrisub,
        sm.input.qc,
        sm.input.carpets,
        sm.input.panels,
        sm.input.regressors,
        sm.input.raw,
        out_html=sm.output[0],
    )
