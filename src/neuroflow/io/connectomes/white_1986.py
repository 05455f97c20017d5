"""White et al. (1986) whole-animal table as re-annotated by Varshney et al. (2011)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from neuroflow.io.connectomes.edges import (
    TIDY_COLUMNS,
    ConnectomeFileError,
    _check_last_line,
    _check_rows,
    _column_index,
    _edge_rows,
    _finish_edges,
    _is_empty,
    _read_text,
    _require_file,
    _typed_records,
)


def _read_delimited_rows(
    p: Path, text: str, delimiter: str
) -> tuple[dict[str, int], list[tuple[str, list[str]]]]:
    """Header column indices and the non-empty ``(where, fields)`` rows of a delimited text."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        cols = _column_index(header, TIDY_COLUMNS, p, "line 1 (header)")
        rows = []
        for row in reader:
            where = f"line {reader.line_num}"
            if all(_is_empty(v) for v in row):
                continue
            if len(row) != len(header):
                raise ConnectomeFileError(
                    p,
                    f"expected {len(header)} fields, found {len(row)} (truncated or malformed row)",
                    where,
                )
            rows.append((where, row))
    except csv.Error as exc:
        raise ConnectomeFileError(p, f"malformed delimited text: {exc}") from exc
    return cols, rows


def read_white_1986_whole(path, expected_rows: int | None = None) -> pd.DataFrame:
    """Read ``aconnectome_white_1986_whole.csv`` (White et al. 1986, whole animal).

    The file is the White et al. (1986) hermaphrodite wiring as re-annotated for the
    whole animal (pharynx and ventral cord included) by Varshney et al. (2011): one row
    per connection with columns ``pre``, ``post``, ``type`` (``chemical`` or
    ``electrical``) and ``synapses``. Despite its extension it is tab-separated (a
    comma-separated file with the same header is read as well).

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    expected_rows : int, optional
        Number of data rows (non-empty lines after the header) the file must have; the
        published file has 2961.

    Returns
    -------
    pandas.DataFrame
        Edge table with columns ``pre`` (presynaptic / first cell label, as in the
        file), ``post`` (postsynaptic / second cell label), ``synapse_type``
        (``"chemical"`` or ``"electrical"``) and ``weight`` (number of synaptic contacts,
        float64 > 0), one row per ``(pre, post, synapse_type)``, sorted. ``attrs`` holds
        ``source_file``, ``weight_unit`` and ``notes``. Electrical rows are kept in the
        single direction the file lists them; labels such as ``VA1`` or
        ``LegacyBodyWallMuscles`` are kept as written.

    Raises
    ------
    ConnectomeFileError
        If the file is missing, has no ``pre``/``post``/``type``/``synapses`` columns, a
        row has the wrong number of fields, an unknown type or a non-numeric weight, its
        last line has no line break (unless it is the published file), or it does not
        have ``expected_rows`` data rows.
    """
    p = _require_file(path)
    text = _read_text(p)
    first = text.splitlines()[0]
    delimiter = "\t" if "\t" in first else ","
    notes = []
    if delimiter == "\t" and p.suffix.lower() == ".csv":
        notes.append("file is tab-separated despite its .csv extension")
    cols, rows = _read_delimited_rows(p, text, delimiter)
    _check_last_line(p, text, notes)
    _check_rows(p, len(rows), expected_rows)
    parsed = _edge_rows(p, rows, cols, TIDY_COLUMNS)
    records = _typed_records(p, parsed, notes)
    return _finish_edges(
        records,
        p,
        "synapse count (number of synaptic contacts, all contacts weighted equally)",
        notes,
        "labels kept as written (e.g. 'LegacyBodyWallMuscles' for body-wall muscle)",
    )
