"""Snakemake adapter: crossnobis RDM per atlas region of one subject's task runs (trsa.task)."""

from neuroflow.rsa.taskfmri import subject_rdm_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    p = sm.params
    labels = sm.input.labels if isinstance(sm.input.labels, str) else ""
    subject_rdm_file(
        list(sm.input.betas),
        list(sm.input.residuals),
        list(sm.input.json),
        list(sm.input.masks),
        sm.input.atlas,
        labels,
        sm.output.nc,
        conditions=list(p.conditions),
        noise_method=p.noise_method,
        entities=dict(p.entities),
        min_voxels=p.min_voxels,
    )
