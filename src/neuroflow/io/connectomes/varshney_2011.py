"""``NeuronConnect.xls`` of Varshney et al. (2011)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pandas as pd

from neuroflow.io.connectomes.edges import (
    _classify,
    _drop_zero,
    _finish_edges,
    _require_file,
)
from neuroflow.io.connectomes.spreadsheets import _read_edge_sheet

_VARSHNEY_TYPES = {
    "S": "chemical",
    "Sp": "chemical",
    "EJ": "electrical",
    "NMJ": "chemical",
    "R": None,
    "Rp": None,
}
_VARSHNEY_COLUMNS = {"pre": "Neuron 1", "post": "Neuron 2", "type": "Type", "weight": "Nbr"}

_Parsed = list[tuple[str, str, str, str, float]]  # (where, pre, post, raw_type, weight)


def _varshney_records(parsed: _Parsed, notes: list[str]) -> list[tuple[str, str, str, float]]:
    """Edge records (send side, EJ, NMJ) and the notes on how R/Rp rows compare."""
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
    receive_only = sorted({lab for r in parsed if not _VARSHNEY_TYPES[r[3]] for lab in r[1:3]} - kept_labels)
    notes.append(
        f"chemical = S ({kinds['S']} rows) + Sp ({kinds['Sp']} rows), Neuron 1 -> Neuron 2, summed per pair"
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
    return records


def _nmj_note(parsed: _Parsed) -> str:
    nmj = [r for r in parsed if r[3] == "NMJ"]
    nmj_neurons = Counter(r[1] for r in nmj)
    return (
        f"NMJ: {len(nmj)} rows (neuromuscular junctions onto body-wall muscle, not resolved to "
        f"single muscle cells) kept as chemical edges to the label 'NMJ' as written; "
        f"{sum(1 for c in nmj_neurons.values() if c > 1)} neurons have several NMJ rows, summed "
        f"into one edge each ({len(nmj_neurons)} NMJ edges)"
    )


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
    sheet, parsed = _read_edge_sheet(p, _VARSHNEY_COLUMNS)
    _classify(p, parsed, _VARSHNEY_TYPES)
    notes: list[str] = [f"read sheet {sheet!r}"]
    parsed = _drop_zero(parsed, notes)
    records = _varshney_records(parsed, notes)
    notes.append(_nmj_note(parsed))
    notes.append(f"EJ: {sum(r[3] == 'EJ' for r in parsed)} rows, electrical")
    return _finish_edges(
        records,
        p,
        "synapse count (number of synaptic contacts; electrical: number of gap junctions)",
        notes,
        "labels kept as written (zero-padded indices such as 'VA01', 'DD01')",
    )
