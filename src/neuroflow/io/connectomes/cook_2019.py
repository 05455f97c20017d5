"""Hermaphrodite adjacency matrices of Cook et al. (2019), SI 5 corrected July 2020."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuroflow.io.connectomes.edges import (
    ConnectomeFileError,
    _cell,
    _column_letter,
    _finish_edges,
    _is_empty,
    _require_file,
    _weight,
)
from neuroflow.io.connectomes.spreadsheets import _read_sheets

_COOK_SHEETS = (
    ("chemical", "hermaphrodite chemical"),
    ("electrical", "hermaphrodite gap jn symmetric"),
)
_COOK_HEADER_ROW = 3  # 1-based row holding the column (postsynaptic) labels
_COOK_LABEL_COL = 3  # 1-based column (C) holding the row (presynaptic) labels


def _read_cook_matrix(p: Path, sheet: str, rows: list[tuple], syn: str, notes: list[str]):
    where = f"sheet {sheet!r}"
    if len(rows) < _COOK_HEADER_ROW + 1:
        raise ConnectomeFileError(p, "sheet has no matrix", where)
    header = rows[_COOK_HEADER_ROW - 1]
    lab = _COOK_LABEL_COL - 1
    first = lab + 1  # first data column (0-based), column D
    col_labels = {j: str(header[j]).strip() for j in range(first, len(header)) if not _is_empty(header[j])}
    row_labels = {
        i: str(rows[i][lab]).strip()
        for i in range(_COOK_HEADER_ROW, len(rows))
        if not _is_empty(_cell(rows[i], lab))
    }
    if not col_labels:
        raise ConnectomeFileError(p, f"no column labels in row {_COOK_HEADER_ROW}", where)
    if not row_labels:
        raise ConnectomeFileError(p, "no row labels in column C", where)
    records = []
    zeros = 0
    for i in range(_COOK_HEADER_ROW, len(rows)):
        row = rows[i]
        pre = row_labels.get(i)
        for j in range(first, len(row)):
            v = row[j]
            if _is_empty(v):
                continue
            post = col_labels.get(j)
            cell = f"{where}, cell {_column_letter(j)}{i + 1}"
            if pre is None or post is None:
                if isinstance(v, str):
                    continue  # margins repeating the labels
                raise ConnectomeFileError(p, f"value {v!r} outside the labelled matrix", cell)
            w = _weight(v, p, cell)
            if w == 0:
                zeros += 1
                continue
            records.append((pre, post, syn, w))
    role = "pre -> post" if syn == "chemical" else "listed pair"
    notes.append(
        f"{where}: {len(row_labels)} row labels (column C) x {len(col_labels)} column labels "
        f"(row {_COOK_HEADER_ROW}) read as {role}; {len(records)} non-zero entries"
        + (f", {zeros} explicit zeros skipped" if zeros else "")
        + "; label margins repeated at the bottom/right ignored"
    )
    return records, list(row_labels.values()), list(col_labels.values())


def read_cook_2019_herm(path) -> pd.DataFrame:
    """Read the hermaphrodite matrices of Cook et al. 2019 SI 5 (corrected July 2020).

    Reads sheets ``hermaphrodite chemical`` (rows = presynaptic cell, columns =
    postsynaptic cell) and ``hermaphrodite gap jn symmetric`` (symmetric gap-junction
    matrix) of ``SI 5 Connectome adjacency matrices, corrected July 2020.xlsx``. Labels
    sit in column C and row 3; cells from D4 on hold the weights; empty cells are no
    connection. Every non-zero gap-junction entry is kept as listed, so each junction
    between two different cells appears as both ``(a, b)`` and ``(b, a)``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.xlsx`` file.

    Returns
    -------
    pandas.DataFrame
        Edge table with columns ``pre`` (row label: presynaptic cell, or first cell of
        the gap-junction pair, as in the file, e.g. ``VA01``, ``dBWML1``, ``hyp``),
        ``post`` (column label), ``synapse_type`` (``"chemical"`` or ``"electrical"``)
        and ``weight`` (number of EM serial sections of connectivity, float64 > 0), one
        row per ``(pre, post, synapse_type)``, sorted. ``attrs`` holds ``source_file``,
        ``weight_unit`` and ``notes``.

    Raises
    ------
    ConnectomeFileError
        If the file is missing, truncated or corrupt, a sheet is missing, or a matrix
        cell is not numeric (the message names sheet and cell).
    """
    p = _require_file(path)
    sheets = _read_sheets(p, [name for _, name in _COOK_SHEETS])
    notes: list[str] = []
    records = []
    for syn, name in _COOK_SHEETS:
        recs, row_labels, col_labels = _read_cook_matrix(p, name, sheets[name], syn, notes)
        records.extend(recs)
        if syn == "electrical":
            same = row_labels == col_labels
            entries = {(a, b): w for a, b, _, w in recs}
            asym = sum(1 for (a, b), w in entries.items() if entries.get((b, a)) != w)
            symmetric = "yes" if asym == 0 else f"no ({asym} entries lack an equal mirror)"
            notes.append(
                f"gap-junction matrix: row and column labels {'identical' if same else 'DIFFER'}; "
                f"symmetric as read: {symmetric}; "
                f"each junction between two cells therefore appears in both directions"
            )
    return _finish_edges(
        records,
        p,
        "number of EM serial sections of connectivity (chemical: summed over synapses, "
        "reflecting synapse number and size; electrical: summed gap-junction size in sections)",
        notes,
        "sheets 'hermaphrodite gap jn asymmetric' and the male sheets are not read; "
        "labels kept as written (zero-padded 'VA01', 'dBWML1'/'vBWMR1' muscles, 'CEPshDL', "
        "'exc_gl', 'hyp', 'int', 'bm', ...)",
    )
