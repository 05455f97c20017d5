"""Snakemake adapter: subjects' region RDMs -> one (subject, region, pair) stack (trsa.task)."""

from neuroflow.rsa.taskfmri import stack_rdms_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    stack_rdms_file(list(snakemake.input.rdms), snakemake.output.nc)
