"""Snakemake adapter: one family of FC operators on every sample (the FC cache)."""

from neuroflow.fc.pipeline import compute_family
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    compute_family(
        sm.input.samples,
        sm.wildcards.family,
        sm.params.operators,
        sm.params.operator_params,
        out_nc=sm.output.nc,
    )
