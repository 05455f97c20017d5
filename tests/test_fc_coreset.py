"""Core-set selectors, density-balanced sampling and the SCLCS structure learner."""

from __future__ import annotations

import numpy as np
import pytest

from neuroflow.fc.coreset import (
    SELECTORS,
    SelectionInputs,
    core_size,
    density_balanced,
    draw_coresets,
    el2n_scores,
    pearson_features,
    select,
)
from neuroflow.fc.sclcs import build_model, contrastive_loss, pick_device, train_sps


def clustered_inputs(n_clusters=4, per=25, seed=0, sps=True):
    rng = np.random.default_rng(seed)
    centres = 10 * rng.standard_normal((n_clusters, 6))
    F = np.repeat(centres, per, axis=0) + rng.standard_normal((n_clusters * per, 6))
    subjects = np.repeat([f"s{i}" for i in range(n_clusters * per // 5)], 5)
    scores = rng.gamma(2.0, 1.0, (2, len(F))) if sps else None
    appearances = rng.integers(2, 20, (2, len(F))) if sps else None
    return SelectionInputs(F, subjects, scores, appearances)


@pytest.mark.parametrize("name", SELECTORS)
def test_every_selector_returns_k_sorted_unique_indices_reproducibly(name):
    inputs = clustered_inputs()
    a = select(name, inputs, 17, seed=3)
    b = select(name, inputs, 17, seed=3)
    assert a.size == 17 and np.unique(a).size == 17 and (np.diff(a) > 0).all()
    np.testing.assert_array_equal(a, b)


def test_random_selection_depends_on_the_seed():
    inputs = clustered_inputs()
    assert not np.array_equal(select("random", inputs, 10, 0), select("random", inputs, 10, 1))


def test_draw_coresets_takes_k_pool_samples_for_every_selector_fraction_and_seed():
    n = 100
    full = clustered_inputs()
    pool = np.flatnonzero(np.arange(n) % 4 != 0)  # 75 pool samples, every 4th held out
    inputs = SelectionInputs(full.features[pool], full.subjects[pool])
    mask, rows = draw_coresets(inputs, pool, n, ["random", "herding"], [0.1, 0.5], 3, {})
    assert mask.shape == (2, 2, 3, n) and mask.dtype == np.int8
    assert not mask[..., np.arange(n) % 4 == 0].any()  # nothing outside the pool
    assert [core_size(0.1, 75), core_size(0.5, 75)] == [8, 38]
    assert (mask.sum(-1) == np.array([8, 38])[None, :, None]).all()
    assert (mask[1, :, 0] == mask[1, :, 2]).all()  # herding is deterministic
    assert (mask[0, 1, 0] != mask[0, 1, 1]).any()  # random follows the seed
    assert [(r["selector"], r["fraction"], r["seed"], r["k"]) for r in rows[:4]] == [
        ("random", 0.1, 0, 8),
        ("random", 0.1, 1, 8),
        ("random", 0.1, 2, 8),
        ("random", 0.5, 0, 38),
    ]
    for row, m in zip(rows, mask.reshape(-1, n)):
        assert row["n_subjects"] == np.unique(full.subjects[m == 1]).size


def test_kcenter_greedy_covers_every_cluster():
    inputs = clustered_inputs()
    idx = select("kcenter", inputs, 4, seed=0)
    assert sorted(set(idx // 25)) == [0, 1, 2, 3]


def test_herding_keeps_the_core_set_mean_close_to_the_full_mean():
    inputs = clustered_inputs()
    herd = inputs.features[select("herding", inputs, 8, 0)].mean(0)
    rand = inputs.features[select("random", inputs, 8, 0)].mean(0)
    full = inputs.features.mean(0)
    assert np.linalg.norm(herd - full) < 0.5 * np.linalg.norm(rand - full)


def test_el2n_scores_mislabelled_samples_as_hardest():
    rng = np.random.default_rng(1)
    centres = 5 * rng.standard_normal((4, 8))
    F = np.repeat(centres, 10, axis=0) + 0.5 * rng.standard_normal((40, 8))
    subjects = np.repeat(["a", "b", "c", "d"], 10)
    subjects[[3, 17]] = ["c", "a"]  # two windows carry the wrong subject
    score = el2n_scores(SelectionInputs(F, subjects), seed=0, epochs=20, repeats=3)
    assert set(np.argsort(-score)[:2]) == {3, 17}


def test_sps_topk_keeps_the_most_stable_samples():
    inputs = clustered_inputs()
    idx = select("sps_topk", inputs, 5, seed=0)
    np.testing.assert_array_equal(idx, np.sort(np.argsort(inputs.sps[0])[:5]))
    idx1 = select("sps_topk", inputs, 5, seed=1)  # seed 1 -> training run 1
    np.testing.assert_array_equal(idx1, np.sort(np.argsort(inputs.sps[1])[:5]))


def test_density_balanced_sampling_drops_the_least_stable_and_favours_rare_scores():
    rng = np.random.default_rng(2)
    sps = np.concatenate([rng.normal(1.0, 0.05, 900), rng.normal(3.0, 0.05, 100)])
    sps[:3] = np.inf  # never seen twice
    top = np.argsort(sps[np.isfinite(sps)])[-int(0.05 * 997) :]
    counts = np.zeros(sps.size)
    for seed in range(30):
        idx = density_balanced(sps, 100, seed, beta=0.05)
        assert np.isfinite(sps[idx]).all()
        assert sps[idx].max() <= np.percentile(sps[np.isfinite(sps)], 95)
        counts[idx] += 1
    assert len(top) > 0
    # the rare mode (10 % of samples) is drawn far more often than its share
    rare_share = counts[900:].sum() / counts.sum()
    assert rare_share > 0.3


def test_density_balanced_sampling_is_seeded_and_rejects_impossible_sizes():
    sps = np.linspace(0, 1, 50)
    np.testing.assert_array_equal(density_balanced(sps, 10, 4), density_balanced(sps, 10, 4))
    with pytest.raises(ValueError, match="remain"):
        density_balanced(sps, 49, 0, beta=0.5)
    with pytest.raises(ValueError, match="finite SPS"):
        density_balanced(np.full(5, np.inf), 2, 0)


def test_unknown_selector_and_bad_sizes_raise():
    inputs = clustered_inputs()
    with pytest.raises(ValueError, match="unknown selector"):
        select("magic", inputs, 3, 0)
    with pytest.raises(ValueError, match="k=0"):
        select("random", inputs, 0, 0)
    with pytest.raises(ValueError, match="Structural Perturbation"):
        select("sclcs", clustered_inputs(sps=False), 3, 0)


def test_pearson_features_are_standardized_fisher_z_edges():
    X = np.random.default_rng(3).standard_normal((12, 5, 70))
    F = pearson_features(X)
    assert F.shape == (12, 10)
    np.testing.assert_allclose(F.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(F.std(0), 1, atol=1e-12)


# ---------------------------------------------------------------------------- SCLCS model


def test_structure_learner_shapes_and_unnormalized_attention():
    import torch

    model = build_model(n_time=70, heads=4, dim=8)
    z, A = model(torch.randn(3, 6, 70))
    assert z.shape == (3, 8) and A.shape == (3, 6, 6)
    assert (A.sum(-1) - 1).abs().max() > 1e-3  # no softmax over nodes


def test_contrastive_loss_is_lower_when_same_subject_embeddings_agree():
    import torch

    subjects = torch.tensor([0, 0, 1, 1])
    aligned = torch.tensor([[1.0, 0], [1.0, 0.01], [0, 1.0], [0.01, 1.0]])
    crossed = torch.tensor([[1.0, 0], [0, 1.0], [1.0, 0.01], [0.01, 1.0]])
    assert contrastive_loss(aligned, subjects) < contrastive_loss(crossed, subjects)
    # analytic value without the anchor in the negatives: -(s_pos - logsumexp(s_neg))
    z = torch.tensor([[1.0, 0], [1.0, 0], [0, 1.0], [0, 1.0]])
    expected = -(10.0 - torch.logsumexp(torch.tensor([0.0, 0.0]), 0))
    got = contrastive_loss(z, subjects, tau=0.1, self_in_negatives=False).item()
    assert got == pytest.approx(expected.item(), rel=1e-5)


def sclcs_data(n_subjects=6, per=4, seed=0):
    rng = np.random.default_rng(seed)
    proto = rng.standard_normal((n_subjects, 5, 5))
    X = np.concatenate(
        [np.einsum("ij,njt->nit", proto[s], rng.standard_normal((per, 5, 30))) for s in range(n_subjects)]
    )
    subjects = np.repeat([f"s{s}" for s in range(n_subjects)], per)
    return X, subjects


def test_sps_training_is_reproducible_and_scores_every_sample_seen_twice():
    X, subjects = sclcs_data()
    kw = dict(epochs=15, batch_subjects=4, heads=2, dim=8, log=lambda m: None)
    a = train_sps(X, subjects, seed=1, **kw)
    b = train_sps(X, subjects, seed=1, **kw)
    np.testing.assert_array_equal(a["sps"], b["sps"])
    np.testing.assert_array_equal(a["loss"], b["loss"])
    seen2 = a["appearances"] >= 2
    assert seen2.any() and np.isfinite(a["sps"][seen2]).all() and (a["sps"][seen2] > 0).all()
    assert np.isinf(a["sps"][~seen2]).all()
    assert a["loss"].shape == (15,)
    c = train_sps(X, subjects, seed=2, **kw)
    assert not np.array_equal(a["sps"], c["sps"])


def test_sps_training_leaves_the_global_torch_state_alone():
    import torch

    X, subjects = sclcs_data()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_sps(X, subjects, seed=0, epochs=2, batch_subjects=4, heads=2, dim=4, log=lambda m: None)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_sps_training_needs_subjects_with_two_windows():
    X, subjects = sclcs_data(n_subjects=3, per=1)
    with pytest.raises(ValueError, match=">= 2 subjects"):
        train_sps(X, subjects, epochs=2)


def test_device_choice_follows_config_and_availability():
    import torch

    assert pick_device("cpu", 1) == "cpu"
    assert pick_device("auto", 0) == "cpu"
    assert pick_device("auto", 1) == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="fc.sclcs.device"):
        pick_device("tpu")


def test_only_sps_based_selectors_need_the_sclcs_training():
    from neuroflow.fc.workflow import uses_sps

    assert not uses_sps({"selectors": ["random", "kcenter", "herding", "el2n"]})
    assert uses_sps({"selectors": ["random", "sps_topk"]})
    assert uses_sps({"selectors": ["sclcs"]})
    assert uses_sps({"selectors": ["random", "sclcs_drawcorr"]})
