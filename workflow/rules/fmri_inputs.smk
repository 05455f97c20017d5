# Input functions of the fMRI stage (included by fmri.smk when the stage is activated).
# The run index is built once at parse time from the sample sheet and the cohort's
# derivatives (pybids; a bad input stops here, before any job); every per-run job gets its
# row as a parameter. The fmri_index rule writes the same index to the results.

from neuroflow.fmri.index import expand_index as _fmri_expand_index
from neuroflow.fmri.inputs import fmri_index as _fmri_build_index
from neuroflow.fmri.pipeline import strategy_params as _fmri_strategy

FMRI_INDEX = _fmri_build_index(config)
FMRI_ROWS = {r["stem"]: r for r in FMRI_INDEX.to_dict("records")}
FMRI_SUBJECTS = sorted({r["sub"] for r in FMRI_ROWS.values()})


def fmri_row(wildcards):
    return FMRI_ROWS[wildcards.stem]


def fmri_run_files(wildcards):
    row = fmri_row(wildcards)
    cols = ("bold", "bold_rh", "bold_json", "confounds", "timeseries")
    return [row[c] for c in cols if row.get(c)]


def fmri_atlas(name):
    return FMRI["atlases"].get(name, {})


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


def _fmri_subject_rows(wildcards):
    return sorted((r for r in FMRI_ROWS.values() if r["sub"] == wildcards.fmrisub),
                  key=lambda r: r["stem"])


def fmri_subject_files(suffix, figure=False):
    """Input function: one file per run of the subject (``figures/`` for figures)."""
    sub = "figures/" if figure else ""
    return lambda wc: [f"{R}/{r['folder']}/{sub}{r['stem']}{suffix}" for r in _fmri_subject_rows(wc)]


def fmri_subject_regressors(wildcards):
    return [f"{R}/{r['folder']}/{r['stem']}_desc-{s}_regressors.json"
            for r in _fmri_subject_rows(wildcards) for s in r["strategies"].split(",") if s]


def fmri_subject_raw(wildcards):
    return [f"{R}/{r['folder']}/{r['stem']}_atlas-{a}_desc-raw_timeseries.json"
            for r in _fmri_subject_rows(wildcards) for a in r["atlases"].split(",") if a]
