"""Re-export of :mod:`neuroflow.io.celegans_labels` (the C. elegans cell labels moved there).

Kept so that ``from neuroflow.homogenize.labels import ...`` keeps working; new code
imports from :mod:`neuroflow.io.celegans_labels`.
"""

from neuroflow.io.celegans_labels import (
    BLOCKS,
    LabelMap,
    build_label_map,
    canonical_neurons,
    load_aliases,
    load_cell_table,
)

__all__ = [
    "BLOCKS",
    "LabelMap",
    "build_label_map",
    "canonical_neurons",
    "load_aliases",
    "load_cell_table",
]
