"""Model RDMs and rsatoolbox model comparison, per representational statistic.

A data RDM is compared with fixed model RDMs (rsatoolbox ``ModelFixed``) by rsatoolbox's
``eval_bootstrap_pattern``: the conditions are resampled with replacement, which gives a
standard error and a one-sided t-test against zero for each model's evaluation. Each
statistic (plain RDM, RGTM, RGDM at some (lower, upper)) is applied to the data and to the
models alike before the comparison. A model that becomes constant under a transform (a
categorical model whose dissimilar pairs all fall below the upper quantile) cannot be
evaluated; its row is kept with ``n/a`` and a note.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from neuroflow.rsa.transforms import apply_statistic


def category_model(conditions, groups) -> np.ndarray:
    """Binary model RDM: 0 for two conditions of the same group, 1 otherwise.

    Parameters
    ----------
    conditions : list of str
        Condition order of the RDM.
    groups : list of list of str
        Groups of conditions; the conditions in no group form one more group together
        (so ``[["face"]]`` is face versus everything else).

    Returns
    -------
    ndarray, shape (n_conditions * (n_conditions - 1) / 2,)
    """
    conditions = [str(c) for c in conditions]
    member = {}
    for k, group in enumerate(groups):
        for cond in group:
            if cond not in conditions:
                raise ValueError(f"model group {group}: unknown condition {cond!r}; known: {conditions}")
            if cond in member:
                raise ValueError(f"condition {cond!r} is in two groups of the same model")
            member[cond] = k
    ids = np.array([member.get(c, len(groups)) for c in conditions])
    iu = np.triu_indices(len(conditions), k=1)
    return (ids[iu[0]] != ids[iu[1]]).astype(float)


def category_models(conditions, models: dict, key: str) -> dict[str, np.ndarray]:
    """``{name: category_model(conditions, groups)}`` for a config's ``models`` section;
    a bad group is a ValueError naming ``<key>.<name>``."""
    out = {}
    for name, groups in models.items():
        try:
            out[name] = category_model(conditions, groups)
        except ValueError as exc:
            raise ValueError(f"config key {key}.{name}: {exc}") from exc
    return out


def ring_model(angles) -> np.ndarray:
    """Model RDM of points on a circle: angular (great-circle) distance in radians."""
    a = np.asarray(angles, dtype=float)
    iu = np.triu_indices(len(a), k=1)
    d = np.abs(a[iu[0]] - a[iu[1]]) % (2 * np.pi)
    return np.minimum(d, 2 * np.pi - d)


def line_model(positions) -> np.ndarray:
    """Model RDM of points on a line: absolute difference of positions."""
    x = np.asarray(positions, dtype=float)
    iu = np.triu_indices(len(x), k=1)
    return np.abs(x[iu[0]] - x[iu[1]])


@contextlib.contextmanager
def _numpy_seed(seed: int):
    """rsatoolbox's bootstrap draws from NumPy's global generator: seed it, then restore."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _evaluate(fixed, data_rdm, method: str, n_boot: int, random_state: int) -> dict:
    """rsatoolbox evaluation of fixed models: on all conditions and bootstrapped."""
    from rsatoolbox.inference import eval_bootstrap_pattern, eval_fixed

    evals = np.atleast_1d(eval_fixed(fixed, data_rdm, method=method).get_means())
    with _numpy_seed(random_state):
        result = eval_bootstrap_pattern(
            fixed, data_rdm, method=method, N=n_boot, pattern_descriptor="conds", boot_noise_ceil=False
        )
    return {
        "evals": evals,
        "boot": result.evaluations.reshape(n_boot, len(fixed)),
        "p_zero": np.atleast_1d(result.test_zero()),
        "p_pair": (np.atleast_2d(result.test_pairwise()) if len(fixed) > 1 else np.full((1, 1), np.nan)),
        "order": np.argsort(-evals),
    }


def _model_row(base: dict, name: str, j, result, missing: str) -> dict:
    """One table row: model `name` (index `j` among the evaluated ones, None if not)."""
    row = dict(base, model=name)
    if j is None:
        row.update(
            evaluation=np.nan,
            bootstrap_mean=np.nan,
            bootstrap_se=np.nan,
            ci_low=np.nan,
            ci_high=np.nan,
            p_zero=np.nan,
            p_vs_best=np.nan,
            rank=np.nan,
            note=missing,
        )
        return row
    boot = result["boot"][:, j][np.isfinite(result["boot"][:, j])]
    lo, hi = np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan)
    order = result["order"]
    best = int(order[0])
    row.update(
        evaluation=float(result["evals"][j]),
        bootstrap_mean=float(np.mean(boot)),
        bootstrap_se=float(np.std(boot, ddof=1)),
        ci_low=float(lo),
        ci_high=float(hi),
        p_zero=float(result["p_zero"][j]),
        p_vs_best=np.nan if j == best else float(result["p_pair"][j, best]),
        rank=int(np.flatnonzero(order == j)[0]) + 1,
        note="",
    )
    return row


def compare_models(
    data,
    models: dict,
    conditions,
    statistics,
    method: str = "corr",
    n_boot: int = 200,
    zero_edges: str = "drop",
    random_state: int = 0,
) -> pd.DataFrame:
    """Evaluate model RDMs against one data RDM for each statistic (rsatoolbox bootstrap).

    Parameters
    ----------
    data : array_like, shape (n_pairs,)
        Data RDM vector.
    models : dict of str -> array_like (n_pairs,)
        Model RDM vectors.
    conditions : list of str
        Condition names (the pattern descriptor that is resampled).
    statistics : list of Statistic
    method : str
        rsatoolbox comparison: ``corr``, ``spearman``, ``tau-a``, ``cosine``, ...
    n_boot : int
        Bootstrap samples of conditions.
    zero_edges : {"keep", "drop"}
        For RGDM statistics.
    random_state : int
        Seed of the bootstrap (the same draws for every statistic).

    Returns
    -------
    DataFrame
        One row per (statistic, model): ``statistic``, ``kind``, ``lower``, ``upper``,
        ``family``, ``model``, ``evaluation`` (on all conditions), ``bootstrap_mean``,
        ``bootstrap_se``, ``ci_low``, ``ci_high`` (95 % percentile), ``p_zero``
        (rsatoolbox one-sided t-test against 0), ``p_vs_best`` (rsatoolbox two-sided paired
        t-test against the best model of this statistic), ``rank`` (1 = best), ``note``.
    """
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs

    names = list(models)
    model_stack = np.array([np.asarray(models[m], dtype=float) for m in names])
    data = np.asarray(data, dtype=float)[None, :]
    if model_stack.shape[1] != data.shape[1]:
        raise ValueError(f"model RDMs have {model_stack.shape[1]} pairs, data {data.shape[1]}")
    desc = {"conds": np.asarray(conditions)}
    rows = []
    for stat in statistics:
        tdata = apply_statistic(data, stat, zero_edges)
        tmodels = apply_statistic(model_stack, stat, zero_edges)
        ok = [i for i in range(len(names)) if np.ptp(tmodels[i]) > 0]
        base = {
            "statistic": stat.name,
            "kind": stat.kind,
            "lower": stat.lower,
            "upper": stat.upper,
            "family": stat.family,
        }
        if np.ptp(tdata) == 0:
            ok = []
        fixed = [ModelFixed(names[i], RDMs(tmodels[i][None, :], pattern_descriptors=desc)) for i in ok]
        result = (
            _evaluate(fixed, RDMs(tdata, pattern_descriptors=desc), method, n_boot, random_state)
            if fixed
            else None
        )
        missing = (
            "data constant under this statistic"
            if np.ptp(tdata) == 0
            else "model constant under this statistic"
        )
        rows += [
            _model_row(base, name, ok.index(i) if i in ok else None, result, missing)
            for i, name in enumerate(names)
        ]
    return pd.DataFrame(rows)
