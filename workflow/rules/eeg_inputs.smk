# Input functions of the eeg stage (included by eeg.smk when the stage is activated;
# rule files hold rules only).


def eeg_rec(wc):
    """The spec of the recording a job's wildcards name (its folder must match)."""
    rec = EEG_RECS[wc.eegrec]
    if rec["folder"] != wc.eegdir:
        raise ValueError(f"EEG recording {wc.eegrec} lives in {rec['folder']}, not {wc.eegdir}")
    return rec


def eeg_report_recs(wc):
    return [EEG_RECS[k] for k in EEG_REPORTS[wc.eegrep]]


def eeg_report_inputs(suffix):
    """Input function: one file per recording of the report (runs in order)."""
    return lambda wc: eeg_recording_paths(EEG_REC, eeg_report_recs(wc), suffix)
