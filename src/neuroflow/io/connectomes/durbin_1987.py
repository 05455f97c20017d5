"""R. M. Durbin's original ``neurodata.txt`` (1987 thesis): two animals, N2U and JSH."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from neuroflow.io.connectomes.edges import (
    ConnectomeFileError,
    _check_last_line,
    _check_rows,
    _drop_zero,
    _finish_edges,
    _label,
    _read_text,
    _require_file,
    _weight,
)

_DURBIN_TYPES = {
    "Send": "chemical",
    "Send_joint": "chemical",
    "Gap_junction": "electrical",
    "Receive": None,
    "Receive_joint": None,
}

_Row = tuple[int, str, str, str, str, float]  # (lineno, pre, post, kind, animal, weight)


def _parse_durbin_lines(p: Path, text: str) -> list[_Row]:
    """Parse every data line (blank and ``#`` lines skipped) into a :data:`_Row`."""
    rows = []
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
                f"expected 5 tab-separated fields (cell, partner, type, animal, count), found {len(fields)}",
                where,
            )
        pre = _label(fields[0], p, f"{where}, field 1", "cell")
        post = _label(fields[1], p, f"{where}, field 2", "partner")
        kind = fields[2].strip()
        if kind not in _DURBIN_TYPES:
            known = ", ".join(repr(k) for k in _DURBIN_TYPES)
            raise ConnectomeFileError(p, f"unknown connection type {kind!r} (expected {known})", where)
        w = _weight(fields[4], p, f"{where}, field 5 (count)")
        rows.append((lineno, pre, post, kind, fields[3].strip(), w))
    if not rows:
        raise ConnectomeFileError(p, "no data lines")
    return rows


def _assign_missing_animals(p: Path, rows: list[_Row], notes: list[str]) -> list[str]:
    """Give each row with an empty animal field the only animal lacking that row (in place).

    Returns the animals of the file, sorted; a note records every repair.
    """
    animals = sorted({r[4] for r in rows if r[4]})
    keys: dict[str, dict[tuple[str, str, str], float]] = {a: {} for a in animals}
    for _, pre, post, kind, an, w in rows:
        if an:
            keys[an][(pre, post, kind)] = keys[an].get((pre, post, kind), 0.0) + w
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
                evidence += f"; the reverse junction {post} {pre} is listed for {a} with count {rev:g}"
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
    return animals


def _durbin_records(mine: list[_Row], notes: list[str]) -> list[tuple[str, str, str, float]]:
    """Edge records of one animal's rows: the send side of chemical synapses, gap junctions."""
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
    return records


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
    rows = _parse_durbin_lines(p, text)
    notes: list[str] = []
    _check_last_line(p, text, notes)
    _check_rows(p, len(rows), expected_rows)
    animals = _assign_missing_animals(p, rows, notes)
    if animal not in animals:
        raise ConnectomeFileError(p, f"no rows for animal {animal!r} (animals in file: {animals})")
    mine = [r for r in rows if r[4] == animal]
    notes.append(
        f"kept the {len(mine)} rows of animal {animal}; "
        + ", ".join(f"{sum(r[4] == a for r in rows)} rows of {a}" for a in animals if a != animal)
        + " ignored"
    )
    mine = _drop_zero(mine, notes, "rows of this animal")
    records = _durbin_records(mine, notes)
    return _finish_edges(
        records,
        p,
        "synapse count (synapses scored in the EM series of one animal)",
        notes,
        "labels kept as written (no zero padding in this file; 'mu_bod' = body-wall muscles, "
        "unspecified; non-neuronal cells such as 'hyp' kept)",
        {"animal": animal},
    )
