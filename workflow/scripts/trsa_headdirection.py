"""Snakemake adapter: head-direction tuning curves (the activity stage's units file) -> RDM ->
ring vs line per statistic."""

from neuroflow.rsa.pipeline import headdirection_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    p = sm.params
    headdirection_files(
        sm.input.units,
        sm.output.nc,
        sm.output.tsv,
        sm.output.fig,
        sm.output.fig_models,
        subject=p.subject,
        n_bins=p.n_bins,
        epoch=p.epoch,
        location=p.location,
        rdm_method=p.rdm_method,
        statistics=list(p.statistics),
        method=p.method,
        n_boot=p.n_boot,
        zero_edges=p.zero_edges,
        random_state=p.random_state,
    )
