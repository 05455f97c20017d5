"""Ridge, kernel ridge and banded ridge encoding models with himalaya, cross-validated.

Outer loop: folds of whole blocks of samples (runs or contiguous segments; leave one block
out, or grouped K-fold), so that temporally correlated samples never straddle train and
test. Inner loop: the regularisation (``alpha``, and for banded ridge the relative weight
of each feature band) is chosen per target by grouped K-fold on the training blocks only,
with himalaya's ``RidgeCV`` / ``KernelRidgeCV`` / ``GroupRidgeCV`` (random search on the
simplex of band weights). Features are z-scored with training-fold statistics. Scores are
computed per target on each held-out fold: Pearson correlation and R^2 (1 - SSE/SST about
the test-fold mean).

Band importance (several feature bands): the held-out prediction is split into the part
of each band (its columns times their weights) and the variance it explains is assigned
with himalaya's product measure (``r2_score_split``; the parts add up to the joint R^2).
The band *weights* of banded ridge are relative scalings chosen by random search, not
shares of explained variance.

Significance: :mod:`neuroflow.encoding.permutation`.

Noise ceiling: where conditions repeat (:func:`noise_ceiling`), the explainable variance of
single-repeat responses is estimated from their variability across repeats, and R^2 is
divided by it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from himalaya.backend import get_backend
from himalaya.kernel_ridge import KernelRidgeCV
from himalaya.ridge import GroupRidgeCV, RidgeCV
from himalaya.scoring import r2_score_split
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

MODELS = ("auto", "ridge", "kernel_ridge", "banded_ridge")


def group_splits(groups, n_folds: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index pairs that keep each group (block of samples) whole.

    Parameters
    ----------
    groups : ndarray, shape (n_samples,)
        Block label of each sample.
    n_folds : int, optional
        ``None`` or >= the number of groups: leave one group out; else grouped K-fold
        (scikit-learn ``GroupKFold``, deterministic).

    Returns
    -------
    list of (train, test) integer index arrays
    """
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError(f"cross-validation needs >= 2 blocks of samples, got {n_groups}")
    if n_folds is not None and n_folds < 2:
        raise ValueError(f"need >= 2 folds, got {n_folds}")
    splitter = LeaveOneGroupOut() if n_folds is None or n_folds >= n_groups else GroupKFold(n_splits=n_folds)
    return [(tr, te) for tr, te in splitter.split(np.zeros(len(groups)), groups=groups)]


def resolve_model(model: str, n_bands: int, n_features: int, n_samples: int) -> str:
    """``auto``: banded ridge for several bands, kernel ridge when features > samples."""
    if model not in MODELS:
        raise ValueError(f"config key encoding model: expected one of {MODELS}, got {model!r}")
    if model != "auto":
        return model
    if n_bands > 1:
        return "banded_ridge"
    return "kernel_ridge" if n_features > n_samples else "ridge"


class SVDRidgeCV:
    """Ridge with one penalty per target chosen by cross-validation, solved by SVD (numpy).

    The same estimator as himalaya's ``RidgeCV(fit_intercept=True)`` (per-target alpha with
    the best mean over splits of the negative mean squared error; refit on every training
    sample) computed the plain way: per split one SVD ``X = U s V'``, then ``U' Y`` once and
    the validation predictions of every alpha as ``(X_val V) diag(s / (s^2 + alpha)) U' Y``.
    Used on the CPU (himalaya backend numpy); himalaya's solvers run on torch backends.
    """

    def __init__(self, alphas, cv, n_targets_batch: int | None = None):
        self.alphas = np.asarray(alphas, dtype=float)
        self.cv = cv
        self.n_targets_batch = n_targets_batch

    @staticmethod
    def _svd(X):
        mean = X.mean(axis=0)
        U, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
        return mean, U, s, Vt

    def _cv_scores(self, X, Y) -> np.ndarray:
        scores = np.zeros((len(self.alphas), Y.shape[1]))
        for tr, va in self.cv:
            mean, U, s, Vt = self._svd(X[tr])
            ym = Y[tr].mean(axis=0)
            UtY = U.T @ (Y[tr] - ym)
            XV = (X[va] - mean) @ Vt.T
            for a, alpha in enumerate(self.alphas):
                pred = XV @ ((s / (s**2 + alpha))[:, None] * UtY) + ym
                scores[a] -= ((Y[va] - pred) ** 2).mean(axis=0)
        return scores / len(self.cv)

    def fit(self, X, Y):
        X = np.asarray(X, dtype=float)
        Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
        batch = self.n_targets_batch or Y.shape[1]
        scores = np.concatenate(
            [self._cv_scores(X, Y[:, i : i + batch]) for i in range(0, Y.shape[1], batch)], axis=1
        )
        self.best_alphas_ = self.alphas[np.argmax(scores, axis=0)]
        mean, U, s, Vt = self._svd(X)
        ym = Y.mean(axis=0)
        UtY = U.T @ (Y - ym)
        self.coef_ = np.empty((X.shape[1], Y.shape[1]))
        for alpha in np.unique(self.best_alphas_):
            sel = self.best_alphas_ == alpha
            self.coef_[:, sel] = Vt.T @ ((s / (s**2 + alpha))[:, None] * UtY[:, sel])
        self.intercept_ = ym - mean @ self.coef_
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float) @ self.coef_ + self.intercept_


def make_estimator(
    model: str,
    alphas,
    inner_cv,
    *,
    band_index=None,
    n_iter: int | None = None,
    random_state: int = 0,
    n_targets_batch: int | None = None,
):
    """The himalaya estimator for one fit (per-target regularisation chosen by `inner_cv`).

    Parameters
    ----------
    model : {'ridge', 'kernel_ridge', 'banded_ridge'}
    alphas : ndarray, shape (n_alphas,)
        Candidate regularisation strengths.
    inner_cv : list of (train, test) or int
        Inner splits of the training samples.
    band_index : ndarray of int, shape (n_features,), optional
        Band of each column (banded ridge).
    n_iter : int
        Banded ridge: band-weight vectors sampled from the Dirichlet distribution (config
        ``encoding.ridge.n_iter``).
    random_state : int
        Seed of that sampling.
    n_targets_batch : int, optional
        Targets solved at once (bounds memory on a GPU); None = all.
    """
    alphas = np.asarray(alphas, dtype=float)
    batch = {"n_targets_batch": n_targets_batch, "n_targets_batch_refit": n_targets_batch}
    if model == "ridge" and get_backend().name == "numpy":
        return SVDRidgeCV(alphas, inner_cv, n_targets_batch)
    if model == "ridge":
        return RidgeCV(alphas=alphas, fit_intercept=True, cv=inner_cv, solver_params={**batch, "warn": False})
    if model == "kernel_ridge":
        return KernelRidgeCV(
            alphas=alphas, kernel="linear", fit_intercept=True, cv=inner_cv, solver_params=batch, warn=False
        )
    if model == "banded_ridge":
        if not n_iter:
            raise ValueError("banded ridge needs n_iter (config key encoding.ridge.n_iter)")
        return GroupRidgeCV(
            groups=np.asarray(band_index),
            fit_intercept=True,
            cv=inner_cv,
            random_state=random_state,
            solver_params={**batch, "alphas": alphas, "n_iter": n_iter, "progress_bar": False},
        )
    raise ValueError(f"unknown model {model!r}")


def _to_numpy(x) -> np.ndarray:
    return np.asarray(get_backend().to_numpy(x), dtype=float)


def standardize(train, test):
    """z-score both with the training columns' mean and SD (constant columns: SD 1)."""
    mean = train.mean(axis=0)
    sd = train.std(axis=0)
    sd[sd == 0] = 1.0
    return (train - mean) / sd, (test - mean) / sd


def correlation(y, yhat) -> np.ndarray:
    """Pearson r per column; NaN where either column is constant.

    Parameters
    ----------
    y, yhat : ndarray, shape (n_samples, n_targets)

    Returns
    -------
    ndarray, shape (n_targets,)
    """
    y = y - y.mean(axis=0)
    yhat = yhat - yhat.mean(axis=0)
    denom = np.sqrt((y**2).sum(axis=0) * (yhat**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (y * yhat).sum(axis=0) / denom
    return np.where(denom > 0, r, np.nan)


def r2(y, yhat) -> np.ndarray:
    """Coefficient of determination per column (1 - SSE/SST about the column mean)."""
    sst = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    sse = ((y - yhat) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sst > 0, 1 - sse / sst, np.nan)


def primal_weights(est, Xtr) -> np.ndarray:
    """Weights (n_features, n_targets) of a fitted himalaya estimator on its training X."""
    if hasattr(est, "dual_coef_"):
        return Xtr.T @ _to_numpy(est.dual_coef_).reshape(len(Xtr), -1)
    return _to_numpy(est.coef_).reshape(Xtr.shape[1], -1)


def split_r2(y, Xte, weights, band_index, n_bands: int) -> np.ndarray:
    """Held-out variance explained by each band (himalaya ``r2_score_split``, product measure).

    Parameters
    ----------
    y : ndarray, shape (n_test, n_targets)
    Xte : ndarray, shape (n_test, n_features)
        Standardised test design.
    weights : ndarray, shape (n_features, n_targets)
    band_index : ndarray of int, shape (n_features,)

    Returns
    -------
    ndarray, shape (n_bands, n_targets)
        Adds up over bands to the R^2 (about the test mean) of the mean-centred prediction.
    """
    parts = np.stack([Xte[:, band_index == b] @ weights[band_index == b] for b in range(n_bands)])
    parts -= parts.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _to_numpy(r2_score_split(y - y.mean(axis=0), parts))


@dataclass(frozen=True)
class FoldSettings:
    """What every outer fold of :func:`cross_validated_fit` is fitted with."""

    model: str
    alphas: np.ndarray
    band_index: np.ndarray
    n_bands: int
    n_inner_folds: int
    n_iter: int | None
    random_state: int
    n_targets_batch: int | None
    dtype: str


def _fold_fit(X, Y, groups, tr, te, settings: FoldSettings) -> dict:
    """One outer fold: standardise, choose the regularisation by inner CV, predict, score."""
    s = settings
    model, band_index, n_bands, dtype = s.model, s.band_index, s.n_bands, s.dtype
    Xtr, Xte = standardize(X[tr], X[te])
    est = make_estimator(
        model,
        s.alphas,
        group_splits(groups[tr], s.n_inner_folds),
        band_index=band_index,
        n_iter=s.n_iter,
        random_state=s.random_state,
        n_targets_batch=s.n_targets_batch,
    )
    est.fit(Xtr.astype(dtype), Y[tr].astype(dtype))
    yhat = _to_numpy(est.predict(Xte.astype(dtype))).reshape(len(te), -1)
    out = {
        "prediction": yhat,
        "r": correlation(Y[te], yhat),
        "r2": r2(Y[te], yhat),
        "alpha": _to_numpy(est.best_alphas_).ravel(),
        "deltas": None,
        "band_r2": split_r2(Y[te], Xte, primal_weights(est, Xtr), band_index, n_bands),
    }
    if model == "banded_ridge":
        out["deltas"] = _to_numpy(est.deltas_).reshape(n_bands, -1)  # (n_bands, n_targets)
    return out


def cross_validated_fit(
    X,
    Y,
    groups,
    *,
    model: str,
    alphas,
    n_inner_folds: int,
    bands=None,
    n_folds: int | None = None,
    n_iter: int | None = None,
    random_state: int = 0,
    n_targets_batch: int | None = None,
    dtype: str = "float64",
    splits=None,
) -> dict:
    """Nested cross-validated predictions and per-fold scores of a ridge-family model.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        Design matrix (e.g. FIR-lagged features).
    Y : ndarray, shape (n_samples, n_targets)
        Responses.
    groups : ndarray, shape (n_samples,)
        Block of each sample; folds (outer and inner) keep blocks whole.
    model : {'auto', 'ridge', 'kernel_ridge', 'banded_ridge'}
    alphas : ndarray
        Candidate alphas.
    n_inner_folds : int
        Inner grouped folds.
    bands : ndarray of str, shape (n_features,), optional
        Band (feature space) of each column; > 1 band enables banded ridge under 'auto'.
    n_folds : int, optional
        Outer folds (None = leave one block out).
    n_iter : int, optional
        Banded ridge: band-weight samples.
    random_state : int
    n_targets_batch : int, optional
    dtype : str
        Floating type handed to himalaya (float32 halves GPU memory).
    splits : list of (train, test), optional
        Outer splits to use instead of `groups`/`n_folds`.

    Returns
    -------
    dict
        ``prediction`` (n_samples, n_targets; each sample predicted by the fold that held
        it out), ``fold`` (n_samples,), ``r`` and ``r2`` (n_folds, n_targets), ``alpha``
        (n_folds, n_targets; for banded ridge ``1 / sum(exp(deltas))``), ``deltas``
        (n_folds, n_bands, n_targets; banded ridge, else None; band b's penalty is
        ``exp(-delta_b)``), ``band_weight`` (``exp(deltas)`` normalised over bands, or None),
        ``band_r2`` (n_folds, n_bands, n_targets; held-out split R^2), ``model``,
        ``band_names``, ``band_index``, ``groups`` and ``splits``.
    """
    X, Y, groups = _check_samples(X, Y, groups)
    bands = np.zeros(X.shape[1], dtype=int).astype(str) if bands is None else np.asarray(bands)
    band_names, band_index = np.unique(bands, return_inverse=True)
    splits = splits if splits is not None else group_splits(groups, n_folds)
    model = resolve_model(model, len(band_names), X.shape[1], min(len(tr) for tr, _ in splits))
    n_bands = len(band_names)
    settings = FoldSettings(
        model, alphas, band_index, n_bands, n_inner_folds, n_iter, random_state, n_targets_batch, dtype
    )
    pred, fold, folds = _outer_folds(X, Y, groups, splits, settings)
    out, weight = _fold_scores(folds, model)
    return {
        **out,
        "prediction": pred,
        "fold": fold,
        "band_weight": weight,
        "model": model,
        "band_names": [str(b) for b in band_names],
        "band_index": band_index,
        "groups": groups,
        "splits": splits,
    }


def _check_samples(X, Y, groups):
    """X, Y (2-D) and groups as arrays, with the same number of samples."""
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    Y = Y[:, None] if Y.ndim == 1 else Y
    groups = np.asarray(groups)
    if X.shape[0] != Y.shape[0] or groups.shape[0] != X.shape[0]:
        raise ValueError(
            f"X ({X.shape[0]}), Y ({Y.shape[0]}) and groups ({groups.shape[0]}) "
            "need the same number of samples"
        )
    return X, Y, groups


def _outer_folds(X, Y, groups, splits, settings: FoldSettings):
    """Fit every outer fold: the held-out prediction of each sample, its fold, the fold results."""
    pred = np.full(Y.shape, np.nan)
    fold = np.full(Y.shape[0], -1)
    folds = []
    for k, (tr, te) in enumerate(splits):
        folds.append(_fold_fit(X, Y, groups, tr, te, settings))
        pred[te], fold[te] = folds[-1]["prediction"], k
    return pred, fold, folds


def _fold_scores(folds: list[dict], model: str):
    """Per-fold scores stacked over folds, and the normalised band weights (banded ridge)."""
    out = {key: np.array([f[key] for f in folds]) for key in ("r", "r2", "alpha", "band_r2")}
    out["deltas"] = np.array([f["deltas"] for f in folds]) if model == "banded_ridge" else None
    weight = None
    if out["deltas"] is not None:
        weight = np.exp(out["deltas"] - out["deltas"].max(axis=1, keepdims=True))
        weight /= weight.sum(axis=1, keepdims=True)
    return out, weight


def refit_all(
    X,
    Y,
    groups,
    *,
    model: str,
    alphas,
    n_inner_folds: int,
    bands=None,
    n_iter: int | None = None,
    random_state: int = 0,
    dtype: str = "float64",
) -> dict:
    """Fit on every sample (regularisation by grouped CV) for interpretable weights.

    Returns
    -------
    dict
        ``coef`` (n_features, n_targets; per z-scored feature, in response units),
        ``alpha`` (n_targets,).
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    bands = np.zeros(X.shape[1], dtype=int).astype(str) if bands is None else np.asarray(bands)
    _, band_index = np.unique(bands, return_inverse=True)
    Xs, _ = standardize(X, X[:1])
    if model == "kernel_ridge":
        model = "ridge"  # primal weights are wanted here
    est = make_estimator(
        model,
        alphas,
        group_splits(groups, n_inner_folds),
        band_index=band_index,
        n_iter=n_iter,
        random_state=random_state,
    )
    est.fit(Xs.astype(dtype), Y.astype(dtype))
    coef = _to_numpy(est.coef_).reshape(X.shape[1], -1)
    return {"coef": coef, "alpha": _to_numpy(est.best_alphas_).ravel()}


def noise_ceiling(responses, n_average: int = 1) -> np.ndarray:
    """Fraction of response variance explainable by any model of the condition.

    With ``responses[r, c, t]`` the response of target ``t`` to repeat ``r`` of condition
    ``c``: noise variance ``s2_n`` = mean over conditions of the variance across repeats
    (ddof 1); signal variance ``s2_s`` = variance across conditions of the repeat mean minus
    ``s2_n / n_repeats`` (clipped at 0). The ceiling for responses averaged over
    `n_average` repeats is ``s2_s / (s2_s + s2_n / n_average)`` =
    ``ncsnr^2 / (ncsnr^2 + 1 / n_average)`` with ``ncsnr = s_s / s_n`` (the NSD /
    Algonauts noise ceiling, as a fraction rather than a percentage).

    Parameters
    ----------
    responses : ndarray, shape (n_repeats, n_conditions, n_targets)
    n_average : int
        Repeats averaged in the responses that are predicted (1 = single trials/blocks).

    Returns
    -------
    ndarray, shape (n_targets,)
        Noise ceiling in [0, 1] (NaN where the noise variance is 0).
    """
    resp = np.asarray(responses, dtype=float)
    if resp.ndim == 2:
        resp = resp[:, :, None]
    if resp.ndim != 3 or resp.shape[0] < 2 or resp.shape[1] < 2:
        raise ValueError(
            f"noise ceiling needs responses shaped (repeats >= 2, conditions >= 2, targets), got {resp.shape}"
        )
    n_rep = resp.shape[0]
    noise = np.nanmean(np.nanvar(resp, axis=0, ddof=1), axis=0)
    signal = np.maximum(np.nanvar(np.nanmean(resp, axis=0), axis=0, ddof=1) - noise / n_rep, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        nc = signal / (signal + noise / n_average)
    return np.where(noise > 0, nc, np.nan)


def condition_means(values, conditions, repeats, delay: int = 0, skip=()):
    """Mean of each (repeat, condition) block of a time series, after a response delay.

    Parameters
    ----------
    values : ndarray, shape (n_samples, n_targets)
    conditions : ndarray of str, shape (n_samples,)
        Condition label of each sample (the stimulus on screen).
    repeats : ndarray, shape (n_samples,)
        Repeat (run) label of each sample.
    delay : int
        Samples by which the response lags the label (e.g. 2 volumes for BOLD).
    skip : sequence of str
        Labels left out (e.g. a rest baseline).

    Returns
    -------
    means : ndarray, shape (n_repeats, n_conditions, n_targets)
        NaN where a condition is absent from a repeat.
    condition_names, repeat_names : ndarray
    """
    values = np.asarray(values, dtype=float).reshape(len(conditions), -1)
    conditions = np.asarray(conditions).astype(str)
    repeats = np.asarray(repeats)
    shifted = np.full(len(conditions), "", dtype=object)
    for rep in np.unique(repeats):
        idx = np.flatnonzero(repeats == rep)
        if delay:
            shifted[idx[delay:]] = conditions[idx[:-delay]]
        else:
            shifted[idx] = conditions[idx]
    names = np.array(sorted(set(conditions) - set(skip)))
    reps = np.unique(repeats)
    means = np.full((len(reps), len(names), values.shape[1]), np.nan)
    for i, rep in enumerate(reps):
        for j, name in enumerate(names):
            sel = (repeats == rep) & (shifted == name)
            if sel.any():
                means[i, j] = values[sel].mean(axis=0)
    return means, names, reps
