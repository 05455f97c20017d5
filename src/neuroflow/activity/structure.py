"""Structure and function: anatomy vs the signal-propagation atlas, and per-recording FC.

How well does an anatomical connectome predict where optogenetic stimulation propagates?
For each connectome (every homogenized source and the consensus) and each strain of the
Randi et al. 2023 atlas, over the neuron pairs the atlas tested and the connectome
observed (both neurons inside its reconstructed volume), the *positive* pairs are those
with a significant response (``q < alpha``); negatives are the other tested pairs (or,
with ``negatives="equivalent"``, only pairs whose response is confirmed absent,
``q_eq < alpha``). Predictors:

``synapse`` / ``chemical`` / ``electrical``
    presence of any synapse, a chemical synapse pre -> post, a gap junction (binary);
``strength``
    chemical + electrical weight (source units; for the consensus: the largest support,
    i.e. the fraction of observing sources having the edge);
``hops``
    minus the shortest path length in the directed anatomical graph (gap junctions in both
    directions; unreachable = lowest);
``reach<k>``
    whether post is reachable from pre within k hops (multi-hop reachability).

The AUROC is the Mann-Whitney probability that a random significant pair scores higher
than a random non-significant one (ties count one half); 0.5 is chance. Its confidence
interval is a percentile bootstrap that resamples *stimulated neurons* (all pairs of one
stimulation experiment together), because pairs sharing a stimulated neuron are not
independent. The multiplicities are drawn once per strain, so every connectome and
predictor is evaluated on the same resamples. The rank correlation is Spearman's rho
between ``strength`` and the response magnitude ``|amplitude|``, over all tested pairs
and over anatomically connected pairs, with the same bootstrap (weighted mid-ranks give
the exact statistic of each resample).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import xarray as xr
from scipy import sparse
from scipy.sparse.csgraph import shortest_path
from scipy.stats import spearmanr

NEGATIVES = ("not_significant", "equivalent")


# --------------------------------------------------------------------------- statistics
def _tie_groups(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort order and the tie-group id of each element in that order."""
    order = np.argsort(score, kind="stable")
    s = score[order]
    new = np.r_[True, s[1:] != s[:-1]]
    return order, np.cumsum(new) - 1


def auroc_bootstrap(score, positive, cluster, multiplicity=None) -> tuple[float, np.ndarray]:
    """AUROC of ``score`` for ``positive``, and its value on cluster-bootstrap resamples.

    Parameters
    ----------
    score : ndarray, shape (n_pairs,)
        Higher = predicted positive; ``-inf`` allowed, NaN not.
    positive : ndarray of bool, shape (n_pairs,)
    cluster : ndarray of int, shape (n_pairs,)
        Cluster (stimulated neuron) index of each pair, in ``[0, n_clusters)``.
    multiplicity : ndarray, shape (n_boot, n_clusters), optional
        How often each cluster is drawn in each resample.

    Returns
    -------
    auroc : float
        NaN when a class is empty.
    boot : ndarray, shape (n_boot,)
        The resampled AUROCs (NaN where a resample lacks a class).
    """
    score = np.asarray(score, dtype=np.float64)
    if np.isnan(score).any():
        raise ValueError("score contains NaN")
    positive = np.asarray(positive, dtype=bool)
    order, group = _tie_groups(score)
    n_groups = int(group[-1]) + 1 if group.size else 0
    n_clusters = int(cluster.max()) + 1 if cluster.size else 0
    if multiplicity is not None:
        n_clusters = max(n_clusters, multiplicity.shape[1])
    pos = np.zeros((n_groups, n_clusters))
    neg = np.zeros((n_groups, n_clusters))
    c = np.asarray(cluster)[order]
    p = positive[order]
    np.add.at(pos, (group[p], c[p]), 1.0)
    np.add.at(neg, (group[~p], c[~p]), 1.0)

    def auc(w):  # w: (n_boot, n_clusters)
        pg, ng = w @ pos.T, w @ neg.T
        below = np.cumsum(ng, axis=1) - ng
        with np.errstate(invalid="ignore", divide="ignore"):
            return (pg * (below + 0.5 * ng)).sum(1) / (pg.sum(1) * ng.sum(1))

    point = float(auc(np.ones((1, n_clusters)))[0]) if n_groups else float("nan")
    boot = (
        auc(multiplicity.astype(np.float64))
        if multiplicity is not None and n_groups
        else np.full(0 if multiplicity is None else multiplicity.shape[0], np.nan)
    )
    return point, boot


def _tie_index(score: np.ndarray) -> tuple[np.ndarray, int]:
    """Tie-group id of each element (groups numbered in increasing score) and their count."""
    order, sorted_group = _tie_groups(score)
    group = np.empty_like(sorted_group)
    group[order] = sorted_group
    return group, int(sorted_group[-1]) + 1


def _group_ranks(counts, mult_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per resample: total weight and weighted mid-rank of every tie group.

    A resample holds each pair as many times as its cluster is drawn; copies of a value
    tie, so a group's mid-rank is the weight below it plus (its weight + 1) / 2.

    Parameters
    ----------
    counts : scipy.sparse matrix, shape (n_groups, n_clusters)
        Pairs per (tie group, cluster).
    mult_t : ndarray, shape (n_clusters, n_boot)

    Returns
    -------
    gsum, rank : ndarray, shape (n_groups, n_boot)
    """
    gsum = np.asarray(counts @ mult_t)
    rank = np.cumsum(gsum, axis=0)
    rank += (1 - gsum) / 2
    return gsum, rank


def spearman_bootstrap(x, y, cluster, multiplicity=None, chunk: int = 50):
    """Spearman's rho of ``x`` and ``y`` and its exact value on cluster-bootstrap resamples.

    Parameters
    ----------
    x, y : ndarray, shape (n_pairs,)
    cluster : ndarray of int, shape (n_pairs,)
    multiplicity : ndarray, shape (n_boot, n_clusters), optional

    Returns
    -------
    rho : float
    boot : ndarray, shape (n_boot,)
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        n = 0 if multiplicity is None else multiplicity.shape[0]
        return float("nan"), np.full(n, np.nan)
    rho = float(spearmanr(x, y).statistic)
    if multiplicity is None:
        return rho, np.zeros(0)
    mult = np.asarray(multiplicity, dtype=np.float64)
    cluster = np.asarray(cluster)
    n_clusters = mult.shape[1]
    gx, nx = _tie_index(x)
    gy, ny = _tie_index(y)
    ones = np.ones(x.size)
    cx = sparse.csr_matrix((ones, (gx, cluster)), shape=(nx, n_clusters))
    cy = sparse.csr_matrix((ones, (gy, cluster)), shape=(ny, n_clusters))
    tot = mult @ np.bincount(cluster, minlength=n_clusters)
    sx, sy, sxx, syy, sxy = (np.empty(mult.shape[0]) for _ in range(5))
    for start in range(0, mult.shape[0], chunk):  # resamples in blocks: bounded memory
        b = slice(start, start + chunk)
        mt = np.ascontiguousarray(mult[b].T)
        wx, rx = _group_ranks(cx, mt)
        wy, ry = _group_ranks(cy, mt)
        sx[b], sy[b] = np.einsum("gb,gb->b", wx, rx), np.einsum("gb,gb->b", wy, ry)
        sxx[b] = np.einsum("gb,gb,gb->b", wx, rx, rx)
        syy[b] = np.einsum("gb,gb,gb->b", wy, ry, ry)
        sxy[b] = np.einsum("ib,ib,ib->b", mt[cluster], rx[gx], ry[gy])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (sxy - sx * sy / tot) / np.sqrt((sxx - sx**2 / tot) * (syy - sy**2 / tot))
    return rho, out


def percentile_ci(boot: np.ndarray, ci: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the finite bootstrap values (NaN, NaN if none)."""
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(boot, [50 * (1 - ci), 50 * (1 + ci)])
    return float(lo), float(hi)


# ------------------------------------------------------------------------------ anatomy
def anatomy_layers(conn: xr.Dataset, canonical: list[str], min_support: float = 0.5) -> dict:
    """Binary and weighted anatomical layers of a connectome, on the canonical order.

    Parameters
    ----------
    conn : xarray.Dataset
        A homogenized source (``weight (synapse_type, pre, post)``, ``observed (neuron)``)
        or the consensus (``support``, ``n_observing``, ``weight`` over the same dims).
    canonical : list of str
        Canonical neuron order (the atlas's ``pre``/``post``).
    min_support : float
        Consensus only: an edge is present when this fraction of the sources observing
        both neurons has it.

    Returns
    -------
    layers : dict of ndarray, shape (n, n)
        ``chemical``, ``electrical`` (bool), ``strength`` (float), ``observed`` (bool,
        pair inside the reconstructed volume) and ``kind`` ("source" or "consensus").
    """
    for dim in ("pre", "post"):
        missing = sorted(set(canonical) - set(conn[dim].values.tolist()))
        if missing:
            raise ValueError(f"connectome lacks canonical neurons on {dim}: {missing[:5]}")
    c = conn.sel(pre=canonical, post=canonical)
    types = list(c["synapse_type"].values)
    ichem, ielec = types.index("chemical"), types.index("electrical")
    if "support" in c:
        sup = np.nan_to_num(c["support"].values, nan=0.0)
        present = (sup >= min_support) & (c["n_sources"].values > 0)
        observed = c["n_observing"].values.max(axis=0) > 0
        strength = np.where(present.any(axis=0), sup.max(axis=0), 0.0)
        kind = "consensus"
    else:
        w = np.nan_to_num(c["weight"].values, nan=0.0)
        present = w > 0
        obs = c["observed"].sel(neuron=canonical).values.astype(bool)
        observed = obs[:, None] & obs[None, :]
        strength = w[ichem] + w[ielec]
        kind = "source"
    elec = present[ielec] | present[ielec].T
    return {
        "chemical": present[ichem],
        "electrical": elec,
        "strength": strength,
        "observed": observed,
        "kind": kind,
    }


def hop_distance(chemical: np.ndarray, electrical: np.ndarray) -> np.ndarray:
    """Shortest directed path length (number of synapses) from pre to post; inf if none."""
    adj = (chemical | electrical | electrical.T).astype(np.int8)
    np.fill_diagonal(adj, 0)
    return shortest_path(adj, method="D", directed=True, unweighted=True)


def predictors(layers: dict, max_hops: int = 3) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Score matrices (pre, post), higher = predicted response, and the hop distances.

    See the module docstring for the predictors.
    """
    hops = hop_distance(layers["chemical"], layers["electrical"])
    out = {
        "synapse": (layers["chemical"] | layers["electrical"]).astype(float),
        "chemical": layers["chemical"].astype(float),
        "electrical": layers["electrical"].astype(float),
        "strength": layers["strength"].astype(float),
        "hops": np.where(np.isfinite(hops), -hops, -np.inf),
    }
    for k in range(2, max_hops + 1):
        out[f"reach{k}"] = (hops <= k).astype(float)
    return out, hops


# --------------------------------------------------------------------- structure-function
def _multiplicities(clusters_present: np.ndarray, n_boot: int, seed) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mult = np.zeros((n_boot, clusters_present.size), dtype=np.int64)
    members = np.flatnonzero(clusters_present)
    if members.size and n_boot:
        draws = rng.multinomial(members.size, np.full(members.size, 1.0 / members.size), size=n_boot)
        mult[:, members] = draws
    return mult


#: column order of the statistics table of :func:`structure_function`
_STATS_ORDER = [
    "connectome",
    "kind",
    "strain",
    "statistic",
    "predictor",
    "subset",
    "value",
    "ci_low",
    "ci_high",
    "n_pairs",
    "n_significant",
    "n_stimulated",
    "precision",
    "recall",
    "base_rate",
    "alpha",
    "negatives",
    "n_bootstrap",
]


def _evaluate(
    name: str,
    lay: dict,
    preds: dict,
    hops: np.ndarray,
    strain: str,
    tested,
    significant,
    magnitude,
    mult,
    *,
    max_hops: int,
    ci: float,
    base: dict,
) -> tuple[list, list]:
    """All statistics of one connectome for one strain (rows of the two tables)."""
    n = tested.shape[0]
    mask = tested & lay["observed"]
    y = significant[mask]
    cl = np.broadcast_to(np.arange(n)[:, None], (n, n))[mask]
    base = {
        "connectome": name,
        "kind": lay["kind"],
        "strain": strain,
        "n_pairs": int(mask.sum()),
        "n_significant": int(y.sum()),
        "n_stimulated": int(np.unique(cl).size),
        **base,
    }
    stats_rows = _auroc_rows(preds, mask, y, cl, mult, ci, base)
    stats_rows += _spearman_rows(preds, magnitude, mask, y, cl, mult, ci, base)
    head = {"connectome": name, "kind": lay["kind"], "strain": strain}
    hop_rows = _hop_rows(hops[mask], y, cl, n, mult, ci, max_hops, head)
    return stats_rows, hop_rows


def _auroc_rows(preds: dict, mask, y, cl, mult, ci: float, base: dict) -> list[dict]:
    """AUROC of every predictor over the tested pairs, with precision and recall of the
    binary ones."""
    rows = []
    for pname, score in preds.items():
        sc = score[mask]
        value, boot = auroc_bootstrap(sc, y, cl, mult)
        lo, hi = percentile_ci(boot, ci)
        row = {
            **base,
            "statistic": "auroc",
            "predictor": pname,
            "subset": "tested pairs",
            "value": value,
            "ci_low": lo,
            "ci_high": hi,
            "precision": np.nan,
            "recall": np.nan,
            "base_rate": float(y.mean()) if y.size else np.nan,
        }
        if pname in ("synapse", "chemical", "electrical") or pname.startswith("reach"):
            pred = sc > 0
            row["precision"] = float(y[pred].mean()) if pred.any() else np.nan
            row["recall"] = float(pred[y].mean()) if y.any() else np.nan
        rows.append(row)
    return rows


def _spearman_rows(preds: dict, magnitude, mask, y, cl, mult, ci: float, base: dict) -> list[dict]:
    """Spearman rho of anatomical strength vs response magnitude, over tested and over
    connected pairs."""
    rows = []
    connected = (preds["synapse"] > 0)[mask]
    for subset, sel in (("tested pairs", np.ones_like(y)), ("connected pairs", connected)):
        rho, boot = spearman_bootstrap(preds["strength"][mask][sel], magnitude[mask][sel], cl[sel], mult)
        lo, hi = percentile_ci(boot, ci)
        rows.append(
            {
                **base,
                "statistic": "spearman",
                "predictor": "strength",
                "subset": subset,
                "n_pairs": int(sel.sum()),
                "n_significant": int(y[sel].sum()),
                "value": rho,
                "ci_low": lo,
                "ci_high": hi,
                "precision": np.nan,
                "recall": np.nan,
                "base_rate": np.nan,
            }
        )
    return rows


def _hop_rows(h, y, cl, n: int, mult, ci: float, max_hops: int, head: dict) -> list[dict]:
    """Fraction of significant pairs per hop count (1..max_hops, more, unreachable)."""
    rows = []
    levels = [(str(k), h == k) for k in range(1, max_hops + 1)]
    levels += [(f">{max_hops}", np.isfinite(h) & (h > max_hops)), ("unreachable", ~np.isfinite(h))]
    for label, sel in levels:
        tot = np.bincount(cl[sel], minlength=n).astype(float)
        pos = np.bincount(cl[sel & y], minlength=n).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = (mult @ pos) / (mult @ tot)
        lo, hi = percentile_ci(boot, ci)
        rows.append(
            {
                **head,
                "hops": label,
                "n_pairs": int(sel.sum()),
                "n_significant": int((sel & y).sum()),
                "fraction_significant": float((sel & y).sum() / sel.sum()) if sel.any() else np.nan,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return rows


def structure_function(
    atlas: xr.Dataset,
    connectomes: dict[str, xr.Dataset],
    *,
    alpha: float = 0.05,
    negatives: str = "not_significant",
    max_hops: int = 3,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    min_support: float = 0.5,
    random_state: int = 0,
    n_jobs: int = 1,
):
    """How well each connectome predicts the atlas's significant responses.

    Parameters
    ----------
    atlas : xarray.Dataset
        From :func:`neuroflow.activity.funatlas.read_funatlas`.
    connectomes : dict
        ``name -> Dataset`` (homogenized sources and/or the consensus).
    alpha : float
        q-value threshold for a significant response (Randi et al.: 0.05).
    negatives : {"not_significant", "equivalent"}
    max_hops : int
        Largest k of the ``reach<k>`` predictors and of the hop table.
    n_bootstrap : int
        Cluster-bootstrap resamples (stimulated neurons).
    ci : float
        Confidence level of the percentile intervals.
    min_support : float
        Consensus edge threshold (see :func:`anatomy_layers`).
    random_state : int
        Seed; resample ``b`` of strain ``s`` is the same for every connectome.
    n_jobs : int
        Threads evaluating (connectome, strain) combinations; results do not depend on it.

    Returns
    -------
    stats : DataFrame
        One row per (connectome, strain, statistic, predictor, subset) with ``value``,
        ``ci_low``, ``ci_high``, counts, ``precision`` (P(significant | predictor)),
        ``recall`` (P(predictor | significant)) and ``base_rate`` for binary predictors.
    hops : DataFrame
        Per (connectome, strain, hop count): pairs, significant pairs, the fraction and
        its bootstrap CI.
    """
    if negatives not in NEGATIVES:
        raise ValueError(f"negatives must be one of {NEGATIVES}, got {negatives!r}")
    canonical = [str(x) for x in atlas["pre"].values]
    layers = {name: anatomy_layers(ds, canonical, min_support) for name, ds in connectomes.items()}
    scores = {name: predictors(lay, max_hops) for name, lay in layers.items()}
    base = {"alpha": alpha, "negatives": negatives, "n_bootstrap": n_bootstrap}
    tasks = []
    for s_idx, strain in enumerate(atlas["strain"].values):
        tested, significant, magnitude = _strain_responses(atlas.sel(strain=strain), alpha, negatives)
        mult = _multiplicities(tested.any(axis=1), n_bootstrap, [int(random_state), s_idx])
        for name, lay in layers.items():
            tasks.append((name, lay, *scores[name], str(strain), tested, significant, magnitude, mult))
    with ThreadPoolExecutor(max_workers=max(1, int(n_jobs))) as pool:  # numpy releases the GIL
        results = list(pool.map(lambda t: _evaluate(*t, max_hops=max_hops, ci=ci, base=base), tasks))
    stats_rows = [r for rows, _ in results for r in rows]
    hop_rows = [r for _, rows in results for r in rows]
    return pd.DataFrame(stats_rows)[_STATS_ORDER], pd.DataFrame(hop_rows)


def _strain_responses(a: xr.Dataset, alpha: float, negatives: str):
    """Tested pairs (negatives as configured), significant pairs and |amplitude| of one strain."""
    tested = a["tested"].values.astype(bool)
    significant = tested & (a["q"].values < alpha)
    if negatives == "equivalent":
        tested = tested & (significant | (a["q_eq"].values < alpha))
    return tested, significant, np.abs(a["amplitude"].values)


# --------------------------------------------------------------------------- per-recording FC
FC_KINDS = ("correlation", "spearman", "partial_correlation")


def functional_connectivity(
    activity: xr.DataArray, kind: str = "correlation", min_overlap: int = 10
) -> xr.DataArray:
    """Functional connectivity between the neurons of one recording.

    Parameters
    ----------
    activity : xarray.DataArray, dims (time, neuron)
        Homogenized activity; NaN samples are skipped pairwise.
    kind : {"correlation", "spearman", "partial_correlation"}
        Pearson or Spearman correlation over the time points both neurons have; partial
        correlation from the Ledoit-Wolf shrunk precision matrix (scikit-learn) over the
        time points where every neuron is defined.
    min_overlap : int
        Fewest common time points for a correlation (else NaN).

    Returns
    -------
    fc : xarray.DataArray, dims (neuron, neuron_j)
        Symmetric, 1 on the diagonal; coords carry the neuron ids of both axes.
    """
    if kind not in FC_KINDS:
        raise ValueError(f"fc kind must be one of {FC_KINDS}, got {kind!r}")
    x = activity.transpose("time", "neuron").values.astype(np.float64)
    ids = [str(v) for v in activity["neuron"].values]
    if kind == "partial_correlation":
        from sklearn.covariance import LedoitWolf

        rows = np.isfinite(x).all(axis=1)
        if rows.sum() < max(min_overlap, 2):
            mat = np.full((len(ids), len(ids)), np.nan)
        else:
            prec = LedoitWolf().fit(x[rows]).precision_
            d = np.sqrt(np.diag(prec))
            mat = -prec / np.outer(d, d)
            np.fill_diagonal(mat, 1.0)
    else:
        method = "pearson" if kind == "correlation" else "spearman"
        mat = pd.DataFrame(x).corr(method=method, min_periods=min_overlap).to_numpy()
    fc = xr.DataArray(
        mat,
        dims=("neuron", "neuron_j"),
        coords={"neuron": ids, "neuron_j": ids},
        attrs={"units": "1", "kind": kind, "min_overlap": min_overlap},
    )
    for name in ("raw_label", "is_labelled", "label_status"):
        if name in activity.coords:
            fc = fc.assign_coords({name: ("neuron", activity[name].values)})
    return fc


def fc_vs_anatomy(fc: xr.DataArray, layers: dict, canonical: list[str]) -> dict:
    """Spearman rho between |FC| and symmetric anatomical strength over labelled pairs.

    Only neurons with canonical labels that the connectome observed enter; each unordered
    pair counts once. Returns ``n_labelled``, ``n_pairs``, ``spearman_rho`` (NaN below 3
    pairs or without variance).
    """
    pos = {c: i for i, c in enumerate(canonical)}
    labelled = [i for i, n in enumerate(fc["neuron"].values) if str(n) in pos]
    idx = np.array([pos[str(fc["neuron"].values[i])] for i in labelled], dtype=int)
    out = {"n_labelled": len(labelled), "n_pairs": 0, "spearman_rho": float("nan")}
    if len(labelled) < 3:
        return out
    sub = fc.values[np.ix_(labelled, labelled)]
    strength = layers["strength"][np.ix_(idx, idx)]
    sym = np.maximum(strength, strength.T)
    obs = layers["observed"][np.ix_(idx, idx)]
    iu = np.triu_indices(len(labelled), 1)
    keep = obs[iu] & np.isfinite(sub[iu])
    a, b = np.abs(sub[iu][keep]), sym[iu][keep]
    out["n_pairs"] = int(keep.sum())
    if keep.sum() >= 3 and np.ptp(a) > 0 and np.ptp(b) > 0:
        out["spearman_rho"] = float(spearmanr(a, b).statistic)
    return out
