"""Significance of held-out encoding accuracy: circular-shift nulls and permutation p-values.

Every null shifts the responses circularly within each run (the same shift for every
target, which keeps each series' autocorrelation and the correlations between targets
while breaking the stimulus alignment) and recomputes the statistic the way the observed
one was computed: the mean over outer folds of the held-out Pearson r.

Modes (config ``permutation.mode``):

* ``refit_fixed`` (default): every outer fold is refitted on the shifted responses in
  closed form, with the regularisation chosen on the real responses held fixed (per target
  ``alpha``; for banded ridge the per-band scalings). Ridge with a fixed penalty is a
  linear smoother, so a refit costs two small matrix products per fold. The folds share
  training data, so their scores are correlated under the null as in the observed fit; the
  null keeps that dependence. Only the inner-CV choice of the penalty is not repeated.
* ``refit``: the whole nested cross-validation is repeated per shift (exact, slow).
* ``predictions``: the held-out responses of each fold are shifted against the fixed
  predictions of that fold. Fast, but the folds' null scores are then independent while
  the observed ones are not: the null is too narrow and p-values are too small. Kept for
  comparison; the pipeline says so in the log, the outputs and the report.
"""

from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests

from neuroflow.encoding.ridge import correlation, cross_validated_fit, standardize
from neuroflow.encoding.settings import MODES

#: Modes whose null ignores the dependence between fold scores (anti-conservative).
MISCALIBRATED = {
    "predictions": "the folds' null scores are drawn independently although the "
    "observed fold scores are correlated (shared training data): "
    "the null is too narrow and p-values are too small"
}


def circular_shifts(runs, n_permutations: int, min_shift: int, random_state: int = 0) -> list[np.ndarray]:
    """Index arrays that shift samples circularly within each run.

    Each permutation draws one offset per run, uniform in [min_shift, n_run - min_shift].

    Returns
    -------
    list of ndarray, shape (n_samples,)
        ``Y[index]`` is the shifted response.
    """
    runs = np.asarray(runs)
    rng = np.random.default_rng(random_state)
    names = np.unique(runs)
    members = [np.flatnonzero(runs == run) for run in names]
    for run, idx in zip(names, members, strict=True):
        if len(idx) <= 2 * min_shift:
            raise ValueError(
                f"run {run!r} has {len(idx)} samples, too few for circular shifts "
                f"of at least {min_shift} samples (lower permutation.min_shift_s)"
            )
    out = []
    for _ in range(n_permutations):
        index = np.arange(len(runs))
        for idx in members:
            n = len(idx)
            index[idx] = idx[np.roll(np.arange(n), int(rng.integers(min_shift, n - min_shift + 1)))]
        out.append(index)
    return out


def _fold_smoothers(X, fit: dict) -> list[tuple]:
    """Per outer fold: (train, test, [(targets, U, B, F)]): the held-out prediction of those
    targets (a slice, or every target) is ``B @ (F * (U.T @ (Y_train - mean))) + mean`` --
    ridge with the fold's fixed penalty, from the SVD ``U s V'`` of the standardised training
    design, ``B = X_test V`` and ``F = s / (s^2 + alpha)`` per target."""
    bands = np.asarray(fit["band_index"])
    folds = []
    for k, (tr, te) in enumerate(fit["splits"]):
        Xtr, Xte = standardize(X[tr], X[te])
        groups = []
        if fit["deltas"] is None:  # one SVD; the penalty varies per target
            U, s, Vt = np.linalg.svd(Xtr, full_matrices=False)
            alpha = np.asarray(fit["alpha"][k], dtype=float)
            groups.append((slice(None), U, Xte @ Vt.T, s[:, None] / (s[:, None] ** 2 + alpha)))
        else:
            # banded: exp(delta_b) = gamma_b / alpha, gamma on the simplex (the band weights):
            # ridge on the bands scaled by sqrt(gamma) with penalty alpha; one SVD per gamma
            alpha = 1.0 / np.exp(fit["deltas"][k]).sum(axis=0)
            gammas, which = np.unique(np.round(fit["band_weight"][k].T, 12), axis=0, return_inverse=True)
            for g, gamma in enumerate(gammas):
                scale = np.sqrt(gamma[bands])
                idx = np.flatnonzero(which.ravel() == g)
                U, s, Vt = np.linalg.svd(Xtr * scale, full_matrices=False)
                groups.append((idx, U, (Xte * scale) @ Vt.T, s[:, None] / (s[:, None] ** 2 + alpha[idx])))
        folds.append((tr, te, groups))
    return folds


def _smoother_scores(folds, Y, index=None) -> tuple[np.ndarray, np.ndarray]:
    """Held-out r per fold (n_folds, n_targets) and held-out predictions (n_samples,
    n_targets) of the fixed smoothers for the responses ``Y[index]`` (None: unshifted)."""
    index = np.arange(len(Y)) if index is None else index
    pred = np.full(Y.shape, np.nan)
    r = np.empty((len(folds), Y.shape[1]))
    for k, (tr, te, groups) in enumerate(folds):
        Ytr = Y[index[tr]]
        mean = Ytr.mean(axis=0)
        Ytr -= mean
        part = np.empty((len(te), Y.shape[1]))
        for idx, U, B, F in groups:
            if isinstance(idx, slice):
                part = B @ (F * (U.T @ Ytr))
            else:
                part[:, idx] = B @ (F * (U.T @ Ytr[:, idx]))
        pred[te] = part + mean
        r[k] = correlation(Y[index[te]], part)  # r ignores the added training mean
    return r, pred


def fixed_regularisation_null(
    X, Y, fit: dict, runs, *, n_permutations: int, min_shift: int, random_state: int
) -> tuple[np.ndarray, float]:
    """Null mean held-out r: each fold refitted on shifted responses, penalties held fixed.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        The design the fit used (unstandardised; standardised per fold as there).
    Y : ndarray, shape (n_samples, n_targets)
    fit : dict
        :func:`neuroflow.encoding.ridge.cross_validated_fit` output (splits, per-fold
        ``alpha`` or ``deltas``, ``band_index``, ``prediction``).
    runs : ndarray, shape (n_samples,)
        Shifts stay within runs.
    n_permutations, min_shift, random_state
        As :func:`circular_shifts`.

    Returns
    -------
    null : ndarray, shape (n_permutations, n_targets)
    reproduction_error : float
        Largest difference between the fixed smoothers' predictions of the real responses
        and the fit's own held-out predictions, relative to their SD (checks that the null
        refits the same model; ~1e-12 in float64, ~1e-4 after a float32 GPU fit).
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    folds = _fold_smoothers(X, fit)
    _, pred = _smoother_scores(folds, Y)
    scale = np.nanstd(fit["prediction"]) or 1.0
    error = float(np.nanmax(np.abs(pred - fit["prediction"])) / scale)
    null = np.empty((n_permutations, Y.shape[1]))
    for i, index in enumerate(circular_shifts(runs, n_permutations, min_shift, random_state)):
        null[i] = np.nanmean(_smoother_scores(folds, Y, index)[0], axis=0)
    return null, error


def prediction_shift_null(
    Y, prediction, splits, runs, *, n_permutations: int, min_shift: int, random_state: int
) -> np.ndarray:
    """Null mean r with each fold's held-out responses shifted against its fixed predictions.

    Anti-conservative where fold scores are correlated (see :data:`MISCALIBRATED`).

    Returns
    -------
    ndarray, shape (n_permutations, n_targets)
    """
    Y = np.asarray(Y, dtype=float).reshape(len(prediction), -1)
    runs = np.asarray(runs)
    rng = np.random.default_rng(random_state)
    segments = []
    for _, te in splits:
        segs = [te[runs[te] == r] for r in np.unique(runs[te])]
        for seg in segs:
            if len(seg) <= 2 * min_shift:
                raise ValueError(
                    f"a held-out run segment has {len(seg)} samples, too few for "
                    f"shifts of at least {min_shift} samples (lower min_shift_s)"
                )
        segments.append(segs)
    null = np.empty((n_permutations, Y.shape[1]))
    for i in range(n_permutations):
        rs = []
        for segs in segments:
            shifted = np.concatenate(
                [np.roll(seg, int(rng.integers(min_shift, len(seg) - min_shift + 1))) for seg in segs]
            )
            rs.append(correlation(Y[shifted], prediction[np.concatenate(segs)]))
        null[i] = np.nanmean(rs, axis=0)
    return null


def empirical_p(observed, null) -> tuple[np.ndarray, np.ndarray]:
    """One-sided permutation p-values ``(1 + #{null >= obs}) / (1 + n)`` and BH-FDR."""
    observed = np.asarray(observed, dtype=float)
    exceed = (np.nan_to_num(null, nan=-np.inf) >= observed[None, :]).sum(axis=0)
    p = np.where(np.isfinite(observed), (1 + exceed) / (1 + len(null)), np.nan)
    p_fdr = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        p_fdr[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return p, p_fdr


def refit_null(
    X, Y, groups, runs, *, n_permutations: int, min_shift: int, random_state: int, **fit_kwargs
) -> np.ndarray:
    """Null mean r of the whole nested cross-validated fit repeated on shifted responses.

    ``fit_kwargs`` go to :func:`neuroflow.encoding.ridge.cross_validated_fit` (same model,
    alphas, folds).

    Returns
    -------
    ndarray, shape (n_permutations, n_targets)
    """
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    null = np.empty((n_permutations, Y.shape[1]))
    for i, index in enumerate(circular_shifts(runs, n_permutations, min_shift, random_state)):
        fit = cross_validated_fit(X, Y[index], groups, **fit_kwargs)
        null[i] = np.nanmean(fit["r"], axis=0)
    return null


def shift_null(
    mode: str,
    X,
    Y,
    runs,
    fit: dict,
    *,
    n_permutations: int,
    min_shift: int,
    random_state: int,
    refit_kwargs: dict,
) -> tuple[np.ndarray, dict]:
    """The null of ``mode`` (:data:`MODES`) and a record of how it was made.

    Returns
    -------
    null : ndarray, shape (n_permutations, n_targets)
    record : dict
        ``mode``, ``n``, ``min_shift_samples``, ``calibrated`` (bool), ``warning`` (str or
        None) and, for ``refit_fixed``, ``reproduction_error``.
    """
    if mode not in MODES:
        raise ValueError(f"permutation mode: expected one of {MODES}, got {mode!r}")
    record = {
        "mode": mode,
        "n": n_permutations,
        "min_shift_samples": min_shift,
        "calibrated": mode not in MISCALIBRATED,
        "warning": MISCALIBRATED.get(mode),
    }
    kw = {"n_permutations": n_permutations, "min_shift": min_shift, "random_state": random_state}
    if n_permutations == 0:
        return np.empty((0, np.shape(Y)[1])), record
    if mode == "refit_fixed":
        null, error = fixed_regularisation_null(X, Y, fit, runs, **kw)
        record["reproduction_error"] = error
        if error > 1e-3:
            record["warning"] = (
                f"the fixed-penalty refit reproduces the fit's predictions "
                f"only to {error:.2g} SD: the null may not match the model"
            )
    elif mode == "refit":
        null = refit_null(X, Y, fit["groups"], runs, **kw, **refit_kwargs)
    else:
        null = prediction_shift_null(Y, fit["prediction"], fit["splits"], runs, **kw)
    return null, record
