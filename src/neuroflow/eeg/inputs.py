"""Which EEG recordings a config describes: one entry per recording, checked before any job.

The unit of work of the EEG stage is one recording (sub x ses x task x acq x run), as in
MNE-BIDS-Pipeline. Recordings come from four routes:

- ``bids``: every EEG recording of the top-level ``bids_dir`` that the cohort's selection
  (``participant_label``, ``exclude_participant_label``, ``sessions``, ``runs``, ``tasks``)
  keeps, queried with pybids through :mod:`neuroflow.bids`; read later with mne-bids
  ``read_raw_bids`` so that ``_channels.tsv``, ``_electrodes.tsv`` and ``_eeg.json`` are used;
- ``embedded`` (the spkit recording), ``simulated`` (the seeded cohort) and ``file`` (the
  user's own files, ``eeg.subjects``): one recording per subject, task ``eeg.task``.

Each recording is keyed by its BIDS stem (``sub-01_ses-2_task-rest_run-2``), which is also
the stem of every per-recording output; :func:`neuroflow.bids.folder` gives its folder.

Cheap enough to run when Snakemake parses the workflow (pybids is imported only when a BIDS
dataset is queried, MNE never). Rule files and ``common.smk`` import from here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from neuroflow.bids import BIDSInputError, Selection, folder, query, stem
from neuroflow.config import filled_section

SUBJECT_RE = re.compile(r"^[A-Za-z0-9]+$")
#: BIDS EEG data formats (the header file of each; BrainVision and EEGLAB have companions).
BIDS_EEG_EXTENSIONS = (".edf", ".bdf", ".vhdr", ".set")
#: Columns of ``_channels.tsv`` that BIDS requires; mne-bids reads ``name`` and ``type``
#: (and ``status``, ``units`` when present) and fails or skips the file without them.
CHANNELS_COLUMNS = ("name", "type", "units")
#: Snakemake wildcard constraint: a recording's folder (its stems: :func:`neuroflow.config.keys_regex`).
FOLDER_RE = r"sub-[A-Za-z0-9]+(?:/ses-[A-Za-z0-9]+)?/eeg"
_REMOVED_BIDS_KEYS = ("root", "subjects", "session", "run")


class EEGSelectionNote(UserWarning):
    """A participant of ``bids_dir`` whose EEG recordings the selection left out entirely."""


class CohortError(ValueError):
    """The ``eeg`` config describes an unusable cohort; the message names the key."""


def recording_spec(kind: str, entities: dict, **spec) -> dict:
    """One recording's spec: its kind, short-key ``entities``, stem, folder, report stem."""
    ents = {k: str(v) for k, v in entities.items() if v not in (None, "")}
    return {
        "kind": kind,
        "simulated": kind == "simulated",
        "sub": ents["sub"],
        "entities": ents,
        "stem": stem(ents),
        "folder": folder(ents, "eeg"),
        "report": stem(ents, drop=("run",)),
        **spec,
    }


def _add(out: dict, kinds: dict, rec: dict, key: str) -> None:
    if not SUBJECT_RE.fullmatch(rec["sub"]):
        raise CohortError(f"config key {key}: subject id {rec['sub']!r} must be letters and digits only")
    if kinds.setdefault(rec["sub"], rec["kind"]) != rec["kind"]:
        raise CohortError(
            f"config key {key}: subject {rec['sub']!r} is defined twice (already from {kinds[rec['sub']]})"
        )
    if rec["stem"] in out:
        raise CohortError(
            f"config key {key}: recording {rec['stem']} is defined twice: "
            f"{out[rec['stem']].get('path')} and {rec.get('path')}"
        )
    out[rec["stem"]] = rec


_SELECTION_KEYS = ("bids_dir", "participant_label", "exclude_participant_label", "sessions", "runs", "tasks")
_CACHE: dict[str, dict] = {}


def eeg_recordings(config: dict) -> dict[str, dict]:
    """``{recording stem: spec}`` for every recording the config's ``eeg`` section processes.

    Memoized per process on the ``eeg`` section and the selection keys (the rule files,
    ``common.smk`` and the FC stage all ask): treat the result as read-only.

    Parameters
    ----------
    config : dict
        The whole (validated) config: the ``eeg`` section, and for the BIDS route the
        top-level ``bids_dir`` and selection keys.

    Returns
    -------
    dict
        In processing order (embedded, simulated, user files, then BIDS sorted by path).
        Each spec has ``kind`` (``embedded``, ``simulated``, ``file``, ``bids``),
        ``simulated``, ``sub``, ``entities`` (short keys), ``stem``, ``folder``
        (``sub-01/ses-2/eeg``), ``report`` (the stem of the MNE Report the recording goes
        into: one per subject x session x task x acquisition, runs as sections) and, per
        kind, ``index`` (simulated), the ``eeg.subjects`` keys (file), or ``root``,
        ``path``, ``sidecars`` and ``montage`` (bids).

    Raises
    ------
    CohortError, BIDSInputError
        Naming the config key and the file: a removed ``eeg.bids`` key, a selected
        participant of ``bids_dir`` without an EEG recording, a ``_channels.tsv`` without
        the columns mne-bids needs, two files for one recording, no recording at all.
    """
    key = json.dumps(
        [config.get("eeg"), *(config.get(k) for k in _SELECTION_KEYS)], sort_keys=True, default=str
    )
    if key not in _CACHE:
        _CACHE[key] = _eeg_recordings(config)
    return _CACHE[key]


def _eeg_recordings(config: dict) -> dict[str, dict]:
    check_eeg_settings(config)
    eeg = filled_section(config, "eeg")
    task = eeg["task"]
    out: dict[str, dict] = {}
    kinds: dict[str, str] = {}  # subject -> route
    emb = eeg["embedded"]
    if emb["activate"]:
        _add(
            out,
            kinds,
            recording_spec("embedded", {"sub": emb["subject"], "task": task}),
            "eeg.embedded.subject",
        )
    sim = eeg["simulate"]
    for i in range(1, int(sim["n_subjects"]) + 1):
        _add(
            out,
            kinds,
            recording_spec("simulated", {"sub": f"{sim['prefix']}{i:02d}", "task": task}, index=i),
            "eeg.simulate",
        )
    for sid, spec in (eeg.get("subjects") or {}).items():
        if "path" not in spec:
            raise CohortError(f"config key eeg.subjects.{sid}: 'path' is required")
        _add(
            out, kinds, recording_spec("file", {"sub": str(sid), "task": task}, **spec), f"eeg.subjects.{sid}"
        )
    bids = eeg["bids"]
    removed = [k for k in _REMOVED_BIDS_KEYS if bids.get(k) not in (None, "", [])]
    if removed:
        raise CohortError(
            f"config key(s) {['eeg.bids.' + k for k in removed]} were removed: "
            "the EEG stage reads the top-level bids_dir, selected by "
            "participant_label / exclude_participant_label / sessions / runs / tasks"
        )
    if config.get("bids_dir") and bids["activate"]:
        for rec in bids_recordings(config):
            _add(out, kinds, rec, "bids_dir")
    if not out:
        raise CohortError(
            "config section eeg: no recordings (embedded off, simulate.n_subjects "
            "0, no eeg.subjects, no bids_dir)"
        )
    selection = eeg.get("participants") or {}
    if any(selection.get(k) for k in ("sheet", "include", "exclude")):
        from neuroflow.participants import select_participants

        subs = list(dict.fromkeys(r["sub"] for r in out.values()))
        kept = set(select_participants(subs, selection, "eeg.participants"))
        out = {k: r for k, r in out.items() if r["sub"] in kept}
    return out


def _parts(path: str) -> tuple[str, str]:
    """(suffix, extension) of a BIDS file name: ``sub-01_eeg.vhdr`` -> ``("eeg", ".vhdr")``."""
    name = Path(path).name
    base, dot, ext = name.partition(".")
    return base.rsplit("_", 1)[-1], dot + ext


def _applies(sidecar: dict, recording: dict) -> bool:
    """BIDS inheritance: a sidecar applies when its entities (but space) are the file's."""
    return all(recording.get(k) == v for k, v in sidecar.items() if k not in ("path", "space"))


def bids_recordings(config: dict) -> list[dict]:
    """The EEG recordings of ``bids_dir`` the cohort selects (one per data file).

    Every selected participant must have at least one; each recording's ``_channels.tsv``
    (when present) must have the columns BIDS requires. Errors name the file and the key.
    """
    sel = Selection.from_config(config)
    root = Path(sel.bids_dir)
    # every EEG file of the selected participants, then the sessions/runs/tasks filters: a
    # participant without any EEG recording is an error, one whose recordings the filters
    # leave out is said (a longitudinal cohort need not have every session for everyone)
    anyrec = dataclasses.replace(sel, sessions=None, runs=None, tasks=None)
    data, sidecars = [], []
    for row in query(root, anyrec, datatype="eeg"):
        suffix, ext = _parts(row["path"])
        if suffix == "eeg" and ext in BIDS_EEG_EXTENSIONS:
            data.append(row)
        elif (suffix, ext) in (
            ("channels", ".tsv"),
            ("eeg", ".json"),
            ("electrodes", ".tsv"),
            ("coordsystem", ".json"),
        ):
            sidecars.append(row)
    from neuroflow.bids import selected_subjects

    have = {r["sub"] for r in data}
    missing = [s for s in selected_subjects(config) if s not in have]
    if missing:
        raise BIDSInputError(
            f"config key bids_dir: {root} has no EEG recording (sub-<label>/[ses-<label>/]eeg/"
            f"*_eeg{{{','.join(BIDS_EEG_EXTENSIONS)}}}) for participant(s) "
            f"{['sub-' + s for s in missing]} (selected by participant_label / "
            "exclude_participant_label); leave them out with exclude_participant_label, or "
            "switch the EEG stage's BIDS route off (eeg.bids.activate: false)"
        )
    data = [r for r in data if sel.keeps(r)]
    if not data:
        raise BIDSInputError(
            f"config keys sessions / runs / tasks: no EEG recording of {root} "
            f"is left (sessions={_show(sel.sessions)}, runs={_show(sel.runs)}, "
            f"tasks={_show(sel.tasks)})"
        )
    dropped = sorted(have - {r["sub"] for r in data})
    if dropped:
        import warnings

        msg = (
            f"EEG: sessions / runs / tasks leave no recording of {['sub-' + s for s in dropped]}"
            f" in {root}; these participants are not processed by the EEG stage"
        )
        warnings.warn(msg, EEGSelectionNote, stacklevel=2)
    bids = filled_section(config, "eeg")["bids"]
    montage = bids["montage"]
    by_session: dict[tuple, list[dict]] = {}  # sidecars apply within a subject's session
    for side in sidecars:
        by_session.setdefault((side["sub"], side.get("ses")), []).append(side)
    out = []
    for row in data:
        ents = {k: v for k, v in row.items() if k != "path"}
        near = by_session.get((ents["sub"], ents.get("ses")), [])
        if ents.get("ses"):  # subject-level sidecars apply to every session
            near = near + by_session.get((ents["sub"], None), [])
        mine = sorted(s["path"] for s in near if _applies(s, ents))
        for side in mine:
            if side.endswith("_channels.tsv"):
                check_channels_tsv(side)
        has_positions = any(s.endswith("_electrodes.tsv") for s in mine)
        spec = recording_spec(
            "bids",
            ents,
            root=str(root),
            path=row["path"],
            sidecars=mine,
            montage=montage or ("file" if has_positions else ""),
        )
        out.append({**spec, "simulated": bool(bids["simulated"])})
    return out


def _show(labels) -> str:
    return "all" if labels is None else str(list(labels))


def check_channels_tsv(path) -> None:
    """Raise :class:`BIDSInputError` when a ``_channels.tsv`` lacks a required column."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig") as fh:
            header = fh.readline().rstrip("\r\n").split("\t")
    except (OSError, UnicodeDecodeError) as exc:
        raise BIDSInputError(f"config key bids_dir: cannot read {path}: {exc}") from exc
    lacking = [c for c in CHANNELS_COLUMNS if c not in header]
    if lacking:
        raise BIDSInputError(
            f"config key bids_dir: {path} lacks column(s) {lacking} (BIDS requires "
            f"{list(CHANNELS_COLUMNS)}; mne-bids read_raw_bids needs 'name' and 'type' to match "
            f"and type the channels); its columns: {header}"
        )


def _pair(value, key: str, *, strict: bool = True, minimum: float | None = None) -> tuple:
    """An ordered ``[low, high]`` pair of numbers, or CohortError naming ``key``."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise CohortError(f"config key {key}: expected [low, high] numbers, got {value!r}") from None
    if hi < lo or (strict and hi == lo):
        raise CohortError(
            f"config key {key}: [{lo:g}, {hi:g}] is reversed or empty; the low edge "
            f"must be {'below' if strict else 'at most'} the high edge"
        )
    if minimum is not None and lo < minimum:
        raise CohortError(f"config key {key}: low edge {lo:g} is below {minimum:g}")
    return lo, hi


def _check_filter(prep: dict) -> None:
    """Filter edges: non-negative, ordered, the low-pass edge below the resampled Nyquist."""
    filt = prep["filter"]
    l_freq, h_freq = filt["l_freq"], filt["h_freq"]
    if filt["activate"]:
        if l_freq is not None and float(l_freq) < 0:
            raise CohortError(
                f"config key eeg.preprocessing.filter.l_freq: {l_freq} Hz is negative; "
                "use a high-pass edge >= 0 Hz or null for none"
            )
        if h_freq is not None and float(h_freq) <= 0:
            raise CohortError(
                f"config key eeg.preprocessing.filter.h_freq: {h_freq} Hz must be positive (null for none)"
            )
        if l_freq is not None and h_freq is not None and float(l_freq) >= float(h_freq):
            raise CohortError(
                f"config keys eeg.preprocessing.filter.l_freq / h_freq: the high-pass "
                f"edge {l_freq} Hz is not below the low-pass edge {h_freq} Hz"
            )
    res = prep["resample"]
    if res["activate"] and res["sfreq"]:
        nyquist = float(res["sfreq"]) / 2.0
        if filt["activate"] and h_freq is not None and float(h_freq) >= nyquist:
            raise CohortError(
                f"config key eeg.preprocessing.filter.h_freq: {h_freq} Hz is at or above the Nyquist "
                f"frequency ({nyquist:g} Hz) of eeg.preprocessing.resample.sfreq ({res['sfreq']} Hz); "
                "lower h_freq or raise the resampling rate"
            )


def check_eeg_settings(config: dict) -> None:
    """Domain checks of the ``eeg`` settings that the schema cannot express, at parse time.

    Ordered, non-empty ranges (``features.bands.*``, ``features.fmin``/``fmax``,
    ``specparam.freq_range`` / ``alpha_range`` / ``peak_width_limits``,
    ``simulate.exponent_range`` / ``alpha_range``), a non-negative ``filter.l_freq`` below
    ``h_freq``, a low-pass edge below the Nyquist frequency of ``resample.sfreq`` (when
    resampling is on), and every band reaching into ``[fmin, fmax]``.

    Raises
    ------
    CohortError
        Naming the config key and the values.
    """
    eeg = filled_section(config, "eeg")
    sim = eeg["simulate"]
    for name in ("exponent_range", "alpha_range"):
        if sim.get(name) is not None:
            _pair(
                sim[name],
                f"eeg.simulate.{name}",
                strict=False,
                minimum=0.0 if name == "alpha_range" else None,
            )
    _check_filter(eeg["preprocessing"])
    feats = eeg["features"]
    fmin, fmax = _pair([feats["fmin"], feats["fmax"]], "eeg.features.fmin / fmax", minimum=0.0)
    for band, edges in (feats.get("bands") or {}).items():
        lo, hi = _pair(edges, f"eeg.features.bands.{band}", minimum=0.0)
        if hi <= fmin or lo >= fmax:
            raise CohortError(
                f"config key eeg.features.bands.{band}: [{lo:g}, {hi:g}] Hz lies outside "
                f"the PSD range eeg.features.fmin / fmax [{fmin:g}, {fmax:g}] Hz: its "
                "power would be 0"
            )
    spec = feats["specparam"]
    if spec["activate"]:
        for name in ("freq_range", "alpha_range", "peak_width_limits"):
            if spec.get(name) is not None:
                _pair(spec[name], f"eeg.features.specparam.{name}", minimum=0.0)
    con = feats["connectivity"]
    if con["activate"] and feats.get("bands"):
        unknown = [b for b in con.get("bands") or [] if b not in feats["bands"]]
        if unknown:
            raise CohortError(
                f"config key eeg.features.connectivity.bands: {unknown} not in "
                f"eeg.features.bands ({sorted(feats['bands'])})"
            )


def check_eeg_inputs(config: dict) -> dict[str, dict]:
    """Check the EEG stage's inputs before any job runs; return its recordings.

    Does nothing (returns ``{}``) when the stage is off. For ``common.smk``; the rule file
    calls :func:`eeg_recordings` itself, so the same errors stop parsing either way.
    """
    if not (config.get("eeg") or {}).get("activate"):
        return {}
    return eeg_recordings(config)


def recording_inputs(rec: dict, sourcedata: str) -> list[str]:
    """Every file the preprocessing of one recording reads (so edits trigger a rerun).

    The data file first; then companions (BrainVision ``.eeg``/``.vmrk``, EEGLAB ``.fdt``)
    and sidecars.
    """
    from neuroflow.eeg.io import EEGInputError, companion_files, sidecar_of

    if rec["kind"] in ("embedded", "simulated"):
        return [f"{sourcedata}/{rec['folder']}/{rec['stem']}_eeg.fif"]
    if rec["kind"] == "file":
        path = Path(rec["path"])
        try:
            files = [path, *companion_files(path)] if path.exists() else [path]
        except EEGInputError:  # unusual extension with an explicit format
            files = [path]
        side = Path(rec["sidecar"]) if rec.get("sidecar") else sidecar_of(path)
        return [str(p) for p in files + ([side] if side else [])]
    path = Path(rec["path"])
    return [str(path), *(str(p) for p in companion_files(path)), *rec["sidecars"]]


def truth_file(rec: dict, sourcedata: str) -> list[str]:
    """The simulator's ground-truth JSON of a simulated recording, else []."""
    if rec["kind"] != "simulated":
        return []
    return [f"{sourcedata}/{rec['folder']}/{rec['stem']}_truth.json"]


def reports(recordings: dict) -> dict[str, list[str]]:
    """``{report stem: [recording stems]}``: one MNE Report per subject x session x task x
    acquisition (runs are sections), as MNE-BIDS-Pipeline does."""
    out: dict[str, list[str]] = {}
    for key, rec in recordings.items():
        out.setdefault(rec["report"], []).append(key)
    return out


#: files of one recording's job (rule ``eeg_recording``): key -> suffix after its stem
PREPROCESS_FILES = {
    "filtered": "_desc-filtered_eeg.fif",
    "clean": "_desc-clean_eeg.fif",
    "epochs": "_desc-clean_epo.fif",
    "channels": "_channels.tsv",
    "channels_json": "_channels.json",
    "components": "_desc-ica_components.tsv",
    "components_json": "_desc-ica_components.json",
    "epochs_log": "_desc-rejection_log.tsv",
    "epochs_log_json": "_desc-rejection_log.json",
    "summary": "_desc-preproc_eeg.json",
}
FEATURE_FILES = {
    "spectra": "_desc-spectra_eeg.nc",
    "bandpower": "_desc-bandpower_eeg.tsv",
    "bandpower_json": "_desc-bandpower_eeg.json",
    "aperiodic": "_desc-aperiodic_eeg.tsv",
    "aperiodic_json": "_desc-aperiodic_eeg.json",
    "peaks": "_desc-peaks_eeg.tsv",
    "peaks_json": "_desc-peaks_eeg.json",
}


def recording_files(ica: bool, connectivity: bool) -> dict[str, str]:
    """``{output key: suffix}`` of one recording's job: preprocessing (with the ICA
    solution when ``ica``), features and (when ``connectivity``) sensor connectivity."""
    return {
        **PREPROCESS_FILES,
        **({"ica": "_ica.fif"} if ica else {}),
        **FEATURE_FILES,
        **({"connectivity": "_desc-connectivity_eeg.nc"} if connectivity else {}),
    }


def recording_steps(connectivity: bool) -> list[str]:
    """The steps of one recording's job, one log each."""
    return ["preprocess", "features", *(["connectivity"] if connectivity else [])]


def split_reports(recordings: dict, reports_: dict) -> tuple[list[str], dict[str, list[str]]]:
    """Which MNE Reports the recording's own job writes.

    A report that holds one recording whose stem is the report's stem, or the report's stem
    plus ``_run-<label>``, is written by that recording's job: its name follows from the
    job's wildcards. Returns the stems of the other recordings (their reports are jobs of
    their own) and ``{run label ("" without run): [report stems]}`` of the first kind.
    """
    solo: dict[str, list[str]] = {}
    shared = []
    for rep, stems in reports_.items():
        run = recordings[stems[0]]["entities"].get("run") if len(stems) == 1 else None
        label = "" if stems[0] == rep else str(run or "")
        if len(stems) == 1 and stems[0] == rep + (f"_run-{label}" if label else ""):
            solo.setdefault(label, []).append(rep)
        else:
            shared.extend(stems)
    return shared, solo


def clean_eeg_files(config: dict, results_dir: str, key: str) -> list[str]:
    """The EEG stage's cleaned continuous recordings (``*_desc-clean_eeg.fif``), one per
    recording, for a stage that reads them (the FC benchmark's ``source: eeg``).

    Raises :class:`CohortError` naming ``key`` when the EEG stage is off.
    """
    if not (config.get("eeg") or {}).get("activate"):
        raise CohortError(
            f"config key {key}: source eeg reads the EEG stage's cleaned "
            "recordings; switch it on (eeg.activate: true)"
        )
    return [
        f"{results_dir}/{r['folder']}/{r['stem']}_desc-clean_eeg.fif" for r in eeg_recordings(config).values()
    ]


def recording_paths(template: str, recordings, suffix: str = "") -> list[str]:
    """``template`` (fields ``{folder}``, ``{stem}``) + ``suffix`` for each recording spec."""
    return [template.format(folder=r["folder"], stem=r["stem"]) + suffix for r in recordings]
