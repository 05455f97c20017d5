# Stage 'fc': functional-connectivity benchmark and ranking-preserving core-set selection
# (issue 6; Zhan et al. 2026, SCLCS). Per benchmark (fc.benchmarks.<id>):
#
# samples (windows) -> operators (one job per family; the FC cache)
#                   -> benchmark (full-set scores and ranks = ground truth)
#                   -> sclcs (structure learner, SPS; a GPU rule on clusters)
#                   -> select (every selector x core-set size x seed)
#                   -> evaluate (fc.protocol heldout: models trained on each core-set, scored on a
#                      fixed subject-disjoint held-out set; rankings vs the ground truth: nDCG@k
#                      linear/binary, top-k overlap, Kendall tau, null, ceiling, claim table)


if is_activated("fc"):

    from neuroflow.fc.workflow import (
        active_benchmarks,
        benchmark_inputs,
        benchmark_spec,
        check_protocol_subjects,
        operator_families,
        uses_sps,
    )

    FC = config["fc"]
    FC_DIR = f"{R}/group/fc/bench-{{bench}}"
    FC_STEM = f"{FC_DIR}/bench-{{bench}}"
    FC_PARAMS = FC["operator_params"]
    FC_OPERATORS, FC_FAMILIES = operator_families(FC)
    FC_BENCHES = active_benchmarks(FC)
    for _bench in FC_BENCHES:  # a source fmri/eeg without its stage stops here, before any job
        benchmark_inputs(config, MANIFEST, R, _bench)
        _source = FC["benchmarks"][_bench].get("source")
        if _source == "fmri":  # subjects known at parse time: check the protocol can split them
            check_protocol_subjects(config, _bench, FMRI_SUBJECTS)
        elif _source == "eeg":
            check_protocol_subjects(config, _bench, [r["sub"] for r in EEG_RECS.values()])
    FC_SCLCS = FC["sclcs"]
    FC_SPLIT = {"protocol": FC["protocol"], "heldout": FC["heldout"]}
    FC_USES_SPS = uses_sps(FC)
    FC_FAMILY_FILES = f"{FC_STEM}_family-{{family}}_desc-fc_connectivity.nc"
    FC_WC = {"bench": "[A-Za-z0-9]+", "family": "|".join(FC_FAMILIES)}

    include: "fc_inputs.smk"

    rule fc_samples:
        input:
            lambda wc: [p for ps in fc_files(wc.bench).values() for p in ps],
        output:
            nc=f"{FC_STEM}_desc-windows_timeseries.nc",
            tsv=f"{FC_STEM}_desc-windows_samples.tsv",
            json=f"{FC_STEM}_desc-windows_samples.json",
            subjects=f"{FC_STEM}_desc-subjects_participants.tsv",
            subjects_json=f"{FC_STEM}_desc-subjects_participants.json",
        log:
            f"{LOGS}/fc/bench-{{bench}}_samples.log",
        wildcard_constraints:
            **FC_WC,
        params:
            bench=lambda wc: benchmark_spec(config, R, wc.bench),
            files=lambda wc: fc_files(wc.bench),
            window_length=fc_bench_setting("window_length", FC["window_length"]),
            window_stride=fc_bench_setting("window_stride", FC["window_stride"]),
            # EEG channels are chosen by fc.benchmarks.<id>.eeg.channels
            regions=lambda wc: ("all" if FC["benchmarks"][wc.bench].get("source") == "eeg" else FC["regions"]),
            clean=FC["clean"],
        threads: 1
        resources:
            mem_mb=by_attempt(4000),
            runtime=by_attempt(30),
        conda:
            "../../envs/fc.yaml"
        script:
            "../scripts/fc_samples.py"

    rule fc_operators:
        input:
            samples=f"{FC_STEM}_desc-windows_timeseries.nc",
        output:
            nc=f"{FC_STEM}_family-{{family}}_desc-fc_connectivity.nc",
        log:
            f"{LOGS}/fc/bench-{{bench}}_family-{{family}}_operators.log",
        wildcard_constraints:
            **FC_WC,
        params:
            operators=FC_OPERATORS,
            operator_params=FC_PARAMS,
        threads: 1
        resources:
            mem_mb=by_attempt(8000),
            runtime=by_attempt(120),
        conda:
            "../../envs/fc.yaml"
        script:
            "../scripts/fc_operators.py"

    rule fc_benchmark:
        input:
            samples=f"{FC_STEM}_desc-windows_timeseries.nc",
            fc=lambda wc: expand(FC_FAMILY_FILES, bench=wc.bench, family=FC_FAMILIES),
        output:
            tsv=report(
                f"{FC_STEM}_desc-scores_benchmark.tsv",
                caption="../report/fc_scores_table.rst",
                category=REPORT_CATEGORY["fc"],
                subcategory="{bench}",
                labels={"benchmark": "{bench}", "output": "operator scores (table)"},
            ),
            json=f"{FC_STEM}_desc-scores_benchmark.json",
            png=report(
                f"{FC_STEM}_desc-scores_benchmark.png",
                caption="../report/fc_scores.rst",
                category=REPORT_CATEGORY["fc"],
                subcategory="{bench}",
                labels={"benchmark": "{bench}", "output": "operator scores (figure)"},
            ),
        log:
            f"{LOGS}/fc/bench-{{bench}}_benchmark.log",
        wildcard_constraints:
            **FC_WC,
        params:
            tasks=FC["tasks"],
            label_task=FC["label_task"],
        threads: 1
        resources:
            mem_mb=by_attempt(8000),
            runtime=by_attempt(60),
        conda:
            "../../envs/fc.yaml"
        script:
            "../scripts/fc_benchmark.py"

    rule fc_sclcs:
        input:
            samples=f"{FC_STEM}_desc-windows_timeseries.nc",
        output:
            nc=f"{FC_STEM}_desc-sps_coreset.nc",
            png=report(
                f"{FC_STEM}_desc-sps_coreset.png",
                caption="../report/fc_sps.rst",
                category=REPORT_CATEGORY["fc"],
                subcategory="{bench}",
                labels={"benchmark": "{bench}", "output": "SCLCS training (figure)"},
            ),
        log:
            f"{LOGS}/fc/bench-{{bench}}_sclcs.log",
        wildcard_constraints:
            **FC_WC,
        params:
            sclcs=FC_SCLCS,
            split=FC_SPLIT,
        threads: FC_SCLCS["threads"]
        resources:
            mem_mb=by_attempt(8000),
            runtime=by_attempt(240),
            gpu=FC_SCLCS["gpu"],
        conda:
            "../../envs/fc.yaml"
        script:
            "../scripts/fc_sclcs.py"

    rule fc_select:
        input:
            samples=f"{FC_STEM}_desc-windows_timeseries.nc",
            sps=f"{FC_STEM}_desc-sps_coreset.nc" if FC_USES_SPS else [],
        output:
            nc=f"{FC_STEM}_desc-selections_coreset.nc",
            tsv=f"{FC_STEM}_desc-selections_coreset.tsv",
            json=f"{FC_STEM}_desc-selections_coreset.json",
        log:
            f"{LOGS}/fc/bench-{{bench}}_select.log",
        wildcard_constraints:
            **FC_WC,
        params:
            selectors=FC["selectors"],
            fractions=FC["fractions"],
            seeds=FC["seeds"],
            el2n=FC["el2n"],
            sclcs=FC_SCLCS,
            split=FC_SPLIT,
        threads: 1
        resources:
            mem_mb=by_attempt(4000),
            runtime=by_attempt(60),
        conda:
            "../../envs/fc.yaml"
        script:
            "../scripts/fc_select.py"

    rule fc_evaluate:
        input:
            samples=f"{FC_STEM}_desc-windows_timeseries.nc",
            fc=lambda wc: expand(FC_FAMILY_FILES, bench=wc.bench, family=FC_FAMILIES),
            scores=f"{FC_STEM}_desc-scores_benchmark.tsv",
            selections=f"{FC_STEM}_desc-selections_coreset.nc",
        output:
            tsv=f"{FC_STEM}_desc-agreement_coreset.tsv",
            json=f"{FC_STEM}_desc-agreement_coreset.json",
            truth=f"{FC_STEM}_desc-truth_coreset.tsv",
            truth_json=f"{FC_STEM}_desc-truth_coreset.json",
            summary=report(
                f"{FC_STEM}_desc-agreementsummary_coreset.tsv",
                caption="../report/fc_agreement_table.rst",
                category=REPORT_CATEGORY["fc"],
                subcategory="{bench}",
                labels={"benchmark": "{bench}", "output": "ranking agreement (table)"},
            ),
            summary_json=f"{FC_STEM}_desc-agreementsummary_coreset.json",
            claim=report(
                f"{FC_STEM}_desc-claim_coreset.tsv",
                caption="../report/fc_claim.rst",
                category=REPORT_CATEGORY["fc"],
                subcategory="{bench}",
                labels={"benchmark": "{bench}", "output": "claim test (table)"},
            ),
            claim_json=f"{FC_STEM}_desc-claim_coreset.json",
            png=report(
                f"{FC_STEM}_desc-agreement_coreset.png",
                caption="../report/fc_agreement.rst",
                category=REPORT_CATEGORY["fc"],
                subcategory="{bench}",
                labels={"benchmark": "{bench}", "output": "ranking agreement (figure)"},
            ),
        log:
            f"{LOGS}/fc/bench-{{bench}}_evaluate.log",
        wildcard_constraints:
            **FC_WC,
        params:
            fc={
                k: FC[k]
                for k in ("protocol", "heldout", "tasks", "label_task", "ndcg_k", "claim_fraction", "claim")
            },
        threads: 1
        resources:
            mem_mb=by_attempt(8000),
            runtime=by_attempt(120),
        conda:
            "../../envs/fc.yaml"
        script:
            "../scripts/fc_evaluate.py"

    STAGE_TARGETS += expand(
        [
            f"{FC_STEM}_desc-scores_benchmark.tsv",
            f"{FC_STEM}_desc-agreementsummary_coreset.tsv",
            f"{FC_STEM}_desc-claim_coreset.tsv",
            f"{FC_STEM}_desc-agreement_coreset.png",
        ]
        + ([f"{FC_STEM}_desc-sps_coreset.png"] if FC_USES_SPS else []),
        bench=FC_BENCHES,
    )
