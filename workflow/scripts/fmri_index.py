"""Snakemake adapter: write the fMRI run index (sample sheet + the cohort's derivatives)."""

from neuroflow.fmri.inputs import index_arguments
from neuroflow.fmri.pipeline import write_index
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    config = {**sm.params.cohort, "fmri": sm.params.fmri, "resources": {"dest": sm.params.resources_dest}}
    write_index(sm.output.tsv, **index_arguments(config), expected_stems=sm.params.stems)
