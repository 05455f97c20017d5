"""The run index: one row per BOLD run (or ready region time series), from a sample sheet
and/or a scan of BIDS-derivatives (fMRIPrep) folders.

The index is built once by its own rule (``fmri_index``) and every per-run job reads its row;
no job scans a folder. A light own parser of BIDS entities is used (no pybids): fMRIPrep
outputs follow fixed patterns, and the scan only needs the entities, the BOLD file(s), the
confounds TSV (+ JSON) and the BOLD JSON sidecar.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

#: BIDS entities kept in output names, in BIDS order.
ENTITIES = ("sub", "ses", "task", "acq", "ce", "rec", "dir", "run", "echo", "space")
#: Columns of the index TSV.
INDEX_COLUMNS = (
    "stem", "folder", "kind", *ENTITIES, "bold", "bold_rh", "bold_json", "confounds",
    "confounds_format", "t_r", "t_r_source", "timeseries", "atlas", "mat_variable",
    "strategies", "atlases")
SHEET_COLUMNS = set(INDEX_COLUMNS) - {"stem", "folder", "kind"}
_VALUE = re.compile(r"^[A-Za-z0-9]+$")
_ENTITY = re.compile(r"(?:^|_)([a-z]+)-([A-Za-z0-9]+)")


def parse_entities(name: str) -> dict[str, str]:
    """BIDS ``key-value`` entities of a file name (suffix and extension ignored)."""
    return dict(_ENTITY.findall(Path(name).name.split(".")[0]))


def stem_of(entities: dict) -> str:
    """``sub-01_ses-1_task-rest_run-1_space-X``: the entities present, in BIDS order."""
    return "_".join(f"{k}-{entities[k]}" for k in ENTITIES if entities.get(k))


def folder_of(entities: dict) -> str:
    """``sub-01/ses-1/func`` (the session folder only when there is a session)."""
    ses = f"/ses-{entities['ses']}" if entities.get("ses") else ""
    return f"sub-{entities['sub']}{ses}/func"


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
    folder of the config) and are otherwise relative to the working directory.

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
        raise ValueError(f"sample sheet {path}: unknown column(s) {unknown}; "
                         f"allowed: {sorted(SHEET_COLUMNS)}")
    if "sub" not in sheet.columns:
        raise ValueError(f"sample sheet {path}: the column 'sub' is required")
    rows = []
    for i, rec in enumerate(sheet.to_dict("records"), start=2):
        where = f"sample sheet {path}, line {i}"
        ents = {k: rec.get(k, "") for k in ENTITIES}
        for k, v in ents.items():
            if v and not _VALUE.match(v):
                raise ValueError(f"{where}: entity {k}={v!r} must be letters and digits only")
        if not ents["sub"]:
            raise ValueError(f"{where}: 'sub' is empty")
        row = {c: rec.get(c, "") for c in INDEX_COLUMNS}
        for col in ("bold", "bold_rh", "bold_json", "confounds", "timeseries"):
            row[col] = _resolve(rec.get(col, ""), path.parent, resources_dest)
        if bool(row["bold"]) == bool(row["timeseries"]):
            raise ValueError(f"{where}: give exactly one of 'bold' (an image) or 'timeseries' "
                             "(ready region time series)")
        if row["timeseries"]:
            row["kind"] = "timeseries"
            if not row["t_r"] or not row["atlas"]:
                raise ValueError(f"{where}: ready time series need 't_r' (seconds) and 'atlas'")
        else:
            row["kind"] = "surface" if row["bold_rh"] else "volume"
        if row["confounds"] and not row["confounds_format"]:
            row["confounds_format"] = "fmriprep"
        row["t_r_source"] = row["t_r_source"] or "header"
        if row["t_r_source"] not in ("header", "sheet"):
            raise ValueError(f"{where}: t_r_source must be 'header' or 'sheet'")
        rows.append(row)
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def scan_derivatives(root, tasks=(), spaces=(), desc="preproc") -> pd.DataFrame:
    """Find fMRIPrep BOLD runs (volumetric NIfTI and GIfTI hemisphere pairs) under ``root``.

    Volumes: ``sub-*/[ses-*/]func/*_desc-<desc>_bold.nii[.gz]``. Surfaces:
    ``*_hemi-L_*_bold.func.gii`` with the matching ``hemi-R`` file. The confounds are the
    ``*_desc-confounds_timeseries.tsv`` of the same sub/ses/task/acq/run (fMRIPrep >= 20.2;
    ``_regressors.tsv`` before), the BOLD JSON the image's own sidecar.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"derivatives folder {root} does not exist")
    rows = []
    for img in sorted(root.glob("sub-*/**/func/*_bold.*")):
        name = img.name
        ents = parse_entities(name)
        if tasks and ents.get("task") not in tasks:
            continue
        if spaces and ents.get("space") not in spaces:
            continue
        if name.endswith((".nii.gz", ".nii")) and ents.get("desc") == desc:
            kind, bold, bold_rh = "volume", img, None
        elif name.endswith(".func.gii") and ents.get("hemi") == "L":
            kind, bold = "surface", img
            bold_rh = img.with_name(name.replace("_hemi-L_", "_hemi-R_"))
            if not bold_rh.exists():
                raise ValueError(f"{img}: the right hemisphere {bold_rh.name} is missing")
        else:
            continue
        key = {k: v for k, v in ents.items() if k in ("sub", "ses", "task", "acq", "ce", "rec", "dir",
                                                       "run", "echo")}
        confounds = ""
        for suffix in ("timeseries", "regressors"):
            cand = img.with_name(stem_of(key) + f"_desc-confounds_{suffix}.tsv")
            if cand.exists():
                confounds = str(cand)
                break
        side = img.with_name(name.split(".")[0] + ".json")
        row = {c: "" for c in INDEX_COLUMNS}
        row.update({k: ents.get(k, "") for k in ENTITIES})
        row.update(kind=kind, bold=str(bold), bold_rh=str(bold_rh or ""),
                   bold_json=str(side) if side.exists() else "", confounds=confounds,
                   confounds_format="fmriprep" if confounds else "", t_r_source="header")
        rows.append(row)
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def build_index(sample_sheet=None, derivatives_dirs=(), tasks=(), spaces=(), desc="preproc",
                resources_dest="resources/data", strategies=(), atlases=None,
                scan_strategies=(), participants=None) -> pd.DataFrame:
    """Merge the sample sheet and the scans into the run index; check it.

    Parameters
    ----------
    strategies : sequence of str
        Strategy names of the config; a row's ``strategies`` must be among them (empty =
        all strategies).
    atlases : dict
        Atlas name -> config (with ``space``); a row's ``atlases`` must be among them and in
        its space (empty = every atlas of the run's space; for ready time series, the row's
        ``atlas``).
    scan_strategies : sequence of str
        Strategies of the runs found by the scan (empty = all).
    participants : dict, optional
        The ``fmri.participants`` section (``sheet``, ``include``, ``exclude``): only the runs
        of the selected participants are kept (:func:`neuroflow.participants.select_participants`),
        before any other check, so an excluded participant's files need not exist.

    Raises
    ------
    ValueError
        Missing files, duplicate runs, unknown strategies/atlases, atlas in another space
        (each naming the row's file).
    """
    from neuroflow.fmri.atlases import check_atlas_space

    atlases = atlases or {}
    parts = []
    if sample_sheet:
        parts.append(read_sample_sheet(sample_sheet, resources_dest))
    for root in derivatives_dirs:
        scanned = scan_derivatives(root, tasks, spaces, desc)
        scanned["strategies"] = ",".join(scan_strategies)
        parts.append(scanned)
    index = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(INDEX_COLUMNS))
    index = index.fillna("")
    if participants and any(participants.get(k) for k in ("sheet", "include", "exclude")):
        from neuroflow.participants import select_participants

        kept = select_participants(index["sub"].tolist(), participants, "fmri.participants")
        index = index[index["sub"].isin(kept)].reset_index(drop=True)
    index["stem"] = [stem_of(r) for r in index.to_dict("records")]
    index["folder"] = [folder_of(r) for r in index.to_dict("records")]
    dup = index["stem"][index["stem"].duplicated()].tolist()
    if dup:
        raise ValueError(f"run index: the same run appears twice: {sorted(set(dup))} "
                         "(check the sample sheet and the derivatives folders)")
    for i, row in index.iterrows():
        src = row["bold"] or row["timeseries"]
        for col in ("bold", "bold_rh", "bold_json", "confounds", "timeseries"):
            if row[col] and not Path(row[col]).exists():
                raise ValueError(f"run {row['stem']}: {col} file {row[col]} does not exist")
        chosen = [s for s in row["strategies"].split(",") if s] or list(strategies)
        bad = sorted(set(chosen) - set(strategies))
        if bad:
            raise ValueError(f"run {row['stem']} ({src}): unknown strategies {bad}; "
                             f"defined under fmri.strategies: {sorted(strategies)}")
        index.at[i, "strategies"] = ",".join(chosen)
        if row["kind"] == "timeseries":
            index.at[i, "atlases"] = row["atlas"]
            continue
        chosen = [a for a in row["atlases"].split(",") if a] or [
            a for a, cfg in atlases.items() if cfg.get("space", "") == row["space"]]
        for name in chosen:
            if name not in atlases:
                raise ValueError(f"run {row['stem']} ({src}): unknown atlas {name!r}; defined "
                                 f"under fmri.atlases: {sorted(atlases)}")
            check_atlas_space(name, atlases[name].get("space", ""), row["space"], src)
        if not chosen:
            raise ValueError(f"run {row['stem']} ({src}): no atlas in space {row['space']!r} "
                             "under fmri.atlases")
        index.at[i, "atlases"] = ",".join(chosen)
    return index.sort_values("stem", kind="stable").reset_index(drop=True)


def expand_index(index: pd.DataFrame) -> list[dict]:
    """One dict per (run, atlas, strategy): ``folder, stem, atlas, strategy``."""
    out = []
    for row in index.to_dict("records"):
        for atlas in filter(None, str(row["atlases"]).split(",")):
            for strategy in filter(None, str(row["strategies"]).split(",")):
                out.append({"folder": row["folder"], "stem": row["stem"], "atlas": atlas,
                            "strategy": strategy})
    return out
