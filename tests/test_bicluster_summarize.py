"""Posterior summaries of the bi-clustering stage: known answers on planted partitions."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from neuroflow.bicluster import summarize as sm


def noisy_draws(truth, n_draws, flip, rng):
    """Relabelled copies of ``truth`` with a fraction ``flip`` of items moved at random."""
    k = truth.max() + 1
    draws = []
    for _ in range(n_draws):
        d = truth.copy()
        move = rng.random(d.size) < flip
        d[move] = rng.integers(0, k + 1, move.sum())
        draws.append(rng.permutation(k + 1)[d])  # label switching
    return np.array(draws)


def test_coclustering_is_label_invariant_and_exact():
    draws = np.array([[0, 0, 1], [1, 1, 0], [0, 1, 1], [2, 2, 2]])
    psm = sm.coclustering(draws)
    expected = np.array([[1, 0.75, 0.25], [0.75, 1, 0.5], [0.25, 0.5, 1]])
    np.testing.assert_allclose(psm, expected)


@pytest.mark.parametrize("loss", ["binder", "pear", "vi"])
def test_point_estimate_recovers_planted_partition_despite_label_switching(loss):
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1, 2, 3], 8)
    draws = noisy_draws(truth, 150, 0.15, rng)
    est, value = sm.point_estimate(draws, loss=loss)
    assert adjusted_rand_score(truth, est) == 1.0
    assert value >= 0


def test_pear_equals_the_adjusted_rand_index_for_a_single_draw():
    """With one draw the co-clustering matrix is 0/1 and PEAR is that draw's ARI."""
    rng = np.random.default_rng(2)
    truth = np.repeat([0, 1, 2], 7)
    for _ in range(5):
        other = rng.integers(0, 3, truth.size)
        psm = sm.coclustering(other[None])
        assert sm.pear(truth, psm) == pytest.approx(adjusted_rand_score(other, truth))


def test_variation_of_information_known_values():
    a = np.array([0, 0, 1, 1])
    assert sm.variation_of_information(a, 1 - a) == pytest.approx(0.0)
    assert sm.variation_of_information(a, np.zeros(4, int)) == pytest.approx(1.0)
    assert sm.variation_of_information(np.arange(4), np.zeros(4, int)) == pytest.approx(2.0)


def test_state_posterior_undoes_label_switching():
    truth = np.repeat([0, 1, 0], [30, 40, 30])
    draws = np.array([truth, 1 - truth, truth + 3])
    post = sm.state_posterior(draws, truth)
    np.testing.assert_allclose(post[:, :2], np.eye(2)[truth])
    assert np.all(post[:, 2] == 0)


def test_align_latents_flips_factor_signs_and_maps_clusters():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((2, 3, 50))
    lat = np.stack([base, base[::-1] * np.array([1, -1, 1])[None, :, None]])
    z = np.array([[0, 0, 1, 1], [1, 1, 0, 0]])
    out = sm.align_latents(lat, z, np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(out[0], out[1])


def test_circular_shift_null_is_below_the_aligned_score():
    ref = np.repeat([0, 1], 100)
    null = sm.circular_shift_null(ref, ref, adjusted_rand_score, 200, 0)
    assert null.mean() < 0.6 and adjusted_rand_score(ref, ref) == 1.0


def test_point_estimate_rejects_unknown_loss():
    with pytest.raises(ValueError, match="loss"):
        sm.point_estimate(np.zeros((2, 3), int), loss="rand")


# --- convergence: known answers on synthetic chains -------------------------------------


def synthetic_chains(partitions, n_draws, flip, rng):
    """One chain per partition: relabelled noisy copies (``flip`` of items moved per draw)."""
    return np.stack([noisy_draws(p, n_draws, flip, rng) for p in partitions])


def verdict_of(z, s, rng, **thresholds):
    """The convergence verdict of chains of neuron labels ``z`` and state paths ``s``."""
    n_chains, n_draws, n_neurons = z.shape
    cont = {
        "delta": rng.standard_normal((n_chains, n_draws, n_neurons)),
        "n_clusters": np.array([[np.unique(d).size for d in c] for c in z], float),
    }
    cont["coclustering"], pairs = sm.pair_indicators(z, [f"n{i}" for i in range(n_neurons)])
    cont["state_occupancy"], bins = sm.state_occupancy(s, 50)
    diag = sm.diagnostics_table(
        cont,
        [f"n{i}" for i in range(n_neurons)],
        items={"coclustering": pairs, "state_occupancy": [f"t={b}" for b in bins]},
    )
    gaps = {"neurons": sm.chain_gap(list(z)), "time bins": sm.chain_gap(list(s))}
    return sm.check_convergence(diag, gaps, n_chains, **thresholds)


def test_pair_indicators_and_state_occupancy_are_label_invariant():
    z = np.array([[[0, 0, 1]], [[5, 5, 2]]])
    ind, names = sm.pair_indicators(z, ["a", "b", "c"])
    assert names == ["a|b", "a|c", "b|c"]
    np.testing.assert_array_equal(ind[0], ind[1])
    np.testing.assert_array_equal(ind[0, 0], [1, 0, 0])
    s = np.array([[[0, 0, 0, 1]], [[3, 3, 3, 0]]])
    occ, bins = sm.state_occupancy(s)
    np.testing.assert_allclose(occ[0, 0], [0.75, 0.75, 0.75, 0.25])
    np.testing.assert_array_equal(occ[0], occ[1])
    assert list(bins) == [0, 1, 2, 3]


def test_chains_in_the_same_mode_converge():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 6)
    path = np.repeat([0, 1, 0, 1], 25)
    z = synthetic_chains([truth, truth], 300, 0.03, rng)
    s = synthetic_chains([path, path], 300, 0.03, rng)
    v = verdict_of(z, s, rng)
    assert v["converged"], v["failing"]
    assert not v["chains_disagree"] and v["failing"] == []
    assert v["max_r_hat"] < 1.05 and v["min_ess_bulk"] >= 400
    assert v["coclustering_gap_neurons"] < 0.2


def test_chains_in_different_modes_fail_with_the_failing_diagnostics_listed():
    rng = np.random.default_rng(0)
    split = np.repeat([0, 1, 2], 6)
    merged = np.repeat([0, 0, 1], 6)  # clusters 0 and 1 merged
    path = np.repeat([0, 1, 0, 1], 25)
    z = synthetic_chains([split, merged], 300, 0.03, rng)
    s = synthetic_chains([path, path], 300, 0.03, rng)
    v = verdict_of(z, s, rng)
    assert not v["converged"] and v["chains_disagree"]
    assert v["failing"][0].startswith("chains_disagree: chains 0 and 1")
    assert v["coclustering_gap_neurons"] > 0.8
    assert any(f.startswith("r_hat(coclustering[n0|n6])") for f in v["failing"])
    assert v["n_failing"] > 25 and v["failing"][-1] == f"... and {v['n_failing'] - 25} more"
    assert v["max_r_hat"] > 1.5
    # the same mode for neurons but different state paths fails too
    z = synthetic_chains([split, split], 300, 0.03, rng)
    s = synthetic_chains([path, np.repeat([0, 1], 50)], 300, 0.03, rng)
    v = verdict_of(z, s, rng)
    assert v["chains_disagree"] and "time bins" in v["failing"][0]


def test_short_chains_fail_on_ess_and_one_chain_cannot_show_agreement():
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1], 5)
    path = np.repeat([0, 1], 20)
    v = verdict_of(
        synthetic_chains([truth, truth], 60, 0.05, rng), synthetic_chains([path, path], 60, 0.05, rng), rng
    )
    assert not v["converged"] and not v["chains_disagree"]
    assert any(f.startswith("ess_bulk(") for f in v["failing"])
    v = verdict_of(
        synthetic_chains([truth], 500, 0.02, rng), synthetic_chains([path], 500, 0.02, rng), rng, min_ess=100
    )
    assert not v["converged"] and "single chain" in v["failing"][0]


def test_a_state_in_one_chain_only_has_no_support():
    truth = np.repeat([0, 1, 2, 0], 25)  # chain 0: three states
    two = np.where(truth == 2, 0, truth)  # chain 1: state 2 is state 0
    rng = np.random.default_rng(0)
    chains = [noisy_draws(truth, 50, 0.02, rng), noisy_draws(two, 50, 0.02, rng)]
    support = sm.label_support(chains, truth)
    assert support.shape == (2, 3)
    assert support[0].min() > 0.9  # chain 0 holds all three
    assert support[1, 2] < 0.05 and support[1, :2].min() > 0.9
    found = support.min(axis=0) >= 0.5
    assert list(found) == [True, True, False]
