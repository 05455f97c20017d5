# Stage 'eeg' (issue 5, issue 17): EEG preprocessing with MNE, from recordings to cleaned FIF,
# spectra, the aperiodic (1/f) exponent, oscillatory peaks and sensor connectivity.
# One job per recording (sub x ses x task x acq x run), as in MNE-BIDS-Pipeline: every EEG
# recording of the top-level bids_dir the selection keeps (participant_label, sessions,
# runs, tasks), the embedded spkit recording, the seeded simulated cohort and your own files
# (see the `eeg` section of config/config.yaml). Outputs keep every BIDS entity:
# results/sub-01/ses-2/eeg/sub-01_ses-2_task-rest_run-2_desc-clean_eeg.fif.


if is_activated("eeg"):
    # eeg_-prefixed names: every rule file shares one namespace
    from neuroflow.eeg.inputs import FOLDER_RE as EEG_FOLDER_RE
    from neuroflow.eeg.inputs import eeg_recordings
    from neuroflow.eeg.inputs import recording_inputs as eeg_recording_inputs
    from neuroflow.eeg.inputs import recording_paths as eeg_recording_paths
    from neuroflow.eeg.inputs import recording_files as eeg_recording_files
    from neuroflow.eeg.inputs import recording_steps as eeg_recording_steps
    from neuroflow.eeg.inputs import reports as eeg_reports
    from neuroflow.eeg.inputs import split_reports as eeg_split_reports
    from neuroflow.eeg.inputs import truth_file as eeg_truth_file

    EEG = config["eeg"]
    EEG_TASK = EEG["task"]
    EEG_RECS = eeg_recordings(config)  # {BIDS stem: spec}; errors name the key and file
    EEG_REPORTS = eeg_reports(EEG_RECS)  # {report stem: [recording stems]}
    EEG_SRC = f"{R}/sourcedata"
    EEG_GROUP = f"{R}/group/eeg"
    EEG_LOGS = f"{LOGS}/eeg"
    # {eegdir}: sub-01[/ses-2]/eeg; {eegrec}: the recording's stem; {eegrep}: a report's stem
    EEG_OUT = f"{R}/{{eegdir}}/{{eegrec}}"
    EEG_REC = f"{R}/{{folder}}/{{stem}}"  # the same, for expand-like lists of recordings
    EEG_ICA = EEG["preprocessing"]["ica"]["activate"]
    EEG_CON = EEG["features"]["connectivity"]["activate"]
    EEG_SIM_PREFIX = EEG["simulate"]["prefix"]
    EEG_ORDER = list(EEG_RECS)
    EEG_REC_FILES = eeg_recording_files(EEG_ICA, EEG_CON)  # {output key: suffix}
    EEG_STEPS = eeg_recording_steps(EEG_CON)
    # recordings whose report is a job of its own; {run label: reports their job writes}
    EEG_SHARED, EEG_SOLO = eeg_split_reports(EEG_RECS, EEG_REPORTS)
    EEG_SHARED_REPORTS = sorted({EEG_RECS[k]["report"] for k in EEG_SHARED})
    # the rules' outputs share patterns: the largest group (None: the shared recordings) is
    # unconstrained and last in the ruleorder, the others list their stems
    EEG_WC, EEG_GENERIC = group_constraints({**({None: EEG_SHARED} if EEG_SHARED else {}), **EEG_SOLO})
    EEG_RULES = {None: ["eeg_recording", "eeg_report"]}  # {group: its rules}

    include: "eeg_inputs.smk"

    if EEG["embedded"]["activate"]:
        EEG_EMB = EEG["embedded"]["subject"]

        rule eeg_convert_embedded:
            input:
                pickle=dataset_paths(MANIFEST, EEG["embedded"]["dataset"], config["resources"]["dest"])[0],
            output:
                raw=f"{EEG_SRC}/sub-{EEG_EMB}/eeg/sub-{EEG_EMB}_task-{EEG_TASK}_eeg.fif",
                reference=f"{EEG_SRC}/sub-{EEG_EMB}/eeg/sub-{EEG_EMB}_task-{EEG_TASK}_desc-spkitica_eeg.fif",
                sidecar=f"{EEG_SRC}/sub-{EEG_EMB}/eeg/sub-{EEG_EMB}_task-{EEG_TASK}_eeg.json",
            log:
                f"{EEG_LOGS}/sub-{EEG_EMB}_convert.log",
            params:
                subject=EEG_EMB,
                task=EEG_TASK,
                montage=EEG["embedded"]["montage"],
                dataset=EEG["embedded"]["dataset"],
                citation=citation_text(MANIFEST, EEG["embedded"]["dataset"]),
            threads: 1
            resources:
                mem_mb=by_attempt(1000),
                runtime=by_attempt(5),
            conda:
                "../../envs/eeg.yaml"
            script:
                "../scripts/eeg_convert.py"

    rule eeg_simulate:
        output:
            raw=f"{EEG_SRC}/sub-{{sim}}/eeg/sub-{{sim}}_task-{EEG_TASK}_eeg.fif",
            blink=f"{EEG_SRC}/sub-{{sim}}/eeg/sub-{{sim}}_task-{EEG_TASK}_desc-blink_eeg.fif",
            sidecar=f"{EEG_SRC}/sub-{{sim}}/eeg/sub-{{sim}}_task-{EEG_TASK}_eeg.json",
            truth=f"{EEG_SRC}/sub-{{sim}}/eeg/sub-{{sim}}_task-{EEG_TASK}_truth.json",
        log:
            f"{EEG_LOGS}/sub-{{sim}}_simulate.log",
        wildcard_constraints:
            sim=f"{EEG_SIM_PREFIX}[0-9]+",
        params:
            prefix=EEG_SIM_PREFIX,
            task=EEG_TASK,
            simulate=EEG["simulate"],
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(5),
        conda:
            "../../envs/eeg.yaml"
        script:
            "../scripts/eeg_simulate.py"

    # One job per recording: preprocessing -> spectra, band power, 1/f exponent, peaks ->
    # sensor connectivity (eeg.features.connectivity.activate); each step keeps its log.
    # Its MNE Report too where the report holds this recording only (EEG_SOLO: the report's
    # name follows from the recording's); the other reports are jobs of their own.
    if EEG_SHARED:

        rule eeg_recording:
            input:
                files=fixed_params(lambda wc: eeg_recording_inputs(eeg_rec(wc), EEG_SRC)),
            output:
                **{k: f"{EEG_OUT}{suffix}" for k, suffix in EEG_REC_FILES.items()},
            log:
                **{step: f"{EEG_LOGS}/{{eegdir}}/{{eegrec}}_{step}.log" for step in EEG_STEPS},
            wildcard_constraints:
                eegdir=EEG_FOLDER_RE,
                eegrec=EEG_WC[None],
            params:
                spec=eeg_rec,
                montage=EEG["montage"],
                on_missing=EEG["montage_on_missing"],
                preprocessing=EEG["preprocessing"],
                features=EEG["features"],
            threads: 1
            resources:
                mem_mb=by_attempt(4000),
                runtime=by_attempt(35),
            conda:
                "../../envs/eeg.yaml"
            script:
                "../scripts/eeg_recording.py"

    for _run, _reps in EEG_SOLO.items():
        # {eegrep}: the report's stem; the recording's stem adds _run-<label>, if any
        _rec = f"{R}/{{eegdir}}/{{eegrep}}" + (f"_run-{_run}" if _run else "")
        _logs = f"{EEG_LOGS}/{{eegdir}}/{{eegrep}}" + (f"_run-{_run}" if _run else "")
        _suffix = f"_run{_run}" if _run else ""
        EEG_RULES[_run] = [f"eeg_recording_report{_suffix}"]

        rule:
            name:
                f"eeg_recording_report{_suffix}"
            input:
                files=fixed_params(lambda wc: eeg_recording_inputs(eeg_solo_rec(wc), EEG_SRC)),
                truth=fixed_params(lambda wc: eeg_truth_file(eeg_solo_rec(wc), EEG_SRC)),
            output:
                **{k: f"{_rec}{suffix}" for k, suffix in EEG_REC_FILES.items()},
                report=report(
                    f"{R}/{{eegdir}}/{{eegrep}}_report.html",
                    caption="../report/eeg_subject_report.rst",
                    category=REPORT_CATEGORY["eeg"],
                    subcategory="1 subjects: MNE reports (subject x session)",
                    labels={"report": "{eegrep}", "file": "MNE Report"},
                ),
            log:
                **{step: f"{_logs}_{step}.log" for step in EEG_STEPS},
                report=f"{EEG_LOGS}/{{eegdir}}/{{eegrep}}_report.log",
            wildcard_constraints:
                eegdir=EEG_FOLDER_RE,
                eegrep=EEG_WC[_run],
            params:
                spec=eeg_solo_rec,
                montage=EEG["montage"],
                on_missing=EEG["montage_on_missing"],
                preprocessing=EEG["preprocessing"],
                features=EEG["features"],
            threads: 1
            resources:
                mem_mb=by_attempt(4000),
                runtime=by_attempt(45),
            conda:
                "../../envs/eeg.yaml"
            script:
                "../scripts/eeg_recording.py"

    # One MNE Report per subject x session x task (x acq), runs as sections: what
    # MNE-BIDS-Pipeline does. Without sessions/runs it is the old per-subject report.
    if EEG_SHARED:

        rule eeg_report:
            input:
                filtered=eeg_report_inputs("_desc-filtered_eeg.fif"),
                clean=eeg_report_inputs("_desc-clean_eeg.fif"),
                epochs=eeg_report_inputs("_desc-clean_epo.fif"),
                channels=eeg_report_inputs("_channels.tsv"),
                components=eeg_report_inputs("_desc-ica_components.tsv"),
                epochs_log=eeg_report_inputs("_desc-rejection_log.tsv"),
                summary=eeg_report_inputs("_desc-preproc_eeg.json"),
                features=eeg_report_inputs("_desc-spectra_eeg.nc"),
                aperiodic=eeg_report_inputs("_desc-aperiodic_eeg.tsv"),
                ica=eeg_report_inputs("_ica.fif") if EEG_ICA else [],
                connectivity=eeg_report_inputs("_desc-connectivity_eeg.nc") if EEG_CON else [],
                truth=lambda wc: [t for r in eeg_report_recs(wc) for t in eeg_truth_file(r, EEG_SRC)],
            output:
                report(
                    f"{R}/{{eegdir}}/{{eegrep}}_report.html",
                    caption="../report/eeg_subject_report.rst",
                    category=REPORT_CATEGORY["eeg"],
                    subcategory="1 subjects: MNE reports (subject x session)",
                    labels={"report": "{eegrep}", "file": "MNE Report"},
                ),
            log:
                f"{EEG_LOGS}/{{eegdir}}/{{eegrep}}_report.log",
            wildcard_constraints:
                eegdir=EEG_FOLDER_RE,
                eegrep=EEG_WC[None] if EEG_GENERIC is None else keys_regex(EEG_SHARED_REPORTS),
            params:
                labels=lambda wc: EEG_REPORTS[wc.eegrep],
                simulated=lambda wc: eeg_report_recs(wc)[0]["simulated"],
            threads: 1
            resources:
                mem_mb=by_attempt(3000),
                runtime=by_attempt(10),
            conda:
                "../../envs/eeg.yaml"
            script:
                "../scripts/eeg_report.py"

    # a stem of a smaller group goes to that group's rule, not to the unconstrained one
    for _group, _rules in EEG_RULES.items():
        if _group in EEG_WC and _group != EEG_GENERIC:
            for _rule in _rules:
                for _last in EEG_RULES[EEG_GENERIC]:
                    workflow.ruleorder(_rule, _last)
    EEG_ORDERED = [EEG_RECS[k] for k in EEG_ORDER]

    rule eeg_group:
        input:
            summaries=eeg_recording_paths(EEG_REC, EEG_ORDERED, "_desc-preproc_eeg.json"),
            features=eeg_recording_paths(EEG_REC, EEG_ORDERED, "_desc-spectra_eeg.nc"),
            aperiodics=eeg_recording_paths(EEG_REC, EEG_ORDERED, "_desc-aperiodic_eeg.tsv"),
            connectivities=(
                eeg_recording_paths(EEG_REC, EEG_ORDERED, "_desc-connectivity_eeg.nc") if EEG_CON else []
            ),
            truths=[t for r in EEG_ORDERED for t in eeg_truth_file(r, EEG_SRC)],
        output:
            table=report(
                f"{EEG_GROUP}/desc-features_eeg.tsv",
                caption="../report/eeg_group_table.rst",
                category=REPORT_CATEGORY["eeg"],
                subcategory="2 group",
                labels={"table": "per-recording features"},
            ),
            table_json=f"{EEG_GROUP}/desc-features_eeg.json",
            nc=f"{EEG_GROUP}/desc-features_eeg.nc",
            fig_aperiodic=report(
                f"{EEG_GROUP}/desc-aperiodic_eeg.png",
                caption="../report/eeg_aperiodic.rst",
                category=REPORT_CATEGORY["eeg"],
                subcategory="2 group",
                labels={"figure": "aperiodic exponent and alpha peak"},
            ),
            fig_psd=report(
                f"{EEG_GROUP}/desc-spectra_eeg.png",
                caption="../report/eeg_spectra.rst",
                category=REPORT_CATEGORY["eeg"],
                subcategory="2 group",
                labels={"figure": "power spectra"},
            ),
            fig_bandpower=report(
                f"{EEG_GROUP}/desc-bandpower_eeg.png",
                caption="../report/eeg_bandpower.rst",
                category=REPORT_CATEGORY["eeg"],
                subcategory="2 group",
                labels={"figure": "relative band power"},
            ),
        log:
            f"{EEG_LOGS}/group.log",
        params:
            recordings=EEG_ORDER,
            simulated=[r["stem"] for r in EEG_ORDERED if r["kind"] == "simulated"],
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(5),
        conda:
            "../../envs/eeg.yaml"
        script:
            "../scripts/eeg_group.py"

    STAGE_TARGETS.extend(
        [
            f"{EEG_GROUP}/desc-features_eeg.tsv",
            f"{EEG_GROUP}/desc-features_eeg.nc",
            f"{EEG_GROUP}/desc-aperiodic_eeg.png",
            f"{EEG_GROUP}/desc-spectra_eeg.png",
            f"{EEG_GROUP}/desc-bandpower_eeg.png",
            *(
                f"{R}/{EEG_RECS[recs[0]]['folder']}/{rep}_report.html"
                for rep, recs in EEG_REPORTS.items()
            ),
        ]
    )
