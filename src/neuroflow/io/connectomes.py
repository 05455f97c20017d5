"""Read the original supplementary tables of published *C. elegans* connectomes.

Every reader turns one source file into the same tidy edge table and does nothing
else: labels are kept as written in the file (only surrounding whitespace is removed),
muscles, end organs and unknown cells are kept, gap junctions are kept in the
direction(s) the file lists them. Mapping labels to a canonical cell list,
symmetrizing gap junctions and building matrices happen downstream.

Edge table
----------
Each reader returns a :class:`pandas.DataFrame` with exactly these columns:

``pre``
    Label of the presynaptic cell (chemical) or of the first cell of the listed
    pair (electrical), as written in the file.
``post``
    Label of the postsynaptic cell (chemical) or of the second cell of the listed
    pair (electrical), as written in the file.
``synapse_type``
    ``"chemical"`` or ``"electrical"`` (see :data:`SYNAPSE_TYPES`).
``weight``
    Strength of the connection in the source's own unit (float64, always > 0);
    ``df.attrs["weight_unit"]`` says what it counts.

There is one row per ``(pre, post, synapse_type)``: rows of the file that share a key
are summed (and a note says so). Rows are sorted by ``(synapse_type, pre, post)`` and
the index is a fresh ``RangeIndex``, so reading the same file twice gives identical
frames. ``df.attrs`` holds ``source_file`` (the path read), ``weight_unit`` and
``notes``, a list of strings describing every choice and repair made while reading.

Text tables are checked for completeness: a file whose last line has no line break is
accepted only when it is byte for byte a published file listed in :data:`PUBLISHED_SHA256`
(its last line may otherwise be cut, e.g. a count 10 read as 1), and ``expected_rows``
(a reader option; the manifest's ``rows`` for its files) must equal the number of data
rows read (a file cut at a line boundary loses whole rows).

Any problem with a file (missing, truncated or corrupt, a missing column or sheet, a
non-numeric or negative weight, an unknown connection type) raises
:class:`ConnectomeFileError` naming the file and, where it applies, the line, sheet,
cell or column; a partial table is never returned.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "SYNAPSE_TYPES",
    "ConnectomeFileError",
    "read_white_1986_whole",
    "read_durbin_1987",
    "read_varshney_2011",
    "read_cook_2019_herm",
    "read_witvliet_2021",
    "READERS",
]

SYNAPSE_TYPES = ("chemical", "electrical")
"""The two values of the ``synapse_type`` column."""

EDGE_COLUMNS = ("pre", "post", "synapse_type", "weight")
"""The columns of every edge table, in order."""

PUBLISHED_SHA256 = {
    "c8aac78756b71f6337629951e5f4211448e85d148f6db9b367b2cd0450bb403a":
        "aconnectome_white_1986_whole.csv of cect 0.3.5 (2961 data rows)",
}
"""Published text tables known to be complete although their last line has no line break."""

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class ConnectomeFileError(ValueError):
    """A connectome source file is missing, unreadable or not in the expected format.

    Parameters
    ----------
    path : str or os.PathLike
        The file concerned; its path is the start of the message.
    problem : str
        What is wrong.
    where : str, optional
        Where in the file (line, sheet, cell, column).
    """

    def __init__(self, path, problem: str, where: str | None = None):
        self.path = str(path)
        self.problem = problem
        self.where = where
        location = f" ({where})" if where else ""
        super().__init__(f"{self.path}{location}: {problem}")


# --------------------------------------------------------------------------- helpers


def _require_file(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise ConnectomeFileError(p, "file not found")
    if not p.is_file():
        raise ConnectomeFileError(p, "not a regular file")
    return p


def _read_text(p: Path) -> str:
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConnectomeFileError(p, f"cannot read file: {exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConnectomeFileError(p, f"not UTF-8 text ({exc})") from exc
    if not text.strip():
        raise ConnectomeFileError(p, "file is empty")
    return text


def _check_last_line(p: Path, text: str, notes: list[str]) -> None:
    """A last line without a line break may be cut: an error unless the file is published."""
    if text.endswith(("\n", "\r")):
        return
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    if digest in PUBLISHED_SHA256:
        notes.append(f"no line break after the last line; the file is the published "
                     f"{PUBLISHED_SHA256[digest]} (sha256 {digest[:12]}...), so it is complete")
        return
    last = len(text.splitlines())
    raise ConnectomeFileError(
        p, "the file does not end with a line break, so its last line may be cut short (a "
        "truncated copy reads a count of 10 as 1); end the file with a newline if it is "
        "complete", f"line {last}")


def _check_rows(p: Path, n_rows: int, expected_rows: int | None) -> None:
    if expected_rows is not None and n_rows != int(expected_rows):
        raise ConnectomeFileError(
            p, f"{n_rows} data rows read, expected {int(expected_rows)} (reader option "
            "expected_rows, or the manifest's 'rows'): the file is truncated or is not the "
            "expected table")


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _label(value: Any, p: Path, where: str, what: str) -> str:
    if _is_empty(value):
        raise ConnectomeFileError(p, f"empty {what} label", where)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _weight(value: Any, p: Path, where: str) -> float:
    """Parse one weight; zero is returned (callers drop it), negative/NaN/text raise."""
    if _is_empty(value):
        raise ConnectomeFileError(p, "missing weight", where)
    if isinstance(value, bool):
        raise ConnectomeFileError(p, f"non-numeric weight {value!r}", where)
    if isinstance(value, (int, float)):
        w = float(value)
    else:
        text = str(value).strip()
        try:
            w = float(text)
        except ValueError:
            raise ConnectomeFileError(p, f"non-numeric weight {text!r}", where) from None
    if not math.isfinite(w):
        raise ConnectomeFileError(p, f"non-finite weight {value!r}", where)
    if w < 0:
        raise ConnectomeFileError(p, f"negative weight {value!r}", where)
    return w


def _norm_header(value: Any) -> str:
    return "" if value is None else re.sub(r"[\s_]+", "", str(value)).lower()


def _column_index(
    header: Sequence[Any], required: dict[str, str], p: Path, where: str
) -> dict[str, int]:
    """Map each key of ``required`` to the index of the header cell named like its value."""
    norm = [_norm_header(h) for h in header]
    found: dict[str, int] = {}
    missing = []
    for key, name in required.items():
        hits = [i for i, h in enumerate(norm) if h == _norm_header(name)]
        if not hits:
            missing.append(name)
        elif len(hits) > 1:
            raise ConnectomeFileError(p, f"column {name!r} appears {len(hits)} times", where)
        else:
            found[key] = hits[0]
    if missing:
        shown = [str(h).strip() for h in header if not _is_empty(h)]
        raise ConnectomeFileError(
            p, f"missing column(s) {', '.join(repr(m) for m in missing)}; header has {shown}", where
        )
    return found


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
        raise ConnectomeFileError(
            p, f"cannot read xls workbook (truncated or corrupt?): [xlrd: {xlrd_log}]"
        )
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


def _cell(row: Sequence[Any], index: int) -> Any:
    return row[index] if index < len(row) else None


def _column_letter(index0: int) -> str:
    letters = ""
    n = index0 + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _edge_rows(
    p: Path,
    rows: Iterable[tuple[str, Sequence[Any]]],
    cols: dict[str, int],
    names: dict[str, str],
) -> list[tuple[str, str, str, str, float]]:
    """Parse ``(where, row)`` pairs of an edge list into (where, pre, post, raw_type, weight).

    ``cols`` maps ``pre``/``post``/``type``/``weight`` to column indices and ``names``
    gives the column names used in error messages. Entirely empty rows are skipped.
    """
    out = []
    for where, row in rows:
        if all(_is_empty(v) for v in row):
            continue
        pre = _label(_cell(row, cols["pre"]), p, f"{where}, column {names['pre']!r}", "cell")
        post = _label(_cell(row, cols["post"]), p, f"{where}, column {names['post']!r}", "cell")
        kind = _cell(row, cols["type"])
        if _is_empty(kind):
            raise ConnectomeFileError(
                p, "empty connection type", f"{where}, column {names['type']!r}"
            )
        w = _weight(_cell(row, cols["weight"]), p, f"{where}, column {names['weight']!r}")
        out.append((where, pre, post, str(kind).strip(), w))
    return out


def _classify(
    p: Path, parsed: list[tuple[str, str, str, str, float]], type_map: dict[str, str | None]
) -> None:
    for where, _pre, _post, kind, _w in parsed:
        if kind not in type_map:
            known = ", ".join(repr(k) for k in type_map)
            raise ConnectomeFileError(
                p, f"unknown connection type {kind!r} (expected {known})", where
            )


def _electrical_note(records: list[tuple[str, str, str, float]]) -> str:
    """Describe how the file lists gap junctions (directions, asymmetries, self-pairs)."""
    gap: dict[tuple[str, str], float] = defaultdict(float)
    for pre, post, syn, w in records:
        if syn == "electrical":
            gap[(pre, post)] += w
    selfs = sum(1 for a, b in gap if a == b)
    both = one = unequal = 0
    for (a, b), w in gap.items():
        if a == b:
            continue
        if (b, a) in gap:
            if a < b:
                both += 1
                unequal += gap[(b, a)] != w
        else:
            one += 1
    return (
        f"electrical entries kept exactly as listed, not symmetrized (downstream does that): "
        f"{len(gap)} directed entries; {both} cell pairs listed in both directions "
        f"({unequal} of them with unequal weights), {one} pairs listed in one direction only, "
        f"{selfs} self-pairs (pre == post)"
    )


def _finalize(
    records: list[tuple[str, str, str, float]],
    p: Path,
    weight_unit: str,
    notes: list[str],
    attrs: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Build the sorted edge table, summing rows that share (pre, post, synapse_type)."""
    if not records:
        raise ConnectomeFileError(p, "no connections with a positive weight found")
    for rec in records:
        if rec[2] not in SYNAPSE_TYPES:  # pragma: no cover - internal invariant
            raise AssertionError(rec)
    df = pd.DataFrame.from_records(records, columns=list(EDGE_COLUMNS))
    df["weight"] = df["weight"].astype("float64")
    keys = ["synapse_type", "pre", "post"]
    sizes = df.groupby(keys, sort=False).size()
    merged = sizes[sizes > 1]
    if len(merged):
        by_type = merged.groupby(level="synapse_type").agg(["count", "sum"])
        detail = "; ".join(
            f"{syn}: {int(row['count'])} edges from {int(row['sum'])} rows"
            for syn, row in by_type.iterrows()
        )
        notes.append(
            f"{int(merged.sum())} rows shared a (pre, post, synapse_type) key with another row "
            f"and were summed into {len(merged)} edges ({detail})"
        )
    else:
        notes.append("no two kept rows share a (pre, post, synapse_type) key; nothing was summed")
    out = df.groupby(keys, sort=False, as_index=False)["weight"].sum()
    out = out.sort_values(keys, kind="mergesort", ignore_index=True)[list(EDGE_COLUMNS)]
    out["weight"] = out["weight"].astype("float64")
    out = out.reset_index(drop=True)
    out.attrs["source_file"] = str(p)
    out.attrs["weight_unit"] = weight_unit
    out.attrs["notes"] = list(notes)
    for key, value in (attrs or {}).items():
        out.attrs[key] = value
    return out


def _drop_zero(parsed, notes: list[str], what: str = "rows") -> list:
    kept = [r for r in parsed if r[-1] > 0]
    if len(kept) != len(parsed):
        notes.append(f"{len(parsed) - len(kept)} {what} with weight 0 dropped (no connection)")
    return kept


# --------------------------------------------------------------------------- White 1986


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
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        names = {"pre": "pre", "post": "post", "type": "type", "weight": "synapses"}
        cols = _column_index(header, names, p, "line 1 (header)")
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
    _check_last_line(p, text, notes)
    _check_rows(p, len(rows), expected_rows)
    parsed = _edge_rows(p, rows, cols, names)
    type_map = {"chemical": "chemical", "electrical": "electrical"}
    _classify(p, parsed, type_map)
    parsed = _drop_zero(parsed, notes)
    records = [(pre, post, type_map[k], w) for _, pre, post, k, w in parsed]
    counts = Counter(type_map[k] for *_, k, _w in parsed)
    notes.append(
        f"read {len(parsed)} rows: {counts['chemical']} chemical (pre -> post), "
        f"{counts['electrical']} electrical"
    )
    notes.append(_electrical_note(records))
    notes.append("labels kept as written (e.g. 'LegacyBodyWallMuscles' for body-wall muscle)")
    return _finalize(
        records,
        p,
        "synapse count (number of synaptic contacts, all contacts weighted equally)",
        notes,
    )


# --------------------------------------------------------------------------- Durbin 1987

_DURBIN_TYPES = {
    "Send": "chemical",
    "Send_joint": "chemical",
    "Gap_junction": "electrical",
    "Receive": None,
    "Receive_joint": None,
}


def read_durbin_1987(path, animal: str = "N2U", expected_rows: int | None = None) -> pd.DataFrame:
    """Read R. M. Durbin's original ``neurodata.txt`` (1987 thesis) for one animal.

    The file has no header; each line holds five tab-separated fields: cell, partner,
    type, animal (``N2U`` adult or ``JSH`` L4) and count. ``Send`` and ``Send_joint``
    (monadic and polyadic/joint synapses) are chemical synapses from the first cell to
    the second and are summed per pair; ``Gap_junction`` rows are electrical and kept in
    the direction(s) listed. ``Receive`` and ``Receive_joint`` rows record the same
    chemical synapses from the receiving cell's side and are not read (a note counts
    the pairs where they disagree with the send side).

    The original file has one line with an empty animal field
    (``ADAL ADAR Gap_junction <empty> 1``). Such a row is assigned to the one animal
    that has no row with the same (cell, partner, type) - here N2U, since the JSH row
    is present - and the repair is recorded in the notes; if no single animal fits,
    the file is rejected.

    Parameters
    ----------
    path : str or os.PathLike
        The original ``neurodata.txt`` (not cect's ``neurodata_updated.txt``).
    animal : str, default "N2U"
        Which animal's rows to keep (``"N2U"`` or ``"JSH"``).
    expected_rows : int, optional
        Number of data lines (both animals; blank and ``#`` lines not counted) the file
        must have; the original has 7832.

    Returns
    -------
    pandas.DataFrame
        Edge table with columns ``pre`` (presynaptic / first cell label, as in the
        file, e.g. ``VA2``, ``hyp``), ``post`` (postsynaptic / second cell label, e.g.
        ``mu_bod`` for body-wall muscle), ``synapse_type`` (``"chemical"`` or
        ``"electrical"``) and ``weight`` (synapse count in that animal, float64 > 0),
        one row per ``(pre, post, synapse_type)``, sorted. ``attrs`` holds
        ``source_file``, ``weight_unit``, ``notes`` and ``animal``.

    Raises
    ------
    ConnectomeFileError
        If the file is missing, a line does not have five fields, a type is unknown, a
        count is not numeric, an empty animal field cannot be inferred, the file
        has no rows for ``animal``, its last line has no line break, or it does not have
        ``expected_rows`` data lines.
    """
    p = _require_file(path)
    text = _read_text(p)
    rows = []  # (lineno, pre, post, kind, animal, weight)
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"line {lineno}"
        fields = line.split("\t")
        while len(fields) > 5 and not fields[-1].strip():
            fields.pop()
        if len(fields) != 5:
            raise ConnectomeFileError(
                p,
                f"expected 5 tab-separated fields (cell, partner, type, animal, count), "
                f"found {len(fields)}",
                where,
            )
        pre = _label(fields[0], p, f"{where}, field 1", "cell")
        post = _label(fields[1], p, f"{where}, field 2", "partner")
        kind = fields[2].strip()
        if kind not in _DURBIN_TYPES:
            known = ", ".join(repr(k) for k in _DURBIN_TYPES)
            raise ConnectomeFileError(
                p, f"unknown connection type {kind!r} (expected {known})", where
            )
        w = _weight(fields[4], p, f"{where}, field 5 (count)")
        rows.append((lineno, pre, post, kind, fields[3].strip(), w))
    if not rows:
        raise ConnectomeFileError(p, "no data lines")
    first_notes: list[str] = []
    _check_last_line(p, text, first_notes)
    _check_rows(p, len(rows), expected_rows)

    animals = sorted({r[4] for r in rows if r[4]})
    keys: dict[str, dict[tuple[str, str, str], float]] = {a: {} for a in animals}
    for _, pre, post, kind, an, w in rows:
        if an:
            keys[an][(pre, post, kind)] = keys[an].get((pre, post, kind), 0.0) + w
    notes: list[str] = first_notes
    repaired = []
    for i, (lineno, pre, post, kind, an, w) in enumerate(rows):
        if an:
            continue
        fits = [a for a in animals if (pre, post, kind) not in keys[a]]
        if len(fits) != 1:
            raise ConnectomeFileError(
                p,
                f"empty animal field for {pre} {post} {kind} and it cannot be inferred "
                f"(animals without such a row: {fits or 'none'})",
                f"line {lineno}",
            )
        a = fits[0]
        others = [o for o in animals if o != a]
        evidence = f"{', '.join(others)} already has a row for {pre} {post} {kind}"
        if kind == "Gap_junction":
            rev = keys[a].get((post, pre, kind))
            if rev is not None:
                evidence += (
                    f"; the reverse junction {post} {pre} is listed for {a} with count {rev:g}"
                )
        repaired.append(f"line {lineno} ({pre} {post} {kind} {w:g}) -> {a} ({evidence})")
        rows[i] = (lineno, pre, post, kind, a, w)
    if repaired:
        notes.append(
            f"{len(repaired)} row(s) with an empty animal field assigned to the only animal "
            f"lacking that (cell, partner, type) row (cect's neurodata_updated.txt makes the "
            f"same assumption): " + "; ".join(repaired)
        )
    else:
        notes.append("no rows with an empty animal field")

    if animal not in animals:
        raise ConnectomeFileError(p, f"no rows for animal {animal!r} (animals in file: {animals})")
    mine = [r for r in rows if r[4] == animal]
    notes.append(
        f"kept the {len(mine)} rows of animal {animal}; "
        + ", ".join(f"{sum(r[4] == a for r in rows)} rows of {a}" for a in animals if a != animal)
        + " ignored"
    )
    mine = _drop_zero(mine, notes, "rows of this animal")
    kinds = Counter(r[3] for r in mine)

    send: dict[tuple[str, str], float] = defaultdict(float)
    recv: dict[tuple[str, str], float] = defaultdict(float)
    records = []
    for _, pre, post, kind, _an, w in mine:
        syn = _DURBIN_TYPES[kind]
        if syn is None:
            recv[(post, pre)] += w  # "A B Receive" = A receives from B
            continue
        if syn == "chemical":
            send[(pre, post)] += w
        records.append((pre, post, syn, w))
    mono = {(r[1], r[2]) for r in mine if r[3] == "Send"}
    both_send = len(mono & {(r[1], r[2]) for r in mine if r[3] == "Send_joint"})
    notes.append(
        f"chemical = Send ({kinds['Send']} rows) + Send_joint ({kinds['Send_joint']} rows), "
        f"from the first cell to the second; {both_send} pairs have both and are summed"
    )
    disagree = sum(1 for k in set(send) | set(recv) if send.get(k, 0.0) != recv.get(k, 0.0))
    notes.append(
        f"Receive ({kinds['Receive']}) and Receive_joint ({kinds['Receive_joint']}) rows not read: "
        f"they list the same synapses from the postsynaptic side; their per-pair totals differ "
        f"from the send side for {disagree} of {len(set(send) | set(recv))} ordered pairs, and the "
        f"send (presynaptic) side is used, as cect does"
    )
    notes.append(f"Gap_junction: {kinds['Gap_junction']} rows")
    notes.append(_electrical_note(records))
    notes.append(
        "labels kept as written (no zero padding in this file; 'mu_bod' = body-wall muscles, "
        "unspecified; non-neuronal cells such as 'hyp' kept)"
    )
    return _finalize(
        records,
        p,
        "synapse count (synapses scored in the EM series of one animal)",
        notes,
        {"animal": animal},
    )


# --------------------------------------------------------------------------- Varshney 2011

_VARSHNEY_TYPES = {
    "S": "chemical",
    "Sp": "chemical",
    "EJ": "electrical",
    "NMJ": "chemical",
    "R": None,
    "Rp": None,
}


def read_varshney_2011(path) -> pd.DataFrame:
    """Read ``NeuronConnect.xls`` (Varshney et al. 2011).

    The first sheet lists ``Neuron 1``, ``Neuron 2``, ``Type`` and ``Nbr`` (number of
    synapses). Types: ``S`` (Neuron 1 sends a monadic synapse to Neuron 2), ``Sp``
    (sends, polyadic), ``R``/``Rp`` (Neuron 1 receives from Neuron 2), ``EJ``
    (electrical junction) and ``NMJ`` (neuromuscular junction; Neuron 2 is the literal
    ``NMJ``).

    Reading: chemical = ``S`` + ``Sp`` from Neuron 1 to Neuron 2 (summed per pair);
    ``R``/``Rp`` are the same synapses seen from the receiving side and are not read
    (a note reports whether they match); ``EJ`` rows are electrical, kept as listed (the
    file lists both directions of every junction); ``NMJ`` rows are kept as chemical
    edges from the neuron to the label ``NMJ`` (body-wall muscle as a whole, not a
    cell: downstream maps it or reports it unmapped); repeated ``NMJ`` rows of one
    neuron are summed.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read (``.xls``; an ``.xlsx`` with the same layout also works).

    Returns
    -------
    pandas.DataFrame
        Edge table with columns ``pre`` (Neuron 1, as in the file, e.g. ``VA01``),
        ``post`` (Neuron 2, or ``NMJ``), ``synapse_type`` (``"chemical"`` or
        ``"electrical"``) and ``weight`` (number of synapses / gap junctions, float64 >
        0), one row per ``(pre, post, synapse_type)``, sorted. ``attrs`` holds
        ``source_file``, ``weight_unit`` and ``notes``.

    Raises
    ------
    ConnectomeFileError
        If the file is missing or not a readable workbook, a column is missing, a type
        is unknown or a count is not numeric.
    """
    p = _require_file(path)
    sheets = _read_sheets(p)
    ((sheet, rows),) = sheets.items()
    if not rows:
        raise ConnectomeFileError(p, "sheet is empty", f"sheet {sheet!r}")
    names = {"pre": "Neuron 1", "post": "Neuron 2", "type": "Type", "weight": "Nbr"}
    cols = _column_index(rows[0], names, p, f"sheet {sheet!r}, row 1")
    parsed = _edge_rows(
        p, ((f"sheet {sheet!r}, row {i + 2}", r) for i, r in enumerate(rows[1:])), cols, names
    )
    _classify(p, parsed, _VARSHNEY_TYPES)
    notes: list[str] = [f"read sheet {sheet!r}"]
    parsed = _drop_zero(parsed, notes)
    kinds = Counter(r[3] for r in parsed)

    send: dict[tuple[str, str], float] = defaultdict(float)
    recv: dict[tuple[str, str], float] = defaultdict(float)
    records = []
    for _, pre, post, kind, w in parsed:
        syn = _VARSHNEY_TYPES[kind]
        if syn is None:
            recv[(post, pre)] += w  # "A B R n": A receives n synapses from B
            continue
        if kind in ("S", "Sp"):
            send[(pre, post)] += w
        records.append((pre, post, syn, w))
    pairs = sorted(set(send) | set(recv))
    disagree = [k for k in pairs if send.get(k, 0.0) != recv.get(k, 0.0)]
    shown = ", ".join(f"{a}->{b}" for a, b in disagree[:6])
    kept_labels = {lab for r in parsed if _VARSHNEY_TYPES[r[3]] for lab in r[1:3]}
    receive_only = sorted(
        {lab for r in parsed if not _VARSHNEY_TYPES[r[3]] for lab in r[1:3]} - kept_labels
    )
    notes.append(
        f"chemical = S ({kinds['S']} rows) + Sp ({kinds['Sp']} rows), Neuron 1 -> Neuron 2, "
        f"summed per pair"
    )
    notes.append(
        f"R ({kinds['R']}) and Rp ({kinds['Rp']}) rows not read: they are the same synapses seen "
        f"from the receiving neuron; per ordered pair their totals equal S + Sp for "
        f"{len(pairs) - len(disagree)} of {len(pairs)} pairs"
        + (f" (differ for: {shown})" if disagree else "")
        + (
            f"; labels found only in R/Rp rows, hence absent from the table: {receive_only}"
            if receive_only
            else ""
        )
    )
    nmj = [r for r in parsed if r[3] == "NMJ"]
    nmj_neurons = Counter(r[1] for r in nmj)
    notes.append(
        f"NMJ: {len(nmj)} rows (neuromuscular junctions onto body-wall muscle, not resolved to "
        f"single muscle cells) kept as chemical edges to the label 'NMJ' as written; "
        f"{sum(1 for c in nmj_neurons.values() if c > 1)} neurons have several NMJ rows, summed "
        f"into one edge each ({len(nmj_neurons)} NMJ edges)"
    )
    notes.append(f"EJ: {kinds['EJ']} rows, electrical")
    notes.append(_electrical_note(records))
    notes.append("labels kept as written (zero-padded indices such as 'VA01', 'DD01')")
    return _finalize(
        records,
        p,
        "synapse count (number of synaptic contacts; electrical: number of gap junctions)",
        notes,
    )


# --------------------------------------------------------------------------- Cook 2019

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
    col_labels = {
        j: str(header[j]).strip() for j in range(first, len(header)) if not _is_empty(header[j])
    }
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
    notes.append(_electrical_note(records))
    notes.append(
        "sheets 'hermaphrodite gap jn asymmetric' and the male sheets are not read; "
        "labels kept as written (zero-padded 'VA01', 'dBWML1'/'vBWMR1' muscles, 'CEPshDL', "
        "'exc_gl', 'hyp', 'int', 'bm', ...)"
    )
    return _finalize(
        records,
        p,
        "number of EM serial sections of connectivity (chemical: summed over synapses, "
        "reflecting synapse number and size; electrical: summed gap-junction size in sections)",
        notes,
    )


# --------------------------------------------------------------------------- Witvliet 2021


def read_witvliet_2021(path) -> pd.DataFrame:
    """Read one animal of Witvliet et al. 2021 (``witvliet_2020_<k> <stage>.xlsx``).

    The first sheet lists ``pre``, ``post``, ``type`` (``chemical`` or ``electrical``)
    and ``synapses`` for the nerve ring (brain) of one animal, L1 to adult. Electrical
    rows are kept in the single direction the file lists them (self-pairs included).

    Parameters
    ----------
    path : str or os.PathLike
        One of the eight ``.xlsx`` files.

    Returns
    -------
    pandas.DataFrame
        Edge table with columns ``pre`` (presynaptic / first cell label, as in the
        file, e.g. ``BWM-DL01``, ``excgl``), ``post`` (postsynaptic / second cell label),
        ``synapse_type`` (``"chemical"`` or ``"electrical"``) and ``weight`` (synapse
        count, float64 > 0), one row per ``(pre, post, synapse_type)``, sorted.
        ``attrs`` holds ``source_file``, ``weight_unit`` and ``notes``.

    Raises
    ------
    ConnectomeFileError
        If the file is missing, truncated or corrupt, a column is missing, a type is
        unknown or a count is not numeric.
    """
    p = _require_file(path)
    sheets = _read_sheets(p)
    ((sheet, rows),) = sheets.items()
    if not rows:
        raise ConnectomeFileError(p, "sheet is empty", f"sheet {sheet!r}")
    names = {"pre": "pre", "post": "post", "type": "type", "weight": "synapses"}
    cols = _column_index(rows[0], names, p, f"sheet {sheet!r}, row 1")
    parsed = _edge_rows(
        p, ((f"sheet {sheet!r}, row {i + 2}", r) for i, r in enumerate(rows[1:])), cols, names
    )
    type_map = {"chemical": "chemical", "electrical": "electrical"}
    _classify(p, parsed, type_map)
    notes: list[str] = [f"read sheet {sheet!r} (one animal)"]
    parsed = _drop_zero(parsed, notes)
    records = [(pre, post, type_map[k], w) for _, pre, post, k, w in parsed]
    counts = Counter(r[2] for r in records)
    notes.append(
        f"read {len(parsed)} rows: {counts['chemical']} chemical (pre -> post), "
        f"{counts['electrical']} electrical"
    )
    notes.append(_electrical_note(records))
    notes.append(
        "Witvliet et al. note that electrical connectivity is incomplete (gap junctions are "
        "hard to identify in these EM volumes); labels kept as written (e.g. 'BWM-DL01', 'excgl')"
    )
    return _finalize(
        records,
        p,
        "synapse count (synapses annotated in the serial-section EM volume of one animal)",
        notes,
    )


READERS = {
    "white_1986_whole": read_white_1986_whole,
    "durbin_1987": read_durbin_1987,
    "varshney_2011": read_varshney_2011,
    "cook_2019_herm": read_cook_2019_herm,
    "witvliet_2021": read_witvliet_2021,
}
"""Reader for each source, by source id."""
