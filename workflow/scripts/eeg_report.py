"""Snakemake adapter: one subject's MNE Report (HTML)."""
from neuroflow.eeg.report import subject_report
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    inp = dict(sm.input.items())
    subject_report(
        subject=sm.wildcards.sub, simulated=sm.params.simulated, filtered=inp["filtered"],
        clean=inp["clean"], epochs=inp["epochs"], ica=inp.get("ica"), channels=inp["channels"],
        components=inp["components"], epochs_log=inp["epochs_log"], summary=inp["summary"],
        features=inp["features"], aperiodic=inp["aperiodic"],
        connectivity=inp.get("connectivity"), truth=(list(sm.input.truth) or [None])[0],
        out_html=sm.output[0],
    )
