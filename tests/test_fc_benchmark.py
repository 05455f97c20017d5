"""Benchmark tasks and ranking metrics on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from neuroflow.fc.benchmark import (
    TaskData,
    coupling_per_sample,
    edge_vectors,
    label_classification,
    overlap_mask,
    rank_descending,
    subject_identification,
)
from neuroflow.fc.ranking import kendall_tau
from neuroflow.fc.ranking import ndcg_linear as ndcg_at_k


def fingerprints(n_subjects=6, per_subject=4, n_edges=40, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    proto = rng.standard_normal((n_subjects, n_edges))
    F = np.repeat(proto, per_subject, axis=0)
    F = F + noise * rng.standard_normal(F.shape)
    subjects = np.repeat([f"s{i}" for i in range(n_subjects)], per_subject)
    return F, subjects


def test_subject_identification_is_perfect_for_distinct_fingerprints_and_chance_for_noise():
    F, subjects = fingerprints()
    excluded = np.eye(len(F), dtype=bool)
    assert subject_identification(F, subjects, excluded) == 1.0
    noise = np.random.default_rng(1).standard_normal(F.shape)
    assert subject_identification(noise, subjects, excluded) < 0.5


def test_subject_identification_ignores_windows_that_share_volumes():
    # each subject: windows 0 and 1 overlap (same run, starts 0 and 35, length 70) and are
    # identical; window 2 (start 140) is unrelated noise -> with overlaps excluded no window
    # can be matched by shared data alone
    rng = np.random.default_rng(2)
    F, subjects, runs, starts = [], [], [], []
    for s in range(5):
        a = rng.standard_normal(30)
        F += [a, a, rng.standard_normal(30)]
        subjects += [f"s{s}"] * 3
        runs += ["r"] * 3
        starts += [0, 35, 140]
    F = np.array(F)
    mask = overlap_mask(subjects, runs, starts, 70)
    assert mask[0, 1] and not mask[0, 2] and not mask[0, 3]
    np.fill_diagonal(mask, True)
    naive = subject_identification(F, np.array(subjects), np.eye(15, dtype=bool))
    fair = subject_identification(F, np.array(subjects), mask)
    assert naive > 0.6 and fair < 0.4


def test_label_classification_finds_a_real_group_effect_and_not_a_random_one():
    rng = np.random.default_rng(3)
    n_sub, per = 20, 3
    subjects = np.repeat([f"s{i}" for i in range(n_sub)], per)
    group = np.repeat(np.arange(n_sub) % 2, per)
    F = rng.standard_normal((n_sub * per, 30)) + 2.5 * group[:, None] * (np.arange(30) < 5)
    labels = np.where(group == 1, "patient", "control")
    assert label_classification(F, subjects, labels) > 0.9
    shuffled = np.repeat(rng.permutation(np.where(np.arange(n_sub) % 2 == 1, "a", "b")), per)
    assert label_classification(F, subjects, shuffled) < 0.75


def test_label_classification_never_splits_a_subject_between_train_and_test():
    # each subject's windows are identical and carry a subject-specific random label: a
    # classifier that saw the subject would be perfect; with grouped folds it is at chance
    rng = np.random.default_rng(4)
    n_sub, per = 30, 4
    proto = rng.standard_normal((n_sub, 50))
    F = np.repeat(proto, per, axis=0)
    subjects = np.repeat([f"s{i}" for i in range(n_sub)], per)
    labels = np.repeat(np.where(rng.permutation(n_sub) < n_sub // 2, "a", "b"), per)
    assert label_classification(F, subjects, labels) < 0.75


def test_label_classification_needs_two_subjects_per_label():
    F, subjects = fingerprints(n_subjects=3)
    labels = np.repeat(["a", "b", "b"], 4)
    assert np.isnan(label_classification(F, subjects, labels))


def test_structure_function_coupling_is_one_when_fc_is_a_monotone_function_of_structure():
    rng = np.random.default_rng(5)
    sc = rng.uniform(0, 1, (2, 8, 8))
    sc = sc + sc.transpose(0, 2, 1)
    fc = -np.log(sc)  # monotone decreasing, negative values: |FC| is used
    out = coupling_per_sample(-fc * 0 + np.log1p(sc), sc)
    np.testing.assert_allclose(out, 1.0)
    assert np.isnan(coupling_per_sample(fc, np.full_like(sc, np.nan))).all()


def test_edge_vectors_use_upper_triangle_or_all_off_diagonal_entries():
    fc = np.arange(9.0).reshape(1, 3, 3)
    np.testing.assert_array_equal(edge_vectors(fc, directed=False), [[1, 2, 5]])
    np.testing.assert_array_equal(edge_vectors(fc, directed=True), [[1, 2, 3, 5, 6, 7]])


def test_ndcg_is_one_for_the_same_ranking_and_matches_sklearn():
    from sklearn.metrics import ndcg_score

    truth = np.array([0.9, 0.5, 0.7, 0.1, 0.3])
    assert ndcg_at_k(truth, truth, 3) == pytest.approx(1.0)
    assert ndcg_at_k(truth, 2 * truth + 1, 3) == pytest.approx(1.0)
    worst = ndcg_at_k(truth, -truth, 3)
    assert worst < 0.5
    pred = np.array([0.8, 0.9, 0.1, 0.2, 0.3])
    rel = (truth - truth.min()) / np.ptp(truth)
    assert ndcg_at_k(truth, pred, 3) == pytest.approx(ndcg_score(rel[None], pred[None], k=3))


def test_ndcg_ranks_missing_core_set_scores_last():
    truth = np.array([0.9, 0.5, 0.1])
    # relevance (min-max scaled) = [1, 0.5, 0]; the NaN operator drops to last -> top-1 is rel 0.5
    assert ndcg_at_k(truth, [np.nan, 0.5, 0.1], 1) == pytest.approx(0.5)


def test_kendall_tau_known_values():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert kendall_tau(a, a) == pytest.approx(1.0)
    assert kendall_tau(a, -a) == pytest.approx(-1.0)
    assert np.isnan(kendall_tau(a, np.ones(4)))


def test_rank_descending_puts_best_first_ties_averaged_nan_last():
    np.testing.assert_array_equal(rank_descending([0.2, 0.9, 0.9, np.nan]), [3, 1.5, 1.5, 4])


def test_task_data_scores_a_good_operator_above_a_noise_operator():
    F, subjects = fingerprints(n_subjects=5, per_subject=4, n_edges=45)  # 10 regions
    i, j = np.triu_indices(10, 1)
    good = np.zeros((len(F), 10, 10))
    good[:, i, j] = F
    good = good + good.transpose(0, 2, 1)
    noise = np.random.default_rng(6).standard_normal(good.shape)
    noise = noise + noise.transpose(0, 2, 1)
    sc = np.abs(good).mean(0, keepdims=True).repeat(len(F), 0)
    td = TaskData(
        np.stack([good, noise]),
        [False, False],
        subjects,
        ["r"] * len(F),
        np.arange(len(F)) * 100,
        70,
        labels=np.array([""] * len(F)),
        structural=sc,
    )
    assert td.tasks == ["subject_id", "sfc"]
    assert any("label task skipped" in n for n in td.notes)
    scores = td.scores()
    assert (scores[0] > scores[1]).all()
    sub = td.scores(np.arange(0, len(F), 2))
    assert sub.shape == (2, 2) and sub[0, 0] > sub[1, 0]
