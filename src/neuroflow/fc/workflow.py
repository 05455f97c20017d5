"""Helpers the fc rules call (input lists, benchmark selection); no Snakemake import."""

from __future__ import annotations


def active_benchmarks(fc: dict) -> list[str]:
    """Benchmark ids this config runs: ``use_benchmarks`` or, if empty, every benchmark.

    Raises
    ------
    ValueError
        Naming ids of ``use_benchmarks`` that are not under ``benchmarks``.
    """
    known = sorted(fc.get("benchmarks", {}))
    chosen = list(fc.get("use_benchmarks") or known)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"config key fc.use_benchmarks: unknown benchmark id(s) {unknown}; "
                         f"defined under fc.benchmarks: {known}")
    return sorted(chosen)


def bench_files(fc: dict, manifest: dict, dest, bench_id: str) -> dict[str, list[str]]:
    """Input files of one benchmark: dataset id -> files, or ``{"runs_table": [table]}``."""
    from neuroflow.resources import dataset_paths

    bench = fc["benchmarks"][bench_id]
    if bench.get("source") == "timeseries":
        if not bench.get("runs_table"):
            raise ValueError(f"config key fc.benchmarks.{bench_id}.runs_table: required for "
                             "source timeseries")
        return {"runs_table": [bench["runs_table"]]}
    if not bench.get("datasets"):
        raise ValueError(f"config key fc.benchmarks.{bench_id}.datasets: list the manifest "
                         f"datasets of source {bench.get('source')}")
    return {ds: [str(p) for p in dataset_paths(manifest, ds, dest)] for ds in bench["datasets"]}


def uses_sps(fc: dict) -> bool:
    """Whether a configured selector needs the SCLCS training (its SPS file)."""
    from neuroflow.fc.coreset import SPS_SELECTORS

    return bool(set(SPS_SELECTORS) & set(fc.get("selectors", [])))


def operator_families(fc: dict) -> tuple[list[str], list[str]]:
    """(selected operator names, their families sorted) from the fc config."""
    from neuroflow.fc.operators import operator_bank, select_operators

    bank = operator_bank(**fc.get("operator_params", {}))
    names = select_operators(bank, fc.get("operators", "all"))
    return names, sorted({bank[n].family for n in names})
