"""What the trsa rule file imports: the plan of the task-fMRI route (cheap, no numerics).

``trsa.task`` reads a cohort's task fMRI through the BIDS layer (:mod:`neuroflow.bids`):
preprocessed BOLD (``desc-preproc_bold``), the run's brain mask (``desc-brain_mask``) and
confounds (``desc-confounds_timeseries.tsv``) from the top-level ``derivatives`` folder(s),
and the run's ``events.tsv`` from the raw ``bids_dir`` (BIDS inheritance: the most specific
events file whose entities all match the run). :func:`plan_task` turns them into

* one job per subject and task/acquisition/space/resolution (:class:`TaskSubject`): the
  run-wise GLM of each of its runs (:class:`TaskRun`), then its crossnobis RDM (runs of
  every session are the cross-validation folds),
* one group stack per task/acquisition/space/resolution (:class:`TaskGroup`).

Everything that can be known from the files' names and the small events tables is checked
here, before any job: an ``events.tsv`` without ``trial_type``/``onset``/``duration``, a run
of a task with events but none of its own, a subject with fewer than ``min_runs`` runs, a
condition named in ``trsa.task.conditions`` that a run lacks, a BOLD run without mask or
confounds, two BOLD files of one run (set ``trsa.task.space`` / ``res``). The message names
the file and the config key (:class:`neuroflow.bids.BIDSInputError`).
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from neuroflow.bids import BIDSInputError, Selection, folder, layout, query, stem
from neuroflow.bids_index import _entity_table

KEY = "trsa.task"
#: entities that identify a run in the raw dataset (events are matched on them)
RUN_ENTITIES = ("sub", "ses", "task", "acq", "ce", "rec", "dir", "run", "echo")
#: entities of a derivative BOLD that are not part of the output names of its products
DROP = ("desc",)
REQUIRED_EVENT_COLUMNS = ("onset", "duration", "trial_type")


@dataclass(frozen=True)
class TaskRun:
    """One preprocessed BOLD run with its mask, confounds and events."""

    key: str  # "<folder>/<stem>" of the run's outputs (every entity but desc)
    entities: dict
    bold: str
    mask: str
    confounds: str  # "" when trsa.task.confounds.strategy is none
    events: str


@dataclass(frozen=True)
class TaskSubject:
    """The runs of one subject and task/acq/space/res: one crossnobis RDM job."""

    key: str
    entities: dict
    runs: tuple[TaskRun, ...]


@dataclass(frozen=True)
class TaskGroup:
    """Subjects sharing task/acq/space/res and the conditions of their RDMs."""

    key: str  # stem without sub/ses/run, e.g. "task-objects_space-MNI152NLin2009cAsym_res-2"
    entities: dict
    subjects: tuple[TaskSubject, ...]
    conditions: tuple[str, ...]
    dropped_conditions: tuple[str, ...] = ()  # trial types not in every run (nuisance only)


@dataclass
class TaskPlan:
    runs: dict = field(default_factory=dict)  # key -> TaskRun
    subjects: dict = field(default_factory=dict)  # key -> TaskSubject
    groups: dict = field(default_factory=dict)  # key -> TaskGroup
    settings: dict = field(default_factory=dict)  # the trsa.task-like settings of its jobs
    notes: list = field(default_factory=list)  # what was skipped and why
    group_of: dict = field(default_factory=dict)  # run or subject key -> TaskGroup

    def identified_groups(self) -> list[TaskGroup]:
        """Groups with >= 2 subjects (identification across subjects needs two)."""
        return [g for g in self.groups.values() if len(g.subjects) >= 2]


def read_event_header(path) -> list[str]:
    """Column names of an events TSV (first line only)."""
    with open(path, newline="") as fh:
        return next(csv.reader(fh, delimiter="\t"), [])


def trial_types(path, key: str = KEY) -> set[str]:
    """Trial types of an events TSV; raises naming the file and key when columns are missing."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    header = read_event_header(path)
    missing = [c for c in REQUIRED_EVENT_COLUMNS if c not in header]
    if missing:
        raise BIDSInputError(
            f"config key {key}: events file {path} has no column(s) {missing} (columns: "
            f"{header}); the task route needs onset, duration and trial_type"
        )
    types = {r["trial_type"] for r in rows if r["trial_type"] not in ("", "n/a")}
    if not types:
        raise BIDSInputError(f"config key {key}: events file {path} holds no event with a trial_type")
    return types


def _match(candidates: list[dict], ents: dict, keys=RUN_ENTITIES) -> list[dict]:
    """Candidates whose every present run entity equals the run's (BIDS inheritance)."""
    out = []
    for c in candidates:
        if all(c.get(k) in (None, "") or str(c.get(k)) == str(ents.get(k, "")) for k in keys):
            out.append(c)
    return out


def _most_specific(candidates: list[dict], keys=RUN_ENTITIES) -> list[dict]:
    if not candidates:
        return []
    n = max(sum(c.get(k) not in (None, "") for k in keys) for c in candidates)
    return [c for c in candidates if sum(c.get(k) not in (None, "") for k in keys) == n]


def _raw_events(bids_dir: str) -> list[dict]:
    """Every ``events.tsv`` of ``bids_dir`` (any participant) with its short-key entities,
    read from the index in one query (cached per layout), not file by file."""
    lay = layout(bids_dir, False, "bids_dir")
    table = _entity_table(lay)
    return [
        {"path": path, **table.get(path, {})}
        for path in lay.get(return_type="filename", suffix="events", extension=".tsv")
    ]


def _bold_runs(sel: Selection, cfg: dict, key: str = KEY) -> list[dict]:
    """Preprocessed BOLD runs of the derivatives folders (first folder holding a run wins)."""
    filters = {"suffix": "bold", "desc": "preproc", "extension": [".nii.gz", ".nii"]}
    if cfg.get("space"):
        filters["space"] = cfg["space"]
    if cfg.get("res"):
        filters["res"] = cfg["res"]
    runs, seen = [], {}
    for i, deriv in enumerate(sel.derivatives):
        for row in query(deriv, sel, True, f"derivatives[{i}]", **filters):
            row = {**row, "_deriv": deriv, "_key": f"derivatives[{i}]"}
            rid = tuple(row.get(k) for k in RUN_ENTITIES)
            if rid in seen and seen[rid]["_deriv"] != deriv:
                continue  # an earlier derivatives folder already holds this run
            if rid in seen:
                raise BIDSInputError(
                    f"config keys {key}.space / {key}.res: two preprocessed BOLD files of one "
                    f"run: {seen[rid]['path']} and {row['path']}; set space and res to pick "
                    "one"
                )
            seen[rid] = row
            runs.append(row)
    return runs


class _Index:
    """Files of one kind, grouped by subject, matched to runs by their entities (BIDS
    inheritance: a file without ``run`` applies to every run); ``exact`` entities must be
    equal (absent = absent), e.g. a mask's space and resolution."""

    def __init__(self, rows: list[dict], exact=()):
        self.exact = exact
        self.by_sub = defaultdict(list)
        for row in rows:
            self.by_sub[str(row.get("sub") or "")].append(row)

    def match(self, ents: dict) -> list[dict]:
        rows = self.by_sub.get(str(ents.get("sub")), []) + self.by_sub.get("", [])
        rows = [r for r in rows if all((r.get(k) or None) == (ents.get(k) or None) for k in self.exact)]
        return _most_specific(_match(rows, ents))


def _companion(index: _Index, deriv: str, ents: dict, what: str, key: str) -> str:
    rows = index.match(ents)
    if len(rows) != 1:
        have = "none" if not rows else ", ".join(Path(r["path"]).name for r in rows)
        raise BIDSInputError(
            f"config key {key}: run {stem(ents, DROP)} needs exactly one {what} in {deriv}; found {have}"
        )
    return rows[0]["path"]


def fmri_regressors_path(config: dict, ents: dict, confounds: dict, key: str = KEY) -> str:
    """The fMRI stage's ``<stem>_desc-<strategy>_regressors.tsv`` of the run with entities
    ``ents`` (``confounds.strategy: fmri``): the run's denoising regressors and censoring
    as that stage computed them, so the GLM reads the stage's output, not the raw table.

    Raises :class:`BIDSInputError` naming the key when the fMRI stage is off or the
    strategy is not one it computes for its scanned runs.
    """
    name = confounds.get("fmri_strategy") or ""
    fmri = config.get("fmri") or {}
    if not fmri.get("activate"):
        raise BIDSInputError(
            f"config key {key}.confounds.strategy: 'fmri' takes the fMRI "
            "stage's regressors; switch that stage on (fmri.activate: true)"
        )
    scanned = (fmri.get("scan") or {}).get("strategies") or list(fmri.get("strategies") or {})
    if name not in (fmri.get("strategies") or {}) or name not in scanned:
        raise BIDSInputError(
            f"config key {key}.confounds.fmri_strategy: {name!r} is not a strategy the fMRI "
            f"stage applies to derivatives runs (fmri.scan.strategies: {scanned})"
        )
    return (
        f"{config['results_dir']}/{folder(ents, 'func')}/{stem(ents, ('desc',))}_desc-{name}_regressors.tsv"
    )


def _task_section(config: dict, key: str) -> tuple[dict, Selection]:
    """The config section ``key`` and the BIDS selection, checked: raw dataset, derivatives
    and atlas are given."""
    cfg = config
    for part in key.split("."):
        cfg = cfg[part]
    sel = Selection.from_config(config)
    if not sel.bids_dir:
        raise BIDSInputError(f"config key bids_dir: {key} needs the raw BIDS dataset (the events.tsv files)")
    if not sel.derivatives:
        raise BIDSInputError(
            f"config key derivatives: {key} needs a derivatives folder "
            "with preprocessed BOLD (desc-preproc_bold)"
        )
    _check_atlas(cfg, key)
    return cfg, sel


def _run_events(
    events: _Index, tasks_with_events: set, ents: dict, bold: str, bids_dir: str, key: str, notes: list
) -> str | None:
    """The events file of a BOLD run; ``None`` (and a note) for a run of a task without
    events (not a task run). A task run without its own events file raises."""
    name = Path(bold).name
    found = events.match(ents)
    if ents.get("task") not in tasks_with_events and not found:
        notes.append(
            f"{name}: task-{ents.get('task')} has no events.tsv in {bids_dir} (not a task run); skipped"
        )
        return None
    if not found:
        raise BIDSInputError(
            f"config keys bids_dir / {key}: run {name} has no events.tsv in {bids_dir} "
            f"(other runs of task-{ents.get('task')} have one)"
        )
    if len(found) > 1:
        raise BIDSInputError(
            f"config key bids_dir: run {name} matches several events files: {[f['path'] for f in found]}"
        )
    return found[0]["path"]


class _Companions:
    """Brain mask and confounds of each BOLD run; one pybids query per derivatives folder
    and kind, made when a folder's first run asks."""

    def __init__(self, config: dict, cfg: dict, sel: Selection, key: str):
        self.config, self.cfg, self.sel, self.key = config, cfg, sel, key
        self.strategy = cfg["confounds"]["strategy"]
        self.indexes = {}  # derivatives folder -> (masks, confounds)

    def _indexes(self, deriv: str, dkey: str) -> tuple[_Index, _Index]:
        if deriv not in self.indexes:
            sel = self.sel
            masks = query(
                deriv,
                sel,
                True,
                dkey,
                suffix="mask",
                desc="brain",
                datatype="func",
                extension=[".nii.gz", ".nii"],
            )
            tables = query(deriv, sel, True, dkey, suffix="timeseries", desc="confounds", extension=".tsv")
            self.indexes[deriv] = (_Index(masks, exact=("space", "res", "den")), _Index(tables))
        return self.indexes[deriv]

    def files(self, bold: dict, ents: dict) -> tuple[str, str]:
        """``(mask, confounds)`` of a run (confounds ``""`` for strategy ``none``)."""
        deriv, dkey = bold["_deriv"], bold["_key"]
        masks, confound_tables = self._indexes(deriv, dkey)
        mask = _companion(masks, deriv, ents, "brain mask (desc-brain_mask)", dkey)
        confounds = ""
        if self.strategy == "fmri":  # the fMRI stage's regressors of this run (a DAG edge)
            confounds = fmri_regressors_path(self.config, ents, self.cfg["confounds"], self.key)
        elif self.strategy != "none":
            confounds = _companion(
                confound_tables, deriv, ents, "confounds table (desc-confounds_timeseries.tsv)", dkey
            )
        return mask, confounds


def plan_task(config: dict, key: str = KEY, min_conditions: int = 3) -> TaskPlan:
    """Plan the GLM, RDM and group jobs of ``trsa.task`` (see the module docstring).

    ``key`` names another config section of the same form (``encoding.task``: the same
    runs, one encoding design per subject); ``min_conditions`` is the fewest conditions
    in every run a group needs (3 for an RDM statistic).
    """
    cfg, sel = _task_section(config, key)
    events = _raw_events(sel.bids_dir)
    tasks_with_events = {e.get("task") for e in events}
    events = _Index(events)
    companions = _Companions(config, cfg, sel, key)
    plan = TaskPlan(settings=cfg)
    for bold in _bold_runs(sel, cfg, key):
        ents = {k: v for k, v in bold.items() if not k.startswith("_") and k != "path"}
        found = _run_events(events, tasks_with_events, ents, bold["path"], sel.bids_dir, key, plan.notes)
        if found is None:
            continue
        mask, confounds = companions.files(bold, ents)
        rkey = f"{folder(ents, 'func')}/{stem(ents, DROP)}"
        plan.runs[rkey] = TaskRun(rkey, ents, bold["path"], mask, confounds, found)
    if not plan.runs:
        raise BIDSInputError(
            f"config keys derivatives / {key}: no preprocessed BOLD (desc-preproc_bold"
            + (f", space-{cfg['space']}" if cfg.get("space") else "")
            + (f", res-{cfg['res']}" if cfg.get("res") else "")
            + f") with events in {list(sel.derivatives)}"
        )
    _plan_subjects(plan, cfg, key, min_conditions)
    return plan


def _plan_subjects(plan: TaskPlan, cfg: dict, key: str = KEY, min_conditions: int = 3) -> None:
    by_subject = defaultdict(list)
    for run in plan.runs.values():
        ents = {k: v for k, v in run.entities.items() if k not in ("run", "ses", *DROP)}
        by_subject[tuple(sorted(ents.items()))].append(run)
    by_group = defaultdict(list)
    for items, runs in sorted(by_subject.items()):
        ents = dict(items)
        sessions = {r.entities.get("ses") for r in runs}
        if len(sessions) == 1 and None not in sessions:
            ents["ses"] = sessions.pop()
        if len(runs) < cfg["min_runs"]:
            raise BIDSInputError(
                f"config key {key}.min_runs: sub-{ents['sub']} {stem(ents, ('sub',))} has "
                f"{len(runs)} run(s) ({', '.join(Path(r.bold).name for r in runs)}); the "
                f"{key} needs >= {cfg['min_runs']} runs as cross-validation folds"
            )
        skey = f"{folder(ents, 'func')}/{stem(ents)}"
        subject = TaskSubject(skey, ents, tuple(sorted(runs, key=lambda r: r.key)))
        plan.subjects[skey] = subject
        gents = {k: v for k, v in ents.items() if k not in ("sub", "ses")}
        by_group[stem(gents)].append(subject)
    wanted = [str(c) for c in cfg["conditions"]]
    for gkey, subjects in sorted(by_group.items()):
        per_run = {}
        for s in subjects:
            for r in s.runs:
                per_run[r.events] = trial_types(r.events, key)
        if wanted:
            for path, types in per_run.items():
                missing = sorted(set(wanted) - types)
                if missing:
                    raise BIDSInputError(
                        f"config key {key}.conditions: condition(s) {missing} never occur in "
                        f"{path} (its trial types: {sorted(types)})"
                    )
            conditions, dropped = tuple(wanted), ()
        else:
            common = set.intersection(*per_run.values())
            conditions = tuple(sorted(common))
            dropped = tuple(sorted(set.union(*per_run.values()) - common))
        if len(conditions) < min_conditions:
            raise BIDSInputError(
                f"config key {key}.conditions: {gkey} has {len(conditions)} condition(s) in "
                f"every run ({list(conditions)}); {min_conditions} are needed (events files "
                f"e.g. {next(iter(per_run))})"
            )
        gents = {k: v for k, v in subjects[0].entities.items() if k not in ("sub", "ses")}
        group = TaskGroup(gkey, gents, tuple(subjects), conditions, dropped)
        plan.groups[gkey] = group
        for s in subjects:
            plan.group_of[s.key] = group
            plan.group_of.update({r.key: group for r in s.runs})
        if len(subjects) < 2:
            plan.notes.append(
                f"{gkey}: one subject; the identification across subjects is skipped (chance would be 1.0)"
            )


def _check_atlas(cfg: dict, key: str = KEY) -> None:
    atlas = cfg["atlas"]
    if not atlas.get("image"):
        raise BIDSInputError(
            f"config key {key}.atlas.image: a label image (dseg NIfTI in the "
            "BOLD's space) is needed for the regions"
        )
    if not Path(atlas["image"]).is_file():
        raise BIDSInputError(f"config key {key}.atlas.image: file not found: {atlas['image']}")
    labels = atlas.get("labels")
    if labels:
        if not Path(labels).is_file():
            raise BIDSInputError(f"config key {key}.atlas.labels: file not found: {labels}")
        header = read_event_header(labels)
        if "index" not in header or "name" not in header:
            raise BIDSInputError(
                f"config key {key}.atlas.labels: {labels} needs the columns "
                f"index and name (BIDS dseg.tsv); it has {header}"
            )


def haxby_task_settings(config: dict, root: str) -> dict:
    """trsa.task-like settings of the Haxby demo on its converted BIDS tree (``root``)."""
    hx = config["trsa"]["haxby"]
    return {
        "activate": True,
        "space": "",
        "res": "",
        "conditions": [],
        "hrf_model": hx["hrf_model"],
        "high_pass": hx["high_pass"],
        "noise_model": "ols",
        "noise_method": hx["noise_method"],
        "confounds": {"strategy": "none", "options": {}},
        "min_runs": 2,
        "min_voxels": 2,
        "atlas": {"image": f"{root}/atlas_dseg.nii.gz", "labels": f"{root}/atlas_dseg.tsv"},
    }


def plan_haxby_task(config: dict, root: str) -> TaskPlan:
    """The task-route plan of the Haxby demo, once :func:`haxby_to_bids` wrote ``root``.

    The converted tree is queried through the same BIDS layer as a user's cohort.
    """
    sub = {
        "bids_dir": f"{root}/bids",
        "derivatives": [f"{root}/derivatives"],
        "trsa": {"task": haxby_task_settings(config, root)},
    }
    return plan_task(sub)


def haxby_keys(config: dict) -> dict:
    """Output keys of the Haxby demo on the task route (known before the conversion)."""
    hx = config["trsa"]["haxby"]
    sub, task = hx["subject"], hx["task"]
    base = f"sub-{sub}/func/sub-{sub}_task-{task}"
    return {
        "run": re.escape(base) + r"_run-\d+_space-native",
        "subject": f"{base}_space-native",
        "group": f"task-{task}_space-native",
    }


@dataclass(frozen=True)
class SubjectLayout:
    """Subjects whose output names differ only in the subject label (``{tlabel}`` in the
    keys): one rule writes each subject's run-wise GLMs and RDM, since a rule's outputs are
    fixed patterns (the runs a subject has are part of its layout)."""

    subject: str  # subject key with "{tlabel}" for the label
    runs: tuple[str, ...]  # the subject's run keys, the same way
    labels: tuple[str, ...]  # the subjects of this layout


def subject_layouts(plan: TaskPlan) -> list[SubjectLayout]:
    """The plan's subjects grouped by :class:`SubjectLayout` (most cohorts: one layout)."""
    by_layout: dict[tuple, list[str]] = {}
    for key, subject in sorted(plan.subjects.items()):
        label = str(subject.entities["sub"])
        own = re.compile(f"sub-{re.escape(label)}(?=[/_])")
        names = [own.sub("sub-{tlabel}", k) for k in (key, *(r.key for r in subject.runs))]
        by_layout.setdefault((names[0], tuple(names[1:])), []).append(label)
    return [SubjectLayout(subject, runs, tuple(labels)) for (subject, runs), labels in by_layout.items()]


def wildcard_regex(keys) -> str:
    """A wildcard constraint that matches exactly the planned keys."""
    return "|".join(re.escape(k) for k in sorted(keys)) or "(?!)"
