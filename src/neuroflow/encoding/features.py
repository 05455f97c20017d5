"""Stimulus features for encoding models, and lagged (FIR) design matrices.

Built-in extractors: the level and onsets of a sound's amplitude envelope, a log-frequency
spectrogram of a sound waveform (spectrotemporal features), one-hot category indicators
and angular tuning bases (von Mises bumps or Fourier harmonics) for head direction.
Precomputed features (for example DNN activations) come from a user file
(:func:`load_feature_file`). Every extractor returns an array of shape
(n_samples, n_features) on the time base of the responses, and the names of its columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FEATURE_KINDS = ("envelope", "spectrogram", "onehot", "angular", "events", "file")


def _bin_factor(fs: float, bin_s: float, key: str) -> int:
    k = fs * bin_s
    if bin_s <= 0 or k < 1 or abs(k - round(k)) > 1e-6 * k:
        raise ValueError(
            f"config key {key}: bin width {bin_s} s must be a positive whole number of samples at {fs:g} Hz"
        )
    return int(round(k))


def bin_average(signal, fs: float, bin_s: float, key: str = "bin_s") -> np.ndarray:
    """Average a regularly sampled signal within consecutive bins (a boxcar anti-alias).

    Parameters
    ----------
    signal : ndarray, shape (n_samples,) or (n_samples, n_channels)
    fs : float
        Sampling rate (Hz).
    bin_s : float
        Bin width (s); a whole number of samples. A trailing partial bin is dropped.

    Returns
    -------
    ndarray, shape (n_bins,) or (n_bins, n_channels)
    """
    k = _bin_factor(fs, bin_s, key)
    x = np.asarray(signal, dtype=float)
    n = x.shape[0] // k
    return x[: n * k].reshape(n, k, *x.shape[1:]).mean(axis=1)


def envelope_features(
    amplitude, fs: float, bin_s: float, reference: float = 2e-5, peak_db: float | None = None
) -> tuple[np.ndarray, list[str]]:
    """Level (dB) and onset features of a sound's amplitude envelope.

    Parameters
    ----------
    amplitude : ndarray, shape (n_samples,)
        Amplitude envelope (linear, > 0), sampled at `fs`.
    fs : float
        Sampling rate of `amplitude` (Hz).
    bin_s : float
        Width of the output bins (s).
    reference : float
        Reference amplitude of 0 dB (2e-5 Pa for dB SPL).
    peak_db : float, optional
        If given, the level is shifted so that its maximum (before binning) equals this
        value (dB SPL), as for envelopes stored relative to their peak.

    Returns
    -------
    features : ndarray, shape (n_bins, 2)
        ``level`` (mean dB within each bin) and ``onset`` (half-wave rectified rate of
        change of the binned level, dB/s).
    names : list of str
    """
    amp = np.asarray(amplitude, dtype=float)
    if amp.ndim != 1 or not np.all(np.isfinite(amp)) or np.any(amp <= 0):
        raise ValueError("envelope amplitude must be a finite, positive 1-D signal")
    level = 20.0 * np.log10(amp / reference)
    if peak_db is not None:
        level = level + (peak_db - level.max())
    binned = bin_average(level, fs, bin_s)
    onset = np.maximum(np.gradient(binned) / bin_s, 0.0)
    return np.column_stack([binned, onset]), ["level", "onset"]


def spectrotemporal_features(
    waveform,
    fs: float,
    bin_s: float,
    n_bands: int = 16,
    fmin: float = 100.0,
    fmax: float | None = None,
    window_s: float | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Log power in log-spaced frequency bands, one frame per output bin (a spectrogram).

    Frame ``i`` is a Hann-windowed segment of ``window_s`` (default two bins) centred on the
    centre of bin ``i`` (zero-padded at the ends); its power spectrum is summed within
    ``n_bands`` bands with edges geometrically spaced between `fmin` and `fmax`.

    Parameters
    ----------
    waveform : ndarray, shape (n_samples,)
        Sound pressure waveform sampled at `fs`.
    fs : float
        Sampling rate (Hz).
    bin_s : float
        Output bin width (s), a whole number of samples.
    n_bands : int
    fmin, fmax : float
        Band edges (Hz); `fmax` defaults to the Nyquist frequency.
    window_s : float, optional
        Analysis window length (s).

    Returns
    -------
    features : ndarray, shape (n_bins, n_bands)
        Band power in dB (10 log10 of the summed periodogram, arbitrary reference).
    names : list of str
        ``'<low>-<high>Hz'`` per band.
    """
    x = np.asarray(waveform, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("waveform must be a finite 1-D signal")
    hop = _bin_factor(fs, bin_s, "features.bin_s")
    win = int(round((window_s or 2 * bin_s) * fs))
    fmax = fmax or fs / 2
    if not 0 < fmin < fmax <= fs / 2:
        raise ValueError(f"need 0 < fmin < fmax <= fs/2, got fmin={fmin}, fmax={fmax}, fs={fs}")
    n_bins = x.size // hop
    centres = np.arange(n_bins) * hop + hop // 2
    padded = np.pad(x, (win // 2, win))
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[centres]
    power = np.abs(np.fft.rfft(frames * np.hanning(win), axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1 / fs)
    edges = np.geomspace(fmin, fmax, n_bands + 1)
    band = np.digitize(freqs, edges) - 1
    out = np.zeros((n_bins, n_bands))
    for b in range(n_bands):
        sel = band == b
        if not sel.any():
            raise ValueError(
                f"frequency band {edges[b]:.0f}-{edges[b + 1]:.0f} Hz holds no "
                f"FFT bin; use a longer window_s or fewer bands"
            )
        out[:, b] = power[:, sel].sum(axis=1)
    names = [f"{lo:.0f}-{hi:.0f}Hz" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return 10 * np.log10(out + np.finfo(float).tiny), names


def category_onehot(labels, categories) -> np.ndarray:
    """One indicator column per category (1 where the sample's label equals it).

    Parameters
    ----------
    labels : array-like of str, shape (n_samples,)
    categories : list of str
        Columns, in order; labels not listed (e.g. a rest baseline) give all-zero rows.

    Returns
    -------
    ndarray, shape (n_samples, n_categories)
    """
    labels = np.asarray(labels).astype(str)
    missing = [c for c in categories if not np.any(labels == c)]
    if missing:
        raise ValueError(f"categories {missing} never occur; labels present: {sorted(set(labels))}")
    return np.column_stack([(labels == c).astype(float) for c in categories])


def events_boxcar(events, n_volumes: int, tr: float, conditions) -> np.ndarray:
    """Fraction of each volume's interval ``[k TR, (k + 1) TR)`` covered by each condition.

    Parameters
    ----------
    events : DataFrame
        BIDS events: ``onset``, ``duration`` (s from the first volume), ``trial_type``.
    n_volumes : int
    tr : float
        Repetition time in s.
    conditions : list of str
        Columns, in order; other trial types are left out.

    Returns
    -------
    ndarray, shape (n_volumes, n_conditions)
        Values in [0, 1] (a zero-duration event counts as a stick of 1 in its volume).
    """
    starts = np.arange(n_volumes) * tr
    out = np.zeros((n_volumes, len(conditions)))
    for j, cond in enumerate(conditions):
        rows = events[events["trial_type"].astype(str) == cond]
        for onset, duration in zip(rows["onset"].astype(float), rows["duration"].astype(float), strict=True):
            if duration <= 0:
                k = int(np.floor(onset / tr))
                if 0 <= k < n_volumes:
                    out[k, j] += 1.0
                continue
            overlap = (np.minimum(starts + tr, onset + duration) - np.maximum(starts, onset)).clip(0, None)
            out[:, j] += overlap / tr
    return out


def angular_basis(
    angle, n_basis: int = 12, kind: str = "vonmises", kappa: float = 4.0
) -> tuple[np.ndarray, list[str]]:
    """Angular tuning basis of a circular variable (head direction).

    Parameters
    ----------
    angle : ndarray, shape (n_samples,)
        Angle (rad); NaN (not tracked) gives an all-zero row.
    n_basis : int
        ``vonmises``: number of bumps, centres evenly spaced over [0, 2 pi);
        ``fourier``: number of columns, cos and sin of harmonics 1 .. n_basis / 2.
    kind : {'vonmises', 'fourier'}
    kappa : float
        Concentration of the von Mises bumps (larger = narrower; FWHM about
        2 arccos(1 - ln 2 / kappa)).

    Returns
    -------
    basis : ndarray, shape (n_samples, n_basis)
    names : list of str
    """
    a = np.asarray(angle, dtype=float)
    valid = np.isfinite(a)
    a = np.where(valid, a, 0.0)
    if kind == "vonmises":
        if n_basis < 3 or kappa <= 0:
            raise ValueError(f"von Mises basis needs n_basis >= 3 and kappa > 0, got {n_basis}, {kappa}")
        centres = 2 * np.pi * np.arange(n_basis) / n_basis
        basis = np.exp(kappa * (np.cos(a[:, None] - centres[None, :]) - 1.0))
        names = [f"vm{np.degrees(c):.0f}deg" for c in centres]
    elif kind == "fourier":
        if n_basis < 2 or n_basis % 2:
            raise ValueError(f"Fourier basis needs an even n_basis >= 2, got {n_basis}")
        cols, names = [], []
        for m in range(1, n_basis // 2 + 1):
            cols += [np.cos(m * a), np.sin(m * a)]
            names += [f"cos{m}", f"sin{m}"]
        basis = np.column_stack(cols)
    else:
        raise ValueError(f"angular basis kind must be 'vonmises' or 'fourier', got {kind!r}")
    return basis * valid[:, None], names


def fir_design(features, lags, runs=None, names=None) -> tuple[np.ndarray, list[str]]:
    """Lagged copies of the features (a finite impulse response design matrix).

    Column block ``j`` holds the features shifted by ``lags[j]`` samples: a positive lag
    puts the stimulus at ``t - lag`` in row ``t`` (the response follows the stimulus).
    Shifts never cross the border of a run; rows without a stimulus at that lag are 0.

    Parameters
    ----------
    features : ndarray, shape (n_samples, n_features)
    lags : sequence of int
        Lags in samples (0 = simultaneous; negative = the response precedes the stimulus).
    runs : ndarray, shape (n_samples,), optional
        Run label of each sample (samples of a run are in time order); default one run.
    names : list of str, optional
        Feature names; the lagged columns are ``'<name>@lag<lag>'``.

    Returns
    -------
    design : ndarray, shape (n_samples, n_features * n_lags)
        Lag-major column order (all features at ``lags[0]``, then at ``lags[1]``, ...).
    names : list of str
    """
    X = np.asarray(features, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"features must be 2-D (samples, features), got shape {X.shape}")
    lags = [int(lag) for lag in lags]
    if not lags or len(set(lags)) != len(lags):
        raise ValueError(f"lags must be a non-empty list of distinct integers, got {lags}")
    n, f = X.shape
    runs = np.zeros(n, dtype=int) if runs is None else np.asarray(runs)
    out = np.zeros((n, f * len(lags)))
    for run in np.unique(runs):
        idx = np.flatnonzero(runs == run)
        Xr = X[idx]
        for j, lag in enumerate(lags):
            cols = slice(j * f, (j + 1) * f)
            if abs(lag) >= len(idx):
                continue
            if lag > 0:
                out[idx[lag:], cols] = Xr[:-lag]
            elif lag < 0:
                out[idx[:lag], cols] = Xr[-lag:]
            else:
                out[idx, cols] = Xr
    names = names or [f"f{i}" for i in range(f)]
    return out, [f"{nm}@lag{lag}" for lag in lags for nm in names]


def load_feature_file(path, variable: str = "features", ndim=(2, 4)) -> np.ndarray:
    """Read precomputed features (e.g. DNN activations) from ``.npy`` or NetCDF.

    Parameters
    ----------
    path : str or Path
        ``.npy`` (read with ``allow_pickle=False``) or ``.nc`` (variable `variable`).
    variable : str
        NetCDF variable name.
    ndim : tuple of int
        Accepted dimensionalities: 2 = (samples, features); 4 = (samples, channels, height,
        width), a spatial feature map.

    Returns
    -------
    ndarray, float64
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"feature file {path}: not found")
    try:
        if path.suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        elif path.suffix in (".nc", ".h5", ".netcdf"):
            from neuroflow.provenance import read_netcdf

            ds = read_netcdf(path, "feature file")
            if variable not in ds:
                raise ValueError(
                    f"feature file {path}: no variable {variable!r} (has {sorted(ds.data_vars)})"
                )
            data = ds[variable].values
        else:
            raise ValueError(f"feature file {path}: expected .npy or .nc")
    except Exception as exc:  # numpy/h5py raise many types for damaged files
        if isinstance(exc, ValueError) and str(path) in str(exc):
            raise
        raise ValueError(f"feature file {path}: cannot read: {exc}") from exc
    data = np.asarray(data, dtype=float)
    if data.ndim not in ndim:
        raise ValueError(
            f"feature file {path}: expected {' or '.join(map(str, ndim))} dimensions, got shape {data.shape}"
        )
    if not np.all(np.isfinite(data)):
        raise ValueError(f"feature file {path}: {int((~np.isfinite(data)).sum())} non-finite values")
    return data
