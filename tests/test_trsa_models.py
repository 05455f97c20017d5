"""Model RDMs, rsatoolbox model comparison per statistic, and crossnobis RDM estimation."""

import numpy as np
import pandas as pd
import pytest
from rsatoolbox.inference import eval_fixed
from rsatoolbox.model import ModelFixed
from rsatoolbox.rdm import RDMs
from scipy.spatial.distance import pdist, squareform

from neuroflow.rsa import models
from neuroflow.rsa.rdm import block_events, crossnobis_rdm, runwise_glm
from neuroflow.rsa.transforms import Statistic

CONDS = ["a", "b", "c", "d"]


def test_category_model_known_answer():
    rdm = squareform(models.category_model(CONDS, [["a", "b"]]))
    # a-b together; c and d (in no group) form the rest group
    np.testing.assert_array_equal(rdm, [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]])
    with pytest.raises(ValueError, match="unknown condition 'z'"):
        models.category_model(CONDS, [["a", "z"]])
    with pytest.raises(ValueError, match="'a' is in two groups"):
        models.category_model(CONDS, [["a"], ["a", "b"]])


def test_ring_model_wraps_around_and_line_does_not():
    angles = np.radians([0, 90, 180, 270, 350])
    ring, line = squareform(models.ring_model(angles)), squareform(models.line_model(angles))
    assert ring[0, 4] == pytest.approx(np.radians(10)) and line[0, 4] == pytest.approx(np.radians(350))
    assert ring[0, 2] == pytest.approx(np.pi)


def test_compare_models_ranks_the_generating_model_first_and_matches_eval_fixed():
    rng = np.random.default_rng(0)
    conds = [f"c{i}" for i in range(12)]
    true = pdist(rng.normal(size=(12, 3)))
    other = pdist(rng.normal(size=(12, 3)))
    data = true + rng.normal(0, 0.1 * true.std(), true.shape)
    stats = [Statistic("rdm"), Statistic("rgtm", 0.1, 0.9)]
    table = models.compare_models(
        data, {"true": true, "other": other}, conds, stats, n_boot=50, random_state=1
    )
    assert list(table[table["rank"] == 1]["model"]) == ["true", "true"]
    row = table[(table["statistic"] == "rdm") & (table["model"] == "true")].iloc[0]
    desc = {"conds": np.array(conds)}
    expected = eval_fixed(
        ModelFixed("true", RDMs(true[None], pattern_descriptors=desc)),
        RDMs(data[None], pattern_descriptors=desc),
        method="corr",
    )
    assert row["evaluation"] == pytest.approx(float(expected.get_means()[0]))
    assert row["ci_low"] <= row["evaluation"] <= row["ci_high"] and row["p_zero"] < 0.01
    assert table["p_vs_best"].isna().sum() == 2


def test_compare_models_is_seeded_and_leaves_numpy_global_state_alone():
    rng = np.random.default_rng(2)
    data, model = pdist(rng.normal(size=(8, 2))), pdist(rng.normal(size=(8, 2)))
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    kw = dict(statistics=[Statistic("rdm")], n_boot=20, random_state=5)
    one = models.compare_models(data, {"m": model}, list("abcdefgh"), **kw)
    two = models.compare_models(data, {"m": model}, list("abcdefgh"), **kw)
    pd.testing.assert_frame_equal(one, two)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_a_model_constant_under_a_statistic_is_reported_not_evaluated():
    data = pdist(np.random.default_rng(3).normal(size=(6, 2)))
    binary = models.category_model(list("abcdef"), [["a", "b", "c"]])
    table = models.compare_models(
        data, {"cat": binary}, list("abcdef"), [Statistic("rdm"), Statistic("rgdm", 0.1, 0.9)], n_boot=20
    )
    rgdm = table[table["kind"] == "rgdm"].iloc[0]
    assert np.isnan(rgdm["evaluation"]) and "constant" in rgdm["note"]
    assert np.isfinite(table[table["kind"] == "rdm"]["evaluation"]).all()


def test_block_events_known_answer():
    labels = ["rest", "face", "face", "rest", "house", "house", "house", "rest"]
    ev = block_events(labels, tr=2.0)
    assert ev.to_dict("list") == {
        "onset": [2.0, 8.0],
        "duration": [4.0, 6.0],
        "trial_type": ["face", "house"],
    }


def simulated_runs(n_runs=6, n_vox=40, noise=1.0, seed=0):
    """Block-design BOLD with known condition patterns (percent signal change)."""
    from nilearn.glm.first_level import make_first_level_design_matrix

    rng = np.random.default_rng(seed)
    conds = ["a", "b", "c"]
    patterns = {"a": rng.normal(0, 1, n_vox), "b": rng.normal(0, 1, n_vox)}
    patterns["c"] = patterns["a"].copy()  # c identical to a
    block = ["rest"] * 4 + sum([[c] * 6 + ["rest"] * 4 for c in conds], [])
    labels, runs, series = [], [], []
    for r in range(n_runs):
        lab = np.array(block)
        ev = block_events(lab, 2.0)
        x = make_first_level_design_matrix(np.arange(len(lab)) * 2.0, ev, hrf_model="spm", drift_model=None)
        y = sum(np.outer(x[c], patterns[c]) for c in conds)
        series.append(1000 * (1 + 0.01 * (y + rng.normal(0, noise, y.shape))))
        labels += list(lab)
        runs += [r] * len(lab)
    return np.vstack(series), np.array(labels), np.array(runs), conds, patterns


def test_runwise_glm_recovers_condition_patterns():
    ts, labels, runs, conds, patterns = simulated_runs(noise=0.05)
    betas, residuals, dof, run_ids = runwise_glm(ts, labels, runs, 2.0, conds)
    assert betas.shape == (6, 3, 40) and len(residuals) == 6 and dof > 0
    for k, c in enumerate(conds):
        assert np.corrcoef(betas[:, k].mean(0), patterns[c])[0, 1] > 0.99


def test_crossnobis_is_unbiased_for_identical_patterns_and_recovers_distances():
    ts, labels, runs, conds, patterns = simulated_runs(noise=1.0, seed=1)
    betas, residuals, dof, run_ids = runwise_glm(ts, labels, runs, 2.0, conds)
    rdm = crossnobis_rdm(betas, conds, run_ids, residuals, dof)
    assert list(rdm.pattern_descriptors["conds"]) == conds
    ab, ac, bc = rdm.get_vectors()[0]
    # a and c share one pattern: crossvalidated distance near 0 (unbiased), far below a-b
    assert abs(ac) < 0.2 * ab and bc == pytest.approx(ab, rel=0.35)


def test_glm_rejects_a_run_without_a_condition():
    ts, labels, runs, conds, _ = simulated_runs(n_runs=2)
    labels = labels.copy()
    labels[(runs == 1) & (labels == "b")] = "rest"
    with pytest.raises(ValueError, match=r"run 1: condition\(s\) \['b'\] never occur"):
        runwise_glm(ts, labels, runs, 2.0, conds)
