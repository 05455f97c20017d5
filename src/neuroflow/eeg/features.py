"""Spectral features of cleaned epochs: PSD, band power, aperiodic (1/f) fit, connectivity.

Power spectra are in V^2/Hz in the NetCDF outputs; specparam is fitted on microvolt
spectra (uV^2/Hz) so that its offset reads as log10(uV^2/Hz).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd

from neuroflow.config import fill_defaults, stage_schema

#: The ``eeg.features`` defaults, read from workflow/schemas/eeg.schema.yaml (the one
#: place they are written; the workflow fills the same values into its config).
DEFAULTS = fill_defaults({}, stage_schema("eeg"))["features"]
UV2 = 1e12  # V^2 -> uV^2


def with_defaults(cfg: dict | None) -> dict:
    """The ``eeg.features`` section completed with :data:`DEFAULTS` (one level deep)."""
    out = copy.deepcopy(DEFAULTS)
    for key, value in (cfg or {}).items():
        if key not in out:
            raise ValueError(f"config key eeg.features.{key}: unknown; expected one of {sorted(out)}")
        if isinstance(out[key], dict) and key != "bands":
            out[key].update(value or {})
        else:
            out[key] = value
    return out


def compute_psd(
    epochs,
    method: str = "welch",
    fmin: float = 1.0,
    fmax: float = 45.0,
    welch_window: float = 2.0,
    welch_overlap: float = 0.5,
    multitaper_bandwidth: float = 2.0,
):
    """Power spectral density of each EEG channel, averaged over epochs.

    Parameters
    ----------
    epochs : mne.Epochs
    method : {"welch", "multitaper"}
    welch_window : float
        Welch segment length (s), at most the epoch length; `welch_overlap` is a fraction.
    multitaper_bandwidth : float
        Full frequency bandwidth of the DPSS tapers (Hz).

    Returns
    -------
    freqs : ndarray, shape (n_freqs,)
        Hz.
    psd : ndarray, shape (n_channels, n_freqs)
        V^2/Hz.
    """
    sfreq, n_times = epochs.info["sfreq"], len(epochs.times)
    if method == "welch":
        n_per_seg = min(n_times, int(round(welch_window * sfreq)))
        kw = {
            "n_fft": n_per_seg,
            "n_per_seg": n_per_seg,
            "n_overlap": int(round(welch_overlap * n_per_seg)),
            "window": "hamming",
        }
    elif method == "multitaper":
        kw = {
            "bandwidth": multitaper_bandwidth,
            "adaptive": False,
            "low_bias": True,
            "normalization": "full",
        }  # V^2/Hz (MNE's default "length" is not a density)
    else:
        raise ValueError(f"unknown PSD method {method!r}; expected welch or multitaper")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        spec = epochs.compute_psd(method=method, fmin=fmin, fmax=fmax, picks="eeg", verbose="error", **kw)
    return np.asarray(spec.freqs), spec.get_data().mean(axis=0)


def band_power(freqs: np.ndarray, psd: np.ndarray, bands: dict) -> tuple[np.ndarray, np.ndarray]:
    """Absolute (V^2) and relative band power by integrating the PSD over each band.

    Parameters
    ----------
    freqs : ndarray, shape (n_freqs,)
    psd : ndarray, shape (n_channels, n_freqs)
    bands : dict
        name -> [low, high) in Hz.

    Returns
    -------
    absolute, relative : ndarray, shape (n_channels, n_bands)
        Relative power divides by the power over all of `freqs`.

    Raises
    ------
    ValueError
        A band whose edges are reversed or equal, or that holds no frequency of `freqs`
        (its power would be a silent 0), naming ``eeg.features.bands.<name>``.
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    for name, (lo, hi) in bands.items():
        if not float(lo) < float(hi):
            raise ValueError(
                f"config key eeg.features.bands.{name}: [{lo}, {hi}] Hz is reversed or "
                "empty; give [low, high) with low < high"
            )
        if not ((freqs >= lo) & (freqs < hi)).any():
            raise ValueError(
                f"config key eeg.features.bands.{name}: no PSD frequency in [{lo}, {hi}) Hz "
                f"(PSD from {freqs.min():g} to {freqs.max():g} Hz, eeg.features.fmin / fmax)"
            )
    df = np.gradient(freqs) if len(freqs) > 1 else np.ones(1)
    total = (psd * df).sum(axis=1)
    absolute = np.empty((psd.shape[0], len(bands)))
    for j, (lo, hi) in enumerate(bands.values()):
        sel = (freqs >= lo) & (freqs < hi)
        absolute[:, j] = (psd[:, sel] * df[sel]).sum(axis=1)
    return absolute, absolute / total[:, None]


def fit_aperiodic(
    freqs: np.ndarray,
    psd: np.ndarray,
    channels,
    freq_range=(2.0, 40.0),
    aperiodic_mode: str = "fixed",
    peak_width_limits=(1.0, 8.0),
    max_n_peaks: int = 6,
    min_peak_height: float = 0.1,
    peak_threshold: float = 2.0,
    alpha_range=(7.0, 14.0),
):
    """Fit specparam (Donoghue et al. 2020) to each channel's spectrum.

    Parameters
    ----------
    freqs : ndarray, shape (n_freqs,)
    psd : ndarray, shape (n_channels, n_freqs)
        V^2/Hz (converted to uV^2/Hz for the fit).

    Returns
    -------
    table : DataFrame
        Per channel: ``offset`` (log10 uV^2/Hz), ``knee`` (knee mode only), ``exponent``,
        ``r_squared``, ``error_mae``, ``n_peaks``, ``alpha_cf`` (Hz), ``alpha_pw``
        (log10 power above the aperiodic fit), ``alpha_bw`` (Hz): the strongest peak in
        `alpha_range` (n/a without one).
    peaks : DataFrame
        Every peak: ``channel``, ``cf`` (Hz), ``pw``, ``bw`` (Hz).
    """
    from specparam import SpectralGroupModel

    fg = SpectralGroupModel(
        peak_width_limits=list(peak_width_limits),
        max_n_peaks=max_n_peaks,
        min_peak_height=min_peak_height,
        peak_threshold=peak_threshold,
        aperiodic_mode=aperiodic_mode,
        verbose=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fg.fit(np.asarray(freqs, float), np.asarray(psd, float) * UV2, list(freq_range))
    ap = np.atleast_2d(fg.get_params("aperiodic"))
    pk = np.atleast_2d(fg.get_params("peak"))
    pk = pk[np.isfinite(pk[:, 0])] if pk.size else np.empty((0, 4))
    table = pd.DataFrame({"channel": list(channels), "offset": ap[:, 0]})
    table["knee"] = ap[:, 1] if aperiodic_mode == "knee" else np.nan
    table["exponent"] = ap[:, -1]
    table["r_squared"] = np.asarray(fg.get_metrics("gof"), float)
    table["error_mae"] = np.asarray(fg.get_metrics("error"), float)
    idx = pk[:, 3].astype(int) if len(pk) else np.empty(0, int)
    table["n_peaks"] = np.bincount(idx, minlength=len(table))[: len(table)]
    alpha = np.full((len(table), 3), np.nan)
    for i in range(len(table)):
        mine = pk[(idx == i) & (pk[:, 0] >= alpha_range[0]) & (pk[:, 0] <= alpha_range[1])]
        if len(mine):
            alpha[i] = mine[np.argmax(mine[:, 1]), :3]
    table["alpha_cf"], table["alpha_pw"], table["alpha_bw"] = alpha.T
    peaks = pd.DataFrame(
        {"channel": [table["channel"][i] for i in idx], "cf": pk[:, 0], "pw": pk[:, 1], "bw": pk[:, 2]}
    )
    return table, peaks


def summarize_aperiodic(table: pd.DataFrame) -> dict:
    """Subject-level values: medians over channels (alpha over channels with a peak)."""
    alpha = table["alpha_cf"].dropna()
    return {
        "exponent": float(table["exponent"].median()),
        "offset": float(table["offset"].median()),
        "r_squared": float(table["r_squared"].median()),
        "alpha_peak_frequency": float(alpha.median()) if len(alpha) else float("nan"),
        "n_channels_with_alpha": int(len(alpha)),
    }


def connectivity(
    epochs,
    methods=("coh", "plv", "wpli"),
    bands: dict | None = None,
    mode: str = "multitaper",
    mt_bandwidth: float | None = None,
):
    """Sensor connectivity per band with mne-connectivity.

    Returns
    -------
    data : ndarray, shape (n_methods, n_bands, n_channels, n_channels)
        Symmetric, diagonal NaN; bands whose lower edge is below five cycles per epoch
        (the estimator's limit) are NaN.
    names : list of str
        Channel names.
    valid : list of bool
        Per band, whether it was estimated.
    """
    from mne_connectivity import spectral_connectivity_epochs

    only_eeg = set(epochs.get_channel_types()) == {"eeg"}
    ep = epochs if only_eeg else epochs.copy().pick("eeg")  # no copy of EEG-only epochs
    names = ep.ch_names
    n = len(names)
    min_f = 5.0 / (len(ep.times) / ep.info["sfreq"])
    valid = [lo >= min_f for lo, _ in bands.values()]
    out = np.full((len(methods), len(bands), n, n), np.nan)
    use = [j for j, v in enumerate(valid) if v]
    if use:
        lows = tuple(float(list(bands.values())[j][0]) for j in use)
        highs = tuple(float(list(bands.values())[j][1]) for j in use)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = spectral_connectivity_epochs(
                ep,
                method=list(methods),
                mode=mode,
                fmin=lows,
                fmax=highs,
                faverage=True,
                mt_bandwidth=mt_bandwidth,
                verbose="error",
            )
        res = res if isinstance(res, list) else [res]
        for m, con in enumerate(res):
            dense = con.get_data(output="dense")  # (n, n, n_used_bands), lower triangle
            for k, j in enumerate(use):
                mat = dense[:, :, k]
                mat = mat + mat.T
                np.fill_diagonal(mat, np.nan)
                out[m, j] = mat
    return out, names, valid
