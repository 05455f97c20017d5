"""Snakemake adapter: one subject's task runs (BIDS events -> denoised BOLD) -> encoding design."""
from neuroflow.encoding.taskdesign import task_design_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    p = sm.params
    bolds = list(sm.input.bolds)
    confounds = list(sm.input.confounds) or [""] * len(bolds)
    labels = sm.input.labels if isinstance(sm.input.labels, str) else ""
    task_design_file(bolds, list(sm.input.masks), list(sm.input.events), confounds,
                     sm.input.atlas, labels, sm.output.nc, conditions=list(p.conditions),
                     entities=dict(p.entities), confounds_strategy=p.confounds["strategy"],
                     confounds_options=dict(p.confounds["options"]), high_pass=p.high_pass,
                     responses=p.responses, simulated=p.simulated)
