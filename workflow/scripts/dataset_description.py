"""Snakemake adapter: write results/dataset_description.json (BIDS derivatives)."""

from neuroflow.report.methods import write_dataset_description
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    write_dataset_description(
        snakemake.output[0],  # noqa: F821
        bids_dir=snakemake.params.bids_dir,  # noqa: F821
        derivatives=snakemake.params.derivatives,
    )  # noqa: F821
