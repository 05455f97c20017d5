"""Reruns follow the code (issue 18 item 5): a package edit reruns exactly the rules whose
scripts import the edited module, and provenance records the commit and a dirty flag."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from neuroflow.codestamp import closure, import_graph, script_modules, script_stamp
from neuroflow.devtools import copy_workflow, repo_root, set_active_stages

ROOT = repo_root()
SCRIPTS = ROOT / "workflow/scripts"


@pytest.fixture()
def package_copy(tmp_path) -> Path:
    dest = tmp_path / "src/neuroflow"
    shutil.copytree(ROOT / "src/neuroflow", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_closure_follows_imports_inside_functions_and_through_packages(package_copy):
    graph = import_graph(package_copy)
    # the chain script imports bicluster.pipeline, which imports the sampler
    assert "neuroflow.bicluster.sampler" in script_modules(SCRIPTS / "bicluster_recording.py", package_copy)
    # a module imported only inside a function body still counts
    (package_copy / "eeg/pipeline.py").write_text(
        (package_copy / "eeg/pipeline.py").read_text()
        + "\n\ndef _late():\n    from neuroflow.fc import simulate  # noqa: F401\n"
    )
    mods = script_modules(SCRIPTS / "eeg_recording.py", package_copy)
    assert {"neuroflow.fc", "neuroflow.fc.simulate"} <= mods
    # parents are imported before their submodules
    assert closure(["neuroflow.fmri.confounds"], graph) >= {"neuroflow", "neuroflow.fmri"}


def test_the_import_graph_is_kept_on_disk_and_parsed_again_when_unreadable(
    package_copy, tmp_path, monkeypatch
):
    """The graph a later process loads from the cache folder equals the parsed one; a
    damaged cache file is parsed again, never trusted."""
    from neuroflow import codestamp

    monkeypatch.setenv("NEUROFLOW_CACHE", str(tmp_path / "cache"))
    parsed = codestamp._parse_graph(package_copy.resolve())
    codestamp._graph.cache_clear()
    assert import_graph(package_copy) == parsed
    (cached,) = (tmp_path / "cache/codestamp").glob("*.json")
    codestamp._graph.cache_clear()  # as a new process: from the file
    assert import_graph(package_copy) == parsed
    cached.write_text('{"neuroflow": ["x"')  # a half-written file
    codestamp._graph.cache_clear()
    assert import_graph(package_copy) == parsed
    assert "neuroflow.fmri.index" in parsed and "neuroflow.bids" in parsed["neuroflow.fmri.index"][1]


def test_editing_a_module_changes_exactly_the_stamps_of_scripts_importing_it(package_copy):
    before = {s.stem: script_stamp(s, package_copy) for s in sorted(SCRIPTS.glob("*.py"))}
    users = {
        s.stem
        for s in SCRIPTS.glob("*.py")
        if "neuroflow.homogenize.consensus" in script_modules(s, package_copy)
    }
    assert "consensus_connectome" in users and "eeg_recording" not in users
    target = package_copy / "homogenize/consensus.py"
    target.write_text(target.read_text() + "\n# an edit\n")
    after = {s.stem: script_stamp(s, package_copy) for s in sorted(SCRIPTS.glob("*.py"))}
    assert {k for k in before if before[k] != after[k]} == users


def planned_reasons(stdout: str) -> list[tuple[str, str]]:
    """(rule, reason) of each job a ``snakemake -n`` listing plans."""
    out, rule = [], None
    for line in stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif rule and line.strip().startswith("reason:"):
            out.append((rule, line.strip()[len("reason:") :].strip()))
            rule = None
    return out


def _git(cwd, *args):
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )


@pytest.mark.workflow
def test_package_edit_reruns_its_rules_only_and_provenance_names_the_commit(tmp_path):
    """A workflow and package copy in its own git repository, run once; then an edit of
    homogenize/consensus.py is committed: Snakemake lists exactly the consensus outputs and
    dataset_description.json (new commit) as changed, and the rerun records the commit."""
    work = copy_workflow(tmp_path / "w")
    set_active_stages(work, ["connectome"])
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    keep = ("witvliet2021animal7", "witvliet2021animal8")
    cfg["connectome"]["sources"] = {k: cfg["connectome"]["sources"][k] for k in keep}
    cfg["resources"]["dest"] = str(ROOT / cfg["resources"]["dest"])  # already fetched data
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    shutil.copytree(
        ROOT / "src/neuroflow", work / "src/neuroflow", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / ".gitignore", work / ".gitignore")  # __pycache__, results
    _git(work, "init", "-q")
    _git(work, "add", "-A")
    _git(work, "commit", "-qm", "first")
    env = {**os.environ, "PYTHONPATH": str(work / "src")}

    def snakemake(*args):
        proc = subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", "2", *args],
            cwd=work,
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout

    snakemake()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True
    ).stdout.strip()
    desc = json.loads((work / "results/dataset_description.json").read_text())
    assert desc["GeneratedBy"][0]["Version"].endswith(f"+g{head[:12]}")
    assert "Nothing to be done" in snakemake("-n")

    target = work / "src/neuroflow/homogenize/consensus.py"
    target.write_text(target.read_text() + "\n# an edit\n")
    _git(work, "commit", "-qam", "edit consensus")
    users = {
        s.stem
        for s in (work / "workflow/scripts").glob("*.py")
        if "neuroflow.homogenize.consensus" in script_modules(s, target.parents[1])
    }
    planned = planned_reasons(snakemake("-n"))
    by_params = {rule for rule, reason in planned if reason.startswith("Params have changed")}
    assert "dataset_description" in by_params  # the new commit
    assert by_params - {"dataset_description"} and by_params - {"dataset_description"} <= users
    assert {"homogenize_connectome", "consensus_connectome"} <= {r for r, _ in planned}
    for rule, reason in planned:  # the rest only follows its inputs
        assert rule in by_params or reason.startswith("Input files updated by another job"), rule
    snakemake()
    new_head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True
    ).stdout.strip()
    desc = json.loads((work / "results/dataset_description.json").read_text())
    assert desc["GeneratedBy"][0]["Version"].endswith(f"+g{new_head[:12]}")
