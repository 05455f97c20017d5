"""SLURM submissions with and without job groups, on the local one-node test cluster.

The cohort: the connectome stage alone, N synthetic subjects (default 50), each a connectome
source pointing at the same one-edge table read by the white_1986_whole reader (the cohort
of bench/bench_dag.py) -- N homogenize_connectome jobs of a few seconds, one
consensus_connectome job, and five local jobs (dataset description, report tables, methods
report, all): the cheapest real per-subject work in the workflow. It runs twice through
``profiles/slurm``: once with the profile's ``groups``/``group-components`` removed (every
job its own sbatch) and once as shipped (per-source jobs packed into group submissions).
Prints, per run: sbatch submissions (jobs the controller saw appear; MinJobAge=600 keeps
finished ones in ``squeue``), the plugin's "submitted" log lines, group jobs, Snakemake jobs
sent to SLURM and run locally, and wall time; then whether the two runs' outputs (every file
under results/) are byte-identical. N=50 takes several minutes on 2 cores.

Needs root, slurm-wlm and munge (tests/system/install.sh); starts the cluster with
tests/system/slurm_cluster.sh and always stops it (which restores slurm.conf).
Usage: python bench/bench_slurm.py [--subjects N]   (check `uptime`; the lead reruns it idle)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from neuroflow.devtools import copy_workflow, repo_root, run_snakemake, set_active_stages

CLUSTER = repo_root() / "tests/system/slurm_cluster.sh"
SLURM_ARGS = (
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "2",
)


def cohort(dest: Path, n: int) -> Path:
    """A workflow copy with only the connectome stage and `n` sources on one small table."""
    work = copy_workflow(dest)
    set_active_stages(work, ["connectome"])
    (work / "subject.csv").write_text("pre\tpost\ttype\tsynapses\nADAL\tAIBL\tchemical\t1\n")
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["connectome"]["sources"] = {
        f"sub{i:04d}": {"reader": "white_1986_whole", "paths": ["subject.csv"]} for i in range(n)
    }
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return work


def ungrouped_profile(dest: Path) -> Path:
    """profiles/slurm without its job groups."""
    cfg = yaml.safe_load((repo_root() / "profiles/slurm/config.yaml").read_text())
    cfg.pop("groups", None)
    cfg.pop("group-components", None)
    dest.mkdir(parents=True)
    (dest / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def job_ids() -> set[str]:
    out = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i"], capture_output=True, text=True).stdout
    return set(out.split())


def job_counts(log: str) -> tuple[int, int]:
    """(jobs sent to SLURM, local jobs) from Snakemake's log: one ``rule X:`` or
    ``localrule X:`` header per job (also inside a group job's listing)."""
    return (len(re.findall(r"^\s*rule \w+:$", log, re.M)), len(re.findall(r"^\s*localrule \w+:$", log, re.M)))


def digests(results: Path) -> dict[str, str]:
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file()
    }


def run(work: Path, profile: Path, label: str, timeout: float) -> dict:
    before = job_ids()
    t0 = time.perf_counter()
    proc = run_snakemake(work, "--profile", str(profile), *SLURM_ARGS, timeout=timeout)
    wall = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    (work / "snakemake.log").write_text(out)
    if proc.returncode:
        raise RuntimeError(f"{label} run failed:\n{out[-4000:]}")
    remote, local = job_counts(out)
    return {
        "label": label,
        "sbatch": len(job_ids() - before),
        "wall": wall,
        "logged": len(re.findall(r"submitted with SLURM jobid", out, re.I)),
        "jobs": remote,
        "local": local,
        "groups": len(re.findall(r"Group job \w+", out)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=480.0, help="seconds allowed per Snakemake run")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy both Snakemake logs here")
    args = parser.parse_args()
    n, timeout = args.subjects, args.timeout
    missing = [
        b
        for b in ("slurmctld", "slurmd", "munged", "sbatch", "squeue")
        if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()
    ]
    if missing or os.geteuid() != 0:
        sys.exit(f"cannot run: {', '.join(missing) or 'not root'} (tests/system/install.sh)")
    if subprocess.run(["pgrep", "-x", "slurmctld"], capture_output=True).returncode == 0:
        sys.exit("a slurmctld is already running (another test or bench?): not touching it")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    start = subprocess.run(["bash", str(CLUSTER), "start"], capture_output=True, text=True)
    try:
        if start.returncode:
            sys.exit(f"the one-node cluster did not start: {start.stderr[-800:]}")
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            plain = run(
                cohort(tmp / "plain", n), ungrouped_profile(tmp / "profile"), "without groups", timeout
            )
            grouped = run(cohort(tmp / "grouped", n), repo_root() / "profiles/slurm", "with groups", timeout)
            same = digests(tmp / "plain/results") == digests(tmp / "grouped/results")
            if args.keep_logs:
                for run_dir in ("plain", "grouped"):
                    shutil.copy(tmp / run_dir / "snakemake.log", Path(args.keep_logs) / f"{run_dir}.log")
            n_files = len(digests(tmp / "grouped/results"))
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop"], capture_output=True, text=True)
    print(
        f"== SLURM (one-node local cluster, 2 CPUs): connectome stage, {n} synthetic "
        "subjects (one-edge table each) =="
    )
    print(
        f"{'profile':16s} {'sbatch':>7s} {'logged':>7s} {'group jobs':>11s} {'SLURM jobs':>11s} "
        f"{'local jobs':>11s} {'wall s':>7s}"
    )
    for r in (plain, grouped):
        print(
            f"{r['label']:16s} {r['sbatch']:7d} {r['logged']:7d} {r['groups']:11d} {r['jobs']:11d} "
            f"{r['local']:11d} {r['wall']:7.1f}"
        )
    print("sbatch: new job ids in squeue; logged: the plugin's 'submitted with SLURM jobid' lines")
    print(f"outputs byte-identical ({n_files} files under results/): {same}")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
