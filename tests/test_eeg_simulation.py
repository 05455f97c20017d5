"""Known answers from the seeded simulator: 1/f exponent, alpha peak, blink, dead channel."""

import numpy as np
import pytest

from neuroflow.eeg import features as F
from neuroflow.eeg.preprocess import filter_raw, notch_raw, preprocess
from neuroflow.eeg.simulate import SIMULATED_NOTE, draw_truth, simulate_subject

SEED = 20240505


@pytest.fixture(scope="module")
def cohort():
    """Two simulated subjects (60 s), preprocessed with the default config."""
    out = []
    for index in (1, 2):
        truth = draw_truth(index, SEED, (1.0, 2.0), (8.5, 11.5))
        raw, blink, truth = simulate_subject(truth, alpha_ratio=0.1, random_state=[SEED, index])
        res = preprocess(raw, {}, f"sim{index:02d}")
        # the blink template through the same filters and resampling
        blink = blink.copy()
        filter_raw(blink, 1.0, 45.0)
        notch_raw(blink, [50.0])
        blink.resample(128.0, verbose="error")
        out.append((truth, res, blink))
    return out


def _spectral_summary(res, method):
    freqs, psd = F.compute_psd(res["epochs"], method)
    table, _ = F.fit_aperiodic(freqs, psd, res["epochs"].ch_names)
    return F.summarize_aperiodic(table)


@pytest.mark.parametrize("method", ["welch", "multitaper"])
def test_recovered_aperiodic_exponent_within_0p1_of_truth(cohort, method):
    for truth, res, _ in cohort:
        got = _spectral_summary(res, method)["exponent"]
        assert abs(got - truth["aperiodic_exponent"]) <= 0.1, (method, got, truth)


@pytest.mark.parametrize("method", ["welch", "multitaper"])
def test_recovered_alpha_peak_within_half_hz_of_truth(cohort, method):
    for truth, res, _ in cohort:
        got = _spectral_summary(res, method)["alpha_peak_frequency"]
        assert abs(got - truth["alpha_peak_frequency"]) <= 0.5, (method, got, truth)


def test_ica_removes_injected_blink(cohort):
    for _, res, blink in cohort:
        comps = res["components"]
        assert comps["excluded"].sum() >= 1
        assert comps.loc[comps["excluded"], "eog_reference"].str.startswith("proxy Fp").all()
        for ch in ("Fp1", "Fp2"):
            template = blink.get_data(picks=[ch])[0]
            before = np.corrcoef(res["filtered"].get_data(picks=[ch])[0], template)[0, 1]
            after = np.corrcoef(res["raw"].get_data(picks=[ch])[0], template)[0, 1]
            assert before > 0.5, (ch, before)
            assert abs(after) < 0.2 * before, (ch, before, after)


def test_dead_channel_is_detected_and_interpolated(cohort):
    for truth, res, _ in cohort:
        ch = res["channels"].set_index("name")
        dead = truth["dead_channel"]
        assert ch.loc[dead, "bad"] and "flat" in ch.loc[dead, "reason"]
        assert ch.loc[dead, "interpolated"]
        assert ch["bad"].sum() == 1, ch.loc[ch["bad"]]
        clean = res["raw"]
        amp = clean.get_data(picks=[dead])[0].std()
        others = np.median(clean.get_data(picks="eeg").std(axis=1))
        assert 0.3 * others < amp < 3 * others  # no longer flat
        assert dead in clean.ch_names and not clean.info["bads"]


def test_simulation_is_seeded_and_labelled():
    truth = draw_truth(1, SEED, (1.0, 2.0), (8.5, 11.5))
    a, _, _ = simulate_subject(truth, duration=4.0, random_state=[SEED, 1])
    b, _, _ = simulate_subject(truth, duration=4.0, random_state=[SEED, 1])
    np.testing.assert_array_equal(a.get_data(), b.get_data())
    assert a.info["description"] == SIMULATED_NOTE
    other = draw_truth(2, SEED, (1.0, 2.0), (8.5, 11.5))
    assert other["aperiodic_exponent"] != truth["aperiodic_exponent"]
    assert draw_truth(1, SEED, (1.0, 2.0), (8.5, 11.5)) == truth
