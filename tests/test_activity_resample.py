"""Resampling, smoothing and normalization of activity traces against known signals."""

import numpy as np
import pytest

from neuroflow.activity.resample import (
    native_step,
    normalize_traces,
    rational_ratio,
    resample_traces,
    smooth_traces,
)

STEP = 0.333
NYQ = 0.5 / STEP  # new Nyquist frequency, Hz
EDGE = 30  # output samples ignored at each end (filter edge effects)


def sine(t, f, phase=0.7, amp=2.0):
    return amp * np.sin(2 * np.pi * f * t + phase)


@pytest.mark.parametrize("rate", [10.0, 30.0, 20.0, 4.0])
def test_resample_keeps_amplitude_and_phase_below_nyquist(rate):
    t = np.arange(int(300 * rate)) / rate
    f = 0.5 * NYQ
    y, tn, info = resample_traces(sine(t, f)[:, None], t, STEP)
    ref = sine(tn, f)
    np.testing.assert_allclose(y[EDGE:-EDGE, 0], ref[EDGE:-EDGE], atol=0.01 * 2.0)
    # amplitude and phase from a least-squares sinusoid fit
    X = np.column_stack([np.sin(2 * np.pi * f * tn), np.cos(2 * np.pi * f * tn)])[EDGE:-EDGE]
    a, b = np.linalg.lstsq(X, y[EDGE:-EDGE, 0], rcond=None)[0]
    assert np.hypot(a, b) == pytest.approx(2.0, rel=0.01)
    assert np.arctan2(b, a) == pytest.approx(0.7, abs=0.01)


@pytest.mark.parametrize("rate", [10.0, 30.0])
def test_resample_suppresses_sine_above_nyquist_where_picking_aliases(rate):
    t = np.arange(int(300 * rate)) / rate
    f = 1.5 * NYQ  # folds back to 0.5 x Nyquist when sampled naively
    x = sine(t, f)
    y, tn, _ = resample_traces(x[:, None], t, STEP)
    assert np.sqrt(np.mean(y[EDGE:-EDGE, 0] ** 2)) < 0.02 * 2.0
    picked = x[np.round(tn * rate).astype(int)]  # nearest-sample picking
    assert np.sqrt(np.mean(picked**2)) > 0.5 * 2.0


@pytest.mark.parametrize("rate, n", [(10.0, 2000), (30.0, 35743), (7.3, 1001), (3.0, 900)])
def test_sample_count_and_time_axis_are_exact(rate, n):
    t = 5.0 + np.arange(n) / rate  # recordings need not start at 0
    y, tn, info = resample_traces(np.ones((n, 2)), t, STEP)
    duration = (n - 1) / rate
    assert len(tn) == int(np.floor(duration / STEP + 1e-9)) + 1
    np.testing.assert_array_equal(tn, np.arange(len(tn)) * STEP)
    assert tn[-1] <= duration + 1e-9 and duration - tn[-1] < STEP
    assert y.shape == (len(tn), 2)
    np.testing.assert_allclose(y, 1.0, atol=2e-3)  # pass-band ripple of the FIR (0.1 %)
    assert info["n_native"] == n and info["n_out"] == len(tn)


def test_native_step_is_robust_to_rounded_timestamps():
    t = np.round(np.arange(35743) / 30.0, 6)  # as in the CNMF-E NWB files
    assert np.median(np.diff(t)) == pytest.approx(0.033333)
    assert native_step(t) == pytest.approx(1 / 30.0, rel=1e-7)
    assert rational_ratio(native_step(t), STEP) == (100, 999)


def test_jittered_timestamps_are_regridded_and_keep_the_signal():
    rng = np.random.default_rng(0)
    t = np.arange(3000) / 10.0 + rng.uniform(-0.02, 0.02, 3000)  # 20 % jitter
    f = 0.4 * NYQ
    y, tn, info = resample_traces(sine(t, f)[:, None], t - t[0] + t[0], STEP, interpolation="cubic")
    assert info["regridded"]
    ref = sine(tn + t[0], f)
    np.testing.assert_allclose(y[EDGE:-EDGE, 0], ref[EDGE:-EDGE], atol=0.02 * 2.0)


def test_upsampling_keeps_a_slow_sine():
    t = np.arange(600) * 1.0  # 1 Hz -> 3 Hz
    f = 0.2
    y, tn, info = resample_traces(sine(t, f)[:, None], t, STEP)
    assert info["up"] > info["down"]
    np.testing.assert_allclose(y[EDGE:-EDGE, 0], sine(tn, f)[EDGE:-EDGE], atol=0.03 * 2.0)


def test_short_nan_runs_are_bridged_and_long_ones_stay_nan():
    t = np.arange(3000) / 10.0
    x = sine(t, 0.1)
    x[500:505] = np.nan  # 0.5 s: bridged
    x[1500:1530] = np.nan  # 3 s: longer than max_gap_s = 1 s
    y, tn, info = resample_traces(x[:, None], t, STEP, max_gap_s=1.0)
    assert info["n_bridged_samples"] == 5
    nan_t = tn[np.isnan(y[:, 0])]
    assert nan_t.min() >= 150.0 - STEP - 1e-9 and nan_t.max() <= 153.0 + STEP + 1e-9
    assert np.all(np.isfinite(y[(tn < 149) | (tn > 154), 0]))
    assert info["longest_invalid_run_s"][0] == pytest.approx(3.0, abs=0.11)


def test_time_gap_longer_than_max_gap_gives_nan_only_around_the_gap():
    t = np.arange(3000) / 10.0
    keep = (t < 100) | (t >= 120)  # 20 s of missing frames
    x = sine(t, 0.1)[keep]
    y, tn, info = resample_traces(x[:, None], t[keep], STEP)
    assert info["n_time_gaps"] == 1 and info["regridded"]
    nan_t = tn[np.isnan(y[:, 0])]
    assert nan_t.min() > 99.5 and nan_t.max() < 120.5
    good = (tn < 99) | (tn > 121)
    np.testing.assert_allclose(y[good, 0][EDGE:-EDGE], sine(tn[good], 0.1)[EDGE:-EDGE], atol=0.05)


def test_leading_nan_is_not_extrapolated():
    t = np.arange(1000) / 10.0
    x = sine(t, 0.1)
    x[:3] = np.nan
    y, tn, _ = resample_traces(x[:, None], t, STEP)
    assert np.isnan(y[0, 0]) and np.isfinite(y[5:, 0]).all()


def test_bad_time_axis_is_rejected():
    with pytest.raises(ValueError, match="strictly increasing"):
        resample_traces(np.ones((3, 1)), np.array([0.0, 0.2, 0.1]), STEP)
    with pytest.raises(ValueError, match="do not match"):
        resample_traces(np.ones((4, 1)), np.arange(3.0), STEP)


# --------------------------------------------------------------------------- smoothing
def test_causal_moving_average_uses_only_present_and_past():
    x = np.zeros((20, 1))
    x[10] = 8.0
    y = smooth_traces(x, STEP, "moving", window_s=8 * STEP, causal=True)
    assert np.all(y[:10] == 0)  # nothing before the impulse
    np.testing.assert_allclose(y[10:18, 0], 1.0)  # 8-sample window
    assert np.all(y[18:] == 0)


def test_centred_gaussian_is_symmetric_and_preserves_mean():
    x = np.zeros((41, 1))
    x[20] = 1.0
    y = smooth_traces(x, 1.0, "gaussian", sigma_s=2.0, causal=False)
    np.testing.assert_allclose(y[:20, 0], y[21:, 0][::-1])
    assert y[:, 0].sum() == pytest.approx(1.0, rel=1e-6)


def test_exponential_smoothing_matches_its_recursion():
    x = np.random.default_rng(1).normal(size=(50, 1))
    y = smooth_traces(x, STEP, "exponential", alpha=0.3)
    ref = np.empty(50)
    ref[0] = x[0, 0]
    for i in range(1, 50):
        ref[i] = 0.3 * x[i, 0] + 0.7 * ref[i - 1]
    np.testing.assert_allclose(y[:, 0], ref, rtol=1e-10)


def test_smoothing_keeps_nan_positions_and_ignores_them():
    x = np.ones((30, 1))
    x[10:13] = np.nan
    y = smooth_traces(x, STEP, "moving", window_s=5 * STEP)
    assert np.isnan(y[10:13]).all()
    np.testing.assert_allclose(y[~np.isnan(x)], 1.0)


# ----------------------------------------------------------------------- normalization
def test_zscore_matches_scikit_learn_standard_scaler():
    from sklearn.preprocessing import StandardScaler

    x = np.random.default_rng(2).normal(3, 2, size=(200, 4))
    x[:, 3] = 5.0  # constant: zeros, as StandardScaler
    z, bad = normalize_traces(x, "zscore")
    np.testing.assert_allclose(z, StandardScaler().fit_transform(x), atol=1e-12)
    assert not bad.any()


def test_dff_uses_the_baseline_percentile():
    x = np.tile(np.r_[np.full(90, 100.0), np.full(10, 150.0)], (2, 1)).T
    d, bad = normalize_traces(x, "dff", baseline_percentile=8.0)
    np.testing.assert_allclose(d[:90], 0.0)
    np.testing.assert_allclose(d[90:], 0.5)


def test_dff_with_non_positive_baseline_is_flagged():
    x = np.column_stack([np.linspace(-1, 1, 50), np.linspace(1, 2, 50)])
    d, bad = normalize_traces(x, "dff")
    assert bad.tolist() == [True, False]
    assert np.isnan(d[:, 0]).all() and np.isfinite(d[:, 1]).all()


def test_causal_zscore_only_uses_the_past():
    x = np.random.default_rng(3).normal(size=(100, 1))
    z1, _ = normalize_traces(x, "causal_zscore")
    x2 = x.copy()
    x2[60:] += 100.0
    z2, _ = normalize_traces(x2, "causal_zscore")
    np.testing.assert_allclose(z1[:60], z2[:60])
