"""Snakemake adapter: every connectome against the signal-propagation atlas; FC vs anatomy."""

from neuroflow.activity.pipeline import structure_function_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    p = sm.params
    structure_function_files(
        sm.input.atlas,
        sm.input.connectomes,
        p.connectomes,
        sm.input.fcs,
        sm.input.consensus,
        params={
            "alpha": p.alpha,
            "negatives": p.negatives,
            "max_hops": p.max_hops,
            "n_bootstrap": p.n_bootstrap,
            "ci": p.ci,
            "min_support": p.min_support,
            "random_state": p.random_state,
        },
        n_jobs=sm.threads,
        out_stats=sm.output.stats,
        out_hops=sm.output.hops,
        out_fc=sm.output.fc,
        fig_auroc=sm.output.fig_auroc,
        fig_hops=sm.output.fig_hops,
    )
