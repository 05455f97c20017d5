"""Conda env files agree with pyproject's pins; config/README.md matches the schema."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from neuroflow.devtools import demo_config
from neuroflow.schema_docs import load_schema, render

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


ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))
LOCK = ROOT / "requirements" / "lock-linux-x86_64-py311.txt"


def snakemake_reads(path: Path, cache: Path) -> bytes:
    """The bytes Snakemake's conda deployment reads for an env file or its post-deploy script
    (``workflow.sourcecache.open(file, "rb")``; symlinks followed)."""
    from snakemake.sourcecache import LocalSourceFile, SourceCache

    return SourceCache(cache).open(LocalSourceFile(str(path)), "rb").read()


def _is_local(req: str) -> bool:
    """Whether a pip entry of an env file names a path (``-e ../``, ``./pkg``, ``file:``)."""
    req = req.strip()
    return (
        req.startswith(("-e", "--editable", ".", "/", "~"))
        or "file:" in req
        or "/" in req.split("@")[0]
        or "\\" in req
    )


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_match_pyproject(env_file, tmp_path):
    env = yaml.safe_load(snakemake_reads(env_file, tmp_path))
    pins = pyproject_pins()
    pip_reqs = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d][0]
    checked = 0
    for req in pip_reqs:
        assert not _is_local(req), (
            f"{env_file.name}: {req!r} is a path; Snakemake creates the env from a copy under "
            ".snakemake/conda/ where it would not resolve (neuroflow comes from the post-deploy "
            "script)"
        )
        name, spec = _split(req)
        assert name in pins, f"{env_file.name}: {name} is not a dependency in pyproject.toml"
        assert spec == pins[name], f"{env_file.name}: {name}{spec} != pyproject {name}{pins[name]}"
        checked += 1
    assert checked >= 5
    assert "python=3.11" in env["dependencies"]


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_installs_neuroflow_from_its_post_deploy_script_wherever_snakemake_copies_it(env_file, tmp_path):
    """Snakemake finds ``<env>.post-deploy.sh`` next to the env file (its own lookup), copies it
    to ``.snakemake/conda/<hash>.post-deploy.sh`` and runs it inside the new env from the work
    folder: the script installs what NEUROFLOW_PIP_SPEC names (a checkout: its lock, then
    the checkout editable without dependencies; a checkout without a lock: editable), and
    stops with a message naming itself and the variable when it is unset. The files are read
    through Snakemake's source cache, as its conda deployment reads them. (conda channels are
    unreachable here, so the env itself is not created: a stand-in ``python`` records the
    pip calls.)"""
    import os
    import subprocess

    from snakemake.sourcecache import LocalSourceFile, SourceCache

    found = LocalSourceFile(str(env_file)).replace_suffix([".yaml", ".yml"], ".post-deploy.sh")
    assert SourceCache(tmp_path / "cache").exists(found), f"{env_file.name}: no post-deploy script"
    content = snakemake_reads(Path(found.get_path_or_uri(secret_free=True)), tmp_path / "cache")
    assert content.startswith(b"#!/usr/bin/env bash\n")
    copy = tmp_path / ".snakemake/conda/0123abcd.post-deploy.sh"  # as Snakemake writes it
    copy.parent.mkdir(parents=True)
    copy.write_bytes(content)
    fake_bin = tmp_path / "envbin"
    fake_bin.mkdir()
    calls = tmp_path / "calls.txt"
    installed_lock = tmp_path / "installed-lock.txt"  # the file pip was given with -r
    (fake_bin / "python").write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\n'
        f'prev=; for a in "$@"; do [ "$prev" = -r ] && cp "$a" {installed_lock}; prev="$a"; done\n'
    )
    (fake_bin / "python").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}

    def run(spec):
        e = dict(env)
        e.pop("NEUROFLOW_PIP_SPEC", None)
        if spec is not None:
            e["NEUROFLOW_PIP_SPEC"] = spec
        return subprocess.run(
            ["/usr/bin/env", "bash", str(copy)], cwd=work, env=e, capture_output=True, text=True
        )

    no_lock = tmp_path / "checkout-without-lock"
    no_lock.mkdir()
    assert run(str(ROOT)).returncode == 0
    assert run(str(no_lock)).returncode == 0
    assert run("neuroflow==0.1.0").returncode == 0
    # a checkout with the lock (this machine is Linux x86_64): the lock with its hashes but
    # torch (the env file's build stays), then neuroflow without dependencies; without a
    # lock: editable with pyproject's ranges
    assert LOCK.is_file() and os.uname().sysname == "Linux" and os.uname().machine == "x86_64"
    lock_calls = calls.read_text().splitlines()
    assert re.fullmatch(r"-m pip install --no-input --require-hashes -r /\S+", lock_calls[0])
    blocks = re.split(r"\n(?=[^\s#])", LOCK.read_text())
    assert any(b.startswith("torch==") for b in blocks)
    assert installed_lock.read_text() == "\n".join(b for b in blocks if not b.startswith("torch=="))
    assert lock_calls[1:] == [
        f"-m pip install --no-input --no-deps --no-build-isolation --editable {ROOT}",
        f"-m pip install --no-input --editable {no_lock}",
        "-m pip install --no-input neuroflow==0.1.0",
    ]
    unset = run(None)
    assert unset.returncode == 1 and "envs/install-neuroflow.sh" in unset.stderr
    assert "NEUROFLOW_PIP_SPEC is not set" in unset.stderr
    assert len(calls.read_text().splitlines()) == 4


def test_config_readme_is_generated_from_schema():
    expected = render(ROOT / "workflow/schemas/config.schema.yaml")
    assert (ROOT / "config/README.md").read_text() == expected, (
        "config/README.md is stale: run python -m neuroflow.schema_docs"
    )


def test_default_config_validates_against_schema():
    import jsonschema

    schema = load_schema(ROOT / "workflow/schemas/config.schema.yaml")
    jsonschema.validate(yaml.safe_load((ROOT / "config/config.yaml").read_text()), schema)
    config = demo_config(ROOT)
    jsonschema.validate(config, schema)
    config["connectome"]["sources"]["white1986whole"]["reader"] = "no_such_reader"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, schema)


@pytest.mark.parametrize("caption", sorted((ROOT / "workflow/report").glob("*.rst")), ids=lambda p: p.name)
def test_report_captions_are_valid_restructuredtext(caption):
    import io

    from docutils.core import publish_doctree

    warnings = io.StringIO()
    publish_doctree(
        caption.read_text(),
        settings_overrides={"warning_stream": warnings, "report_level": 2, "halt_level": 5},
    )
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
