"""Generate ``config/README.md`` from the JSON schema's descriptions and defaults."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

HEADER = """# Configuration reference

Generated from `workflow/schemas/config.schema.yaml` by
`python -m neuroflow.schema_docs` (a test checks it is up to date). Every key is validated
before any job runs: an unknown key, a wrong type or a missing file stops the workflow with
a message naming the key or the file.

`config/config.yaml` holds every setting and runs no data by itself (every stage is off).
For a cohort, write a file with only the keys you change and pass it with `--configfile`
(the embedded demo: `config/cohorts/demo.yaml`); its maps of inputs (sources, recordings,
benchmarks, experiments, subjects) replace the defaults' instead of merging into them. Set
`results_dir` so each cohort gets its own results folder.

| key | type | default | description |
|---|---|---|---|
"""


def _rows(schema: dict, prefix: str = "", base: Path = Path(".")):
    for key, sub in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        if "$ref" in sub:  # a stage's schema in its own file, next to the main schema
            sub = yaml.safe_load((base / sub["$ref"]).read_text())
        typ = sub.get("type", "")
        if "enum" in sub:
            typ = " \\| ".join(map(str, sub["enum"]))
        default = sub.get("default", "")
        default = "" if default in ("", {}, None) and "default" not in sub else repr(default)
        desc = " ".join(str(sub.get("description", "")).split()).replace("|", "\\|")
        yield f"| `{name}` | {typ} | {default} | {desc} |"
        if sub.get("type") == "object":
            yield from _rows(sub, name + ".", base)
            extra = sub.get("additionalProperties")
            if isinstance(extra, dict) and extra.get("properties"):
                yield from _rows(extra, name + ".<id>.", base)


def load_schema(schema_path) -> dict:
    """The config schema with every ``$ref`` to a sibling file inlined (for jsonschema use).

    Parsed once per file and modification time (a planning run asks for the same schemas
    many times); each call returns its own copy.
    """
    schema_path = Path(schema_path).resolve()
    return copy.deepcopy(_load_schema(schema_path, schema_path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=64)
def _load_schema(schema_path: Path, mtime_ns: int) -> dict:

    def inline(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str) and not node["$ref"].startswith("#"):
                return inline(yaml.safe_load((schema_path.parent / node["$ref"]).read_text()))
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(yaml.safe_load(schema_path.read_text()))


def render(schema_path) -> str:
    """Markdown table of every config key (nested keys dotted)."""
    schema_path = Path(schema_path)
    schema = yaml.safe_load(schema_path.read_text())
    return HEADER + "\n".join(_rows(schema, base=schema_path.parent)) + "\n"


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    out = root / "config" / "README.md"
    out.write_text(render(root / "workflow" / "schemas" / "config.schema.yaml"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
