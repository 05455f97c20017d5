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
        draws.append(rng.permutation(k + 1)[d])        # label switching
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
