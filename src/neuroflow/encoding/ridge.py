"""Ridge, kernel ridge and banded ridge encoding models with himalaya, cross-validated.

Outer loop: folds of whole blocks of samples (runs or contiguous segments; leave one block
out, or grouped K-fold), so that temporally correlated samples never straddle train and
test. Inner loop: the regularisation (``alpha``, and for banded ridge the relative weight
of each feature band) is chosen per target by grouped K-fold on the training blocks only,
with himalaya's ``RidgeCV`` / ``KernelRidgeCV`` / ``GroupRidgeCV`` (random search on the
simplex of band weights). Features are z-scored with training-fold statistics. Scores are
computed per target on each held-out fold: Pearson correlation and R^2 (1 - SSE/SST about
the test-fold mean).

Significance: the whole cross-validated fit is repeated on responses circularly shifted
within each run (the same shift for every target, which keeps each series' autocorrelation
and the correlations between targets while breaking the stimulus alignment); the p-value
of a target's mean correlation is ``(1 + #{null >= observed}) / (1 + n_permutations)``.

Noise ceiling: where conditions repeat (:func:`noise_ceiling`), the explainable variance of
single-repeat responses is estimated from their variability across repeats, and R^2 is
divided by it.
"""

from __future__ import annotations

import numpy as np

MODELS = ("auto", "ridge", "kernel_ridge", "banded_ridge")


def alpha_grid(spec: dict) -> list[float]:
    """Candidate regularisation strengths ``logspace(min_log10, max_log10, n)`` from config.

    ``spec`` is the ``encoding.ridge.alphas`` section (keys ``min_log10``, ``max_log10``,
    ``n``); plain floats, so the list can be a Snakemake param and go into JSON sidecars.
    """
    n = int(spec["n"])
    if n < 1 or spec["max_log10"] < spec["min_log10"]:
        raise ValueError(f"config key encoding.ridge.alphas: need n >= 1 and max_log10 >= "
                         f"min_log10, got {spec}")
    return [float(a) for a in np.logspace(spec["min_log10"], spec["max_log10"], n)]


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
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError(f"cross-validation needs >= 2 blocks of samples, got {n_groups}")
    if n_folds is not None and n_folds < 2:
        raise ValueError(f"need >= 2 folds, got {n_folds}")
    splitter = (LeaveOneGroupOut() if n_folds is None or n_folds >= n_groups
                else GroupKFold(n_splits=n_folds))
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


def make_estimator(model: str, alphas, inner_cv, band_index=None, n_iter: int = 32,
                   random_state: int = 0, n_targets_batch: int | None = None):
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
        Band-weight vectors sampled from the Dirichlet distribution (banded ridge).
    random_state : int
        Seed of that sampling.
    n_targets_batch : int, optional
        Targets solved at once (bounds memory on a GPU); None = all.
    """
    from himalaya.kernel_ridge import KernelRidgeCV
    from himalaya.ridge import GroupRidgeCV, RidgeCV

    alphas = np.asarray(alphas, dtype=float)
    batch = {"n_targets_batch": n_targets_batch, "n_targets_batch_refit": n_targets_batch}
    if model == "ridge":
        return RidgeCV(alphas=alphas, fit_intercept=True, cv=inner_cv,
                       solver_params={**batch, "warn": False})
    if model == "kernel_ridge":
        return KernelRidgeCV(alphas=alphas, kernel="linear", fit_intercept=True, cv=inner_cv,
                             solver_params=batch, warn=False)
    if model == "banded_ridge":
        return GroupRidgeCV(groups=np.asarray(band_index), fit_intercept=True, cv=inner_cv,
                            random_state=random_state,
                            solver_params={**batch, "alphas": alphas, "n_iter": n_iter,
                                           "progress_bar": False})
    raise ValueError(f"unknown model {model!r}")


def _to_numpy(x) -> np.ndarray:
    from himalaya.backend import get_backend

    return np.asarray(get_backend().to_numpy(x), dtype=float)


def _standardize(train, test):
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


def cross_validated_fit(X, Y, groups, *, model: str = "auto", alphas=None, bands=None,
                        n_folds: int | None = None, n_inner_folds: int = 5,
                        n_iter: int = 32, random_state: int = 0,
                        n_targets_batch: int | None = None, dtype: str = "float64",
                        splits=None) -> dict:
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
    alphas : ndarray, optional
        Candidate alphas (default ``logspace(-2, 8, 21)``).
    bands : ndarray of str, shape (n_features,), optional
        Band (feature space) of each column; > 1 band enables banded ridge under 'auto'.
    n_folds, n_inner_folds : int
        Outer folds (None = leave one block out) and inner grouped folds.
    n_iter : int
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
        it out), ``fold`` (n_samples,), ``r`` and ``r2`` (n_folds, n_targets),
        ``alpha`` (n_folds, n_targets; for banded ridge ``1 / sum(exp(deltas))``),
        ``band_weight`` (n_folds, n_bands, n_targets; banded ridge, else None),
        ``model`` (resolved name), ``band_names`` and ``splits``.
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    groups = np.asarray(groups)
    if X.shape[0] != Y.shape[0] or groups.shape[0] != X.shape[0]:
        raise ValueError(f"X ({X.shape[0]}), Y ({Y.shape[0]}) and groups ({groups.shape[0]}) "
                         "need the same number of samples")
    alphas = np.logspace(-2, 8, 21) if alphas is None else np.asarray(alphas, dtype=float)
    bands = np.zeros(X.shape[1], dtype=int).astype(str) if bands is None else np.asarray(bands)
    band_names, band_index = np.unique(bands, return_inverse=True)
    splits = splits if splits is not None else group_splits(groups, n_folds)
    model = resolve_model(model, len(band_names), X.shape[1],
                          min(len(tr) for tr, _ in splits))
    pred = np.full(Y.shape, np.nan)
    fold = np.full(Y.shape[0], -1)
    r_f, r2_f, alpha_f, weight_f = [], [], [], []
    for k, (tr, te) in enumerate(splits):
        Xtr, Xte = _standardize(X[tr], X[te])
        inner = group_splits(groups[tr], n_inner_folds)
        est = make_estimator(model, alphas, inner, band_index, n_iter, random_state,
                             n_targets_batch)
        est.fit(Xtr.astype(dtype), Y[tr].astype(dtype))
        yhat = _to_numpy(est.predict(Xte.astype(dtype)))
        pred[te], fold[te] = yhat, k
        r_f.append(correlation(Y[te], yhat))
        r2_f.append(r2(Y[te], yhat))
        alpha_f.append(_to_numpy(est.best_alphas_))
        if model == "banded_ridge":
            deltas = _to_numpy(est.deltas_)                # (n_bands, n_targets)
            w = np.exp(deltas)
            weight_f.append(w / w.sum(axis=0, keepdims=True))
    return {"prediction": pred, "fold": fold, "r": np.array(r_f), "r2": np.array(r2_f),
            "alpha": np.array(alpha_f),
            "band_weight": np.array(weight_f) if weight_f else None,
            "model": model, "band_names": [str(b) for b in band_names], "splits": splits}


def refit_all(X, Y, groups, *, model: str, alphas=None, bands=None, n_inner_folds: int = 5,
              n_iter: int = 32, random_state: int = 0, dtype: str = "float64") -> dict:
    """Fit on every sample (regularisation by grouped CV) for interpretable weights.

    Returns
    -------
    dict
        ``coef`` (n_features, n_targets; per z-scored feature, in response units),
        ``alpha`` (n_targets,).
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    alphas = np.logspace(-2, 8, 21) if alphas is None else np.asarray(alphas, dtype=float)
    bands = np.zeros(X.shape[1], dtype=int).astype(str) if bands is None else np.asarray(bands)
    _, band_index = np.unique(bands, return_inverse=True)
    Xs, _ = _standardize(X, X[:1])
    inner = group_splits(groups, n_inner_folds)
    if model == "kernel_ridge":
        model = "ridge"   # primal weights are wanted here
    est = make_estimator(model, alphas, inner, band_index, n_iter, random_state)
    est.fit(Xs.astype(dtype), Y.astype(dtype))
    coef = _to_numpy(est.coef_).reshape(X.shape[1], -1)
    return {"coef": coef, "alpha": _to_numpy(est.best_alphas_).ravel()}


def circular_shifts(runs, n_permutations: int, min_shift: int, random_state: int = 0
                    ) -> list[np.ndarray]:
    """Index arrays that shift samples circularly within each run.

    Each permutation draws one offset per run, uniform in [min_shift, n_run - min_shift].

    Returns
    -------
    list of ndarray, shape (n_samples,)
        ``Y[index]`` is the shifted response.
    """
    runs = np.asarray(runs)
    rng = np.random.default_rng(random_state)
    out = []
    for _ in range(n_permutations):
        index = np.arange(len(runs))
        for run in np.unique(runs):
            idx = np.flatnonzero(runs == run)
            n = len(idx)
            if n <= 2 * min_shift:
                raise ValueError(f"run {run!r} has {n} samples, too few for circular shifts "
                                 f"of at least {min_shift} samples (lower min_shift)")
            index[idx] = idx[np.roll(np.arange(n), int(rng.integers(min_shift, n - min_shift + 1)))]
        out.append(index)
    return out


def prediction_shift_null(Y, prediction, splits, runs, *, n_permutations: int = 1000,
                          min_shift: int = 10, random_state: int = 0) -> np.ndarray:
    """Null mean correlations of held-out predictions with circularly shifted responses.

    The fitted models are kept (no refit): within each held-out fold and run, the observed
    responses are shifted circularly against the predictions (Huth et al. 2016 style
    blockwise permutation of test data). Fast enough for thousands of shifts.

    Parameters
    ----------
    Y, prediction : ndarray, shape (n_samples, n_targets)
        Observed responses and cross-validated predictions.
    splits : list of (train, test)
        The outer folds that produced `prediction`.
    runs : ndarray, shape (n_samples,)
    n_permutations, min_shift : int
        Number of shifts; smallest shift (samples).
    random_state : int

    Returns
    -------
    ndarray, shape (n_permutations, n_targets)
        Mean over folds of the correlation under each shift.
    """
    Y = np.asarray(Y, dtype=float).reshape(len(prediction), -1)
    runs = np.asarray(runs)
    rng = np.random.default_rng(random_state)
    segments = []
    for _, te in splits:
        segs = [te[runs[te] == r] for r in np.unique(runs[te])]
        for seg in segs:
            if len(seg) <= 2 * min_shift:
                raise ValueError(f"a held-out run segment has {len(seg)} samples, too few for "
                                 f"shifts of at least {min_shift} samples (lower min_shift)")
        segments.append((te, segs))
    null = np.empty((n_permutations, Y.shape[1]))
    for i in range(n_permutations):
        rs = []
        for te, segs in segments:
            shifted = np.concatenate([np.roll(seg, int(rng.integers(min_shift,
                                                                    len(seg) - min_shift + 1)))
                                      for seg in segs])
            rs.append(correlation(Y[shifted], prediction[np.concatenate(segs)]))
        null[i] = np.nanmean(rs, axis=0)
    return null


def empirical_p(observed, null) -> tuple[np.ndarray, np.ndarray]:
    """One-sided permutation p-values ``(1 + #{null >= obs}) / (1 + n)`` and BH-FDR."""
    from statsmodels.stats.multitest import multipletests

    observed = np.asarray(observed, dtype=float)
    exceed = (np.nan_to_num(null, nan=-np.inf) >= observed[None, :]).sum(axis=0)
    p = np.where(np.isfinite(observed), (1 + exceed) / (1 + len(null)), np.nan)
    p_fdr = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        p_fdr[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return p, p_fdr


def permutation_test(X, Y, groups, runs, observed_r, *, n_permutations: int = 100,
                     min_shift: int = 10, random_state: int = 0, **fit_kwargs) -> dict:
    """Null distribution of the mean held-out correlation under circular shifts.

    Parameters
    ----------
    X, Y, groups :
        As :func:`cross_validated_fit`.
    runs : ndarray, shape (n_samples,)
        Runs (continuous recordings) within which responses are shifted.
    observed_r : ndarray, shape (n_targets,)
        Mean correlation over folds of the unshuffled fit.
    n_permutations, min_shift : int
        Number of shifts; smallest shift in samples (beyond the response's
        autocorrelation and the longest lag).
    **fit_kwargs
        Passed on to :func:`cross_validated_fit` (same model, alphas, folds).

    Returns
    -------
    dict
        ``null`` (n_permutations, n_targets) mean correlations, ``p`` (n_targets,),
        ``p_fdr`` (Benjamini-Hochberg across targets).
    """
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    null = np.empty((n_permutations, Y.shape[1]))
    for i, index in enumerate(circular_shifts(runs, n_permutations, min_shift, random_state)):
        fit = cross_validated_fit(X, Y[index], groups, **fit_kwargs)
        null[i] = np.nanmean(fit["r"], axis=0)
    p, p_fdr = empirical_p(observed_r, null)
    return {"null": null, "p": p, "p_fdr": p_fdr}


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
        raise ValueError(f"noise ceiling needs responses shaped (repeats >= 2, conditions >= 2, "
                         f"targets), got {resp.shape}")
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
