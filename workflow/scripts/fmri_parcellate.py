"""Snakemake adapter: raw region time series of one run and one atlas."""
from neuroflow.fmri.pipeline import run_parcellate
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    run_parcellate(
        sm.params.row,
        sm.wildcards.atlas,
        sm.params.atlas,
        out_tsv=sm.output.tsv,
        t_r_tolerance=sm.params.t_r_tolerance,
    )
