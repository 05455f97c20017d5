"""Snakemake adapter: SIMULATED feature maps with known routing (NetCDF)."""

from neuroflow.encoding.pipeline import routing_simulation_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    routing_simulation_file(
        snakemake.output.nc,
        simulation=dict(snakemake.params.simulation),
        random_state=snakemake.params.random_state,
    )
