"""What the fMRI rule files import (cheap: pandas, and pybids only when derivatives are set).

:func:`fmri_index` builds the run index from the validated config at parse time, so that a
bad input stops the workflow before any job (naming the file and the config key) and the
DAG lists every run's jobs; :func:`check_fmri_inputs` is the same check for callers that
only want the errors (e.g. ``common.smk``); :func:`run_groups` gives the rules of the per-run
jobs (one per run kind and atlas/strategy set).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from neuroflow.bids import BIDSInputError, Selection
from neuroflow.config import filled_section

#: Keys of the fmri section replaced by the top-level cohort keys.
_MOVED = {"derivatives_dirs": "derivatives (top level)", "scan.tasks": "tasks (top level)"}


def _check_moved_keys(fmri: dict) -> None:
    values = {
        "derivatives_dirs": fmri.get("derivatives_dirs"),
        "scan.tasks": (fmri.get("scan") or {}).get("tasks"),
    }
    for key, value in values.items():
        if value:
            raise BIDSInputError(
                f"config key fmri.{key} ({value}) is no longer read: use "
                f"{_MOVED[key]} instead, and leave fmri.{key} empty"
            )


def index_arguments(config: dict) -> dict:
    """Keyword arguments of :func:`neuroflow.fmri.index.build_index` from the filled config."""
    fmri = filled_section(config, "fmri")
    scan = fmri["scan"]
    selection = Selection.from_config(config)
    return {
        "sample_sheet": fmri.get("sample_sheet") or None,
        "derivatives": selection if selection.derivatives else None,
        "spaces": tuple(scan.get("spaces") or ()),
        "desc": scan["desc"],
        "resources_dest": config["resources"]["dest"],
        "strategies": fmri.get("strategies") or {},
        "atlases": fmri.get("atlases") or {},
        "scan_strategies": tuple(scan.get("strategies") or ()),
        "participants": fmri.get("participants") or {},
        "timeseries_strategies": tuple(scan.get("timeseries_strategies") or ()),
        "simulated": fmri["simulated"],
    }


def check_atlas_tables(atlases: dict) -> None:
    """The ``labels`` table of each volumetric / surface atlas must index its image's labels.

    Checked at parse time for the atlas files that exist (a file of the resources folder
    not fetched yet is checked by the parcellation job instead); nibabel is imported only
    when an atlas has both a labels table and an image.

    Raises
    ------
    ValueError
        Naming both files and the config key ``fmri.atlases.<name>.labels``.
    """
    from pathlib import Path

    for name, atlas in atlases.items():
        labels = (atlas or {}).get("labels")
        images = [atlas[k] for k in ("path", "left", "right") if atlas.get(k)]
        if not labels or not images or not all(Path(p).is_file() for p in [labels, *images]):
            continue
        import numpy as np

        from neuroflow.fmri.atlases import _read_surface_labels, check_label_table
        from neuroflow.fmri.runio import load_atlas_names

        names = load_atlas_names(labels)
        if atlas.get("path"):
            import nibabel as nib

            values = np.unique(np.asarray(nib.load(atlas["path"]).dataobj).round())
            check_label_table(values, names, labels, atlas["path"], name)
        elif atlas.get("left") and atlas.get("right"):
            values = np.concatenate([_read_surface_labels(atlas[k])[0] for k in ("left", "right")])
            check_label_table(values, names, labels, f"{atlas['left']} / {atlas['right']}", name)


def fmri_index(config: dict):
    """The run index of the config (a DataFrame, one row per run; see ``build_index``).

    Files of the resources folder (fetched by a rule) may be missing yet; every other file
    must exist.

    Raises
    ------
    ValueError (neuroflow.bids.BIDSInputError for the derivatives folders)
        Naming the file and the config key.
    """
    from neuroflow.fmri.index import build_index

    _check_moved_keys(config["fmri"])
    check_atlas_tables(config["fmri"].get("atlases") or {})
    args = index_arguments(config)
    index = build_index(**args, missing_ok_under=args["resources_dest"])
    if index.empty:
        folders = list(args["derivatives"].derivatives) if args["derivatives"] else []
        raise BIDSInputError(
            "config keys fmri.sample_sheet / derivatives: the fMRI stage is "
            f"activated but finds no run (sample sheet "
            f"{args['sample_sheet'] or 'none'}, derivatives folders {folders})"
        )
    return index


def check_fmri_inputs(config: dict):
    """Check the fMRI inputs before any job; return the run index (None when fmri is off)."""
    if not (config.get("fmri") or {}).get("activate"):
        return None
    return fmri_index(config)


@dataclass(frozen=True)
class RunGroup:
    """Runs that one rule of the fMRI stage processes in one job each (``runjob``): runs of
    one kind with the same atlases and strategies, hence the same output names.

    Attributes
    ----------
    rule : str
        Rule name: ``fmri_run_<kind>``, numbered from 2 when a kind has several groups.
    kind : str
        Run kind of the index (``volume``, ``surface``, ``cifti``, ``timeseries``).
    atlases, strategies : tuple of str
        In the order of the index row.
    stems : tuple of str
        Run stems of the group.
    stem_regex : str
        Wildcard constraint on ``stem`` (exactly the group's stems); empty for the largest
        group, which ``ruleorder`` places after the others.
    """

    rule: str
    kind: str
    atlases: tuple
    strategies: tuple
    stems: tuple
    stem_regex: str

    @property
    def suffix(self) -> str:
        """The rule name after ``fmri_run_``."""
        return self.rule.removeprefix("fmri_run_")


def _names(value) -> tuple:
    return tuple(n for n in str(value).split(",") if n)


def run_groups(rows) -> list[RunGroup]:
    """The rules of the per-run jobs for the run index ``rows`` (dicts), largest group first."""
    found = defaultdict(list)
    for row in rows:
        found[(row["kind"], _names(row["atlases"]), _names(row["strategies"]))].append(row["stem"])
    order = sorted(found, key=lambda k: (-len(found[k]), k))
    count: dict = defaultdict(int)
    groups = []
    for i, key in enumerate(order):
        kind, atlases, strategies = key
        count[kind] += 1
        rule = f"fmri_run_{kind}" + (str(count[kind]) if count[kind] > 1 else "")
        stems = tuple(sorted(found[key]))
        groups.append(RunGroup(rule, kind, atlases, strategies, stems, stems_regex(stems) if i else ""))
    return groups


def _trie_regex(words) -> str:
    """A regex matching exactly ``words`` (a trie: matching time grows with word length,
    not with the number of words)."""
    words = sorted(set(words))
    if words == [""]:
        return ""
    optional = "" in words
    heads = defaultdict(list)
    for w in words:
        if w:
            heads[w[0]].append(w[1:])
    branches = [re.escape(c) + _trie_regex(rest) for c, rest in sorted(heads.items())]
    body = branches[0] if len(branches) == 1 and not optional else f"(?:{'|'.join(branches)})"
    return body + ("?" if optional else "")


def stems_regex(stems) -> str:
    """A regex matching exactly the run ``stems`` (``sub-<label>[_<entities>]``): for each
    distinct entity part, a trie of the subject labels that have it."""
    labels = defaultdict(list)
    for stem in stems:
        sub, _, rest = stem.partition("_")
        labels["_" + rest if rest else ""].append(sub.removeprefix("sub-"))
    return (
        "(?:"
        + "|".join(f"sub-{_trie_regex(subs)}{re.escape(rest)}" for rest, subs in sorted(labels.items()))
        + ")"
    )


@dataclass(frozen=True, order=True)
class RunLayout:
    """One run of a subject, without the subject: ``folder`` and ``stem`` follow
    ``sub-<label>`` (e.g. ``/ses-1/func`` and ``_task-rest_run-1_space-fsaverage5``)."""

    folder: str
    stem: str
    kind: str
    atlases: tuple
    strategies: tuple


@dataclass(frozen=True)
class SubjectGroup:
    """Subjects whose runs have the same layout: one rule, one job per subject (every run's
    steps, then the subject's QC page).

    Attributes
    ----------
    rule : str
        ``fmri_subject``, numbered from 2 for the other layouts.
    runs : tuple of RunLayout
        In stem order.
    subjects : tuple of str
        Subject labels.
    sub_regex : str
        Wildcard constraint on the subject label (exactly ``subjects``); empty for the
        largest group, which ``ruleorder`` places after the others.
    """

    rule: str
    runs: tuple
    subjects: tuple
    sub_regex: str

    @property
    def suffix(self) -> str:
        """The rule name after ``fmri_subject`` (empty or a number)."""
        return self.rule.removeprefix("fmri_subject")

    @property
    def atlases(self) -> tuple:
        return tuple(sorted({a for r in self.runs for a in r.atlases}))

    @property
    def strategies(self) -> tuple:
        return tuple(sorted({s for r in self.runs for s in r.strategies}))


#: Most run layouts planned one job per subject; a cohort with more (runs missing here and
#: there) is planned one job per run (:func:`run_groups`), as every rule's outputs are
#: matched against every file Snakemake looks up.
MAX_SUBJECT_RULES = 8


def subject_groups(rows, max_rules: int = MAX_SUBJECT_RULES) -> list[SubjectGroup] | None:
    """The rules of the per-subject jobs for the run index ``rows`` (dicts), largest group
    first; None when the subjects have more than ``max_rules`` run layouts."""
    runs = defaultdict(list)
    for row in sorted(rows, key=lambda r: r["stem"]):
        prefix = f"sub-{row['sub']}"
        if not (row["stem"].startswith(prefix) and row["folder"].startswith(prefix)):
            raise ValueError(f"run {row['stem']} ({row['folder']}): not of subject {row['sub']}")
        runs[row["sub"]].append(
            RunLayout(
                row["folder"][len(prefix) :],
                row["stem"][len(prefix) :],
                row["kind"],
                _names(row["atlases"]),
                _names(row["strategies"]),
            )
        )
    layouts = defaultdict(list)
    for sub, layout in runs.items():
        layouts[tuple(layout)].append(sub)
    if len(layouts) > max_rules:
        return None
    order = sorted(layouts, key=lambda k: (-len(layouts[k]), k))
    return [
        SubjectGroup(
            "fmri_subject" + (str(i + 1) if i else ""),
            key,
            tuple(sorted(layouts[key])),
            _trie_regex(layouts[key]) if i else "",
        )
        for i, key in enumerate(order)
    ]
