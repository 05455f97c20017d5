"""Snakemake adapter: convert the checksum-verified spkit EEG pickle to FIF (once)."""

from neuroflow.eeg.pipeline import convert_embedded
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    convert_embedded(
        sm.input.pickle,
        sm.output.raw,
        sm.output.reference,
        sm.output.sidecar,
        subject=sm.params.subject,
        task=sm.params.task,
        montage=sm.params.montage,
        dataset_id=sm.params.dataset,
        citation=sm.params.citation,
    )
