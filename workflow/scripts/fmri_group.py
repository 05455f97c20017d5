"""Snakemake adapter: group QC table and page, excluded runs, index of region time series."""

from neuroflow.fmri.pipeline import run_group
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    run_group(
        sm.input.qc,
        sm.input.timeseries,
        results_dir=sm.params.results_dir,
        out_qc=sm.output.qc,
        out_excluded=sm.output.excluded,
        out_index=sm.output.index,
        out_png=sm.output.figure,
        out_page=sm.output.page,
        outlier_mads=sm.params.outlier_mads,
    )
