"""Nerve-ring connectomes of eight animals, L1 to adult, of Witvliet et al. (2021)."""

from __future__ import annotations

import pandas as pd

from neuroflow.io.connectomes.edges import (
    TIDY_COLUMNS,
    _finish_edges,
    _require_file,
    _typed_records,
)
from neuroflow.io.connectomes.spreadsheets import _read_edge_sheet


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
    sheet, parsed = _read_edge_sheet(p, TIDY_COLUMNS)
    notes: list[str] = [f"read sheet {sheet!r} (one animal)"]
    records = _typed_records(p, parsed, notes)
    return _finish_edges(
        records,
        p,
        "synapse count (synapses annotated in the serial-section EM volume of one animal)",
        notes,
        "Witvliet et al. note that electrical connectivity is incomplete (gap junctions are "
        "hard to identify in these EM volumes); labels kept as written (e.g. 'BWM-DL01', 'excgl')",
    )
