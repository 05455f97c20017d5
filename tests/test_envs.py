"""Conda env files agree with pyproject's pins; config/README.md matches the schema."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from neuroflow.schema_docs import load_schema, render
from neuroflow.devtools import demo_config

ROOT = Path(__file__).resolve().parents[1]


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def pyproject_pins() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        reqs += extra
    return dict(_split(r) for r in reqs)


@pytest.mark.parametrize("env_file", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_match_pyproject(env_file):
    env = yaml.safe_load(env_file.read_text())
    pins = pyproject_pins()
    pip_reqs = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d][0]
    checked = 0
    for req in pip_reqs:
        if req.startswith("-e"):
            continue
        name, spec = _split(req)
        assert name in pins, f"{env_file.name}: {name} is not a dependency in pyproject.toml"
        assert spec == pins[name], f"{env_file.name}: {name}{spec} != pyproject {name}{pins[name]}"
        checked += 1
    assert checked >= 5
    assert "python=3.11" in env["dependencies"]


def test_config_readme_is_generated_from_schema():
    expected = render(ROOT / "workflow/schemas/config.schema.yaml")
    assert (ROOT / "config/README.md").read_text() == expected, \
        "config/README.md is stale: run python -m neuroflow.schema_docs"


def test_default_config_validates_against_schema():
    import jsonschema

    schema = load_schema(ROOT / "workflow/schemas/config.schema.yaml")
    jsonschema.validate(yaml.safe_load((ROOT / "config/config.yaml").read_text()), schema)
    config = demo_config(ROOT)
    jsonschema.validate(config, schema)
    config["connectome"]["sources"]["white1986whole"]["reader"] = "no_such_reader"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, schema)


@pytest.mark.parametrize("caption", sorted((ROOT / "workflow/report").glob("*.rst")),
                         ids=lambda p: p.name)
def test_report_captions_are_valid_restructuredtext(caption):
    import io

    from docutils.core import publish_doctree

    warnings = io.StringIO()
    publish_doctree(caption.read_text(), settings_overrides={
        "warning_stream": warnings, "report_level": 2, "halt_level": 5})
    assert warnings.getvalue() == "", f"{caption.name}: {warnings.getvalue()}"


def test_every_stage_has_a_methods_module_and_a_title():
    """Each stage section (an ``activate`` switch; connectome is on unless switched off) is
    described on the methods page."""
    import importlib

    from neuroflow.report.methods import STAGE_METHODS, STAGE_TITLES

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    stages = {k for k, v in config.items() if isinstance(v, dict) and "activate" in v} | {"connectome"}
    assert stages == set(STAGE_METHODS) == set(STAGE_TITLES)
    for module in STAGE_METHODS.values():
        assert callable(importlib.import_module(module).methods_text)
