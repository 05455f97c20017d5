"""The held-out evaluation protocol of the core-set benchmark (issue 23; Zhan et al. 2026).

``protocol: heldout`` (the default of the claim table): a fixed, seeded, subject-disjoint
held-out set is cut from the samples before anything else (:func:`heldout_split`); SCLCS
trains and every selector draws from the remaining pool only. Each operator's classifiers
are trained on a core-set (or, for the ground truth, on the whole pool) and scored on the
held-out set (:func:`fit_operator`, :func:`heldout_scores`):

``subject_id``
    A subject-identification model trained on the training windows: standardized edge
    vectors -> a shrinkage linear discriminant embedding with the subject as class
    (:func:`subject_embedding`; the within-subject scatter shrunk toward a scaled identity
    by the Ledoit-Wolf coefficient, so a core-set with one window per subject still gives
    one), i.e. the directions that separate subjects. Held-out
    subjects are new to it, so it is scored by fingerprinting among the held-out windows in
    that embedding (nearest window by Euclidean distance, temporally overlapping windows
    excluded).
``label``
    ``RidgeClassifier`` on standardized edge vectors trained on the training windows,
    balanced accuracy on the held-out windows.
``sfc``
    Trains nothing, so a core-set cannot change it: not evaluated under this protocol.

``protocol: insample`` keeps the earlier test (each core-set scored on itself).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROTOCOLS = ("heldout", "insample")
#: The held-out protocol's smallest cohort: 2 subjects held out, 2 in the selection pool.
MIN_HELDOUT_SUBJECTS = 4
#: Tasks with a trained model (the only ones a core-set can change under ``heldout``).
TRAINED_TASKS = ("subject_id", "label")


@dataclass(frozen=True)
class HeldoutSettings:
    """``fc.protocol`` / ``fc.heldout`` of the validated config."""

    protocol: str
    fraction: float
    seed: int

    @classmethod
    def from_config(cls, fc: dict) -> HeldoutSettings:
        if fc["protocol"] not in PROTOCOLS:
            raise ValueError(f"config key fc.protocol: expected one of {PROTOCOLS}, got {fc['protocol']!r}")
        return cls(fc["protocol"], float(fc["heldout"]["fraction"]), int(fc["heldout"]["seed"]))


def heldout_split(subjects, labels, fraction: float, seed: int) -> np.ndarray:
    """Held-out mask of a subject-disjoint split, stratified by label.

    Parameters
    ----------
    subjects : array of str, shape (n_samples,)
    labels : array of str, shape (n_samples,); "" where unknown (one stratum)
    fraction : float
        Share of the subjects of each label held out (rounded, at least 2 subjects in all
        and at least 1 left in the pool per label).
    seed : int

    Returns
    -------
    ndarray of bool, shape (n_samples,)
        True for every window of a held-out subject.
    """
    subjects, labels = np.asarray(subjects), np.asarray(labels)
    uniq = np.unique(subjects)
    if uniq.size < MIN_HELDOUT_SUBJECTS:
        raise ValueError(
            f"held-out split: {uniq.size} subjects; the held-out protocol needs "
            f">= {MIN_HELDOUT_SUBJECTS} "
            "(2 held out, 2 in the pool); set fc.protocol: insample for tiny cohorts"
        )
    lab_of = {s: labels[subjects == s][0] for s in uniq}
    rng = np.random.default_rng(seed)
    held: list[str] = []
    strata = sorted(set(lab_of.values()))
    for lab in strata:
        members = np.array([s for s in uniq if lab_of[s] == lab])
        n_out = int(round(fraction * members.size))
        n_out = min(max(n_out, 1 if members.size > 1 else 0), members.size - 1)
        held += list(rng.permutation(members)[:n_out])
    if len(held) < 2:
        rest = [s for s in rng.permutation(uniq) if s not in held]
        held += rest[: 2 - len(held)]
    return np.isin(subjects, held)


def split_halves(subjects, labels, n_splits: int, seed: int) -> list[np.ndarray]:
    """``n_splits`` random subject-level halvings (label-stratified) of a set of windows:
    a list of boolean masks of the first half (the second half is its complement)."""
    subjects, labels = np.asarray(subjects), np.asarray(labels)
    uniq = np.unique(subjects)
    lab_of = {s: labels[subjects == s][0] for s in uniq}
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_splits):
        half = []
        for lab in sorted(set(lab_of.values())):
            members = rng.permutation([s for s in uniq if lab_of[s] == lab])
            half += list(members[: members.size // 2])
        out.append(np.isin(subjects, half))
    return out


def nearest_neighbour_identification(E, subjects, excluded) -> float:
    """Fingerprinting accuracy in an embedding: each window's nearest other window
    (Euclidean, ``excluded`` pairs never matched) belongs to its own subject.

    Parameters
    ----------
    E : ndarray, shape (n_samples, n_components)
    subjects : array of str, shape (n_samples,)
    excluded : ndarray of bool, shape (n_samples, n_samples)

    Returns
    -------
    float
        Fraction of eligible queries (own subject has an eligible window) matched; NaN if none.
    """
    subjects = np.asarray(subjects)
    sq = (E**2).sum(1)
    d = sq[:, None] + sq[None, :] - 2.0 * E @ E.T
    d = np.where(excluded, np.inf, d)
    same = subjects[:, None] == subjects[None, :]
    eligible = (same & ~excluded).any(axis=1)
    if not eligible.any():
        return float("nan")
    best = d.argmin(axis=1)
    return float((subjects[best] == subjects)[eligible].mean())


def subject_embedding(Z, subjects) -> np.ndarray:
    """Projection (n_features, n_components) of a shrinkage linear discriminant analysis.

    Generalized eigenvectors of (between-subject scatter, shrunk within-subject scatter),
    largest first, ``n_components = min(n_subjects - 1, n_features)``. The within-subject
    scatter S_w (windows minus their subject mean) is shrunk as (1 - l) S_w + l mu I, with
    l the Ledoit-Wolf coefficient of the residuals (``sklearn.covariance.ledoit_wolf_shrinkage``)
    and mu = trace(S_w) / n_features (l = 1, mu = 1 when no subject has two windows).
    With l fixed this is scikit-learn's ``LinearDiscriminantAnalysis(solver="eigen")``.
    """
    from scipy.linalg import eigh
    from sklearn.covariance import ledoit_wolf_shrinkage

    classes, inv, counts = np.unique(subjects, return_inverse=True, return_counts=True)
    n, p = Z.shape
    means = np.zeros((classes.size, p))
    np.add.at(means, inv, Z)
    means /= counts[:, None]
    R = Z - means[inv]
    mu = float((R**2).sum()) / (n * p)  # trace(S_w) / n_features
    lam = float(ledoit_wolf_shrinkage(R, assume_centered=True)) if mu > 0 else 1.0
    # Both scatters live in the span of the centred windows: solve there (rank <= n - 1),
    # which is exact for the directions kept and fast when n_features >> n_windows.
    _, sv, Vt = np.linalg.svd(Z - Z.mean(0), full_matrices=False)
    Q = Vt[sv > sv.max(initial=0.0) * 1e-10].T
    if Q.shape[1] == 0:
        return np.zeros((p, 1))
    Rq, Mq = R @ Q, (means - Z.mean(0)) @ Q
    Sw = (1.0 - lam) * (Rq.T @ Rq) / n + lam * (mu if mu > 0 else 1.0) * np.eye(Q.shape[1])
    Sb = (Mq.T * counts) @ Mq / n
    w, V = eigh(Sb, Sw)
    order = np.argsort(w)[::-1][: min(classes.size - 1, Q.shape[1])]
    return Q @ V[:, order]


def _standardizer(F):
    mu = F.mean(0)
    sd = F.std(0)
    return mu, np.where(sd > 0, sd, 1.0)


def fit_operator(F, subjects, labels, tasks, label_alpha: float = 1.0) -> dict:
    """Train one operator's task models on training windows.

    Parameters
    ----------
    F : ndarray, shape (n_train, n_edges)
        Edge vectors of the training windows (a core-set, or the pool for the ground truth).
    subjects, labels : arrays (n_train,)
    tasks : sequence of str

    Returns
    -------
    dict
        Task -> fitted model (None when the training windows cannot support it: fewer than
        two subjects, or fewer than two labels).
    """
    from sklearn.linear_model import RidgeClassifier

    mu, sd = _standardizer(F)
    Z = (F - mu) / sd
    models = {"scale": (mu, sd)}
    if "subject_id" in tasks:
        models["subject_id"] = None
        if np.unique(subjects).size >= 2:
            models["subject_id"] = subject_embedding(Z, subjects)
    if "label" in tasks:
        models["label"] = None
        if np.unique(labels).size >= 2:
            models["label"] = RidgeClassifier(alpha=label_alpha).fit(Z, labels)
    return models


def heldout_predictions(models: dict, F) -> dict:
    """Apply fitted models to held-out edge vectors ``F`` (n_test, n_edges): task -> the
    subject embedding (n_test, n_components) or the predicted labels (n_test,)."""
    mu, sd = models["scale"]
    Z = (F - mu) / sd
    out = {}
    for task, model in models.items():
        if task == "scale":
            continue
        if model is None:
            out[task] = None
        elif task == "subject_id":
            out[task] = Z @ model
        else:
            out[task] = model.predict(Z)
    return out


def heldout_scores(pred: dict, subjects, labels, excluded, tasks, subset=None) -> np.ndarray:
    """Task scores (n_tasks,) of one operator's held-out predictions, on all held-out
    windows or on ``subset`` (boolean mask over them; the split-half ceiling)."""
    from sklearn.metrics import balanced_accuracy_score

    idx = np.arange(len(subjects)) if subset is None else np.flatnonzero(subset)
    out = np.full(len(tasks), np.nan)
    for t, task in enumerate(tasks):
        p = pred.get(task)
        if p is None:
            continue
        if task == "subject_id":
            out[t] = nearest_neighbour_identification(p[idx], subjects[idx], excluded[np.ix_(idx, idx)])
        elif task == "label" and np.unique(labels[idx]).size >= 2:
            out[t] = balanced_accuracy_score(labels[idx], p[idx])
    return out
