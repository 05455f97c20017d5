"""A real SLURM run: a one-node cluster on this host, jobs through the executor plugin.

Needs root, Debian's slurm-wlm and munge (``tests/system/install.sh`` installs them in the
test set-up where the machine allows); skips with a message saying what is missing
otherwise. The SLURM outputs must equal those of a local run byte for byte.
"""

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from neuroflow.devtools import copy_workflow, repo_root, run_snakemake, set_active_stages

pytestmark = pytest.mark.slurm
CLUSTER = repo_root() / "tests/system/slurm_cluster.sh"


@pytest.fixture(scope="module")
def slurm_cluster():
    missing = [
        b
        for b in ("slurmctld", "slurmd", "munged", "sbatch", "squeue")
        if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()
    ]
    if missing:
        pytest.skip(
            f"SLURM test skipped: {', '.join(missing)} not installed (run tests/system/install.sh as root)"
        )
    if os.geteuid() != 0:
        pytest.skip("SLURM test skipped: starting slurmctld/slurmd here needs root")
    proc = subprocess.run(["bash", str(CLUSTER), "start"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"SLURM test skipped: the one-node cluster did not start: {proc.stderr[-500:]}")
    yield
    # stops the daemons and removes the test slurm.conf: with a conf naming a controller
    # that is down, every later snakemake run waits ~9 s in the SLURM plugin's scontrol call
    subprocess.run(["bash", str(CLUSTER), "stop"], capture_output=True, text=True)


def small_workdir(dest: Path) -> Path:
    work = copy_workflow(dest)
    set_active_stages(work, ["connectome"])
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    keep = ("witvliet2021animal7", "witvliet2021animal8")
    cfg["connectome"]["sources"] = {k: cfg["connectome"]["sources"][k] for k in keep}
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return work


def digests(results: Path) -> dict[str, str]:
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file() and p.suffix in {".nc", ".tsv", ".json", ".png"}
    }


def slurm_job_ids() -> set[str]:
    """Every job the controller still knows (MinJobAge=600 keeps finished ones)."""
    out = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i"], capture_output=True, text=True).stdout
    return set(out.split())


def remote_jobs(stdout: str) -> int:
    """Jobs of Snakemake's job-stats table that are not local rules (fetch, report, all)."""
    table = stdout[stdout.index("Job stats:") :].split("total")[0]
    local = ("fetch_", "dataset_description", "methods_report", "report_tables", "all")
    counts = re.findall(r"^(\w+)\s+(\d+)$", table, re.M)
    return sum(int(n) for rule, n in counts if not rule.startswith(local))


def test_slurm_run_equals_local_run_with_grouped_submissions(slurm_cluster, tmp_path):
    """profiles/slurm groups the per-source jobs: fewer sbatch submissions than jobs, and
    the outputs are byte-identical to a local run."""
    local = small_workdir(tmp_path / "local")
    proc = run_snakemake(local)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cluster = small_workdir(tmp_path / "slurm")
    before = slurm_job_ids()
    proc = run_snakemake(
        cluster,
        "--profile",
        str(repo_root() / "profiles/slurm"),
        "--slurm-status-command",
        "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--seconds-between-status-checks",
        "2",
        "--jobs",
        "2",
        timeout=600,
    )  # a job the cluster can never start would otherwise pend forever
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    submitted = slurm_job_ids() - before
    # jobs really went through SLURM, the two homogenize jobs as one group submission
    assert "Group job connectome" in out or "group job" in out.lower()
    assert 1 <= len(submitted) < remote_jobs(out), (submitted, out[-3000:])
    assert digests(local / "results") == digests(cluster / "results")
