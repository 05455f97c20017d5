"""Participants sheets (BIDS ``participants.tsv``) and the include/exclude selection.

The row schema is ``workflow/schemas/participants.schema.yaml``; it is shared by every stage
with a ``participants`` config section (fmri, eeg) and by the fc label sheets. Sheets are
checked when Snakemake parses the workflow, so a bad sheet stops the run before any job,
with the file, line and column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from neuroflow.config import filled_entry

#: The common row schema (next to the config schema in the workflow checkout).
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "participants.schema.yaml"


class ParticipantsError(ValueError):
    """A participants sheet or selection that cannot be used; the message names the file/key."""


def _schema(schema=None) -> dict:
    if isinstance(schema, dict):
        return schema
    path = Path(schema or SCHEMA_PATH)
    if not path.is_file():
        raise ParticipantsError(f"participants schema not found: {path}")
    return yaml.safe_load(path.read_text())


def _read_tsv(path, what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ParticipantsError(f"{what} {path}: file not found")
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment="#")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ParticipantsError(f"{what} {path}: cannot read as TSV: {exc}") from exc


def _check_rows(records, schema: dict, where) -> None:
    """Validate each record against ``schema``; ``where(i, column)`` names the place."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    for i, rec in enumerate(records):
        errors = sorted(validator.iter_errors(rec), key=lambda e: list(e.path))
        if errors:
            err = errors[0]
            column = err.path[0] if err.path else (err.params or {}).get("property", "")
            if err.validator == "required":
                column = err.message.split("'")[1]
            raise ParticipantsError(f"{where(i, column)}: {err.message}")


def read_participants(path, schema=None) -> pd.DataFrame:
    """Read and check a participants sheet.

    Parameters
    ----------
    path : str or Path
        Tab-separated file with a header; ``participant_id`` (``sub-<label>``) required;
        ``session``, ``group``, ``label`` and any other columns optional.
    schema : dict or path, optional
        Row schema; default :data:`SCHEMA_PATH`.

    Returns
    -------
    DataFrame
        The sheet (strings) plus a ``sub`` column: the participant label without ``sub-``.

    Raises
    ------
    ParticipantsError
        Naming the file, the line (1 = header) and the column: a missing required column,
        a value against the schema, a duplicate participant (or participant x session).
    """
    schema = _schema(schema)
    sheet = _read_tsv(path, "participants sheet")
    missing = [c for c in schema.get("required", []) if c not in sheet.columns]
    if missing:
        raise ParticipantsError(
            f"participants sheet {path}: missing required column(s) {missing} "
            f"(columns found: {list(sheet.columns)})"
        )
    _check_rows(
        sheet.to_dict("records"),
        schema,
        lambda i, col: f"participants sheet {path}, line {i + 2}, column {col!r}",
    )
    keys = ["participant_id"] + (["session"] if "session" in sheet.columns else [])
    dup = sheet.duplicated(keys, keep=False)
    if dup.any():
        lines = [int(i) + 2 for i in sheet.index[dup]]
        first = sheet.loc[dup, "participant_id"].iloc[0]
        raise ParticipantsError(
            f"participants sheet {path}, lines {lines}, column "
            f"{'/'.join(keys)!r}: {first!r} appears more than once "
            f"({' x '.join(keys)} must be unique)"
        )
    sheet["sub"] = sheet["participant_id"].str.removeprefix("sub-")
    return sheet


def check_id_columns(path, sub_column="sub", ses_column="ses", schema=None) -> None:
    """Check a per-run sample sheet's subject/session columns against the common schema.

    Rows may repeat a participant (one row per run); each row's ``sub`` (label without
    ``sub-``) and ``ses`` must be what the participants schema accepts.
    """
    full = _schema(schema)
    row_schema = {
        "type": "object",
        "required": ["participant_id"],
        "properties": {k: full["properties"][k] for k in ("participant_id", "session")},
    }
    sheet = _read_tsv(path, "sample sheet")
    if sub_column not in sheet.columns:
        raise ParticipantsError(
            f"sample sheet {path}: missing required column {sub_column!r} "
            f"(columns found: {list(sheet.columns)})"
        )
    records = [
        {
            "participant_id": f"sub-{r[sub_column]}",
            **({"session": r[ses_column]} if ses_column in sheet.columns else {}),
        }
        for r in sheet.to_dict("records")
    ]
    names = {"participant_id": sub_column, "session": ses_column}
    _check_rows(
        records,
        row_schema,
        lambda i, col: f"sample sheet {path}, line {i + 2}, column {names.get(col, col)!r}",
    )


def _label(value: str) -> str:
    return str(value).removeprefix("sub-")


def select_participants(labels, selection: dict | None, key: str, schema=None) -> list[str]:
    """The labels a stage processes: in the sheet (if any), then ``include``, minus ``exclude``.

    Parameters
    ----------
    labels : sequence of str
        Participant labels (no ``sub-``) of the stage's own data, in processing order.
    selection : dict
        The stage's ``participants`` config section: ``sheet``, ``include``, ``exclude``.
    key : str
        Config key of the section, for error messages (e.g. ``eeg.participants``).

    Raises
    ------
    ParticipantsError
        An include/exclude label that the stage's data does not have (a typo would otherwise
        silently change the cohort), or nothing left.
    """
    selection = selection or {}
    labels = list(dict.fromkeys(str(s) for s in labels))
    kept = labels
    if selection.get("sheet"):
        listed = set(read_participants(selection["sheet"], schema)["sub"])
        kept = [s for s in kept if s in listed]
    for name in ("include", "exclude"):
        unknown = sorted({_label(s) for s in selection.get(name) or []} - set(labels))
        if unknown:
            raise ParticipantsError(
                f"config key {key}.{name}: unknown participant(s) {unknown}; this stage has {labels}"
            )
    include = {_label(s) for s in selection.get("include") or []}
    exclude = {_label(s) for s in selection.get("exclude") or []}
    kept = [s for s in kept if (not include or s in include) and s not in exclude]
    if not kept:
        raise ParticipantsError(
            f"config key {key}: no participant left after the sheet, include "
            f"and exclude (stage data: {labels})"
        )
    return kept


def check_participant_sheets(config: dict, schema=None) -> None:
    """Check, at parse time, the sheets of every activated stage with a participants section.

    ``<stage>.participants.sheet`` against the common schema; for fmri also the run sheet's
    ``sub``/``ses`` columns; for fc each benchmark's ``participants`` sheet (the labels of
    its label task), which must also have the benchmark's ``label_column``.
    """
    for stage in ("fmri", "eeg"):
        section = config.get(stage) or {}
        if not section.get("activate"):
            continue
        sheet = (section.get("participants") or {}).get("sheet")
        if sheet:
            read_participants(sheet, schema)
        if stage == "fmri" and section.get("sample_sheet"):
            check_id_columns(section["sample_sheet"], schema=schema)
    fc = config.get("fc") or {}
    if fc.get("activate"):
        for bench_id, bench in (fc.get("benchmarks") or {}).items():
            if not isinstance(bench, dict) or not bench.get("participants"):
                continue
            sheet = read_participants(bench["participants"], schema)
            column = filled_entry(bench, "fc", "benchmarks")["label_column"]
            if column and column not in sheet.columns:
                raise ParticipantsError(
                    f"participants sheet {bench['participants']} (config key "
                    f"fc.benchmarks.{bench_id}.participants): label column {column!r} not found "
                    f"(columns found: {[c for c in sheet.columns if c != 'sub']})"
                )
