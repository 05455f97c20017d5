# Input functions of the eeg stage (included by eeg.smk when the stage is activated;
# rule files hold rules only).


@fixed_params
def eeg_rec(wc):
    """The spec of the recording a job's wildcards name (its folder must match)."""
    rec = EEG_RECS[wc.eegrec]
    if rec["folder"] != wc.eegdir:
        raise ValueError(f"EEG recording {wc.eegrec} lives in {rec['folder']}, not {wc.eegdir}")
    return rec


@fixed_params
def eeg_solo_rec(wc):
    """The spec of the one recording of the report a job's wildcards name.

    The unconstrained rule (eeg.smk) is also asked for other rules' files (the ruleorder
    then drops it): a recording's stem there names that recording.
    """
    stems = EEG_REPORTS.get(wc.eegrep) or [wc.eegrep]
    if stems[0] not in EEG_RECS:
        raise ValueError(
            f"EEG: {wc.eegdir}/{wc.eegrep} is no report or recording of the " "cohort (eeg section, bids_dir)"
        )
    rec = EEG_RECS[stems[0]]
    if rec["folder"] != wc.eegdir:
        raise ValueError(f"EEG report {wc.eegrep} lives in {rec['folder']}, not {wc.eegdir}")
    return rec


def eeg_report_recs(wc):
    return [EEG_RECS[k] for k in EEG_REPORTS[wc.eegrep]]


def eeg_report_inputs(suffix):
    """Input function: one file per recording of the report (runs in order)."""
    return fixed_params(lambda wc: eeg_recording_paths(EEG_REC, eeg_report_recs(wc), suffix))
