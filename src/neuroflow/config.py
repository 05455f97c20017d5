"""Checks on a workflow config beyond the JSON schema: files exist, ids are known.

The JSON schema (``workflow/schemas/config.schema.yaml``) validates keys and types; these
checks need the file system and the resources manifest. Every error names the config key
and the file.
"""

from __future__ import annotations

from pathlib import Path


class ConfigError(ValueError):
    """A config value that passes the schema but cannot be used."""


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
    manifest = load_manifest(config["resources"]["manifest"])
    conn = config["connectome"]
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
    """Whether a stage's section exists and says ``activate: true`` (connectome: default on)."""
    section = config.get(stage) or {}
    return bool(section.get("activate", stage == "connectome"))


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
