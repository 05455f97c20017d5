"""Core-set selectors with one interface: samples in, ``k`` sample indices out.

``select(name, inputs, k, seed, **params) -> ndarray of k sorted indices``

``inputs`` is a :class:`SelectionInputs` (features, subject ids, and for the SPS-based
selectors the Structural Perturbation Score of each sample). Selectors:

``random``
    Uniform sampling without replacement.
``kcenter``
    k-center greedy (Sener & Savarese 2018) in feature space, from a random first centre.
``herding``
    Herding (Welling 2009; Chen et al. 2010): greedily keep the running mean of the chosen
    features closest to the mean of all features. Deterministic.
``el2n``
    EL2N (Paul et al. 2021): ||softmax(f(x)) - onehot(subject)||_2 of a linear softmax
    classifier (scikit-learn ``SGDClassifier``, log loss) after a few epochs on the
    subject-identification task, averaged over restarts; the k hardest samples are kept.
``sps_topk``
    The k samples with the lowest SPS (most stable structure), Zhan et al. (2026).
``sclcs``
    SCLCS density-balanced sampling over SPS (Zhan et al. 2026; :func:`density_balanced`).
``sclcs_drawcorr``
    The same sampling over the draw-frequency-corrected SPS (:func:`draw_corrected_sps`), a
    variant of ours beside the paper's: SPS averages ||A(e+1) - A(e)|| over consecutive
    appearances, and a window of a subject with many windows is drawn rarely, so more
    training happens between its appearances and its SPS is larger for that reason alone.

Features for ``kcenter``, ``herding`` and ``el2n`` are the Fisher-z Pearson FC edge vectors of
the windows, standardized per edge (:func:`pearson_features`): the operator-agnostic view
of a sample that the baselines need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SELECTORS = ("random", "kcenter", "herding", "el2n", "sps_topk", "sclcs", "sclcs_drawcorr")
#: Selectors that read the Structural Perturbation Scores of the SCLCS training.
SPS_SELECTORS = ("sps_topk", "sclcs", "sclcs_drawcorr")


@dataclass
class SelectionInputs:
    """What the selectors look at.

    Attributes
    ----------
    features : ndarray, shape (n_samples, n_features)
    subjects : ndarray of str, shape (n_samples,)
    sps : ndarray, shape (n_train_seeds, n_samples), optional
        Structural Perturbation Scores (inf = never seen twice during training).
    appearances : ndarray, shape (n_train_seeds, n_samples), optional
        How often each sample was drawn in each training (``sclcs_drawcorr``).
    cache : dict
        Per-seed scores that do not depend on k (EL2N), reused across core-set sizes.
    """

    features: np.ndarray
    subjects: np.ndarray
    sps: np.ndarray | None = None
    appearances: np.ndarray | None = None
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return self.features.shape[0]


def pearson_features(X) -> np.ndarray:
    """Fisher-z Pearson FC upper triangle of windows X (n, R, T), standardized per edge."""
    Z = X - X.mean(-1, keepdims=True)
    Z = Z / np.where(Z.std(-1, keepdims=True) > 0, Z.std(-1, keepdims=True), 1.0)
    C = np.einsum("nit,njt->nij", Z, Z) / X.shape[-1]
    i, j = np.triu_indices(X.shape[1], k=1)
    F = np.arctanh(np.clip(C[:, i, j], -0.999999, 0.999999))
    F = F - F.mean(0)
    sd = F.std(0)
    return F / np.where(sd > 0, sd, 1.0)


def _check_k(k: int, n: int, name: str) -> int:
    if not 1 <= k <= n:
        raise ValueError(f"selector {name}: core-set size k={k} must be in 1..{n}")
    return int(k)


def select_random(inputs: SelectionInputs, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(inputs.n, size=k, replace=False))


def select_kcenter(inputs: SelectionInputs, k: int, seed: int) -> np.ndarray:
    F = inputs.features
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(inputs.n))]
    dist = np.linalg.norm(F - F[chosen[0]], axis=1)
    while len(chosen) < k:
        nxt = int(dist.argmax())
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(F - F[nxt], axis=1))
    return np.sort(np.array(chosen))


def select_herding(inputs: SelectionInputs, k: int, seed: int = 0) -> np.ndarray:
    F = inputs.features
    mu = F.mean(0)
    chosen: list[int] = []
    total = np.zeros_like(mu)
    available = np.ones(inputs.n, dtype=bool)
    for t in range(1, k + 1):
        cand = (total[None, :] + F) / t
        err = np.linalg.norm(cand - mu, axis=1)
        err[~available] = np.inf
        nxt = int(err.argmin())
        chosen.append(nxt)
        available[nxt] = False
        total += F[nxt]
    return np.sort(np.array(chosen))


def el2n_scores(inputs: SelectionInputs, seed: int, epochs: int = 5, repeats: int = 5) -> np.ndarray:
    """EL2N score per sample, averaged over ``repeats`` classifiers trained ``epochs`` epochs."""
    import warnings

    from sklearn.linear_model import SGDClassifier

    y = inputs.subjects
    classes = np.unique(y)
    onehot = (y[:, None] == classes[None, :]).astype(float)
    total = np.zeros(inputs.n)
    for r in range(repeats):
        clf = SGDClassifier(loss="log_loss", alpha=1e-3, random_state=seed * 1000 + r)
        rng = np.random.default_rng(seed * 1000 + r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(epochs):
                order = rng.permutation(inputs.n)
                clf.partial_fit(inputs.features[order], y[order], classes=classes)
        prob = clf.predict_proba(inputs.features)
        total += np.linalg.norm(prob - onehot, axis=1)
    return total / repeats


def select_el2n(inputs: SelectionInputs, k: int, seed: int, epochs: int = 5, repeats: int = 5) -> np.ndarray:
    key = ("el2n", seed, epochs, repeats)
    if key not in inputs.cache:
        inputs.cache[key] = el2n_scores(inputs, seed, epochs, repeats)
    score = inputs.cache[key]
    order = np.lexsort((np.arange(inputs.n), -score))
    return np.sort(order[:k])


def _sps_of(inputs: SelectionInputs, seed: int, name: str) -> np.ndarray:
    if inputs.sps is None:
        raise ValueError(f"selector {name} needs Structural Perturbation Scores (run SCLCS training)")
    return inputs.sps[seed % inputs.sps.shape[0]]


def select_sps_topk(inputs: SelectionInputs, k: int, seed: int) -> np.ndarray:
    sps = _sps_of(inputs, seed, "sps_topk")
    order = np.lexsort((np.arange(inputs.n), sps))
    return np.sort(order[:k])


def density_balanced(sps, m: int, seed: int, beta: float = 0.05, bandwidth_adjust: float = 1.0) -> np.ndarray:
    """SCLCS density-balanced sampling of ``m`` samples from their SPS values.

    1. Samples never seen twice in training (SPS = inf) are dropped, then the top ``beta``
       fraction of SPS (least stable) is removed (threshold = percentile 100 (1 - beta)).
    2. A 1-D Gaussian KDE (``scipy.stats.gaussian_kde``, Scott factor x ``bandwidth_adjust``)
       is fitted on the remaining SPS values.
    3. Each remaining sample gets weight 1 / (density(SPS) + 1e-8), normalized.
    4. ``m`` samples are drawn without replacement with these probabilities.

    Falls back to uniform weights when the SPS values are all equal (KDE undefined).
    """
    from scipy.stats import gaussian_kde

    sps = np.asarray(sps, dtype=float)
    finite = np.flatnonzero(np.isfinite(sps))
    if finite.size == 0:
        raise ValueError("density-balanced sampling: no sample has a finite SPS")
    thr = np.percentile(sps[finite], 100.0 * (1.0 - beta))
    keep = finite[sps[finite] <= thr]
    if m > keep.size:
        raise ValueError(
            f"density-balanced sampling: asked for {m} samples, only {keep.size} "
            f"remain after dropping the top {beta:.0%} SPS"
        )
    values = sps[keep]
    if np.ptp(values) > 0:
        kde = gaussian_kde(values)
        kde.set_bandwidth(kde.scotts_factor() * bandwidth_adjust)
        w = 1.0 / (kde(values) + 1e-8)
    else:
        w = np.ones(keep.size)
    w = w / w.sum()
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(keep, size=m, replace=False, p=w))


def draw_corrected_sps(sps, appearances) -> np.ndarray:
    """SPS x (appearances / their mean over samples with a finite SPS).

    With E_i appearances in a fixed number of steps, the gap between consecutive appearances
    is ~ 1 / E_i; if the structure drifts linearly between appearances, SPS_i ~ gap_i and
    this product is the change per unit gap, comparable across windows drawn at different
    rates (the paper's SPS is not: it grows with the subject's window count). Inf stays inf.
    """
    sps = np.asarray(sps, dtype=float)
    e = np.asarray(appearances, dtype=float)
    finite = np.isfinite(sps)
    if not finite.any():
        return sps.copy()
    out = np.full(sps.shape, np.inf)
    out[finite] = sps[finite] * e[finite] / e[finite].mean()
    return out


def select_sclcs(
    inputs: SelectionInputs, k: int, seed: int, beta: float = 0.05, bandwidth_adjust: float = 1.0
) -> np.ndarray:
    return density_balanced(_sps_of(inputs, seed, "sclcs"), k, seed, beta, bandwidth_adjust)


def select_sclcs_drawcorr(
    inputs: SelectionInputs, k: int, seed: int, beta: float = 0.05, bandwidth_adjust: float = 1.0
) -> np.ndarray:
    if inputs.appearances is None:
        raise ValueError("selector sclcs_drawcorr needs the appearance counts of the SCLCS training")
    r = seed % inputs.appearances.shape[0]
    corrected = draw_corrected_sps(_sps_of(inputs, seed, "sclcs_drawcorr"), inputs.appearances[r])
    return density_balanced(corrected, k, seed, beta, bandwidth_adjust)


_FUNCS = {
    "random": select_random,
    "kcenter": select_kcenter,
    "herding": select_herding,
    "el2n": select_el2n,
    "sps_topk": select_sps_topk,
    "sclcs": select_sclcs,
    "sclcs_drawcorr": select_sclcs_drawcorr,
}


def select(name: str, inputs: SelectionInputs, k: int, seed: int, **params) -> np.ndarray:
    """Run selector ``name``; returns ``k`` sorted sample indices."""
    if name not in _FUNCS:
        raise ValueError(f"config key fc ... selectors: unknown selector {name!r}; known {SELECTORS}")
    k = _check_k(k, inputs.n, name)
    idx = _FUNCS[name](inputs, k, seed, **params)
    if idx.size != k or np.unique(idx).size != k:
        raise RuntimeError(
            f"selector {name} returned {idx.size} indices ({np.unique(idx).size} unique), not {k}"
        )
    return idx


def core_size(fraction: float, n: int) -> int:
    """Core-set size for a fraction of ``n`` samples (rounded, at least 2)."""
    return int(min(n, max(2, round(fraction * n))))


def draw_coresets(inputs: SelectionInputs, pool, n_samples: int, selectors, fractions, seeds: int, params):
    """Every selector x fraction x seed core-set, drawn from the ``pool`` samples.

    Parameters
    ----------
    inputs : SelectionInputs
        Of the pool samples only, in the order of ``pool``.
    pool : ndarray of int
        Indices of the pool samples among all ``n_samples``; sizes are fractions of the pool.
    params : dict
        Selector name -> its keyword arguments of :func:`select`.

    Returns
    -------
    mask : ndarray of int8, shape (n_selectors, n_fractions, seeds, n_samples)
        1 where the sample is in the core-set.
    rows : list of dict
        One per core-set: ``selector, fraction, seed, k, n_subjects``.
    """
    mask = np.zeros((len(selectors), len(fractions), seeds, n_samples), dtype=np.int8)
    rows = []
    for a, name in enumerate(selectors):
        for b, frac in enumerate(fractions):
            k = core_size(frac, pool.size)
            for s in range(seeds):
                chosen = select(name, inputs, k, s, **params.get(name, {}))
                mask[a, b, s, pool[chosen]] = 1
                rows.append(
                    {
                        "selector": name,
                        "fraction": frac,
                        "seed": s,
                        "k": k,
                        "n_subjects": int(np.unique(inputs.subjects[chosen]).size),
                    }
                )
    return mask, rows
