"""Snakemake adapter: every run of one subject (confounds, parcellation, denoising, QC), then
the subject's fMRI QC page."""

from neuroflow.fmri.runjob import RunSettings, process_subject, split_outputs
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    out = sm.output
    runs = split_outputs(
        sm.params.layout, out.regressors, out.raw, out.denoised, out.qc, out.carpet, out.panels
    )
    process_subject(
        sm.wildcards.fmrisub,
        sm.params.rows,
        sm.params.strategies,
        sm.params.atlases,
        RunSettings.from_config(sm.params.settings),
        runs,
        {"regressors": list(out.regressors_json), "raw": list(out.raw_json)},
        out_html=out.page,
    )
