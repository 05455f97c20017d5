"""Snakemake adapter: score every core-set under fc.protocol, compare rankings, claim table."""

from neuroflow.fc.pipeline import run_evaluate
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    run_evaluate(
        sm.input.samples,
        list(sm.input.fc),
        sm.input.scores,
        sm.input.selections,
        fc=sm.params.fc,
        out={k: sm.output[k] for k in ("tsv", "summary", "truth", "claim", "png")},
    )
