"""Profiles as Snakemake reads them: retries get more memory, GPU rules reach a GPU partition.

Two dry runs of the whole workflow (every stage activated) in a copy of the checkout: the
workstation profile at attempt 1 (what each rule declares) and the SLURM profile at attempt
2 (what a retried job asks SLURM for). Snakemake prints every job's evaluated resources;
``--attempt`` sets the attempt those resources are evaluated for, as on a retry.
No SLURM needed: a dry run submits nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from neuroflow.devtools import copy_workflow, demo_config, run_snakemake, set_active_stages

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["connectome", "activity", "fmri", "eeg", "fc", "bicluster", "trsa", "encoding"]
_HEAD = re.compile(r"^(local)?(?:rule|checkpoint) (\w+):$")


def dry_run_jobs(workdir: Path, *args) -> list[dict]:
    """Jobs of ``snakemake -n *args``: rule name and evaluated resources."""
    proc = run_snakemake(workdir, "-n", *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs, job = [], None
    for line in proc.stdout.splitlines():
        head = _HEAD.match(line.strip())
        if head:
            job = {"rule": head.group(2), "resources": {}}
            jobs.append(job)
        elif job is not None and line.strip().startswith("resources:"):
            for item in line.split(":", 1)[1].split(","):
                key, _, value = item.strip().partition("=")
                job["resources"][key] = value
    assert jobs, f"no jobs parsed from the dry run:\n{proc.stdout[-2000:]}"
    return jobs


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("profiles"), ROOT)
    set_active_stages(work, STAGES)
    return work


@pytest.fixture(scope="module")
def declared(workdir) -> list[dict]:
    return dry_run_jobs(workdir)


@pytest.fixture(scope="module")
def slurm_retry(workdir) -> list[dict]:
    """The SLURM profile's jobs on their second attempt, one listing per job: the profile's
    job groups are left out here (a group job's dry-run listing does not show every member
    job; grouping has its own test in tests/test_slurm.py)."""
    profile = yaml.safe_load((workdir / "profiles/slurm/config.yaml").read_text())
    assert profile.pop("groups") and profile.pop("group-components")
    folder = workdir / "profiles/slurm-ungrouped"
    folder.mkdir(exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return dry_run_jobs(workdir, "--profile", str(folder), "--attempt", "2")


def rule_blocks():
    """(rule names, rule text) for every rule of workflow/rules/*.smk (names of rules built in
    a loop, `name: f"encoding_ridge_{_exp}"`, expanded over the configured experiments)."""
    experiments = demo_config(ROOT)["encoding"]["experiments"]
    for smk in sorted((ROOT / "workflow/rules").glob("*.smk")):
        for block in re.split(r"\n\s*(?=rule\b|checkpoint\b)", smk.read_text())[1:]:
            named = re.match(r"(?:rule|checkpoint)\s+(\w+)\s*:", block)
            if named:
                yield {named.group(1)}, block
                continue
            name = re.search(r'name:\s*f"(\w+)\{(\w+)\}"', block)
            if name.group(2) == "_exp":
                yield {name.group(1) + exp for exp in experiments}, block
            else:
                yield {name.group(1) + "*"}, block


def local_rules() -> set[str]:
    names = set().union(*(n for n, block in rule_blocks() if "localrule: True" in block))
    return names | {"all"}


def _by_job(jobs):
    """(rule, occurrence) -> resources; the dry run lists jobs in the same order each time."""
    seen: dict[str, int] = {}
    out = {}
    for job in jobs:
        n = seen[job["rule"]] = seen.get(job["rule"], 0) + 1
        out[(job["rule"], n)] = job
    return out


def test_every_stage_is_in_the_dry_run(declared):
    rules = {j["rule"] for j in declared}
    for prefix in ("homogenize_", "activity_", "fmri_", "eeg_", "fc_", "bicluster_", "trsa_", "encoding_"):
        assert any(r.startswith(prefix) for r in rules), prefix


def test_retry_asks_for_twice_the_memory_and_time(declared, slurm_retry):
    first, second = _by_job(declared), _by_job(slurm_retry)
    assert first.keys() == second.keys()
    checked = 0
    local = local_rules()
    assert {"all", "methods_report", "fetch_*"} <= local
    for key, job in first.items():
        if job["rule"] in local or job["rule"].startswith("fetch_"):  # run on the submit host
            continue
        res1, res2 = job["resources"], second[key]["resources"]
        assert int(res2["mem_mb"]) == 2 * int(res1["mem_mb"]), (key, res1, res2)
        assert int(res2["runtime"]) == 2 * int(res1["runtime"]), (key, res1, res2)
        checked += 1
    assert checked > 50
    # known base values (workflow/rules/homogenize.smk, fc.smk): attempt 1 = base, 2 = 2 x base
    assert first[("homogenize_connectome", 1)]["resources"]["mem_mb"] == "2000"
    assert second[("homogenize_connectome", 1)]["resources"]["mem_mb"] == "4000"
    assert first[("fc_sclcs", 1)]["resources"]["mem_mb"] == "8000"
    assert second[("fc_sclcs", 1)]["resources"]["mem_mb"] == "16000"


def test_every_gpu_rule_reaches_the_gpu_partition(declared, slurm_retry):
    gpu_rules = {j["rule"] for j in declared if "gpu" in j["resources"]}
    assert {"encoding_fit_attention", "fc_sclcs", "encoding_ridge_haxby"} <= gpu_rules
    for job in slurm_retry:
        res = job["resources"]
        if job["rule"] in gpu_rules:
            assert res["slurm_partition"] == "gpu" and res["gpu"] == "1", job
        else:
            # the profile's default partition (profiles/default must not override it)
            assert res["slurm_partition"] == "debug" and res.get("gpu", "0") == "0", job
    # the profile file itself names each of them (what a site edits)
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    for rule in gpu_rules:
        assert profile["set-resources"][rule] == {"slurm_partition": "gpu", "gpu": 1}, rule


def test_rule_files_declare_gpu_only_on_routed_rules():
    """Static check over every rule file: a rule whose resources name `gpu` is routed."""
    routed = set(yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["set-resources"])
    found = set()
    for names, block in rule_blocks():
        if re.search(r"^\s+gpu=", block, flags=re.M):
            assert names <= routed, names - routed
            found |= names
    assert {"fc_sclcs", "encoding_fit_attention", "encoding_ridge_grasshopper"} <= found


def test_slurm_profile_keeps_its_settings_next_to_the_workflow_profile(monkeypatch):
    """Snakemake loads profiles/default too; the SLURM profile's own keys must survive."""
    from snakemake.cli import parse_args

    monkeypatch.chdir(ROOT)
    _, args = parse_args(["--profile", "profiles/slurm", "-n"])
    assert args.executor == "slurm"
    assert args.keep_going is True and args.latency_wait == 60 and args.retries == 2
    assert "slurm_partition" in args.default_resources and args.default_resources["runtime"].value == 60


def test_default_profile_keeps_going_past_a_failed_job(monkeypatch):
    """One bad subject must not stop the others: plain `snakemake` (profiles/default alone)
    keeps going, and so does the SLURM profile merged with it (checked above)."""
    from snakemake.cli import parse_args

    monkeypatch.chdir(ROOT)
    _, args = parse_args(["-n"])
    assert args.keep_going is True
    assert args.rerun_incomplete is True and args.show_failed_logs is True
    assert args.executor in (None, "local") and args.retries in (None, 0)


def test_resources_grow_with_the_attempt():
    from neuroflow.config import by_attempt

    mem = by_attempt(2000)
    assert [mem(None, attempt) for attempt in (1, 2, 3)] == [2000, 4000, 6000]
    assert by_attempt("15")(None, 2) == 30  # config values may arrive as strings
