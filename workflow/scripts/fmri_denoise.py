"""Snakemake adapter: denoise one run's region time series (one atlas, one strategy)."""
from neuroflow.fmri.pipeline import run_denoise
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    run_denoise(
        sm.input.raw,
        sm.input.regressors,
        sm.wildcards.strategy,
        sm.params.strategy,
        out_tsv=sm.output.tsv,
    )
