"""Downstream tasks that score an FC operator, and ranking agreement between two benchmarks.

Every task takes the cached FC matrices of one operator on a set of samples (all samples for
the ground truth, a core-set for its approximation) and returns one number, higher = better:

``subject_id`` (the paper's ``subC``)
    Fingerprinting accuracy (Finn et al. 2015): each window's FC edge vector is matched to its
    most correlated window among the others, and the match counts when it belongs to the
    same subject. Windows of the same run that overlap the query in time are excluded from
    the candidates, so identification cannot rest on shared volumes; queries whose subject has
    no eligible window left are skipped. No model is trained, so no split is needed.
``label`` (the paper's ``mddC``)
    Balanced accuracy of a ridge classifier (scikit-learn ``RidgeClassifier`` on standardized
    edge vectors) predicting the subject's group label from one window, out-of-fold with
    ``StratifiedGroupKFold`` grouped by subject: the windows of one subject are never split
    between training and test folds.
``sfc`` (structure-function coupling)
    Mean over windows of the Spearman correlation between |FC| (symmetrized for directed
    operators) and the subject's structural connectome over the edges present in it.

Edge vectors are the upper triangle (undirected operators) or all off-diagonal entries
(directed operators).

Ranking agreement between two benchmarks: :mod:`neuroflow.fc.ranking`; the held-out
protocol (models trained on a core-set, scored on a fixed subject-disjoint held-out set):
:mod:`neuroflow.fc.protocol`.
"""

from __future__ import annotations

import numpy as np

TASKS = ("subject_id", "label", "sfc")


def edge_index(n_regions: int, directed: bool):
    """Indices of the edges used as features: upper triangle, or every off-diagonal entry."""
    if directed:
        i, j = np.nonzero(~np.eye(n_regions, dtype=bool))
        return i, j
    return np.triu_indices(n_regions, k=1)


def edge_vectors(fc, directed: bool) -> np.ndarray:
    """FC matrices (n, R, R) -> edge vectors (n, E), non-finite values set to 0."""
    i, j = edge_index(fc.shape[-1], directed)
    out = np.asarray(fc, dtype=float)[:, i, j]
    return np.where(np.isfinite(out), out, 0.0)


def _rowstandardize(F):
    F = F - F.mean(axis=1, keepdims=True)
    sd = np.sqrt((F**2).mean(axis=1, keepdims=True))
    return F / np.where(sd > 0, sd, 1.0)


def overlap_mask(subjects, runs, starts, length: int) -> np.ndarray:
    """(n, n) True where two windows share volumes (same subject and run, |start gap| < length)."""
    subjects, runs, starts = map(np.asarray, (subjects, runs, starts))
    same = (subjects[:, None] == subjects[None, :]) & (runs[:, None] == runs[None, :])
    return same & (np.abs(starts[:, None] - starts[None, :]) < length)


def subject_identification(F, subjects, excluded) -> float:
    """Fingerprinting accuracy of edge vectors ``F`` (n, E).

    Parameters
    ----------
    F : ndarray, shape (n_samples, n_edges)
    subjects : array of str, shape (n_samples,)
    excluded : ndarray of bool, shape (n_samples, n_samples)
        Candidate pairs never matched (self, overlapping windows).

    Returns
    -------
    float
        Fraction of eligible queries matched to a window of their own subject; NaN if none is
        eligible.
    """
    subjects = np.asarray(subjects)
    Z = _rowstandardize(np.asarray(F, dtype=float))
    sim = Z @ Z.T / Z.shape[1]
    sim = np.where(excluded, -np.inf, sim)
    same = subjects[:, None] == subjects[None, :]
    eligible = (same & ~excluded).any(axis=1)
    if not eligible.any():
        return float("nan")
    best = sim.argmax(axis=1)
    return float((subjects[best] == subjects)[eligible].mean())


def label_classification(
    F, subjects, labels, n_splits: int = 5, alpha: float = 1.0, random_state: int = 0
) -> float:
    """Out-of-fold balanced accuracy of a ridge classifier, folds grouped by subject.

    Returns NaN when fewer than two subjects carry each of at least two labels.
    """
    from sklearn.linear_model import RidgeClassifier
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    subjects, labels = np.asarray(subjects), np.asarray(labels)
    per_label = {}
    for s, lab in zip(subjects, labels):
        per_label.setdefault(lab, set()).add(s)
    counts = sorted(len(v) for v in per_label.values())
    if len(counts) < 2 or counts[0] < 2:
        return float("nan")
    k = min(n_splits, counts[0])
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    pred = np.empty(labels.shape, dtype=labels.dtype)
    for train, test in cv.split(F, labels, groups=subjects):
        model = make_pipeline(StandardScaler(), RidgeClassifier(alpha=alpha))
        model.fit(F[train], labels[train])
        pred[test] = model.predict(F[test])
    return float(balanced_accuracy_score(labels, pred))


def coupling_per_sample(fc, structural) -> np.ndarray:
    """Spearman correlation of |FC| with structure, per sample, over edges with structure > 0.

    Parameters
    ----------
    fc : ndarray, shape (n, R, R)
    structural : ndarray, shape (n, R, R)
        The structural connectome of each sample's subject (NaN where unknown).

    Returns
    -------
    ndarray, shape (n,)
        NaN where no structural connectome is available or FC is constant.
    """
    from scipy.stats import rankdata

    fc = np.abs(np.asarray(fc, dtype=float))
    fc = 0.5 * (fc + fc.transpose(0, 2, 1))
    i, j = np.triu_indices(fc.shape[-1], k=1)
    out = np.full(fc.shape[0], np.nan)
    for n in range(fc.shape[0]):
        s = structural[n][i, j]
        f = fc[n][i, j]
        keep = np.isfinite(s) & (s > 0) & np.isfinite(f)
        if keep.sum() < 3 or np.ptp(f[keep]) == 0:
            continue
        out[n] = np.corrcoef(rankdata(f[keep]), rankdata(s[keep]))[0, 1]
    return out


class TaskData:
    """Everything the tasks need for one benchmark, prepared once.

    Parameters
    ----------
    fc : ndarray, shape (n_operators, n_samples, R, R)
    directed : sequence of bool, one per operator
    subjects, runs, starts : arrays (n_samples,)
    window_length : int
    labels : array of str (n_samples,), "" where unknown
    structural : ndarray (n_samples, R, R) or None
    tasks : sequence of str
        Tasks to run; ``label`` / ``sfc`` are dropped when the data cannot support them.
    """

    def __init__(
        self,
        fc,
        directed,
        subjects,
        runs,
        starts,
        window_length,
        labels=None,
        structural=None,
        tasks=TASKS,
        label_splits: int = 5,
        label_alpha: float = 1.0,
        random_state: int = 0,
    ):
        self.subjects = np.asarray(subjects)
        self.excluded = overlap_mask(subjects, runs, starts, window_length)
        np.fill_diagonal(self.excluded, True)
        self.features = [edge_vectors(f, d) for f, d in zip(fc, directed)]
        self.labels = None if labels is None else np.asarray(labels)
        self.label_splits, self.label_alpha, self.random_state = label_splits, label_alpha, random_state
        self.tasks = []
        self.notes = []
        for task in tasks:
            if task == "label" and (
                self.labels is None
                or len(set(self.labels[self.labels != ""])) < 2
                or (self.labels == "").any()
            ):
                self.notes.append("label task skipped: not every subject has one of >= 2 labels")
                continue
            if task == "sfc" and (structural is None or not np.isfinite(structural).any()):
                self.notes.append("sfc task skipped: no structural connectome")
                continue
            if task not in TASKS:
                raise ValueError(f"config key fc ... tasks: unknown task {task!r}; known {TASKS}")
            self.tasks.append(task)
        self.coupling = None
        if "sfc" in self.tasks:
            self.coupling = np.stack([coupling_per_sample(f, structural) for f in fc])

    def scores(self, subset=None) -> np.ndarray:
        """Scores (n_operators, n_tasks) on all samples or on ``subset`` (indices)."""
        idx = np.arange(self.subjects.size) if subset is None else np.asarray(subset)
        out = np.full((len(self.features), len(self.tasks)), np.nan)
        excl = self.excluded[np.ix_(idx, idx)]
        for o, F in enumerate(self.features):
            for t, task in enumerate(self.tasks):
                if task == "subject_id":
                    out[o, t] = subject_identification(F[idx], self.subjects[idx], excl)
                elif task == "label":
                    out[o, t] = label_classification(
                        F[idx],
                        self.subjects[idx],
                        self.labels[idx],
                        self.label_splits,
                        self.label_alpha,
                        self.random_state,
                    )
                elif task == "sfc":
                    vals = self.coupling[o, idx]
                    out[o, t] = float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan
        return out


def rank_descending(scores) -> np.ndarray:
    """Ranks (1 = best) of scores, ties averaged, NaN last."""
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=float)
    return rankdata(np.where(np.isfinite(s), -s, np.inf), method="average")


def task_data(samples, fc, tasks, label_task: dict) -> TaskData:
    """The :class:`TaskData` of a samples Dataset (:mod:`neuroflow.fc.data`) and its FC
    DataArray (operator, sample, source, target) with the ``directed`` coordinate;
    ``label_task`` holds the config keys n_splits, alpha and seed of ``fc.label_task``."""
    subj = samples["sample_subject"].values
    pos = {s: i for i, s in enumerate(samples["subject"].values)}
    rows = np.array([pos[s] for s in subj])
    labels = samples["label"].values[rows].astype(str)
    structural = samples["structural"].values[rows]
    return TaskData(
        fc.values,
        fc["directed"].values.astype(bool),
        subj,
        samples["run"].values,
        samples["start"].values,
        int(samples.attrs["window_length"]),
        labels,
        structural,
        tasks,
        label_splits=int(label_task["n_splits"]),
        label_alpha=float(label_task["alpha"]),
        random_state=int(label_task["seed"]),
    )
