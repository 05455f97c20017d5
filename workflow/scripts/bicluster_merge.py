"""Snakemake adapter: merge the chains of one recording into posterior summaries + figures."""
from neuroflow.bicluster.pipeline import merge_chains
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    out = snakemake.output
    merge_chains(
        list(snakemake.input.chains), snakemake.input.counts, out.nc, out.diagnostics,
        out.clusters, out.validation,
        figures={k: out[k] for k in ("raster", "states", "coclustering", "traces", "latents")},
        loss=snakemake.params.loss, state_loss=snakemake.params.state_loss,
        n_shuffles=snakemake.params.n_shuffles, seed=snakemake.params.seed,
    )
