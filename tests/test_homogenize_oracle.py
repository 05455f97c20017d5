"""Homogenized matrices equal those obtained from cect 0.3.5's own readers.

cect (OpenWorm ConnectomeToolbox) is installed for tests only (``pip install --no-deps
cect==0.3.5``). For every source we push cect's parsed connections through the SAME
label map and gap-junction reduction as our own reading of the original table, and
require the 300 x 300 neuron block (and the observed neurons) to be identical.
"""

from __future__ import annotations

import contextlib
import importlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroflow.homogenize.connectome import homogenize_source
from neuroflow.io.celegans_labels import build_label_map, load_aliases, load_cell_table
from neuroflow.io.connectomes import READERS

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.oracle

# source -> (cect reader module, our reader, file name, reader options, gap reduce)
CASES = {
    "white1986whole": ("White_whole", "white_1986_whole", "aconnectome_white_1986_whole.csv", {}, "mean"),
    "varshney2011": ("VarshneyDataReader", "varshney_2011", "NeuronConnect.xls", {}, "mean"),
    "cook2019herm": (
        "Cook2019HermReader",
        "cook_2019_herm",
        "SI 5 Connectome adjacency matrices, corrected July 2020.xlsx",
        {},
        "mean",
    ),
    # cect reads neurodata_updated.txt, whose hand repairs (adding the missing reverse of
    # one-way gap junctions) are what our symmetrization does to the ORIGINAL file: after
    # homogenization the neuron blocks must be identical.
    "durbin1987": ("DurbinN2UDataReader", "durbin_1987", "neurodata.txt", {"animal": "N2U"}, "mean"),
    **{
        f"witvliet2021animal{k}": (f"WitvlietDataReader{k}", "witvliet_2021", name, {}, "mean")
        for k, name in enumerate(
            [
                "witvliet_2020_1 L1.xlsx",
                "witvliet_2020_2 L1.xlsx",
                "witvliet_2020_3 L1.xlsx",
                "witvliet_2020_4 L1.xlsx",
                "witvliet_2020_5 L2.xlsx",
                "witvliet_2020_6 L3.xlsx",
                "witvliet_2020_7 adult.xlsx",
                "witvliet_2020_8 adult.xlsx",
            ],
            1,
        )
    },
}


@pytest.fixture(scope="module")
def label_map():
    return build_label_map(
        load_cell_table(ROOT / "resources/celegans/cells.tsv"),
        load_aliases(ROOT / "resources/celegans/aliases.tsv"),
    )


def cect_edges(module: str) -> pd.DataFrame:
    """cect's parsed connections as a raw edge table (its own labels)."""
    with contextlib.redirect_stdout(io.StringIO()):
        inst = importlib.import_module(f"cect.readers.{module}").get_instance(from_cache=False)
    rows = []
    for cls, syn in (("Generic_CS", "chemical"), ("Generic_GJ", "electrical")):
        m = np.asarray(inst.connections[cls])
        for i, j in zip(*np.nonzero(m)):
            rows.append((inst.nodes[i], inst.nodes[j], syn, float(m[i, j])))
    return pd.DataFrame(rows, columns=["pre", "post", "synapse_type", "weight"])


@pytest.mark.parametrize("source", sorted(CASES))
def test_neuron_block_matches_cect(source, label_map, cect_data):
    pytest.importorskip("cect")
    module, reader, name, options, reduce = CASES[source]
    ours = homogenize_source(
        READERS[reader](cect_data / name, **options), label_map, source, gap_reduce=reduce
    )
    theirs = homogenize_source(cect_edges(module), label_map, source, gap_reduce=reduce)
    np.testing.assert_array_equal(ours["weight"].values, theirs["weight"].values)
    np.testing.assert_array_equal(ours["observed"].values, theirs["observed"].values)
    assert ours.attrs["n_unmapped_labels"] == 0
    # the neuron block is a real connectome, not an empty one
    assert (ours["weight"].sel(synapse_type="chemical").values > 0).sum() > 500
