"""Which subjects the ``eeg`` config describes, and where each one's recording lives.

Cheap enough to run when Snakemake parses the workflow (MNE is imported only when a BIDS
dataset must be listed). Subject ids are BIDS labels: letters and digits.
"""

from __future__ import annotations

import re
from pathlib import Path

SUBJECT_RE = re.compile(r"^[A-Za-z0-9]+$")


class CohortError(ValueError):
    """The ``eeg`` config describes an unusable cohort; the message names the key."""


def _add(out: dict, sid: str, spec: dict, key: str) -> None:
    if not SUBJECT_RE.fullmatch(sid):
        raise CohortError(f"config key {key}: subject id {sid!r} must be letters and digits only")
    if sid in out:
        raise CohortError(f"config key {key}: subject {sid!r} is defined twice "
                          f"(already from {out[sid]['kind']})")
    out[sid] = spec


def eeg_subjects(eeg: dict) -> dict[str, dict]:
    """``{subject: spec}`` for every subject of the ``eeg`` config section.

    ``spec["kind"]`` is ``embedded`` (the spkit recording), ``simulated`` (``index``),
    ``file`` (``path``, ``format``, ``montage``, ``rename``, ``channel_types``, ``sidecar``)
    or ``bids`` (``root``, ``session``, ``run``).
    """
    out: dict[str, dict] = {}
    emb = eeg.get("embedded") or {}
    if emb.get("activate", True):
        _add(out, emb.get("subject", "phyaat"), {"kind": "embedded", "simulated": False},
             "eeg.embedded.subject")
    sim = eeg.get("simulate") or {}
    for i in range(1, int(sim.get("n_subjects", 3)) + 1):
        _add(out, f"{sim.get('prefix', 'sim')}{i:02d}", {"kind": "simulated", "index": i,
                                                         "simulated": True}, "eeg.simulate")
    for sid, spec in (eeg.get("subjects") or {}).items():
        if "path" not in spec:
            raise CohortError(f"config key eeg.subjects.{sid}: 'path' is required")
        _add(out, str(sid), {"kind": "file", "simulated": False, **spec}, f"eeg.subjects.{sid}")
    bids = eeg.get("bids") or {}
    if bids.get("root"):
        root = Path(bids["root"])
        if not root.is_dir():
            raise CohortError(f"config key eeg.bids.root: folder not found: {root}")
        listed = bids.get("subjects") or _bids_subjects(root)
        for sid in listed:
            _add(out, str(sid), {"kind": "bids", "simulated": False, "root": str(root),
                                 "session": bids.get("session") or None,
                                 "run": bids.get("run") or None}, "eeg.bids.subjects")
    if not out:
        raise CohortError("config section eeg: no subjects (embedded off, simulate.n_subjects 0, "
                          "no subjects, no bids.root)")
    selection = eeg.get("participants") or {}
    if any(selection.get(k) for k in ("sheet", "include", "exclude")):
        from neuroflow.participants import select_participants

        out = {sid: out[sid] for sid in select_participants(list(out), selection, "eeg.participants")}
    return out


def _bids_subjects(root: Path) -> list[str]:
    from mne_bids import get_entity_vals

    return sorted(get_entity_vals(root, "subject"))


def recording_files(spec: dict, task: str, sourcedata: str, subject: str) -> list[str]:
    """Every file the preprocessing of one subject reads (so edits trigger a rerun)."""
    from neuroflow.eeg.io import EEGInputError, companion_files, sidecar_of

    if spec["kind"] in ("embedded", "simulated"):
        return [f"{sourcedata}/sub-{subject}/eeg/sub-{subject}_task-{task}_eeg.fif"]
    if spec["kind"] == "file":
        path = Path(spec["path"])
        try:
            files = [path, *companion_files(path)] if path.exists() else [path]
        except EEGInputError:  # unusual extension with an explicit format
            files = [path]
        side = Path(spec["sidecar"]) if spec.get("sidecar") else sidecar_of(path)
        return [str(p) for p in files + ([side] if side else [])]
    from mne_bids import BIDSPath

    bp = BIDSPath(root=spec["root"], subject=subject, task=task, session=spec.get("session"),
                  run=spec.get("run"), datatype="eeg")
    return sorted(str(m.fpath) for m in bp.match() if m.fpath.is_file())


def subject_paths(template: str, subjects, suffix: str = "") -> list[str]:
    """``template`` (with a ``{sub}`` field) + ``suffix`` for each subject, in order."""
    return [template.format(sub=s) + suffix for s in subjects]
