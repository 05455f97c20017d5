"""What the encoding rule file imports: experiment configs, output prefixes, input files.

Cheap (numpy only; no himalaya, torch or xarray), so that ``snakemake -n`` stays fast. Defaults
come from the stage schema (``workflow/schemas/encoding.schema.yaml``) only: Snakemake and
:func:`neuroflow.config.fill_defaults` do not fill the entries of a map such as
``encoding.experiments``, so :func:`experiment_config` fills them here from the schema;
the readers' own defaults are ``encoding.reader_options.<reader>``.
"""

from __future__ import annotations

import copy
import functools

import numpy as np

from neuroflow.config import fill_defaults
from neuroflow.schema_docs import load_schema
from neuroflow.workflow_files import workflow_root

READERS = ("grasshopper", "haxby", "headdirection", "files")


@functools.cache
def _schema() -> dict:
    return load_schema(workflow_root() / "workflow" / "schemas" / "encoding.schema.yaml")


def section_defaults(section: dict) -> dict:
    """A copy of config section ``encoding`` with the schema's defaults filled in."""
    return fill_defaults(copy.deepcopy(dict(section)), _schema())


def reader_defaults(reader: str) -> dict:
    """The schema's default options of one reader (``encoding.reader_options.<reader>``)."""
    props = _schema()["properties"]["reader_options"]["properties"]
    if reader not in props:
        raise ValueError(f"unknown reader {reader!r}; expected one of {READERS}")
    return fill_defaults({}, props[reader])


def alpha_grid(spec: dict) -> list[float]:
    """Candidate regularisation strengths ``logspace(min_log10, max_log10, n)`` from config.

    ``spec`` is the ``encoding.ridge.alphas`` section (keys ``min_log10``, ``max_log10``,
    ``n``); plain floats, so the list can be a Snakemake param and go into JSON sidecars.
    """
    n = int(spec["n"])
    if n < 1 or spec["max_log10"] < spec["min_log10"]:
        raise ValueError(
            f"config key encoding.ridge.alphas: need n >= 1 and max_log10 >= min_log10, got {spec}"
        )
    return [float(a) for a in np.logspace(spec["min_log10"], spec["max_log10"], n)]


def experiment_config(section: dict, experiment: str) -> dict:
    """One experiment of config section ``encoding``, schema defaults and reader options
    filled in; its keys checked (errors name the config key)."""
    section = section_defaults(section)
    experiments = section.get("experiments") or {}
    if experiment not in experiments:
        raise ValueError(
            f"config key encoding.run: unknown experiment {experiment!r}; "
            f"defined under encoding.experiments: {sorted(experiments)}"
        )
    item = _schema()["properties"]["experiments"]["additionalProperties"]
    cfg = fill_defaults(copy.deepcopy(dict(experiments[experiment])), item)
    key = f"encoding.experiments.{experiment}"
    if cfg.get("reader") not in READERS:
        raise ValueError(f"config key {key}.reader: expected one of {READERS}, got {cfg.get('reader')!r}")
    if cfg["reader"] == "headdirection":
        _check_units_experiment(cfg, key)
    elif cfg["recording"]:
        raise ValueError(
            f"config key {key}.recording: only reader headdirection reads an activity recording's units file"
        )
    elif not cfg["dataset"] and not cfg["paths"]:
        raise ValueError(f"config key {key}: give a manifest dataset or input paths")
    defaults = section["reader_options"][cfg["reader"]]
    if unknown := sorted(set(cfg["options"]) - set(defaults)):
        raise ValueError(
            f"config key {key}.options: {unknown} not understood by reader "
            f"{cfg['reader']!r} (accepted: {sorted(defaults)})"
        )
    cfg["options"] = {**defaults, **cfg["options"]}
    return cfg


def _check_units_experiment(cfg: dict, key: str) -> None:
    """A headdirection experiment reads the activity stage's units file of ``recording``."""
    for old in ("dataset", "paths"):
        if cfg[old]:
            raise ValueError(
                f"config key {key}.{old}: moved: reader headdirection reads the activity "
                f"stage's units file now; put the NWB file under activity.spikes.<id> (dataset "
                f"or path) and name it in {key}.recording"
            )
    if "angle_series" in (cfg.get("options") or {}):
        raise ValueError(
            f"config key {key}.options.angle_series: moved: the activity stage "
            "reads the head angle (activity.spikes.<id>.angle_series)"
        )
    if not cfg["recording"]:
        raise ValueError(
            f"config key {key}.recording: not set; reader headdirection needs a "
            "spike recording of the activity stage (an activity.spikes id such as "
            "A2929)"
        )


def experiment_prefix(results_dir: str, experiment: str, cfg: dict) -> str:
    """BIDS-derivatives prefix of an experiment's outputs (append ``_<suffix>.<ext>``)."""
    sub = cfg["subject"]
    return f"{results_dir}/sub-{sub}/{cfg['datatype']}/sub-{sub}_task-{cfg['task']}_desc-{experiment}"


def experiment_inputs(cfg: dict, manifest: dict, dest_root, units_file=None) -> list[str]:
    """Input files of an experiment: its manifest dataset's files, or its own paths; for
    reader headdirection the activity stage's ``units_file`` of its recording."""
    from neuroflow.resources import dataset_paths

    if cfg["reader"] == "headdirection":
        return [str(units_file)]
    if cfg["dataset"]:
        return [str(p) for p in dataset_paths(manifest, cfg["dataset"], dest_root)]
    return [str(p) for p in cfg["paths"]]
