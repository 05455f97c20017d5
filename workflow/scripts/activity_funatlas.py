"""Snakemake adapter: the Randi et al. 2023 signal-propagation atlas in canonical order."""

from neuroflow.activity.pipeline import funatlas_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    funatlas_file(
        sm.input.h5,
        cell_table=sm.input.cell_table,
        aliases=sm.input.aliases,
        exclude=sm.params.exclude,
        strains=sm.params.strains,
        citation=sm.params.citation,
        out_nc=sm.output.nc,
    )
