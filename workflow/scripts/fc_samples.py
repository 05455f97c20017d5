"""Snakemake adapter: sliding-window samples of one FC benchmark (real or simulated)."""

from neuroflow.fc.pipeline import build_samples
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    build_samples(
        sm.wildcards.bench,
        sm.params.bench,
        sm.params.files,
        window_length=sm.params.window_length,
        window_stride=sm.params.window_stride,
        regions=sm.params.regions,
        clean=sm.params.clean,
        out_nc=sm.output.nc,
        out_tsv=sm.output.tsv,
        out_subjects=sm.output.subjects,
    )
