"""Snakemake adapter: functional connectivity of one homogenized recording."""

from neuroflow.activity.pipeline import fc_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    fc_file(sm.input.nc, kind=sm.params.kind, min_overlap=sm.params.min_overlap, out_nc=sm.output.nc)
