"""Helpers the fc rules call (input lists, benchmark selection); no Snakemake import."""

from __future__ import annotations


def active_benchmarks(fc: dict) -> list[str]:
    """Benchmark ids this config runs: ``use_benchmarks`` or, if empty, every benchmark.

    Raises
    ------
    ValueError
        Naming ids of ``use_benchmarks`` that are not under ``benchmarks``.
    """
    known = sorted(fc["benchmarks"])
    chosen = list(fc.get("use_benchmarks") or known)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(
            f"config key fc.use_benchmarks: unknown benchmark id(s) {unknown}; "
            f"defined under fc.benchmarks: {known}"
        )
    return sorted(chosen)


def bench_files(fc: dict, manifest: dict, dest, bench_id: str) -> dict[str, list[str]]:
    """Input files of one benchmark: dataset id -> files, or ``{"runs_table": [table]}``."""
    from neuroflow.resources import dataset_paths

    bench = fc["benchmarks"][bench_id]
    if bench.get("source") == "timeseries":
        if not bench.get("runs_table"):
            raise ValueError(
                f"config key fc.benchmarks.{bench_id}.runs_table: required for source timeseries"
            )
        return {"runs_table": [bench["runs_table"]]}
    if not bench.get("datasets"):
        raise ValueError(
            f"config key fc.benchmarks.{bench_id}.datasets: list the manifest "
            f"datasets of source {bench.get('source')}"
        )
    return {ds: [str(p) for p in dataset_paths(manifest, ds, dest)] for ds in bench["datasets"]}


FMRI_INDEX = "group/fmri/desc-timeseries_index.tsv"


def benchmark_spec(config: dict, results_dir: str, bench_id: str) -> dict:
    """A benchmark's settings as the samples job reads them.

    ``source: fmri`` is the fMRI stage's region time series: a ``timeseries`` benchmark
    whose runs table is that stage's group index (an output of rule ``fmri_group``, so
    the DAG wires fmri -> fc) with ``filters`` picking one atlas and one strategy.
    """
    bench = dict(config["fc"]["benchmarks"][bench_id])
    if bench.get("source") != "fmri":
        return bench
    key = f"fc.benchmarks.{bench_id}"
    if not (config.get("fmri") or {}).get("activate"):
        raise ValueError(
            f"config key {key}.source: source fmri reads the fMRI stage's region "
            "time series; switch it on (fmri.activate: true)"
        )
    filters = bench.get("filters") or {}
    missing = [k for k in ("atlas", "strategy") if not filters.get(k)]
    if missing:
        raise ValueError(
            f"config key {key}.filters: source fmri needs {missing} (the fMRI "
            "stage writes one series per run x atlas x strategy)"
        )
    return {
        **bench,
        "source": "timeseries",
        "runs_table": f"{results_dir}/{FMRI_INDEX}",
        "base_dir": str(results_dir),
    }


def benchmark_inputs(config: dict, manifest: dict, results_dir: str, bench_id: str) -> dict[str, list[str]]:
    """Input files of one benchmark, by kind: the EEG stage's cleaned recordings (source
    eeg), the fMRI stage's time-series index (source fmri), a runs table, or manifest
    datasets. Upstream stages' outputs make the DAG edges; raw files are never read."""
    bench = config["fc"]["benchmarks"][bench_id]
    if bench.get("source") == "eeg":
        from neuroflow.eeg.inputs import clean_eeg_files

        return {"eeg": clean_eeg_files(config, results_dir, f"fc.benchmarks.{bench_id}.source")}
    if bench.get("source") == "fmri":
        return {"runs_table": [benchmark_spec(config, results_dir, bench_id)["runs_table"]]}
    return bench_files(config["fc"], manifest, config["resources"]["dest"], bench_id)


def check_protocol_subjects(config: dict, bench_id: str, subjects) -> None:
    """Stop before any job when the held-out protocol cannot split a benchmark whose
    subjects are known at parse time (sources fmri and eeg: the stages' selected
    participants), naming ``fc.protocol`` and the benchmark.

    The held-out protocol needs >= 4 subjects (2 held out, 2 in the selection pool); the
    in-sample protocol (``fc.protocol: insample``) runs on any cohort.
    """
    from neuroflow.fc.protocol import MIN_HELDOUT_SUBJECTS

    n = len(set(subjects))
    if config["fc"]["protocol"] == "heldout" and n < MIN_HELDOUT_SUBJECTS:
        source = config["fc"]["benchmarks"][bench_id].get("source")
        raise ValueError(
            f"config key fc.protocol: heldout needs >= {MIN_HELDOUT_SUBJECTS} subjects "
            f"(2 held out, 2 in the selection pool), but benchmark fc.benchmarks.{bench_id} "
            f"(source {source}) has {n}; set fc.protocol: insample for a cohort this small"
        )


def uses_sps(fc: dict) -> bool:
    """Whether a configured selector needs the SCLCS training (its SPS file)."""
    from neuroflow.fc.coreset import SPS_SELECTORS

    return bool(set(SPS_SELECTORS) & set(fc["selectors"]))


def operator_families(fc: dict) -> tuple[list[str], list[str]]:
    """(selected operator names, their families sorted) from the fc config."""
    from neuroflow.fc.operators import operator_bank, select_operators

    bank = operator_bank(**fc["operator_params"])
    names = select_operators(bank, fc["operators"])
    return names, sorted({bank[n].family for n in names})
