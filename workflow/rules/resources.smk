# Embedded real data: one fetch rule per manifest dataset used by this config.
# Runs on the submit host (needs the package index); compute nodes need no network.
from neuroflow.config import used_datasets
from neuroflow.resources import dataset_paths


for _dataset in used_datasets(config):

    rule:
        name:
            f"fetch_{_dataset}"
        output:
            [str(p) for p in dataset_paths(MANIFEST, _dataset, config["resources"]["dest"])],
        log:
            f"{LOGS}/resources/fetch_{_dataset}.log",
        params:
            manifest=config["resources"]["manifest"],
            dataset=_dataset,
            cache=config["resources"].get("cache", ""),
        localrule: True
        conda:
            "../../envs/resources.yaml"
        script:
            "../scripts/fetch_resource.py"
