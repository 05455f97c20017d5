# Provenance, the methods text (HTML, CITATION.md, CITATION.bib) and the report's tables.


include: "report_inputs.smk"


rule dataset_description:
    output:
        f"{R}/dataset_description.json",
        bidsignore=f"{R}/.bidsignore",
    log:
        f"{LOGS}/report/dataset_description.log",
    params:
        bids_dir=config["bids_dir"],
        derivatives=config["derivatives"],
        # rewritten when the commit or the dirty flag changes
        code_version=code_version()["label"],
    localrule: True
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/dataset_description.py"


rule methods_report:
    input:
        manifest=config["resources"]["manifest"],
        stage_outputs=all_stage_outputs,
        tables=table_pages,
    output:
        html=report(
            f"{R}/group/desc-methods_report.html",
            caption="../report/methods.rst",
            category=REPORT_CATEGORY["methods"],
            labels={"section": "methods and citations"},
        ),
        markdown=f"{R}/group/CITATION.md",
        bibtex=f"{R}/group/CITATION.bib",
    log:
        f"{LOGS}/report/methods.log",
    params:
        config=config,
    localrule: True
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/methods_report.py"


rule report_tables:
    input:
        reported_tsvs,
    output:
        report(
            directory(f"{R}/{TABLE_PAGES}"),
            patterns=["{table}.html"],
            caption="../report/table.rst",
            category=lambda wc: _table_setting(wc, "category"),
            subcategory=lambda wc: _table_setting(wc, "subcategory"),
            labels=lambda wc: _table_setting(wc, "labels"),
        ),
    log:
        f"{LOGS}/report/tables.log",
    params:
        captions=_table_captions,
    localrule: True
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/report_tables.py"
