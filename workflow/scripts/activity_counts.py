"""Snakemake adapter: standardized spike counts of one recording (NWB units or a table) and,
for NWB units, the units file from the same reading."""

from neuroflow.activity.pipeline import counts_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    counts_file(
        list(snakemake.input.files),
        spec=snakemake.params.spec,
        citation=snakemake.params.citation,
        out_nc=snakemake.output.nc,
        out_units=snakemake.output.get("units"),
    )
