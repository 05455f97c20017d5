"""Autoregressive operators: VAR(1) coefficients and conditional Granger causality of all
regions (batched least squares, as statsmodels), and the bivariate models of every region
pair: Granger causality at lags 1-3 (Gaussian transfer entropy x 2), VAR(1) coefficients,
and the parametric spectral measures of the pair's VAR(p) - directed transfer function,
partial directed coherence and Geweke's spectral Granger causality - averaged over a band."""

from __future__ import annotations

import numpy as np

from ._base import memo, zero_diagonal
from ._kernels import var_pair_spectra


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
        raise ValueError(
            f"VAR({lag}) on {r} regions needs more than {n_reg + lag} time points per window, got {n_t}"
        )
    Y = X[:, :, lag:].transpose(0, 2, 1)  # (n, T', r)
    lags = [X[:, :, lag - k - 1 : n_t - k - 1].transpose(0, 2, 1) for k in range(lag)]
    Z = np.concatenate([np.ones((n, n_t - lag, 1))] + lags, axis=2)  # (n, T', k)
    gram = Z.transpose(0, 2, 1) @ Z
    inv_gram = np.linalg.inv(gram)
    beta = inv_gram @ (Z.transpose(0, 2, 1) @ Y)
    resid = Y - Z @ beta
    rss = (resid**2).sum(axis=1)
    coefs = beta[:, 1:, :].reshape(n, lag, r, r).transpose(0, 1, 3, 2)
    return coefs, rss, inv_gram, beta


def var_coefficients(X, t_r, cache):
    """Operator: VAR(1) coefficients of all regions, [source, target]."""
    coefs = var_fit(X, 1)[0][:, 0]
    return coefs.transpose(0, 2, 1)  # [source j, target i]


def conditional_granger(X, lag: int = 1):
    """Conditional Granger causality G[n, j, i] = ln(RSS_i without j's lags / RSS_i full).

    Uses the partitioned-regression identity RSS_restricted = RSS_full + b' (M_JJ)^-1 b,
    with b the coefficients of source j's lags in equation i and M = (Z'Z)^-1, so the
    N x N restricted regressions need no refit. Returned as [source, target]; diagonal 0.
    """
    n, r, _ = X.shape
    _, rss, inv_gram, beta = var_fit(X, lag)
    cols = 1 + np.arange(lag)[None, :] * r + np.arange(r)[:, None]  # (r_source, lag)
    M = inv_gram[:, cols[:, :, None], cols[:, None, :]]  # (n, r, lag, lag)
    B = beta[:, cols, :]  # (n, r_src, lag, r_tgt)
    Minv = np.linalg.inv(M)
    extra = np.einsum("njat,njab,njbt->njt", B, Minv, B)
    G = np.log((rss[:, None, :] + extra) / rss[:, None, :])
    idx = np.arange(r)
    G[:, idx, idx] = 0.0
    return G


def cond_gc(lag: int):
    """Operator: :func:`conditional_granger` at ``lag``."""

    def op(X, t_r, cache):
        return conditional_granger(X, lag)

    return op


def _lag_moments(X, p: int):
    """Centred lag products of every window: S (n, r, p, r, p), C (n, r, p, r), yy (n, r, r).

    With Y = x(t) and L_k = x(t - k), k = 1..p, over t = p..T-1, each centred:
    S[i, k, j, l] = <L_ik, L_jl>, C[i, k, j] = <L_ik, Y_j>, yy[i, j] = <Y_i, Y_j>.
    """
    n_t = X.shape[-1]
    Y = X[..., p:] - X[..., p:].mean(-1, keepdims=True)
    L = np.stack([X[..., p - k : n_t - k] for k in range(1, p + 1)], axis=2)  # (n, r, p, T')
    L = L - L.mean(-1, keepdims=True)
    Lf = L.reshape(L.shape[0], -1, L.shape[-1])
    S = (Lf @ Lf.transpose(0, 2, 1)).reshape(L.shape[0], L.shape[1], p, L.shape[1], p)
    C = (Lf @ Y.transpose(0, 2, 1)).reshape(L.shape[0], L.shape[1], p, L.shape[1])
    return S, C, Y @ Y.transpose(0, 2, 1)


def _pair_solve(X, p: int):
    """Least squares of every target i on [its own p lags, source j's p lags], all pairs.

    Returns
    -------
    beta : ndarray, shape (n, r_source, r_target, 2p)
        Coefficients [own lags 1..p, source lags 1..p]; the pair i == j is meaningless.
    c : ndarray, shape (n, r_source, r_target, 2p)
        Cross products of the regressors with the target.
    rss_full, rss_own : ndarray, shapes (n, r_source, r_target) and (n, r_target)
        Residual sums of squares with and without the source's lags.
    yy : ndarray, shape (n, r, r)
    """
    S, C, yy = _lag_moments(X, p)
    n, r = X.shape[:2]
    idx = np.arange(r)
    own = S[:, idx, :, idx, :].transpose(1, 0, 2, 3)  # (n, r, p, p)
    cross = S.transpose(0, 1, 3, 2, 4)  # (n, i, j, p, p)
    G = np.empty((n, r, r, 2 * p, 2 * p))  # [n, source j, target i]
    G[..., :p, :p] = own[:, None, :, :, :]
    G[..., p:, p:] = own[:, :, None, :, :]
    G[..., :p, p:] = cross.transpose(0, 2, 1, 3, 4)  # <own i lags, src j lags>
    G[..., p:, :p] = cross  # <src j lags, own i lags>
    G[:, idx, idx] = np.eye(2 * p)
    c_own = C[:, idx, :, idx].transpose(1, 0, 2)  # (n, i, p): <L_i, Y_i>
    c = np.concatenate(
        [np.broadcast_to(c_own[:, None], (n, r, r, p)), C.transpose(0, 1, 3, 2)], axis=-1
    )  # [j, i]: <L_j, Y_i>
    beta = np.linalg.solve(G, c[..., None])[..., 0]
    y2 = np.einsum("nii->ni", yy)
    rss_full = y2[:, None, :] - (c * beta).sum(-1)
    rss_own = y2 - np.einsum("nik,nik->ni", c_own, np.linalg.solve(own, c_own[..., None])[..., 0])
    return beta, c, rss_full, rss_own, yy


def _chunked(X, p: int, fn, out_shape=(), per_pair: int = 0):
    """Apply ``fn(*_pair_solve(chunk, p))`` over chunks of windows (bounded memory;
    ``per_pair``: elements ``fn`` holds per region pair beyond the fit's)."""
    n, r = X.shape[:2]
    chunk = max(1, int(5e6 // (r * r * (4 * p * p + per_pair))))
    parts = [fn(*_pair_solve(X[s : s + chunk], p)) for s in range(0, n, chunk)]
    return np.concatenate(parts) if parts else np.empty((0, r, r) + out_shape)


def pairwise_granger(X, lag: int = 1):
    """Bivariate Granger causality G[n, j, i] (source j, target i) at ``lag`` lags, all pairs.

    For each pair the restricted model regresses x_i(t) on its own lags 1..lag (and an
    intercept), the full model adds x_j's lags; G = ln(RSS_restricted / RSS_full), equal to
    twice the Gaussian transfer entropy with histories k = l = ``lag``. Diagonal 0.
    """

    def gc(beta, c, rss_full, rss_own, yy):
        return np.log(rss_own[:, None, :] / np.maximum(rss_full, 1e-300))

    return zero_diagonal(_chunked(X, lag, gc))


def pair_gc(lag: int):
    """Operator: :func:`pairwise_granger` at ``lag``."""

    def op(X, t_r, cache):
        return pairwise_granger(X, lag)

    return op


def var1_pair(X, t_r, cache):
    """Operator: coefficient of x_source(t-1) in x_target(t) in the pair's VAR(1)."""
    return zero_diagonal(_chunked(X, 1, lambda beta, *rest: beta[..., 1]))


def _pair_var(beta, c, rss_full, yy, p: int):
    """Bivariate VAR(p) of every ordered pair (target i = variable 1, source j = variable 2).

    Returns A (n, j, i, p, 2, 2), the lag matrices, and Sigma (n, j, i, 2, 2), the residual
    sums of squares and cross products (the covariance up to a factor).
    """
    n, r = beta.shape[:2]
    bT = beta.transpose(0, 2, 1, 3)  # [j, i] -> equation of j
    A = np.empty((n, r, r, p, 2, 2))
    A[..., 0, 0], A[..., 0, 1] = beta[..., :p], beta[..., p:]
    A[..., 1, 1], A[..., 1, 0] = bT[..., :p], bT[..., p:]
    c_j = np.concatenate([c.transpose(0, 2, 1, 3)[..., p:], c.transpose(0, 2, 1, 3)[..., :p]], axis=-1)
    s12 = yy.transpose(0, 2, 1) - (beta * c_j).sum(-1)  # <e_i, e_j>
    Sigma = np.empty((n, r, r, 2, 2))
    Sigma[..., 0, 0], Sigma[..., 1, 1] = rss_full, rss_full.transpose(0, 2, 1)
    Sigma[..., 0, 1] = Sigma[..., 1, 0] = s12
    return A, Sigma


def var_spectral_measures(A, Sigma, freqs, t_r: float) -> dict:
    """DTF, PDC and spectral Granger causality source j -> target i, averaged over ``freqs``.

    A(f) = I - sum_k A_k exp(-2 pi i f k t_r), H = A(f)^-1, S = H Sigma H^*:
    dtf = |H_12|^2 / (|H_11|^2 + |H_12|^2) (Kaminski & Blinowska 1991, squared),
    pdc = |A_12|^2 / (|A_12|^2 + |A_22|^2) (Baccala & Sameshima 2001, squared),
    sgc = ln(S_11 / (S_11 - (Sigma_22 - Sigma_12^2 / Sigma_11) |H_12|^2)) (Geweke 1982).
    """
    p = A.shape[-3]
    phase = np.exp(-2j * np.pi * np.outer(np.arange(1, p + 1), freqs * t_r))  # (p, F)
    out = var_pair_spectra(np.ascontiguousarray(A), np.ascontiguousarray(Sigma), phase)
    return dict(zip(("dtf", "pdc", "sgc"), out))


VAR_SPECTRAL = ("dtf", "pdc", "sgc")


def band_frequencies(t_r: float, band: tuple[float, float, bool], n_freqs: int = 16):
    """``n_freqs`` evenly spaced frequencies (Hz) in ``band`` ((fmin, fmax, relative); relative
    edges are fractions of the sampling rate), capped at the Nyquist frequency."""
    nyquist = 0.5 / t_r
    if band[2]:
        band = (band[0] / t_r, band[1] / t_r)
    if band[0] >= nyquist:
        raise ValueError(
            f"band {band[0]}-{band[1]} Hz lies above the Nyquist frequency "
            f"{nyquist:.4g} Hz of windows at TR {t_r:.4g} s"
        )
    return np.linspace(band[0], min(band[1], nyquist), n_freqs)


def pair_var_models(X, order: int):
    """:func:`_pair_var` of every window: A (n, r, r, order, 2, 2), Sigma (n, r, r, 2, 2)."""

    def fit(beta, c, rss_full, rss_own, yy):
        A, Sigma = _pair_var(beta, c, rss_full, yy, order)
        return np.concatenate([A.reshape(A.shape[:3] + (-1,)), Sigma.reshape(Sigma.shape[:3] + (4,))], -1)

    packed = _chunked(X, order, fit)
    n, r = X.shape[:2]
    return packed[..., :-4].reshape(n, r, r, order, 2, 2), packed[..., -4:].reshape(n, r, r, 2, 2)


def var_spectral(method: str, band: tuple[float, float, bool], order: int):
    """Operator: ``method`` of :data:`VAR_SPECTRAL` of the pairs' VAR(``order``) in ``band``."""

    def op(X, t_r, cache):
        def compute():
            A, Sigma = memo(cache, ("pair_var", order), lambda: pair_var_models(X, order))
            result = {m: np.empty((X.shape[0], X.shape[1], X.shape[1])) for m in VAR_SPECTRAL}
            chunk = max(1, int(5e6 // (X.shape[1] ** 2 * 16 * 16)))
            for tr in np.unique(t_r):
                sel = np.flatnonzero(t_r == tr)
                freqs = band_frequencies(tr, band)
                for s in range(0, sel.size, chunk):
                    part = sel[s : s + chunk]
                    measures = var_spectral_measures(A[part], Sigma[part], freqs, tr)
                    for m in VAR_SPECTRAL:
                        result[m][part] = measures[m]
            return result

        return memo(cache, ("var_spectral", band, order), compute)[method]

    return op
