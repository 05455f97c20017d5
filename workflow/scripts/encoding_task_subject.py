"""Snakemake adapter: one subject's task runs (BIDS events -> denoised BOLD) -> encoding
design -> nested cross-validated ridge-family encoding model of that design."""

from neuroflow.encoding.pipeline import ridge_files
from neuroflow.encoding.settings import RidgeSettings
from neuroflow.encoding.taskdesign import task_design_file
from neuroflow.rulelog import redirect_to_log

sm = snakemake
p, out = sm.params, sm.output
with redirect_to_log(sm.log.design):
    bolds = list(sm.input.bolds)
    confounds = list(sm.input.confounds) or [""] * len(bolds)
    labels = sm.input.labels if isinstance(sm.input.labels, str) else ""
    task_design_file(
        bolds,
        list(sm.input.masks),
        list(sm.input.events),
        confounds,
        sm.input.atlas,
        labels,
        out.design,
        conditions=list(p.conditions),
        entities=dict(p.entities),
        confounds_strategy=p.confounds["strategy"],
        confounds_options=dict(p.confounds["options"]),
        high_pass=p.high_pass,
        responses=p.responses,
        simulated=p.simulated,
    )
with redirect_to_log(sm.log.ridge):
    settings = RidgeSettings.from_params(dict(p.items()), threads=sm.threads)
    ridge_files(out.design, out.nc, out.tsv, out.png, settings)
