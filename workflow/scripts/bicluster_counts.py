"""Snakemake adapter: the bi-clustering counts of one recording (the activity stage's
counts file, or a simulation when the rule has no input)."""
from neuroflow.bicluster.pipeline import write_counts
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    write_counts(snakemake.wildcards.stem, snakemake.params.spec, list(snakemake.input),
                 snakemake.output.nc)
