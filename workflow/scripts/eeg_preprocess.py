"""Snakemake adapter: read one EEG recording and run the configured preprocessing steps."""
from neuroflow.eeg.pipeline import preprocess_recording
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    preprocess_recording(
        sm.params.spec, list(sm.input), montage=sm.params.montage,
        on_missing=sm.params.on_missing, cfg=sm.params.preprocessing, out=dict(sm.output.items()),
    )
