"""Ranking agreement between a core-set's operator scores and the ground truth, with room.

Metrics (higher = closer to the ground truth; operators with a non-finite ground-truth
score are dropped, non-finite core-set scores rank last):

``ndcg_linear``
    nDCG@k, relevance = ground-truth score min-max scaled to [0, 1] (the earlier metric;
    ``sklearn.metrics.ndcg_score``). Leaves little room: swapping the whole top k for the
    next k still scores high when scores are close.
``ndcg_binary``
    nDCG@k, relevance 1 for the ground-truth top k, 0 otherwise. A random ranking scores
    k / n on average.
``topk_overlap``
    |top k of the core-set ranking ∩ ground-truth top k| / k (random: k / n on average).
``kendall_tau``
    Kendall tau-b between the two score vectors (``scipy.stats.kendalltau``; random: 0).

Ties in "top k" are broken by operator order (stable). :func:`permutation_null` gives each
metric's distribution for a random permutation of the operators; :func:`duplicate_groups`
finds operators whose scores are identical (they rank identically; issue 19).
"""

from __future__ import annotations

import numpy as np

METRICS = ("ndcg_linear", "ndcg_binary", "topk_overlap", "kendall_tau")


def _clean(true_scores, pred_scores):
    """Operators with a finite ground truth; non-finite predictions last. Empty when the
    ground truth has < 2 operators or no spread (no ranking to agree with)."""
    t = np.asarray(true_scores, dtype=float)
    p = np.asarray(pred_scores, dtype=float)
    ok = np.isfinite(t)
    t, p = t[ok], p[ok]
    if t.size < 2 or np.ptp(t) == 0:
        return t[:0], p[:0]
    finite = np.isfinite(p)
    p = np.where(finite, p, np.nanmin(p[finite]) - 1.0) if finite.any() else np.zeros_like(p)
    return t, p


def top_k(scores, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores (ties broken by position)."""
    s = np.asarray(scores, dtype=float)
    return np.lexsort((np.arange(s.size), -s))[:k]


def ndcg_linear(true_scores, pred_scores, k: int) -> float:
    """nDCG@k with the min-max scaled ground-truth score as relevance."""
    from sklearn.metrics import ndcg_score

    t, p = _clean(true_scores, pred_scores)
    if t.size < 2:
        return float("nan")
    rel = (t - t.min()) / np.ptp(t)
    return float(ndcg_score(rel[None, :], p[None, :], k=min(k, t.size)))


def ndcg_binary(true_scores, pred_scores, k: int) -> float:
    """nDCG@k with relevance 1 for the ground-truth top k, else 0."""
    from sklearn.metrics import ndcg_score

    t, p = _clean(true_scores, pred_scores)
    if t.size < 2:
        return float("nan")
    k = min(k, t.size)
    rel = np.zeros(t.size)
    rel[top_k(t, k)] = 1.0
    return float(ndcg_score(rel[None, :], p[None, :], k=k))


def topk_overlap(true_scores, pred_scores, k: int) -> float:
    """Share of the ground-truth top k found in the core-set's top k."""
    t, p = _clean(true_scores, pred_scores)
    if t.size < 2:
        return float("nan")
    k = min(k, t.size)
    return float(np.intersect1d(top_k(t, k), top_k(p, k)).size / k)


def kendall_tau(true_scores, pred_scores) -> float:
    """Kendall tau-b between two score vectors (pairs with a NaN dropped)."""
    from scipy.stats import kendalltau

    t = np.asarray(true_scores, dtype=float)
    p = np.asarray(pred_scores, dtype=float)
    ok = np.isfinite(t) & np.isfinite(p)
    if ok.sum() < 3 or np.ptp(p[ok]) == 0 or np.ptp(t[ok]) == 0:
        return float("nan")
    return float(kendalltau(t[ok], p[ok]).statistic)


def agreement(true_scores, pred_scores, k: int) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one pair of score vectors."""
    return {
        "ndcg_linear": ndcg_linear(true_scores, pred_scores, k),
        "ndcg_binary": ndcg_binary(true_scores, pred_scores, k),
        "topk_overlap": topk_overlap(true_scores, pred_scores, k),
        "kendall_tau": kendall_tau(true_scores, pred_scores),
    }


def _batch_agreement(t, P, k: int) -> dict[str, np.ndarray]:
    """Every metric for many tie-free predictions at once (rows of ``P``); equal to
    :func:`agreement` row by row (tested), without a scikit-learn call per row."""
    n = t.size
    k = min(k, n)
    order = np.argsort(-P, axis=1, kind="stable")[:, :k]
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    rel_lin = (t - t.min()) / np.ptp(t)
    truth_top = np.zeros(n, dtype=bool)
    truth_top[top_k(t, k)] = True
    out = {}
    for name, rel in (("ndcg_linear", rel_lin), ("ndcg_binary", truth_top.astype(float))):
        ideal = np.sort(rel)[::-1][:k] @ disc
        out[name] = rel[order] @ disc / ideal
    out["topk_overlap"] = truth_top[order].sum(1) / k
    i, j = np.triu_indices(n, k=1)
    st = np.sign(t[i] - t[j])
    n_t = np.count_nonzero(st)
    sp = np.sign(P[:, i] - P[:, j])
    out["kendall_tau"] = (sp @ st) / np.sqrt(n_t * np.count_nonzero(sp, axis=1))
    return out


def permutation_null(true_scores, k: int, n_permutations: int, seed: int) -> dict[str, np.ndarray]:
    """Each metric for ``n_permutations`` random rankings of the operators.

    Returns
    -------
    dict
        Metric -> ndarray (n_permutations,); all NaN when the ground truth has no ranking
        (fewer than 3 finite scores or no spread).
    """
    t = np.asarray(true_scores, dtype=float)
    t = t[np.isfinite(t)]
    if t.size < 3 or np.ptp(t) == 0:
        return {m: np.full(n_permutations, np.nan) for m in METRICS}
    rng = np.random.default_rng(seed)
    P = np.stack([rng.permutation(t.size) for _ in range(n_permutations)]).astype(float)
    return _batch_agreement(t, P, k)


def duplicate_groups(score_rows, names, atol: float = 1e-12, min_values: int = 20) -> dict[str, list[str]]:
    """Operators whose score vectors are identical: kept name -> names of its duplicates.

    Parameters
    ----------
    score_rows : ndarray, shape (n_operators, n_values)
        Everything that ranks an operator (scores per task, per held-out half, ...).
    names : sequence of str, shape (n_operators,)
        The first of a group (in this order) is kept.
    min_values : int
        Fewer finite values per operator than this and nothing is merged: a few coarse
        accuracies can agree by chance.
    """
    S = np.asarray(score_rows, dtype=float)
    if np.isfinite(S).sum(axis=1).min(initial=min_values) < min_values:
        return {}
    kept: dict[str, list[str]] = {}
    reps: list[int] = []
    for i, name in enumerate(names):
        for r in reps:
            same = np.isclose(S[i], S[r], rtol=0.0, atol=atol) | (np.isnan(S[i]) & np.isnan(S[r]))
            if same.all():
                kept[names[r]].append(str(name))
                break
        else:
            reps.append(i)
            kept[str(name)] = []
    return {k: v for k, v in kept.items() if v}
