"""Identification of regions / layers from their RDMs (Lin & Kriegeskorte 2023, ``loo_eval``).

Leave-one-subject-out: a nearest-centroid classifier (Euclidean; the semantics of
scikit-learn's ``NearestCentroid``, which the authors used) is trained on the transformed
RDM vectors of all other subjects, labelled by region (or network layer), and predicts
the region of each RDM of the held-out subject. The identification accuracy pools every
prediction; chance is 1 / n_regions.

The bootstrap resamples subjects and stimuli with replacement (the same resamples for every
statistic, so differences are paired). Stimulus pairs of a duplicated stimulus are dropped,
as in the authors' ``bootstrap(..., handle_duplicate="drop")``. Unlike the authors' code,
all copies of a resampled subject are held out together, so that a subject never predicts
its own copy.
"""

from __future__ import annotations

import numpy as np

from neuroflow.rsa.noise import add_rdm_noise

__all__ = [
    "add_rdm_noise",
    "loo_identification",
    "nearest_centroid",
    "bootstrap_samples",
    "bootstrap_identification",
    "fast_bootstrap",
    "loo_correct_from_gram",
    "paired_bootstrap_test",
    "noise_curve",
    "grid_search",
]


def _check_design(vectors, subjects, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vectors = np.asarray(vectors, dtype=float)
    subjects, labels = np.asarray(subjects), np.asarray(labels)
    if vectors.ndim != 2:
        raise ValueError(f"RDM vectors: expected shape (n_rdm, n_pairs), got {vectors.shape}")
    if not (len(subjects) == len(labels) == len(vectors)):
        raise ValueError(f"{len(vectors)} RDMs but {len(subjects)} subject and {len(labels)} region labels")
    if len(np.unique(subjects)) < 2:
        raise ValueError("leave-one-subject-out identification needs at least 2 subjects")
    if len(np.unique(labels)) < 2:
        raise ValueError("identification needs at least 2 regions / layers")
    return vectors, subjects, labels


def loo_identification(vectors, subjects, labels, groups=None) -> tuple[float, np.ndarray]:
    """Leave-one-subject-out nearest-centroid identification accuracy.

    Parameters
    ----------
    vectors : array_like, shape (n_rdm, n_pairs)
        One transformed RDM per (subject, region). Columns holding NaN are dropped.
    subjects : array_like, shape (n_rdm,)
        Subject (or network instance) of each RDM.
    labels : array_like, shape (n_rdm,)
        Region (or layer) of each RDM: the class to identify.
    groups : array_like, shape (n_rdm,), optional
        What is held out together (default: `subjects`); the bootstrap passes the original
        subject of each resampled copy.

    Returns
    -------
    accuracy : float
        Fraction of RDMs whose region is predicted correctly, in [0, 1].
    predicted : ndarray, shape (n_rdm,)
        The predicted region of each RDM.
    """
    vectors, subjects, labels = _check_design(vectors, subjects, labels)
    groups = subjects if groups is None else np.asarray(groups)
    vectors = vectors[:, ~np.isnan(vectors).any(axis=0)]
    predicted = np.empty_like(labels)
    for g in np.unique(groups):
        test = groups == g
        if not (~test).any():
            predicted[test] = np.unique(labels)[0]
            continue
        predicted[test] = nearest_centroid(vectors[~test], labels[~test], vectors[test])
    return float(np.mean(predicted == labels)), predicted


def nearest_centroid(train, train_labels, test) -> np.ndarray:
    """Euclidean nearest-centroid prediction (scikit-learn ``NearestCentroid`` semantics).

    Classes are sorted; a tie goes to the first class, as in scikit-learn. Equal to
    ``NearestCentroid().fit(train, train_labels).predict(test)`` (tested), without its
    per-call overhead (input validation and a thread pool for the distances, which cost
    ~20 ms per call on a busy 2-core machine) and without its refusal of training sets
    with no variance (every RDM transformed to the same vector: all classes tie).

    Parameters
    ----------
    train : ndarray, shape (n_train, n_features)
    train_labels : ndarray, shape (n_train,)
    test : ndarray, shape (n_test, n_features)

    Returns
    -------
    ndarray, shape (n_test,)
    """
    classes, inverse = np.unique(train_labels, return_inverse=True)
    members = (inverse[None, :] == np.arange(len(classes))[:, None]).astype(float)
    centroids = (members @ train) / members.sum(axis=1, keepdims=True)
    dist = ((test[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return classes[np.argmin(dist, axis=1)]


def pair_index(n_conditions: int) -> np.ndarray:
    """Matrix ``(n, n)`` of squareform pair indices (-1 on the diagonal)."""
    iu = np.triu_indices(n_conditions, k=1)
    idx = -np.ones((n_conditions, n_conditions), dtype=int)
    idx[iu] = np.arange(len(iu[0]))
    idx.T[iu] = idx[iu]
    return idx


def bootstrap_samples(
    subjects, n_conditions: int, n_boot: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Draw `n_boot` (subjects, stimuli) resamples with replacement.

    Returns
    -------
    list of (subject_ids, stimulus_indices)
        Resampled unique subject ids, shape (n_subjects,), and stimulus indices, shape
        (n_conditions,). Reuse the list for every statistic so comparisons are paired.
    """
    unique = np.unique(np.asarray(subjects))
    return [
        (
            rng.choice(unique, size=len(unique), replace=True),
            rng.choice(n_conditions, size=n_conditions, replace=True),
        )
        for _ in range(n_boot)
    ]


def resample(vectors, subjects, labels, subject_draw, stimulus_draw, n_conditions: int):
    """Apply one bootstrap draw: rows of resampled subjects, columns of resampled pairs.

    Returns
    -------
    vectors : ndarray, shape (n_rows, n_kept_pairs)
        Pairs of two copies of the same stimulus are dropped.
    subjects : ndarray, shape (n_rows,)
        A distinct id per copy.
    labels : ndarray, shape (n_rows,)
    groups : ndarray, shape (n_rows,)
        The original subject of each row (held out together).
    """
    vectors, subjects, labels = (np.asarray(vectors), np.asarray(subjects), np.asarray(labels))
    rows = [np.flatnonzero(subjects == s) for s in subject_draw]
    order = np.concatenate(rows)
    copy_id = np.concatenate([np.full(len(r), k) for k, r in enumerate(rows)])
    iu = np.triu_indices(len(stimulus_draw), k=1)
    a, b = stimulus_draw[iu[0]], stimulus_draw[iu[1]]
    keep = a != b
    cols = pair_index(n_conditions)[a[keep], b[keep]]
    return vectors[order][:, cols], copy_id, labels[order], subjects[order]


def bootstrap_identification(vectors, subjects, labels, draws, n_conditions: int) -> np.ndarray:
    """Identification accuracy for each bootstrap draw of :func:`bootstrap_samples`.

    Returns
    -------
    ndarray, shape (n_boot,)
    """
    out = np.empty(len(draws))
    for k, (subject_draw, stimulus_draw) in enumerate(draws):
        v, s, lab, grp = resample(vectors, subjects, labels, subject_draw, stimulus_draw, n_conditions)
        out[k] = loo_identification(v, s, lab, groups=grp)[0]
    return out


def draw_weights(draws, n_subjects: int, n_conditions: int) -> tuple[np.ndarray, np.ndarray]:
    """Copies of each subject and of each stimulus pair in every bootstrap draw.

    Subject ids of the draws must be ``0 .. n_subjects - 1`` (as :func:`_design` numbers them).

    Returns
    -------
    subject_weights : ndarray, shape (n_boot, n_subjects)
    pair_weights : ndarray, shape (n_boot, n_pairs)
        How often each pair occurs among the pairs of the resampled stimuli (pairs of two
        copies of one stimulus dropped), as the columns :func:`resample` keeps.
    """
    idx = pair_index(n_conditions)
    n_pairs = n_conditions * (n_conditions - 1) // 2
    subj, pairs = [], []
    for subject_draw, stimulus_draw in draws:
        iu = np.triu_indices(len(stimulus_draw), k=1)
        a, b = stimulus_draw[iu[0]], stimulus_draw[iu[1]]
        keep = a != b
        pairs.append(np.bincount(idx[a[keep], b[keep]], minlength=n_pairs))
        subj.append(np.bincount(np.asarray(subject_draw, dtype=int), minlength=n_subjects))
    return np.array(subj, dtype=float), np.array(pairs, dtype=float)


def weighted_gram(stack: np.ndarray, pair_weights=None) -> np.ndarray:
    """Inner products of every pair of RDMs over pair-weighted columns.

    Parameters
    ----------
    stack : ndarray, shape (n_subjects, n_regions, n_pairs)
    pair_weights : ndarray, shape (n_pairs,), optional
        Column multiplicities (default: every column once).

    Returns
    -------
    ndarray, shape (n_subjects, n_regions, n_subjects, n_regions)
    """
    n_subj, n_reg, n_pair = stack.shape
    flat = stack.reshape(n_subj * n_reg, n_pair)
    right = flat if pair_weights is None else flat * pair_weights
    return (flat @ right.T).reshape(n_subj, n_reg, n_subj, n_reg)


def loo_correct_from_gram(gram: np.ndarray, subject_weights) -> np.ndarray:
    """Leave-one-subject-out nearest-centroid hits from a Gram matrix (no data copies).

    Subject ``s`` (all its copies) is predicted from the centroids of the other subjects'
    RDMs, each counted ``subject_weights[t]`` times; squared Euclidean distances are expanded
    into inner products. Distances equal to the smallest within a relative 1e-10 count as
    ties, which go to the first region, as in :func:`nearest_centroid`. Equal to
    :func:`bootstrap_identification` on the resampled data (tested). Leading batch axes
    (one per bootstrap draw) are allowed on both arguments.

    Parameters
    ----------
    gram : ndarray, shape (..., n_subjects, n_regions, n_subjects, n_regions)
        From :func:`weighted_gram`.
    subject_weights : ndarray, shape (..., n_subjects)
        Copies of each subject (0 = not in the sample: neither predicted nor training).

    Returns
    -------
    ndarray, shape (..., n_subjects, n_regions), bool
        Whether region ``r`` of subject ``s`` is identified (False where the weight is 0).
    """
    k = np.asarray(subject_weights, dtype=float)
    n_subj, n_reg = gram.shape[-4:-2]
    s_ix, r_ix = np.arange(n_subj), np.arange(n_reg)
    same_region = gram[..., :, r_ix, :, r_ix]  # (region, ..., s, t)
    same_region = np.moveaxis(same_region, 0, -3)  # (..., region, s, t)
    own = np.moveaxis(gram[..., s_ix, :, s_ix, :], 0, -3)  # (..., s, r, c)
    a = np.einsum("...cst,...t->...cs", same_region, k)  # (..., region, s)
    full = np.einsum("...cs,...s->...c", a, k)  # (..., region)
    others = k.sum(axis=-1, keepdims=True) - k  # copies in each training set
    denom = np.where(others > 0, others, 1.0)
    cross = np.einsum("...srtc,...t->...src", gram, k) - k[..., :, None, None] * own
    diag = np.diagonal(same_region, axis1=-2, axis2=-1)  # (..., region, s)
    norm = (
        full[..., None, :]
        - 2 * k[..., :, None] * np.swapaxes(a, -1, -2)
        + (k**2)[..., :, None] * np.swapaxes(diag, -1, -2)
    )  # (..., s, c)
    centroid_norm = norm / denom[..., :, None] ** 2
    dist = -2 * cross / denom[..., :, None, None] + centroid_norm[..., :, None, :]
    scale = (
        np.abs(np.diagonal(own, axis1=-2, axis2=-1))[..., None]
        + np.abs(centroid_norm).max(axis=-1)[..., :, None, None]
    )
    ties = dist <= dist.min(axis=-1, keepdims=True) + 1e-10 * scale
    predicted = np.where(others[..., :, None] > 0, np.argmax(ties, axis=-1), 0)
    return (predicted == r_ix) & (k[..., :, None] > 0)


def _gram_on(flat: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``flat @ diag(weights) @ flat.T`` over the columns of non-zero weight only."""
    keep = np.flatnonzero(weights)
    sub = flat[:, keep]
    return (sub * weights[keep]) @ sub.T


def fast_bootstrap(stack, subject_weights, pair_weights, chunk: int = 64) -> np.ndarray:
    """Identification accuracy of every bootstrap draw, from weighted Gram matrices.

    Parameters
    ----------
    stack : ndarray, shape (n_subjects, n_regions, n_pairs)
        Transformed RDMs.
    subject_weights, pair_weights : ndarray
        From :func:`draw_weights`.
    chunk : int
        Draws computed together (memory: chunk x n_rdm x n_pairs floats).

    Returns
    -------
    ndarray, shape (n_boot,)
    """
    stack = np.asarray(stack, dtype=float)
    n_subj, n_reg, n_pair = stack.shape
    flat = stack.reshape(n_subj * n_reg, n_pair)
    out = np.empty(len(subject_weights))
    for start in range(0, len(out), chunk):
        w = pair_weights[start : start + chunk]
        k = subject_weights[start : start + chunk]
        gram = np.stack([_gram_on(flat, wb) for wb in w])
        correct = loo_correct_from_gram(gram.reshape(len(w), n_subj, n_reg, n_subj, n_reg), k)
        out[start : start + len(w)] = (correct.sum(axis=-1) * k).sum(axis=-1) / (k.sum(axis=-1) * n_reg)
    return out


def paired_bootstrap_test(boot_a, boot_b) -> tuple[float, float, float, float]:
    """Mean difference a - b over paired bootstrap draws, its 95% interval and p-value.

    The p-value is two-sided: twice the smaller fraction of draws on either side of 0
    (bounded below by 1 / n_boot).

    Returns
    -------
    mean_difference, ci_low, ci_high, p_value : float
    """
    diff = np.asarray(boot_a, dtype=float) - np.asarray(boot_b, dtype=float)
    n = len(diff)
    p = 2 * min(np.mean(diff <= 0), np.mean(diff >= 0))
    lo, hi = np.percentile(diff, [2.5, 97.5])
    return float(diff.mean()), float(lo), float(hi), float(min(1.0, max(p, 1 / n)))


def _design(rdms) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Flatten ``(n_subjects, n_regions, n_pairs)`` into vectors, subjects, labels, n_cond."""
    rdms = np.asarray(rdms, dtype=float)
    if rdms.ndim != 3:
        raise ValueError(f"RDM stack: expected dims (subject, region, pair), got shape {rdms.shape}")
    n_subj, n_reg, n_pair = rdms.shape
    n_cond = int(round((1 + np.sqrt(1 + 8 * n_pair)) / 2))
    return (
        rdms.reshape(n_subj * n_reg, n_pair),
        np.repeat(np.arange(n_subj), n_reg),
        np.tile(np.arange(n_reg), n_subj),
        n_cond,
    )


def _stat_row(stat) -> dict:
    return {
        "statistic": stat.name,
        "kind": stat.kind,
        "lower": stat.lower,
        "upper": stat.upper,
        "family": stat.family,
    }


def noise_curve(
    rdms, statistics, noise_levels, n_repeats: int, zero_edges: str = "drop", random_state: int = 0
):
    """Identification accuracy of each statistic as RDM noise grows.

    Parameters
    ----------
    rdms : ndarray, shape (n_subjects, n_regions, n_pairs)
    statistics : list of Statistic
    noise_levels : list of float
        Noise SD in units of the SD of all RDM entries (the authors' driver: 0 to 0.4).
    n_repeats : int
        Noise draws per level (one at level 0); every statistic sees the same draws.

    Returns
    -------
    DataFrame
        ``noise_level``, statistic columns, ``accuracy`` (mean over draws),
        ``accuracy_sd`` (SD over draws), ``n_repeats``.
    """
    import pandas as pd

    from neuroflow.rsa.transforms import apply_statistic

    vectors, subjects, labels, _ = _design(rdms)
    rng = np.random.default_rng(random_state)
    rows = []
    for level in noise_levels:
        draws = [add_rdm_noise(vectors, level, rng) for _ in range(1 if level == 0 else n_repeats)]
        for stat in statistics:
            accs = [
                loo_identification(apply_statistic(d, stat, zero_edges), subjects, labels)[0] for d in draws
            ]
            rows.append(
                {
                    "noise_level": float(level),
                    **_stat_row(stat),
                    "accuracy": float(np.mean(accs)),
                    "accuracy_sd": float(np.std(accs)),
                    "n_repeats": len(draws),
                }
            )
    return pd.DataFrame(rows)


def grid_search(
    rdms,
    resolution: float,
    noise_levels,
    kinds=("rgtm", "rgdm"),
    zero_edges: str = "drop",
    random_state: int = 0,
):
    """Identification accuracy over the (lower, upper) grid (the paper's heat maps).

    Returns
    -------
    DataFrame
        ``noise_level``, statistic columns, ``accuracy``; one noise draw per level.
    """
    import pandas as pd

    from neuroflow.rsa.transforms import Statistic, geodesic, geotopological, lu_grid, rank_minmax

    vectors, subjects, labels, _ = _design(rdms)
    rng = np.random.default_rng(random_state)
    rows = []
    for level in noise_levels:
        ranked = rank_minmax(add_rdm_noise(vectors, level, rng))  # shared by every (l, u)
        for lower, upper in lu_grid(resolution):
            gt = geotopological(ranked, lower, upper, normalize=False)
            for kind in kinds:
                stat = Statistic(kind, lower, upper)
                transformed = gt if kind == "rgtm" else geodesic(gt, zero_edges)
                acc = loo_identification(transformed, subjects, labels)[0]
                rows.append({"noise_level": float(level), **_stat_row(stat), "accuracy": acc})
    return pd.DataFrame(rows)
