"""Resampling to one common time step, with anti-aliasing and documented gap/NaN handling.

Algorithm (:func:`resample_traces`)
-----------------------------------
1. **Native step.** ``dt_in`` is the least-squares slope of the time stamps against their
   frame index (robust to time stamps rounded to microseconds, and to dropped frames);
   a time-stamp interval longer than 1.5 ``dt_in`` is a *time gap* (missing frames).
2. **Rational ratio.** ``up / down`` is the best rational approximation of
   ``dt_in / step_s`` with ``down <= max_denominator``; the native grid is then taken to be
   ``t0 + n * dt_grid`` with ``dt_grid = step_s * up / down`` (within ``1e-3 %`` of
   ``dt_in`` for common rates: 10 Hz -> 0.333 s is exactly 100/333).
3. **Regridding.** When any time stamp is farther than ``jitter_tolerance * dt_grid``
   from that grid (jitter, drift of the rational approximation, dropped frames), every trace
   is interpolated (``interpolation``: linear as in the seed, or cubic) onto the grid.
   Otherwise the samples are used as they are.
4. **Gaps and NaN.** NaN runs and time gaps no longer than ``max_gap_s`` are bridged by
   linear interpolation. Longer ones are *invalid*: they are bridged only so that the
   filter can run, and every output sample within one output step of an invalid native
   sample is set to NaN. Leading/trailing NaN runs count as long runs.
5. **Anti-aliased rate change.** :func:`scipy.signal.resample_poly` (polyphase FIR,
   Kaiser window ``kaiser_beta``, cut-off at the lower of the two Nyquist frequencies,
   zero phase, ``padtype="line"`` at the edges) by ``up / down``. Content below the new
   Nyquist frequency keeps its amplitude and phase; content above it is suppressed rather
   than folded back (aliased), unlike nearest-sample picking or block averaging.
6. **Exact grid.** The output has ``n_out = floor(T / step_s) + 1`` samples at
   ``time = k * step_s`` (s from the first sample), ``T`` the native duration: no sample
   is extrapolated past the last native time stamp.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
from scipy.interpolate import make_interp_spline
from scipy.ndimage import convolve1d
from scipy.signal import lfilter, resample_poly

INTERPOLATIONS = ("linear", "cubic")
SMOOTHING = ("none", "moving", "exponential", "gaussian")
NORMALIZATIONS = ("none", "zscore", "causal_zscore", "dff", "dff_zscore")
_EPS = 1e-9


def _check_traces(traces, time, where: str = "traces") -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(traces, dtype=np.float64)
    t = np.asarray(time, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != t.size:
        raise ValueError(f"{where}: traces of shape {x.shape} do not match {t.size} time points")
    if t.size < 2 or not np.isfinite(t).all() or (np.diff(t) <= 0).any():
        raise ValueError(f"{where}: time must be finite and strictly increasing (>= 2 samples)")
    return x, t


def native_step(time) -> float:
    """Native sampling step (s): least-squares slope of time against frame index.

    Parameters
    ----------
    time : ndarray, shape (n_samples,)
        Strictly increasing time stamps (s), possibly jittered, rounded or with dropped
        frames.
    """
    t = np.asarray(time, dtype=np.float64) - time[0]
    d = np.diff(t)
    med = float(np.median(d))
    idx = np.round(t / med)
    if np.unique(idx).size < idx.size:  # irregular beyond rounding: fall back to the median
        return med
    slope = float(np.polyfit(idx, t, 1)[0])
    return slope if slope > 0 else med


def rational_ratio(dt_in: float, step_s: float, max_denominator: int = 1000) -> tuple[int, int]:
    """``(up, down)`` with ``up / down`` ~ ``dt_in / step_s`` (the factor of the sample rate)."""
    frac = Fraction(dt_in / step_s).limit_denominator(max_denominator)
    if frac.numerator == 0:
        frac = Fraction(1, max_denominator)
    return frac.numerator, frac.denominator


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``[start, stop)`` runs of True in a 1-D bool array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2]))


def longest_runs_s(mask: np.ndarray, step_s: float) -> list:
    """Per column of a 2-D bool array, the duration (``step_s`` x samples) of its longest True run."""
    return [max([(b - a) for a, b in _runs(mask[:, j])] or [0]) * step_s for j in range(mask.shape[1])]


def _fill_and_mark(
    values: np.ndarray, grid: np.ndarray, long_gap: np.ndarray, max_gap_samples: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Linearly bridge NaN runs per column; mark runs longer than the limit (and edges)."""
    invalid = long_gap[:, None] & np.ones(values.shape[1], dtype=bool)[None, :]
    n_bridged = 0
    if not np.isnan(values).any():
        return values, invalid, n_bridged
    out = values.copy()
    for j in range(values.shape[1]):
        nan = np.isnan(out[:, j])
        if not nan.any():
            continue
        ok = ~nan
        if not ok.any():
            invalid[:, j] = True
            out[:, j] = 0.0
            continue
        for a, b in _runs(nan):
            if (b - a) > max_gap_samples or a == 0 or b == nan.size:
                invalid[a:b, j] = True
            else:
                n_bridged += b - a
        out[nan, j] = np.interp(grid[nan], grid[ok], out[ok, j])
    return out, invalid, n_bridged


def _check_resampling(step_s: float, interpolation: str) -> None:
    if not step_s or step_s <= 0:
        raise ValueError(f"step_s must be > 0, got {step_s}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")


def resample_traces(
    traces,
    time,
    step_s: float = 0.333,
    *,
    max_gap_s: float = 1.0,
    jitter_tolerance: float = 0.05,
    interpolation: str = "linear",
    kaiser_beta: float = 5.0,
    max_denominator: int = 1000,
):
    """Resample traces to a common step with anti-aliasing (see the module docstring).

    Parameters
    ----------
    traces : ndarray, shape (n_samples, n_neurons)
        Values in any unit; NaN marks missing samples.
    time : ndarray, shape (n_samples,)
        Time stamps (s), strictly increasing.
    step_s : float
        Output step (s). 0.333 s (~3 Hz) is the seed's default.
    max_gap_s : float
        Longest NaN run / time gap (s) bridged by linear interpolation; longer ones give NaN.
    jitter_tolerance : float
        Largest deviation of a time stamp from the uniform native grid, as a fraction of
        the native step, below which samples are used without interpolation.
    interpolation : {"linear", "cubic"}
        How traces are regridded when time stamps are irregular.
    kaiser_beta : float
        Kaiser-window shape of the polyphase anti-aliasing filter (scipy's default 5.0).
    max_denominator : int
        Largest ``down`` in the rational rate ratio.

    Returns
    -------
    resampled : ndarray, shape (n_out, n_neurons)
        ``n_out = floor((time[-1] - time[0]) / step_s) + 1``; NaN within one step of an
        invalid (unbridged) native sample.
    new_time : ndarray, shape (n_out,)
        ``k * step_s`` (s from the first native sample).
    info : dict
        ``native_step_s``, ``up``, ``down``, ``regridded``, ``max_timestamp_deviation``
        (fraction of a step), ``n_time_gaps``, ``n_bridged_samples``,
        ``n_invalid_native_samples``, ``longest_invalid_run_s`` (per neuron, list),
        ``n_native``, ``n_out``.
    """
    x, t = _check_traces(traces, time)
    _check_resampling(step_s, interpolation)
    t = t - t[0]
    dt_in = native_step(t)
    up, down = rational_ratio(dt_in, step_s, max_denominator)
    dt_grid = step_s * up / down
    values, long_gap, grid, deviation, gaps, regridded = _onto_native_grid(
        x, t, dt_in, dt_grid, jitter_tolerance, interpolation, max_gap_s
    )
    m = grid.size
    filled, invalid, n_bridged = _fill_and_mark(values, grid, long_gap, max_gap_s / dt_grid + _EPS)
    longest = longest_runs_s(invalid, dt_grid)
    n_out = int(np.floor(t[-1] / step_s + _EPS)) + 1
    out = _polyphase(filled, up, down, n_out, kaiser_beta)
    new_time = np.arange(n_out) * step_s
    if invalid.any():
        _mask_near_invalid(out, invalid, new_time, step_s, dt_grid, m)
    info = {
        "native_step_s": dt_in,
        "up": int(up),
        "down": int(down),
        "regridded": bool(regridded),
        "max_timestamp_deviation": deviation,
        "n_time_gaps": int(gaps.size),
        "n_bridged_samples": int(n_bridged),
        "n_invalid_native_samples": int(invalid.sum()),
        "longest_invalid_run_s": [float(v) for v in longest],
        "n_native": int(t.size),
        "n_out": int(n_out),
        "native_duration_s": float(t[-1]),
    }
    return out, new_time, info


def _onto_native_grid(x, t, dt_in: float, dt_grid: float, jitter_tolerance: float, interpolation, max_gap_s):
    """Samples on the uniform grid of step ``dt_grid`` (t from 0): as they are when on it,
    else regridded (:func:`_regrid`).

    Returns the values on the grid, the mask of grid points inside long time gaps, the grid,
    the largest time-stamp deviation (fraction of a step), the time gaps and whether the
    samples were regridded.
    """
    m = int(np.floor(t[-1] / dt_grid + _EPS)) + 1
    grid = np.arange(m) * dt_grid
    idx = np.round(t / dt_grid).astype(np.int64)
    deviation = float(np.max(np.abs(t - idx * dt_grid)) / dt_grid)
    gaps = np.flatnonzero(np.diff(t) > 1.5 * dt_in)
    regridded = deviation > jitter_tolerance or gaps.size > 0 or idx[-1] != m - 1
    if regridded:
        values, long_gap = _regrid(x, t, grid, dt_in, gaps, interpolation, max_gap_s)
    else:
        long_gap = np.zeros(m, dtype=bool)
        if idx.size == m:  # already on the grid, no missing frame: no copy
            values = x
        else:
            values = np.full((m, x.shape[1]), np.nan)
            values[idx] = x
    return values, long_gap, grid, deviation, gaps, regridded


def _regrid(x, t, grid, dt_in: float, gaps, interpolation: str, max_gap_s: float):
    """Interpolate irregular samples onto ``grid``; NaN next to NaN samples; long gaps marked."""
    nan_native = np.isnan(x)
    xf = x.copy()
    for j in np.flatnonzero(nan_native.any(axis=0)):
        ok = ~nan_native[:, j]
        xf[:, j] = np.interp(t, t[ok], x[ok, j]) if ok.any() else 0.0
    if interpolation == "cubic":
        values = make_interp_spline(t, xf, k=3, axis=0)(grid)
    else:
        values = np.column_stack([np.interp(grid, t, xf[:, j]) for j in range(x.shape[1])])
    for j in np.flatnonzero(nan_native.any(axis=0)):  # grid points next to a NaN sample
        values[np.interp(grid, t, nan_native[:, j].astype(float)) > 0, j] = np.nan
    long_gap = np.zeros(grid.size, dtype=bool)
    for g in gaps:
        if t[g + 1] - t[g] - dt_in > max_gap_s + _EPS:
            long_gap |= (grid > t[g]) & (grid < t[g + 1])
    return values, long_gap


def _polyphase(filled, up: int, down: int, n_out: int, kaiser_beta: float):
    """The first ``n_out`` samples of the anti-aliased rational resampling ``up / down``."""
    if up == down:
        out = filled[:n_out].copy()
    else:
        out = resample_poly(filled, up, down, axis=0, window=("kaiser", kaiser_beta), padtype="line")[:n_out]
    if out.shape[0] < n_out:  # cannot happen by construction; guard against rounding
        raise RuntimeError(f"resampling produced {out.shape[0]} < {n_out} samples")
    return out


def _mask_near_invalid(out, invalid, new_time, step_s: float, dt_grid: float, m: int) -> None:
    """Set to NaN (in place) every output sample within one step of an invalid grid sample."""
    csum = np.vstack([np.zeros((1, invalid.shape[1])), np.cumsum(invalid, axis=0)])
    lo = np.clip(np.ceil((new_time - step_s) / dt_grid - _EPS).astype(int), 0, m)
    hi = np.clip(np.floor((new_time + step_s) / dt_grid + _EPS).astype(int) + 1, 0, m)
    out[(csum[hi] - csum[lo]) > 0] = np.nan


# ------------------------------------------------------------------------------ smoothing
def _kernel(method: str, step_s: float, window_s: float, sigma_s: float, causal: bool):
    if method == "moving":
        n = max(1, int(round(window_s / step_s)))
        if not causal and n % 2 == 0:
            n += 1
        return np.ones(n)
    if method == "gaussian":
        sigma = max(sigma_s / step_s, _EPS)
        half = int(np.ceil(4 * sigma))
        lags = np.arange(0, half + 1) if causal else np.arange(-half, half + 1)
        return np.exp(-(lags**2) / (2 * sigma**2))
    raise ValueError(method)


def smooth_traces(
    traces,
    step_s: float,
    method: str = "moving",
    window_s: float = 2.664,
    causal: bool = True,
    alpha: float = 0.5,
    sigma_s: float = 1.0,
) -> np.ndarray:
    """Smooth traces on the common grid (NaN-aware, NaN positions stay NaN).

    Parameters
    ----------
    traces : ndarray, shape (n_samples, n_neurons)
    step_s : float
        Sampling step (s) of ``traces``.
    method : {"none", "moving", "exponential", "gaussian"}
        ``moving``: mean over ``round(window_s / step_s)`` samples (causal: the current and
        the previous ones, as the seed's moving average; else centred, odd length).
        ``exponential``: ``y_i = alpha x_i + (1 - alpha) y_{i-1}`` (always causal).
        ``gaussian``: weights ``exp(-k^2 / 2 sigma^2)``, ``sigma = sigma_s / step_s``,
        one-sided (causal) or symmetric, truncated at 4 sigma.
    causal : bool
        Only past and present samples contribute (the seed's choice, suited to forecasting).

    Returns
    -------
    smoothed : ndarray, shape (n_samples, n_neurons)
        Moving and gaussian: normalized convolution (each output is the weighted mean of
        the valid samples under the kernel, so the first samples average fewer values, as
        the seed's moving average). Exponential: the recursion above, started at each
        neuron's first valid sample.
    """
    x = np.asarray(traces, dtype=np.float64)
    if method not in SMOOTHING:
        raise ValueError(f"smoothing method must be one of {SMOOTHING}, got {method!r}")
    if method == "none":
        return x.copy()
    nan = np.isnan(x)
    filled = np.where(nan, 0.0, x)
    valid = (~nan).astype(np.float64)
    if method == "exponential":
        if not 0 < alpha <= 1:
            raise ValueError(f"exponential smoothing needs 0 < alpha <= 1, got {alpha}")
        # y_0 = x_0, y_i = alpha x_i + (1 - alpha) y_{i-1} (the seed); a NaN sample keeps
        # the state and stays NaN; a neuron's first valid sample starts its recursion.
        out = np.full_like(x, np.nan)
        state = np.full(x.shape[1], np.nan)
        for i in range(x.shape[0]):
            ok = ~nan[i]
            state[ok] = np.where(np.isnan(state[ok]), x[i, ok], alpha * x[i, ok] + (1 - alpha) * state[ok])
            out[i, ok] = state[ok]
        return out
    w = _kernel(method, step_s, window_s, sigma_s, causal)
    if causal:
        num = lfilter(w, [1.0], filled, axis=0)
        den = lfilter(w, [1.0], valid, axis=0)
    else:
        num = convolve1d(filled, w, axis=0, mode="constant")
        den = convolve1d(valid, w, axis=0, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[nan] = np.nan
    return out


# -------------------------------------------------------------------------- normalization
def normalize_traces(
    traces, method: str = "zscore", baseline_percentile: float = 8.0, baseline_window_samples: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Normalize each neuron's trace.

    Parameters
    ----------
    traces : ndarray, shape (n_samples, n_neurons)
    method : {"none", "zscore", "causal_zscore", "dff", "dff_zscore"}
        ``zscore``: ``(x - mean) / std`` over time (population std; a constant trace gives
        zeros, as scikit-learn's ``StandardScaler``), the seed's default. ``causal_zscore``:
        running mean/std of the past samples (std floored at 1e-4, as the seed).
        ``dff``: ``(F - F0) / F0``, ``F0`` the ``baseline_percentile`` of the trace (over a
        centred window of ``baseline_window_samples`` samples when > 0, else the whole
        trace). ``dff_zscore``: dF/F, then z-score.

    Returns
    -------
    normalized : ndarray, shape (n_samples, n_neurons)
    bad : ndarray of bool, shape (n_neurons,)
        Neurons whose dF/F baseline is <= 0 (dF/F undefined: e.g. neuropil-subtracted or
        deconvolved traces); their output is NaN.
    """
    x = np.asarray(traces, dtype=np.float64)
    if method not in NORMALIZATIONS:
        raise ValueError(f"normalization method must be one of {NORMALIZATIONS}, got {method!r}")
    bad = np.zeros(x.shape[1], dtype=bool)
    if method == "none":
        return x.copy(), bad
    if method in ("dff", "dff_zscore"):
        if not 0 <= baseline_percentile <= 100:
            raise ValueError(f"baseline_percentile must be in [0, 100], got {baseline_percentile}")
        if baseline_window_samples and baseline_window_samples > 1:
            import pandas as pd

            f0 = (
                pd.DataFrame(x)
                .rolling(int(baseline_window_samples), center=True, min_periods=1)
                .quantile(baseline_percentile / 100)
                .to_numpy()
            )
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neuron -> NaN
                f0 = np.nanpercentile(x, baseline_percentile, axis=0, keepdims=True)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bad = ~(np.nanmin(f0, axis=0) > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            x = (x - f0) / f0
        x[:, bad] = np.nan
        if method == "dff":
            return x, bad
    if method in ("zscore", "dff_zscore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neuron stays NaN
            mean = np.nanmean(x, axis=0, keepdims=True)
            std = np.nanstd(x, axis=0, keepdims=True)
        std = np.where(std > 0, std, 1.0)
        return (x - mean) / std, bad
    # causal z-score, NaN-aware running moments
    valid = ~np.isnan(x)
    filled = np.where(valid, x, 0.0)
    n = np.maximum(np.cumsum(valid, axis=0), 1)
    mean = np.cumsum(filled, axis=0) / n
    var = np.cumsum(filled**2, axis=0) / n - mean**2
    std = np.sqrt(np.maximum(var, 1e-8))
    out = (x - mean) / std
    return out, bad
