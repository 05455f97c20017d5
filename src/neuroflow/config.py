"""Checks on a workflow config beyond the JSON schema: files exist, ids are known.

The JSON schema (``workflow/schemas/config.schema.yaml``) validates keys and types; these
checks need the file system and the resources manifest. Every error names the config key
and the file.
"""

from __future__ import annotations

import copy
import difflib
import functools
import inspect
import re
import reprlib
from pathlib import Path


class ConfigError(ValueError):
    """A config value that fails the schema or passes it but cannot be used."""


def _key_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _short(value) -> str:
    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxdict, r.maxlist = 60, 60, 4, 6
    return r.repr(value)


def _unknown_keys(error) -> list[str]:
    """One line per key an ``additionalProperties: false`` error rejects, with a guess."""
    allowed = sorted(error.schema.get("properties") or {})
    patterns = list(error.schema.get("patternProperties") or {})
    lines = []
    for key in error.instance:
        if key in allowed or any(re.search(pat, str(key)) for pat in patterns):
            continue
        guess = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = (
            f"did you mean {_key_path([*error.absolute_path, guess[0]])!r}?"
            if guess
            else f"allowed here: {', '.join(allowed)}"
            if len(allowed) <= 25
            else f"{len(allowed)} keys are allowed here (see config/README.md)"
        )
        lines.append(f"config key {_key_path([*error.absolute_path, key])}: unknown key; {hint}")
    return lines


def check_keys(config: dict, schema: dict) -> None:
    """Check ``config`` against the JSON ``schema`` with one short message per problem.

    Run before ``snakemake.utils.validate``, whose error prints the whole schema. An
    unknown key is named with its dotted path and the closest allowed key at its level
    (``did you mean 'results_dir'?``); otherwise the most relevant violation
    (``jsonschema.exceptions.best_match``) is given on one line: key path, value, what
    is allowed. ``config`` is not changed (defaults are filled into a copy, as snakemake's
    validate fills them, so that a ``required`` key with a default passes as it does there).

    Parameters
    ----------
    config : dict
        The merged config (config/config.yaml, --configfile files, --config values).
    schema : dict
        ``workflow/schemas/config.schema.yaml`` with its stage schemas inlined
        (:func:`neuroflow.schema_docs.load_schema`).

    Raises
    ------
    ConfigError
        Naming every unknown key, or else the first invalid value.
    """
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import best_match

    properties = Draft202012Validator.VALIDATORS["properties"]

    def fill_then_check(validator, props, instance, sub):
        if isinstance(instance, dict):
            for key, prop in props.items():
                if isinstance(prop, dict) and "default" in prop:
                    instance.setdefault(key, copy.deepcopy(prop["default"]))
        yield from properties(validator, props, instance, sub)

    filling = validators.extend(Draft202012Validator, {"properties": fill_then_check})
    errors = list(filling(schema).iter_errors(copy.deepcopy(config)))
    if not errors:
        return
    unknown = [
        line
        for e in errors
        if e.validator == "additionalProperties" and isinstance(e.instance, dict)
        for line in _unknown_keys(e)
    ]
    if unknown:
        raise ConfigError("\n".join(dict.fromkeys(unknown)))
    error = best_match(errors)
    message = error.message.replace(repr(error.instance), _short(error.instance))
    raise ConfigError(f"config key {_key_path(error.absolute_path)}: {message}")


@functools.cache
def _strict_loader():
    """``yaml.SafeLoader`` that refuses a duplicate key (YAML keeps the last, silently)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue  # `<<: *anchor` merges may be overridden, as YAML means them to be
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        f"in the mapping starting at line {node.start_mark.line + 1}",
                        None,
                        f"duplicate key {key!r} (first at line {seen[key] + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line
            return super().construct_mapping(node, deep)

    return Loader


def check_yaml_files(paths) -> list[dict]:
    """Parse each config file; raise :class:`ConfigError` ``<file>:<line>:<col>: <problem>``.

    Snakemake's own message for a YAML syntax error in a ``--configfile`` names neither
    the file nor the line. A duplicate key (YAML keeps the last, silently) and a top level
    that is not a mapping are errors too. Returns the files' contents (``{}`` if empty).
    """
    import yaml

    out = []
    for path in paths:
        text = Path(path).read_text()
        try:
            data = yaml.load(text, Loader=_strict_loader())  # noqa: S506 (a SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.problem:
                cmark = exc.context_mark
                problem += f" ({exc.context}" + (f" at line {cmark.line + 1})" if cmark else ")")
            raise ConfigError(f"{where}: {problem}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if data is not None and not isinstance(data, dict):
            raise ConfigError(
                f"{path}: the top level must be a mapping of config keys, not a {type(data).__name__}"
            )
        out.append(data or {})
    return out


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


def _overlaps(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_results_dir(config: dict, root=".") -> None:
    """Raise :class:`ConfigError` unless ``results_dir`` is a folder of its own.

    Not the working directory or the workflow folder (nor above them), not inside the
    workflow's ``resources/`` or the data folder (``resources.dest``), not inside or above
    an input folder (``derivatives``; ``bids_dir`` except below its ``derivatives/``, as
    BIDS apps write). Relative paths resolve against the working directory, as Snakemake
    writes them.
    """
    results = Path(config["results_dir"]).expanduser().resolve()
    bids = config.get("bids_dir") or ""
    # (what, folder, where inside it results_dir may lie (None: nowhere)); none may lie
    # inside results_dir. Inside a BIDS dataset only derivatives/ is usual (BIDS apps).
    folders = [
        ("the working directory", Path.cwd(), Path.cwd()),
        ("the workflow folder", Path(root), Path(root)),
        ("the workflow's resources/ folder", Path(root) / "resources", None),
        ("resources.dest", Path(config["resources"]["dest"]), None),
        *((f"derivatives[{i}]", Path(d), None) for i, d in enumerate(config.get("derivatives") or []) if d),
    ]
    if bids:
        folders.append(("bids_dir", Path(bids), Path(bids) / "derivatives"))
    for what, folder, allowed in folders:
        folder = folder.expanduser().resolve()
        allowed = allowed and allowed.expanduser().resolve()
        inside = _overlaps(results, folder) and not (allowed and allowed in results.parents)
        if _overlaps(folder, results) or inside:
            where = "is" if results == folder else "contains" if results in folder.parents else "lies inside"
            raise ConfigError(
                f"config key results_dir: {config['results_dir']!r} ({results}) "
                f"{where} {what} ({folder}); give every cohort a folder of its "
                "own, e.g. 'results-<cohort>'"
            )


def check_stage_settings(config: dict) -> None:
    """Cross-key rules the schema cannot express, checked before any job (``burn_in <
    n_iter`` and the other sampler settings of the bicluster stage)."""
    if is_activated(config, "bicluster"):
        from neuroflow.bicluster.settings import SamplerSettings

        try:
            SamplerSettings.from_dict(config["bicluster"].get("sampler"))
        except ValueError as exc:
            raise ConfigError(f"{exc}".replace("config bicluster.", "config key bicluster.", 1)) from exc


def check_config(config: dict, root=".") -> None:
    """Raise :class:`ConfigError` naming the key and file for the first unusable value."""
    from neuroflow.resources import load_manifest

    root = Path(root)
    check_results_dir(config, root)
    check_stage_settings(config)
    _exists(config["resources"]["manifest"], "resources.manifest", root)
    if not is_activated(config, "connectome"):
        return
    manifest = load_manifest(config["resources"]["manifest"])
    conn = config["connectome"]
    if not conn.get("sources"):
        raise ConfigError(
            "config key connectome.sources: the connectome stage is activated but "
            "no source is listed (see config/cohorts/demo.yaml)"
        )
    for key in ("cell_table", "aliases"):
        _exists(conn[key], f"connectome.{key}", root)
    for sid, src in conn["sources"].items():
        if "paths" in src:
            for i, path in enumerate(src["paths"]):
                _exists(path, f"connectome.sources.{sid}.paths[{i}]", root)
            continue
        ds = src["dataset"]
        if ds not in manifest["datasets"]:
            raise ConfigError(
                f"config key connectome.sources.{sid}.dataset: {ds!r} is not in "
                f"the manifest {config['resources']['manifest']}"
            )
        n = len(manifest["datasets"][ds]["files"])
        bad = [i for i in src["files"] if i >= n] if "files" in src else []  # absent = all
        if bad:
            raise ConfigError(
                f"config key connectome.sources.{sid}.files: indices {bad} out of "
                f"range; dataset {ds!r} has {n} file(s)"
            )
    for key, ids in (
        ("consensus.sources", conn["consensus"]["sources"]),
        ("exclude_sources", conn["exclude_sources"]),
    ):
        unknown = sorted(set(ids) - set(conn["sources"]))
        if unknown:
            raise ConfigError(f"config key connectome.{key}: unknown source id(s) {unknown}")
    if not active_sources(config):
        raise ConfigError("config key connectome.exclude_sources: every source is excluded")


def active_sources(config: dict) -> list[str]:
    """Connectome source ids of this cohort: configured minus ``exclude_sources`` (sorted)."""
    conn = config["connectome"]
    return sorted(set(conn["sources"]) - set(conn["exclude_sources"]))


def is_activated(config: dict, stage: str) -> bool:
    """Whether a stage's section exists and says ``activate: true``."""
    section = config.get(stage) or {}
    return bool(section.get("activate"))  # an absent section is not activated


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

    return fixed_params(grown)


def fixed_params(func):
    """``func``, with its parameters inspected once for Snakemake (a decorator).

    Snakemake reads the signature of an input, params or resources function at each call,
    twice per job (``snakemake.common.get_function_params``); with tens of thousands of jobs
    that is a sizeable part of planning. Its ``overwrite_function_params`` stores the
    parameters on the function instead. Without that helper ``func`` is returned as is.
    """
    try:
        from snakemake.common import overwrite_function_params
    except ImportError:
        return func
    overwrite_function_params(func, inspect.signature(func).parameters)
    return func


def keys_regex(keys) -> str:
    """A wildcard constraint that matches exactly ``keys`` (``(?!)`` when there are none)."""
    return "|".join(re.escape(str(k)) for k in sorted(keys)) or "(?!)"


def group_constraints(groups: dict, generic: str = r"[^/]+") -> tuple[dict, object]:
    """Wildcard constraints of rules whose outputs share a pattern, one rule per group of keys.

    A constraint listing every subject is copied by Snakemake into each output pattern and
    scanned and compiled again for every job (quadratic in subjects), so the largest group
    gets ``generic`` and only the smaller groups list their keys. Returns ``({group:
    regex}, the generic group)``; the caller puts the generic group's rule last in a
    ``ruleorder``, so that a key of another group goes to that group's rule.
    """
    if not groups:
        return {}, None
    largest = max(groups, key=lambda g: len(groups[g]))
    return {g: generic if g == largest else keys_regex(keys) for g, keys in groups.items()}, largest


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


def source_expected_rows(config: dict, manifest: dict, source: str) -> list:
    """Data rows each input file of a source must have (the manifest's ``rows``), or None
    per file where no count is known (your own files)."""
    src = config["connectome"]["sources"][source]
    if "paths" in src:
        return [None] * len(src["paths"])
    files = manifest["datasets"][src["dataset"]]["files"]
    return [files[i].get("rows") for i in (src.get("files") or range(len(files)))]


def source_citation_of(config: dict, manifest: dict, source: str) -> str:
    """Citation of a source's dataset (or a note for user-supplied files)."""
    src = config["connectome"]["sources"][source]
    if "dataset" in src:
        from neuroflow.resources import citation_text

        return citation_text(manifest, src["dataset"])
    return "user-supplied file(s): " + ", ".join(src["paths"])


@functools.cache
def _stage_schema(stage: str) -> dict:
    from neuroflow.schema_docs import load_schema
    from neuroflow.workflow_files import workflow_root

    return load_schema(workflow_root() / "workflow" / "schemas" / f"{stage}.schema.yaml")


def stage_schema(stage: str) -> dict:
    """The schema of a stage (``workflow/schemas/<stage>.schema.yaml``), read once."""
    return _stage_schema(stage)


def filled_section(config: dict, stage: str) -> dict:
    """A copy of ``config[stage]`` with the stage schema's defaults filled in (the same
    filling the workflow does at load time), for code that may also be handed a partial
    config (checks called from tests or notebooks): it reads keys, never restates a
    default."""
    return fill_defaults(copy.deepcopy(config.get(stage) or {}), _stage_schema(stage))


def filled_entry(entry: dict, stage: str, map_key: str) -> dict:
    """A copy of one entry of the map ``<stage>.<map_key>`` (e.g. ``fc.benchmarks.<id>``)
    with the entry schema's defaults filled in, as snakemake's ``validate`` fills them at
    load time (:func:`fill_defaults` does not enter maps)."""
    schema = _stage_schema(stage)["properties"][map_key]["additionalProperties"]
    return fill_defaults(copy.deepcopy(entry), schema)
