"""Snakemake adapter: one MCMC chain of the bi-clustering model."""
import os
from pathlib import Path

# before numba is imported: the workflow's shared cache of the compiled kernels
os.environ.setdefault("NUMBA_CACHE_DIR",
                      str(Path(snakemake.config["bicluster"]["numba_cache_dir"]).resolve()))

from neuroflow.bicluster.pipeline import write_chain  # noqa: E402
from neuroflow.rulelog import redirect_to_log  # noqa: E402

with redirect_to_log(snakemake.log[0]):
    write_chain(snakemake.input.nc, snakemake.output.nc, dict(snakemake.params.sampler),
                seed=snakemake.params.seed, chain=int(snakemake.wildcards.chain))
