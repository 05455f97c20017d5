"""DAG construction time for a large cohort: `snakemake -n` over N synthetic subjects.

Two cohorts, the jobs only planned, never run; target < 30 s each for N = 1000 on 2 cores:
1. connectome: each subject a connectome source pointing at one real table;
2. BIDS: a SIMULATED BIDS dataset of N subjects in real formats
   (neuroflow.synthetic_bids: mne-bids EEG, fMRIPrep-style derivatives with res-1/res-2,
   task events, NWB units), planned by `neuroflow run BIDS OUT group --dry-run` with every
   stage on and chained (neuroflow.synthetic_bids.cohort_config), twice: the first plan
   builds the pybids indexes, the second loads them from the cache (every later run).
Usage: python bench/bench_dag.py [N]     (check `uptime` first: a busy machine distorts it;
the load average is printed with the figures, and the CPU time of the planning process)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from neuroflow.devtools import copy_workflow, run_snakemake


def main(n: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_workflow(Path(tmp) / "w")
        table = work / "subject.csv"
        table.write_text("pre\tpost\ttype\tsynapses\nADAL\tAIBL\tchemical\t1\n")
        cfg = yaml.safe_load((work / "config/config.yaml").read_text())
        cfg["connectome"]["sources"] = {
            f"sub{i:04d}": {"reader": "white_1986_whole", "paths": ["subject.csv"]} for i in range(n)
        }
        (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
        t0 = time.perf_counter()
        proc = run_snakemake(work, "-n", "--quiet", "rules")
        dt = time.perf_counter() - t0
        if proc.returncode:
            sys.exit(proc.stderr[-3000:])
    print(f"== DAG construction (snakemake -n) ==   load average: {os.getloadavg()[0]:.2f}")
    print(f"connectome sources: {n}   jobs planned: {n + 4}   wall time: {dt:.1f} s   (target < 30 s)")
    bids(n)


def bids(n: int) -> None:
    import re
    import subprocess

    from neuroflow.synthetic_bids import cohort_config, write_cohort

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cohort = write_cohort(
            Path(tmp) / "c", subjects=[f"{i:04d}" for i in range(n)], eeg_seconds=4.0, n_vols=12
        )
        made = time.perf_counter() - t0
        cfg = cohort_config(cohort)  # every stage: fMRI, EEG, FC, activity, bi-clustering, tRSA, encoding
        for key in ("bids_dir", "derivatives"):
            cfg.pop(key)
        (Path(tmp) / "cohort.yaml").write_text(yaml.safe_dump(cfg))
        cmd = [
            sys.executable,
            "-m",
            "neuroflow.cli",
            "run",
            str(cohort["bids_dir"]),
            str(Path(tmp) / "out"),
            "group",
            "--derivatives",
            str(cohort["fmriprep"]),
            "--config",
            str(Path(tmp) / "cohort.yaml"),
            "--dry-run",
            "--cores",
            "2",
            "--",
            "--quiet",
            "rules",
        ]
        # first plan: the pybids indexes are built; second: loaded from the cache, as in
        # every later run on the same tree
        for label in ("first plan (indexes built)", "second plan (indexes cached)"):
            t0, cpu0 = time.perf_counter(), os.times()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
            dt, cpu1 = time.perf_counter() - t0, os.times()
            if proc.returncode:
                sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
            total = re.search(r"^total\s+(\d+)", proc.stdout, re.M)
            cpu = (cpu1.children_user + cpu1.children_system) - (cpu0.children_user + cpu0.children_system)
            jobs = int(total.group(1)) if total else 0
            print(
                f"BIDS subjects: {n} (written in {made:.0f} s)   every stage on   {label}: "
                f"jobs planned: {jobs} ({jobs / n:.1f} per subject)   wall time: {dt:.1f} s"
                f"   CPU time: {cpu:.1f} s   (target < 30 s)   load average: "
                f"{os.getloadavg()[0]:.2f}"
            )
        table = proc.stdout[: total.start()] if total else ""
        counts = dict(re.findall(r"^(\w+)\s+(\d+)$", table, re.M))
    per_subject = sorted(((int(c), r) for r, c in counts.items() if int(c) >= n // 2), reverse=True)
    print("  jobs per subject by rule: " + ", ".join(f"{r} {c / n:.1f}" for c, r in per_subject))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
