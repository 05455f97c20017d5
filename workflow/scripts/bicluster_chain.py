"""Snakemake adapter: one MCMC chain of the bi-clustering model."""
from neuroflow.bicluster.inputs import use_numba_cache

use_numba_cache(snakemake.config)  # before numba is imported: the shared kernel cache

from neuroflow.bicluster.pipeline import write_chain  # noqa: E402
from neuroflow.rulelog import redirect_to_log  # noqa: E402

with redirect_to_log(snakemake.log[0]):
    write_chain(snakemake.input.nc, snakemake.output.nc, dict(snakemake.params.sampler),
                seed=snakemake.params.seed, chain=int(snakemake.wildcards.chain))
