"""Which spike / trace recordings the activity stage reads, and what it names their outputs.

Imported by the rule files, so it stays cheap (pybids is imported by :mod:`neuroflow.bids`
only when a BIDS tree is queried).

Two routes give spike recordings, each becoming one standardized counts file
``results/sub-<id>/[ses-<id>/]ephys/<entities>_desc-counts_spikes.nc``:

* ``activity.spikes``: recordings by id (the ``sub`` label): an NWB file with a units table
  (a manifest dataset or your own ``path``) or a counts table (``reader: table``);
* ``activity.bids`` (``activate: true``): every NWB file ``sub-*/[ses-*/][<datatype>/]*.nwb``
  under the top-level ``bids_dir`` that the cohort's selection keeps (``participant_label``,
  ``sessions``, ...), every entity of its name carried into the output name. With
  ``kind: traces`` the files' fluorescence traces are written instead
  (``ophys/<entities>_desc-traces_activity.nc``).
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

from neuroflow.bids import (
    BIDSInputError,
    Selection,
    entities_from_name,
    folder,
    query,
    stem,
)
from neuroflow.config import ConfigError, fill_defaults
from neuroflow.resources import citation_text, dataset_paths
from neuroflow.schema_docs import load_schema
from neuroflow.workflow_files import workflow_root

#: keys of a spike recording that override ``activity.counts``
COUNT_KEYS = ("bin_width", "t_start", "t_stop", "angle_series")
SUBDIR_PATTERN = r"sub-[A-Za-z0-9]+(/ses-[A-Za-z0-9]+)?"


class ActivityConfigError(ConfigError):
    """An activity setting that cannot be used (names the config key)."""


@functools.cache
def activity_schema() -> dict:
    """The stage schema (workflow/schemas/activity.schema.yaml), parsed once."""
    return load_schema(workflow_root() / "workflow" / "schemas" / "activity.schema.yaml")


def _activity(config: dict) -> dict:
    """A copy of config section ``activity`` with the schema's defaults filled in (callers
    may pass a partial config; the workflow's is filled already)."""
    return fill_defaults(copy.deepcopy(config.get("activity") or {}), activity_schema())


def _nwb_files(root: Path, selection: Selection) -> list[dict]:
    """NWB files of a BIDS (pybids) or DANDI-like (``dandiset.yaml``) tree, with entities."""
    if not (root / "dataset_description.json").is_file() and (root / "dandiset.yaml").is_file():
        # a DANDI dandiset has no dataset_description.json: parse the names instead
        rows = []
        for path in sorted(
            {*root.glob("sub-*/*.nwb"), *root.glob("sub-*/*/*.nwb"), *root.glob("sub-*/ses-*/*/*.nwb")}
        ):
            ents = entities_from_name("/" + path.relative_to(root).as_posix())
            if ents.get("sub") and selection.keeps(ents):
                rows.append({"path": str(path), **ents})
        return rows
    return query(root, selection, extension=[".nwb"])


def bids_recordings(config: dict) -> dict[str, dict]:
    """``stem -> {"path", "entities", "subdir", "stem"}`` of the NWB files the BIDS route reads.

    Raises
    ------
    ActivityConfigError
        ``activity.bids.activate`` without ``bids_dir``.
    neuroflow.bids.BIDSInputError
        No NWB file selected, or two files whose entities give the same output name.
    """
    opts = (config.get("activity") or {}).get("bids") or {}
    if not opts.get("activate"):
        return {}
    sel = Selection.from_config(config)
    if not sel.bids_dir:
        raise ActivityConfigError(
            "config key activity.bids.activate: true, but bids_dir (the "
            "folder holding sub-*/[ses-*/]*.nwb) is not set"
        )
    root = Path(sel.bids_dir)
    if not root.is_dir():
        raise BIDSInputError(f"config key bids_dir: folder {root} does not exist")
    out: dict[str, dict] = {}
    for row in _nwb_files(root, sel):
        ents = {k: v for k, v in row.items() if k != "path"}
        if "sub" not in ents:
            continue
        key = stem(ents)
        if key in out:
            raise BIDSInputError(
                f"config key bids_dir: {out[key]['path']} and {row['path']} have the same "
                f"entities ({key}); their outputs would collide. Tell them apart by an entity "
                "(acq-, run-, ...) or narrow the selection (sessions, runs, participant_label)"
            )
        out[key] = {
            "path": row["path"],
            "entities": ents,
            "subdir": folder(ents, "").rstrip("/"),
            "stem": key,
        }
    if not out:
        raise BIDSInputError(
            f"config key activity.bids.activate: no .nwb file under "
            f"{root}/sub-*/[ses-*/] matches the selection (participant_label, "
            "sessions, runs, tasks)"
        )
    return out


def spike_recordings(config: dict, manifest: dict, root=".") -> dict[str, dict]:
    """Every spike recording of the cohort: ``stem -> spec``.

    ``spec`` holds ``subdir`` and ``stem`` (output folder and name), ``entities``, ``files``
    (the input file), ``reader`` (``nwb`` or ``table``), ``bin_width``, ``t_start``,
    ``t_stop``, ``angle_series``, ``time_column``, ``simulated`` (bool), ``source``
    (manifest dataset id, ``bids`` or ``user``), ``label`` and ``key`` (the config key
    that defines it, for error messages).
    """
    act = _activity(config)
    base = act["counts"]
    out: dict[str, dict] = {}
    if act["bids"]["kind"] == "units":
        out.update(_bids_spike_specs(config, act))
    entry_schema = activity_schema()["properties"]["spikes"]["additionalProperties"]
    for rid, rec in act["spikes"].items():
        rec = fill_defaults(copy.deepcopy(rec), entry_schema)  # reader, file, time_column, ...
        ckey = f"activity.spikes.{rid}"
        if not re.fullmatch(r"[A-Za-z0-9]+", str(rid)):
            raise ActivityConfigError(
                f"config key {ckey}: the id is the BIDS sub label of the outputs (letters and digits only)"
            )
        files, source = _spike_file(config, manifest, rec, ckey, root)
        ents = {"sub": str(rid)}
        key = stem(ents)
        if key in out:
            raise ActivityConfigError(
                f"config key {ckey}: sub-{rid} is also a recording of "
                f"bids_dir ({out[key]['files'][0]}); rename one"
            )
        out[key] = {
            **{k: rec.get(k, base.get(k)) for k in COUNT_KEYS},
            "reader": rec["reader"],
            "files": files,
            "entities": ents,
            "subdir": folder(ents, "").rstrip("/"),
            "stem": key,
            "time_column": rec["time_column"],
            "simulated": bool(rec["simulated"]),
            "source": source,
            "label": rec.get("label", rid),
            "key": ckey,
        }
        if out[key]["reader"] == "table" and "bin_width" in rec:
            out[key]["bin_width_key"] = f"{ckey}.bin_width"  # checked against the table's bins
    return out


def _bids_spike_specs(config: dict, act: dict) -> dict[str, dict]:
    """The spike recordings of the BIDS route (``activity.bids.kind: units``)."""
    base = act["counts"]
    bids_opts = act["bids"]
    out: dict[str, dict] = {}
    for key, rec in bids_recordings(config).items():
        out[key] = {
            **{k: base.get(k) for k in COUNT_KEYS},
            "reader": "nwb",
            "files": [rec["path"]],
            "entities": rec["entities"],
            "subdir": rec["subdir"],
            "stem": key,
            "time_column": "time",
            "simulated": bool(bids_opts["simulated"]),
            "source": "bids",
            "label": key,
            "key": "activity.bids",
        }
    return out


def _spike_file(config: dict, manifest: dict, rec: dict, ckey: str, root) -> tuple[list[str], str]:
    """The input file of one ``activity.spikes`` entry and its source (dataset id or ``user``)."""
    if ("dataset" in rec) == ("path" in rec):
        raise ActivityConfigError(f"config key {ckey}: give exactly one of 'dataset' or 'path'")
    if "dataset" in rec:
        if rec["dataset"] not in manifest["datasets"]:
            raise ActivityConfigError(
                f"config key {ckey}.dataset: {rec['dataset']!r} is not in the resources manifest"
            )
        paths = dataset_paths(manifest, rec["dataset"], config["resources"]["dest"])
        index = int(rec["file"])
        if index >= len(paths):
            raise ActivityConfigError(
                f"config key {ckey}.file: index {index} out of range; "
                f"dataset {rec['dataset']!r} has {len(paths)} file(s)"
            )
        return [str(paths[index])], rec["dataset"]
    p = Path(rec["path"])
    if not (p.exists() or (Path(root) / p).exists()):
        raise ActivityConfigError(f"config key {ckey}.path: file not found: {p}")
    return [str(p)], "user"


def trace_recordings(config: dict) -> dict[str, dict]:
    """NWB files of the BIDS route read as traces (``activity.bids.kind: traces``)."""
    if _activity(config)["bids"]["kind"] != "traces":
        return {}
    return bids_recordings(config)


def counts_path(results: str, spec: dict) -> str:
    """The standardized counts file of one spike recording."""
    return f"{results}/{spec['subdir']}/ephys/{spec['stem']}_desc-counts_spikes.nc"


def recording_of(recordings: dict, subdir: str, stem_: str) -> dict:
    """The spec of the recording a job's wildcards name (clear error for any other path)."""
    spec = recordings.get(stem_)
    if spec is None or spec["subdir"] != subdir:
        raise ActivityConfigError(
            f"{subdir}/{stem_}: not a recording of this cohort (activity.spikes, activity.bids); "
            f"it has {len(recordings)}: {sorted(recordings)[:8]}"
        )
    return spec


def stems_pattern(stems) -> str:
    """A wildcard regex matching exactly these stems (``(?!)`` when there are none)."""
    return "|".join(re.escape(s) for s in sorted(stems)) or "(?!)"


def spike_citation(manifest: dict, spec: dict) -> str:
    """Citation of a spike recording's manifest dataset ("" for BIDS and user files)."""
    return citation_text(manifest, spec["source"])


def units_path(results: str, spec: dict) -> str:
    """The units file (every spike time, head angle, epochs) of one NWB spike recording."""
    return f"{results}/{spec['subdir']}/ephys/{spec['stem']}_desc-units_spikes.nc"


def units_recording(config: dict, manifest: dict, recording, key: str, root=".") -> dict:
    """The activity spike recording whose units file another stage reads (before any job).

    Parameters
    ----------
    recording : str
        An ``activity.spikes`` id (``A2929``) or the stem of a BIDS-route recording
        (``sub-01_ses-02``).
    key : str
        The config key that names it (``trsa.headdirection.recording``, ...), for errors.

    Returns
    -------
    dict
        The recording's spec (:func:`spike_recordings`); its units file is
        :func:`units_path`.

    Raises
    ------
    ActivityConfigError
        No recording named, the activity stage off, an unknown recording, or a counts table
        (no spike times).
    """
    if not recording:
        raise ActivityConfigError(
            f"config key {key}: not set; name a spike recording of the "
            "activity stage (an activity.spikes id such as A2929)"
        )
    act = config.get("activity") or {}
    if not act.get("activate"):
        raise ActivityConfigError(
            f"config key {key}: {recording!r} is a spike recording of the activity stage, which "
            f"is off; set activity.activate: true and define activity.spikes.{recording} (the "
            "NWB file is read there, once, into a units file)"
        )
    recs = spike_recordings(config, manifest, root)
    spec = recs.get(f"sub-{recording}") or recs.get(str(recording))
    if spec is None:
        raise ActivityConfigError(
            f"config key {key}: {recording!r} is not a spike recording of the activity stage "
            f"(activity.spikes ids, or BIDS-route stems); it has {sorted(recs)[:8]}"
        )
    if spec["reader"] != "nwb":
        raise ActivityConfigError(
            f"config key {key}: {spec['key']} is a counts table (reader: {spec['reader']}); "
            "this analysis needs spike times, i.e. an NWB units recording (reader: nwb)"
        )
    return spec
