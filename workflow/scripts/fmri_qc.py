"""Snakemake adapter: QC table row(s), carpet plots and QC panels of one run."""
from neuroflow.fmri.pipeline import run_qc
from neuroflow.fmri.qc import QCSettings
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    raw = sm.input.raw if isinstance(sm.input.raw, str) else "".join(sm.input.raw)
    settings = QCSettings(sm.params.fd_threshold, sm.params.carpet_rows, sm.params.max_units,
                          sm.params.t_r_tolerance)
    run_qc(
        sm.params.row,
        sm.params.strategies,
        sm.params.regressors,
        settings,
        out_tsv=sm.output.tsv,
        out_png=sm.output.carpet,
        out_figure=sm.output.panels,
        raw_tsv=raw,
    )
