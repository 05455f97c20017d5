"""Snakemake adapter: every step of one run (confounds, parcellation, denoising, QC)."""

from neuroflow.fmri.runjob import RunOutputs, RunSettings, process_run
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    out = sm.output
    outputs = RunOutputs.from_lists(
        sm.params.atlases,
        sm.params.strategies,
        out.regressors,
        out.raw,
        out.denoised,
        out.qc,
        out.carpet,
        out.panels,
    )
    process_run(
        sm.params.row,
        sm.params.strategies,
        sm.params.atlases,
        RunSettings.from_config(sm.params.settings),
        outputs,
    )
