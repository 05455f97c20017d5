# Connectome homogenization (Simeon et al. 2024): per-source graphs and their consensus.


if is_activated("connectome"):

    rule homogenize_connectome:
        input:
            tables=inputs_of_source,
            cell_table=config["connectome"]["cell_table"],
            aliases=config["connectome"]["aliases"],
        output:
            nc=f"{CONN}/source-{{source}}_desc-homogenized_connectome.nc",
            unmapped=f"{CONN}/source-{{source}}_desc-unmapped_labels.tsv",
            sidecar=f"{CONN}/source-{{source}}_desc-unmapped_labels.json",
        log:
            f"{LOGS}/connectome/source-{{source}}_homogenize.log",
        params:
            source=lambda wc: config["connectome"]["sources"][wc.source],
            citation=lambda wc: source_citation(wc.source),
            exclude=config["connectome"]["exclude_neurons"],
            gap_reduce=config["connectome"]["gap_junction_reduce"],
            expected_rows=lambda wc: source_expected_rows(config, MANIFEST, wc.source),
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(10),
        conda:
            "../../envs/connectome.yaml"
        script:
            "../scripts/homogenize_connectome.py"

    rule consensus_connectome:
        input:
            sources=expand(
                f"{CONN}/source-{{source}}_desc-homogenized_connectome.nc",
                source=consensus_sources(),
            ),
            cell_table=config["connectome"]["cell_table"],
        output:
            nc=f"{CONN}/desc-consensus_connectome.nc",
            edges=f"{CONN}/desc-consensus_edges.tsv",
            summary=report(
                f"{CONN}/desc-sources_summary.tsv",
                caption="../report/sources_summary.rst",
                category=REPORT_CATEGORY["connectome"],
                subcategory="1 sources",
                labels={"output": "per-source counts (table)"},
            ),
            jaccard=report(
                f"{CONN}/desc-jaccard_comparison.tsv",
                caption="../report/jaccard_table.rst",
                category=REPORT_CATEGORY["connectome"],
                subcategory="2 agreement between sources",
                labels={"output": "edge overlap (table)"},
            ),
            degree=f"{CONN}/desc-degree_comparison.tsv",
            fig_consensus=report(
                f"{FIGS}/desc-consensus_connectome.png",
                caption="../report/consensus.rst",
                category=REPORT_CATEGORY["connectome"],
                subcategory="3 consensus",
                labels={"output": "consensus support (figure)"},
            ),
            fig_agreement=report(
                f"{FIGS}/desc-agreement_connectome.png",
                caption="../report/agreement.rst",
                category=REPORT_CATEGORY["connectome"],
                subcategory="2 agreement between sources",
                labels={"output": "source agreement (figure)"},
            ),
            edges_json=f"{CONN}/desc-consensus_edges.json",
            summary_json=f"{CONN}/desc-sources_summary.json",
            jaccard_json=f"{CONN}/desc-jaccard_comparison.json",
            degree_json=f"{CONN}/desc-degree_comparison.json",
        log:
            f"{LOGS}/connectome/consensus.log",
        params:
            series={s: config["connectome"]["sources"][s].get("series", s) for s in SOURCES},
            normalization=config["connectome"]["consensus"]["normalization"],
        threads: 1
        resources:
            mem_mb=by_attempt(4000),
            runtime=by_attempt(10),
        conda:
            "../../envs/connectome.yaml"
        script:
            "../scripts/consensus_connectome.py"
