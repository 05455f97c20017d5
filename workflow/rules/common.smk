# Config validation, paths and input functions shared by every stage.
from pathlib import Path

from snakemake.utils import validate

from neuroflow.config import check_config, source_citation_of, source_files
from neuroflow.resources import load_manifest


validate(config, schema="../schemas/config.schema.yaml")
check_config(config, root=Path(workflow.basedir))

MANIFEST = load_manifest(config["resources"]["manifest"])
R = config["results_dir"]
CONN = f"{R}/group/connectome"
FIGS = f"{R}/group/figures"
LOGS = f"{R}/logs"
SOURCES = sorted(config["connectome"]["sources"])


wildcard_constraints:
    source="[A-Za-z0-9]+",


def consensus_sources():
    chosen = config["connectome"].get("consensus", {}).get("sources") or SOURCES
    return sorted(chosen)


def inputs_of_source(wildcards):
    return source_files(config, MANIFEST, wildcards.source)


def all_targets():
    return [
        f"{R}/dataset_description.json",
        f"{CONN}/desc-consensus_connectome.nc",
        f"{R}/group/desc-methods_report.html",
    ] + expand(f"{CONN}/source-{{source}}_desc-homogenized_connectome.nc", source=SOURCES)


def source_citation(source):
    return source_citation_of(config, MANIFEST, source)
