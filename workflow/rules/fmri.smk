# Stage 'fmri': fMRI preprocessing (issue 4). fMRIPrep derivatives (volumes at any res-,
# GIfTI pairs, CIFTI dtseries) or ready region time series (XCP-D, sample sheet) -> denoised,
# parcellated region time series (schema: src/neuroflow/fmri/__init__.py).
#
# run index (parse time; written by fmri_index) -> confounds (run x strategy) + parcellate
# (run x atlas) -> denoise (run x atlas x strategy) -> qc (run) -> subject QC page -> group
# tables and QC page.


if is_activated("fmri"):

    from neuroflow.fmri.index import ENTITIES as FMRI_ENTITIES

    FMRI = config["fmri"]
    FMRI_GROUP = f"{R}/group/fmri"
    FMRI_CATEGORY = REPORT_CATEGORY["fmri"]
    # a subject's QC page (fMRIPrep / XCP-D style): every run of the subject, all sessions
    FMRI_SUBJECT_PAGE = f"{R}/sub-{{fmrisub}}/figures/sub-{{fmrisub}}_desc-fmri_report.html"
    # a run stem carries every entity of its input (res-, den-, seg-, ...), never atlas/desc
    FMRI_WC = {
        "folder": r"sub-[A-Za-z0-9]+(/ses-[A-Za-z0-9]+)?/func",
        "stem": r"sub-[A-Za-z0-9]+(_(" + "|".join(e for e in FMRI_ENTITIES if e != "sub")
        + r")-[A-Za-z0-9]+)*",
        "atlas": r"[A-Za-z0-9]+",
        "strategy": r"(?!raw)[A-Za-z0-9]+",
    }
    FMRI_RUN = f"{R}/{{folder}}/{{stem}}"

    include: "fmri_inputs.smk"

    rule fmri_index:
        input:
            sample_sheet=FMRI["sample_sheet"] or [],
            participants=FMRI["participants"]["sheet"] or [],
            datasets=[str(p) for ds in FMRI["datasets"]
                      for p in dataset_paths(MANIFEST, ds, config["resources"]["dest"])],
            atlases=[f for a in FMRI["atlases"].values()
                     for k, f in a.items() if k in ("path", "left", "right", "labels")],
        output:
            tsv=f"{FMRI_GROUP}/desc-runs_index.tsv",
            json=f"{FMRI_GROUP}/desc-runs_index.json",
        log:
            f"{LOGS}/fmri/index.log",
        params:
            cohort={k: config[k] for k in ("derivatives", "participant_label",
                                           "exclude_participant_label", "sessions", "runs",
                                           "tasks")},
            fmri={k: FMRI[k] for k in ("sample_sheet", "scan", "strategies", "atlases",
                                       "participants")},
            resources_dest=lambda wc: config["resources"]["dest"],
            stems=sorted(FMRI_ROWS),
        threads: 1
        resources:
            mem_mb=by_attempt(1000),
            runtime=by_attempt(10),
        conda:
            "../../envs/fmri.yaml"
        script:
            "../scripts/fmri_index.py"

    rule fmri_confounds:
        input:
            fmri_run_files,
        output:
            tsv=f"{FMRI_RUN}_desc-{{strategy}}_regressors.tsv",
            json=f"{FMRI_RUN}_desc-{{strategy}}_regressors.json",
        log:
            f"{LOGS}/fmri/{{folder}}/{{stem}}_desc-{{strategy}}_confounds.log",
        wildcard_constraints:
            **FMRI_WC,
        params:
            row=fmri_row,
            strategy=lambda wc: _fmri_strategy(config, wc.strategy),
            min_fraction_kept=FMRI["min_fraction_kept"],
            min_minutes_kept=FMRI["min_minutes_kept"],
            t_r_tolerance=FMRI["t_r_tolerance"],
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(10),
        conda:
            "../../envs/fmri.yaml"
        script:
            "../scripts/fmri_confounds.py"

    rule fmri_parcellate:
        input:
            run=fmri_run_files,
            atlas=fmri_atlas_files,
        output:
            tsv=f"{FMRI_RUN}_atlas-{{atlas}}_desc-raw_timeseries.tsv",
            json=f"{FMRI_RUN}_atlas-{{atlas}}_desc-raw_timeseries.json",
        log:
            f"{LOGS}/fmri/{{folder}}/{{stem}}_atlas-{{atlas}}_parcellate.log",
        wildcard_constraints:
            **FMRI_WC,
        params:
            row=fmri_row,
            atlas=lambda wc: fmri_atlas(wc.atlas),
            t_r_tolerance=FMRI["t_r_tolerance"],
        threads: 1
        resources:
            mem_mb=by_attempt(4000),
            runtime=by_attempt(20),
        conda:
            "../../envs/fmri.yaml"
        script:
            "../scripts/fmri_parcellate.py"

    rule fmri_denoise:
        input:
            raw=f"{FMRI_RUN}_atlas-{{atlas}}_desc-raw_timeseries.tsv",
            regressors=f"{FMRI_RUN}_desc-{{strategy}}_regressors.tsv",
        output:
            tsv=f"{FMRI_RUN}_atlas-{{atlas}}_desc-{{strategy}}_timeseries.tsv",
            json=f"{FMRI_RUN}_atlas-{{atlas}}_desc-{{strategy}}_timeseries.json",
        log:
            f"{LOGS}/fmri/{{folder}}/{{stem}}_atlas-{{atlas}}_desc-{{strategy}}_denoise.log",
        wildcard_constraints:
            **FMRI_WC,
        params:
            strategy=lambda wc: _fmri_strategy(config, wc.strategy),
        threads: 1
        resources:
            mem_mb=by_attempt(1000),
            runtime=by_attempt(10),
        conda:
            "../../envs/fmri.yaml"
        script:
            "../scripts/fmri_denoise.py"

    rule fmri_qc:
        input:
            run=fmri_run_files,
            regressors=lambda wc: list(fmri_qc_regressors(wc).values()),
            raw=fmri_qc_raw,
        output:
            tsv=f"{FMRI_RUN}_desc-qc_bold.tsv",
            json=f"{FMRI_RUN}_desc-qc_bold.json",
            carpet=report(
                f"{R}/{{folder}}/figures/{{stem}}_desc-carpet_bold.png",
                caption="../report/fmri_carpet.rst",
                category=FMRI_CATEGORY,
                subcategory="1 runs: carpet plots",
                labels={"run": "{stem}", "figure": "carpet before/after"},
            ),
            panels=f"{R}/{{folder}}/figures/{{stem}}_desc-qc_bold.png",
        log:
            f"{LOGS}/fmri/{{folder}}/{{stem}}_qc.log",
        wildcard_constraints:
            **FMRI_WC,
        params:
            row=fmri_row,
            strategies=lambda wc: {s: _fmri_strategy(config, s) for s in fmri_strategies_of(wc)},
            regressors=fmri_qc_regressors,
            fd_threshold=FMRI["qc"]["fd_threshold"],
            carpet_rows=FMRI["qc"]["carpet_rows"],
            max_units=FMRI["qc"]["max_units"],
            t_r_tolerance=FMRI["t_r_tolerance"],
        threads: 1
        resources:
            mem_mb=by_attempt(4000),
            runtime=by_attempt(20),
        conda:
            "../../envs/fmri.yaml"
        script:
            "../scripts/fmri_qc.py"

    rule fmri_subject_report:
        input:
            qc=fmri_subject_files("_desc-qc_bold.tsv"),
            carpets=fmri_subject_files("_desc-carpet_bold.png", figure=True),
            panels=fmri_subject_files("_desc-qc_bold.png", figure=True),
            regressors=fmri_subject_regressors,
            raw=fmri_subject_raw,
        output:
            report(
                FMRI_SUBJECT_PAGE,
                caption="../report/fmri_subject_report.rst",
                category=FMRI_CATEGORY,
                subcategory="2 subjects: QC pages",
                labels={"subject": "sub-{fmrisub}", "page": "fMRI QC"},
            ),
        log:
            f"{LOGS}/fmri/sub-{{fmrisub}}_report.log",
        wildcard_constraints:
            fmrisub=r"[A-Za-z0-9]+",
        threads: 1
        resources:
            mem_mb=by_attempt(1000),
            runtime=by_attempt(10),
        conda:
            "../../envs/fmri.yaml"
        script:
            "../scripts/fmri_subject_report.py"

    rule fmri_group:
        input:
            runs=f"{FMRI_GROUP}/desc-runs_index.tsv",
            qc=fmri_group_qc_inputs,
            pages=[FMRI_SUBJECT_PAGE.format(fmrisub=s) for s in FMRI_SUBJECTS],
            timeseries=fmri_group_timeseries_inputs,
        output:
            qc=report(
                f"{FMRI_GROUP}/desc-qc_runs.tsv",
                caption="../report/fmri_qc_table.rst",
                category=FMRI_CATEGORY,
                subcategory="3 group",
                labels={"table": "QC per run and strategy"},
            ),
            excluded=report(
                f"{FMRI_GROUP}/desc-excluded_runs.tsv",
                caption="../report/fmri_excluded.rst",
                category=FMRI_CATEGORY,
                subcategory="3 group",
                labels={"table": "excluded runs"},
            ),
            index=f"{FMRI_GROUP}/desc-timeseries_index.tsv",
            sidecars=multiext(f"{FMRI_GROUP}/desc-", "qc_runs.json", "excluded_runs.json",
                              "timeseries_index.json"),
            page=report(
                f"{FMRI_GROUP}/desc-qc_report.html",
                caption="../report/fmri_group_report.rst",
                category=FMRI_CATEGORY,
                subcategory="3 group",
                labels={"table": "QC page: outlier runs flagged"},
            ),
            figure=report(
                f"{FIGS}/desc-fmriqc_summary.png",
                caption="../report/fmri_qc_summary.rst",
                category=FMRI_CATEGORY,
                subcategory="3 group",
                labels={"figure": "volumes kept and DVARS"},
            ),
        log:
            f"{LOGS}/fmri/group.log",
        params:
            results_dir=lambda wc: R,
            outlier_mads=FMRI["qc"]["outlier_mads"],
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(10),
        conda:
            "../../envs/fmri.yaml"
        script:
            "../scripts/fmri_group.py"

    # per-run outputs first (the BIDS-app participant level keeps only these), then the group's
    STAGE_TARGETS += fmri_group_qc_inputs(None) + fmri_group_timeseries_inputs(None)
    STAGE_TARGETS += [FMRI_SUBJECT_PAGE.format(fmrisub=s) for s in FMRI_SUBJECTS]
    STAGE_TARGETS += [
        f"{FMRI_GROUP}/desc-qc_report.html",
        f"{FMRI_GROUP}/desc-qc_runs.tsv",
        f"{FMRI_GROUP}/desc-excluded_runs.tsv",
        f"{FMRI_GROUP}/desc-timeseries_index.tsv",
        f"{FIGS}/desc-fmriqc_summary.png",
    ]
