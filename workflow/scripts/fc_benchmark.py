"""Snakemake adapter: full-set operator scores and ranks per task (the ground truth)."""

from neuroflow.fc.pipeline import run_benchmark
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    run_benchmark(
        sm.input.samples,
        list(sm.input.fc),
        tasks=sm.params.tasks,
        label_task=sm.params.label_task,
        out_tsv=sm.output.tsv,
        out_png=sm.output.png,
    )
