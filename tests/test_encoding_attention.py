"""Attention-routing encoder (Adeli et al. 2025) on a seeded SIMULATED routing set.

Each fixed region reads one known token of the feature map; the moving region reads the
token of a marked object that changes with the stimulus. The learned attention must find
the fixed sources, follow the object, and beat ridge where the routing moves.
"""

import numpy as np
import pytest

from neuroflow.encoding.attention import (
    membership_matrix,
    predict_routing,
    simulate_routing,
    sine_position_encoding,
    train_routing_encoder,
)
from neuroflow.encoding.ridge import correlation, cross_validated_fit
from neuroflow.encoding.settings import NetworkSettings, TrainingSettings


def network(**kw):
    """Architecture of the tests (the paper's dropout, one layer, DETR temperature)."""
    return NetworkSettings(**{"dropout": 0.1, "n_layers": 1, "temperature": 10000.0, **kw})


def training(**kw):
    """Optimisation of the tests (AdamW weight decay, clipping, no LR step, 10 % validation)."""
    return TrainingSettings(
        **{"weight_decay": 1e-4, "grad_clip": 0.1, "lr_step": 100, "validation_fraction": 0.1, **kw}
    )


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """One BLAS thread: oversubscribed BLAS on a busy 2-core machine is ~100x slower."""
    import scipy.linalg  # noqa: F401  (threadpoolctl limits only libraries already loaded)
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def routed():
    import torch

    torch.set_num_threads(1)
    sim = simulate_routing(n_stimuli=300, n_channels=8, height=6, width=6, random_state=0)
    rng = np.random.default_rng(0)
    order = rng.permutation(300)
    test, train = np.sort(order[:60]), np.sort(order[60:])
    fit = train_routing_encoder(
        sim["features"],
        sim["responses"],
        sim["regions"],
        train,
        network=network(d_model=32, n_heads=4, dim_feedforward=64),
        training=training(epochs=30, batch_size=32, learning_rate=3e-3),
        device="cpu",
        random_state=0,
    )
    pred, att = predict_routing(fit, sim["features"][test])
    ridge = cross_validated_fit(
        sim["features"].reshape(300, -1),
        sim["responses"],
        np.arange(300),
        splits=[(train, test)],
        n_inner_folds=5,
        model="auto",
        alphas=np.logspace(-2, 6, 9),
    )
    return sim, fit, test, pred, att, ridge


def test_attention_peak_lands_on_each_fixed_source(routed):
    sim, fit, _, _, att, _ = routed
    for k, name in enumerate(fit["regions"]):
        source = sim["source"][name]
        if source is None:
            continue
        mean_map = att[:, k].mean(axis=0)
        assert np.unravel_index(mean_map.argmax(), mean_map.shape) == source, name
        assert mean_map.max() > 5 / mean_map.size  # well above a flat map


def test_moving_region_attention_follows_the_object(routed):
    sim, fit, test, _, att, _ = routed
    k = list(fit["regions"]).index("moving1")
    loc = sim["object_location"][0][test]
    peaks = att[:, k].reshape(len(test), -1).argmax(axis=1)
    assert np.mean(peaks == loc[:, 0] * 6 + loc[:, 1]) > 0.9


def test_attention_beats_ridge_where_routing_moves_with_the_stimulus(routed):
    sim, _, test, pred, _, ridge = routed
    moving = sim["regions"] == "moving1"
    r_att = correlation(sim["responses"][test], pred)
    r_ridge = ridge["r"][0]
    assert r_att[moving].mean() > 0.8
    assert r_att[moving].mean() > r_ridge[moving].mean() + 0.2
    fixed = ~moving  # both read fixed sources well
    assert r_att[fixed].mean() > 0.8 and r_ridge[fixed].mean() > 0.6


def test_training_is_deterministic_for_a_seed():
    sim = simulate_routing(n_stimuli=40, random_state=3)
    kw = dict(
        network=network(d_model=8, n_heads=2, dim_feedforward=8),
        training=training(epochs=2, batch_size=8, learning_rate=3e-3),
        device="cpu",
        random_state=5,
    )
    a = train_routing_encoder(sim["features"], sim["responses"], sim["regions"], np.arange(30), **kw)
    b = train_routing_encoder(sim["features"], sim["responses"], sim["regions"], np.arange(30), **kw)
    pa, wa = predict_routing(a, sim["features"][30:])
    pb, wb = predict_routing(b, sim["features"][30:])
    assert np.array_equal(pa, pb) and np.array_equal(wa, wb)
    assert np.allclose(wa.sum(axis=(2, 3)), 1, atol=1e-5)  # attention sums to 1 per query


def test_sine_position_encoding_matches_detr_layout():
    pos = sine_position_encoding(3, 4, 8).numpy()
    assert pos.shape == (12, 8)
    # first half encodes rows: tokens of one row share it; second half encodes columns
    assert np.allclose(pos[0, :4], pos[3, :4]) and not np.allclose(pos[0, :4], pos[4, :4])
    assert np.allclose(pos[0, 4:], pos[4, 4:]) and not np.allclose(pos[0, 4:], pos[1, 4:])
    y = 1 / (3 + 1e-6) * 2 * np.pi  # row 1, first frequency: sin(y)
    assert pos[0, 0] == pytest.approx(np.sin(y), abs=1e-6)
    with pytest.raises(ValueError, match="multiple of 4"):
        sine_position_encoding(3, 3, 6)


def test_membership_sums_overlapping_regions_per_target():
    m, names = membership_matrix(["b", "a", "b"])
    assert list(names) == ["a", "b"] and m.tolist() == [[0, 1, 0], [1, 0, 1]]


def test_simulation_rejects_a_source_outside_the_map():
    with pytest.raises(ValueError, match="outside"):
        simulate_routing(n_stimuli=10, height=4, width=4, fixed={"r": (5, 0)})
