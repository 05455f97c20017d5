# Input functions of the fMRI stage (included by fmri.smk when the stage is activated).
# The run index is built once at parse time from the sample sheet and the cohort's
# derivatives (pybids; a bad input stops here, before any job); every job gets its rows as a
# parameter. The fmri_index rule writes the same index to the results. What a job needs is
# looked up in dicts built here once (input functions run for every job).

import functools
from neuroflow.fmri.index import expand_index as _fmri_expand_index
from neuroflow.fmri.inputs import fmri_index as _fmri_build_index
from neuroflow.fmri.inputs import run_groups as _fmri_run_groups
from neuroflow.fmri.inputs import subject_groups as _fmri_subject_groups
from neuroflow.fmri.pipeline import strategy_params as _fmri_strategy

FMRI_INDEX = _fmri_build_index(config)
FMRI_ROWS = {r["stem"]: r for r in FMRI_INDEX.to_dict("records")}
FMRI_SUBJECTS = sorted({r["sub"] for r in FMRI_ROWS.values()})
# one job per subject, one rule per run layout (outputs are static lists); for a cohort with
# many layouts, one job per run instead, one rule per run kind and atlas/strategy set
FMRI_SUBJECT_GROUPS = _fmri_subject_groups(FMRI_ROWS.values())
FMRI_RUN_GROUPS = _fmri_run_groups(FMRI_ROWS.values()) if FMRI_SUBJECT_GROUPS is None else []


FMRI_RUN_FILES = {
    stem: [r[c] for c in ("bold", "bold_rh", "bold_json", "confounds", "timeseries") if r.get(c)]
    for stem, r in FMRI_ROWS.items()
}


@fixed_params
def fmri_row(wildcards):
    return FMRI_ROWS[wildcards.stem]


@fixed_params
def fmri_run_files(wildcards):
    return FMRI_RUN_FILES[wildcards.stem]


def fmri_atlas(name):
    return FMRI["atlases"].get(name, {})


def fmri_atlas_files(names):
    """The files of the atlases ``names`` (static: a rule's atlases are fixed)."""
    atlases = [fmri_atlas(n) for n in names]
    return [a[k] for a in atlases for k in ("path", "left", "right", "labels", "dlabel") if a.get(k)]


def fmri_run_outputs(group, pattern, per):
    """A run rule's output list: ``pattern`` (with ``{folder}``, ``{stem}`` and ``{atlas}`` /
    ``{strategy}``) for each of its strategies, atlases or atlas x strategy pairs (in this
    order: see neuroflow.fmri.runjob.RunOutputs)."""
    if per == "strategy":
        return [pattern.replace("{strategy}", s) for s in group.strategies]
    if per == "atlas":
        return [pattern.replace("{atlas}", a) for a in group.atlases]
    return [
        pattern.replace("{atlas}", a).replace("{strategy}", s)
        for a in group.atlases
        for s in group.strategies
    ]


def fmri_subject_outputs(group, pattern, per=None):
    """A subject rule's output list: :func:`fmri_run_outputs` of each of its runs (``per``
    None: ``pattern`` once per run), ``{folder}``/``{stem}`` filled with the run's."""
    return [
        p.replace("{folder}", f"sub-{{fmrisub}}{run.folder}").replace("{stem}", f"sub-{{fmrisub}}{run.stem}")
        for run in group.runs
        for p in (fmri_run_outputs(run, pattern, per) if per else [pattern])
    ]


_fmri_report = report  # see fmri_subject_carpets


def fmri_subject_carpets(group):
    """The carpet plots of a subject rule's runs, each in the report (``report`` may not
    start a line in a rule file, as a formatter may place it: the parser reads it as the
    directive; hence the alias)."""
    paths = fmri_subject_outputs(group, f"{R}/{{folder}}/figures/{{stem}}_desc-carpet_bold.png")
    carpet = functools.partial(
        _fmri_report,
        caption="../report/fmri_carpet.rst",
        category=FMRI_CATEGORY,
        subcategory="1 runs: carpet plots",
    )
    return [
        carpet(p, labels={"run": f"sub-{{fmrisub}}{run.stem}", "figure": "carpet before/after"})
        for p, run in zip(paths, group.runs)
    ]


def fmri_run_runtime(group):
    """Minutes of a run's job: the sum of its steps' (confounds and denoising 10 per strategy
    and per pair, parcellation and QC 20)."""
    n_a, n_s = len(group.atlases), len(group.strategies)
    return 10 * n_s + 20 * n_a + 10 * n_a * n_s + 20


def fmri_group_qc_inputs(wildcards):
    return [
        f"{R}/{r['folder']}/{r['stem']}_desc-qc_bold.tsv"
        for r in sorted(FMRI_ROWS.values(), key=lambda r: r["stem"])
    ]


def fmri_group_timeseries_inputs(wildcards):
    return [
        f"{R}/{e['folder']}/{e['stem']}_atlas-{e['atlas']}_desc-{e['strategy']}_timeseries.tsv"
        for e in _fmri_expand_index(FMRI_INDEX)
    ]


def _fmri_subject_inputs(rows):
    """A subject's QC page inputs: one file per run (``figures/`` for figures), the
    regressors' and raw time series' sidecars."""
    run = [(f"{R}/{r['folder']}/", r) for r in sorted(rows, key=lambda r: r["stem"])]
    return {
        "qc": [f"{d}{r['stem']}_desc-qc_bold.tsv" for d, r in run],
        "carpets": [f"{d}figures/{r['stem']}_desc-carpet_bold.png" for d, r in run],
        "panels": [f"{d}figures/{r['stem']}_desc-qc_bold.png" for d, r in run],
        "regressors": [
            f"{d}{r['stem']}_desc-{s}_regressors.json"
            for d, r in run
            for s in r["strategies"].split(",")
            if s
        ],
        "raw": [
            f"{d}{r['stem']}_atlas-{a}_desc-raw_timeseries.json"
            for d, r in run
            for a in r["atlases"].split(",")
            if a
        ],
    }


# built once at parse time: input functions are called per job
_FMRI_BY_SUBJECT = {}
for _row in FMRI_ROWS.values():
    _FMRI_BY_SUBJECT.setdefault(_row["sub"], []).append(_row)
FMRI_SUBJECT_INPUTS = {sub: _fmri_subject_inputs(rows) for sub, rows in _FMRI_BY_SUBJECT.items()}


@fixed_params
def fmri_subject_inputs(wildcards):
    return FMRI_SUBJECT_INPUTS[wildcards.fmrisub]


FMRI_SUBJECT_ROWS = {sub: sorted(rows, key=lambda r: r["stem"]) for sub, rows in _FMRI_BY_SUBJECT.items()}
FMRI_SUBJECT_RUN_FILES = {
    sub: [f for r in rows for f in FMRI_RUN_FILES[r["stem"]]] for sub, rows in FMRI_SUBJECT_ROWS.items()
}


@fixed_params
def fmri_subject_rows(wildcards):
    return FMRI_SUBJECT_ROWS[wildcards.fmrisub]


@fixed_params
def fmri_subject_run_files(wildcards):
    return FMRI_SUBJECT_RUN_FILES[wildcards.fmrisub]
