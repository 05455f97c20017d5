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

Convergence (:func:`check_convergence`) is judged on quantities that need no labels:
continuous parameters, co-clustering indicators of item pairs (:func:`pair_indicators`),
per-bin state occupancy (:func:`state_occupancy`), by arviz's rank-normalized split R-hat
and bulk/tail ESS (Vehtari et al. 2021); chains stuck in different modes are caught by
comparing their co-clustering matrices (:func:`chain_gap`), and a group of a point
estimate counts as found only when every chain supports it (:func:`label_support`): a
partition pooled from chains in different modes can hold a group no chain holds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import squareform


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
    return (
        2 * _entropy(joint) - _entropy(np.bincount(a).astype(float)) - _entropy(np.bincount(b).astype(float))
    )


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
    idx = np.arange(draws.shape[0])
    if idx.size > max_candidates:
        idx = np.sort(rng.choice(idx, max_candidates, replace=False))
    cands = [draws[i] for i in idx]
    dist = np.clip(1.0 - psm, 0.0, 1.0)
    np.fill_diagonal(dist, 0.0)
    if psm.shape[0] > 1:
        kmax = int(min(psm.shape[0], max(2, draws.max() + 2)))
        for method in ("average", "complete"):  # as mcclust::maxpear
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


def point_estimate(draws, psm=None, loss="binder", max_candidates=200, max_reference=500, random_state=0):
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
        ref = (
            draws
            if draws.shape[0] <= max_reference
            else draws[np.sort(rng.choice(draws.shape[0], max_reference, replace=False))]
        )
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
    ref = np.where(np.isnan(out[0]), mean, out[0])  # first pass: the first draw
    for _ in range(n_iter):
        ref = np.nan_to_num(ref)
        sign = np.sign(np.nansum(out[:, :, 1:] * ref[None, :, 1:], axis=-1))
        sign[sign == 0] = 1
        out[:, :, 1:] *= sign[..., None]
        with np.errstate(all="ignore"):
            ref = np.nanmean(out, axis=0)
    return out


def diagnostics_table(chains: dict, neurons, items: dict | None = None):
    """arviz summary (mean, sd, HDI, MCSE, ESS bulk/tail, R-hat) of the monitored quantities.

    Parameters
    ----------
    chains : dict
        name -> ndarray (n_chains, n_draws[, n_items]).
    neurons : sequence of str
        Labels of the last axis of 3-d arrays not named in ``items``.
    items : dict, optional
        name -> labels of that quantity's last axis (e.g. neuron pairs ``"a|b"``, bins).

    Returns
    -------
    DataFrame
        One row per scalar: ``parameter``, ``neuron`` (the item label or ``n/a``), arviz's
        columns, and ``constant`` (every draw of every chain equal: R-hat undefined, nothing
        to mix).
    """
    import arviz as az  # heavy: only the merge needs it

    items = dict(items or {})
    posterior, dims, coords, labels, const = {}, {}, {}, [], []
    for name, arr in chains.items():
        arr = np.asarray(arr, dtype=float)
        posterior[name] = arr
        if arr.ndim == 3:
            dims[name] = [f"{name}_item"]
            coords[f"{name}_item"] = np.arange(arr.shape[2])
            labels += [str(v) for v in items.get(name, neurons)]
        else:
            labels.append("n/a")
        flat = arr.reshape(arr.shape[0], arr.shape[1], -1)
        const += list(flat.max(axis=(0, 1)) == flat.min(axis=(0, 1)))
    idata = az.from_dict(posterior=posterior, coords=coords, dims=dims)
    with warnings.catch_warnings():  # constant quantities: R-hat 0/0, flagged below
        warnings.simplefilter("ignore", RuntimeWarning)
        summ = az.summary(idata, kind="all", round_to="none")
    names = [p.split("[")[0] for p in summ.index]
    if len(labels) != len(summ) or names != [n for n, a in posterior.items() for _ in range(a[0, 0].size)]:
        raise ValueError("diagnostics_table: item labels do not match the arrays' last axes")
    summ = summ.reset_index(drop=True)
    summ.insert(0, "parameter", names)
    summ.insert(1, "neuron", labels)
    summ["constant"] = const
    return pd.DataFrame(summ)


def pair_indicators(labels, names, max_pairs=300):
    """Co-clustering indicators ``1{c[i] == c[j]}`` of item pairs, per chain and draw.

    Parameters
    ----------
    labels : ndarray of int, shape (n_chains, n_draws, n_items)
    names : sequence of str, length n_items
    max_pairs : int
        Pairs ``i < j`` kept, evenly spaced in the upper triangle.

    Returns
    -------
    ind : ndarray, shape (n_chains, n_draws, n_pairs), 0/1 floats
    pair_names : list of str, ``"a|b"``
    """
    labels = np.asarray(labels)
    iu, ju = np.triu_indices(labels.shape[2], 1)
    if iu.size > max_pairs:
        keep = np.unique(np.linspace(0, iu.size - 1, max_pairs).astype(int))
        iu, ju = iu[keep], ju[keep]
    ind = (labels[..., iu] == labels[..., ju]).astype(float)
    return ind, [f"{names[i]}|{names[j]}" for i, j in zip(iu, ju)]


def state_occupancy(states, max_bins=300):
    """Per-bin state occupancy: the share of all bins in the same state as bin t.

    Label-invariant (it depends only on the partition of the bins), so R-hat and ESS of
    it are comparable across chains whatever the state labels.

    Parameters
    ----------
    states : ndarray of int, shape (n_chains, n_draws, T)
    max_bins : int
        Bins kept, evenly spaced.

    Returns
    -------
    occ : ndarray, shape (n_chains, n_draws, n_bins)
    bins : ndarray of int, shape (n_bins,), the bins' indices
    """
    states = np.asarray(states)
    n_c, n_d, n_t = states.shape
    bins = np.unique(np.linspace(0, n_t - 1, min(max_bins, n_t)).astype(int))
    flat = states.reshape(n_c * n_d, n_t)
    n_lab = int(flat.max()) + 1
    offset = flat + (np.arange(flat.shape[0]) * n_lab)[:, None]
    sizes = np.bincount(offset.ravel(), minlength=flat.shape[0] * n_lab).reshape(-1, n_lab)
    occ = np.take_along_axis(sizes, flat[:, bins], axis=1) / n_t
    return occ.reshape(n_c, n_d, bins.size), bins


def chain_gap(chain_labels):
    """Largest difference between two chains' co-clustering matrices.

    Parameters
    ----------
    chain_labels : sequence of ndarray of int, each shape (n_draws, n_items)
        Draws of each chain (thinned as wanted).

    Returns
    -------
    gap : float
        ``max_{c < c', i, j} |P_c[i, j] - P_c'[i, j]|`` (0 with one chain). Two chains in
        the same mode differ by Monte Carlo error only; two chains holding different
        partitions differ by up to 1 for the items they group differently.
    where : tuple
        ``(c, c', i, j)`` of the largest difference, or ``()``.
    """
    mats = [coclustering(c) for c in chain_labels]
    best, where = 0.0, ()
    for a in range(len(mats)):
        for b in range(a + 1, len(mats)):
            diff = np.abs(mats[a] - mats[b])
            k = int(np.argmax(diff))
            if diff.flat[k] > best:
                best, where = float(diff.flat[k]), (a, b, *np.unravel_index(k, diff.shape))
    return best, tuple(int(v) for v in where)


def label_support(chain_labels, point):
    """Per-chain posterior support of each group of a point-estimate partition.

    Each draw's labels are matched to ``point`` (:func:`match_labels`); the support of
    group k in chain c is the mean over the items that ``point`` puts in k of the share of
    chain c's draws that put the item in (the match of) k. A group some chain never
    holds has support near 0 in that chain, however confident the other chains are.

    Parameters
    ----------
    chain_labels : sequence of ndarray of int, each shape (n_draws, n_items)
    point : ndarray of int, shape (n_items,), labels 0..K-1

    Returns
    -------
    ndarray, shape (n_chains, K)
    """
    n_ref = int(point.max()) + 1
    out = np.zeros((len(chain_labels), n_ref))
    for c, draws in enumerate(chain_labels):
        post = state_posterior(np.asarray(draws), point)
        for k in range(n_ref):
            out[c, k] = post[point == k, k].mean()
    return out


def check_convergence(
    diag, gaps: dict, n_chains: int, max_r_hat=1.05, min_ess=400.0, max_gap=0.5, max_listed=25
) -> dict:
    """Pass/fail of a run against the convergence thresholds.

    Parameters
    ----------
    diag : DataFrame
        :func:`diagnostics_table` (``r_hat``, ``ess_bulk``, ``ess_tail``, ``constant``).
    gaps : dict
        name -> (gap, where) of :func:`chain_gap` (e.g. ``neurons``, ``states``).
    n_chains : int
    max_r_hat, min_ess, max_gap : float
        A quantity fails with R-hat >= ``max_r_hat`` (or undefined while not constant) or
        bulk or tail ESS (all chains together) below ``min_ess``; the chains disagree when a
        gap exceeds ``max_gap``; one chain alone cannot show that chains agree and fails.
    max_listed : int
        Failing diagnostics listed (worst first); the rest are counted.

    Returns
    -------
    dict
        ``converged`` (bool), ``chains_disagree`` (bool), ``failing`` (list of str),
        ``n_failing`` (int), ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail``, the gaps,
        and the thresholds.
    """
    d = diag[~diag["constant"].astype(bool)]
    name = [p + (f"[{n}]" if n != "n/a" else "") for p, n in zip(d["parameter"], d["neuron"])]
    r_hat = d["r_hat"].to_numpy(float)
    r_hat = np.where(np.isfinite(r_hat), r_hat, np.inf)
    ess_b, ess_t = d["ess_bulk"].to_numpy(float), d["ess_tail"].to_numpy(float)
    bad = []  # (severity, text)
    for i in np.flatnonzero(r_hat >= max_r_hat):
        bad.append((r_hat[i] - max_r_hat, f"r_hat({name[i]}) = {r_hat[i]:.3g}"))
    for ess, what in ((ess_b, "ess_bulk"), (ess_t, "ess_tail")):
        for i in np.flatnonzero(~(ess >= min_ess)):
            bad.append((1 - np.nan_to_num(ess[i]) / min_ess, f"{what}({name[i]}) = {ess[i]:.0f}"))
    bad.sort(key=lambda b: -b[0])
    failing = [b[1] for b in bad]
    disagree = False
    for key, (gap, where) in gaps.items():
        if gap > max_gap:
            disagree = True
            failing.insert(
                0,
                f"chains_disagree: chains {where[0]} and {where[1]} differ by "
                f"{gap:.2f} in the co-clustering of {key} ({where[2]}, {where[3]})",
            )
    if n_chains < 2:
        failing.insert(0, "a single chain: agreement between chains cannot be checked")
    finite = np.isfinite(r_hat)
    return {
        "converged": not failing,
        "chains_disagree": disagree,
        "n_failing": len(failing),
        "failing": failing[:max_listed]
        + ([f"... and {len(failing) - max_listed} more"] if len(failing) > max_listed else []),
        "max_r_hat": float(r_hat.max())
        if r_hat.size and finite.all()
        else (float("inf") if r_hat.size else float("nan")),
        "min_ess_bulk": float(np.nanmin(ess_b)) if ess_b.size else float("nan"),
        "min_ess_tail": float(np.nanmin(ess_t)) if ess_t.size else float("nan"),
        **{f"coclustering_gap_{k}": float(g) for k, (g, _) in gaps.items()},
        "thresholds": {
            "max_r_hat": float(max_r_hat),
            "min_ess": float(min_ess),
            "max_coclustering_gap": float(max_gap),
        },
    }


def circular_shift_null(states, reference, score, n_shuffles, random_state):
    """Scores of ``states`` against circularly shifted ``reference`` labels.

    Shifts are drawn uniformly from 1..T-1 (keeps the epochs' block structure).
    """
    rng = np.random.default_rng(random_state)
    shifts = rng.integers(1, len(reference), n_shuffles)
    return np.array([score(np.roll(reference, k), states) for k in shifts])
