# Stage 'trsa': topological RSA (Lin & Kriegeskorte 2023; issue 8).
# Real data: Haxby 2001 subject 1 (crossnobis RDM, category models) and a head-direction
# population (ring vs line). Simulation: network instances trained from different seeds,
# whose layers are identified across instances per statistic as RDM noise grows.


if is_activated("trsa"):

    from neuroflow.rsa.pipeline import check_trsa_config

    check_trsa_config(config, MANIFEST)
    TRSA = config["trsa"]
    TRSA_GROUP = f"{R}/group/trsa"
    TRSA_HAXBY = TRSA["haxby"]
    TRSA_HAXBY_PREFIX = (f"{R}/sub-{TRSA_HAXBY['subject']}/func/"
                         f"sub-{TRSA_HAXBY['subject']}_task-{TRSA_HAXBY['task']}")
    TRSA_HD = TRSA["headdirection"]
    TRSA_HD_PREFIX = (f"{R}/sub-{TRSA_HD['subject']}/ephys/"
                      f"sub-{TRSA_HD['subject']}_task-{TRSA_HD['epoch']}")
    TRSA_IDENT = TRSA["identification"]
    TRSA_NETWORK_RDMS = f"{TRSA_GROUP}/desc-networks_rdm.nc"
    TRSA_CATEGORY = "Topological RSA"


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
                    labels={"data": "Haxby 2001 fMRI", "item": "model comparison table"},
                ),
                fig=report(
                    f"{TRSA_HAXBY_PREFIX}_desc-models_rsa.png",
                    caption="../report/trsa_models.rst",
                    category=TRSA_CATEGORY,
                    labels={"data": "Haxby 2001 fMRI", "item": "model comparison"},
                ),
                fig_rdms=report(
                    f"{TRSA_HAXBY_PREFIX}_desc-statistics_rdm.png",
                    caption="../report/trsa_rdms.rst",
                    category=TRSA_CATEGORY,
                    labels={"data": "Haxby 2001 fMRI", "item": "RDM statistics"},
                ),
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
                nwb=dataset_paths(MANIFEST, TRSA_HD["dataset"], config["resources"]["dest"])[0],
            output:
                nc=f"{TRSA_HD_PREFIX}_desc-headdirection_rdm.nc",
                tsv=report(
                    f"{TRSA_HD_PREFIX}_desc-ringline_rsa.tsv",
                    caption="../report/trsa_headdirection_table.rst",
                    category=TRSA_CATEGORY,
                    labels={"data": "head direction", "item": "ring vs line table"},
                ),
                fig=report(
                    f"{TRSA_HD_PREFIX}_desc-headdirection_rdm.png",
                    caption="../report/trsa_headdirection.rst",
                    category=TRSA_CATEGORY,
                    labels={"data": "head direction", "item": "tuning curves and RDM"},
                ),
                fig_models=report(
                    f"{TRSA_HD_PREFIX}_desc-ringline_rsa.png",
                    caption="../report/trsa_headdirection_models.rst",
                    category=TRSA_CATEGORY,
                    labels={"data": "head direction", "item": "ring vs line"},
                ),
            log:
                f"{LOGS}/trsa/sub-{TRSA_HD['subject']}_headdirection.log",
            params:
                subject=TRSA_HD["subject"],
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
                    labels={"data": "identification", "item": "noise curves table"},
                ),
                grid=f"{TRSA_GROUP}/desc-grid_identification.tsv",
                families=report(
                    f"{TRSA_GROUP}/desc-families_identification.tsv",
                    caption="../report/trsa_families_table.rst",
                    category=TRSA_CATEGORY,
                    labels={"data": "identification", "item": "families table"},
                ),
                samples=f"{TRSA_GROUP}/desc-familysamples_identification.tsv",
                tests=f"{TRSA_GROUP}/desc-familytests_identification.tsv",
                fig_noise=report(
                    f"{TRSA_GROUP}/desc-noise_identification.png",
                    caption="../report/trsa_noise.rst",
                    category=TRSA_CATEGORY,
                    labels={"data": "identification", "item": "accuracy vs noise"},
                ),
                fig_grid=report(
                    f"{TRSA_GROUP}/desc-grid_identification.png",
                    caption="../report/trsa_grid.rst",
                    category=TRSA_CATEGORY,
                    labels={"data": "identification", "item": "(l, u) grid"},
                ),
                fig_families=report(
                    f"{TRSA_GROUP}/desc-families_identification.png",
                    caption="../report/trsa_families.rst",
                    category=TRSA_CATEGORY,
                    labels={"data": "identification", "item": "families"},
                ),
            log:
                f"{LOGS}/trsa/identification.log",
            params:
                statistics=TRSA["statistics"],
                noise_levels=TRSA_IDENT["noise_levels"],
                n_repeats=TRSA_IDENT["n_repeats"],
                grid_resolution=TRSA_IDENT["grid_resolution"],
                grid_noise_levels=TRSA_IDENT["grid_noise_levels"],
                family_samples=TRSA_IDENT["family_samples"],
                n_boot=TRSA_IDENT["n_boot"],
                family_noise_level=TRSA_IDENT["family_noise_level"],
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


    if TRSA_HAXBY["activate"]:
        STAGE_TARGETS += rules.trsa_haxby_models.output
    if TRSA_HD["activate"]:
        STAGE_TARGETS += rules.trsa_headdirection.output
    if TRSA_IDENT["rdms"] or TRSA["networks"]["activate"]:
        STAGE_TARGETS += rules.trsa_identification.output
