"""Snakemake adapter: read one subject's EEG and run the configured preprocessing steps."""
from neuroflow.eeg.pipeline import preprocess_subject
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    preprocess_subject(
        sm.params.spec, list(sm.input), subject=sm.wildcards.sub, task=sm.params.task,
        montage=sm.params.montage, on_missing=sm.params.on_missing,
        cfg=sm.params.preprocessing, out=dict(sm.output.items()),
    )
