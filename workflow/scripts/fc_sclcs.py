"""Snakemake adapter: SCLCS structure-learner training and Structural Perturbation Scores."""

from neuroflow.fc.pipeline import run_sclcs
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    run_sclcs(
        sm.input.samples,
        sclcs=sm.params.sclcs,
        split=sm.params.split,
        threads=sm.threads,
        out_nc=sm.output.nc,
        out_png=sm.output.png,
    )
