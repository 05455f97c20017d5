"""Snakemake adapter: category models vs every region's RDM of one subject (trsa.task)."""

from neuroflow.rsa.taskfmri import task_models_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    p = snakemake.params
    task_models_file(
        snakemake.input.nc,
        snakemake.output.tsv,
        models=dict(p.models),
        statistics=list(p.statistics),
        method=p.method,
        n_boot=p.n_boot,
        zero_edges=p.zero_edges,
        random_state=p.random_state,
    )
