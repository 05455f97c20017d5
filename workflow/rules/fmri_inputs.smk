# Input functions of the fMRI stage (included by fmri.smk when the stage is activated).
# The run index is built once at parse time from the sample sheet and the cohort's
# derivatives (pybids; a bad input stops here, before any job); every per-run job gets its
# row as a parameter. The fmri_index rule writes the same index to the results.

from neuroflow.fmri.index import expand_index as _fmri_expand_index
from neuroflow.fmri.inputs import fmri_index as _fmri_build_index
from neuroflow.fmri.pipeline import strategy_params as _fmri_strategy

FMRI_INDEX = _fmri_build_index(config)
FMRI_ROWS = {r["stem"]: r for r in FMRI_INDEX.to_dict("records")}


def fmri_row(wildcards):
    return FMRI_ROWS[wildcards.stem]


def fmri_run_files(wildcards):
    row = fmri_row(wildcards)
    cols = ("bold", "bold_rh", "bold_json", "confounds", "timeseries")
    return [row[c] for c in cols if row.get(c)]


def fmri_atlas(name):
    return FMRI.get("atlases", {}).get(name, {})


def fmri_atlas_files(wildcards):
    atlas = fmri_atlas(wildcards.atlas)
    return [atlas[k] for k in ("path", "left", "right", "labels", "dlabel") if atlas.get(k)]


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


def fmri_group_qc_inputs(wildcards):
    return [f"{R}/{r['folder']}/{r['stem']}_desc-qc_bold.tsv"
            for r in sorted(FMRI_ROWS.values(), key=lambda r: r["stem"])]


def fmri_group_timeseries_inputs(wildcards):
    return [f"{R}/{e['folder']}/{e['stem']}_atlas-{e['atlas']}_desc-{e['strategy']}_timeseries.tsv"
            for e in _fmri_expand_index(FMRI_INDEX)]
