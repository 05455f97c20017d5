"""Geo-topological transforms: equal to rsatoolbox's where defined, pitfalls handled."""

import numpy as np
import pytest
from rsatoolbox.rdm import (
    RDMs,
    geodesic_transform,
    geotopological_transform,
    minmax_transform,
    rank_transform,
)
from scipy.spatial.distance import squareform

from neuroflow.rsa.identification import loo_identification
from neuroflow.rsa.shapes import ring_and_arc_rdms
from neuroflow.rsa.transforms import (
    FAMILIES,
    Statistic,
    apply_statistic,
    family_of,
    geodesic,
    geodesic_distances,
    geotopological,
    lu_grid,
    rank_minmax,
    sample_family,
    statistic_from_config,
)


@pytest.fixture
def random_rdms():
    """Six random RDMs of 15 conditions (positive, no ties)."""
    return np.random.default_rng(3).gamma(2.0, 1.0, size=(6, 105))


def rsatoolbox_rgtm(vectors, lower, upper):
    """The paper's RGTM built from rsatoolbox alone: rank, minmax, GT on one-RDM objects."""
    normed = minmax_transform(rank_transform(RDMs(vectors)))
    return np.array(
        [geotopological_transform(normed[i], lower, upper).get_vectors()[0] for i in range(normed.n_rdm)]
    )


def test_rank_minmax_equals_rsatoolbox(random_rdms):
    expected = minmax_transform(rank_transform(RDMs(random_rdms))).get_vectors()
    np.testing.assert_allclose(rank_minmax(random_rdms), expected, atol=1e-12)


def authors_gt(d, lower, upper):
    """Transcription of the authors' gt_transform (utils_transform.py) for one RDM."""
    from scipy.stats import rankdata

    d = rankdata(d)
    d = (d - d.min()) / (d.max() - d.min())
    q_lo, q_up = np.quantile(d, lower), np.quantile(d, upper)
    out = d.copy()
    out[d < q_lo] = 0
    mid = (d >= q_lo) & (d <= q_up)
    out[mid] = (d[mid] - q_lo) / (q_up - q_lo)
    out[d > q_up] = 1
    return out


GRID = [(0.0, 1.0), (0.2, 0.8), (0.05, 0.3), (0.45, 0.55), (0.7, 0.95), (0.0, 0.1)]


@pytest.mark.parametrize("lower, upper", GRID)
def test_rgtm_equals_the_authors_definition(random_rdms, lower, upper):
    expected = np.array([authors_gt(r, lower, upper) for r in random_rdms])
    np.testing.assert_allclose(geotopological(random_rdms, lower, upper), expected, atol=1e-12)


@pytest.mark.parametrize("lower, upper", GRID)
def test_rgtm_equals_rsatoolbox_up_to_its_in_place_upper_clip(random_rdms, lower, upper):
    """rsatoolbox 0.3.2 runs ``d[d > q_up] = 1`` after writing the ramp in place, so ramp
    values above the upper quantile's value also become 1. Elsewhere, and everywhere for
    upper = 1, the two agree exactly."""
    ours = geotopological(random_rdms, lower, upper)
    ref = rsatoolbox_rgtm(random_rdms, lower, upper)
    q_up = np.quantile(rank_minmax(random_rdms), upper, axis=1, keepdims=True)
    np.testing.assert_allclose(np.where(ours > q_up, 1.0, ours), ref, atol=1e-12)
    if upper == 1.0:
        np.testing.assert_allclose(ours, ref, atol=1e-12)
    elif upper <= 0.3:  # a local extractor: most of its ramp becomes 1 in rsatoolbox
        ramp = (ours > 0) & (ours < 1)
        assert (ref[ramp] == 1).mean() > 0.5


def test_rgtm_uses_per_rdm_quantiles_unlike_pooled_rsatoolbox(random_rdms):
    scaled = random_rdms * np.arange(1, 7)[:, None]  # RDMs on different scales
    original = scaled.copy()
    ours = geotopological(scaled, 0.2, 0.8, normalize=False)
    np.testing.assert_array_equal(scaled, original)  # input left alone
    pooled = geotopological_transform(RDMs(scaled.copy()), 0.2, 0.8).get_vectors()
    per_rdm = np.array(
        [geotopological_transform(RDMs(r[None].copy()), 0.2, 0.8).get_vectors()[0] for r in scaled]
    )
    np.testing.assert_allclose(ours, per_rdm, atol=1e-12)
    assert not np.allclose(ours, pooled)  # the pitfall is real
    assert (pooled[0] == 0).mean() > 0.5 and (pooled[-1] == 1).mean() > 0.4  # vs 0.2 each


def test_rgtm_with_lower_equal_upper_is_a_threshold_graph(random_rdms):
    out = geotopological(random_rdms, 0.5, 0.5)
    assert set(np.unique(out)) == {0.0, 1.0}
    ranks = rank_minmax(random_rdms)
    np.testing.assert_array_equal(out, (ranks > np.median(ranks, axis=1, keepdims=True)))
    assert not np.isnan(out).any()  # rsatoolbox alone gives 0/0 here


@pytest.mark.parametrize("method", ["batched", "pruned"])
def test_geodesic_drop_equals_rsatoolbox_geodesic_transform(random_rdms, method):
    gt = geotopological(random_rdms, 0.1, 0.7)
    ours = geodesic_distances(gt, zero_edges="drop", method=method)
    ref = geodesic_transform(RDMs(gt)).get_vectors()
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(ref))
    finite = np.isfinite(ref)
    np.testing.assert_allclose(ours[finite], ref[finite], atol=1e-12)


@pytest.mark.parametrize("method", ["batched", "pruned"])
@pytest.mark.parametrize("zero_edges", ["drop", "keep"])
def test_floyd_warshall_and_pruned_paths_equal_scipy_csgraph(random_rdms, zero_edges, method):
    gt = geotopological(random_rdms, 0.05, 0.6)
    ours = geodesic_distances(gt, zero_edges, method=method)
    scipy_ = geodesic_distances(gt, zero_edges, method="scipy")
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(scipy_))
    np.testing.assert_allclose(ours[np.isfinite(ours)], scipy_[np.isfinite(scipy_)], atol=1e-12)


def ring_graph(n=120, seed=0):
    """Rank-scaled distances of a noisy ring: geodesics of many hops (the hard case)."""
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(seed)
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    points = np.c_[np.cos(angle), np.sin(angle)] + rng.normal(0, 0.05, (n, 2))
    return squareform(rank_minmax(pdist(points)[None])[0])


def test_pruned_paths_are_exact_on_long_chains_and_disconnected_graphs():
    from scipy.sparse.csgraph import shortest_path

    from neuroflow.rsa._geodesic import _correct_rows, _csr, pruned_shortest_paths

    graph = ring_graph() + 0.01  # no zero lengths (scipy: no edge)
    graph[graph > 0.3] = np.inf  # only short edges: long chains
    graph[:60, 60:] = graph[60:, :60] = np.inf  # and two components
    expected = shortest_path(np.where(np.isinf(graph), 0, graph), directed=False)
    got = pruned_shortest_paths(graph)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    np.testing.assert_allclose(got[np.isfinite(got)], expected[np.isfinite(expected)], atol=1e-12)
    # the Dijkstra fallback of rows with long improvement chains gives the same rows
    bounds = np.where(np.eye(len(graph)) > 0, 0.0, graph)
    finite = np.isfinite(graph) & ~np.eye(len(graph), dtype=bool)
    redone = _correct_rows(bounds, *_csr(np.where(finite, graph, np.inf), finite), 0)
    assert redone == len(graph)
    np.testing.assert_allclose(bounds[np.isfinite(bounds)], expected[np.isfinite(expected)], atol=1e-12)


def test_geodesic_keep_makes_close_pairs_zero_length_edges():
    # four points on a path a-b-c-d; a-b is "very close" (weight 0), c-d absent (weight 1)
    w = squareform(np.array([[0, 0.0, 0.5, 1.0], [0.0, 0, 0.2, 1.0], [0.5, 0.2, 0, 0.3], [1.0, 1.0, 0.3, 0]]))
    keep = squareform(geodesic_distances(w, "keep")[0])
    drop = squareform(geodesic_distances(w, "drop")[0])
    assert keep[0, 1] == 0.0 and keep[0, 2] == pytest.approx(0.2)  # via b at no cost
    assert drop[0, 1] == pytest.approx(0.7) and drop[0, 2] == pytest.approx(0.5)
    assert keep[0, 3] == pytest.approx(0.5) and drop[0, 3] == pytest.approx(0.8)


def test_rgdm_gives_disconnected_pairs_the_top_rank():
    # two cliques with no edge between them after removing the pairs at 1
    w = squareform(np.array([[0, 0.1, 1, 1], [0.1, 0, 1, 1], [1, 1, 0, 0.2], [1, 1, 0.2, 0]]))
    assert np.isinf(geodesic_distances(w, "keep")).sum() == 4
    out = squareform(geodesic(w, "keep")[0])
    assert out[0, 2] == out[1, 3] == 1.0 and out[0, 1] < 1 and out[2, 3] < 1


def test_rdm_statistic_is_the_identity(random_rdms):
    np.testing.assert_array_equal(apply_statistic(random_rdms, Statistic("rdm")), random_rdms)


def test_lu_grid_is_the_authors_grid():
    grid = lu_grid(0.05)
    assert len(grid) == 229  # 20 lower values x upper >= lower, minus (0, 0)
    assert (0.0, 0.0) not in grid and (0.0, 1.0) in grid and (0.95, 1.0) in grid
    assert all(0 <= lo <= up <= 1 for lo, up in grid)
    assert len(lu_grid(0.1)) == 64


@pytest.mark.parametrize(
    "lower, upper, family",
    [
        (0.0, 0.3, "local"),
        (0.05, 0.35, "local"),
        (0.7, 0.95, "global"),
        (0.8, 1.0, "global"),
        (0.1, 0.9, "geometry"),
        (0.0, 1.0, "geometry"),
        (0.45, 0.55, "topology"),
        (0.5, 0.5, "topology"),
        (0.2, 0.6, "intermediate"),
        (0.3, 0.9, "intermediate"),
    ],
)
def test_family_of_known_pairs(lower, upper, family):
    assert family_of(lower, upper) == family


def test_every_family_occurs_on_the_grid_and_sampling_respects_it():
    assert {family_of(*p) for p in lu_grid(0.05)} == set(FAMILIES)
    rng = np.random.default_rng(0)
    for family in FAMILIES:
        pairs = sample_family(family, 5, rng)
        assert len(set(pairs)) == 5 and all(family_of(*p) == family for p in pairs)


def test_statistic_names_and_config():
    assert Statistic("rgtm", 0.45, 0.55).name == "rgtm_l0.45_u0.55"
    assert Statistic("rdm", 0.3, 0.4).name == "rdm"  # thresholds ignored
    assert statistic_from_config({"kind": "rgdm", "lower": 0.1}).upper == 1.0
    with pytest.raises(ValueError, match=r"trsa.statistics\[2\].*lower <= upper"):
        statistic_from_config({"kind": "rgtm", "lower": 0.8, "upper": 0.2}, "trsa.statistics[2]")
    with pytest.raises(ValueError, match="kind must be one of"):
        Statistic("mds")


@pytest.mark.parametrize(
    "bad, needle",
    [
        (np.array([[0.1, np.nan, 0.3]]), "NaN"),
        (np.ones((2, 4)), "not n\\(n-1\\)/2"),
        (np.ones((2, 2, 3)), "expected shape"),
    ],
)
def test_bad_rdm_vectors_are_refused(bad, needle):
    with pytest.raises(ValueError, match=needle):
        geotopological(bad, 0.2, 0.8)


def test_topology_is_told_apart_better_by_topological_statistics():
    """Rings vs open arcs under matched geometric distortions (simulated ground truth)."""
    rdms = ring_and_arc_rdms(n_subjects=12, n_points=30, distortion=1.0, random_state=0)
    vectors = rdms.reshape(24, -1)
    subjects, labels = np.repeat(np.arange(12), 2), np.tile([0, 1], 12)

    def accuracy(stat):
        return loo_identification(apply_statistic(vectors, stat), subjects, labels)[0]

    plain = accuracy(Statistic("rdm"))
    topo = accuracy(Statistic("rgtm", 0.45, 0.55))
    geo = accuracy(Statistic("rgdm", 0.1, 0.9))
    assert plain <= 0.8
    assert topo >= plain + 0.15 and geo >= plain + 0.15
