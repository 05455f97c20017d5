# Stage 'fmri': fMRI preprocessing (issue 4). fMRIPrep derivatives (volumes at any res-,
# GIfTI pairs, CIFTI dtseries) or ready region time series (XCP-D, sample sheet) -> denoised,
# parcellated region time series (schema: src/neuroflow/fmri/__init__.py).
#
# run index (parse time; written by fmri_index) -> one job per subject (each run's confounds
# per strategy, parcellation per atlas, denoising per atlas x strategy and QC, then the
# subject QC page; one job per run and one per page for cohorts with many run layouts) ->
# group tables and QC page.


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
        "stem": r"sub-[A-Za-z0-9]+(_("
        + "|".join(e for e in FMRI_ENTITIES if e != "sub")
        + r")-[A-Za-z0-9]+)*",
    }
    FMRI_RUN = f"{R}/{{folder}}/{{stem}}"
    # settings of the per-run steps (neuroflow.fmri.runjob.RunSettings)
    FMRI_RUN_SETTINGS = {
        "min_fraction_kept": FMRI["min_fraction_kept"],
        "min_minutes_kept": FMRI["min_minutes_kept"],
        "t_r_tolerance": FMRI["t_r_tolerance"],
        "qc": {k: FMRI["qc"][k] for k in ("fd_threshold", "carpet_rows", "max_units")},
    }

    include: "fmri_inputs.smk"

    rule fmri_index:
        input:
            sample_sheet=FMRI["sample_sheet"] or [],
            participants=FMRI["participants"]["sheet"] or [],
            datasets=[
                str(p)
                for ds in FMRI["datasets"]
                for p in dataset_paths(MANIFEST, ds, config["resources"]["dest"])
            ],
            atlases=[
                f
                for a in FMRI["atlases"].values()
                for k, f in a.items()
                if k in ("path", "left", "right", "labels")
            ],
        output:
            tsv=f"{FMRI_GROUP}/desc-runs_index.tsv",
            json=f"{FMRI_GROUP}/desc-runs_index.json",
        log:
            f"{LOGS}/fmri/index.log",
        params:
            cohort={
                k: config[k]
                for k in (
                    "derivatives",
                    "participant_label",
                    "exclude_participant_label",
                    "sessions",
                    "runs",
                    "tasks",
                )
            },
            fmri={k: FMRI[k] for k in ("sample_sheet", "scan", "strategies", "atlases", "participants")},
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

    # one job per subject: for each run confounds (each strategy), raw region time series
    # (each atlas), denoised time series (each atlas x strategy) and QC, then the subject's QC
    # page. Outputs cannot depend on the subject, so one rule per run layout; its subjects are
    # a wildcard constraint (none for the largest group, which the ruleorder places last).
    for _group in FMRI_SUBJECT_GROUPS or []:
        _suffix = _group.suffix  # rule name f"fmri_subject{_suffix}" = _group.rule

        rule:
            name:
                f"fmri_subject{_suffix}"
            input:
                run=fmri_subject_run_files,
                atlas=fmri_atlas_files(_group.atlases),
            output:
                regressors=fmri_subject_outputs(
                    _group, f"{FMRI_RUN}_desc-{{strategy}}_regressors.tsv", "strategy"
                ),
                regressors_json=fmri_subject_outputs(
                    _group, f"{FMRI_RUN}_desc-{{strategy}}_regressors.json", "strategy"
                ),
                raw=fmri_subject_outputs(
                    _group, f"{FMRI_RUN}_atlas-{{atlas}}_desc-raw_timeseries.tsv", "atlas"
                ),
                raw_json=fmri_subject_outputs(
                    _group, f"{FMRI_RUN}_atlas-{{atlas}}_desc-raw_timeseries.json", "atlas"
                ),
                denoised=fmri_subject_outputs(
                    _group, f"{FMRI_RUN}_atlas-{{atlas}}_desc-{{strategy}}_timeseries.tsv", "pair"
                ),
                denoised_json=fmri_subject_outputs(
                    _group, f"{FMRI_RUN}_atlas-{{atlas}}_desc-{{strategy}}_timeseries.json", "pair"
                ),
                qc=fmri_subject_outputs(_group, f"{FMRI_RUN}_desc-qc_bold.tsv"),
                qc_json=fmri_subject_outputs(_group, f"{FMRI_RUN}_desc-qc_bold.json"),
                carpet=fmri_subject_carpets(_group),
                panels=fmri_subject_outputs(_group, f"{R}/{{folder}}/figures/{{stem}}_desc-qc_bold.png"),
                page=report(
                    FMRI_SUBJECT_PAGE,
                    caption="../report/fmri_subject_report.rst",
                    category=FMRI_CATEGORY,
                    subcategory="2 subjects: QC pages",
                    labels={"subject": "sub-{fmrisub}", "page": "fMRI QC"},
                ),
            log:
                f"{LOGS}/fmri/sub-{{fmrisub}}_fmri.log",
            wildcard_constraints:
                fmrisub=_group.sub_regex or r"[A-Za-z0-9]+",
            params:
                rows=fmri_subject_rows,
                layout=[(run.atlases, run.strategies) for run in _group.runs],
                atlases={a: fmri_atlas(a) for a in _group.atlases},
                strategies={s: _fmri_strategy(config, s) for s in _group.strategies},
                settings=FMRI_RUN_SETTINGS,
            threads: 1
            resources:
                mem_mb=by_attempt(4000),
                runtime=by_attempt(sum(fmri_run_runtime(run) for run in _group.runs) + 10),
            conda:
                "../../envs/fmri.yaml"
            script:
                "../scripts/fmri_subject.py"

    if len(FMRI_SUBJECT_GROUPS or []) > 1:
        workflow.ruleorder(*[g.rule for g in FMRI_SUBJECT_GROUPS[1:]], FMRI_SUBJECT_GROUPS[0].rule)
    # one job per run (cohorts with many run layouts): confounds, raw and denoised region time
    # series and QC of the run; one rule per run kind and atlas/strategy set; its stems are a
    # wildcard constraint (none for the largest set, which the ruleorder places last).
    for _group in FMRI_RUN_GROUPS:
        _suffix = _group.suffix  # rule name f"fmri_run_{_suffix}" = _group.rule

        rule:
            name:
                f"fmri_run_{_suffix}"
            input:
                run=fmri_run_files,
                atlas=fmri_atlas_files(_group.atlases),
            output:
                regressors=fmri_run_outputs(
                    _group, f"{FMRI_RUN}_desc-{{strategy}}_regressors.tsv", "strategy"
                ),
                regressors_json=fmri_run_outputs(
                    _group, f"{FMRI_RUN}_desc-{{strategy}}_regressors.json", "strategy"
                ),
                raw=fmri_run_outputs(_group, f"{FMRI_RUN}_atlas-{{atlas}}_desc-raw_timeseries.tsv", "atlas"),
                raw_json=fmri_run_outputs(
                    _group, f"{FMRI_RUN}_atlas-{{atlas}}_desc-raw_timeseries.json", "atlas"
                ),
                denoised=fmri_run_outputs(
                    _group, f"{FMRI_RUN}_atlas-{{atlas}}_desc-{{strategy}}_timeseries.tsv", "pair"
                ),
                denoised_json=fmri_run_outputs(
                    _group, f"{FMRI_RUN}_atlas-{{atlas}}_desc-{{strategy}}_timeseries.json", "pair"
                ),
                qc=f"{FMRI_RUN}_desc-qc_bold.tsv",
                qc_json=f"{FMRI_RUN}_desc-qc_bold.json",
                carpet=report(
                    f"{R}/{{folder}}/figures/{{stem}}_desc-carpet_bold.png",
                    caption="../report/fmri_carpet.rst",
                    category=FMRI_CATEGORY,
                    subcategory="1 runs: carpet plots",
                    labels={"run": "{stem}", "figure": "carpet before/after"},
                ),
                panels=f"{R}/{{folder}}/figures/{{stem}}_desc-qc_bold.png",
            log:
                f"{LOGS}/fmri/{{folder}}/{{stem}}_run.log",
            wildcard_constraints:
                **(FMRI_WC | ({"stem": _group.stem_regex} if _group.stem_regex else {})),
            params:
                row=fmri_row,
                atlases={a: fmri_atlas(a) for a in _group.atlases},
                strategies={s: _fmri_strategy(config, s) for s in _group.strategies},
                settings=FMRI_RUN_SETTINGS,
            threads: 1
            resources:
                mem_mb=by_attempt(4000),
                runtime=by_attempt(fmri_run_runtime(_group)),
            conda:
                "../../envs/fmri.yaml"
            script:
                "../scripts/fmri_run.py"

    if len(FMRI_RUN_GROUPS) > 1:
        workflow.ruleorder(*[g.rule for g in FMRI_RUN_GROUPS[1:]], FMRI_RUN_GROUPS[0].rule)
    # one job per run: the subject QC page is a job of its own
    if FMRI_SUBJECT_GROUPS is None:

        rule fmri_subject_report:
            input:
                unpack(fmri_subject_inputs),
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
            sidecars=multiext(
                f"{FMRI_GROUP}/desc-", "qc_runs.json", "excluded_runs.json", "timeseries_index.json"
            ),
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

    # per-run outputs and subject pages: targets at the BIDS-app participant level only (at
    # the group level fmri_group depends on each of them; listing them again costs planning
    # time per file), then the group's
    if config["analysis_level"] == "participant":
        STAGE_TARGETS += fmri_group_qc_inputs(None) + fmri_group_timeseries_inputs(None)
        STAGE_TARGETS += [FMRI_SUBJECT_PAGE.format(fmrisub=s) for s in FMRI_SUBJECTS]
    STAGE_TARGETS += [
        f"{FMRI_GROUP}/desc-qc_report.html",
        f"{FMRI_GROUP}/desc-qc_runs.tsv",
        f"{FMRI_GROUP}/desc-excluded_runs.tsv",
        f"{FMRI_GROUP}/desc-timeseries_index.tsv",
        f"{FIGS}/desc-fmriqc_summary.png",
    ]
