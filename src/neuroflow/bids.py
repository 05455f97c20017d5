"""The one place that queries BIDS inputs and builds BIDS-derivatives output names.

Every stage that reads subject data asks this module which files to read (pybids does the
querying; nothing here walks a folder by hand) and how to name what it writes: every
entity of the input file is carried into the output name, in BIDS order, so that two runs,
sessions, resolutions or densities never collide.

The cohort's selection is the top-level config (``bids_dir``, ``derivatives``,
``participant_label``, ``exclude_participant_label``, ``sessions``, ``runs``, ``tasks``);
:class:`Selection` holds it once, and :func:`check_bids_config` checks it against the
datasets before any job runs, naming the config key and the file of every problem.

This module is imported by rule files: it stays cheap (pybids is imported inside the
functions that query).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from neuroflow.bids_index import (
    _SHORT,
    _entity_table,
    _index_folder,
    _layout,
    _matching_files,
    _tree_stamp,
)

#: BIDS entities in the order the specification puts them in file names (short keys).
ENTITY_ORDER = (
    "sub",
    "ses",
    "sample",
    "task",
    "tracksys",
    "acq",
    "nuc",
    "voi",
    "ce",
    "trc",
    "stain",
    "rec",
    "dir",
    "run",
    "mod",
    "echo",
    "flip",
    "inv",
    "mt",
    "part",
    "proc",
    "hemi",
    "space",
    "split",
    "recording",
    "chunk",
    "atlas",
    "seg",
    "res",
    "den",
    "roi",
    "model",
    "label",
    "desc",
)

#: short key -> pybids' long name (the names ``BIDSLayout.get`` takes).
LONG = {short: long for long, short in _SHORT.items() if long != "seg"}


class BIDSInputError(ValueError):
    """A BIDS input that cannot be used: names the config key and the file."""


def _labels(value, key: str) -> tuple[str, ...] | None:
    """``"all"``/empty -> None (no filter); a list -> labels without ``sub-``/``ses-``/...."""
    if value in (None, "all", "", []):
        return None
    if isinstance(value, (str, int)):
        value = [value]
    out = []
    for v in value:
        v = str(v)
        if "-" in v:
            prefix, _, rest = v.partition("-")
            if prefix in ("sub", "ses", "run", "task"):
                v = rest
        if not v.isalnum():
            raise BIDSInputError(f"config key {key}: {v!r} is not a BIDS label (letters and digits only)")
        out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class Selection:
    """What of a BIDS dataset this cohort processes (the top-level config keys)."""

    bids_dir: str = ""
    derivatives: tuple[str, ...] = ()
    participant_label: tuple[str, ...] | None = None
    exclude_participant_label: tuple[str, ...] = ()
    sessions: tuple[str, ...] | None = None
    runs: tuple[str, ...] | None = None
    tasks: tuple[str, ...] | None = None

    @classmethod
    def from_config(cls, config: dict) -> Selection:
        deriv = config.get("derivatives") or []
        if isinstance(deriv, str):
            deriv = [deriv]
        return cls(
            bids_dir=str(config.get("bids_dir") or ""),
            derivatives=tuple(str(d) for d in deriv),
            participant_label=_labels(config.get("participant_label"), "participant_label"),
            exclude_participant_label=_labels(
                config.get("exclude_participant_label"), "exclude_participant_label"
            )
            or (),
            sessions=_labels(config.get("sessions"), "sessions"),
            runs=_labels(config.get("runs"), "runs"),
            tasks=_labels(config.get("tasks"), "tasks"),
        )

    @property
    def active(self) -> bool:
        """Whether the cohort reads a BIDS dataset or derivatives at all."""
        return bool(self.bids_dir or self.derivatives)

    def keeps(self, entities: dict) -> bool:
        """Whether a file with these (short-key) entities is in the selection.

        A filter on an entity the file does not have keeps the file (a dataset without
        sessions is not dropped by ``sessions: [1]``... unless the filter asks for one).
        """
        sub = str(entities.get("sub", ""))
        if self.participant_label is not None and sub not in self.participant_label:
            return False
        if sub in self.exclude_participant_label:
            return False
        for key, wanted in (("ses", self.sessions), ("run", self.runs), ("task", self.tasks)):
            if wanted is None:
                continue
            value = entities.get(key)
            if value in (None, ""):
                continue
            if not _same_label(str(value), wanted):
                return False
        return True


def _same_label(value: str, wanted: tuple[str, ...]) -> bool:
    """``run-01`` matches ``runs: [1]`` and ``["01"]`` (BIDS run indices are numbers)."""
    if value in wanted:
        return True
    if value.isdigit():
        return any(w.isdigit() and int(w) == int(value) for w in wanted)
    return False


def short_entities(entities: dict) -> dict[str, str]:
    """pybids entities (long names) -> ``{short key: label}``, file-name entities only.

    Values keep their spelling in the file name (pybids' ``PaddedInt`` prints ``01``).
    """
    return {_SHORT[k]: str(v) for k, v in entities.items() if k in _SHORT}


def entities_from_name(name: str) -> dict[str, str]:
    """Short-key entities of a BIDS file name (pybids' parser; suffix/extension dropped)."""
    from bids.layout import parse_file_entities

    name = str(name)
    # pybids' patterns anchor `sub-` after a path separator: a bare file name needs one
    parsed = parse_file_entities(name if "/" in name else "/" + name, config=["bids", "derivatives"])
    return short_entities(parsed)


def stem(entities: dict, drop=()) -> str:
    """``sub-01_ses-1_task-rest_run-1_space-X_res-2``: present entities, BIDS order."""
    return "_".join(
        f"{k}-{entities[k]}" for k in ENTITY_ORDER if entities.get(k) not in (None, "") and k not in drop
    )


def folder(entities: dict, datatype: str) -> str:
    """``sub-01/ses-1/<datatype>`` (the session level only when the file has a session)."""
    ses = f"/ses-{entities['ses']}" if entities.get("ses") else ""
    return f"sub-{entities['sub']}{ses}/{datatype}"


def _description(root: Path, key: str) -> dict:
    desc = root / "dataset_description.json"
    if not root.is_dir():
        raise BIDSInputError(f"config key {key}: folder {root} does not exist")
    if not desc.is_file():
        raise BIDSInputError(
            f"config key {key}: {desc} is missing; a BIDS dataset (and a "
            "BIDS-derivatives folder) needs a dataset_description.json"
        )
    try:
        return json.loads(desc.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BIDSInputError(f"config key {key}: {desc} is not valid JSON: {exc}") from exc


def _cohort_folders(sel: Selection) -> list[tuple[str, bool, str]]:
    """``(root, is_derivative, config key)`` of every folder the cohort reads."""
    raw = [(sel.bids_dir, False, "bids_dir")] if sel.bids_dir else []
    return raw + [(d, True, f"derivatives[{i}]") for i, d in enumerate(sel.derivatives)]


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def index_side_by_side(sel: Selection) -> None:
    """Index the cohort's folders that are not in the cache yet side by side (the raw
    dataset and each derivatives folder are independent indexes): the first in this
    process, the others in child processes, one per spare CPU, at once. A child that fails
    changes nothing: the folder is then indexed here when first queried, which raises the
    error naming the file and config key."""
    import subprocess
    import sys

    todo = []
    for root, derivative, _key in _cohort_folders(sel):
        path = Path(root).resolve()
        if not (path / "dataset_description.json").is_file():
            continue  # reported by check_bids_config, naming the key
        stamp = _tree_stamp(path)
        if not (_index_folder(str(path), derivative, stamp) / "layout_index.sqlite").is_file():
            todo.append((str(path), derivative, stamp))
    if len(todo) < 2 or _cpus() < 2:
        return
    code = (
        "import sys; from neuroflow.bids_index import _build_index; "
        "_build_index(sys.argv[1], sys.argv[2] == '1', int(sys.argv[3]))"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, root, str(int(derivative)), str(stamp)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for root, derivative, stamp in todo[1 : _cpus()]
    ]
    try:
        _layout(*todo[0])
    finally:
        for child in children:
            child.wait()


def layout(root, derivative: bool = False, key: str = "bids_dir"):
    """A pybids ``BIDSLayout`` of ``root`` (cached in the process; indexed again when a
    file is added, removed or renamed anywhere in the tree).

    Raises :class:`BIDSInputError` naming ``key`` when ``root`` is not a BIDS folder.
    """
    root = Path(root).resolve()
    _description(root, key)
    return _layout(str(root), derivative, _tree_stamp(root))


def query(
    root, selection: Selection, derivative: bool = False, key: str = "bids_dir", **filters
) -> list[dict]:
    """Files of ``root`` matching pybids ``filters`` and the cohort's selection.

    Returns one dict per file: ``path`` (absolute) plus its short-key entities, sorted by
    path. ``filters`` use pybids names (``suffix="bold"``, ``extension=[".nii.gz"]``,
    ``datatype="func"``, ``space=...``; ``None`` = entity absent).
    """
    lay = layout(root, derivative, key)
    table = _entity_table(lay)
    rows = []
    for path in _matching_files(lay, filters):
        ents = dict(table.get(path, {}))
        if selection.keeps(ents):
            rows.append({"path": path, **ents})
    return sorted(rows, key=lambda r: r["path"])


def subjects(root, derivative: bool = False, key: str = "bids_dir") -> list[str]:
    """Participant labels present in a BIDS dataset or derivatives folder (sorted)."""
    from bids.layout.models import Tag

    session = layout(root, derivative, key).connection_manager.session
    rows = session.query(Tag._value).filter(Tag.entity_name == "subject").distinct()
    return sorted({str(r[0]) for r in rows})


def selected_subjects(config: dict) -> list[str]:
    """Participants of ``bids_dir`` (or the first derivatives folder) the cohort processes."""
    sel = Selection.from_config(config)
    if sel.bids_dir:
        present = subjects(sel.bids_dir)
    elif sel.derivatives:
        present = subjects(sel.derivatives[0], True, "derivatives[0]")
    else:
        return []
    return [s for s in present if sel.keeps({"sub": s})]


def check_bids_config(config: dict) -> Selection:
    """Check the top-level BIDS keys before any job runs; return the selection.

    Raises :class:`BIDSInputError` (naming the config key and the file) when ``bids_dir``
    or a ``derivatives`` folder does not exist or has no ``dataset_description.json``,
    when a ``participant_label`` or ``exclude_participant_label`` is not in the dataset,
    or when a selected participant is missing from a derivatives folder.
    """
    sel = Selection.from_config(config)
    index_side_by_side(sel)
    if not sel.active:
        if sel.participant_label is not None or sel.exclude_participant_label:
            raise BIDSInputError(
                "config key participant_label: given, but neither bids_dir nor derivatives is set"
            )
        return sel
    if sel.bids_dir:
        present = set(subjects(sel.bids_dir))
        where, label_key = Path(sel.bids_dir), "bids_dir"
    else:
        present = set(subjects(sel.derivatives[0], True, "derivatives[0]"))
        where, label_key = Path(sel.derivatives[0]), "derivatives[0]"
    if not present:
        raise BIDSInputError(f"config key {label_key}: {where} holds no sub-<label> folder")
    for key, labels in (
        ("participant_label", sel.participant_label or ()),
        ("exclude_participant_label", sel.exclude_participant_label),
    ):
        missing = sorted(set(labels) - present)
        if missing:
            raise BIDSInputError(
                f"config key {key}: participant(s) {['sub-' + m for m in missing]} not in "
                f"{where} (it has {len(present)}: {_preview(sorted(present))})"
            )
    chosen = sorted(s for s in present if sel.keeps({"sub": s}))
    if not chosen:
        raise BIDSInputError(
            f"config keys participant_label / exclude_participant_label: no participant of {where} is left"
        )
    for i, deriv in enumerate(sel.derivatives):
        have = set(subjects(deriv, True, f"derivatives[{i}]"))
        # a derivatives folder need not cover every stage's participants (e.g. XCP-D only
        # for fMRI), but a participant the user named must be there
        named = sel.participant_label or ()
        missing = sorted(set(named) - have)
        if missing:
            raise BIDSInputError(
                f"config key derivatives[{i}]: participant(s) {['sub-' + m for m in missing]} "
                f"(participant_label) are missing from {deriv}"
            )
    return sel


def _preview(labels: list[str], n: int = 8) -> str:
    shown = ", ".join("sub-" + s for s in labels[:n])
    return shown + (f", ... ({len(labels) - n} more)" if len(labels) > n else "")


#: pybids filters of the inputs each stage reads from a raw BIDS dataset / derivatives.
RAW_INPUTS = {
    "eeg": {"datatype": "eeg", "suffix": "eeg"},
    "activity": {"extension": ".nwb"},
}
DERIVATIVE_INPUTS = {
    "fmri": [
        {"suffix": "bold", "extension": [".nii.gz", ".nii", ".func.gii", ".dtseries.nii"]},
        {"suffix": "timeseries", "extension": ".tsv", "datatype": "func"},
    ],
}

#: The stages ``neuroflow run --stages auto`` can switch on from what a dataset holds.
DETECTABLE_STAGES = (*RAW_INPUTS, *DERIVATIVE_INPUTS)


def detect_stages(selection: Selection) -> list[str]:
    """Stages whose inputs the selected part of the dataset holds (for ``neuroflow run``):
    ``eeg`` (raw EEG recordings), ``activity`` (NWB files), ``fmri`` (preprocessed BOLD or
    region time series in a derivatives folder)."""
    found = []
    index_side_by_side(selection)
    if selection.bids_dir:
        for stage, filters in RAW_INPUTS.items():
            if query(selection.bids_dir, selection, **filters):
                found.append(stage)
    for i, deriv in enumerate(selection.derivatives):
        for stage, alternatives in DERIVATIVE_INPUTS.items():
            if stage not in found and any(
                query(deriv, selection, True, f"derivatives[{i}]", **f) for f in alternatives
            ):
                found.append(stage)
    return found


def generated_by(root) -> list[dict]:
    """The ``GeneratedBy`` entries of a derivatives folder (to carry forward), or []."""
    desc = Path(root) / "dataset_description.json"
    try:
        data = json.loads(desc.read_text())
    except (OSError, json.JSONDecodeError):
        return []
    entries = data.get("GeneratedBy") or []
    return entries if isinstance(entries, list) else [entries]
