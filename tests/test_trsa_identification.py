"""Leave-one-subject-out identification, its bootstrap and the family comparison."""

import numpy as np
import pytest
from sklearn.neighbors import NearestCentroid

from neuroflow.rsa import identification as ident
from neuroflow.rsa.transforms import FAMILIES, Statistic


def test_nearest_centroid_equals_scikit_learn():
    rng = np.random.default_rng(0)
    train, labels = rng.normal(size=(40, 12)), rng.integers(0, 5, 40)
    test = rng.normal(size=(25, 12))
    expected = NearestCentroid().fit(train, labels).predict(test)
    np.testing.assert_array_equal(ident.nearest_centroid(train, labels, test), expected)


def region_rdms(n_subjects=6, n_regions=4, n_pairs=45, noise=0.1, seed=0):
    """Region-specific RDM templates plus subject noise: (subject, region, pair)."""
    rng = np.random.default_rng(seed)
    templates = rng.gamma(2.0, 1.0, size=(n_regions, n_pairs))
    return templates[None] + rng.normal(0, noise, size=(n_subjects, n_regions, n_pairs))


def test_distinct_regions_are_identified_and_identical_ones_are_at_chance():
    vectors, subjects, labels, _ = ident._design(region_rdms())
    acc, predicted = ident.loo_identification(vectors, subjects, labels)
    assert acc == 1.0 and (predicted == labels).all()
    same = np.ones_like(vectors)                     # no information at all
    acc_same, _ = ident.loo_identification(same, subjects, labels)
    assert acc_same == pytest.approx(1 / 4)         # ties go to the first region


def test_identification_needs_two_subjects_and_two_regions():
    with pytest.raises(ValueError, match="at least 2 subjects"):
        ident.loo_identification(np.ones((3, 6)), [0, 0, 0], [0, 1, 2])
    with pytest.raises(ValueError, match="at least 2 regions"):
        ident.loo_identification(np.ones((3, 6)), [0, 1, 2], [0, 0, 0])


def test_resample_drops_pairs_of_a_duplicated_stimulus():
    rdms = np.arange(2 * 2 * 6, dtype=float).reshape(2, 2, 6)       # 4 stimuli, 6 pairs
    vectors, subjects, labels, n_cond = ident._design(rdms)
    v, s, lab, grp = ident.resample(vectors, subjects, labels, np.array([1, 1]),
                                    np.array([0, 0, 2, 3]), n_cond)
    # kept pairs (0,2) (0,3) (0,2) (0,3) (2,3): indices 1, 2, 1, 2, 5 of the squareform order
    np.testing.assert_array_equal(v[0], vectors[2][[1, 2, 1, 2, 5]])
    np.testing.assert_array_equal(s, [0, 0, 1, 1])                  # copies are distinct
    np.testing.assert_array_equal(grp, [1, 1, 1, 1])                 # ... of one subject
    np.testing.assert_array_equal(lab, [0, 1, 0, 1])


def test_bootstrap_holds_out_all_copies_of_a_subject_together():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(3 * 4, 10))          # no region signal at all
    subjects, labels = np.repeat(np.arange(3), 4), np.tile(np.arange(4), 3)
    draw = [(np.array([0, 0, 1]), np.arange(5))]
    got = ident.bootstrap_identification(vectors, subjects, labels, draw, 5)[0]
    # expected: the two copies of subject 0 are predicted from subject 1 alone, and
    # subject 1 from (two copies of) subject 0; a leak would make subject 0 perfect
    s0, s1 = vectors[:4], vectors[4:8]
    pred0 = ident.nearest_centroid(s1, labels[:4], s0)
    pred1 = ident.nearest_centroid(np.r_[s0, s0], np.r_[labels[:4], labels[:4]], s1)
    expected = (2 * np.sum(pred0 == labels[:4]) + np.sum(pred1 == labels[:4])) / 12
    assert got == pytest.approx(expected) and got < 1


def test_paired_bootstrap_test_known_answer():
    a, b = np.full(100, 0.8), np.full(100, 0.6)
    diff, lo, hi, p = ident.paired_bootstrap_test(a, b)
    assert diff == pytest.approx(0.2) and lo == pytest.approx(0.2) and hi == pytest.approx(0.2)
    assert p == pytest.approx(0.01)                    # bounded below by 1 / n_boot
    assert ident.paired_bootstrap_test(a, a)[3] == 1.0


def test_noise_degrades_identification_and_repeats_are_reproducible():
    rdms = region_rdms(noise=0.05)
    stats = [Statistic("rdm"), Statistic("rgtm", 0.2, 0.8)]
    table = ident.noise_curve(rdms, stats, [0.0, 5.0], n_repeats=2, random_state=3)
    assert list(table["n_repeats"]) == [1, 1, 2, 2]
    clean = table[table["noise_level"] == 0]["accuracy"]
    noisy = table[table["noise_level"] == 5]["accuracy"]
    assert (clean == 1).all() and (noisy.to_numpy() < 1).all()
    again = ident.noise_curve(rdms, stats, [0.0, 5.0], n_repeats=2, random_state=3)
    assert table.equals(again)


def test_add_rdm_noise_follows_the_paper():
    rng = np.random.default_rng(0)
    v = rng.gamma(2.0, 1.0, size=(50, 400))
    noisy = ident.add_rdm_noise(v, 0.5, np.random.default_rng(1))
    assert (noisy >= 0).all()
    unclipped = noisy[v > 3 * v.std()] - v[v > 3 * v.std()]        # far from the clipping
    assert unclipped.std() == pytest.approx(0.5 * v.std(), rel=0.1)
    np.testing.assert_array_equal(ident.add_rdm_noise(v, 0.0, rng), v)


def test_grid_and_family_comparison_tables():
    rdms = region_rdms(n_subjects=4, n_regions=3, n_pairs=28)
    grid = ident.grid_search(rdms, 0.25, [0.0], random_state=0)
    assert len(grid) == 2 * 13 and set(grid["kind"]) == {"rgtm", "rgdm"}
    summary, samples, tests = ident.family_comparison(rdms, n_samples=2, n_boot=10,
                                                      random_state=0)
    assert list(summary["family"]) == ["plain"] + 2 * list(FAMILIES)
    assert (summary["bootstrap_sd"] >= 0).all() and len(samples) == 1 + 2 * 5 * 2
    assert set(samples[samples["kind"] != "rdm"]["family"]) == set(FAMILIES)
    # every family against the plain RDM, and the 10 pairs within each kind
    assert len(tests) == 10 + 2 * 10
    assert tests["p_value"].between(0.1 / 10, 1).all()
