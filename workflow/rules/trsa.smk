# Stage 'trsa': topological RSA (Lin & Kriegeskorte 2023; issue 8).
# Real data: Haxby 2001 subject 1 (crossnobis RDM, category models) and a head-direction
# population (ring vs line; the activity stage's units file of trsa.headdirection.recording).
# Simulation: network instances trained from different seeds, whose layers are identified
# across instances; the claim table compares topology- with geometry-sensitive families at
# every noise level (the authors' protocol) and under two sensitivity noise models.


if is_activated("trsa"):

    from neuroflow.rsa.settings import check_trsa_config

    check_trsa_config(config, MANIFEST)
    TRSA = config["trsa"]
    TRSA_GROUP = f"{R}/group/trsa"
    TRSA_HAXBY = TRSA["haxby"]
    TRSA_HAXBY_PREFIX = (
        f"{R}/sub-{TRSA_HAXBY['subject']}/func/" f"sub-{TRSA_HAXBY['subject']}_task-{TRSA_HAXBY['task']}"
    )
    TRSA_HD = TRSA["headdirection"]
    if TRSA_HD["activate"]:
        # the activity stage's units file of the recording (the NWB file is read there, once)
        from neuroflow.activity.inputs import units_path, units_recording
        from neuroflow.bids import folder, stem

        TRSA_HD_SPEC = units_recording(
            config, MANIFEST, TRSA_HD["recording"], "trsa.headdirection.recording", Path(workflow.basedir)
        )
        _hd_ents = {**TRSA_HD_SPEC["entities"]}
        _hd_ents["task"] = _hd_ents.get("task") or TRSA_HD["epoch"]
        TRSA_HD_PREFIX = f"{R}/{folder(_hd_ents, 'ephys')}/{stem(_hd_ents)}"
    TRSA_IDENT = TRSA["identification"]
    TRSA_NETWORK_RDMS = f"{TRSA_GROUP}/desc-networks_rdm.nc"
    TRSA_CATEGORY = REPORT_CATEGORY["trsa"]

    if TRSA_HAXBY["activate"]:

        rule trsa_haxby_rdm:
            input:
                images=dataset_paths(MANIFEST, TRSA_HAXBY["dataset"], config["resources"]["dest"]),
            output:
                nc=f"{TRSA_HAXBY_PREFIX}_desc-crossnobis_rdm.nc",
            log:
                f"{LOGS}/trsa/sub-{TRSA_HAXBY['subject']}_haxby_rdm.log",
            params:
                subject=TRSA_HAXBY["subject"],
                task=TRSA_HAXBY["task"],
                baseline=TRSA_HAXBY["baseline"],
                hrf_model=TRSA_HAXBY["hrf_model"],
                high_pass=TRSA_HAXBY["high_pass"],
                noise_method=TRSA_HAXBY["noise_method"],
            threads: 1
            resources:
                mem_mb=by_attempt(2000),
                runtime=by_attempt(10),
            conda:
                "../../envs/trsa.yaml"
            script:
                "../scripts/trsa_haxby_rdm.py"

        rule trsa_haxby_models:
            input:
                nc=rules.trsa_haxby_rdm.output.nc,
            output:
                tsv=report(
                    f"{TRSA_HAXBY_PREFIX}_desc-models_rsa.tsv",
                    caption="../report/trsa_models_table.rst",
                    category=TRSA_CATEGORY,
                    subcategory="1 real fMRI (Haxby 2001)",
                    labels={"data": "Haxby 2001 fMRI", "item": "model comparison table"},
                ),
                fig=report(
                    f"{TRSA_HAXBY_PREFIX}_desc-models_rsa.png",
                    caption="../report/trsa_models.rst",
                    category=TRSA_CATEGORY,
                    subcategory="1 real fMRI (Haxby 2001)",
                    labels={"data": "Haxby 2001 fMRI", "item": "model comparison"},
                ),
                fig_rdms=report(
                    f"{TRSA_HAXBY_PREFIX}_desc-statistics_rdm.png",
                    caption="../report/trsa_rdms.rst",
                    category=TRSA_CATEGORY,
                    subcategory="1 real fMRI (Haxby 2001)",
                    labels={"data": "Haxby 2001 fMRI", "item": "RDM statistics"},
                ),
                tsv_json=f"{TRSA_HAXBY_PREFIX}_desc-models_rsa.json",
            log:
                f"{LOGS}/trsa/sub-{TRSA_HAXBY['subject']}_haxby_models.log",
            params:
                models=TRSA_HAXBY["models"],
                statistics=TRSA["statistics"],
                method=TRSA_HAXBY["comparison"],
                n_boot=TRSA_HAXBY["n_boot"],
                zero_edges=TRSA["zero_edges"],
                random_state=TRSA["random_state"],
            threads: 1
            resources:
                mem_mb=by_attempt(2000),
                runtime=by_attempt(10),
            conda:
                "../../envs/trsa.yaml"
            script:
                "../scripts/trsa_haxby_models.py"

    if TRSA_HD["activate"]:

        rule trsa_headdirection:
            input:
                units=units_path(R, TRSA_HD_SPEC),
            output:
                nc=f"{TRSA_HD_PREFIX}_desc-headdirection_rdm.nc",
                tsv=report(
                    f"{TRSA_HD_PREFIX}_desc-ringline_rsa.tsv",
                    caption="../report/trsa_headdirection_table.rst",
                    category=TRSA_CATEGORY,
                    subcategory="2 head-direction cells",
                    labels={"data": "head direction", "item": "ring vs line table"},
                ),
                fig=report(
                    f"{TRSA_HD_PREFIX}_desc-headdirection_rdm.png",
                    caption="../report/trsa_headdirection.rst",
                    category=TRSA_CATEGORY,
                    subcategory="2 head-direction cells",
                    labels={"data": "head direction", "item": "tuning curves and RDM"},
                ),
                fig_models=report(
                    f"{TRSA_HD_PREFIX}_desc-ringline_rsa.png",
                    caption="../report/trsa_headdirection_models.rst",
                    category=TRSA_CATEGORY,
                    subcategory="2 head-direction cells",
                    labels={"data": "head direction", "item": "ring vs line"},
                ),
                tsv_json=f"{TRSA_HD_PREFIX}_desc-ringline_rsa.json",
            log:
                f"{LOGS}/trsa/{TRSA_HD_SPEC['stem']}_headdirection.log",
            params:
                subject=TRSA_HD_SPEC["entities"]["sub"],
                n_bins=TRSA_HD["n_bins"],
                epoch=TRSA_HD["epoch"],
                location=TRSA_HD["location"],
                rdm_method=TRSA_HD["rdm_method"],
                statistics=TRSA["statistics"],
                method=TRSA_HD["comparison"],
                n_boot=TRSA_HD["n_boot"],
                zero_edges=TRSA["zero_edges"],
                random_state=TRSA["random_state"],
            threads: 1
            resources:
                mem_mb=by_attempt(2000),
                runtime=by_attempt(10),
            conda:
                "../../envs/trsa.yaml"
            script:
                "../scripts/trsa_headdirection.py"

    if TRSA["networks"]["activate"]:

        rule trsa_network_rdms:
            output:
                nc=TRSA_NETWORK_RDMS,
            log:
                f"{LOGS}/trsa/network_rdms.log",
            params:
                networks=TRSA["networks"],
                random_state=TRSA["random_state"],
            threads: 1
            resources:
                mem_mb=by_attempt(3000),
                runtime=by_attempt(30),
            conda:
                "../../envs/trsa.yaml"
            script:
                "../scripts/trsa_network_rdms.py"

    if TRSA_IDENT["rdms"] or TRSA["networks"]["activate"]:

        rule trsa_identification:
            input:
                rdms=TRSA_IDENT["rdms"] or TRSA_NETWORK_RDMS,
            output:
                noise=report(
                    f"{TRSA_GROUP}/desc-noise_identification.tsv",
                    caption="../report/trsa_noise_table.rst",
                    category=TRSA_CATEGORY,
                    subcategory="3 identification (simulated networks)",
                    labels={"data": "identification", "item": "noise curves table"},
                ),
                grid=f"{TRSA_GROUP}/desc-grid_identification.tsv",
                families=report(
                    f"{TRSA_GROUP}/desc-families_identification.tsv",
                    caption="../report/trsa_families_table.rst",
                    category=TRSA_CATEGORY,
                    subcategory="3 identification (simulated networks)",
                    labels={"data": "identification", "item": "families table"},
                ),
                samples=f"{TRSA_GROUP}/desc-familysamples_identification.tsv",
                tests=f"{TRSA_GROUP}/desc-familytests_identification.tsv",
                claims=report(
                    f"{TRSA_GROUP}/desc-claims_identification.tsv",
                    caption="../report/trsa_claims_table.rst",
                    category=TRSA_CATEGORY,
                    subcategory="3 identification (simulated networks)",
                    labels={"data": "identification", "item": "claim table"},
                ),
                selection=f"{TRSA_GROUP}/desc-selection_identification.tsv",
                fig_noise=report(
                    f"{TRSA_GROUP}/desc-noise_identification.png",
                    caption="../report/trsa_noise.rst",
                    category=TRSA_CATEGORY,
                    subcategory="3 identification (simulated networks)",
                    labels={"data": "identification", "item": "accuracy vs noise"},
                ),
                fig_grid=report(
                    f"{TRSA_GROUP}/desc-grid_identification.png",
                    caption="../report/trsa_grid.rst",
                    category=TRSA_CATEGORY,
                    subcategory="3 identification (simulated networks)",
                    labels={"data": "identification", "item": "(l, u) grid"},
                ),
                fig_families=report(
                    f"{TRSA_GROUP}/desc-families_identification.png",
                    caption="../report/trsa_families.rst",
                    category=TRSA_CATEGORY,
                    subcategory="3 identification (simulated networks)",
                    labels={"data": "identification", "item": "families"},
                ),
                fig_claims=report(
                    f"{TRSA_GROUP}/desc-claims_identification.png",
                    caption="../report/trsa_claims.rst",
                    category=TRSA_CATEGORY,
                    subcategory="3 identification (simulated networks)",
                    labels={"data": "identification", "item": "families by noise"},
                ),
                noise_json=f"{TRSA_GROUP}/desc-noise_identification.json",
                grid_json=f"{TRSA_GROUP}/desc-grid_identification.json",
                families_json=f"{TRSA_GROUP}/desc-families_identification.json",
                samples_json=f"{TRSA_GROUP}/desc-familysamples_identification.json",
                tests_json=f"{TRSA_GROUP}/desc-familytests_identification.json",
                claims_json=f"{TRSA_GROUP}/desc-claims_identification.json",
                selection_json=f"{TRSA_GROUP}/desc-selection_identification.json",
            log:
                f"{LOGS}/trsa/identification.log",
            params:
                statistics=TRSA["statistics"],
                identification={k: v for k, v in TRSA_IDENT.items() if k != "rdms"},
                zero_edges=TRSA["zero_edges"],
                random_state=TRSA["random_state"],
            threads: 1
            resources:
                mem_mb=by_attempt(2000),
                runtime=by_attempt(30),
            conda:
                "../../envs/trsa.yaml"
            script:
                "../scripts/trsa_identification.py"

    TRSA_TASK_ON = TRSA["task"]["activate"]
    TRSA_HAXBY_BIDS = TRSA_HAXBY["activate"] and TRSA_HAXBY["bids"]
    if TRSA_TASK_ON or TRSA_HAXBY_BIDS:
        import functools
        import sys
        from neuroflow.rsa.inputs import (
            TaskPlan,
            haxby_keys,
            plan_haxby_task,
            plan_task,
            subject_layouts,
            wildcard_regex,
        )

        # the cohort's task fMRI through the BIDS layer; bad inputs stop here, before any job
        TRSA_PLAN = plan_task(config) if TRSA_TASK_ON else TaskPlan()
        for _note in TRSA_PLAN.notes:
            print(f"trsa.task: {_note}", file=sys.stderr)
        # the Haxby demo on the same route: converted to BIDS by a checkpoint, then queried
        TRSA_HAXBY_KEYS = haxby_keys(config)
        TRSA_HAXBY_BIDS_ROOT = f"{config['resources']['dest']}/{TRSA_HAXBY['dataset']}" "_bids"

        include: "trsa_inputs.smk"

        if TRSA_HAXBY_BIDS:

            checkpoint trsa_haxby_bids:
                input:
                    images=dataset_paths(MANIFEST, TRSA_HAXBY["dataset"], config["resources"]["dest"]),
                output:
                    root=directory(TRSA_HAXBY_BIDS_ROOT),
                log:
                    f"{LOGS}/trsa/haxby_bids.log",
                params:
                    subject=TRSA_HAXBY["subject"],
                    task=TRSA_HAXBY["task"],
                    baseline=TRSA_HAXBY["baseline"],
                threads: 1
                resources:
                    mem_mb=by_attempt(2000),
                    runtime=by_attempt(10),
                conda:
                    "../../envs/trsa.yaml"
                script:
                    "../scripts/trsa_haxby_bids.py"

        # the cohort's subjects: one job each, the run-wise GLM of every run, then the RDM.
        # Layouts share output patterns: the largest is unconstrained and last in the
        # ruleorder, the others list their labels (Snakemake rescans a constraint per job)
        TRSA_LAYOUTS = subject_layouts(TRSA_PLAN)
        TRSA_LAYOUT_WC, TRSA_LAYOUT_GENERIC = group_constraints(
            {_i: _layout.labels for _i, _layout in enumerate(TRSA_LAYOUTS)}, r"[A-Za-z0-9]+"
        )
        for _i, _layout in enumerate(TRSA_LAYOUTS):
            _runs = [f"{R}/{run}" for run in _layout.runs]
            _suffix = f"_{_i + 1}" if _i else ""

            rule:
                name:
                    f"trsa_task_subject{_suffix}"
                input:
                    bold=trsa_layout_runs(_layout, "bold"),
                    mask=trsa_layout_runs(_layout, "mask"),
                    events=trsa_layout_runs(_layout, "events"),
                    confounds=trsa_layout_runs(_layout, "confounds"),
                    atlas=TRSA["task"]["atlas"]["image"],
                    labels=TRSA["task"]["atlas"]["labels"] or [],
                output:
                    betas=[f"{run}_desc-betas_statmap.nii.gz" for run in _runs],
                    json=[f"{run}_desc-betas_statmap.json" for run in _runs],
                    residuals=[f"{run}_desc-residuals_bold.nii.gz" for run in _runs],
                    nc=f"{R}/{_layout.subject}_desc-crossnobis_rdm.nc",
                log:
                    glm=[f"{LOGS}/trsa/{run}_glm.log" for run in _layout.runs],
                    rdm=f"{LOGS}/trsa/{_layout.subject}_rdm.log",
                params:
                    conditions=trsa_layout_group(_layout, "conditions"),
                    dropped_conditions=trsa_layout_group(_layout, "dropped_conditions"),
                    entities=trsa_layout_entities(_layout),
                    hrf_model=TRSA["task"]["hrf_model"],
                    high_pass=TRSA["task"]["high_pass"],
                    noise_model=TRSA["task"]["noise_model"],
                    confounds=TRSA["task"]["confounds"],
                    noise_method=TRSA["task"]["noise_method"],
                    min_voxels=TRSA["task"]["min_voxels"],
                    simulated=config["fmri"]["simulated"],  # the user's word on the BOLD data
                wildcard_constraints:
                    tlabel=TRSA_LAYOUT_WC[_i],
                threads: 1
                resources:
                    mem_mb=by_attempt(8000),
                    runtime=by_attempt(30 * (len(_runs) + 1)),
                conda:
                    "../../envs/trsa.yaml"
                script:
                    "../scripts/trsa_task_subject.py"

        for _i in range(len(TRSA_LAYOUTS)):
            if _i != TRSA_LAYOUT_GENERIC:
                workflow.ruleorder(
                    f"trsa_task_subject_{_i + 1}" if _i else "trsa_task_subject",
                    (
                        f"trsa_task_subject_{TRSA_LAYOUT_GENERIC + 1}"
                        if TRSA_LAYOUT_GENERIC
                        else "trsa_task_subject"
                    ),
                )
        if TRSA_LAYOUTS and TRSA_HAXBY_BIDS:  # the Haxby subject's RDM: its own rule
            workflow.ruleorder(
                "trsa_task_rdm",
                (
                    f"trsa_task_subject_{TRSA_LAYOUT_GENERIC + 1}"
                    if TRSA_LAYOUT_GENERIC
                    else "trsa_task_subject"
                ),
            )
        # the Haxby demo (runs known after its conversion): one GLM job per run, one RDM job
        if TRSA_HAXBY_BIDS:

            rule trsa_task_glm:
                input:
                    bold=lambda w: trsa_plan(w.trun).runs[w.trun].bold,
                    mask=lambda w: trsa_plan(w.trun).runs[w.trun].mask,
                    events=lambda w: trsa_plan(w.trun).runs[w.trun].events,
                    confounds=lambda w: trsa_plan(w.trun).runs[w.trun].confounds or [],
                output:
                    betas=f"{R}/{{trun}}_desc-betas_statmap.nii.gz",
                    json=f"{R}/{{trun}}_desc-betas_statmap.json",
                    residuals=f"{R}/{{trun}}_desc-residuals_bold.nii.gz",
                log:
                    f"{LOGS}/trsa/{{trun}}_glm.log",
                params:
                    conditions=lambda w: list(trsa_plan(w.trun).group_of[w.trun].conditions),
                    dropped_conditions=lambda w: list(trsa_plan(w.trun).group_of[w.trun].dropped_conditions),
                    hrf_model=trsa_setting("hrf_model", "trun"),
                    high_pass=trsa_setting("high_pass", "trun"),
                    noise_model=trsa_setting("noise_model", "trun"),
                    confounds=trsa_setting("confounds", "trun"),
                    simulated=config["fmri"]["simulated"],  # the user's word on the BOLD data
                wildcard_constraints:
                    trun=TRSA_HAXBY_KEYS["run"],
                threads: 1
                resources:
                    mem_mb=by_attempt(4000),
                    runtime=by_attempt(30),
                conda:
                    "../../envs/trsa.yaml"
                script:
                    "../scripts/trsa_task_glm.py"

            rule trsa_task_rdm:
                input:
                    betas=lambda w: [f"{R}/{r.key}_desc-betas_statmap.nii.gz" for r in trsa_task_runs(w)],
                    json=lambda w: [f"{R}/{r.key}_desc-betas_statmap.json" for r in trsa_task_runs(w)],
                    residuals=lambda w: [f"{R}/{r.key}_desc-residuals_bold.nii.gz" for r in trsa_task_runs(w)],
                    masks=lambda w: [r.mask for r in trsa_task_runs(w)],
                    atlas=lambda w: trsa_plan(w.tsub).settings["atlas"]["image"],
                    labels=lambda w: trsa_plan(w.tsub).settings["atlas"]["labels"] or [],
                output:
                    nc=f"{R}/{{tsub}}_desc-crossnobis_rdm.nc",
                log:
                    f"{LOGS}/trsa/{{tsub}}_rdm.log",
                params:
                    conditions=lambda w: list(trsa_plan(w.tsub).group_of[w.tsub].conditions),
                    entities=lambda w: trsa_plan(w.tsub).subjects[w.tsub].entities,
                    noise_method=trsa_setting("noise_method", "tsub"),
                    min_voxels=trsa_setting("min_voxels", "tsub"),
                wildcard_constraints:
                    tsub=TRSA_HAXBY_KEYS["subject"],
                threads: 1
                resources:
                    mem_mb=by_attempt(8000),
                    runtime=by_attempt(30),
                conda:
                    "../../envs/trsa.yaml"
                script:
                    "../scripts/trsa_task_rdm.py"

        rule trsa_task_stack:
            input:
                rdms=lambda w: [
                    f"{R}/{s.key}_desc-crossnobis_rdm.nc" for s in TRSA_PLAN.groups[w.tgroup].subjects
                ],
            output:
                nc=f"{TRSA_GROUP}/{{tgroup}}_desc-crossnobis_rdm.nc",
            log:
                f"{LOGS}/trsa/{{tgroup}}_stack.log",
            wildcard_constraints:
                tgroup=wildcard_regex(TRSA_PLAN.groups),
            threads: 1
            resources:
                mem_mb=by_attempt(2000),
                runtime=by_attempt(10),
            conda:
                "../../envs/trsa.yaml"
            script:
                "../scripts/trsa_task_stack.py"

        if TRSA_TASK_ON and TRSA["task"]["models"]:
            # the Haxby subject's models: its own rule (before the rule: a formatter would
            # nest the lines after this block into a block written after the rule)
            if TRSA_HAXBY["activate"]:
                workflow.ruleorder("trsa_haxby_models", "trsa_task_models")

            rule trsa_task_models:
                input:
                    nc=f"{R}/{{tsub}}_desc-crossnobis_rdm.nc",
                output:
                    tsv=report(
                        f"{R}/{{tsub}}_desc-models_rsa.tsv",
                        caption="../report/trsa_models_table.rst",
                        category=TRSA_CATEGORY,
                        subcategory="4 task fMRI",
                        labels={"data": "task fMRI {tsub}", "item": "model comparison table"},
                    ),
                    tsv_json=f"{R}/{{tsub}}_desc-models_rsa.json",
                log:
                    f"{LOGS}/trsa/{{tsub}}_models.log",
                params:
                    models=TRSA["task"]["models"],
                    statistics=TRSA["statistics"],
                    method=TRSA["task"]["comparison"],
                    n_boot=TRSA["task"]["n_boot"],
                    zero_edges=TRSA["zero_edges"],
                    random_state=TRSA["random_state"],
                wildcard_constraints:  # any subject key (a list would be rescanned per job)
                    tsub=r"sub-[^/]+/(?:ses-[^/]+/)?func/[^/]+",
                threads: 1
                resources:
                    mem_mb=by_attempt(2000),
                    runtime=by_attempt(10),
                conda:
                    "../../envs/trsa.yaml"
                script:
                    "../scripts/trsa_task_models.py"

        TRSA_TASK_PREFIX = f"{TRSA_GROUP}/{{tgroup}}"

        rule trsa_task_identification:
            input:
                rdms=rules.trsa_task_stack.output.nc,
            output:
                noise=report(
                    f"{TRSA_TASK_PREFIX}_desc-noise_identification.tsv",
                    caption="../report/trsa_noise_table.rst",
                    category=TRSA_CATEGORY,
                    subcategory="4 task fMRI",
                    labels={"data": "task fMRI {tgroup}", "item": "noise curves table"},
                ),
                grid=f"{TRSA_TASK_PREFIX}_desc-grid_identification.tsv",
                families=report(
                    f"{TRSA_TASK_PREFIX}_desc-families_identification.tsv",
                    caption="../report/trsa_families_table.rst",
                    category=TRSA_CATEGORY,
                    subcategory="4 task fMRI",
                    labels={"data": "task fMRI {tgroup}", "item": "families table"},
                ),
                samples=f"{TRSA_TASK_PREFIX}_desc-familysamples_identification.tsv",
                tests=f"{TRSA_TASK_PREFIX}_desc-familytests_identification.tsv",
                claims=report(
                    f"{TRSA_TASK_PREFIX}_desc-claims_identification.tsv",
                    caption="../report/trsa_claims_table.rst",
                    category=TRSA_CATEGORY,
                    subcategory="4 task fMRI",
                    labels={"data": "task fMRI {tgroup}", "item": "claim table"},
                ),
                selection=f"{TRSA_TASK_PREFIX}_desc-selection_identification.tsv",
                fig_noise=report(
                    f"{TRSA_TASK_PREFIX}_desc-noise_identification.png",
                    caption="../report/trsa_noise.rst",
                    category=TRSA_CATEGORY,
                    subcategory="4 task fMRI",
                    labels={"data": "task fMRI {tgroup}", "item": "accuracy vs noise"},
                ),
                fig_grid=report(
                    f"{TRSA_TASK_PREFIX}_desc-grid_identification.png",
                    caption="../report/trsa_grid.rst",
                    category=TRSA_CATEGORY,
                    subcategory="4 task fMRI",
                    labels={"data": "task fMRI {tgroup}", "item": "(l, u) grid"},
                ),
                fig_families=report(
                    f"{TRSA_TASK_PREFIX}_desc-families_identification.png",
                    caption="../report/trsa_families.rst",
                    category=TRSA_CATEGORY,
                    subcategory="4 task fMRI",
                    labels={"data": "task fMRI {tgroup}", "item": "families"},
                ),
                fig_claims=report(
                    f"{TRSA_TASK_PREFIX}_desc-claims_identification.png",
                    caption="../report/trsa_claims.rst",
                    category=TRSA_CATEGORY,
                    subcategory="4 task fMRI",
                    labels={"data": "task fMRI {tgroup}", "item": "families by noise"},
                ),
                noise_json=f"{TRSA_TASK_PREFIX}_desc-noise_identification.json",
                grid_json=f"{TRSA_TASK_PREFIX}_desc-grid_identification.json",
                families_json=f"{TRSA_TASK_PREFIX}_desc-families_identification.json",
                samples_json=f"{TRSA_TASK_PREFIX}_desc-familysamples_identification.json",
                tests_json=f"{TRSA_TASK_PREFIX}_desc-familytests_identification.json",
                claims_json=f"{TRSA_TASK_PREFIX}_desc-claims_identification.json",
                selection_json=f"{TRSA_TASK_PREFIX}_desc-selection_identification.json",
            log:
                f"{LOGS}/trsa/{{tgroup}}_identification.log",
            params:
                statistics=TRSA["statistics"],
                identification={k: v for k, v in TRSA_IDENT.items() if k != "rdms"},
                zero_edges=TRSA["zero_edges"],
                random_state=TRSA["random_state"],
            wildcard_constraints:
                tgroup=wildcard_regex(TRSA_PLAN.groups),
            threads: 1
            resources:
                mem_mb=by_attempt(2000),
                runtime=by_attempt(30),
            conda:
                "../../envs/trsa.yaml"
            script:
                "../scripts/trsa_identification.py"

    if TRSA_HAXBY["activate"]:
        STAGE_TARGETS += rules.trsa_haxby_models.output
    if TRSA_HD["activate"]:
        STAGE_TARGETS += rules.trsa_headdirection.output
    if TRSA_IDENT["rdms"] or TRSA["networks"]["activate"]:
        STAGE_TARGETS += rules.trsa_identification.output
    if TRSA_HAXBY_BIDS:
        STAGE_TARGETS.append(f"{R}/{TRSA_HAXBY_KEYS['subject']}_desc-crossnobis_rdm.nc")
    if TRSA_TASK_ON:
        STAGE_TARGETS += [f"{R}/{key}_desc-crossnobis_rdm.nc" for key in TRSA_PLAN.subjects]
        if TRSA["task"]["models"]:
            STAGE_TARGETS += [f"{R}/{key}_desc-models_rsa.tsv" for key in TRSA_PLAN.subjects]
        STAGE_TARGETS += [
            path.format(tgroup=group.key)
            for group in TRSA_PLAN.identified_groups()
            for path in rules.trsa_task_identification.output
        ]
