"""Cell labels: the canonical C. elegans neuron list and the mapping of raw source labels.

The canonical neuron space follows the seed dataset (Simeon et al. 2024): the 302
hermaphrodite neurons minus CANL/CANR (end organs per Cook et al. 2019), i.e. 300 labels
sorted alphabetically. Zero padding is stripped (``VB01 -> VB1``). Muscles and other
end-organ cells are mapped into their own block; anything else is reported as unmapped
and never silently dropped.

Shared by the connectome (:mod:`neuroflow.homogenize`) and activity
(:mod:`neuroflow.activity`) stages, so a neuron has one name in both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

BLOCKS = ("neuron", "muscle", "other")

_ZERO_PAD = re.compile(r"^([A-Z]+)0+([1-9][0-9]*)$")
_BWM_DASH = re.compile(r"^BWM-([DV])([LR])0*([1-9][0-9]*)$")
_BWM_COOK = re.compile(r"^([dv])BWM([LR])0*([1-9][0-9]*)$")


def load_cell_table(path) -> pd.DataFrame:
    """Read the cell table (``label, kind, sim_class, cook_group``).

    Parameters
    ----------
    path : str or Path
        TSV file, e.g. ``resources/celegans/cells.tsv``.

    Returns
    -------
    cells : DataFrame
        One row per cell; ``kind`` is one of ``neuron``, ``muscle``, ``other``.
    """
    path = Path(path)
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = {"label", "kind"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: cell table lacks column(s) {sorted(missing)}")
    bad = sorted(set(table["kind"]) - set(BLOCKS))
    if bad:
        raise ValueError(f"{path}: unknown cell kind(s) {bad}; expected one of {BLOCKS}")
    if table["label"].duplicated().any():
        dup = table.loc[table["label"].duplicated(), "label"].tolist()
        raise ValueError(f"{path}: duplicated cell label(s) {dup}")
    return table


def load_aliases(path) -> dict[str, str]:
    """Read the alias table (``raw, canonical, reason``) into a dict raw -> canonical."""
    path = Path(path)
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if not {"raw", "canonical"} <= set(table.columns):
        raise ValueError(f"{path}: alias table needs columns 'raw' and 'canonical'")
    return dict(zip(table["raw"], table["canonical"]))


def canonical_neurons(cells: pd.DataFrame, exclude=("CANL", "CANR")) -> list[str]:
    """Alphabetically sorted canonical neuron labels (300 with the default exclusion)."""
    neurons = cells.loc[cells["kind"] == "neuron", "label"]
    return sorted(n for n in neurons if n not in set(exclude))


@dataclass
class LabelMap:
    """Mapping of raw labels to (block, canonical label).

    Attributes
    ----------
    blocks : dict
        ``block -> ordered list of canonical labels`` for ``neuron``, ``muscle``, ``other``.
    """

    blocks: dict[str, list[str]]
    aliases: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self._block_of = {lab: b for b, labs in self.blocks.items() for lab in labs}

    def map(self, raw: str) -> tuple[str, str]:
        """Return ``(block, label)``; block is ``"unmapped"`` when the label is not placed."""
        label = str(raw).strip()
        candidates = [label, self.aliases.get(label, label)]
        m = _ZERO_PAD.match(label)
        if m:
            candidates.append(m.group(1) + m.group(2))
        for rx in (_BWM_DASH, _BWM_COOK):
            m = rx.match(label)
            if m:
                candidates.append(f"M{m.group(1).upper()}{m.group(2)}{int(m.group(3)):02d}")
        for cand in candidates:
            if cand in self._block_of:
                return self._block_of[cand], cand
        return "unmapped", label


def build_label_map(
    cells: pd.DataFrame, aliases: dict[str, str] | None = None, exclude=("CANL", "CANR")
) -> LabelMap:
    """Build the :class:`LabelMap` from the cell table.

    Neurons are sorted alphabetically. Excluded neurons (CANL/CANR by default: end organs
    per Cook et al. 2019) join the ``other`` block, so their edges are kept, not dropped.
    """
    blocks = {"neuron": canonical_neurons(cells, exclude)}
    blocks["muscle"] = sorted(cells.loc[cells["kind"] == "muscle", "label"])
    others = set(cells.loc[cells["kind"] == "other", "label"]) | set(exclude)
    blocks["other"] = sorted(others)
    return LabelMap(blocks=blocks, aliases=dict(aliases or {}))
