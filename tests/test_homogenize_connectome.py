"""Homogenization and consensus on small edge tables with known answers."""

import numpy as np
import pandas as pd
import pytest

from neuroflow.homogenize.connectome import (
    gap_symmetry_qc,
    homogenize_source,
    map_edges,
    source_summary,
    symmetrize_gap,
)
from neuroflow.homogenize.consensus import (
    build_consensus,
    consensus_edges,
    degree_table,
    jaccard_table,
    normalize_weights,
)
from neuroflow.io.celegans_labels import LabelMap

NEURONS = ["A", "B", "C", "D"]


@pytest.fixture
def label_map():
    return LabelMap(blocks={"neuron": NEURONS, "muscle": ["M1"], "other": ["hyp"]})


def edges(rows):
    return pd.DataFrame(rows, columns=["pre", "post", "synapse_type", "weight"])


def test_symmetrize_mean_keeps_weight_listed_once_or_twice():
    d = np.zeros((3, 3))
    d[0, 1] = d[1, 0] = 4  # listed both ways, equal
    d[0, 2] = 2  # listed once
    d[1, 2], d[2, 1] = 1, 3  # listed both ways, unequal -> mean 2
    s = symmetrize_gap(d, "mean")
    np.testing.assert_array_equal(s, s.T)
    assert (s[0, 1], s[0, 2], s[1, 2]) == (4, 2, 2)
    assert symmetrize_gap(d, "max")[1, 2] == 3
    assert symmetrize_gap(d, "sum")[0, 1] == 8
    with pytest.raises(ValueError, match="gap_junction_reduce"):
        symmetrize_gap(d, "median")


def test_gap_symmetry_qc_counts_listing_defects():
    d = np.zeros((3, 3))
    d[0, 1] = d[1, 0] = 4
    d[0, 2] = 2
    d[1, 2], d[2, 1] = 1, 3
    qc = gap_symmetry_qc(d)
    assert qc == {
        "n_pairs": 3,
        "n_both_directions": 2,
        "n_one_direction": 1,
        "n_both_equal": 1,
        "max_abs_difference": 2.0,
    }


def test_map_edges_sums_duplicates_and_splits_blocks(label_map):
    e = edges(
        [
            ("A", "B", "chemical", 1),
            ("A", "B", "chemical", 2),
            ("A", "M1", "chemical", 5),
            ("Q", "A", "electrical", 1),
        ]
    )
    neuron, other = map_edges(e, label_map)
    assert neuron.to_dict("records") == [{"pre": "A", "post": "B", "synapse_type": "chemical", "weight": 3.0}]
    assert sorted(other["pre_block"] + ">" + other["post_block"]) == ["neuron>muscle", "unmapped>neuron"]


def test_homogenize_source_matrix_order_symmetry_and_unmapped(label_map):
    e = edges(
        [
            ("B", "A", "chemical", 2),
            ("A", "C", "electrical", 3),
            ("C", "A", "electrical", 3),
            ("A", "B", "electrical", 1),
            ("Q7", "D", "chemical", 1),
            ("C", "M1", "chemical", 4),
        ]
    )
    ds = homogenize_source(e, label_map, "toy")
    assert list(ds["pre"].values) == NEURONS
    w = ds["weight"]
    assert float(w.sel(synapse_type="chemical", pre="B", post="A")) == 2
    assert float(w.sel(synapse_type="chemical", pre="A", post="B")) == 0
    gap = w.sel(synapse_type="electrical").values
    np.testing.assert_array_equal(gap, gap.T)
    assert gap[0, 2] == 3 and gap[0, 1] == 1
    assert list(ds["observed"].values) == [True, True, True, True]
    assert ds.attrs["unmapped_labels"] == "Q7" and ds.attrs["n_unmapped_labels"] == 1
    s = source_summary(ds)
    assert (s["n_chemical_edges"], s["n_electrical_pairs"], s["n_other_chemical_edges"]) == (1, 2, 2)


def _source(label_map, sid, rows):
    return homogenize_source(edges(rows), label_map, sid)


def test_consensus_support_counts_only_sources_that_observed_the_pair(label_map):
    s1 = _source(label_map, "s1", [("A", "B", "chemical", 2), ("C", "D", "chemical", 4)])
    s2 = _source(label_map, "s2", [("A", "B", "chemical", 10), ("B", "A", "electrical", 1)])
    s3 = _source(label_map, "s3", [("A", "B", "chemical", 20), ("B", "C", "chemical", 5)])
    cons = build_consensus([s1, s2, s3], series={"s1": "X", "s2": "X"})
    ab = dict(synapse_type="chemical", pre="A", post="B")
    cd = dict(synapse_type="chemical", pre="C", post="D")
    assert int(cons["n_sources"].sel(**ab)) == 3
    assert int(cons["n_series"].sel(**ab)) == 2  # s1 and s2 share a series
    # C and D are observed only by s1 (s3 observes C but not D)
    assert int(cons["n_observing"].sel(**cd)) == 1
    assert float(cons["support"].sel(**cd)) == 1.0
    # median normalization: every source's A->B is at or above its median edge
    np.testing.assert_allclose(cons["scale"].sel(synapse_type="chemical").values, [3, 10, 12.5])
    expected = np.median([2 / 3, 1.0, 20 / 12.5])
    assert float(cons["weight"].sel(**ab)) == pytest.approx(expected)
    assert np.isnan(float(cons["uncertainty"].sel(**cd)))  # a single source: no spread
    table = consensus_edges(cons)
    row = table[(table.pre == "A") & (table.post == "B") & (table.synapse_type == "chemical")]
    assert row["sources"].item() == "s1,s2,s3"
    # electrical edges listed once per unordered pair
    assert len(table[table.synapse_type == "electrical"]) == 1


def test_normalize_weights_none_is_identity():
    w = np.random.default_rng(0).integers(0, 5, size=(2, 2, 4, 4)).astype(float)
    out, scale = normalize_weights(w, "none")
    np.testing.assert_array_equal(out, w)
    assert (scale == 1).all()


def test_jaccard_and_degree_on_identical_and_disjoint_sources(label_map):
    rows = [
        ("A", "B", "chemical", 1),
        ("B", "C", "chemical", 1),
        ("C", "D", "chemical", 2),
        ("D", "A", "chemical", 1),
        ("A", "C", "electrical", 1),
    ]
    s1, s2 = _source(label_map, "s1", rows), _source(label_map, "s2", rows)
    s3 = _source(
        label_map,
        "s3",
        [
            ("B", "A", "chemical", 1),
            ("C", "B", "chemical", 1),
            ("D", "C", "chemical", 1),
            ("A", "D", "chemical", 1),
        ],
    )
    jac = jaccard_table([s1, s2, s3]).set_index(["source_a", "source_b", "synapse_type"])
    assert jac.loc[("s1", "s2", "chemical"), "jaccard"] == 1.0
    assert jac.loc[("s1", "s3", "chemical"), "jaccard"] == 0.0
    assert jac.loc[("s1", "s2", "electrical"), "n_edges_a"] == 1  # one unordered pair
    deg = degree_table([s1, s2])
    assert (deg["spearman_rho"].dropna() == 1.0).all()
