"""Snakemake adapter: benchmark every core-set and compare rankings with the full benchmark."""
from neuroflow.fc.pipeline import run_evaluate
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    run_evaluate(
        sm.input.samples,
        list(sm.input.fc),
        sm.input.scores,
        sm.input.selections,
        tasks=sm.params.tasks,
        label_task=sm.params.label_task,
        ndcg_k=sm.params.ndcg_k,
        claim_fraction=sm.params.claim_fraction,
        out_tsv=sm.output.tsv,
        out_summary=sm.output.summary,
        out_claim=sm.output.claim,
        out_png=sm.output.png,
    )
