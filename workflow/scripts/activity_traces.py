"""Snakemake adapter: standardized traces of one NWB file of the BIDS route."""

from neuroflow.activity.pipeline import traces_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    traces_file(
        list(sm.input.files),
        spec=sm.params.spec,
        series=sm.params.series,
        only_cells=sm.params.only_cells,
        simulated=sm.params.simulated,
        out_nc=sm.output.nc,
    )
