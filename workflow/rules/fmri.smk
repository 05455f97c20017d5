# Stage 'fmri': fMRI preprocessing (issue 4). fMRIPrep derivatives (volumes at any res-,
# GIfTI pairs, CIFTI dtseries) or ready region time series (XCP-D, sample sheet) -> denoised,
# parcellated region time series (schema: src/neuroflow/fmri/__init__.py).
#
# run index (parse time; written by fmri_index) -> confounds (run x strategy) + parcellate
# (run x atlas) -> denoise (run x atlas x strategy) -> qc (run) -> group tables.


if is_activated("fmri"):

    from neuroflow.fmri.index import ENTITIES as FMRI_ENTITIES

    FMRI = config["fmri"]
    FMRI_GROUP = f"{R}/group/fmri"
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
            sample_sheet=FMRI.get("sample_sheet") or [],
            participants=FMRI.get("participants", {}).get("sheet") or [],
            datasets=[str(p) for ds in FMRI.get("datasets", [])
                      for p in dataset_paths(MANIFEST, ds, config["resources"]["dest"])],
            atlases=[f for a in FMRI.get("atlases", {}).values()
                     for k, f in a.items() if k in ("path", "left", "right", "labels")],
        output:
            tsv=f"{FMRI_GROUP}/desc-runs_index.tsv",
            json=f"{FMRI_GROUP}/desc-runs_index.json",
        log:
            f"{LOGS}/fmri/index.log",
        params:
            cohort={k: config.get(k) for k in ("derivatives", "participant_label",
                                               "exclude_participant_label", "sessions", "runs",
                                               "tasks")},
            fmri={k: FMRI.get(k) for k in ("sample_sheet", "scan", "strategies", "atlases",
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
            min_fraction_kept=FMRI.get("min_fraction_kept", 0.5),
            min_minutes_kept=FMRI.get("min_minutes_kept", 4.0),
            t_r_tolerance=FMRI.get("t_r_tolerance", 0.001),
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
            t_r_tolerance=FMRI.get("t_r_tolerance", 0.001),
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
                category="fMRI preprocessing",
                subcategory="carpet plots",
                labels={"run": "{stem}", "figure": "carpet before/after"},
            ),
        log:
            f"{LOGS}/fmri/{{folder}}/{{stem}}_qc.log",
        wildcard_constraints:
            **FMRI_WC,
        params:
            row=fmri_row,
            strategies=lambda wc: {s: _fmri_strategy(config, s) for s in fmri_strategies_of(wc)},
            regressors=fmri_qc_regressors,
            fd_threshold=FMRI.get("qc", {}).get("fd_threshold", 0.5),
            carpet_rows=FMRI.get("qc", {}).get("carpet_rows", 800),
            max_units=FMRI.get("qc", {}).get("max_units", 2000),
            t_r_tolerance=FMRI.get("t_r_tolerance", 0.001),
        threads: 1
        resources:
            mem_mb=by_attempt(4000),
            runtime=by_attempt(20),
        conda:
            "../../envs/fmri.yaml"
        script:
            "../scripts/fmri_qc.py"

    rule fmri_group:
        input:
            runs=f"{FMRI_GROUP}/desc-runs_index.tsv",
            qc=fmri_group_qc_inputs,
            timeseries=fmri_group_timeseries_inputs,
        output:
            qc=report(
                f"{FMRI_GROUP}/desc-qc_runs.tsv",
                caption="../report/fmri_qc_table.rst",
                category="fMRI preprocessing",
                subcategory="group",
                labels={"table": "QC per run and strategy"},
            ),
            excluded=report(
                f"{FMRI_GROUP}/desc-excluded_runs.tsv",
                caption="../report/fmri_excluded.rst",
                category="fMRI preprocessing",
                subcategory="group",
                labels={"table": "excluded runs"},
            ),
            index=f"{FMRI_GROUP}/desc-timeseries_index.tsv",
            sidecars=multiext(f"{FMRI_GROUP}/desc-", "qc_runs.json", "excluded_runs.json",
                              "timeseries_index.json"),
            figure=report(
                f"{FIGS}/desc-fmriqc_summary.png",
                caption="../report/fmri_qc_summary.rst",
                category="fMRI preprocessing",
                subcategory="group",
                labels={"figure": "volumes kept and DVARS"},
            ),
        log:
            f"{LOGS}/fmri/group.log",
        params:
            results_dir=lambda wc: R,
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
    STAGE_TARGETS += [
        f"{FMRI_GROUP}/desc-qc_runs.tsv",
        f"{FMRI_GROUP}/desc-excluded_runs.tsv",
        f"{FMRI_GROUP}/desc-timeseries_index.tsv",
        f"{FIGS}/desc-fmriqc_summary.png",
    ]
