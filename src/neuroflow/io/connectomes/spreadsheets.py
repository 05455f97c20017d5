"""Read the cells of ``.xlsx`` / ``.xls`` workbooks for the connectome readers.

openpyxl and xlrd are imported only when a workbook of their kind is read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

from neuroflow.io.connectomes.edges import (
    ConnectomeFileError,
    _column_index,
    _edge_rows,
)

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _workbook_kind(p: Path) -> str:
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ConnectomeFileError(p, f"cannot read file: {exc}") from exc
    if head.startswith(_XLSX_MAGIC):
        return "xlsx"
    if head == _XLS_MAGIC:
        return "xls"
    raise ConnectomeFileError(p, "not an Excel workbook (no .xlsx or .xls signature)")


def _read_sheets(p: Path, wanted: Sequence[str] | None = None) -> dict[str, list[tuple]]:
    """Cell values of the ``wanted`` sheets (default: the first sheet), empty cells as None.

    Rows are tuples of possibly different lengths; row ``i`` of the list is spreadsheet
    row ``i + 1``. The whole workbook is read before anything is returned.
    """
    kind = _workbook_kind(p)
    try:
        if kind == "xlsx":
            return _read_sheets_xlsx(p, wanted)
        return _read_sheets_xls(p, wanted)
    except ConnectomeFileError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, xlrd.XLRDError, KeyError, EOFError, ...
        raise ConnectomeFileError(
            p, f"cannot read {kind} workbook (truncated or corrupt?): {type(exc).__name__}: {exc}"
        ) from exc


def _pick_sheets(p: Path, names: list[str], wanted: Sequence[str] | None) -> list[str]:
    if not names:
        raise ConnectomeFileError(p, "workbook has no sheets")
    if wanted is None:
        return [names[0]]
    missing = [w for w in wanted if w not in names]
    if missing:
        raise ConnectomeFileError(
            p, f"missing sheet(s) {', '.join(repr(m) for m in missing)}; sheets are {names}"
        )
    return list(wanted)


def _read_sheets_xlsx(p: Path, wanted: Sequence[str] | None) -> dict[str, list[tuple]]:
    import openpyxl

    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    try:
        out = {}
        for name in _pick_sheets(p, list(wb.sheetnames), wanted):
            ws = wb[name]
            # Ignore the stored <dimension>: a wrong one would silently cut rows/columns.
            ws.reset_dimensions()
            out[name] = [tuple(row) for row in ws.iter_rows(values_only=True)]
        return out
    finally:
        wb.close()


def _read_sheets_xls(p: Path, wanted: Sequence[str] | None) -> dict[str, list[tuple]]:
    import xlrd

    log = io.StringIO()  # xlrd writes its warnings to stdout unless given a log file
    try:
        book = xlrd.open_workbook(str(p), on_demand=True, logfile=log)
    except Exception as exc:
        raise _xls_error(p, exc, log) from exc
    xlrd_log = " ".join(log.getvalue().split())
    if re.search(r"truncated|corrupt", xlrd_log, re.IGNORECASE):
        book.release_resources()
        raise ConnectomeFileError(p, f"cannot read xls workbook (truncated or corrupt?): [xlrd: {xlrd_log}]")
    try:
        out = {}
        for name in _pick_sheets(p, list(book.sheet_names()), wanted):
            sheet = book.sheet_by_name(name)
            rows = []
            for r in range(sheet.nrows):
                values = []
                for cell in sheet.row(r):
                    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        values.append(None)
                    elif cell.ctype == xlrd.XL_CELL_ERROR:
                        values.append("#" + xlrd.error_text_from_code.get(cell.value, "ERROR"))
                    elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                        values.append(bool(cell.value))
                    else:
                        values.append(cell.value)
                rows.append(tuple(values))
            out[name] = rows
        return out
    finally:
        book.release_resources()


def _xls_error(p: Path, exc: Exception, log: io.StringIO) -> ConnectomeFileError:
    detail = " ".join(log.getvalue().split())
    return ConnectomeFileError(
        p,
        f"cannot read xls workbook (truncated or corrupt?): {type(exc).__name__}: {exc}"
        + (f" [xlrd: {detail}]" if detail else ""),
    )


def _read_edge_sheet(p: Path, names: dict[str, str]) -> tuple[str, list[tuple[str, str, str, str, float]]]:
    """Parse the first sheet of a workbook holding one edge per row under a header row.

    ``names`` maps ``pre``/``post``/``type``/``weight`` to the header names; returns the
    sheet name and the parsed ``(where, pre, post, raw_type, weight)`` rows.
    """
    sheets = _read_sheets(p)
    ((sheet, rows),) = sheets.items()
    if not rows:
        raise ConnectomeFileError(p, "sheet is empty", f"sheet {sheet!r}")
    cols = _column_index(rows[0], names, p, f"sheet {sheet!r}, row 1")
    parsed = _edge_rows(
        p, ((f"sheet {sheet!r}, row {i + 2}", r) for i, r in enumerate(rows[1:])), cols, names
    )
    return sheet, parsed
