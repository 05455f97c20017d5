"""Posterior summaries over chains: co-clustering, loss-minimizing partitions, diagnostics.

Label switching is handled without relabelling the sampler: co-clustering (posterior
similarity) matrices are invariant to labels; point estimates minimize the posterior
expected Binder or variation-of-information loss (Wade & Ghahramani 2018) or maximize
the posterior expected adjusted Rand index (maxPEAR, Fritsch & Ickstadt 2009, the
paper's choice for states) over candidate partitions (every kept draw, thinned to at
most ``max_candidates``, plus average- and complete-linkage cuts of the similarity
matrix), followed by greedy single-item moves for Binder; per-draw
labels are then matched to the point estimate by the Hungarian algorithm to give
state posteriors and cluster-aligned latent trajectories.
"""

from __future__ import annotations

import numpy as np


def coclustering(labels) -> np.ndarray:
    """Posterior similarity matrix ``P[i, j] = mean_s 1{c_s[i] == c_s[j]}``.

    Parameters
    ----------
    labels : ndarray of int, shape (n_draws, n_items)

    Returns
    -------
    ndarray, shape (n_items, n_items), float
    """
    labels = np.asarray(labels)
    n_draws, n_items = labels.shape
    out = np.zeros((n_items, n_items))
    n_lab = int(labels.max()) + 1
    for chunk in np.array_split(np.arange(n_draws), max(1, n_draws // 64)):
        onehot = np.zeros((n_items, chunk.size * n_lab), dtype=np.float32)
        cols = labels[chunk].T + (np.arange(chunk.size) * n_lab)[None, :]
        np.put_along_axis(onehot, cols, 1.0, axis=1)
        out += onehot @ onehot.T
    return out / n_draws


def _entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def variation_of_information(a, b) -> float:
    """VI (bits) between two labelings of the same items."""
    a = np.unique(a, return_inverse=True)[1]
    b = np.unique(b, return_inverse=True)[1]
    joint = np.bincount(a * (b.max() + 1) + b).astype(float)
    return 2 * _entropy(joint) - _entropy(np.bincount(a).astype(float)) - _entropy(
        np.bincount(b).astype(float))


def binder_loss(partition, psm) -> float:
    """Posterior expected Binder loss (equal costs), ``sum_{i<j} |1{c_i = c_j} - P_ij|``."""
    same = partition[:, None] == partition[None, :]
    return float(np.abs(same - psm)[np.triu_indices(len(partition), 1)].sum())


def pear(partition, psm) -> float:
    """Posterior expected adjusted Rand index of ``partition`` (Fritsch & Ickstadt 2009).

    The approximation used by R ``mcclust::maxpear``: the ARI's expectation is replaced
    by the ratio of expectations, computed from the co-clustering matrix ``psm``.
    """
    iu = np.triu_indices(len(partition), 1)
    same = (partition[:, None] == partition[None, :])[iu].astype(float)
    p = psm[iu]
    n_pairs = float(same.size)
    s_same, s_p = same.sum(), p.sum()
    expected = s_same * s_p / n_pairs
    denom = 0.5 * (s_same + s_p) - expected
    if denom == 0:
        return 1.0
    return float(((same * p).sum() - expected) / denom)


def _candidates(draws, psm, max_candidates, rng):
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    idx = np.arange(draws.shape[0])
    if idx.size > max_candidates:
        idx = np.sort(rng.choice(idx, max_candidates, replace=False))
    cands = [draws[i] for i in idx]
    dist = np.clip(1.0 - psm, 0.0, 1.0)
    np.fill_diagonal(dist, 0.0)
    if psm.shape[0] > 1:
        kmax = int(min(psm.shape[0], max(2, draws.max() + 2)))
        for method in ("average", "complete"):      # as mcclust::maxpear
            tree = linkage(squareform(dist, checks=False), method=method)
            for k in range(1, kmax + 1):
                cands.append(fcluster(tree, t=k, criterion="maxclust") - 1)
    return cands


def _greedy_binder(part, psm, n_sweeps=5):
    part = part.copy()
    n = len(part)
    for _ in range(n_sweeps):
        changed = False
        for i in range(n):
            labels = np.unique(part)
            new_label = labels.max() + 1
            options = np.append(labels, new_label)
            # cost of putting i with members of label l: sum_j (1 - P_ij) for j in l,
            # plus sum_j P_ij for j not in l (j != i)
            others = np.arange(n) != i
            base = psm[i, others].sum()
            costs = []
            for lab in options:
                members = (part == lab) & others
                costs.append(base - 2 * psm[i, members].sum() + members.sum())
            best = options[int(np.argmin(costs))]
            if best != part[i]:
                part[i] = best
                changed = True
        if not changed:
            break
    return np.unique(part, return_inverse=True)[1]


def point_estimate(draws, psm=None, loss="binder", max_candidates=200, max_reference=500,
                   random_state=0):
    """Partition minimizing the posterior expected loss.

    Parameters
    ----------
    draws : ndarray of int, shape (n_draws, n_items)
        Sampled partitions (labels arbitrary).
    psm : ndarray, shape (n_items, n_items), optional
        Co-clustering matrix (computed when absent).
    loss : {"binder", "pear", "vi"}
        Binder: closed form through ``psm``, then greedy refinement. PEAR: maximizes the
        posterior expected adjusted Rand index (the paper's maxPEAR; loss ``1 - PEAR``)
        over the candidates. VI: expected VI against at most ``max_reference`` draws.

    Returns
    -------
    labels : ndarray of int, shape (n_items,)
        Labels 0..K-1 ordered by first appearance.
    expected_loss : float
    """
    draws = np.asarray(draws)
    rng = np.random.default_rng(random_state)
    if psm is None:
        psm = coclustering(draws)
    cands = _candidates(draws, psm, max_candidates, rng)
    if loss == "binder":
        scores = [binder_loss(c, psm) for c in cands]
        best = _greedy_binder(cands[int(np.argmin(scores))], psm)
        value = binder_loss(best, psm)
    elif loss == "pear":
        scores = [1.0 - pear(c, psm) for c in cands]
        best = cands[int(np.argmin(scores))]
        value = float(min(scores))
    elif loss == "vi":
        ref = draws if draws.shape[0] <= max_reference else draws[
            np.sort(rng.choice(draws.shape[0], max_reference, replace=False))]
        scores = [np.mean([variation_of_information(c, r) for r in ref]) for c in cands]
        best = cands[int(np.argmin(scores))]
        value = float(min(scores))
    else:
        raise ValueError(f"loss must be 'binder', 'pear' or 'vi', got {loss!r}")
    _, first = np.unique(best, return_index=True)
    order = np.unique(best)[np.argsort(first)]
    lut = {old: new for new, old in enumerate(order)}
    return np.array([lut[v] for v in best], dtype=np.int64), float(value)


def match_labels(draw, reference, n_ref):
    """Map a draw's labels onto reference labels by maximal overlap (Hungarian).

    Returns an int array like ``draw`` with values in ``0..n_ref-1`` for matched labels
    and ``-1`` for draw labels left unmatched.
    """
    from scipy.optimize import linear_sum_assignment

    labs = np.unique(draw)
    overlap = np.zeros((labs.size, n_ref))
    for a, lab in enumerate(labs):
        overlap[a] = np.bincount(reference[draw == lab], minlength=n_ref)[:n_ref]
    rows, cols = linear_sum_assignment(-overlap)
    lut = np.full(labs.max() + 1, -1)
    lut[labs[rows]] = cols
    return lut[draw]


def state_posterior(state_draws, point):
    """P(aligned state k at bin t): draws matched to the point estimate; (T, K + 1).

    The last column is the probability that the bin's draw state matched none of the
    point-estimate states.
    """
    n_ref = int(point.max()) + 1
    out = np.zeros((state_draws.shape[1], n_ref + 1))
    for draw in state_draws:
        m = match_labels(draw, point, n_ref)
        out[np.arange(m.size), np.where(m < 0, n_ref, m)] += 1
    return out / state_draws.shape[0]


def align_latents(latent, z_draws, point, n_iter=2):
    """Latent trajectories of the point-estimate clusters, aligned over draws.

    Parameters
    ----------
    latent : ndarray, shape (n_draws, n_slots, p + 1, T)
        Per-draw cluster latents, slot = the draw's cluster label.
    z_draws : ndarray of int, shape (n_draws, n_neurons)
    point : ndarray of int, shape (n_neurons,)

    Returns
    -------
    aligned : ndarray, shape (n_draws, K, p + 1, T)
        NaN where a draw has no cluster matching a point-estimate cluster. Factor rows
        (1..p) are sign-flipped to agree with the running posterior mean (rotation is
        already fixed by the sampler's SVD convention).
    """
    n_draws, _, p1, n_time = latent.shape
    n_ref = int(point.max()) + 1
    out = np.full((n_draws, n_ref, p1, n_time), np.nan, dtype=float)
    for s in range(n_draws):
        m = match_labels(z_draws[s], point, n_ref)
        for lab in np.unique(z_draws[s]):
            tgt = m[z_draws[s] == lab][0]
            if tgt >= 0:
                out[s, tgt] = latent[s, lab]
    with np.errstate(all="ignore"):
        mean = np.nanmean(out, axis=0)
    ref = np.where(np.isnan(out[0]), mean, out[0])       # first pass: the first draw
    for _ in range(n_iter):
        ref = np.nan_to_num(ref)
        sign = np.sign(np.nansum(out[:, :, 1:] * ref[None, :, 1:], axis=-1))
        sign[sign == 0] = 1
        out[:, :, 1:] *= sign[..., None]
        with np.errstate(all="ignore"):
            ref = np.nanmean(out, axis=0)
    return out


def diagnostics_table(chains: dict, neurons):
    """arviz summary (mean, sd, HDI, MCSE, ESS bulk/tail, R-hat) of the continuous parameters.

    Parameters
    ----------
    chains : dict
        name -> ndarray (n_chains, n_draws[, n_neurons]).
    neurons : sequence of str
    """
    import arviz as az
    import pandas as pd

    posterior = {}
    coords = {"neuron": list(neurons)}
    dims = {}
    for name, arr in chains.items():
        posterior[name] = np.asarray(arr, dtype=float)
        if posterior[name].ndim == 3:
            dims[name] = ["neuron"]
    idata = az.from_dict(posterior=posterior, coords=coords, dims=dims)
    summ = az.summary(idata, kind="all", round_to="none")
    summ = summ.reset_index().rename(columns={"index": "parameter"})
    summ.insert(1, "neuron", [p.split("[")[1].rstrip("]") if "[" in p else "n/a"
                              for p in summ["parameter"]])
    summ["parameter"] = [p.split("[")[0] for p in summ["parameter"]]
    return pd.DataFrame(summ)


def circular_shift_null(states, reference, score, n_shuffles, random_state):
    """Scores of ``states`` against circularly shifted ``reference`` labels.

    Shifts are drawn uniformly from 1..T-1 (keeps the epochs' block structure).
    """
    rng = np.random.default_rng(random_state)
    shifts = rng.integers(1, len(reference), n_shuffles)
    return np.array([score(np.roll(reference, k), states) for k in shifts])
