"""Snakemake adapter: QC table row(s) and carpet plots of one run."""
from neuroflow.fmri.pipeline import run_qc
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    raw = sm.input.raw if isinstance(sm.input.raw, str) else "".join(sm.input.raw)
    run_qc(
        sm.params.row,
        sm.params.strategies,
        sm.params.regressors,
        out_tsv=sm.output.tsv,
        out_png=sm.output.carpet,
        raw_tsv=raw,
        fd_threshold=sm.params.fd_threshold,
        carpet_rows=sm.params.carpet_rows,
        max_units=sm.params.max_units,
        t_r_tolerance=sm.params.t_r_tolerance,
    )
