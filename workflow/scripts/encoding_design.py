"""Snakemake adapter: one data set -> encoding design (features + responses, NetCDF)."""

from neuroflow.encoding.pipeline import design_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    p = sm.params
    design_file(
        p.reader,
        list(sm.input.files),
        sm.output.nc,
        options=dict(p.options),
        subject=p.subject,
        task=p.task,
        experiment=p.experiment,
    )
