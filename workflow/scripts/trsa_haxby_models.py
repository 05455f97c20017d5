"""Snakemake adapter: category models vs the Haxby RDM, per representational statistic."""

from neuroflow.rsa.pipeline import model_comparison_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    model_comparison_file(
        sm.input.nc,
        sm.output.tsv,
        sm.output.fig,
        sm.output.fig_rdms,
        models=dict(sm.params.models),
        statistics=list(sm.params.statistics),
        method=sm.params.method,
        n_boot=sm.params.n_boot,
        zero_edges=sm.params.zero_edges,
        random_state=sm.params.random_state,
    )
