"""Snakemake adapter: run-wise GLM + noise-normalised crossnobis RDM of Haxby 2001 subject 1."""

from neuroflow.rsa.pipeline import haxby_rdm_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    bold, mask, attributes = sm.input.images
    haxby_rdm_file(
        bold,
        mask,
        attributes,
        sm.output.nc,
        subject=sm.params.subject,
        task=sm.params.task,
        baseline=sm.params.baseline,
        hrf_model=sm.params.hrf_model,
        high_pass=sm.params.high_pass,
        noise_method=sm.params.noise_method,
    )
