"""Snakemake adapter: the bi-clustering of one recording: its counts (the activity stage's
counts file, or a simulation when the rule has no input), every MCMC chain (side by side in
`threads` worker processes), and the merged posterior summaries and figures."""

import sys

from neuroflow.bicluster.inputs import use_numba_cache
from neuroflow.rulelog import redirect_to_log


def main(sm) -> None:
    use_numba_cache(sm.config)  # before numba is imported: the shared kernel cache
    from neuroflow.bicluster.pipeline import merge_chains, run_chains, verdict_warnings, write_counts

    out, p = sm.output, sm.params
    with redirect_to_log(sm.log.counts):
        write_counts(sm.wildcards.stem, p.spec, list(sm.input.counts), out.counts)
    extensions = run_chains(
        out.counts,
        list(out.chains),
        dict(p.sampler),
        seed=p.seed,
        logs=list(sm.log.chains),
        threads=sm.threads,
        convergence=p.convergence,
        loss=p.loss,
        state_loss=p.state_loss,
    )
    with redirect_to_log(sm.log.merge):
        verdict = merge_chains(
            list(out.chains),
            out.counts,
            out.nc,
            out.diagnostics,
            out.clusters,
            out.validation,
            figures={k: out[k] for k in ("raster", "states", "coclustering", "traces", "latents")},
            loss=p.loss,
            state_loss=p.state_loss,
            n_shuffles=p.n_shuffles,
            seed=p.seed,
            convergence=p.convergence,
            extensions=extensions,
        )
    for line in verdict_warnings(sm.wildcards.stem, verdict, sm.log.merge):
        print(line, file=sys.stderr)


# The chains' spawned worker processes import this file again, as __mp_main__ and without
# Snakemake's `snakemake` object: only the job's own run does the work.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821
