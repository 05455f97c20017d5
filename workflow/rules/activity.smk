# Stage 'activity' (issue 3): neural-activity homogenization and the structure-function link.
# Recordings -> one NetCDF each (canonical labels, common step) -> FC; the Randi et al. 2023
# signal-propagation atlas -> structure-function statistics of every connectome.
# Spike recordings (activity.spikes; NWB files of bids_dir with activity.bids) -> one
# standardized counts file each and, for NWB units, a units file (every spike time, head
# angle, epochs) from the same reading: the one reading of spike data that later stages
# take (bi-clustering: counts; trsa.headdirection and encoding headdirection: units).
from neuroflow.activity.inputs import (
    SUBDIR_PATTERN,
    counts_path,
    recording_of,
    spike_citation,
    spike_recordings,
    trace_recordings,
    units_path,
)
from neuroflow.activity.pipeline import (
    check_activity_config,
    connectome_path,
    recording_citation,
    recording_files,
    recording_source,
)

# The stage's defaults (workflow/schemas/activity.schema.yaml) filled into its section (the
# top-level validation does not fill defaults behind a $ref).
validate(config.setdefault("activity", {}), schema="../schemas/activity.schema.yaml")


if is_activated("activity"):

    ACT = config["activity"]
    ACT_DIR = f"{R}/group/activity"
    RECORDINGS = sorted(ACT["recordings"])
    check_activity_config(config, MANIFEST, Path(workflow.basedir))

    SPIKES = spike_recordings(config, MANIFEST, Path(workflow.basedir))
    TRACES = trace_recordings(config)

    SPIKES_NWB = {k: v for k, v in SPIKES.items() if v["reader"] == "nwb"}
    SPIKES_TABLE = {k: v for k, v in SPIKES.items() if v["reader"] != "nwb"}
    # both counts rules write *_desc-counts_spikes.nc: the larger group is unconstrained and
    # last in the ruleorder (its jobs look stems up among all recordings), the other lists
    # its stems (a list of every stem would be rescanned by Snakemake for every job)
    ACT_WC, ACT_GENERIC = group_constraints(
        {"nwb": SPIKES_NWB, **({"table": SPIKES_TABLE} if SPIKES_TABLE else {})}
    )
    ACT_SPECS = {
        g: SPIKES if g == ACT_GENERIC else recs for g, recs in (("nwb", SPIKES_NWB), ("table", SPIKES_TABLE))
    }

    rule activity_counts:
        input:
            files=fixed_params(lambda wc: recording_of(ACT_SPECS["nwb"], wc.subdir, wc.stem)["files"]),
        output:
            nc=f"{R}/{{subdir}}/ephys/{{stem}}_desc-counts_spikes.nc",
            units=f"{R}/{{subdir}}/ephys/{{stem}}_desc-units_spikes.nc",
        log:
            f"{LOGS}/activity/{{subdir}}/{{stem}}_counts.log",
        params:
            spec=fixed_params(lambda wc: recording_of(ACT_SPECS["nwb"], wc.subdir, wc.stem)),
            citation=fixed_params(lambda wc: spike_citation(MANIFEST, ACT_SPECS["nwb"][wc.stem])),
        wildcard_constraints:
            subdir=SUBDIR_PATTERN,
            stem=ACT_WC["nwb"],
        threads: 1
        resources:
            mem_mb=by_attempt(1000),
            runtime=by_attempt(10),
        conda:
            "../../envs/activity.yaml"
        script:
            "../scripts/activity_counts.py"

    if SPIKES_TABLE:

        rule activity_counts_table:
            input:
                files=fixed_params(lambda wc: recording_of(ACT_SPECS["table"], wc.subdir, wc.stem)["files"]),
            output:
                nc=f"{R}/{{subdir}}/ephys/{{stem}}_desc-counts_spikes.nc",
            log:
                f"{LOGS}/activity/{{subdir}}/{{stem}}_counts.log",
            params:
                spec=fixed_params(lambda wc: recording_of(ACT_SPECS["table"], wc.subdir, wc.stem)),
                citation=fixed_params(lambda wc: spike_citation(MANIFEST, ACT_SPECS["table"][wc.stem])),
            wildcard_constraints:
                subdir=SUBDIR_PATTERN,
                stem=ACT_WC["table"],
            threads: 1
            resources:
                mem_mb=by_attempt(1000),
                runtime=by_attempt(10),
            conda:
                "../../envs/activity.yaml"
            script:
                "../scripts/activity_counts.py"

        if ACT_GENERIC == "nwb":

            ruleorder: activity_counts_table > activity_counts

        else:

            ruleorder: activity_counts > activity_counts_table

    STAGE_TARGETS.extend(counts_path(R, spec) for spec in SPIKES.values())
    STAGE_TARGETS.extend(units_path(R, spec) for spec in SPIKES_NWB.values())
    if TRACES:

        rule activity_traces:
            input:
                files=fixed_params(lambda wc: [recording_of(TRACES, wc.subdir, wc.stem)["path"]]),
            output:
                nc=f"{R}/{{subdir}}/ophys/{{stem}}_desc-traces_activity.nc",
            log:
                f"{LOGS}/activity/{{subdir}}/{{stem}}_traces.log",
            params:
                spec=fixed_params(lambda wc: recording_of(TRACES, wc.subdir, wc.stem)),
                series=ACT["bids"]["series"],
                only_cells=ACT["bids"]["only_cells"],
                simulated=ACT["bids"]["simulated"],
            wildcard_constraints:
                subdir=SUBDIR_PATTERN,
                stem=r"[^/]+",  # only this rule writes *_desc-traces_activity.nc
            threads: 1
            resources:
                mem_mb=by_attempt(2000),
                runtime=by_attempt(10),
            conda:
                "../../envs/activity.yaml"
            script:
                "../scripts/activity_traces.py"

        STAGE_TARGETS.extend(
            f"{R}/{t['subdir']}/ophys/{t['stem']}_desc-traces_activity.nc" for t in TRACES.values()
        )

    rule activity_homogenize:
        input:
            files=lambda wc: recording_files(config, MANIFEST, wc.recording),
            cell_table=config["connectome"]["cell_table"],
            aliases=config["connectome"]["aliases"],
        output:
            nc=f"{R}/sub-{{recording}}/ophys/sub-{{recording}}_desc-homogenized_activity.nc",
            fig=report(
                f"{R}/sub-{{recording}}/figures/sub-{{recording}}_desc-resampling_activity.png",
                caption="../report/activity_recording.rst",
                category=REPORT_CATEGORY["activity"],
                subcategory="1 recordings",
                labels={"recording": "{recording}", "figure": "resampling and activity"},
            ),
        log:
            f"{LOGS}/activity/sub-{{recording}}_homogenize.log",
        params:
            recording=lambda wc: ACT["recordings"][wc.recording],
            source=lambda wc: recording_source(config, wc.recording),
            citation=lambda wc: recording_citation(config, MANIFEST, wc.recording),
            exclude=config["connectome"]["exclude_neurons"],
            homogenize={
                "step_s": ACT["step_s"],
                "max_gap_s": ACT["max_gap_s"],
                "jitter_tolerance": ACT["jitter_tolerance"],
                "interpolation": ACT["interpolation"],
                "kaiser_beta": ACT["kaiser_beta"],
                "max_nan_run_fraction": ACT["max_nan_run_fraction"],
                "min_samples": ACT["min_samples"],
                "require_labelled": ACT["require_labelled"],
                "smoothing": ACT["smoothing"],
                "normalization": ACT["normalization"],
                "ambiguous": ACT["labels"]["ambiguous"],
                "slots": ACT["labels"]["slots"],
                "random_state": ACT["labels"]["random_state"],
            },
        wildcard_constraints:
            recording="[A-Za-z0-9]+",
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(10),
        conda:
            "../../envs/activity.yaml"
        script:
            "../scripts/activity_homogenize.py"

    rule activity_fc:
        input:
            nc=f"{R}/sub-{{recording}}/ophys/sub-{{recording}}_desc-homogenized_activity.nc",
        output:
            nc=f"{R}/sub-{{recording}}/ophys/sub-{{recording}}_desc-fc_connectivity.nc",
        log:
            f"{LOGS}/activity/sub-{{recording}}_fc.log",
        params:
            kind=ACT["fc"]["kind"],
            min_overlap=ACT["fc"]["min_overlap"],
        wildcard_constraints:
            recording="[A-Za-z0-9]+",
        threads: 1
        resources:
            mem_mb=by_attempt(1000),
            runtime=by_attempt(5),
        conda:
            "../../envs/activity.yaml"
        script:
            "../scripts/activity_fc.py"

    rule activity_index:
        input:
            ncs=expand(
                f"{R}/sub-{{recording}}/ophys/sub-{{recording}}_desc-homogenized_activity.nc",
                recording=RECORDINGS,
            ),
            fcs=expand(
                f"{R}/sub-{{recording}}/ophys/sub-{{recording}}_desc-fc_connectivity.nc",
                recording=RECORDINGS,
            ),
        output:
            tsv=report(
                f"{ACT_DIR}/desc-recordings_index.tsv",
                caption="../report/activity_index.rst",
                category=REPORT_CATEGORY["activity"],
                subcategory="2 dataset index and FC",
                labels={"table": "dataset index"},
            ),
            fig_fc=report(
                f"{FIGS}/desc-recordings_fc.png",
                caption="../report/activity_fc.rst",
                category=REPORT_CATEGORY["activity"],
                subcategory="2 dataset index and FC",
                labels={"figure": "functional connectivity"},
            ),
            tsv_json=f"{ACT_DIR}/desc-recordings_index.json",
        log:
            f"{LOGS}/activity/index.log",
        params:
            recordings=RECORDINGS,
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(5),
        conda:
            "../../envs/activity.yaml"
        script:
            "../scripts/activity_index.py"

    if RECORDINGS:
        STAGE_TARGETS.append(f"{ACT_DIR}/desc-recordings_index.tsv")
    if ACT["funatlas"]["activate"]:
        # (a target line after the rule would be nested into the next block by snakefmt)
        STAGE_TARGETS.append(f"{ACT_DIR}/desc-randi2023_funatlas.nc")

        rule activity_funatlas:
            input:
                h5=dataset_paths(MANIFEST, ACT["funatlas"]["dataset"], config["resources"]["dest"])[0],
                cell_table=config["connectome"]["cell_table"],
                aliases=config["connectome"]["aliases"],
            output:
                nc=f"{ACT_DIR}/desc-randi2023_funatlas.nc",
            log:
                f"{LOGS}/activity/funatlas.log",
            params:
                strains=ACT["funatlas"]["strains"],
                exclude=config["connectome"]["exclude_neurons"],
                citation=citation_text(MANIFEST, ACT["funatlas"]["dataset"]),
            threads: 1
            resources:
                mem_mb=by_attempt(1000),
                runtime=by_attempt(5),
            conda:
                "../../envs/activity.yaml"
            script:
                "../scripts/activity_funatlas.py"

    # Structure-function needs the connectome stage's outputs.
    SF = ACT["structure_function"]
    if SF["activate"] and ACT["funatlas"]["activate"] and is_activated("connectome"):
        _SF_ALL = [*SOURCES, "consensus"]
        SF_CONNECTOMES = sorted(set(SF["sources"] or _SF_ALL) & set(_SF_ALL))

        rule activity_structure_function:
            input:
                atlas=f"{ACT_DIR}/desc-randi2023_funatlas.nc",
                connectomes=[connectome_path(CONN, c) for c in SF_CONNECTOMES],
                fcs=expand(
                    f"{R}/sub-{{recording}}/ophys/sub-{{recording}}_desc-fc_connectivity.nc",
                    recording=RECORDINGS,
                ),
                consensus=f"{CONN}/desc-consensus_connectome.nc",
            output:
                stats=report(
                    f"{ACT_DIR}/desc-structurefunction_stats.tsv",
                    caption="../report/activity_structurefunction_table.rst",
                    category=REPORT_CATEGORY["activity"],
                    subcategory="3 structure and function",
                    labels={"table": "AUROC and rank correlation"},
                ),
                hops=f"{ACT_DIR}/desc-structurefunction_hops.tsv",
                fc=f"{ACT_DIR}/desc-fcanatomy_stats.tsv",
                fig_auroc=report(
                    f"{FIGS}/desc-structurefunction_auroc.png",
                    caption="../report/activity_structurefunction_auroc.rst",
                    category=REPORT_CATEGORY["activity"],
                    subcategory="3 structure and function",
                    labels={"figure": "AUROC per connectome"},
                ),
                fig_hops=report(
                    f"{FIGS}/desc-structurefunction_hops.png",
                    caption="../report/activity_structurefunction_hops.rst",
                    category=REPORT_CATEGORY["activity"],
                    subcategory="3 structure and function",
                    labels={"figure": "response vs path length"},
                ),
                stats_json=f"{ACT_DIR}/desc-structurefunction_stats.json",
                hops_json=f"{ACT_DIR}/desc-structurefunction_hops.json",
                fc_json=f"{ACT_DIR}/desc-fcanatomy_stats.json",
            log:
                f"{LOGS}/activity/structurefunction.log",
            params:
                connectomes=SF_CONNECTOMES,
                alpha=SF["alpha"],
                negatives=SF["negatives"],
                max_hops=SF["max_hops"],
                n_bootstrap=SF["n_bootstrap"],
                ci=SF["ci"],
                min_support=SF["min_support"],
                random_state=SF["random_state"],
            threads: 2
            resources:
                mem_mb=by_attempt(3000),
                runtime=by_attempt(15),
            conda:
                "../../envs/activity.yaml"
            script:
                "../scripts/activity_structure_function.py"

        STAGE_TARGETS.append(f"{ACT_DIR}/desc-structurefunction_stats.tsv")
