# Input functions of the fMRI stage (included by fmri.smk when the stage is activated).
# Per-run jobs look their run up in the index written once by the checkpoint fmri_index.

import os
from functools import lru_cache as _fmri_cache

from neuroflow.fmri.pipeline import read_index as _fmri_read_index
from neuroflow.fmri.pipeline import strategy_params as _fmri_strategy


@_fmri_cache(maxsize=4)

def _fmri_index_rows(path, mtime):
    return {r["stem"]: r for r in _fmri_read_index(path).to_dict("records")}


def fmri_rows():
    path = checkpoints.fmri_index.get().output.tsv
    return _fmri_index_rows(path, os.path.getmtime(path))


def fmri_row(wildcards):
    return fmri_rows()[wildcards.stem]


def fmri_run_files(wildcards):
    row = fmri_row(wildcards)
    cols = ("bold", "bold_rh", "bold_json", "confounds", "timeseries")
    return [row[c] for c in cols if row.get(c)]


def fmri_atlas(name):
    return FMRI.get("atlases", {}).get(name, {})


def fmri_atlas_files(wildcards):
    atlas = fmri_atlas(wildcards.atlas)
    return [atlas[k] for k in ("path", "left", "right", "labels") if atlas.get(k)]


def fmri_strategies_of(wildcards):
    return [s for s in fmri_row(wildcards)["strategies"].split(",") if s]


def fmri_qc_regressors(wildcards):
    return {s: f"{R}/{wildcards.folder}/{wildcards.stem}_desc-{s}_regressors.tsv"
            for s in fmri_strategies_of(wildcards)}


def fmri_qc_raw(wildcards):
    row = fmri_row(wildcards)
    if row["kind"] != "timeseries":
        return []
    return f"{R}/{wildcards.folder}/{wildcards.stem}_atlas-{row['atlas']}_desc-raw_timeseries.tsv"


def fmri_all_runs(wildcards):
    return sorted(fmri_rows().values(), key=lambda r: r["stem"])


def fmri_group_qc_inputs(wildcards):
    return [f"{R}/{r['folder']}/{r['stem']}_desc-qc_bold.tsv" for r in fmri_all_runs(wildcards)]


def fmri_group_timeseries_inputs(wildcards):
    from neuroflow.fmri.index import expand_index
    import pandas as pd

    rows = pd.DataFrame(fmri_all_runs(wildcards))
    return [f"{R}/{e['folder']}/{e['stem']}_atlas-{e['atlas']}_desc-{e['strategy']}_timeseries.tsv"
            for e in expand_index(rows)]
