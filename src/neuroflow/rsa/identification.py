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


def _check_design(vectors, subjects, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vectors = np.asarray(vectors, dtype=float)
    subjects, labels = np.asarray(subjects), np.asarray(labels)
    if vectors.ndim != 2:
        raise ValueError(f"RDM vectors: expected shape (n_rdm, n_pairs), got {vectors.shape}")
    if not (len(subjects) == len(labels) == len(vectors)):
        raise ValueError(f"{len(vectors)} RDMs but {len(subjects)} subject and {len(labels)} "
                         "region labels")
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


def bootstrap_samples(subjects, n_conditions: int, n_boot: int,
                      rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Draw `n_boot` (subjects, stimuli) resamples with replacement.

    Returns
    -------
    list of (subject_ids, stimulus_indices)
        Resampled unique subject ids, shape (n_subjects,), and stimulus indices, shape
        (n_conditions,). Reuse the list for every statistic so comparisons are paired.
    """
    unique = np.unique(np.asarray(subjects))
    return [(rng.choice(unique, size=len(unique), replace=True),
             rng.choice(n_conditions, size=n_conditions, replace=True)) for _ in range(n_boot)]


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
        v, s, lab, grp = resample(vectors, subjects, labels, subject_draw, stimulus_draw,
                                  n_conditions)
        out[k] = loo_identification(v, s, lab, groups=grp)[0]
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
        raise ValueError(f"RDM stack: expected dims (subject, region, pair), got shape "
                         f"{rdms.shape}")
    n_subj, n_reg, n_pair = rdms.shape
    n_cond = int(round((1 + np.sqrt(1 + 8 * n_pair)) / 2))
    return (rdms.reshape(n_subj * n_reg, n_pair), np.repeat(np.arange(n_subj), n_reg),
            np.tile(np.arange(n_reg), n_subj), n_cond)


def add_rdm_noise(vectors, level: float, rng: np.random.Generator) -> np.ndarray:
    """The paper's RDM noise: Gaussian, SD = `level` x SD of all entries; negatives -> 0."""
    vectors = np.asarray(vectors, dtype=float)
    if level == 0:
        return vectors.copy()
    noisy = vectors + rng.normal(0.0, level * vectors.std(), size=vectors.shape)
    return np.clip(noisy, 0.0, None)


def _stat_row(stat) -> dict:
    return {"statistic": stat.name, "kind": stat.kind, "lower": stat.lower,
            "upper": stat.upper, "family": stat.family}


def noise_curve(rdms, statistics, noise_levels, n_repeats: int, zero_edges: str = "drop",
                random_state: int = 0):
    """Identification accuracy of each statistic as RDM noise grows.

    Parameters
    ----------
    rdms : ndarray, shape (n_subjects, n_regions, n_pairs)
    statistics : list of Statistic
    noise_levels : list of float
        Noise SD in units of the SD of all RDM entries (the paper used 0 to 0.9).
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
        draws = [add_rdm_noise(vectors, level, rng) for _ in range(1 if level == 0
                                                                     else n_repeats)]
        for stat in statistics:
            accs = [loo_identification(apply_statistic(d, stat, zero_edges), subjects,
                                       labels)[0] for d in draws]
            rows.append({"noise_level": float(level), **_stat_row(stat),
                         "accuracy": float(np.mean(accs)),
                         "accuracy_sd": float(np.std(accs)), "n_repeats": len(draws)})
    return pd.DataFrame(rows)


def grid_search(rdms, resolution: float, noise_levels, kinds=("rgtm", "rgdm"),
                zero_edges: str = "drop", random_state: int = 0):
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
        ranked = rank_minmax(add_rdm_noise(vectors, level, rng))   # shared by every (l, u)
        for lower, upper in lu_grid(resolution):
            gt = geotopological(ranked, lower, upper, normalize=False)
            for kind in kinds:
                stat = Statistic(kind, lower, upper)
                transformed = gt if kind == "rgtm" else geodesic(gt, zero_edges)
                acc = loo_identification(transformed, subjects, labels)[0]
                rows.append({"noise_level": float(level), **_stat_row(stat),
                             "accuracy": acc})
    return pd.DataFrame(rows)


def family_comparison(rdms, n_samples: int, n_boot: int, kinds=("rgtm", "rgdm"),
                      noise_level: float = 0.0, zero_edges: str = "drop",
                      random_state: int = 0):
    """The paper's family comparison with a bootstrap over subjects and stimuli.

    For each family, `n_samples` random (lower, upper) pairs are drawn; each gives an
    accuracy on the data and on every bootstrap draw (the same draws for all statistics).
    A family's accuracy is the mean over its pairs; its bootstrap SD is the SD over draws of
    that mean (the authors' ``ustd``). The plain RDM is the reference.

    Returns
    -------
    summary : DataFrame
        ``kind``, ``family``, ``n_samples``, ``accuracy_mean``, ``bootstrap_mean``,
        ``bootstrap_sd``, ``ci_low``, ``ci_high``.
    samples : DataFrame
        Every sampled statistic with its accuracy and bootstrap mean / SD.
    tests : DataFrame
        Paired bootstrap comparisons: every family against the plain RDM and every pair of
        families of the same kind (``mean_difference`` = a - b, 95 % interval, p-value).
    """
    import pandas as pd

    from neuroflow.rsa.transforms import FAMILIES, Statistic, apply_statistic, sample_family

    vectors, subjects, labels, n_cond = _design(rdms)
    rng = np.random.default_rng(random_state)
    vectors = add_rdm_noise(vectors, noise_level, rng)
    draws = bootstrap_samples(subjects, n_cond, n_boot, rng)
    plan = [("rdm", "plain", [Statistic("rdm")])]
    for kind in kinds:
        for family in FAMILIES:
            pairs = sample_family(family, n_samples, rng)
            plan.append((kind, family, [Statistic(kind, lo, up) for lo, up in pairs]))
    sample_rows, summary_rows, boot_means = [], [], {}
    for kind, family, stats in plan:
        accs, boots = [], []
        for stat in stats:
            transformed = apply_statistic(vectors, stat, zero_edges)
            acc = loo_identification(transformed, subjects, labels)[0]
            boot = bootstrap_identification(transformed, subjects, labels, draws, n_cond)
            accs.append(acc)
            boots.append(boot)
            sample_rows.append({**_stat_row(stat), "accuracy": acc,
                                "bootstrap_mean": float(boot.mean()),
                                "bootstrap_sd": float(boot.std(ddof=1))})
        mean_boot = np.mean(boots, axis=0)
        boot_means[(kind, family)] = mean_boot
        lo, hi = np.percentile(mean_boot, [2.5, 97.5])
        summary_rows.append({"kind": kind, "family": family, "n_samples": len(stats),
                             "noise_level": float(noise_level),
                             "accuracy_mean": float(np.mean(accs)),
                             "bootstrap_mean": float(mean_boot.mean()),
                             "bootstrap_sd": float(mean_boot.std(ddof=1)),
                             "ci_low": float(lo), "ci_high": float(hi)})
    test_rows = []
    keys = list(boot_means)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if a[0] != b[0] and "rdm" not in (a[0], b[0]):
                continue
            diff, lo, hi, p = paired_bootstrap_test(boot_means[a], boot_means[b])
            test_rows.append({"kind_a": a[0], "family_a": a[1], "kind_b": b[0],
                              "family_b": b[1], "mean_difference": diff, "ci_low": lo,
                              "ci_high": hi, "p_value": p, "n_boot": n_boot})
    return pd.DataFrame(summary_rows), pd.DataFrame(sample_rows), pd.DataFrame(test_rows)
