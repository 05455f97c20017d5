"""Snakemake adapter: confound regressors and censoring of one run under one strategy."""
from neuroflow.fmri.pipeline import run_confounds
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    run_confounds(
        sm.params.row,
        sm.wildcards.strategy,
        sm.params.strategy,
        min_fraction_kept=sm.params.min_fraction_kept,
        min_minutes_kept=sm.params.min_minutes_kept,
        out_tsv=sm.output.tsv,
        t_r_tolerance=sm.params.t_r_tolerance,
    )
