"""Bad config values caught when the config is read, before any job (issue 18, item 1):
a ``results_dir`` that overlaps the workflow, its resources or the inputs; negative seeds;
sampler settings that cannot run (``burn_in >= n_iter``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from neuroflow.config import (
    ConfigError,
    check_config,
    check_keys,
    check_results_dir,
    check_stage_settings,
    layer,
)
from neuroflow.devtools import demo_config
from neuroflow.schema_docs import load_schema

ROOT = Path(__file__).resolve().parents[1]
SEED_KEYS = ("seed", "random_state")


def _config(results_dir, **extra) -> dict:
    return {
        "results_dir": results_dir,
        "bids_dir": "",
        "derivatives": [],
        "resources": {"dest": "resources/data", "manifest": "resources/datasets.yaml"},
        **extra,
    }


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    for folder in ("resources/data", "bids/sub-01", "deriv/fmriprep"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "resources/datasets.yaml").touch()  # checked to exist only
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "results_dir, extra, where",
    [
        (".", {}, "is the working directory"),
        ("..", {}, "contains the working directory"),
        ("resources", {}, "is the workflow's resources/ folder"),
        ("resources/out", {}, "lies inside the workflow's resources/ folder"),
        (
            "elsewhere",
            {"resources": {"dest": "elsewhere/data", "manifest": "m.yaml"}},
            "contains resources.dest",
        ),
        ("bids/neuroflow", {"bids_dir": "bids"}, "lies inside bids_dir"),
        ("bids/derivatives", {"bids_dir": "bids"}, "lies inside bids_dir"),
        ("deriv/fmriprep/neuroflow", {"derivatives": ["deriv/fmriprep"]}, "lies inside derivatives[0]"),
        ("deriv", {"derivatives": ["deriv/fmriprep"]}, "contains derivatives[0]"),
    ],
)
def test_results_dir_overlapping_the_workflow_or_inputs_fails_naming_the_key(
    workdir, results_dir, extra, where
):
    with pytest.raises(ConfigError) as err:
        check_results_dir(_config(results_dir, **extra), root=workdir)
    message = str(err.value)
    assert message.startswith(f"config key results_dir: {results_dir!r} ")
    assert where in message and "\n" not in message


@pytest.mark.parametrize(
    "results_dir", ["results", "results-fmri", "out/cohort1", "bids/derivatives/neuroflow"]
)
def test_results_dir_of_its_own_passes(workdir, results_dir):
    check_results_dir(_config(results_dir, bids_dir="bids", derivatives=["deriv/fmriprep"]), root=workdir)


def test_check_config_runs_the_results_dir_check_first(workdir):
    with pytest.raises(ConfigError, match="config key results_dir: '.'"):
        check_config({**_config("."), "connectome": {"activate": False}}, root=workdir)


def _seed_schemas(node, path=()):
    """Yield ``(dotted path, schema)`` of every seed-like property of a schema tree."""
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            if key in SEED_KEYS and isinstance(sub, dict) and sub.get("type") == "integer":
                yield ".".join((*path, key)), sub
            yield from _seed_schemas(sub, (*path, key))
        for key in ("additionalProperties", "items"):
            yield from _seed_schemas(node.get(key), (*path, "*"))
        for sub in node.get("patternProperties", {}).values():
            yield from _seed_schemas(sub, (*path, "*"))


def test_every_seed_in_the_schemas_is_non_negative():
    schema = load_schema(ROOT / "workflow/schemas/config.schema.yaml")
    seeds = dict(_seed_schemas(schema))
    assert len(seeds) >= 12 and "eeg.simulate.seed" in seeds
    assert {k: s.get("minimum") for k, s in seeds.items() if s.get("minimum") != 0} == {}


@pytest.mark.parametrize(
    "overlay, key",
    [
        ({"eeg": {"simulate": {"seed": -1}}}, "eeg.simulate.seed"),
        ({"bicluster": {"seed": -5}}, "bicluster.seed"),
    ],
)
def test_negative_seed_fails_the_key_check_naming_the_key(overlay, key):
    schema = load_schema(ROOT / "workflow/schemas/config.schema.yaml")
    with pytest.raises(ConfigError) as err:
        check_keys(layer(demo_config(ROOT), overlay), schema)
    assert str(err.value).startswith(f"config key {key}: -") and "minimum" in str(err.value)


@pytest.mark.parametrize(
    "sampler, key",
    [
        ({"n_iter": 50, "burn_in": 50}, "bicluster.sampler.burn_in: must be in [0, n_iter)"),
        ({"n_iter": 50, "burn_in": 80}, "bicluster.sampler.burn_in: must be in [0, n_iter)"),
        ({"n_iter": 0}, "bicluster.sampler.n_iter: must be >= 1"),
    ],
)
def test_sampler_settings_that_cannot_run_fail_before_any_job(workdir, sampler, key):
    config = {
        **_config("results"),
        "connectome": {"activate": False},
        "bicluster": {"activate": True, "sampler": sampler},
    }
    with pytest.raises(ConfigError, match=re.escape(f"config key {key}")):
        check_config(config, root=workdir)
    config["bicluster"]["activate"] = False  # only an active stage is checked
    check_config(config, root=workdir)


def test_shipped_bicluster_settings_pass_the_stage_check():
    demo = demo_config(ROOT)
    for cohort in ("bicluster-demo", "bicluster_paper"):
        overlay = yaml.safe_load((ROOT / f"config/cohorts/{cohort}.yaml").read_text())
        config = layer(demo, overlay)
        config["bicluster"]["activate"] = True
        check_stage_settings(config)
