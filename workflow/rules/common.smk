# Config validation, paths and input functions shared by every stage.
import os
from pathlib import Path

from snakemake.utils import validate

from snakemake.common.configfile import load_configfile

from neuroflow.bids import check_bids_config
from neuroflow.codestamp import code_version, stamp_rules
from neuroflow.eeg.inputs import check_eeg_inputs
from neuroflow.config import (
    active_sources,
    at_level,
    by_attempt,
    check_config,
    check_keys,
    fill_defaults,
    fixed_params,
    group_constraints,
    keys_regex,
    is_activated as _is_activated,
    replace_input_maps,
    source_citation_of,
    source_expected_rows,
    source_files,
    used_datasets,
)
from neuroflow.participants import check_participant_sheets
from neuroflow.report.categories import REPORT_CATEGORY  # report categories, pipeline order
from neuroflow.schema_docs import load_schema
from neuroflow.workflow_files import pip_spec
from neuroflow.resources import (
    ChecksumError,
    check_materialized,
    citation_text,
    dataset_paths,
    load_manifest,
)

# A cohort file's maps of inputs replace the defaults' (Snakemake would merge them).
replace_input_maps(
    config,
    [*(load_configfile(f) for f in workflow.overwrite_configfiles), dict(workflow.config_settings.config)],
)
# unknown keys (with a did-you-mean) and bad values in one line each; validate's own
# error prints the whole schema
check_keys(config, load_schema(Path(workflow.current_basedir) / "../schemas/config.schema.yaml"))
validate(config, schema="../schemas/config.schema.yaml")
# snakemake's validate does not fill the defaults of a stage schema behind a $ref.
for _stage in ("activity", "fmri", "eeg", "fc", "bicluster", "trsa"):
    if isinstance(config.get(_stage), dict):
        validate(config[_stage], schema=f"../schemas/{_stage}.schema.yaml")
# encoding: not inside maps (its per-reader `options` schema lists every reader's options;
# the encoding code holds the per-reader defaults)
if isinstance(config.get("encoding"), dict):
    fill_defaults(
        config["encoding"], load_schema(Path(workflow.current_basedir) / "../schemas/encoding.schema.yaml")
    )
check_config(config, root=Path(workflow.basedir))
# BIDS inputs (bids_dir, derivatives, participant_label, ...) before any job
BIDS = check_bids_config(config)
check_eeg_inputs(config)  # every selected participant has EEG; channels.tsv usable
# participants sheets (and the fMRI run sheet's sub/ses) against the common row schema
check_participant_sheets(
    config, schema=Path(workflow.current_basedir) / "../schemas/participants.schema.yaml"
)

# what the conda envs' post-deploy scripts install as neuroflow (envs/*.post-deploy.sh)
os.environ.setdefault("NEUROFLOW_PIP_SPEC", pip_spec())

MANIFEST = load_manifest(config["resources"]["manifest"])
# extracted data files changed after download stop the run before any job (fast path:
# size + mtime stamps; sha256 again when they changed)
_changed = check_materialized(MANIFEST, used_datasets(config), config["resources"]["dest"])
if _changed:
    raise ChecksumError("\n".join(_changed))
R = config["results_dir"]
CONN = f"{R}/group/connectome"
FIGS = f"{R}/group/figures"
LOGS = f"{R}/logs"
SOURCES = active_sources(config)


wildcard_constraints:
    source="[A-Za-z0-9]+",


# Each stage file appends the final outputs it wants built by `rule all`.
STAGE_TARGETS = []


def is_activated(stage):
    return _is_activated(config, stage)


def consensus_sources():
    chosen = config["connectome"]["consensus"]["sources"] or SOURCES
    return sorted(set(chosen) & set(SOURCES))


def inputs_of_source(wildcards):
    return source_files(config, MANIFEST, wildcards.source)


def all_stage_outputs(wildcards=None):
    """Every activated stage's final outputs (the methods page is written after them)."""
    outputs = list(STAGE_TARGETS)
    if is_activated("connectome"):
        outputs.append(f"{CONN}/desc-sources_summary.tsv")
    return outputs


def all_targets():
    """The targets of the all rule: every stage's outputs, or only the per-subject ones at the BIDS-app
    ``participant`` level (``analysis_level``)."""
    targets = [f"{R}/dataset_description.json", f"{R}/group/desc-methods_report.html"]
    if is_activated("connectome"):
        targets.append(f"{CONN}/desc-consensus_connectome.nc")
        targets += expand(f"{CONN}/source-{{source}}_desc-homogenized_connectome.nc", source=SOURCES)
    return at_level(targets + STAGE_TARGETS, config["analysis_level"], R)


def source_citation(source):
    return source_citation_of(config, MANIFEST, source)
