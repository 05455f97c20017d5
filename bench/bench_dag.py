"""DAG construction time for a large cohort: `snakemake -n` over N synthetic subjects.

Each synthetic subject is a connectome source pointing at one real table (the jobs are
only planned, never run). Prints the dry-run wall time; target < 30 s for N = 1000.
Usage: python bench/bench_dag.py [N]
"""

from __future__ import annotations

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
            f"sub{i:04d}": {"reader": "white_1986_whole", "paths": ["subject.csv"]}
            for i in range(n)}
        (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
        t0 = time.perf_counter()
        proc = run_snakemake(work, "-n", "--quiet", "rules")
        dt = time.perf_counter() - t0
        if proc.returncode:
            sys.exit(proc.stderr[-3000:])
    print("== DAG construction (snakemake -n) ==")
    print(f"subjects: {n}   jobs planned: {n + 4}   wall time: {dt:.1f} s   (target < 30 s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
