"""Structure-function statistics (known answers, reference libraries, the published direction)
and per-recording functional connectivity."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from neuroflow.activity.structure import (
    anatomy_layers,
    auroc_bootstrap,
    fc_vs_anatomy,
    functional_connectivity,
    hop_distance,
    spearman_bootstrap,
    structure_function,
)
from neuroflow.homogenize.connectome import homogenize_source
from neuroflow.homogenize.consensus import build_consensus
from neuroflow.io.celegans_labels import LabelMap

REPO = Path(__file__).resolve().parents[1]


def resample_indices(cluster, mult_row):
    return np.concatenate(
        [np.flatnonzero(cluster == c) for c in range(mult_row.size) for _ in range(mult_row[c])]
    )


# ------------------------------------------------------------------ statistics
@pytest.mark.parametrize("kind", ["binary", "tied", "continuous"])
def test_auroc_and_its_resamples_equal_scikit_learn(kind):
    rng = np.random.default_rng(0)
    n, k = 600, 30
    y = rng.random(n) < 0.2
    score = {
        "binary": (rng.random(n) < 0.3 + 0.3 * y).astype(float),
        "tied": rng.integers(0, 4, n) + y,
        "continuous": rng.normal(size=n) + y,
    }[kind].astype(float)
    cluster = rng.integers(0, k, n)
    mult = rng.multinomial(k, np.full(k, 1 / k), size=5)
    value, boot = auroc_bootstrap(score, y, cluster, mult)
    assert value == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    for b in range(5):
        idx = resample_indices(cluster, mult[b])
        assert boot[b] == pytest.approx(roc_auc_score(y[idx], score[idx]), abs=1e-12)


def test_spearman_resamples_equal_scipy_on_the_explicit_resample():
    rng = np.random.default_rng(1)
    n, k = 500, 25
    x = rng.integers(0, 6, n) * (rng.random(n) < 0.4)  # many ties, like synapse counts
    y = rng.random(n) + 0.05 * x
    cluster = rng.integers(0, k, n)
    mult = rng.multinomial(k, np.full(k, 1 / k), size=4)
    rho, boot = spearman_bootstrap(x, y, cluster, mult, chunk=3)
    assert rho == pytest.approx(spearmanr(x, y).statistic)
    for b in range(4):
        idx = resample_indices(cluster, mult[b])
        assert boot[b] == pytest.approx(spearmanr(x[idx], y[idx]).statistic, abs=1e-9)


def test_hop_distance_follows_direction_and_gap_junctions():
    chem = np.zeros((4, 4), bool)
    chem[0, 1] = chem[1, 2] = True  # 0 -> 1 -> 2
    gap = np.zeros((4, 4), bool)
    gap[3, 2] = True  # 2 -- 3 (both ways)
    h = hop_distance(chem, gap)
    assert (h[0, 1], h[0, 2], h[0, 3], h[3, 2]) == (1, 2, 3, 1)
    assert np.isinf(h[2, 0])


# -------------------------------------------------------- simulated ground truth
NEURONS = [f"N{i:02d}" for i in range(40)]


def synthetic(seed=0, p_edge=0.08, propagate=True):
    """A random connectome and an atlas whose significant responses follow it (or not)."""
    rng = np.random.default_rng(seed)
    lm = LabelMap(blocks={"neuron": NEURONS, "muscle": [], "other": []})
    chem = rng.random((40, 40)) < p_edge
    np.fill_diagonal(chem, False)
    pre, post = np.nonzero(chem)
    edges = pd.DataFrame(
        {
            "pre": [NEURONS[i] for i in pre],
            "post": [NEURONS[j] for j in post],
            "synapse_type": "chemical",
            "weight": rng.integers(1, 20, pre.size),
        }
    )
    conn = homogenize_source(edges, lm, "sim")
    sig = chem if propagate else rng.random((40, 40)) < p_edge
    q = np.where(sig, 0.001, 0.5)
    amp = np.where(sig, 0.3, 0.0) + 0.01 * rng.standard_normal((40, 40))
    tested = ~np.eye(40, dtype=bool)
    dims = ("strain", "pre", "post")
    atlas = xr.Dataset(
        {
            "amplitude": (dims, amp[None]),
            "q": (dims, q[None]),
            "q_eq": (dims, np.where(sig, 0.9, 0.01)[None]),
            "tested": (dims, tested[None]),
        },
        coords={"strain": ["wt"], "pre": NEURONS, "post": NEURONS},
    )
    return atlas, conn


def test_anatomy_that_causes_propagation_gives_auroc_one():
    atlas, conn = synthetic(propagate=True)
    stats, hops = structure_function(atlas, {"sim": conn}, n_bootstrap=200)
    row = stats.query("statistic == 'auroc' and predictor == 'synapse'").iloc[0]
    assert row["value"] == pytest.approx(1.0) and row["ci_low"] == pytest.approx(1.0)
    assert row["precision"] == 1.0 and row["recall"] == 1.0
    assert hops.query("hops == '1'")["fraction_significant"].iloc[0] == 1.0
    assert hops.query("hops == '2'")["fraction_significant"].iloc[0] == 0.0


def test_unrelated_anatomy_gives_chance_auroc_within_its_interval():
    atlas, conn = synthetic(seed=3, propagate=False)
    stats, _ = structure_function(atlas, {"sim": conn}, n_bootstrap=300, random_state=1)
    row = stats.query("statistic == 'auroc' and predictor == 'synapse'").iloc[0]
    assert row["ci_low"] < 0.5 < row["ci_high"]
    assert abs(row["value"] - 0.5) < 0.08


def test_bootstrap_is_seeded_and_shared_across_connectomes():
    atlas, conn = synthetic()
    a, _ = structure_function(atlas, {"x": conn, "y": conn}, n_bootstrap=100, random_state=5)
    b, _ = structure_function(atlas, {"x": conn}, n_bootstrap=100, random_state=5)
    pd.testing.assert_frame_equal(a[a.connectome == "x"].reset_index(drop=True), b)
    cols = ["value", "ci_low", "ci_high"]
    np.testing.assert_array_equal(a[a.connectome == "x"][cols].values, a[a.connectome == "y"][cols].values)


def test_unobserved_neurons_are_left_out_of_the_evaluation():
    atlas, conn = synthetic()
    conn = conn.copy()
    conn["observed"] = conn["observed"] & (np.arange(40) < 20)
    stats, _ = structure_function(atlas, {"sim": conn}, n_bootstrap=0)
    assert stats["n_pairs"].iloc[0] == 20 * 19


# ------------------------------------------------------------ the published direction
@pytest.fixture(scope="module")
def real_inputs(cect_data):
    from neuroflow.activity.funatlas import read_funatlas
    from neuroflow.io.celegans_labels import build_label_map, load_aliases, load_cell_table
    from neuroflow.io.connectomes import READERS
    from neuroflow.resources import fetch_dataset, load_manifest

    lm = build_label_map(
        load_cell_table(REPO / "resources/celegans/cells.tsv"),
        load_aliases(REPO / "resources/celegans/aliases.tsv"),
    )
    manifest = load_manifest(REPO / "resources/datasets.yaml")
    h5 = fetch_dataset(manifest, "randi_2023_funatlas", REPO / "resources/data")[0]
    white = homogenize_source(
        READERS["white_1986_whole"](cect_data / "aconnectome_white_1986_whole.csv"), lm, "white1986whole"
    )
    varshney = homogenize_source(
        READERS["varshney_2011"](cect_data / "NeuronConnect.xls"), lm, "varshney2011"
    )
    return read_funatlas(h5, lm), white, varshney


def test_anatomy_predicts_propagation_above_chance_but_imperfectly(real_inputs):
    """Randi et al. 2023: connectivity predicts signal propagation, imperfectly."""
    atlas, white, varshney = real_inputs
    cons = build_consensus([white, varshney])
    stats, hops = structure_function(atlas, {"white1986whole": white, "consensus": cons}, n_bootstrap=300)
    wt = stats[(stats.strain == "wt") & (stats.statistic == "auroc")].set_index(["connectome", "predictor"])
    for name in ("white1986whole", "consensus"):
        for pred in ("synapse", "hops"):
            row = wt.loc[(name, pred)]
            assert row["ci_low"] > 0.5 and row["ci_high"] < 0.75, (name, pred, row.to_dict())
        # monosynaptic partners respond more often than pairs 3 synapses apart
        h = hops[(hops.connectome == name) & (hops.strain == "wt")].set_index("hops")
        assert h.loc["1", "fraction_significant"] > 2 * h.loc["3", "fraction_significant"]
        assert h.loc["1", "ci_low"] > h.loc["3", "ci_high"]
    sp = stats[
        (stats.strain == "wt")
        & (stats.statistic == "spearman")
        & (stats.connectome == "white1986whole")
        & (stats.subset == "tested pairs")
    ]
    assert sp["ci_low"].iloc[0] > 0


def test_consensus_layers_use_support(real_inputs):
    _, white, _ = real_inputs
    half = white.copy(deep=True)  # a second "source" with half of White's edges
    keep = np.random.default_rng(0).random(half["weight"].shape) < 0.5
    half["weight"] = half["weight"].where(keep, 0.0)
    half.attrs["source_id"] = "half"
    cons = build_consensus([white, half])
    canon = [str(x) for x in white["pre"].values]
    strict = anatomy_layers(cons, canon, min_support=1.0)
    loose = anatomy_layers(cons, canon, min_support=0.5)
    assert strict["kind"] == "consensus"
    assert strict["chemical"].sum() < loose["chemical"].sum()
    assert (strict["chemical"] <= loose["chemical"]).all()


# --------------------------------------------------------------------- per-recording FC
def activity(n_time=300, n=5, seed=0):
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(n_time)
    x = rng.standard_normal((n_time, n)) + np.outer(common, np.linspace(0, 2, n))
    return xr.DataArray(
        x, dims=("time", "neuron"), coords={"neuron": ["AVAL", "AVAR", "RIML", "u1", "u2"][:n]}
    )


def test_correlation_fc_equals_numpy_and_skips_nan_pairwise():
    act = activity()
    fc = functional_connectivity(act, "correlation")
    np.testing.assert_allclose(fc.values, np.corrcoef(act.values.T), atol=1e-12)
    x = act.values.copy()
    x[:50, 0] = np.nan
    fc2 = functional_connectivity(act.copy(data=x), "correlation")
    assert fc2.values[0, 1] == pytest.approx(np.corrcoef(x[50:, 0], x[50:, 1])[0, 1])
    assert fc2.values[2, 3] == pytest.approx(fc.values[2, 3])


def test_partial_correlation_fc_equals_nilearn():
    from nilearn.connectome import ConnectivityMeasure

    act = activity()
    ours = functional_connectivity(act, "partial_correlation").values
    ref = ConnectivityMeasure(kind="partial correlation", standardize=False).fit_transform([act.values])[0]
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose(ours[off], ref[off], atol=1e-10)


def test_fc_vs_anatomy_uses_labelled_observed_pairs_only():
    act = activity()
    fc = functional_connectivity(act)
    canon = ["AVAL", "AVAR", "RIML"]
    strength = np.array([[0, 5, 0], [1, 0, 2], [0, 0, 0]], float)
    layers = {"strength": strength, "observed": np.ones((3, 3), bool)}
    out = fc_vs_anatomy(fc, layers, canon)
    assert out["n_labelled"] == 3 and out["n_pairs"] == 3
    sym = np.maximum(strength, strength.T)[np.triu_indices(3, 1)]
    ref = spearmanr(np.abs(fc.values[:3, :3][np.triu_indices(3, 1)]), sym).statistic
    assert out["spearman_rho"] == pytest.approx(ref)
    assert np.isnan(fc_vs_anatomy(fc.isel(neuron=[3, 4], neuron_j=[3, 4]), layers, canon)["spearman_rho"])
