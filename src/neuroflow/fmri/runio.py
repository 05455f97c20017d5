"""Reading a run's inputs (its row of the run index) and the fMRI stage's own tables.

Shared by the steps of :mod:`neuroflow.fmri.pipeline` (which writes the tables); cheap to
import (numpy, pandas; the image readers of :mod:`neuroflow.fmri.images` are imported where
a run is read).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.config import filled_section
from neuroflow.fmri.columns import qc_columns


def sources_sha256(paths) -> dict:
    from neuroflow.resources import sha256_file

    return {str(p): sha256_file(p) for p in paths if p}


def tolerance_or_default(t_r_tolerance: float | None) -> float:
    """``t_r_tolerance`` as given, or (None) the fmri schema's default."""
    return filled_section({}, "fmri")["t_r_tolerance"] if t_r_tolerance is None else t_r_tolerance


def read_index(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def table_t_r_note(row: dict) -> str:
    """Where the TR of a ready region time series came from."""
    return {
        "sidecar": "JSON sidecar of the region time series (RepetitionTime)",
        "bold": "JSON sidecar of the run's BOLD series (RepetitionTime)",
    }.get(row.get("t_r_source", ""), "sample sheet")


def load_run(row: dict, tol: float, all_voxels: bool = False):
    from neuroflow.fmri.images import load_bold

    return load_bold(
        row["bold"],
        row.get("bold_rh", ""),
        row.get("bold_json", ""),
        row.get("t_r", ""),
        row.get("t_r_source", "header"),
        row.get("space", ""),
        tol,
        row.get("den", ""),
        all_voxels=all_voxels,
    )


def bold_files(row: dict):
    return [row["bold"], row["bold_rh"]] if row.get("bold_rh") else row["bold"]


def n_volumes_and_t_r(row: dict, tol: float):
    """Volumes and TR of a run without keeping its data."""
    from neuroflow.fmri.images import n_volumes_of, read_region_timeseries, resolve_t_r

    if row["kind"] == "timeseries":
        data, _ = read_region_timeseries(row["timeseries"], row.get("mat_variable", ""))
        return data.shape[0], float(row["t_r"]), table_t_r_note(row), [row["timeseries"]]
    t_r, note = resolve_t_r(
        row["bold"], row.get("bold_json", ""), row.get("t_r", ""), row.get("t_r_source", "header"), tol
    )
    sources = [p for p in (row["bold"], row.get("bold_rh", "")) if p]
    counts = [n_volumes_of(p) for p in sources]
    if len(set(counts)) > 1:
        raise ValueError(f"{sources[0]} has {counts[0]} volumes but {sources[1]} has {counts[1]}")
    return counts[0], t_r, note, sources


def read_regressors(path) -> pd.DataFrame:
    """A regressors TSV written by :func:`neuroflow.fmri.pipeline.run_confounds` (possibly
    without any column)."""
    try:
        return pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def load_atlas_names(labels_tsv: str) -> dict[int, str]:
    """BIDS ``dseg.tsv`` (columns index, name) -> {index: name}."""
    if not labels_tsv:
        return {}
    try:
        table = pd.read_csv(labels_tsv, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"atlas labels {labels_tsv}: cannot read: {exc}") from exc
    if not {"index", "name"} <= set(table.columns):
        raise ValueError(f"atlas labels {labels_tsv}: columns 'index' and 'name' are required")
    try:
        index = [int(v) for v in table["index"]]
    except ValueError as exc:
        raise ValueError(f"atlas labels {labels_tsv}: column 'index' must hold integers ({exc})") from exc
    dup = sorted({i for i in index if index.count(i) > 1})
    if dup:
        raise ValueError(f"atlas labels {labels_tsv}: index value(s) {dup[:8]} listed twice")
    return dict(zip(index, table["name"].astype(str)))


def qc_units(row: dict, raw_tsv: str, tol: float):
    """A run's data for QC: (data (n_units, n_volumes), TR, unit name), constant units left out."""
    from neuroflow.fmri.images import nonconstant_rows

    if row["kind"] == "timeseries":
        raw_df = pd.read_csv(raw_tsv, sep="\t").dropna(axis=1, how="all")
        return raw_df.to_numpy(dtype=np.float64).T, float(row["t_r"]), "regions"
    bold = load_run(row, tol)
    data = bold.data[nonconstant_rows(bold.data)] if bold.kind != "volume" else bold.data
    return data, bold.t_r, {"surface": "vertices", "cifti": "grayordinates"}.get(bold.kind, "voxels")


#: Columns that hold BIDS labels or names: read back as strings (``010188`` stays ``010188``).
LABEL_COLUMNS = (
    "stem",
    "sub",
    "ses",
    "task",
    "acq",
    "run",
    "space",
    "res",
    "den",
    "kind",
    "strategy",
    "atlas",
    "path",
    "exclusion_reason",
)


def qc_columns_of(qc_tsvs) -> dict:
    """Column entries of the per-run QC sidecars (they hold the FD threshold used), and the
    entity columns :func:`read_qc_table` adds."""
    cols = qc_columns("fmri.qc.fd_threshold")
    for path in sorted(str(p) for p in qc_tsvs):
        if not Path(path).with_suffix(".json").is_file():
            continue
        side = json.loads(Path(path).with_suffix(".json").read_text())
        cols.update({k: v for k, v in side.items() if isinstance(v, dict) and "Description" in v})
    return cols


QC_ENTITIES = ("sub", "ses", "task", "run", "space")


def read_qc_table(path) -> pd.DataFrame:
    """A per-run QC TSV, labels kept as strings and ``n/a`` as NaN in the numeric columns."""
    from neuroflow.fmri.index import parse_entities

    with open(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
    table = pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        na_values=["n/a"],
        dtype={c: str for c in LABEL_COLUMNS if c in header},
    )
    # the run's entities are in its file name, not columns: a column named like an entity
    # would be metadata of every file the sidecar applies to (BIDS inheritance)
    ents = parse_entities(Path(path).name)
    for i, key in enumerate(QC_ENTITIES, start=1):
        if key not in table:
            table.insert(i, key, str(ents.get(key, "") or ""))
    return table
