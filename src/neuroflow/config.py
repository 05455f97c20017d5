"""Checks on a workflow config beyond the JSON schema: files exist, ids are known.

The JSON schema (``workflow/schemas/config.schema.yaml``) validates keys and types; these
checks need the file system and the resources manifest. Every error names the config key
and the file.
"""

from __future__ import annotations

import copy
from pathlib import Path


class ConfigError(ValueError):
    """A config value that passes the schema but cannot be used."""


#: Maps of inputs that a cohort file REPLACES instead of merging into (key paths).
INPUT_MAPS = (
    ("connectome", "sources"),
    ("activity", "recordings"),
    ("activity", "spikes"),
    ("bicluster", "recordings"),
    ("fc", "benchmarks"),
    ("encoding", "experiments"),
    ("eeg", "subjects"),
)


def _get(node, path):
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


_MISSING = object()


def merge(base: dict, overlay: dict) -> dict:
    """Snakemake's recursive config update (``update_config``), in place, returning ``base``."""
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def replace_input_maps(config: dict, overlays) -> dict:
    """Make every map of :data:`INPUT_MAPS` the one of the LAST overlay that sets it.

    Snakemake merges ``--configfile`` files into the workflow's config recursively, so a
    cohort's ``recordings`` would be added to the defaults' instead of replacing them. This
    restores replacement for the maps of inputs, and drops entries set to ``null`` (so that
    ``recordings: {A2929: null}`` removes one). ``overlays`` are the cohort files' contents
    (then ``--config`` values) in command-line order. Changes ``config`` in place.
    """
    for path in INPUT_MAPS:
        value = _MISSING
        for overlay in overlays:
            found = _get(overlay, path)
            if found is not _MISSING:
                value = found
        section = _get(config, path[:-1])
        if not isinstance(section, dict):
            continue
        if value is not _MISSING:
            section[path[-1]] = copy.deepcopy(value) if value is not None else {}
        current = section.get(path[-1])
        if isinstance(current, dict):
            section[path[-1]] = {k: v for k, v in current.items() if v is not None}
    return config


def fill_defaults(node: dict, schema: dict) -> dict:
    """Fill the ``default`` of every absent key of ``schema``'s ``properties`` into
    ``node``, recursing into nested objects but not into maps (``additionalProperties``)
    -- so per-entry option schemas that list every reader's options are left alone."""
    for key, sub in (schema.get("properties") or {}).items():
        if key not in node and "default" in sub:
            node[key] = copy.deepcopy(sub["default"])
        if isinstance(node.get(key), dict) and sub.get("properties"):
            fill_defaults(node[key], sub)
    return node


def layer(base: dict, *overlays: dict) -> dict:
    """``base`` with ``overlays`` layered over it as ``snakemake --configfile`` does here
    (recursive merge, then :func:`replace_input_maps`). Returns a new dict."""
    out = copy.deepcopy(base)
    for overlay in overlays:
        merge(out, overlay)
    return replace_input_maps(out, overlays)


def _exists(path, key: str, root: Path) -> None:
    p = Path(path)
    if not p.is_absolute() and not p.exists() and (root / p).exists():
        return
    if not p.exists():
        raise ConfigError(f"config key {key}: file not found: {path}")


def check_config(config: dict, root=".") -> None:
    """Raise :class:`ConfigError` naming the key and file for the first unusable value."""
    from neuroflow.resources import load_manifest

    root = Path(root)
    _exists(config["resources"]["manifest"], "resources.manifest", root)
    if not is_activated(config, "connectome"):
        return
    manifest = load_manifest(config["resources"]["manifest"])
    conn = config["connectome"]
    if not conn.get("sources"):
        raise ConfigError("config key connectome.sources: the connectome stage is activated but "
                          "no source is listed (see config/cohorts/demo.yaml)")
    for key in ("cell_table", "aliases"):
        _exists(conn[key], f"connectome.{key}", root)
    for sid, src in conn["sources"].items():
        if "paths" in src:
            for i, path in enumerate(src["paths"]):
                _exists(path, f"connectome.sources.{sid}.paths[{i}]", root)
            continue
        ds = src["dataset"]
        if ds not in manifest["datasets"]:
            raise ConfigError(f"config key connectome.sources.{sid}.dataset: {ds!r} is not in "
                              f"the manifest {config['resources']['manifest']}")
        n = len(manifest["datasets"][ds]["files"])
        bad = [i for i in src.get("files", []) if i >= n]
        if bad:
            raise ConfigError(f"config key connectome.sources.{sid}.files: indices {bad} out of "
                              f"range; dataset {ds!r} has {n} file(s)")
    for key, ids in (("consensus.sources", conn.get("consensus", {}).get("sources", [])),
                     ("exclude_sources", conn.get("exclude_sources", []))):
        unknown = sorted(set(ids) - set(conn["sources"]))
        if unknown:
            raise ConfigError(f"config key connectome.{key}: unknown source id(s) {unknown}")
    if not active_sources(config):
        raise ConfigError("config key connectome.exclude_sources: every source is excluded")


def active_sources(config: dict) -> list[str]:
    """Connectome source ids of this cohort: configured minus ``exclude_sources`` (sorted)."""
    conn = config["connectome"]
    return sorted(set(conn["sources"]) - set(conn.get("exclude_sources", [])))


def is_activated(config: dict, stage: str) -> bool:
    """Whether a stage's section exists and says ``activate: true``."""
    section = config.get(stage) or {}
    return bool(section.get("activate", False))


def at_level(targets, level: str, results_dir) -> list[str]:
    """The targets of a BIDS-app analysis level: ``group`` = all of them, ``participant`` =
    the per-subject outputs (``<results_dir>/sub-*``) and the dataset description."""
    targets = [str(t) for t in targets]
    if level == "group":
        return targets
    root = Path(results_dir)
    keep = []
    for t in targets:
        rel = Path(t).relative_to(root) if Path(t).is_relative_to(root) else Path(t)
        if rel.parts and (rel.parts[0].startswith("sub-") or rel.name == "dataset_description.json"):
            keep.append(t)
    return keep


def by_attempt(base):
    """A Snakemake resource callable: ``base`` on the first try, ``base * attempt`` on each
    retry, so that a job the scheduler killed for memory or time asks for more when
    ``retries`` (profiles/slurm) resubmits it. For ``mem_mb`` and ``runtime``."""
    base = int(base)

    def grown(wildcards, attempt):
        return base * attempt

    return grown


def used_datasets(config: dict) -> list[str]:
    """Manifest datasets read by the activated stages (sorted, unique).

    Any ``dataset: <id>`` or ``datasets: [<id>, ...]`` key anywhere inside an activated
    stage's config section counts.
    """
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "dataset" and isinstance(value, str):
                    found.add(value)
                elif key == "datasets" and isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for stage, section in config.items():
        if isinstance(section, dict) and stage != "resources" and is_activated(config, stage):
            walk(section)
    return sorted(found)


def source_files(config: dict, manifest: dict, source: str) -> list[str]:
    """Input files of one source: its own ``paths`` or the selected manifest files."""
    from neuroflow.resources import dataset_paths

    src = config["connectome"]["sources"][source]
    if "paths" in src:
        return list(src["paths"])
    paths = dataset_paths(manifest, src["dataset"], config["resources"]["dest"])
    idx = src.get("files") or range(len(paths))
    return [str(paths[i]) for i in idx]


def source_citation_of(config: dict, manifest: dict, source: str) -> str:
    """Citation of a source's dataset (or a note for user-supplied files)."""
    src = config["connectome"]["sources"][source]
    if "dataset" in src:
        return " ".join(str(manifest["datasets"][src["dataset"]].get("citation", "")).split())
    return "user-supplied file(s): " + ", ".join(src["paths"])
