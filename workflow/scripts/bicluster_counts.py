"""Snakemake adapter: binned spike counts of one recording (NWB file or simulation)."""
from neuroflow.bicluster.pipeline import write_counts
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    write_counts(snakemake.wildcards.rec, snakemake.params.spec, list(snakemake.input.nwb),
                 snakemake.output.nc)
