"""Snakemake adapter: one MNE Report (HTML) per subject x session x task, runs as sections."""

from neuroflow.eeg.report import REPORT_FILES, recording_report
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    recordings = []
    for i, label in enumerate(sm.params.labels):
        rec = {"label": label}
        for key in REPORT_FILES:
            files = list(sm.input[key]) if key in sm.input.keys() else []  # noqa: SIM118 (`in` tests values)
            rec[key] = files[i] if key != "truth" and files else None
        recordings.append(rec)
    truths = list(sm.input.truth)  # simulated recordings only (one per simulated subject)
    for rec, truth in zip(recordings, truths):
        rec["truth"] = truth
    recording_report(
        title=sm.wildcards.eegrep, simulated=sm.params.simulated, recordings=recordings, out_html=sm.output[0]
    )
