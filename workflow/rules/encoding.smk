# Stage 'encoding': encoding models on GPU rules (issue 9).
# Ridge family (himalaya: ridge, kernel ridge, banded ridge; numpy / torch / torch_cuda) on
# real data - grasshopper auditory receptor (sound envelope -> spike rate), head-direction
# cells (head angle -> spike rate; the activity stage's units file), Haxby 2001 (object category -> BOLD) - and an
# attention-routing transformer encoder (Adeli et al. 2025) compared with ridge on the same
# folds. GPU rules ask for `resources: gpu` (config) and fall back to the CPU where none is
# visible; the device and the peak GPU memory are written next to every output.


if is_activated("encoding"):

    from neuroflow.encoding.inputs import (
        alpha_grid,
        experiment_config,
        experiment_inputs,
        experiment_prefix,
    )

    ENC = config["encoding"]
    ENC_RIDGE = ENC["ridge"]
    ENC_ATT = ENC["attention"]
    ENC_GROUP = f"{R}/group/encoding"
    ENC_CATEGORY = REPORT_CATEGORY["encoding"]
    ENC_ALPHAS = alpha_grid(ENC_RIDGE["alphas"])

    for _exp in ENC["run"]:
        _cfg = experiment_config(ENC, _exp)
        _prefix = experiment_prefix(R, _exp, _cfg)
        _units = None
        if _cfg["reader"] == "headdirection":
            # the activity stage's units file of the recording (the NWB file is read there)
            from neuroflow.activity.inputs import units_path, units_recording

            _units = units_path(
                R,
                units_recording(
                    config,
                    MANIFEST,
                    _cfg["recording"],
                    f"encoding.experiments.{_exp}.recording",
                    Path(workflow.basedir),
                ),
            )
        # (appended before the rules: snakefmt 2.1 cannot parse code after an anonymous
        # rule in a loop that is followed by a nested block)
        STAGE_TARGETS += [f"{_prefix}_scores.tsv", f"{_prefix}_encoding.png", f"{_prefix}_encoding.nc"]

        rule:
            name:
                f"encoding_design_{_exp}"
            input:
                files=experiment_inputs(_cfg, MANIFEST, config["resources"]["dest"], _units),
            output:
                nc=f"{_prefix}_design.nc",
            log:
                f"{LOGS}/encoding/{_exp}_design.log",
            params:
                reader=_cfg["reader"],
                options=_cfg["options"],
                subject=_cfg["subject"],
                task=_cfg["task"],
                experiment=_exp,
            threads: 1
            resources:
                mem_mb=by_attempt(2000),
                runtime=by_attempt(10),
            conda:
                "../../envs/encoding.yaml"
            script:
                "../scripts/encoding_design.py"

        rule:
            name:
                f"encoding_ridge_{_exp}"
            input:
                design=f"{_prefix}_design.nc",
            output:
                nc=f"{_prefix}_encoding.nc",
                sidecar=f"{_prefix}_encoding.json",
                tsv=report(
                    f"{_prefix}_scores.tsv",
                    caption="../report/encoding_scores.rst",
                    category=ENC_CATEGORY,
                    subcategory=f"1 experiment {_exp}",
                    labels={"experiment": _exp, "item": "scores per target"},
                ),
                png=report(
                    f"{_prefix}_encoding.png",
                    caption="../report/encoding_ridge.rst",
                    category=ENC_CATEGORY,
                    subcategory=f"1 experiment {_exp}",
                    labels={"experiment": _exp, "item": "prediction, weights, baseline"},
                ),
                tsv_json=f"{_prefix}_scores.json",
            log:
                f"{LOGS}/encoding/{_exp}_ridge.log",
            params:
                experiment=_exp,
                lags_s=_cfg["lags_s"],
                model=_cfg["model"],
                alphas=ENC_ALPHAS,
                n_folds=_cfg["n_folds"],
                n_inner_folds=_cfg["n_inner_folds"],
                n_iter=ENC_RIDGE["n_iter"],
                permutation=_cfg["permutation"],
                noise_ceiling=_cfg["noise_ceiling"],
                device=ENC["device"],
                backend=ENC["backend"],
                n_targets_batch=ENC_RIDGE["n_targets_batch"],
                random_state=ENC["random_state"],
            threads: ENC_RIDGE["threads"]
            resources:
                mem_mb=by_attempt(ENC_RIDGE["mem_mb"]),
                runtime=by_attempt(ENC_RIDGE["runtime"]),
                gpu=ENC_RIDGE["gpu"],
            conda:
                "../../envs/encoding.yaml"
            script:
                "../scripts/encoding_ridge.py"

    if ENC_ATT["enabled"]:
        ENC_FEATURE_MAP = ENC_ATT["feature_map"] or f"{ENC_GROUP}/desc-routingsim_featuremap.nc"
        if not ENC_ATT["feature_map"]:

            rule encoding_simulate_routing:
                output:
                    nc=ENC_FEATURE_MAP,
                log:
                    f"{LOGS}/encoding/simulate_routing.log",
                params:
                    simulation=ENC_ATT["simulation"],
                    random_state=ENC["random_state"],
                threads: 1
                resources:
                    mem_mb=by_attempt(1000),
                    runtime=by_attempt(5),
                conda:
                    "../../envs/encoding.yaml"
                script:
                    "../scripts/encoding_simulate_routing.py"

        rule encoding_fit_attention:
            input:
                fmap=ENC_FEATURE_MAP,
            output:
                nc=f"{ENC_GROUP}/desc-routing_encoding.nc",
                sidecar=f"{ENC_GROUP}/desc-routing_encoding.json",
                tsv=report(
                    f"{ENC_GROUP}/desc-routing_scores.tsv",
                    caption="../report/encoding_routing_table.rst",
                    category=ENC_CATEGORY,
                    subcategory="2 attention routing",
                    labels={"experiment": "attention routing", "item": "scores per region"},
                ),
                routing=report(
                    f"{ENC_GROUP}/desc-routing_attention.png",
                    caption="../report/encoding_routing.rst",
                    category=ENC_CATEGORY,
                    subcategory="2 attention routing",
                    labels={"experiment": "attention routing", "item": "routing maps"},
                ),
                comparison=report(
                    f"{ENC_GROUP}/desc-routing_comparison.png",
                    caption="../report/encoding_routing_comparison.rst",
                    category=ENC_CATEGORY,
                    subcategory="2 attention routing",
                    labels={"experiment": "attention routing", "item": "attention vs ridge"},
                ),
                tsv_json=f"{ENC_GROUP}/desc-routing_scores.json",
            log:
                f"{LOGS}/encoding/fit_attention.log",
            params:
                d_model=ENC_ATT["d_model"],
                n_heads=ENC_ATT["n_heads"],
                dim_feedforward=ENC_ATT["dim_feedforward"],
                dropout=ENC_ATT["dropout"],
                n_layers=ENC_ATT["n_layers"],
                temperature=ENC_ATT["temperature"],
                epochs=ENC_ATT["epochs"],
                batch_size=ENC_ATT["batch_size"],
                learning_rate=ENC_ATT["learning_rate"],
                weight_decay=ENC_ATT["weight_decay"],
                grad_clip=ENC_ATT["grad_clip"],
                lr_step=ENC_ATT["lr_step"],
                validation_fraction=ENC_ATT["validation_fraction"],
                n_folds=ENC_ATT["n_folds"],
                ridge_alphas=ENC_ALPHAS,
                ridge_inner_folds=ENC_ATT["ridge_inner_folds"],
                n_examples=ENC_ATT["n_examples"],
                flat_entropy=ENC_ATT["flat_entropy"],
                device=ENC["device"],
                backend=ENC["backend"],
                random_state=ENC["random_state"],
            threads: ENC_ATT["threads"]
            resources:
                mem_mb=by_attempt(ENC_ATT["mem_mb"]),
                runtime=by_attempt(ENC_ATT["runtime"]),
                gpu=ENC_ATT["gpu"],
            conda:
                "../../envs/encoding.yaml"
            script:
                "../scripts/encoding_attention.py"

    if ENC_ATT["enabled"]:  # (its own block: snakefmt 2.1 misplaces what follows code after a rule)
        STAGE_TARGETS += [
            *rules.encoding_fit_attention.output,
        ]
    if ENC["task"]["activate"]:
        from neuroflow.rsa.inputs import plan_task

        # the cohort's task runs through the BIDS layer (as trsa.task); errors before any job
        ENC_TASK = ENC["task"]
        ENC_PLAN = plan_task(config, "encoding.task", min_conditions=1)

        include: "encoding_inputs.smk"

        # One job per subject: the design of its task runs (events -> regressors, denoised
        # BOLD -> responses), then the nested cross-validated ridge model on it.
        rule encoding_task_subject:
            input:
                bolds=fixed_params(lambda w: [r.bold for r in enc_task_runs(w)]),
                masks=fixed_params(lambda w: [r.mask for r in enc_task_runs(w)]),
                events=fixed_params(lambda w: [r.events for r in enc_task_runs(w)]),
                confounds=fixed_params(lambda w: [r.confounds for r in enc_task_runs(w) if r.confounds]),
                atlas=ENC_TASK["atlas"]["image"],
                labels=ENC_TASK["atlas"]["labels"] or [],
            output:
                design=f"{R}/{{esub}}_desc-events_design.nc",
                nc=f"{R}/{{esub}}_desc-events_encoding.nc",
                sidecar=f"{R}/{{esub}}_desc-events_encoding.json",
                tsv=report(
                    f"{R}/{{esub}}_desc-events_scores.tsv",
                    caption="../report/encoding_scores.rst",
                    category=ENC_CATEGORY,
                    subcategory="3 task fMRI",
                    labels={"experiment": "task fMRI {esub}", "item": "scores per target"},
                ),
                png=report(
                    f"{R}/{{esub}}_desc-events_encoding.png",
                    caption="../report/encoding_ridge.rst",
                    category=ENC_CATEGORY,
                    subcategory="3 task fMRI",
                    labels={"experiment": "task fMRI {esub}", "item": "prediction, weights, baseline"},
                ),
                tsv_json=f"{R}/{{esub}}_desc-events_scores.json",
            log:
                design=f"{LOGS}/encoding/{{esub}}_task_design.log",
                ridge=f"{LOGS}/encoding/{{esub}}_task_ridge.log",
            params:
                conditions=fixed_params(lambda w: list(ENC_PLAN.group_of[w.esub].conditions)),
                entities=fixed_params(lambda w: ENC_PLAN.subjects[w.esub].entities),
                confounds=ENC_TASK["confounds"],
                high_pass=ENC_TASK["high_pass"],
                responses=ENC_TASK["responses"],
                simulated=config["fmri"]["simulated"],  # the user's word on the BOLD data
                experiment="task",
                lags_s=ENC_TASK["lags_s"],
                model=ENC_TASK["model"],
                alphas=ENC_ALPHAS,
                n_folds=ENC_TASK["n_folds"],
                n_inner_folds=ENC_TASK["n_inner_folds"],
                n_iter=ENC_RIDGE["n_iter"],
                permutation=ENC_TASK["permutation"],
                noise_ceiling={"enabled": False},
                device=ENC["device"],
                backend=ENC["backend"],
                n_targets_batch=ENC_RIDGE["n_targets_batch"],
                random_state=ENC["random_state"],
            # no constraint listing the subjects (Snakemake would rescan it for every job):
            # no other rule writes *_desc-events_*; enc_task_runs names an unknown key
            threads: ENC_RIDGE["threads"]
            resources:
                mem_mb=by_attempt(max(4000, ENC_RIDGE["mem_mb"])),
                runtime=by_attempt(20 + ENC_RIDGE["runtime"]),
                gpu=ENC_RIDGE["gpu"],
            conda:
                "../../envs/encoding.yaml"
            script:
                "../scripts/encoding_task_subject.py"

        STAGE_TARGETS += [
            f"{R}/{key}_desc-events_{suffix}"
            for key in ENC_PLAN.subjects
            for suffix in ("scores.tsv", "encoding.png", "encoding.nc")
        ]
