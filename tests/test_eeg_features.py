"""Spectral features against analytic answers and the reference libraries."""

import mne
import numpy as np
import pytest

from neuroflow.devtools import demo_config
from neuroflow.eeg import features as F
from neuroflow.eeg.methods import methods_text
from neuroflow.eeg.preprocess import make_epochs


def _epochs(data, sfreq=128.0, length=2.0, names=None):
    names = names or [f"EEG{i:03d}" for i in range(len(data))]
    raw = mne.io.RawArray(data, mne.create_info(names, sfreq, "eeg"), verbose="error")
    return make_epochs(raw, "rec", length=length)


def test_band_power_integrates_a_flat_spectrum_exactly():
    freqs = np.arange(1.0, 45.5, 0.5)
    psd = np.full((2, len(freqs)), 4e-12)
    absolute, relative = F.band_power(freqs, psd, {"alpha": [8.0, 13.0], "beta": [13.0, 30.0]})
    np.testing.assert_allclose(absolute[:, 0], 5.0 * 4e-12)  # 10 bins of 0.5 Hz
    np.testing.assert_allclose(absolute[:, 1], 17.0 * 4e-12)
    np.testing.assert_allclose(relative.sum(axis=1), 22.0 / 44.5, rtol=0.02)


@pytest.mark.parametrize("method", ["welch", "multitaper"])
def test_white_noise_psd_level_is_two_sigma_squared_over_sfreq(method):
    sigma, sfreq = 10e-6, 128.0
    ep = _epochs(sigma * np.random.default_rng(0).standard_normal((4, 128 * 120)))
    freqs, psd = F.compute_psd(ep, method, fmin=2.0, fmax=60.0)
    np.testing.assert_allclose(psd.mean(), 2 * sigma**2 / sfreq, rtol=0.05)
    assert freqs[0] >= 2.0 and freqs[-1] <= 60.0


def test_specparam_recovers_a_synthetic_spectrum():
    from specparam.sim import sim_group_power_spectra

    freqs, powers = sim_group_power_spectra(
        3, [1, 45], {"fixed": [1.0, 1.7]}, {"gaussian": [10.2, 0.6, 1.2]}, nlvs=0.01, freq_res=0.5
    )
    table, peaks = F.fit_aperiodic(freqs, powers / F.UV2, ["a", "b", "c"])
    np.testing.assert_allclose(table["exponent"], 1.7, atol=0.05)
    np.testing.assert_allclose(table["offset"], 1.0, atol=0.1)
    np.testing.assert_allclose(table["alpha_cf"], 10.2, atol=0.2)
    assert (peaks["channel"].value_counts() >= 1).all()


def test_connectivity_is_symmetric_and_separates_zero_lag_from_lagged_coupling():
    rng = np.random.default_rng(1)
    sfreq, n = 128.0, 128 * 60
    t = np.arange(n) / sfreq
    phase = 2 * np.pi * 10 * t + np.cumsum(rng.normal(0, 0.05, n))
    shared = np.sin(phase)
    data = (
        np.vstack(
            [
                shared + 0.3 * rng.standard_normal(n),
                shared + 0.3 * rng.standard_normal(n),  # zero-lag copy (volume conduction)
                np.sin(phase - np.pi / 2) + 0.3 * rng.standard_normal(n),  # lagged by 90 degrees
                rng.standard_normal(n),  # independent
            ]
        )
        * 1e-5
    )
    ep = _epochs(data)
    con, names, valid = F.connectivity(ep, ("coh", "plv", "wpli"), {"alpha": [8.0, 13.0]})
    assert valid == [True]
    for m in range(3):
        mat = con[m, 0]
        np.testing.assert_allclose(mat, mat.T)
        assert np.isnan(np.diag(mat)).all()
    coh, plv, wpli = con[:, 0]
    assert coh[0, 1] > 0.5 and plv[0, 1] > 0.8
    assert wpli[0, 1] < 0.3  # zero lag: no phase-lag index
    assert wpli[0, 2] > 0.8  # consistent 90-degree lag
    assert plv[0, 3] < 0.4 and wpli[0, 3] < 0.4


def test_connectivity_leaves_bands_below_five_cycles_empty():
    ep = _epochs(np.random.default_rng(0).standard_normal((3, 128 * 20)) * 1e-5)
    con, _, valid = F.connectivity(ep, ("coh",), {"delta": [1.0, 4.0], "beta": [13.0, 30.0]})
    assert valid == [False, True]
    assert np.isnan(con[0, 0]).all() and np.isfinite(con[0, 1][~np.eye(3, dtype=bool)]).all()


def test_methods_text_names_parameters_and_cites_datasets():

    from neuroflow.devtools import repo_root
    from neuroflow.resources import load_manifest

    root = repo_root()
    config = demo_config(root)
    paras, refs = methods_text(config, load_manifest(root / "resources/datasets.yaml"))
    text = " ".join(paras)
    for needle in (
        "SIMULATED",
        "1.0-45.0 Hz",
        "infomax",
        "proxies Fp1",
        "2-40 Hz",
        "sha256 verification",
        "wpli",
    ):
        assert needle in text, needle
    joined = " ".join(refs)
    for needle in ("PhyAAt", "Donoghue", "Gramfort", "Vinck", "Bentivoglio"):
        assert needle in joined, needle
