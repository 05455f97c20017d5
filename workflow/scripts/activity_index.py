"""Snakemake adapter: dataset index of the homogenized recordings and the FC figure."""

from neuroflow.activity.pipeline import index_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    index_files(sm.input.ncs, sm.input.fcs, out_tsv=sm.output.tsv, fig_fc=sm.output.fig_fc)
