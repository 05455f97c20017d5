"""The held-out core-set protocol, ranking metrics with nulls, and the claim statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import kendalltau
from sklearn.metrics import ndcg_score

from neuroflow.fc.claims import ClaimSettings, claim_table, contrast, minimum_detectable_difference
from neuroflow.fc.coreset import draw_corrected_sps
from neuroflow.fc.evaluate import check_heldout
from neuroflow.fc.protocol import (
    fit_operator,
    heldout_predictions,
    heldout_scores,
    heldout_split,
    subject_embedding,
)
from neuroflow.fc.ranking import (
    duplicate_groups,
    kendall_tau,
    ndcg_binary,
    ndcg_linear,
    permutation_null,
    topk_overlap,
)

SPLIT = {"protocol": "heldout", "heldout": {"fraction": 0.3, "seed": 4}}


def cohort(n_subjects=20, per=4):
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], per)
    labels = np.repeat(np.where(np.arange(n_subjects) % 2 == 0, "a", "b"), per)
    return subjects, labels


# ------------------------------------------------------------------ held-out split


def test_heldout_split_is_subject_disjoint_seeded_and_label_stratified():
    subjects, labels = cohort()
    held = heldout_split(subjects, labels, 0.3, seed=1)
    assert not set(subjects[held]) & set(subjects[~held])
    assert np.array_equal(held, heldout_split(subjects, labels, 0.3, seed=1))
    assert not np.array_equal(held, heldout_split(subjects, labels, 0.3, seed=2))
    per_label = pd.Series(labels[held]).groupby(labels[held]).size() // 4
    assert per_label.to_dict() == {"a": 3, "b": 3}  # round(0.3 x 10) per label
    with pytest.raises(ValueError, match="fc.protocol"):
        heldout_split(subjects[:12], labels[:12], 0.3, 0)  # 3 subjects


def write_samples(path, subjects, labels, n_regions=5, n_time=30, seed=0):
    rng = np.random.default_rng(seed)
    uniq = np.unique(subjects)
    lab = {s: labels[subjects == s][0] for s in uniq}
    ds = xr.Dataset(
        {
            "timeseries": (
                ("sample", "region", "time"),
                rng.standard_normal((subjects.size, n_regions, n_time)),
            ),
            "sample_subject": (("sample",), subjects),
            "label": (("subject",), [lab[s] for s in uniq]),
        },
        coords={"sample": [f"w{i}" for i in range(subjects.size)], "subject": uniq},
        attrs={"simulated": np.int8(0)},
    )
    ds.to_netcdf(path, engine="h5netcdf")  # an input file, not a neuroflow output
    return ds


def write_sps(path, n, seed=0):
    rng = np.random.default_rng(seed)
    app = rng.integers(2, 9, (2, n))
    xr.Dataset(
        {
            "sps": (("train_seed", "sample"), rng.gamma(2.0, 1.0, (2, n))),
            "appearances": (("train_seed", "sample"), app),
        }
    ).to_netcdf(path, engine="h5netcdf")


def test_no_heldout_subjects_window_ever_enters_a_core_set(tmp_path):
    from neuroflow.fc.pipeline import run_select

    subjects, labels = cohort()
    write_samples(tmp_path / "s.nc", subjects, labels)
    write_sps(tmp_path / "sps.nc", subjects.size)
    run_select(
        tmp_path / "s.nc",
        tmp_path / "sps.nc",
        selectors=["random", "kcenter", "herding", "el2n", "sps_topk", "sclcs", "sclcs_drawcorr"],
        fractions=[0.5, 1.0],
        seeds=4,
        el2n={"epochs": 2, "repeats": 1},
        sclcs={"beta": 0.0, "bandwidth_adjust": 1.0},
        split=SPLIT,
        out_nc=tmp_path / "sel.nc",
        out_tsv=tmp_path / "sel.tsv",
    )
    with xr.open_dataset(tmp_path / "sel.nc", engine="h5netcdf") as sel:
        sel = sel.load()
    held = heldout_split(subjects, labels, 0.3, 4)
    assert np.array_equal(sel["heldout"].values.astype(bool), held)
    chosen = sel["selected"].values.astype(bool)
    held_subjects = set(subjects[held])
    for picked in chosen.reshape(-1, subjects.size):
        assert not held_subjects & set(subjects[picked])
    # fraction 1.0 of the pool = every pool window, and not one more
    assert chosen[:, 1].sum(axis=-1).max() == (~held).sum()
    check_heldout(sel, held, "sel.nc")
    sel["selected"][0, 0, 0, np.flatnonzero(held)[0]] = 1
    with pytest.raises(ValueError, match="held-out window"):
        check_heldout(sel, held, "sel.nc")


# ------------------------------------------------------------------ held-out scoring


def operator_features(subjects, signal, seed):
    """Edge vectors: subject fingerprints in a 4-dim subspace (x signal) + noise."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((4, 40))
    uniq, inv = np.unique(subjects, return_inverse=True)
    codes = rng.standard_normal((uniq.size, 4))
    return signal * codes[inv] @ basis + rng.standard_normal((subjects.size, 40))


def test_models_trained_on_other_subjects_identify_new_subjects_only_from_real_fingerprints():
    subjects, labels = cohort(30, 4)
    held = heldout_split(subjects, labels, 0.3, 0)
    excluded = np.eye(held.sum(), dtype=bool)
    scores = {}
    for name, signal in (("fingerprint", 3.0), ("noise", 0.0)):
        F = operator_features(subjects, signal, seed=5)
        models = fit_operator(F[~held], subjects[~held], labels[~held], ["subject_id", "label"])
        pred = heldout_predictions(models, F[held])
        scores[name] = heldout_scores(pred, subjects[held], labels[held], excluded, ["subject_id", "label"])
    assert scores["fingerprint"][0] > 0.9
    assert scores["noise"][0] < 0.4  # chance: 3 of 35 other windows
    assert 0.2 < scores["noise"][1] < 0.8  # no label signal


def test_subject_embedding_equals_sklearn_lda_directions_when_well_posed():
    from sklearn.covariance import ledoit_wolf_shrinkage
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    subjects, _ = cohort(6, 40)
    F = operator_features(subjects, 2.0, seed=2)[:, :10]
    Z = (F - F.mean(0)) / F.std(0)
    V = subject_embedding(Z, subjects)
    R = Z - pd.DataFrame(Z).groupby(subjects).transform("mean").to_numpy()
    lam = ledoit_wolf_shrinkage(R, assume_centered=True)
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=lam).fit(Z, subjects)
    ours, ref = Z @ V, lda.transform(Z)[:, : V.shape[1]]
    # same discriminant directions (up to sign and scale; sklearn's S_w weights classes by prior)
    corr = [abs(np.corrcoef(ours[:, c], ref[:, c])[0, 1]) for c in range(2)]
    assert min(corr) > 0.99


# ------------------------------------------------------------------ metrics and nulls


def test_ranking_metrics_equal_sklearn_and_scipy_on_known_rankings():
    truth = np.array([0.9, 0.8, 0.75, 0.5, 0.4, 0.3, 0.2, 0.1])
    pred = np.array([0.7, 0.9, 0.1, 0.6, 0.5, 0.2, 0.3, 0.0])
    rel = (truth - truth.min()) / np.ptp(truth)
    assert ndcg_linear(truth, pred, 3) == pytest.approx(ndcg_score(rel[None], pred[None], k=3))
    binary = np.array([1, 1, 1, 0, 0, 0, 0, 0.0])
    assert ndcg_binary(truth, pred, 3) == pytest.approx(ndcg_score(binary[None], pred[None], k=3))
    assert ndcg_binary(truth, truth, 3) == 1.0
    assert kendall_tau(truth, pred) == pytest.approx(kendalltau(truth, pred).statistic)
    assert topk_overlap(truth, pred, 3) == pytest.approx(2 / 3)  # {0, 1, 2} vs {1, 0, 3}
    assert topk_overlap(truth, truth[::-1], 3) == 0.0
    assert np.isnan(ndcg_binary(np.ones(8), pred, 3))  # no ranking to agree with


def test_permutation_null_of_a_random_ranking_matches_its_expectation():
    n, k, perms = 40, 10, 4000
    truth = np.random.default_rng(0).standard_normal(n)
    null = permutation_null(truth, k, perms, seed=1)
    few = permutation_null(truth, k, 5, seed=1)  # the batch path = the reference metrics
    rng = np.random.default_rng(1)
    for row in range(5):
        pred = rng.permutation(n).astype(float)
        ref = {
            "ndcg_linear": ndcg_linear(truth, pred, k),
            "ndcg_binary": ndcg_binary(truth, pred, k),
            "topk_overlap": topk_overlap(truth, pred, k),
            "kendall_tau": kendall_tau(truth, pred),
        }
        for m, v in ref.items():
            assert few[m][row] == pytest.approx(v, abs=1e-12), m
    se = lambda sd: 4 * sd / np.sqrt(perms)  # noqa: E731
    tau_sd = np.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))
    assert abs(null["kendall_tau"].mean()) < se(tau_sd)
    assert null["kendall_tau"].std() == pytest.approx(tau_sd, rel=0.05)
    # binary relevance: each of the k ranked places is relevant with probability k / n
    assert null["ndcg_binary"].mean() == pytest.approx(k / n, abs=se(null["ndcg_binary"].std()))
    assert null["topk_overlap"].mean() == pytest.approx(k / n, abs=se(null["topk_overlap"].std()))
    assert null["ndcg_linear"].mean() > null["ndcg_binary"].mean()  # linear leaves less room


def test_duplicate_operators_are_merged_into_the_first_and_chance_ties_are_not():
    rng = np.random.default_rng(0)
    S = rng.random((4, 30))
    S[2] = S[0]
    S[3] = S[0]
    assert duplicate_groups(S, ["a", "b", "c", "d"]) == {"a": ["c", "d"]}
    assert duplicate_groups(S[:, :5], ["a", "b", "c", "d"]) == {}  # too few values to tell


def test_draw_corrected_sps_removes_the_draw_frequency_effect():
    appearances = np.array([10, 10, 40, 40, 80, 0])
    gap = 400 / np.maximum(appearances, 1)
    sps = np.where(appearances > 0, 0.01 * gap, np.inf)  # change grows with the gap only
    corrected = draw_corrected_sps(sps, appearances)
    assert np.ptp(corrected[:5]) == pytest.approx(0.0) and np.isinf(corrected[5])
    assert np.ptp(sps[:5]) > 0


# ------------------------------------------------------------------ claim statistics


def test_minimum_detectable_difference_at_30_seeds_is_about_two_thirds_of_an_sd():
    mdd = minimum_detectable_difference(1.0, 1.0, 30, 30, alpha=0.05, power=0.8)
    assert 0.63 < mdd < 0.67  # normal approximation (1.645 + 0.842) sqrt(2 / 30) = 0.642
    assert minimum_detectable_difference(1.0, 1.0, 10, 10, 0.05, 0.8) > 1.1


def test_contrast_interval_covers_the_true_difference_and_p_follows_it():
    rng = np.random.default_rng(3)
    a, b = 0.5 + 0.1 * rng.standard_normal(30), 0.3 + 0.1 * rng.standard_normal(30)
    c = contrast(a, b, 2000, 0, 0.05, 0.8)
    assert c["ci_low"] < 0.2 < c["ci_high"] and c["ci_low"] > 0 and c["p_one_sided"] < 1e-6
    assert contrast(b, a, 2000, 0, 0.05, 0.8)["ci_high"] < 0
    assert contrast(np.full(5, 0.7), np.full(5, 0.6), 200, 0, 0.05, 0.8)["degenerate"]


def test_claim_table_compares_with_random_and_the_best_baseline_and_flags_saturation():
    rng = np.random.default_rng(0)
    rows = []
    for sel, mu in (("random", 0.5), ("kcenter", 0.6), ("herding", 0.4), ("sclcs", 0.7)):
        for seed in range(30):
            for task, shift in (("subject_id", 0.0), ("label", 0.45)):
                v = min(mu + shift + 0.02 * rng.standard_normal(), 1.0)
                rows.append({"selector": sel, "fraction": 0.1, "seed": seed, "task": task, "ndcg_binary": v})
    agree = pd.DataFrame(rows)
    null = rng.random(200) * 0.4
    s = ClaimSettings(10, 0.1, 200, 5, 500, 0.05, 0.8, 0.02, 0.05, 0)
    claim = claim_table(
        agree,
        {("subject_id", "ndcg_binary"): null, ("label", "ndcg_binary"): null},
        {("subject_id", "ndcg_binary"): 0.9, ("label", "ndcg_binary"): 0.96},
        s,
        kth_best={"subject_id": 0.8, "label": 0.99},
    )
    sid = claim[claim.task == "subject_id"].set_index("reference")
    assert set(sid.index) == {"random", "kcenter"}  # the best baseline by mean
    assert (sid.verdict == "better").all() and sid.counted.all()
    assert sid.loc["random", "difference"] == pytest.approx(0.2, abs=0.02)
    lab = claim[claim.task == "label"]
    assert lab.saturated.all() and not lab.counted.any()  # the 10th best scores 0.99
    near = claim_table(
        agree, {("subject_id", "ndcg_binary"): null}, {("subject_id", "ndcg_binary"): 0.22}, s
    )  # null mean ~0.2
    assert near.near_noise.all() and (near.verdict == "not counted: near noise").all()


def test_seeds_sharing_one_sclcs_training_count_as_one_unit():
    from neuroflow.fc.claims import unit_values

    part = pd.DataFrame(
        {
            "selector": ["sps_topk"] * 30 + ["random"] * 30,
            "unit": [f"training{s % 3}" for s in range(30)] + [f"seed{s}" for s in range(30)],
            "ndcg_binary": [0.1 * (s % 3) for s in range(30)] + list(np.linspace(0, 1, 30)),
        }
    )
    vals, n = unit_values(part, "sps_topk", "ndcg_binary")
    assert n == 30 and np.allclose(sorted(vals), [0.0, 0.1, 0.2])
    assert unit_values(part, "random", "ndcg_binary")[0].size == 30


def test_the_protocol_check_names_the_key_for_a_cohort_too_small_to_split():
    from neuroflow.fc.workflow import check_protocol_subjects

    config = {"fc": {"protocol": "heldout", "benchmarks": {"b": {"source": "eeg"}}}}
    with pytest.raises(ValueError, match=r"config key fc.protocol.*fc.benchmarks.b.*has 3"):
        check_protocol_subjects(config, "b", ["01", "02", "03", "03"])
    check_protocol_subjects(config, "b", ["01", "02", "03", "04"])  # 4 subjects split
    config["fc"]["protocol"] = "insample"
    check_protocol_subjects(config, "b", ["01"])  # in-sample: any size
