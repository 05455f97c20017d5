# Stage 'eeg' (issue 5): EEG preprocessing with MNE, from recordings to cleaned FIF, spectra,
# the aperiodic (1/f) exponent, oscillatory peaks and sensor connectivity.
# Subjects: the embedded spkit recording, the seeded simulated cohort, your own files and a
# BIDS dataset (see the `eeg` section of config/config.yaml).


if is_activated("eeg"):
    # eeg_-prefixed names: every rule file shares one namespace
    from neuroflow.eeg.cohort import eeg_subjects
    from neuroflow.eeg.cohort import recording_files as eeg_recording_files
    from neuroflow.eeg.cohort import subject_paths as eeg_subject_paths

    EEG = config["eeg"]
    EEG_TASK = EEG["task"]
    EEG_SUBJECTS = eeg_subjects(EEG)
    EEG_SRC = f"{R}/sourcedata"
    EEG_GROUP = f"{R}/group/eeg"
    EEG_LOGS = f"{LOGS}/eeg"
    EEG_SUB = f"{R}/sub-{{sub}}/eeg/sub-{{sub}}_task-{EEG_TASK}"
    EEG_ICA = EEG["preprocessing"]["ica"]["activate"]
    EEG_CON = EEG["features"]["connectivity"]["activate"]
    EEG_SIM_PREFIX = EEG["simulate"]["prefix"]
    EEG_ORDER = list(EEG_SUBJECTS)

    if EEG["embedded"]["activate"]:
        EEG_EMB = EEG["embedded"]["subject"]

        rule eeg_convert_embedded:
            input:
                pickle=dataset_paths(MANIFEST, EEG["embedded"]["dataset"],
                                     config["resources"]["dest"])[0],
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
                citation=" ".join(str(MANIFEST["datasets"][EEG["embedded"]["dataset"]]
                                      .get("citation", "")).split()),
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

    rule eeg_preprocess:
        input:
            lambda wc: eeg_recording_files(EEG_SUBJECTS[wc.sub], EEG_TASK, EEG_SRC, wc.sub),
        output:
            **{
                "filtered": f"{EEG_SUB}_desc-filtered_eeg.fif",
                "clean": f"{EEG_SUB}_desc-clean_eeg.fif",
                "epochs": f"{EEG_SUB}_desc-clean_epo.fif",
                "channels": f"{EEG_SUB}_channels.tsv",
                "channels_json": f"{EEG_SUB}_channels.json",
                "components": f"{EEG_SUB}_desc-ica_components.tsv",
                "components_json": f"{EEG_SUB}_desc-ica_components.json",
                "epochs_log": f"{EEG_SUB}_desc-rejection_log.tsv",
                "epochs_log_json": f"{EEG_SUB}_desc-rejection_log.json",
                "summary": f"{EEG_SUB}_desc-preproc_eeg.json",
            },
            **({"ica": f"{EEG_SUB}_ica.fif"} if EEG_ICA else {}),
        log:
            f"{EEG_LOGS}/sub-{{sub}}_preprocess.log",
        wildcard_constraints:
            sub="[A-Za-z0-9]+",
        params:
            spec=lambda wc: EEG_SUBJECTS[wc.sub],
            task=EEG_TASK,
            montage=EEG["montage"],
            on_missing=EEG["montage_on_missing"],
            preprocessing=EEG["preprocessing"],
        threads: 1
        resources:
            mem_mb=by_attempt(4000),
            runtime=by_attempt(15),
        conda:
            "../../envs/eeg.yaml"
        script:
            "../scripts/eeg_preprocess.py"

    rule eeg_features:
        input:
            epochs=f"{EEG_SUB}_desc-clean_epo.fif",
        output:
            nc=f"{EEG_SUB}_desc-spectra_eeg.nc",
            bandpower=f"{EEG_SUB}_desc-bandpower_eeg.tsv",
            bandpower_json=f"{EEG_SUB}_desc-bandpower_eeg.json",
            aperiodic=f"{EEG_SUB}_desc-aperiodic_eeg.tsv",
            aperiodic_json=f"{EEG_SUB}_desc-aperiodic_eeg.json",
            peaks=f"{EEG_SUB}_desc-peaks_eeg.tsv",
            peaks_json=f"{EEG_SUB}_desc-peaks_eeg.json",
        log:
            f"{EEG_LOGS}/sub-{{sub}}_features.log",
        wildcard_constraints:
            sub="[A-Za-z0-9]+",
        params:
            simulated=lambda wc: EEG_SUBJECTS[wc.sub]["simulated"],
            features=EEG["features"],
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(10),
        conda:
            "../../envs/eeg.yaml"
        script:
            "../scripts/eeg_features.py"

    if EEG_CON:

        rule eeg_connectivity:
            input:
                epochs=f"{EEG_SUB}_desc-clean_epo.fif",
            output:
                nc=f"{EEG_SUB}_desc-connectivity_eeg.nc",
            log:
                f"{EEG_LOGS}/sub-{{sub}}_connectivity.log",
            wildcard_constraints:
                sub="[A-Za-z0-9]+",
            params:
                simulated=lambda wc: EEG_SUBJECTS[wc.sub]["simulated"],
                features=EEG["features"],
            threads: 1
            resources:
                mem_mb=by_attempt(2000),
                runtime=by_attempt(10),
            conda:
                "../../envs/eeg.yaml"
            script:
                "../scripts/eeg_connectivity.py"

    rule eeg_report_subject:
        input:
            **{
                "filtered": f"{EEG_SUB}_desc-filtered_eeg.fif",
                "clean": f"{EEG_SUB}_desc-clean_eeg.fif",
                "epochs": f"{EEG_SUB}_desc-clean_epo.fif",
                "channels": f"{EEG_SUB}_channels.tsv",
                "components": f"{EEG_SUB}_desc-ica_components.tsv",
                "epochs_log": f"{EEG_SUB}_desc-rejection_log.tsv",
                "summary": f"{EEG_SUB}_desc-preproc_eeg.json",
                "features": f"{EEG_SUB}_desc-spectra_eeg.nc",
                "aperiodic": f"{EEG_SUB}_desc-aperiodic_eeg.tsv",
            },
            **({"ica": f"{EEG_SUB}_ica.fif"} if EEG_ICA else {}),
            **({"connectivity": f"{EEG_SUB}_desc-connectivity_eeg.nc"} if EEG_CON else {}),
            truth=lambda wc: (
                [f"{EEG_SRC}/sub-{wc.sub}/eeg/sub-{wc.sub}_task-{EEG_TASK}_truth.json"]
                if EEG_SUBJECTS[wc.sub]["kind"] == "simulated" else []
            ),
        output:
            report(
                f"{EEG_SUB}_report.html",
                caption="../report/eeg_subject_report.rst",
                category="EEG preprocessing",
                subcategory="Per-subject MNE reports",
                labels={"subject": "{sub}", "file": "MNE Report"},
            ),
        log:
            f"{EEG_LOGS}/sub-{{sub}}_report.log",
        wildcard_constraints:
            sub="[A-Za-z0-9]+",
        params:
            simulated=lambda wc: EEG_SUBJECTS[wc.sub]["simulated"],
        threads: 1
        resources:
            mem_mb=by_attempt(3000),
            runtime=by_attempt(10),
        conda:
            "../../envs/eeg.yaml"
        script:
            "../scripts/eeg_report.py"

    rule eeg_group:
        input:
            summaries=eeg_subject_paths(EEG_SUB, EEG_ORDER, "_desc-preproc_eeg.json"),
            features=eeg_subject_paths(EEG_SUB, EEG_ORDER, "_desc-spectra_eeg.nc"),
            aperiodics=eeg_subject_paths(EEG_SUB, EEG_ORDER, "_desc-aperiodic_eeg.tsv"),
            connectivities=(eeg_subject_paths(EEG_SUB, EEG_ORDER, "_desc-connectivity_eeg.nc")
                            if EEG_CON else []),
            truths=[f"{EEG_SRC}/sub-{s}/eeg/sub-{s}_task-{EEG_TASK}_truth.json"
                    for s in EEG_ORDER if EEG_SUBJECTS[s]["kind"] == "simulated"],
        output:
            table=report(
                f"{EEG_GROUP}/desc-features_eeg.tsv",
                caption="../report/eeg_group_table.rst",
                category="EEG preprocessing",
                subcategory="Group",
                labels={"table": "per-subject features"},
            ),
            table_json=f"{EEG_GROUP}/desc-features_eeg.json",
            nc=f"{EEG_GROUP}/desc-features_eeg.nc",
            fig_aperiodic=report(
                f"{EEG_GROUP}/desc-aperiodic_eeg.png",
                caption="../report/eeg_aperiodic.rst",
                category="EEG preprocessing",
                subcategory="Group",
                labels={"figure": "aperiodic exponent and alpha peak"},
            ),
            fig_psd=report(
                f"{EEG_GROUP}/desc-spectra_eeg.png",
                caption="../report/eeg_spectra.rst",
                category="EEG preprocessing",
                subcategory="Group",
                labels={"figure": "power spectra"},
            ),
            fig_bandpower=report(
                f"{EEG_GROUP}/desc-bandpower_eeg.png",
                caption="../report/eeg_bandpower.rst",
                category="EEG preprocessing",
                subcategory="Group",
                labels={"figure": "relative band power"},
            ),
        log:
            f"{EEG_LOGS}/group.log",
        params:
            subjects=EEG_ORDER,
            simulated=[s for s in EEG_ORDER if EEG_SUBJECTS[s]["kind"] == "simulated"],
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(5),
        conda:
            "../../envs/eeg.yaml"
        script:
            "../scripts/eeg_group.py"

    STAGE_TARGETS.extend([
        f"{EEG_GROUP}/desc-features_eeg.tsv",
        f"{EEG_GROUP}/desc-features_eeg.nc",
        f"{EEG_GROUP}/desc-aperiodic_eeg.png",
        f"{EEG_GROUP}/desc-spectra_eeg.png",
        f"{EEG_GROUP}/desc-bandpower_eeg.png",
        *eeg_subject_paths(EEG_SUB, EEG_ORDER, "_report.html"),
    ])
