"""Edge-table helpers shared by the connectome readers.

The error class, the checks every text table gets (file present, UTF-8, last line
complete, expected row count), the parsing of one label or weight cell, and the
assembly of the final sorted edge table (see :mod:`neuroflow.io.connectomes`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

SYNAPSE_TYPES = ("chemical", "electrical")
"""The two values of the ``synapse_type`` column."""

EDGE_COLUMNS = ("pre", "post", "synapse_type", "weight")
"""The columns of every edge table, in order."""

PUBLISHED_SHA256 = {
    "c8aac78756b71f6337629951e5f4211448e85d148f6db9b367b2cd0450bb403a": (
        "aconnectome_white_1986_whole.csv of cect 0.3.5 (2961 data rows)"
    ),
}
"""Published text tables known to be complete although their last line has no line break."""


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


# --------------------------------------------------------------------------- files and cells


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
        notes.append(
            f"no line break after the last line; the file is the published "
            f"{PUBLISHED_SHA256[digest]} (sha256 {digest[:12]}...), so it is complete"
        )
        return
    last = len(text.splitlines())
    raise ConnectomeFileError(
        p,
        "the file does not end with a line break, so its last line may be cut short (a "
        "truncated copy reads a count of 10 as 1); end the file with a newline if it is "
        "complete",
        f"line {last}",
    )


def _check_rows(p: Path, n_rows: int, expected_rows: int | None) -> None:
    if expected_rows is not None and n_rows != int(expected_rows):
        raise ConnectomeFileError(
            p,
            f"{n_rows} data rows read, expected {int(expected_rows)} (reader option "
            "expected_rows, or the manifest's 'rows'): the file is truncated or is not the "
            "expected table",
        )


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


def _column_index(header: Sequence[Any], required: dict[str, str], p: Path, where: str) -> dict[str, int]:
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
            raise ConnectomeFileError(p, "empty connection type", f"{where}, column {names['type']!r}")
        w = _weight(_cell(row, cols["weight"]), p, f"{where}, column {names['weight']!r}")
        out.append((where, pre, post, str(kind).strip(), w))
    return out


def _classify(
    p: Path, parsed: list[tuple[str, str, str, str, float]], type_map: dict[str, str | None]
) -> None:
    for where, _pre, _post, kind, _w in parsed:
        if kind not in type_map:
            known = ", ".join(repr(k) for k in type_map)
            raise ConnectomeFileError(p, f"unknown connection type {kind!r} (expected {known})", where)


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
            f"{syn}: {int(row['count'])} edges from {int(row['sum'])} rows" for syn, row in by_type.iterrows()
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


def _finish_edges(
    records: list[tuple[str, str, str, float]],
    p: Path,
    weight_unit: str,
    notes: list[str],
    labels_note: str,
    attrs: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """The last step of every reader: the gap-junction note, the reader's note on labels,
    then the sorted edge table of :func:`_finalize`."""
    notes.append(_electrical_note(records))
    notes.append(labels_note)
    return _finalize(records, p, weight_unit, notes, attrs)


TIDY_COLUMNS = {"pre": "pre", "post": "post", "type": "type", "weight": "synapses"}
"""Header names of the tidy tables (White et al. 1986 whole animal, Witvliet et al. 2021)."""
TIDY_TYPES = {"chemical": "chemical", "electrical": "electrical"}
"""Their ``type`` column names the synapse type itself."""


def _typed_records(
    p: Path, parsed: list[tuple[str, str, str, str, float]], notes: list[str]
) -> list[tuple[str, str, str, float]]:
    """``(pre, post, synapse_type, weight)`` records of a tidy table's rows (type checked,
    zero weights dropped), and a note counting them per type."""
    _classify(p, parsed, TIDY_TYPES)
    parsed = _drop_zero(parsed, notes)
    records = [(pre, post, TIDY_TYPES[k], w) for _, pre, post, k, w in parsed]
    counts = Counter(r[2] for r in records)
    notes.append(
        f"read {len(parsed)} rows: {counts['chemical']} chemical (pre -> post), "
        f"{counts['electrical']} electrical"
    )
    return records


def _drop_zero(parsed, notes: list[str], what: str = "rows") -> list:
    kept = [r for r in parsed if r[-1] > 0]
    if len(kept) != len(parsed):
        notes.append(f"{len(parsed) - len(kept)} {what} with weight 0 dropped (no connection)")
    return kept
