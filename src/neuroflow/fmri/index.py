"""The run index: one row per BOLD run (or ready region time series), from a sample sheet
and/or the cohort's BIDS-derivatives folders (top-level ``derivatives``: fMRIPrep, XCP-D).

The derivatives are queried with pybids through :mod:`neuroflow.bids` (nothing here walks a
folder); the cohort's selection (``participant_label``, ``exclude_participant_label``,
``sessions``, ``runs``, ``tasks``) is applied by that query. Inputs read:

* fMRIPrep volumes ``*_desc-<desc>_bold.nii[.gz]`` at any ``res-`` (kind ``volume``);
* fsaverage / fs_LR GIfTI pairs ``*_hemi-L_*_bold.func.gii`` + ``hemi-R`` (kind ``surface``);
* CIFTI-2 ``*_bold.dtseries.nii`` (kind ``cifti``; parcellated with a CIFTI ``dlabel`` atlas);
* their ``*_desc-confounds_timeseries.tsv`` (+ ``.json``; ``_regressors.tsv`` before fMRIPrep
  20.2), matched by the run's acquisition entities;
* XCP-D region time series ``*_seg-<atlas>_..._timeseries.tsv`` (or ``atlas-<atlas>``;
  kind ``timeseries``; columns = regions), with the TR of their JSON sidecar or of the run's
  BOLD sidecar.

Every entity of the input file (sub, ses, task, acq, ce, rec, dir, run, echo, part, space,
res, den, seg, ...) is carried into the run's ``stem`` (:func:`neuroflow.bids.stem`), so the
``res-1`` and ``res-2`` outputs of one run, or two densities, are two runs of the index.

The index is built at parse time (:func:`neuroflow.fmri.inputs.fmri_index`, so that a bad input
stops the workflow before any job and ``snakemake -n`` lists every job) and written once by the
``fmri_index`` rule; every per-run job gets its row as a parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from neuroflow.bids import ENTITY_ORDER, BIDSInputError, Selection, folder, stem
from neuroflow.config import filled_entry
from neuroflow.fmri.checks import check_timeseries_strategies, check_unique, choose_strategies_and_atlases

#: Entities kept in run stems and index columns (BIDS order). ``hemi`` is the pair of a
#: surface run, ``desc`` and ``atlas`` are set by the outputs (an input ``atlas-`` becomes
#: ``seg-``).
ENTITIES = tuple(k for k in ENTITY_ORDER if k not in ("hemi", "atlas", "desc"))
#: Entities that tell one acquisition (and its confounds) apart; not space/res/den.
RUN_KEYS = ("sub", "ses", "task", "acq", "ce", "rec", "dir", "run", "echo", "part")
#: Columns of the index TSV.
INDEX_COLUMNS = (
    "stem",
    "folder",
    "kind",
    *ENTITIES,
    "bold",
    "bold_rh",
    "bold_json",
    "confounds",
    "confounds_format",
    "t_r",
    "t_r_source",
    "timeseries",
    "atlas",
    "mat_variable",
    "strategies",
    "atlases",
    "simulated",
)
SHEET_COLUMNS = set(INDEX_COLUMNS) - {"stem", "folder", "kind"}
KINDS = ("volume", "surface", "cifti", "timeseries")


def parse_entities(name: str) -> dict[str, str]:
    """Short-key BIDS entities of a file name (pybids' parser; suffix and extension dropped).

    The name is given a leading ``/``: pybids finds ``sub-`` only after a path separator.
    """
    from neuroflow.bids import entities_from_name

    return entities_from_name("/" + Path(name).name)


def stem_of(entities: dict) -> str:
    """``sub-01_ses-1_task-rest_run-1_space-X_res-2``: the run entities present, in BIDS order."""
    return stem({k: entities.get(k) for k in ENTITIES})


def folder_of(entities: dict) -> str:
    """``sub-01/ses-1/func`` (the session folder only when there is a session)."""
    return folder(entities, "func")


def _resolve(value, base: Path, resources_dest: str) -> str:
    """Expand ``{resources}`` and make a relative path relative to ``base`` if it exists there."""
    if not isinstance(value, str) or not value:
        return ""
    value = value.replace("{resources}", str(resources_dest))
    p = Path(value)
    if not p.is_absolute() and not p.exists() and (base / p).exists():
        return str(base / p)
    return value


def read_sample_sheet(path, resources_dest="resources/data") -> pd.DataFrame:
    """Read a sample sheet (TSV, one row per run) into index rows.

    Required columns: ``sub`` and either ``bold`` (image runs) or ``timeseries`` (ready
    region time series, which also need ``t_r`` and ``atlas``). Optional: every other
    column of :data:`INDEX_COLUMNS`. Paths may start with ``{resources}`` (the resources
    folder of the config) and are otherwise relative to the working directory. A ``bold``
    ending in ``.dtseries.nii`` is a CIFTI run.

    Raises
    ------
    ValueError
        Naming the sheet, the row and the problem.
    """
    path = Path(path)
    try:
        sheet = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment="#")
    except (OSError, pd.errors.ParserError) as exc:
        raise ValueError(f"sample sheet {path}: cannot read: {exc}") from exc
    unknown = sorted(set(sheet.columns) - SHEET_COLUMNS)
    if unknown:
        raise ValueError(
            f"sample sheet {path}: unknown column(s) {unknown}; allowed: {sorted(SHEET_COLUMNS)}"
        )
    if "sub" not in sheet.columns:
        raise ValueError(f"sample sheet {path}: the column 'sub' is required")
    rows = []
    for i, rec in enumerate(sheet.to_dict("records"), start=2):
        where = f"sample sheet {path}, line {i}"
        ents = {k: rec.get(k, "") for k in ENTITIES}
        for k, v in ents.items():
            if v and not v.isalnum():
                raise ValueError(f"{where}: entity {k}={v!r} must be letters and digits only")
        if not ents["sub"]:
            raise ValueError(f"{where}: 'sub' is empty")
        row = {c: rec.get(c, "") for c in INDEX_COLUMNS}
        for col in ("bold", "bold_rh", "bold_json", "confounds", "timeseries"):
            row[col] = _resolve(rec.get(col, ""), path.parent, resources_dest)
        if bool(row["bold"]) == bool(row["timeseries"]):
            raise ValueError(
                f"{where}: give exactly one of 'bold' (an image) or 'timeseries' (ready region time series)"
            )
        if row["timeseries"]:
            row["kind"] = "timeseries"
            if not row["t_r"] or not row["atlas"]:
                raise ValueError(f"{where}: ready time series need 't_r' (seconds) and 'atlas'")
        elif row["bold"].endswith(".dtseries.nii"):
            row["kind"] = "cifti"
        else:
            row["kind"] = "surface" if row["bold_rh"] else "volume"
        if row["confounds"] and not row["confounds_format"]:
            row["confounds_format"] = "fmriprep"
        row["t_r_source"] = row["t_r_source"] or "header"
        if row["t_r_source"] not in ("header", "sheet"):
            raise ValueError(f"{where}: t_r_source must be 'header' or 'sheet'")
        rows.append(row)
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


# --------------------------------------------------------------------------- derivatives
def _run_key(ents: dict, echo: bool = True) -> tuple:
    return tuple((k, ents[k]) for k in RUN_KEYS if ents.get(k) and (echo or k != "echo"))


def _own_sidecar(path: str) -> str:
    """The JSON sidecar of a file by BIDS naming (``x_bold.json``, ``x_bold.dtseries.json``)."""
    p = Path(path)
    base, _, ext = p.name.partition(".")
    inner = ext.rsplit(".", 1)[0] if "." in ext else ""
    names = [f"{base}.json"] + ([f"{base}.{inner}.json"] if inner and inner != "nii" else [])
    for name in names:
        if (p.parent / name).is_file():
            return str(p.parent / name)
    return ""


def _repetition_time(path: str):
    """``RepetitionTime`` (s) of a JSON sidecar, or None."""
    if not path:
        return None
    try:
        value = json.loads(Path(path).read_text()).get("RepetitionTime")
    except (OSError, ValueError):
        return None
    return float(value) if value not in (None, "") else None


def _folders(selection: Selection):
    return [(root, f"derivatives[{i}]") for i, root in enumerate(selection.derivatives)]


def query_derivatives(selection: Selection, spaces=(), desc: str = "preproc") -> pd.DataFrame:
    """Index rows of every fMRI input in the cohort's derivatives folders (pybids).

    Parameters
    ----------
    selection : neuroflow.bids.Selection
        The cohort (``derivatives`` folders and participant / session / run / task filters).
    spaces : sequence of str
        Spaces kept (empty = all), e.g. ``MNI152NLin2009cAsym``, ``fsaverage5``, ``fsLR``.
    desc : str
        ``desc`` entity of the volumetric BOLD files (fMRIPrep: ``preproc``); surface and
        CIFTI BOLD files have none.

    Returns
    -------
    DataFrame
        Index rows (:data:`INDEX_COLUMNS`; ``strategies``/``atlases`` empty, ``stem`` and
        ``folder`` filled). Folders without any fMRI input are skipped (another stage's).

    Raises
    ------
    neuroflow.bids.BIDSInputError
        A folder that does not exist or has no ``dataset_description.json``; a GIfTI left
        hemisphere without its right one; a region time series without a known TR; a
        selected participant without any fMRI input (each naming the file and config key).
    """
    from neuroflow.bids import query, subjects

    rows, confounds, bold_sidecars, fmri_folders = [], {}, {}, []
    for root, key in _folders(selection):
        # every folder is checked (exists, has dataset_description.json) by this query; one
        # query per folder, split here (pybids' per-file entity look-up is the cost)
        found, ts = [], []
        for r in query(
            root, selection, True, key, datatype="func", suffix=["bold", "timeseries", "regressors"]
        ):
            name = Path(r["path"]).name
            suffix = name.split(".")[0].rsplit("_", 1)[-1]
            if r.get("desc") == "confounds" and name.endswith(".tsv"):
                confounds.setdefault(_run_key(r), r["path"])
            elif spaces and r.get("space") not in spaces:
                continue
            elif suffix == "bold":
                found.append(r)
            elif suffix == "timeseries" and name.endswith(".tsv"):
                ts.append(r)
        if not (found or ts or _has_fmri(root, key)):
            continue
        fmri_folders.append((root, key))
        for r in found:
            if r["path"].endswith(".json"):
                t_r = _repetition_time(r["path"])
                if t_r is not None:
                    bold_sidecars.setdefault(_run_key(r), (t_r, r["path"]))
        rows += _bold_rows(found, desc, key)
        rows += _timeseries_rows(root, key, selection, ts)
    for row in rows:
        if row["kind"] == "timeseries":
            _timeseries_t_r(row, bold_sidecars)
            continue
        ents = {k: row[k] for k in RUN_KEYS}
        row["confounds"] = confounds.get(_run_key(ents)) or confounds.get(_run_key(ents, False), "")
        row["confounds_format"] = "fmriprep" if row["confounds"] else ""
    table = pd.DataFrame(rows, columns=list(INDEX_COLUMNS)).fillna("")
    _check_participants(table, selection, fmri_folders, subjects)
    return table


def _has_fmri(root, key) -> bool:
    """Whether a folder holds any fMRI input at all (whatever the selection)."""
    from neuroflow.bids import query

    everyone = Selection(derivatives=(str(root),))
    return bool(
        query(
            root,
            everyone,
            True,
            key,
            suffix=["bold", "timeseries"],
            datatype="func",
            extension=[".nii.gz", ".nii", ".func.gii", ".dtseries.nii", ".tsv"],
        )
    )


def _new_row(ents: dict, kind: str, where: str) -> dict:
    row = dict.fromkeys(INDEX_COLUMNS, "")
    row.update({k: str(ents.get(k) or "") for k in ENTITIES})
    for k in ENTITIES:
        if row[k] and not row[k].isalnum():
            raise BIDSInputError(
                f"config key {where}: entity {k}-{row[k]} is not a BIDS label (letters and digits only)"
            )
    row["kind"] = kind
    row["t_r_source"] = "header"
    row["stem"], row["folder"] = stem_of(row), folder_of(row)
    return row


def _bold_rows(found: list[dict], desc: str, key: str) -> list[dict]:
    """Volume, surface-pair and CIFTI rows of one folder's ``*_bold.*`` files."""
    rows = []
    right = {
        tuple(sorted((k, v) for k, v in r.items() if k not in ("path", "hemi"))): r["path"]
        for r in found
        if r.get("hemi") == "R" and r["path"].endswith(".func.gii")
    }
    for r in found:
        path = r["path"]
        if path.endswith((".nii.gz", ".nii")) and not path.endswith(".dtseries.nii"):
            if r.get("desc") != desc or r.get("hemi"):
                continue
            row = _new_row(r, "volume", key)
        elif path.endswith(".dtseries.nii"):
            if r.get("desc"):
                continue  # e.g. XCP-D's desc-denoised outputs: not fMRIPrep BOLD
            row = _new_row(r, "cifti", key)
        elif path.endswith(".func.gii") and r.get("hemi") == "L" and not r.get("desc"):
            pair = tuple(sorted((k, v) for k, v in r.items() if k not in ("path", "hemi")))
            if pair not in right:
                raise BIDSInputError(
                    f"config key {key}: {path} has no right hemisphere "
                    f"(the same name with hemi-R) in the same folder"
                )
            row = _new_row(r, "surface", key)
            row["bold_rh"] = right[pair]
        else:
            continue
        row["bold"] = path
        row["bold_json"] = _own_sidecar(path)
        if not row["bold_json"] and row["kind"] == "surface":
            # one sidecar for both hemispheres (BIDS inheritance: the name without hemi-)
            row["bold_json"] = _own_sidecar(path.replace("_hemi-L_", "_"))
        rows.append(row)
    return rows


def _timeseries_rows(root, key: str, selection: Selection, found: list[dict]) -> list[dict]:
    """XCP-D-style region time series: the atlas is the ``seg-`` (or ``atlas-``) entity."""
    if not found:
        return []
    from neuroflow.bids import layout

    lay = layout(root, True, key)
    seg_of = {}
    for value in lay.get(return_type="id", target="segmentation", suffix="timeseries", extension=".tsv"):
        for f in lay.get(segmentation=value, suffix="timeseries", extension=".tsv"):
            seg_of[f.path] = str(value)
    rows = []
    for r in found:
        seg = r.get("seg") or seg_of.get(r["path"]) or r.get("atlas")
        if not seg:
            continue  # not a region time series (e.g. a physio or motion table)
        row = _new_row({**r, "seg": seg}, "timeseries", key)
        row.update(timeseries=r["path"], atlas=seg, atlases=seg)
        row["_sidecar"] = _own_sidecar(r["path"])
        row["_key"] = key
        rows.append(row)
    return rows


def _timeseries_t_r(row: dict, bold_sidecars: dict) -> None:
    """TR of a region time series: its own JSON sidecar, else the run's BOLD sidecar."""
    side = row.pop("_sidecar", "")
    key = row.pop("_key", "derivatives")
    t_r = _repetition_time(side)
    if t_r is not None:
        row["t_r"], row["t_r_source"] = repr(t_r), "sidecar"
        return
    ents = {k: row[k] for k in RUN_KEYS}
    found = bold_sidecars.get(_run_key(ents)) or bold_sidecars.get(_run_key(ents, False))
    if found is None:
        raise BIDSInputError(
            f"config key {key}: {row['timeseries']}: no repetition time; its JSON sidecar "
            f"{side or Path(row['timeseries']).name.replace('.tsv', '.json')} has no "
            "RepetitionTime and no BOLD JSON sidecar of the same run is in the derivatives folders"
        )
    row["t_r"], row["t_r_source"] = repr(found[0]), "bold"


def _check_participants(table: pd.DataFrame, selection: Selection, fmri_folders, subjects) -> None:
    """Every selected participant of a folder with fMRI inputs has at least one of them."""
    if not fmri_folders:
        return
    have = set(table["sub"]) if len(table) else set()
    for root, key in fmri_folders:
        present = [s for s in subjects(root, True, key) if selection.keeps({"sub": s})]
        missing = sorted(set(present) - have)
        if missing:
            named = selection.participant_label is not None
            raise BIDSInputError(
                f"config key {'participant_label' if named else key}: participant(s) "
                f"{['sub-' + m for m in missing]} of {root} have no fMRI input (no "
                "*_bold.nii[.gz] / *_bold.func.gii pair / *_bold.dtseries.nii / region "
                "*_timeseries.tsv under func/ that the tasks, sessions, runs and fmri.scan "
                "filters keep); leave them out with exclude_participant_label"
            )


# --------------------------------------------------------------------------- index


def _loaders(strategies) -> dict:
    if isinstance(strategies, Mapping):
        return {k: v["loader"] for k, v in strategies.items()}
    return dict.fromkeys(strategies, "")


def _as_selection(derivatives) -> Selection | None:
    if derivatives is None or isinstance(derivatives, Selection):
        return derivatives
    if isinstance(derivatives, (str, Path)):
        derivatives = [derivatives]
    return Selection(derivatives=tuple(str(d) for d in derivatives)) if derivatives else None


def build_index(
    sample_sheet=None,
    derivatives=None,
    spaces=(),
    desc="preproc",
    resources_dest="resources/data",
    strategies=(),
    atlases=None,
    scan_strategies=(),
    participants=None,
    timeseries_strategies=(),
    missing_ok_under=None,
    simulated=False,
) -> pd.DataFrame:
    """Merge the sample sheet and the derivatives into the run index; check it.

    Parameters
    ----------
    derivatives : neuroflow.bids.Selection or sequence of str, optional
        The cohort's selection (its ``derivatives`` folders are queried, see
        :func:`query_derivatives`), or plain folder paths (no participant filter).
    strategies : mapping or sequence of str
        Strategies of the config (name -> settings with ``loader``, or names); a row's
        ``strategies`` must be among them (empty = all strategies).
    atlases : dict
        Atlas name -> config (``space``, ``den``, and ``path`` | ``left``/``right`` |
        ``dlabel``); a row's ``atlases`` must be among them, of its kind and in its space
        (empty = every atlas of the run's kind, space and density; for ready time series,
        the row's ``atlas``).
    scan_strategies : sequence of str
        Strategies of the BOLD runs of the derivatives (empty = all).
    timeseries_strategies : sequence of str
        Strategies of the derivatives' ready region time series, which have no confounds
        (empty = the strategies with ``loader: none``).
    participants : dict, optional
        The ``fmri.participants`` section (``sheet``, ``include``, ``exclude``): only the runs
        of the selected participants are kept (:func:`neuroflow.participants.select_participants`),
        before any other check, so an excluded participant's files need not exist.
    missing_ok_under : str, optional
        Files under this folder may not exist yet (the resources a rule fetches); used when
        the index is built at parse time.

    Raises
    ------
    ValueError
        Missing files, duplicate runs, unknown strategies/atlases, atlas in another space or
        of another kind, a CIFTI run without a CIFTI atlas, a strategy that needs confounds
        for a run without them (each naming the row's file and the config key).
    """
    # entries handed in by callers other than the workflow get the schema's defaults
    atlases = {k: filled_entry(v, "fmri", "atlases") for k, v in (atlases or {}).items()}
    loaders = _loaders(strategies)
    index = _gather_runs(
        sample_sheet,
        derivatives,
        spaces,
        desc,
        resources_dest,
        loaders,
        scan_strategies,
        timeseries_strategies,
        participants,
    )
    check_unique(index)
    ok_under = str(Path(missing_ok_under).resolve()) if missing_ok_under else None
    index["strategies"], index["atlases"] = choose_strategies_and_atlases(index, loaders, atlases, ok_under)
    index["simulated"] = [
        _simulated_cell(v, simulated, r) for v, r in zip(index["simulated"], index["stem"], strict=True)
    ]
    return index.sort_values("stem", kind="stable").reset_index(drop=True)


def _simulated_cell(value, default: bool, stem: str) -> bool:
    """A run's ``simulated`` flag: the sample sheet's cell (true/false/1/0) or, when the
    cell is empty (derivatives rows), the cohort's ``fmri.simulated``."""
    text = str(value).strip().lower()
    if text in ("", "nan", "none", "n/a"):
        return bool(default)
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"fmri sample sheet, run {stem}: simulated must be true or false, not {value!r}")


def _gather_runs(
    sample_sheet,
    derivatives,
    spaces,
    desc,
    resources_dest,
    loaders,
    scan_strategies,
    timeseries_strategies,
    participants,
) -> pd.DataFrame:
    """The sample sheet's rows and the derivatives' runs, of the selected participants,
    with their ``stem`` and ``folder``."""
    parts = []
    if sample_sheet:
        parts.append(read_sample_sheet(sample_sheet, resources_dest))
    selection = _as_selection(derivatives)
    if selection is not None and selection.derivatives:
        found = query_derivatives(selection, spaces, desc)
        ts = found["kind"] == "timeseries"
        found.loc[~ts, "strategies"] = ",".join(scan_strategies)
        if ts.any():
            found.loc[ts, "strategies"] = ",".join(
                check_timeseries_strategies(timeseries_strategies, loaders)
            )
        parts.append(found)
    parts = [p for p in parts if len(p)]
    index = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(INDEX_COLUMNS))
    index = index.fillna("")
    if participants and any(participants.get(k) for k in ("sheet", "include", "exclude")):
        from neuroflow.participants import select_participants

        kept = select_participants(index["sub"].tolist(), participants, "fmri.participants")
        index = index[index["sub"].isin(kept)].reset_index(drop=True)
    records = index.to_dict("records")
    index["stem"] = [stem_of(r) for r in records]
    index["folder"] = [folder_of(r) for r in records]
    return index


def expand_index(index: pd.DataFrame) -> list[dict]:
    """One dict per (run, atlas, strategy): ``folder, stem, atlas, strategy``."""
    out = []
    for row in index.to_dict("records"):
        for atlas in filter(None, str(row["atlases"]).split(",")):
            for strategy in filter(None, str(row["strategies"]).split(",")):
                out.append(
                    {"folder": row["folder"], "stem": row["stem"], "atlas": atlas, "strategy": strategy}
                )
    return out
