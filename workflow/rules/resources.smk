# Embedded real data: one fetch rule per manifest dataset used by this config.
# Runs on the submit host (needs the package index); compute nodes need no network.
# A file listed by two datasets (one distribution, two stages) is produced by one rule only:
# the first dataset that lists it owns it (neuroflow.resources.file_owners).
from neuroflow.config import used_datasets
from neuroflow.resources import file_owners

for _dataset, _paths in file_owners(MANIFEST, used_datasets(config), config["resources"]["dest"]).items():
    if not _paths:
        continue

    rule:
        name:
            f"fetch_{_dataset}"
        output:
            [str(p) for p in _paths],
        log:
            f"{LOGS}/resources/fetch_{_dataset}.log",
        params:
            manifest=config["resources"]["manifest"],
            dataset=_dataset,
            dest=lambda wc: config["resources"]["dest"],
            cache=config["resources"]["cache"],
        localrule: True
        conda:
            "../../envs/resources.yaml"
        script:
            "../scripts/fetch_resource.py"
