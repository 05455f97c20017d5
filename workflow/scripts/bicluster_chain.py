"""Snakemake adapter: one MCMC chain of the bi-clustering model."""
from neuroflow.bicluster.pipeline import write_chain
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    write_chain(snakemake.input.nc, snakemake.output.nc, dict(snakemake.params.sampler),
                seed=snakemake.params.seed, chain=int(snakemake.wildcards.chain))
