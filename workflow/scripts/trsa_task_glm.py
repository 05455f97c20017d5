"""Snakemake adapter: run-wise first-level GLM of one task-fMRI run (trsa.task)."""

from neuroflow.rsa.taskfmri import glm_run_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    p = sm.params
    confounds = sm.input.confounds if isinstance(sm.input.confounds, str) else ""
    glm_run_files(
        sm.input.bold,
        sm.input.mask,
        sm.input.events,
        confounds,
        sm.output.betas,
        sm.output.residuals,
        sm.output.json,
        conditions=list(p.conditions),
        hrf_model=p.hrf_model,
        high_pass=p.high_pass,
        noise_model=p.noise_model,
        confounds_strategy=p.confounds["strategy"],
        confounds_options=dict(p.confounds["options"]),
        dropped_conditions=list(p.dropped_conditions),
        simulated=p.simulated,
    )
