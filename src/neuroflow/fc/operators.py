"""The functional-connectivity operator bank.

Every operator maps a batch of samples (region x time windows) to one matrix per sample::

    fc = bank["corr_ledoitwolf"](X, t_r)      # X: (n_samples, n_regions, n_times)
    fc.shape == (n_samples, n_regions, n_regions)

and declares whether it is **directed** (``fc[source, target]``: the influence of the row
region on the column region; ``fc[i, j] != fc[j, i]`` in general) and **signed** (negative
values carry meaning). Undirected operators return symmetric matrices. The diagonal is
whatever the underlying estimator gives (variances, 1, 0, ...) and is never used by the
benchmark.

Families and the library behind each (hand-written only where no library computes the
quantity for a batch of short windows; every hand-written estimator is checked against a
reference library or an analytic value in ``tests/test_fc_operators.py``):

* ``covariance`` - nilearn :class:`~nilearn.connectome.ConnectivityMeasure` (kinds
  covariance, correlation, precision, partial correlation, tangent) with the scikit-learn
  estimators EmpiricalCovariance, LedoitWolf, OAS and ShrunkCovariance, and scikit-learn
  :class:`~sklearn.covariance.GraphicalLasso` (precision / partial correlation through
  nilearn's ``prec_to_partial``).
* ``rank`` - Spearman (scipy ``rankdata`` + Pearson; checked against ``scipy.stats.spearmanr``)
  and Kendall tau-b (one Gram matrix of the per-region pair-sign vectors; checked against
  ``scipy.stats.kendalltau``).
* ``information`` - Gaussian mutual information -0.5 ln(1 - r^2) (nats) from the Pearson or
  Ledoit-Wolf correlation; distance correlation (Szekely, Rizzo & Bakirov 2007, V-statistic;
  one Gram matrix of the per-region pair-distance vectors; checked against a per-pair
  double-centring reference and the bivariate-Gaussian closed form).
* ``lagged`` - Pearson correlation of lag-shifted segments: at a fixed lag (directed) and the
  largest-magnitude value over a lag range (undirected).
* ``spectral`` - DPSS multitaper spectra from MNE (``psd_array_multitaper``, output
  ``complex``); coherence, |imaginary coherence|, PLV, PLI and wPLI per frequency band,
  with the estimator definitions of mne-connectivity and the taper x frequency-bin spectra of
  one window as the realizations that mne-connectivity takes from epochs.
* ``autoregressive`` - VAR(1) coefficients and conditional / pairwise Granger causality
  (log ratio of restricted to full residual variance) from batched least squares, identical
  to statsmodels ``VAR`` / ``OLS`` fits (checked in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: Frequency bands (Hz) of the spectral operators: Buzsaki & Draguhn slow-4 and slow-3.
DEFAULT_BANDS = {"slow4": (0.027, 0.073), "slow3": (0.073, 0.198)}

_ESTIMATORS = ("empirical", "ledoitwolf", "oas", "shrunk")
_NILEARN_KINDS = {"cov": "covariance", "corr": "correlation", "prec": "precision",
                  "pcorr": "partial correlation"}


@dataclass(frozen=True)
class Operator:
    """One named FC operator.

    Attributes
    ----------
    name : str
        Unique id used in files and tables (``[a-z0-9_]+``).
    family : str
        One of ``covariance, rank, information, lagged, spectral, autoregressive``; the
        workflow computes one family per job.
    directed, signed : bool
        See the module docstring.
    description : str
        One sentence a reader of the report understands.
    library : str
        The implementation (library call or "hand-written, checked against ...").
    func : callable
        ``func(X, t_r, cache) -> ndarray (n_samples, n_regions, n_regions)``.
    """

    name: str
    family: str
    directed: bool
    signed: bool
    description: str
    library: str
    func: Callable = field(repr=False, compare=False)

    def __call__(self, X, t_r=1.0, cache=None):
        """Apply the operator to ``X`` (n_samples, n_regions, n_times); ``t_r`` in s."""
        X, t_r = _check_batch(X, t_r, self.name)
        out = self.func(X, t_r, {} if cache is None else cache)
        return np.asarray(out, dtype=float)


def _check_batch(X, t_r, where: str):
    X = np.asarray(X, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"operator {where}: expected samples of shape (n_samples, n_regions, "
                         f"n_times), got an array of shape {X.shape}")
    if X.shape[1] < 2 or X.shape[2] < 4:
        raise ValueError(f"operator {where}: need >= 2 regions and >= 4 time points, got "
                         f"{X.shape[1]} regions x {X.shape[2]} time points")
    if not np.isfinite(X).all():
        raise ValueError(f"operator {where}: samples contain NaN or infinite values")
    t_r = np.broadcast_to(np.asarray(t_r, dtype=float), (X.shape[0],)).copy()
    if (t_r <= 0).any():
        raise ValueError(f"operator {where}: repetition times must be > 0 s")
    return X, t_r


# --------------------------------------------------------------------------------------
# shared intermediates
# --------------------------------------------------------------------------------------

def _memo(cache: dict, key, fn):
    if key not in cache:
        cache[key] = fn()
    return cache[key]


def _zscore(X, cache):
    def compute():
        Z = X - X.mean(axis=-1, keepdims=True)
        sd = Z.std(axis=-1, keepdims=True)
        return Z / np.where(sd > 0, sd, 1.0)
    return _memo(cache, "zscore", compute)


def _pearson(X, cache):
    def compute():
        Z = _zscore(X, cache)
        return np.einsum("nit,njt->nij", Z, Z) / X.shape[-1]
    return _memo(cache, "pearson", compute)


def _sk_estimator(name: str, alpha: float = 0.1):
    from sklearn.covariance import OAS, EmpiricalCovariance, LedoitWolf, ShrunkCovariance

    return {"empirical": EmpiricalCovariance, "ledoitwolf": LedoitWolf, "oas": OAS,
            "shrunk": lambda: ShrunkCovariance(shrinkage=alpha)}[name]()


def _nilearn(kind: str, estimator: str, shrinkage: float = 0.1):
    """ConnectivityMeasure of ``kind`` with a scikit-learn covariance ``estimator``."""

    def op(X, t_r, cache):
        from nilearn.connectome import ConnectivityMeasure

        measure = ConnectivityMeasure(cov_estimator=_sk_estimator(estimator, shrinkage),
                                      kind=kind, standardize=False)
        return np.stack(measure.fit_transform([x.T for x in X]))

    return op


def _glasso_precision(X, cache, alpha: float, max_iter: int = 200):
    def compute():
        from sklearn.covariance import GraphicalLasso

        Z = _zscore(X, cache)
        out = np.empty((X.shape[0], X.shape[1], X.shape[1]))
        for n, z in enumerate(Z):
            out[n] = GraphicalLasso(alpha=alpha, mode="cd", max_iter=max_iter).fit(z.T).precision_
        return out
    return _memo(cache, ("glasso", alpha), compute)


def _glasso(kind: str, alpha: float):
    def op(X, t_r, cache):
        from nilearn.connectome import prec_to_partial

        prec = _glasso_precision(X, cache, alpha)
        return prec if kind == "precision" else np.stack([prec_to_partial(p) for p in prec])
    return op


# --------------------------------------------------------------------------------------
# rank and information
# --------------------------------------------------------------------------------------

def spearman(X, t_r=None, cache=None):
    """Spearman rank correlation: Pearson correlation of ``scipy.stats.rankdata`` ranks."""
    from scipy.stats import rankdata

    return _pearson(rankdata(X, axis=-1), {})


#: Bytes of pair-difference buffer held at once by :func:`kendall` and :func:`distance_correlation`.
_PAIR_BUFFER_BYTES = 8e6


#: Integer sums below this are exact in single precision (2**24).
_FLOAT32_EXACT_SUMS = 2 ** 24


def _lag_blocks(n_t: int, max_pairs: int):
    """Group the lags 1 .. n_t - 1 into runs of at most ``max_pairs`` time pairs (>= 1 lag)."""
    block, size = [], 0
    for k in range(1, n_t):
        if block and size + n_t - k > max_pairs:
            yield block
            block, size = [], 0
        block.append(k)
        size += n_t - k
    yield block


def _pair_gram(X, fill, dtype):
    """Gram matrix over all time pairs of a per-pair feature, for every sample.

    ``fill(a, b, out)`` writes the feature of the pairs (t + k, t) of each region into
    ``out`` from ``a = x[..., k:]`` and ``b = x[..., :-k]``. The pairs t < u are visited lag
    by lag (u = t + k) in blocks of at most :data:`_PAIR_BUFFER_BYTES`, so memory stays
    bounded for any window length, and each block adds ``F @ F.T`` (one BLAS call).

    Returns
    -------
    ndarray, shape (n_samples, n_regions, n_regions)
        ``G[n, i, j] = sum_{t<u} f_i(t, u) f_j(t, u)``, in ``dtype``.
    """
    n, r, n_t = X.shape
    n_pairs = n_t * (n_t - 1) // 2
    item = np.dtype(dtype).itemsize
    chunk = max(1, int(_PAIR_BUFFER_BYTES // (r * n_pairs * item)))
    max_pairs = max(1, int(_PAIR_BUFFER_BYTES // (min(chunk, n) * r * item)))
    G = np.zeros((n, r, r), dtype=dtype)
    for start in range(0, n, chunk):
        x = X[start:start + chunk]
        for lags in _lag_blocks(n_t, max_pairs):
            F = np.empty(x.shape[:2] + (sum(n_t - k for k in lags),), dtype=dtype)
            off = 0
            for k in lags:
                fill(x[..., k:], x[..., :-k], F[..., off:off + n_t - k])
                off += n_t - k
            G[start:start + chunk] += F @ F.transpose(0, 2, 1)
    return G


def _normalize_gram(num):
    """num[i, j] / sqrt(num[i, i] num[j, j]); 0 where a diagonal entry is 0 (constant region)."""
    norm = np.sqrt(np.clip(np.einsum("nii->ni", num), 0.0, None))
    return num / np.maximum(norm[:, :, None] * norm[:, None, :], 1e-300)


def _sign_of_difference(a, b, out):
    np.sign(a - b, out=out)


def kendall(X, t_r=None, cache=None):
    """Kendall tau-b of every region pair (ties as in ``scipy.stats.kendalltau``).

    With the pair-sign vectors s_i(t, u) = sign(x_i(u) - x_i(t)) over all time pairs t < u,
    the numerator (concordant - discordant pairs) of every region pair is one Gram matrix,
    sum s_i s_j, and tau-b's tie correction is its diagonal: sum s_i^2 counts the pairs not
    tied in region i, so tau_b(i, j) = sum s_i s_j / sqrt(sum s_i^2 * sum s_j^2). The Gram
    matrix is formed in single precision where that is exact (integer sums < 2**24, windows
    up to 5,793 samples). A constant region (no untied pair) gets 0 (scipy: NaN); constant
    regions are dropped before the bank (:func:`neuroflow.fc.data.samples_dataset`).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_regions, n_times)

    Returns
    -------
    ndarray, shape (n_samples, n_regions, n_regions)
        In [-1, 1]; diagonal 1.
    """
    n_t = X.shape[-1]
    dtype = np.float32 if n_t * (n_t - 1) // 2 < _FLOAT32_EXACT_SUMS else np.float64
    num = _pair_gram(X, _sign_of_difference, dtype).astype(float)
    return _normalize_gram(num)


def gaussian_mi(corr):
    """Mutual information (nats) of a bivariate Gaussian with correlation ``corr``."""
    r2 = np.clip(np.asarray(corr) ** 2, 0.0, 1.0 - 1e-12)
    mi = -0.5 * np.log1p(-r2)
    return mi


def _mi_pearson(X, t_r, cache):
    mi = gaussian_mi(_pearson(X, cache))
    idx = np.arange(X.shape[1])
    mi[:, idx, idx] = 0.0
    return mi


def _mi_ledoitwolf(X, t_r, cache):
    corr = _memo(cache, "corr_ledoitwolf", lambda: _nilearn("correlation", "ledoitwolf")(X, t_r, cache))
    mi = gaussian_mi(corr)
    idx = np.arange(X.shape[1])
    mi[:, idx, idx] = 0.0
    return mi


def _abs_difference(a, b, out):
    np.subtract(a, b, out=out)
    np.abs(out, out=out)


def _mean_abs_difference(x):
    """a_t = mean_u |x_t - x_u| for every t, from sorted cumulative sums (O(T log T)).

    Returns an array shaped like ``x`` (..., n_times).
    """
    n_t = x.shape[-1]
    order = np.argsort(x, axis=-1)
    s = np.take_along_axis(x, order, axis=-1)
    c = np.cumsum(s, axis=-1)
    k = np.arange(n_t)
    total = (k * s - (c - s)) + ((c[..., -1:] - c) - (n_t - 1 - k) * s)
    out = np.empty_like(x)
    np.put_along_axis(out, order, total / n_t, axis=-1)
    return out


def distance_correlation(X, t_r=None, cache=None):
    """Distance correlation (Szekely, Rizzo & Bakirov 2007; V-statistic) of every region pair.

    With d_i(t, u) = |x_i(t) - x_i(u)|, its row means a_i(t) and grand mean g_i, the
    double-centred matrix is A_i = d_i - a_i 1' - 1 a_i' + g_i, and
    dCov^2(i, j) = <A_i, A_j> / T^2 (the V-statistic). Because A_j has zero row and column
    sums, <A_i, A_j> = <d_i, d_j> - 2 T a_i.a_j + T^2 g_i g_j, and <d_i, d_j> is twice the
    Gram matrix of the distance vectors over the time pairs t < u - so all region pairs
    take one matrix product. dCor(i, j) = sqrt(dCov^2(i, j) / (dVar(i) dVar(j))) with
    dVar(i) = sqrt(dCov^2(i, i)); a constant region gets 0.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_regions, n_times)

    Returns
    -------
    ndarray, shape (n_samples, n_regions, n_regions)
        In [0, 1]; diagonal 1.
    """
    n_t = X.shape[-1]
    X = X - X.mean(axis=-1, keepdims=True)        # distances are shift-invariant; keeps cumsums small
    gram = _pair_gram(X, _abs_difference, np.float64)
    a = _mean_abs_difference(X)
    g = a.mean(axis=-1)
    dcov2 = (2.0 / n_t ** 2) * gram - (2.0 / n_t) * (a @ a.transpose(0, 2, 1)) + g[:, :, None] * g[:, None, :]
    dvar = np.sqrt(np.clip(np.einsum("nii->ni", dcov2), 0.0, None))
    return np.sqrt(np.clip(dcov2, 0.0, None) / np.maximum(dvar[:, :, None] * dvar[:, None, :], 1e-300))


# --------------------------------------------------------------------------------------
# lagged
# --------------------------------------------------------------------------------------

def lagged_correlation(X, lag: int):
    """Pearson correlation of x_i(t) with x_j(t + lag) for every ordered pair.

    Returns ``C[n, i, j] = corr(x_i[0:T-lag], x_j[lag:T])`` (i leads j by ``lag`` samples);
    ``lag`` may be negative (``C(lag)[i, j] == C(-lag)[j, i]``).
    """
    if lag < 0:
        return lagged_correlation(X, -lag).transpose(0, 2, 1)
    n_t = X.shape[-1]
    a, b = X[..., : n_t - lag], X[..., lag:]
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    num = np.einsum("nit,njt->nij", a, b)
    na, nb = np.sqrt((a ** 2).sum(-1)), np.sqrt((b ** 2).sum(-1))
    return num / np.maximum(na[:, :, None] * nb[:, None, :], 1e-300)


def _xcorr_fixed(lag: int):
    def op(X, t_r, cache):
        return lagged_correlation(X, lag)
    return op


def _xcorr_max(max_lag: int):
    def op(X, t_r, cache):
        stack = np.stack([lagged_correlation(X, lag) for lag in range(-max_lag, max_lag + 1)])
        best = np.abs(stack).argmax(axis=0)
        return np.take_along_axis(stack, best[None], axis=0)[0]
    return op


def _pearson_diff(X, t_r, cache):
    return _pearson(np.diff(X, axis=-1), {})


# --------------------------------------------------------------------------------------
# spectral
# --------------------------------------------------------------------------------------

def multitaper_spectra(X, sfreq: float, fmin: float, fmax: float, nw: float = 2.0):
    """DPSS tapered Fourier coefficients from MNE, weighted by the taper weights.

    Returns ``(spectra, freqs)`` with spectra of shape (n_samples, n_regions, n_tapers,
    n_freqs), complex; ``nw`` is the time-half-bandwidth product.
    """
    from mne.time_frequency import psd_array_multitaper

    bandwidth = 2.0 * nw * sfreq / X.shape[-1]
    spec, freqs, weights = psd_array_multitaper(X, sfreq, fmin=fmin, fmax=fmax, bandwidth=bandwidth,
                                                output="complex", verbose=False)
    return spec * weights, freqs


def spectral_measures(X, sfreq: float, fmin: float, fmax: float, nw: float = 2.0) -> dict:
    """Coherence, |imaginary coherence|, PLV, PLI and wPLI of every pair in one band.

    The cross-spectrum S_ij(r) = X_i(r) conj(X_j(r)) is formed for every realization r =
    (DPSS taper, frequency bin in [fmin, fmax]) of one window; then, as in mne-connectivity:
    coh = |<S_ij>| / sqrt(<S_ii><S_jj>), imcoh = |Im <S_ij>| / sqrt(<S_ii><S_jj>),
    plv = |<S_ij / |S_ij|>|, pli = |<sign Im S_ij>|, wpli = |<Im S_ij>| / <|Im S_ij|>, where
    <.> averages over realizations.

    Returns
    -------
    dict
        name -> ndarray (n_samples, n_regions, n_regions), each in [0, 1].
    """
    spec, freqs = multitaper_spectra(X, sfreq, fmin, fmax, nw)
    if freqs.size == 0:
        raise ValueError(f"band {fmin}-{fmax} Hz holds no frequency bin for windows of "
                         f"{X.shape[-1]} samples at {sfreq:.4g} Hz")
    n, r = spec.shape[:2]
    Z = spec.reshape(n, r, -1)                                             # (n, r, R)
    out = {m: np.empty((n, r, r)) for m in ("coh", "imcoh", "plv", "pli", "wpli")}
    chunk = max(1, int(2e7 // (r * r * Z.shape[-1])))
    for start in range(0, n, chunk):
        z = Z[start:start + chunk]
        S = z[:, :, None, :] * np.conj(z[:, None, :, :])                   # (c, r, r, R)
        power = np.real(np.einsum("nir,nir->ni", z, np.conj(z))) / z.shape[-1]
        mean_s = S.mean(-1)
        norm = np.maximum(np.sqrt(power[:, :, None] * power[:, None, :]), 1e-300)
        im = S.imag
        part = slice(start, start + chunk)
        out["coh"][part] = np.abs(mean_s) / norm
        out["imcoh"][part] = np.abs(mean_s.imag) / norm
        out["plv"][part] = np.abs((S / np.maximum(np.abs(S), 1e-300)).mean(-1))
        out["pli"][part] = np.abs(np.sign(im).mean(-1))
        out["wpli"][part] = np.abs(im.mean(-1)) / np.maximum(np.abs(im).mean(-1), 1e-300)
    idx = np.arange(r)
    for key in ("imcoh", "pli", "wpli"):
        out[key][:, idx, idx] = 0.0
    return out


def _spectral(method: str, band: tuple[float, float], nw: float):
    def op(X, t_r, cache):
        key = ("spectral", band, nw)

        def compute():
            result = {m: np.empty((X.shape[0], X.shape[1], X.shape[1]))
                      for m in ("coh", "imcoh", "plv", "pli", "wpli")}
            for tr in np.unique(t_r):
                sel = np.flatnonzero(t_r == tr)
                for m, v in spectral_measures(X[sel], 1.0 / tr, band[0], band[1], nw).items():
                    result[m][sel] = v
            return result
        return _memo(cache, key, compute)[method]
    return op


# --------------------------------------------------------------------------------------
# autoregressive
# --------------------------------------------------------------------------------------

def var_fit(X, lag: int = 1):
    """Batched least-squares VAR(``lag``) with intercept (as statsmodels ``VAR(...).fit``).

    Returns
    -------
    coefs : ndarray, shape (n_samples, lag, n_regions, n_regions)
        ``coefs[n, l, i, j]``: effect of x_j(t - l - 1) on x_i(t) (statsmodels ``coefs``).
    rss : ndarray, shape (n_samples, n_regions)
        Residual sum of squares per equation.
    inv_gram : ndarray, shape (n_samples, 1 + lag * n_regions, 1 + lag * n_regions)
        (Z'Z)^-1 of the regressors [1, x(t-1), ..., x(t-lag)].
    beta : ndarray, shape (n_samples, 1 + lag * n_regions, n_regions)
    """
    n, r, n_t = X.shape
    n_reg = 1 + lag * r
    if n_t - lag <= n_reg:
        raise ValueError(f"VAR({lag}) on {r} regions needs more than {n_reg + lag} time points "
                         f"per window, got {n_t}")
    Y = X[:, :, lag:].transpose(0, 2, 1)                                   # (n, T', r)
    lags = [X[:, :, lag - k - 1: n_t - k - 1].transpose(0, 2, 1) for k in range(lag)]
    Z = np.concatenate([np.ones((n, n_t - lag, 1))] + lags, axis=2)          # (n, T', k)
    gram = np.einsum("ntk,ntl->nkl", Z, Z)
    inv_gram = np.linalg.inv(gram)
    beta = inv_gram @ np.einsum("ntk,nti->nki", Z, Y)
    resid = Y - Z @ beta
    rss = (resid ** 2).sum(axis=1)
    coefs = beta[:, 1:, :].reshape(n, lag, r, r).transpose(0, 1, 3, 2)
    return coefs, rss, inv_gram, beta


def _var_coefficients(X, t_r, cache):
    coefs = var_fit(X, 1)[0][:, 0]
    return coefs.transpose(0, 2, 1)             # [source j, target i]


def conditional_granger(X, lag: int = 1):
    """Conditional Granger causality G[n, j, i] = ln(RSS_i without j's lags / RSS_i full).

    Uses the partitioned-regression identity RSS_restricted = RSS_full + b' (M_JJ)^-1 b,
    with b the coefficients of source j's lags in equation i and M = (Z'Z)^-1, so the
    N x N restricted regressions need no refit. Returned as [source, target]; diagonal 0.
    """
    n, r, _ = X.shape
    _, rss, inv_gram, beta = var_fit(X, lag)
    cols = 1 + np.arange(lag)[None, :] * r + np.arange(r)[:, None]           # (r_source, lag)
    M = inv_gram[:, cols[:, :, None], cols[:, None, :]]                     # (n, r, lag, lag)
    B = beta[:, cols, :]                                                     # (n, r_src, lag, r_tgt)
    Minv = np.linalg.inv(M)
    extra = np.einsum("njat,njab,njbt->njt", B, Minv, B)
    G = np.log((rss[:, None, :] + extra) / rss[:, None, :])
    idx = np.arange(r)
    G[:, idx, idx] = 0.0
    return G


def _cond_gc(lag: int):
    def op(X, t_r, cache):
        return conditional_granger(X, lag)
    return op


def pairwise_granger(X):
    """Bivariate Granger causality at lag 1, G[n, j, i] (source j, target i), every pair.

    For each pair the restricted model regresses x_i(t) on [1, x_i(t-1)], the full model
    adds x_j(t-1); G = ln(RSS_restricted / RSS_full). Computed for all pairs at once from
    lagged Gram matrices (Frisch-Waugh-Lovell).
    """
    Y = X[:, :, 1:]
    L = X[:, :, :-1]
    Y = Y - Y.mean(-1, keepdims=True)
    L = L - L.mean(-1, keepdims=True)
    S_ll = np.einsum("nit,njt->nij", L, L)            # <x_i(t-1), x_j(t-1)>
    S_ly = np.einsum("njt,nit->nji", L, Y)            # <x_j(t-1), x_i(t)>  [j, i]
    S_yy = (Y ** 2).sum(-1)                           # (n, i)
    s_aa = np.einsum("nii->ni", S_ll)                 # own lag variance, per target i
    s_ay = np.einsum("nii->ni", S_ly)                 # <x_i(t-1), x_i(t)>
    rss_r = S_yy - s_ay ** 2 / s_aa                   # (n, i)
    s_ab = S_ll                                       # [i, j] = <a_i, b_j>; symmetric
    b_y = S_ly.transpose(0, 2, 1) - s_ab * (s_ay / s_aa)[:, :, None]          # [i, j]
    b_b = s_aa[:, None, :] - s_ab ** 2 / s_aa[:, :, None]                       # [i, j]
    rss_f = rss_r[:, :, None] - b_y ** 2 / np.maximum(b_b, 1e-300)             # [i, j]
    G = np.log(rss_r[:, :, None] / np.maximum(rss_f, 1e-300)).transpose(0, 2, 1)
    idx = np.arange(X.shape[1])
    G[:, idx, idx] = 0.0
    return G


def _pair_gc(X, t_r, cache):
    return pairwise_granger(X)


# --------------------------------------------------------------------------------------
# the bank
# --------------------------------------------------------------------------------------

def operator_bank(bands: dict | None = None, glasso_alpha: float = 0.1, shrinkage: float = 0.1,
                  mt_nw: float = 2.0) -> dict[str, Operator]:
    """Every operator, by name (44 with the default two bands).

    Parameters
    ----------
    bands : dict, optional
        Band name -> (fmin, fmax) in Hz for the spectral operators (default
        :data:`DEFAULT_BANDS`). Names must be ``[a-z0-9]+``.
    glasso_alpha : float
        L1 penalty of the graphical lasso, on z-scored windows (correlation scale).
    shrinkage : float
        Shrinkage coefficient of ``ShrunkCovariance``.
    mt_nw : float
        Time-half-bandwidth product of the DPSS tapers (2.0: 3 tapers).
    """
    bands = dict(DEFAULT_BANDS if bands is None else bands)
    ops: list[Operator] = []
    est_text = {"empirical": "maximum-likelihood (sklearn EmpiricalCovariance)",
                "ledoitwolf": "Ledoit-Wolf shrinkage (sklearn LedoitWolf)",
                "oas": "oracle approximating shrinkage (sklearn OAS)",
                "shrunk": f"fixed shrinkage {shrinkage} (sklearn ShrunkCovariance)"}
    for prefix, kind in _NILEARN_KINDS.items():
        for est in _ESTIMATORS:
            ops.append(Operator(
                f"{prefix}_{est}", "covariance", False, True,
                f"{kind.capitalize()} from the {est_text[est]} covariance of the window.",
                f"nilearn ConnectivityMeasure(kind='{kind}')", _nilearn(kind, est, shrinkage)))
    for est in ("ledoitwolf", "oas"):
        ops.append(Operator(
            f"tangent_{est}", "covariance", False, True,
            f"Tangent-space embedding (at the geometric mean of all samples) of the {est_text[est]} "
            "covariance.", "nilearn ConnectivityMeasure(kind='tangent')",
            _nilearn("tangent", est, shrinkage)))
    for prefix, kind in (("prec", "precision"), ("pcorr", "partial correlation")):
        ops.append(Operator(
            f"{prefix}_glasso", "covariance", False, True,
            f"{kind.capitalize()} from the graphical lasso (alpha {glasso_alpha}) on z-scored windows.",
            "sklearn GraphicalLasso + nilearn prec_to_partial", _glasso(kind, glasso_alpha)))
    ops += [
        Operator("spearman", "rank", False, True, "Spearman rank correlation.",
                 "scipy rankdata + Pearson (checked against scipy.stats.spearmanr)",
                 lambda X, t, c: spearman(X)),
        Operator("kendall", "rank", False, True, "Kendall tau-b rank correlation.",
                 "hand-written, Gram matrix of pair signs (checked against scipy.stats.kendalltau)",
                 lambda X, t, c: kendall(X)),
        Operator("mi_gaussian", "information", False, False,
                 "Gaussian mutual information -0.5 ln(1 - r^2) of the Pearson correlation (nats).",
                 "analytic from the Pearson correlation", _mi_pearson),
        Operator("mi_gaussian_ledoitwolf", "information", False, False,
                 "Gaussian mutual information of the Ledoit-Wolf correlation (nats).",
                 "nilearn ConnectivityMeasure(correlation, LedoitWolf) + analytic MI", _mi_ledoitwolf),
        Operator("dcor", "information", False, False,
                 "Distance correlation (Szekely et al. 2007), sensitive to non-linear dependence.",
                 "hand-written, Gram matrix of pair distances (checked against a per-pair "
                 "reference and the bivariate-Gaussian closed form)",
                 lambda X, t, c: distance_correlation(X)),
        Operator("pearson_diff", "lagged", False, True,
                 "Pearson correlation of the first temporal differences.", "numpy", _pearson_diff),
        Operator("xcorr_lag1", "lagged", True, True,
                 "Correlation of the source at t with the target at t + 1 sample.",
                 "hand-written (checked against numpy.corrcoef of shifted segments)", _xcorr_fixed(1)),
        Operator("xcorr_lag2", "lagged", True, True,
                 "Correlation of the source at t with the target at t + 2 samples.",
                 "hand-written (checked against numpy.corrcoef of shifted segments)", _xcorr_fixed(2)),
        Operator("xcorr_max_lag2", "lagged", False, True,
                 "Lagged correlation of largest magnitude over lags -2..2 samples (signed).",
                 "hand-written", _xcorr_max(2)),
        Operator("xcorr_max_lag5", "lagged", False, True,
                 "Lagged correlation of largest magnitude over lags -5..5 samples (signed).",
                 "hand-written", _xcorr_max(5)),
    ]
    spectral_text = {"coh": "coherence", "imcoh": "absolute imaginary coherence",
                     "plv": "phase-locking value", "pli": "phase-lag index",
                     "wpli": "weighted phase-lag index"}
    for band, (fmin, fmax) in bands.items():
        for method, text in spectral_text.items():
            ops.append(Operator(
                f"{method}_{band}", "spectral", False, False,
                f"Multitaper {text} in the {band} band ({fmin}-{fmax} Hz).",
                "MNE psd_array_multitaper + mne-connectivity estimator definitions",
                _spectral(method, (float(fmin), float(fmax)), mt_nw)))
    ops += [
        Operator("var1", "autoregressive", True, True,
                 "VAR(1) coefficient of the source at t-1 in the target's equation.",
                 "batched least squares (identical to statsmodels VAR)", _var_coefficients),
        Operator("gc_cond_lag1", "autoregressive", True, False,
                 "Conditional Granger causality, VAR(1) on all regions (log variance ratio).",
                 "batched least squares (identical to statsmodels OLS refits)", _cond_gc(1)),
        Operator("gc_cond_lag2", "autoregressive", True, False,
                 "Conditional Granger causality, VAR(2) on all regions (log variance ratio).",
                 "batched least squares (identical to statsmodels OLS refits)", _cond_gc(2)),
        Operator("gc_pair_lag1", "autoregressive", True, False,
                 "Bivariate Granger causality at lag 1 (log variance ratio).",
                 "batched least squares (identical to statsmodels OLS refits)", _pair_gc),
    ]
    bank = {op.name: op for op in ops}
    if len(bank) != len(ops):
        raise ValueError("operator names must be unique; check the band names")
    return bank


FAMILIES = ("covariance", "rank", "information", "lagged", "spectral", "autoregressive")


def select_operators(bank: dict[str, Operator], names) -> list[str]:
    """Resolve a config selection (``"all"``, or names / family names) to operator names.

    Raises
    ------
    ValueError
        Naming the unknown entries.
    """
    if names in ("all", None):
        return list(bank)
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    unknown = []
    for item in names:
        if item in bank:
            out.append(item)
        elif item in FAMILIES:
            out += [n for n, op in bank.items() if op.family == item]
        else:
            unknown.append(item)
    if unknown:
        raise ValueError(f"config key fc ... operators: unknown operator(s) or family(ies) "
                         f"{unknown}; known families {list(FAMILIES)}, operators {sorted(bank)}")
    return list(dict.fromkeys(out))


def compute_operators(X, t_r, names, bank: dict[str, Operator]) -> np.ndarray:
    """Apply several operators to the same samples, sharing intermediates.

    Returns
    -------
    ndarray, shape (n_operators, n_samples, n_regions, n_regions)
    """
    X, t_r = _check_batch(X, t_r, ",".join(names))
    cache: dict = {}
    return np.stack([bank[name].func(X, t_r, cache) for name in names]).astype(float)
