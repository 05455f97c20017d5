"""Snakemake adapter: nested cross-validated ridge-family encoding model of one design."""

from neuroflow.encoding.pipeline import ridge_files
from neuroflow.encoding.settings import RidgeSettings
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    settings = RidgeSettings.from_params(dict(sm.params.items()), threads=sm.threads)
    ridge_files(sm.input.design, sm.output.nc, sm.output.tsv, sm.output.png, settings)
