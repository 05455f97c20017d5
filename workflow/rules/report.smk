# Provenance and the methods paragraph of the report.


rule dataset_description:
    output:
        f"{R}/dataset_description.json",
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
    output:
        report(
            f"{R}/group/desc-methods_report.html",
            caption="../report/methods.rst",
            category="Methods",
            labels={"section": "methods and citations"},
        ),
    log:
        f"{LOGS}/report/methods.log",
    params:
        config=config,
    localrule: True
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/methods_report.py"
