"""Snakemake adapter: merge the chains of one recording into posterior summaries + figures."""
import sys

from neuroflow.bicluster.pipeline import merge_chains
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    out = snakemake.output
    verdict = merge_chains(
        list(snakemake.input.chains), snakemake.input.counts, out.nc, out.diagnostics,
        out.clusters, out.validation,
        figures={k: out[k] for k in ("raster", "states", "coclustering", "traces", "latents")},
        loss=snakemake.params.loss, state_loss=snakemake.params.state_loss,
        n_shuffles=snakemake.params.n_shuffles, seed=snakemake.params.seed,
        convergence=snakemake.params.convergence,
    )
# the console summary (the log holds the full list)
if not verdict["converged"]:
    print(f"neuroflow WARNING: bicluster {snakemake.wildcards.stem}: NOT CONVERGED "
          f"({verdict['n_failing']} failing diagnostics"
          + ("; chains disagree" if verdict["chains_disagree"] else "") + "): "
          + "; ".join(verdict["failing"][:3]) + f" (all in {snakemake.log[0]})", file=sys.stderr)
if verdict["clusters_not_found"] or verdict["states_not_found"]:
    print(f"neuroflow WARNING: bicluster {snakemake.wildcards.stem}: not found (too little "
          f"posterior support): clusters {verdict['clusters_not_found']}, states "
          f"{verdict['states_not_found']}", file=sys.stderr)
