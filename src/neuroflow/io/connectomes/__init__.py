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

Modules: :mod:`.edges` (the edge table, file and cell checks), :mod:`.spreadsheets`
(workbook cells), and one module per source.
"""

from __future__ import annotations

from neuroflow.io.connectomes.cook_2019 import read_cook_2019_herm
from neuroflow.io.connectomes.durbin_1987 import read_durbin_1987
from neuroflow.io.connectomes.edges import (
    EDGE_COLUMNS,
    PUBLISHED_SHA256,
    SYNAPSE_TYPES,
    ConnectomeFileError,
)
from neuroflow.io.connectomes.varshney_2011 import read_varshney_2011
from neuroflow.io.connectomes.white_1986 import read_white_1986_whole
from neuroflow.io.connectomes.witvliet_2021 import read_witvliet_2021

__all__ = [
    "SYNAPSE_TYPES",
    "EDGE_COLUMNS",
    "PUBLISHED_SHA256",
    "ConnectomeFileError",
    "read_white_1986_whole",
    "read_durbin_1987",
    "read_varshney_2011",
    "read_cook_2019_herm",
    "read_witvliet_2021",
    "READERS",
]

READERS = {
    "white_1986_whole": read_white_1986_whole,
    "durbin_1987": read_durbin_1987,
    "varshney_2011": read_varshney_2011,
    "cook_2019_herm": read_cook_2019_herm,
    "witvliet_2021": read_witvliet_2021,
}
"""Reader for each source, by source id."""
