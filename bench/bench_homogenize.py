"""Benchmark of the connectome-homogenization stage, side by side with cect 0.3.5.

Prints, from one run:
  1. wall time of the full demo (`snakemake --cores 2`) from a warm download cache
     (extraction included) and of a no-op rerun (targets: < 5 min and < 5 s);
  2. per source: our read + homogenize time and peak memory vs cect's own reader on the
     same original file (`get_instance(from_cache=False)`), as a ratio, and how many
     chemical / electrical neuron-to-neuron connections each finds (accuracy: ratio 1.0
     means the same count).

Usage: python bench/bench_homogenize.py   (cect is only needed for part 2: `make test`
installs it; without it part 2 is skipped with a message)
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from neuroflow.devtools import copy_workflow, demo_config, repo_root, run_snakemake


def timed_workflow() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_workflow(Path(tmp) / "w")
        warm = run_snakemake(work, "--until", *[f"fetch_{d}" for d in _datasets()])
        if warm.returncode:
            sys.exit(f"warming the resource cache failed:\n{warm.stderr[-2000:]}")
        with tempfile.TemporaryDirectory() as tmp2:
            work2 = copy_workflow(Path(tmp2) / "w")
            t0 = time.perf_counter()
            full = run_snakemake(work2)
            t_full = time.perf_counter() - t0
            if full.returncode:
                sys.exit(f"demo failed:\n{full.stderr[-3000:]}")
            t0 = time.perf_counter()
            run_snakemake(work2)
            t_noop = time.perf_counter() - t0
    return t_full, t_noop


def _datasets():

    from neuroflow.config import used_datasets

    return used_datasets(demo_config(repo_root()))


def measure(fn):
    """Run ``fn`` twice: once timed (no tracing), once under tracemalloc for peak MiB."""
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, dt, peak


def main() -> None:
    t_full, t_noop = timed_workflow()
    print("== neuroflow connectome homogenization: workflow (2 cores) ==")
    print(f"full demo, warm download cache : {t_full:7.1f} s   (target < 300 s)")
    print(f"no-op rerun                    : {t_noop:7.2f} s   (target < 5 s)")
    try:
        importlib.import_module("cect")
    except ImportError:
        print("cect not installed: skipping the side-by-side comparison (run `make test` first)")
        return
    from bench_vs_cect import compare_all  # noqa: E402  (same folder)

    compare_all(measure)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
