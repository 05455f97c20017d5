"""Band-limited analytic-signal operators: phase synchrony from the instantaneous phases
(PLV, PLI, wPLI over time points) and amplitude-envelope correlation, plain and pairwise
orthogonalised (Hipp et al. 2012; as mne-connectivity ``envelope_correlation``)."""

from __future__ import annotations

import numpy as np

from ._base import memo, pearson, zero_diagonal
from ._kernels import imag_sums, orthogonal_envelope_corr
from .spectral import band_hz

MEASURES = ("hplv", "hpli", "hwpli", "aec", "aecorth")


def band_analytic(X, sfreq: float, fmin: float, fmax: float):
    """Analytic signal of each region band-passed to [fmin, fmax] Hz (ideal FFT filter).

    Keeps the positive-frequency FFT bins in the band, doubled, and transforms back: the
    analytic signal (``scipy.signal.hilbert``) of the band-passed series.

    Returns
    -------
    ndarray, shape like ``X``, complex
    """
    n_t = X.shape[-1]
    freqs = np.fft.fftfreq(n_t, 1.0 / sfreq)
    keep = (freqs >= fmin) & (freqs <= fmax) & (freqs > 0)
    if not keep.any():
        raise ValueError(
            f"band {fmin}-{fmax} Hz holds no frequency bin for windows of {n_t} samples at {sfreq:.4g} Hz"
        )
    return np.fft.ifft(np.fft.fft(X, axis=-1) * (2.0 * keep), axis=-1)


def analytic_measures(z) -> dict:
    """Every measure of :data:`MEASURES` from analytic signals ``z`` (n, n_regions, n_times).

    With S_ij(t) = z_i(t) conj(z_j(t)) over the time points: hplv = |<S/|S|>|,
    hpli = |<sign Im S>|, hwpli = |<Im S>| / <|Im S|>; aec = corr(|z_i|, |z_j|); aecorth =
    (|c_ij| + |c_ji|) / 2 with c_ij = corr(|Im(z_i conj(z_j))| / |z_j|, |z_j|) (region i
    orthogonalised to region j).
    """
    n, r, n_t = z.shape
    amp = np.abs(z)
    u = z / np.maximum(amp, 1e-300)
    plv = np.abs(u @ np.conj(u).transpose(0, 2, 1)) / n_t  # |<S/|S|>|
    sum_im = np.imag(z @ np.conj(z).transpose(0, 2, 1))
    re, im = np.ascontiguousarray(z.real), np.ascontiguousarray(z.imag)
    sum_abs_im, sum_sign = imag_sums(re, im)
    c = np.abs(orthogonal_envelope_corr(re, im, np.ascontiguousarray(amp)))  # i orthogonalised to j
    out = {
        "hplv": plv,
        "aec": pearson(amp, {}),
        "hpli": np.abs(sum_sign) / n_t,
        "hwpli": np.abs(sum_im) / np.maximum(sum_abs_im, 1e-300),
        "aecorth": 0.5 * (c + c.transpose(0, 2, 1)),
    }
    for key in ("hpli", "hwpli", "aecorth"):
        zero_diagonal(out[key])
    return out


def hilbert_op(method: str, band: tuple[float, float, bool]):
    """Operator: ``method`` of the analytic signals in ``band`` (see
    :func:`~neuroflow.fc.operators.spectral.band_hz`), grouped by TR."""

    def op(X, t_r, cache):
        def compute():
            result = {m: np.empty((X.shape[0], X.shape[1], X.shape[1])) for m in MEASURES}
            for tr in np.unique(t_r):
                sel = np.flatnonzero(t_r == tr)
                z = band_analytic(X[sel], 1.0 / tr, *band_hz(band, tr, X.shape[-1]))
                for m, v in analytic_measures(z).items():
                    result[m][sel] = v
            return result

        return memo(cache, ("hilbert", band), compute)[method]

    return op
