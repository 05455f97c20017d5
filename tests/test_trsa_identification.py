"""Leave-one-subject-out identification, its bootstrap and the family comparison."""

import numpy as np
import pytest
from sklearn.neighbors import NearestCentroid

from neuroflow.rsa import claims, noise
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
    same = np.ones_like(vectors)  # no information at all
    acc_same, _ = ident.loo_identification(same, subjects, labels)
    assert acc_same == pytest.approx(1 / 4)  # ties go to the first region


def test_identification_needs_two_subjects_and_two_regions():
    with pytest.raises(ValueError, match="at least 2 subjects"):
        ident.loo_identification(np.ones((3, 6)), [0, 0, 0], [0, 1, 2])
    with pytest.raises(ValueError, match="at least 2 regions"):
        ident.loo_identification(np.ones((3, 6)), [0, 1, 2], [0, 0, 0])


def test_resample_drops_pairs_of_a_duplicated_stimulus():
    rdms = np.arange(2 * 2 * 6, dtype=float).reshape(2, 2, 6)  # 4 stimuli, 6 pairs
    vectors, subjects, labels, n_cond = ident._design(rdms)
    v, s, lab, grp = ident.resample(
        vectors, subjects, labels, np.array([1, 1]), np.array([0, 0, 2, 3]), n_cond
    )
    # kept pairs (0,2) (0,3) (0,2) (0,3) (2,3): indices 1, 2, 1, 2, 5 of the squareform order
    np.testing.assert_array_equal(v[0], vectors[2][[1, 2, 1, 2, 5]])
    np.testing.assert_array_equal(s, [0, 0, 1, 1])  # copies are distinct
    np.testing.assert_array_equal(grp, [1, 1, 1, 1])  # ... of one subject
    np.testing.assert_array_equal(lab, [0, 1, 0, 1])


def test_bootstrap_holds_out_all_copies_of_a_subject_together():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(3 * 4, 10))  # no region signal at all
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
    assert p == pytest.approx(0.01)  # bounded below by 1 / n_boot
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
    unclipped = noisy[v > 3 * v.std()] - v[v > 3 * v.std()]  # far from the clipping
    assert unclipped.std() == pytest.approx(0.5 * v.std(), rel=0.1)
    np.testing.assert_array_equal(ident.add_rdm_noise(v, 0.0, rng), v)


def test_grid_and_family_comparison_tables():
    rdms = region_rdms(n_subjects=4, n_regions=3, n_pairs=28)
    grid = ident.grid_search(rdms, 0.25, [0.0], random_state=0)
    assert len(grid) == 2 * 13 and set(grid["kind"]) == {"rgtm", "rgdm"}
    settings = claims.ProtocolSettings(
        noise_levels=(0.0, 0.3), noise_models=("pooled",), family_samples=2, n_boot=10, n_null=10
    )
    out = claims.faithful_comparison(rdms, settings)
    summary, samples, tests = out["summary"], out["samples"], out["tests"]
    # every family at every level of the authors' noise, the same (l, u) at each level
    assert list(summary["family"])[:11] == ["plain"] + 2 * list(FAMILIES)
    assert len(summary) == 2 * 11 and (summary["bootstrap_sd"] >= 0).all()
    assert len(samples) == 2 * (1 + 2 * 5 * 2)
    per_level = samples.groupby("noise_level")["statistic"].apply(list)
    assert per_level.iloc[0] == per_level.iloc[1]
    assert set(samples[samples["kind"] != "rdm"]["family"]) == set(FAMILIES)
    # every family against the plain RDM and the 10 pairs within each kind, per level
    assert len(tests) == 2 * (10 + 2 * 10)
    assert tests["p_value"].between(0.1 / 10, 1).all()
    assert len(out["claims"]) == 2 * 2  # levels x kinds


def test_fast_bootstrap_equals_the_resampling_bootstrap():
    rdms = region_rdms(n_subjects=5, n_regions=4, n_pairs=45, noise=1.5, seed=2)
    vectors, subjects, labels, n_cond = ident._design(rdms)
    draws = ident.bootstrap_samples(subjects, n_cond, 30, np.random.default_rng(4))
    slow = ident.bootstrap_identification(vectors, subjects, labels, draws, n_cond)
    fast = ident.fast_bootstrap(rdms, *ident.draw_weights(draws, 5, n_cond))
    assert 0.2 < slow.mean() < 0.95  # neither trivial nor at chance
    np.testing.assert_allclose(fast, slow, atol=1e-12)
    hits = ident.loo_correct_from_gram(ident.weighted_gram(rdms), np.ones(5))
    assert hits.mean() == pytest.approx(ident.loo_identification(vectors, subjects, labels)[0])
    tied = ident.loo_correct_from_gram(ident.weighted_gram(np.ones((3, 4, 6))), np.ones(3))
    assert tied.mean() == pytest.approx(1 / 4)  # ties go to the first region


def test_activation_noise_raises_euclidean_rdm_noise_as_expected():
    """rsatoolbox's euclidean RDM is |x_i - x_j|^2 / p; noise e ~ N(0, s^2) per unit adds
    2 s^2 on average, with variance 8 s^2 D_ij / p + 8 s^4 / p (a known case)."""
    rng = np.random.default_rng(0)
    act = rng.normal(size=(1, 6, 400))  # 1 instance, 6 stimuli, 400 units
    clean = noise.patterns_rdm(act, "euclidean")[0]
    level = 0.5
    s = level * act.std()
    draws = np.array([noise.add_activation_noise([act], level, rng, "euclidean")[0] for _ in range(400)])
    change = draws - clean
    np.testing.assert_allclose(change.mean(axis=0), 2 * s**2, rtol=0.05)
    expected_sd = np.sqrt(8 * s**2 * clean / 400 + 8 * s**4 / 400)
    np.testing.assert_allclose(change.std(axis=0), expected_sd, rtol=0.12)
    # more activation noise, more RDM noise (in each RDM's own units)
    stack = np.repeat(noise.patterns_rdm(act, "correlation"), 2, axis=0)
    acts = [np.concatenate([act, act])]
    grown = [
        noise.rdm_noise(stack, noise.noisy_vectors("activation", lv, stack, rng, acts))
        for lv in (0.0, 0.5, 2.0)
    ]
    assert grown[0] == 0 < grown[1] < grown[2]


def test_numpy_rdms_of_patterns_equal_rsatoolbox():
    from neuroflow.rsa.networks import activation_rdm

    patterns = np.random.default_rng(1).normal(size=(2, 7, 30))
    for method in ("correlation", "euclidean"):
        ours = noise.patterns_rdm(patterns, method)
        ref = np.array([activation_rdm(p, method) for p in patterns])
        np.testing.assert_allclose(ours, ref, atol=1e-12)
    with pytest.raises(ValueError, match="rdm_method must be correlation or euclidean"):
        noise.patterns_rdm(patterns, "mahalanobis")


def test_scaled_noise_follows_each_rdm_and_the_sd_ratio_is_known():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2, 5000))
    v = np.stack([10 + base[0], 30 + 3 * base[1]])  # means 10 / 30, SDs 1 / 3
    noisy = noise.add_scaled_rdm_noise(v, 0.5, np.random.default_rng(1))
    np.testing.assert_allclose((noisy - v).std(axis=1), [0.5, 1.5], rtol=0.05)
    assert noise.rdm_noise(v, noisy) == pytest.approx(0.5, rel=0.05)
    pooled = np.sqrt(((1 + 9) / 2) + 10**2)  # within variances + between means
    assert noise.sd_ratio(v) == pytest.approx(pooled / 2, rel=0.02)  # median SD = 2


def test_permutation_null_is_at_chance():
    rdms = region_rdms(n_subjects=6, n_regions=4)
    null = claims.permutation_null(rdms, 300, np.random.default_rng(0))
    assert null.mean() == pytest.approx(1 / 4, abs=0.03)
    assert ident.loo_identification(*ident._design(rdms)[:3])[0] == 1.0


def test_power_and_verdict_known_answers():
    se = 0.05 / (claims.Z_975 + claims.Z_80)
    assert claims.power_two_sided(se, 0.05) == pytest.approx(0.8, abs=1e-3)
    assert claims.power_two_sided(1.0, 0.0) == pytest.approx(0.05)
    assert claims.verdict(0.01, 0.2, 0.05)[0] == "yes"
    assert claims.verdict(-0.03, 0.02, 0.05)[0] == "yes"  # non-inferior
    assert claims.verdict(-0.2, -0.01, 0.05)[0] == "no"
    assert claims.verdict(-0.2, 0.1, 0.05)[0] == "inconclusive"


def test_nested_selection_never_uses_the_held_out_subject():
    rdms = region_rdms(n_subjects=5, n_regions=3, n_pairs=28, noise=0.8, seed=3)
    pairs = [(0.0, 1.0), (0.45, 0.55), (0.1, 0.3), (0.7, 0.9)]
    acc, chosen, best = claims.nested_selection(rdms, "rgtm", pairs)
    assert 0 <= acc <= best <= 1
    spoiled = rdms.copy()
    spoiled[0] = np.random.default_rng(9).gamma(2.0, 1.0, size=spoiled[0].shape)
    _, chosen_spoiled, _ = claims.nested_selection(spoiled, "rgtm", pairs)
    assert chosen_spoiled[0] == chosen[0]  # fold 0 chose from the other subjects only


def band_rdms(n_subjects=6, n_regions=4, n_cond=16, seed=0):
    """Regions that differ only in the order of the pairs ranked between the 62nd and 78th
    percentile: above every topology-sensitive u (<= 0.6), below every geometry-sensitive
    u (>= 0.8). Known answer: the topology family sees identical RGTMs (chance), the
    geometry family identifies every region."""
    rng = np.random.default_rng(seed)
    n_pairs = n_cond * (n_cond - 1) // 2
    base = rng.permutation(n_pairs).astype(float)
    band = np.flatnonzero((base >= 0.62 * n_pairs) & (base <= 0.78 * n_pairs))
    out = np.empty((n_subjects, n_regions, n_pairs))
    for r in range(n_regions):
        region = base.copy()
        region[band] = rng.permutation(base[band])
        out[:, r] = region + rng.uniform(0, 1e-3, size=(n_subjects, n_pairs))  # keeps ranks
    return out


def test_geometry_family_wins_where_only_graded_distances_differ():
    rdms = band_rdms()
    settings = claims.ProtocolSettings(
        noise_levels=(0.0,), noise_models=("pooled",), kinds=("rgtm",), family_samples=3, n_boot=40, n_null=20
    )
    row = claims.faithful_comparison(rdms, settings)["claims"].iloc[0]
    assert row["topology_accuracy"] == pytest.approx(1 / 4)  # ties: first region
    assert row["geometry_accuracy"] == 1.0 and row["rdm_accuracy"] == 1.0
    assert row["contrast_ci_high"] < 0 and row["claim_holds"] == "no"
