"""Nerve-ring connectomes of eight animals, L1 to adult, of Witvliet et al. (2021)."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from neuroflow.io.connectomes.edges import (
    _classify,
    _drop_zero,
    _electrical_note,
    _finalize,
    _require_file,
)
from neuroflow.io.connectomes.spreadsheets import _read_edge_sheet

_WITVLIET_COLUMNS = {"pre": "pre", "post": "post", "type": "type", "weight": "synapses"}
_WITVLIET_TYPES = {"chemical": "chemical", "electrical": "electrical"}


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
    sheet, parsed = _read_edge_sheet(p, _WITVLIET_COLUMNS)
    _classify(p, parsed, _WITVLIET_TYPES)
    notes: list[str] = [f"read sheet {sheet!r} (one animal)"]
    parsed = _drop_zero(parsed, notes)
    records = [(pre, post, _WITVLIET_TYPES[k], w) for _, pre, post, k, w in parsed]
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
