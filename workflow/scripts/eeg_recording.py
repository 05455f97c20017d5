"""Snakemake adapter: every step of one EEG recording (preprocessing, features, sensor
connectivity) and, where the rule writes it, the MNE Report that holds this recording only."""

from neuroflow.eeg.pipeline import process_recording

sm = snakemake
out = dict(sm.output.items())
report = None
if "report" in out:
    truth = list(sm.input.truth)
    report = {"title": sm.wildcards.eegrep, "truth": truth[0] if truth else None}
process_recording(
    sm.params.spec,
    list(sm.input.files),
    montage=sm.params.montage,
    on_missing=sm.params.on_missing,
    preprocessing=sm.params.preprocessing,
    features=sm.params.features,
    out=out,
    logs=dict(sm.log.items()),
    report=report,
)
