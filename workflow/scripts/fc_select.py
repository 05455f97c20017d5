"""Snakemake adapter: core-sets of every selector, core-set size and seed."""

from neuroflow.fc.pipeline import run_select
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    run_select(
        sm.input.samples,
        sm.input.sps or None,
        selectors=sm.params.selectors,
        fractions=sm.params.fractions,
        seeds=sm.params.seeds,
        el2n=sm.params.el2n,
        sclcs=sm.params.sclcs,
        split=sm.params.split,
        out_nc=sm.output.nc,
        out_tsv=sm.output.tsv,
    )
