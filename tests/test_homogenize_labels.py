"""Label mapping: canonical order, zero padding, blocks, unmapped labels."""

from pathlib import Path

import pytest

from neuroflow.io.celegans_labels import (
    build_label_map,
    canonical_neurons,
    load_aliases,
    load_cell_table,
)

ROOT = Path(__file__).resolve().parents[1]
CELLS = ROOT / "resources/celegans/cells.tsv"
ALIASES = ROOT / "resources/celegans/aliases.tsv"


@pytest.fixture(scope="module")
def label_map():
    return build_label_map(load_cell_table(CELLS), load_aliases(ALIASES))


def test_canonical_list_is_300_sorted_hermaphrodite_neurons_without_can():
    neurons = canonical_neurons(load_cell_table(CELLS))
    assert len(neurons) == 300
    assert neurons == sorted(neurons)
    assert "CANL" not in neurons and "CANR" not in neurons
    assert {"ADAL", "AVAL", "VB1", "VA12", "RID", "PVT"} <= set(neurons)
    # no zero-padded names in the canonical list
    assert not [n for n in neurons if n[-2:-1] == "0" and n[-1].isdigit() and n[-3].isalpha()]


def test_canonical_order_is_stable_across_calls():
    a = canonical_neurons(load_cell_table(CELLS))
    b = canonical_neurons(load_cell_table(CELLS))
    assert a == b


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("VB01", ("neuron", "VB1")),
        ("AS09", ("neuron", "AS9")),
        ("VA10", ("neuron", "VA10")),
        (" ADAL ", ("neuron", "ADAL")),
        ("CANL", ("other", "CANL")),
        ("BWM-DL01", ("muscle", "MDL01")),
        ("dBWML3", ("muscle", "MDL03")),
        ("vBWMR12", ("muscle", "MVR12")),
        ("mu_bod", ("muscle", "BWM")),
        ("NMJ", ("muscle", "BWM")),
        ("pm4", ("muscle", "pm4_UNSPECIFIED")),
        ("hyp", ("other", "hyp")),
        ("XYZ1", ("unmapped", "XYZ1")),
    ],
)
def test_map_places_labels_in_their_block(label_map, raw, expected):
    assert label_map.map(raw) == expected


def test_blocks_are_disjoint(label_map):
    blocks = [set(v) for v in label_map.blocks.values()]
    assert sum(len(b) for b in blocks) == len(set().union(*blocks))


def test_bad_cell_table_names_the_file(tmp_path):
    bad = tmp_path / "cells.tsv"
    bad.write_text("label\tkind\nADAL\tneuron\nADAR\tneurone\n")
    with pytest.raises(ValueError, match="cells.tsv.*neurone"):
        load_cell_table(bad)


def test_old_import_path_re_exports_the_same_objects():
    import neuroflow.homogenize.labels as old
    import neuroflow.io.celegans_labels as new

    for name in old.__all__:
        assert getattr(old, name) is getattr(new, name), name
