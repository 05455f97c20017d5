"""Geo-topological transforms of RDMs (Lin & Kriegeskorte 2023) on top of rsatoolbox.

An RDM is handled as its vector of off-diagonal dissimilarities (upper triangle, the
order of :func:`scipy.spatial.distance.squareform`); a stack of RDMs is an array of shape
``(n_rdm, n_pairs)`` with ``n_pairs = n_conditions * (n_conditions - 1) / 2``.

The statistics follow the authors' definitions, not rsatoolbox's pooled variant:

* ``rdm``: the dissimilarities as estimated (the paper's "RDM" baseline).
* ``rgtm`` (representational geo-topological matrix): per RDM, rank-transform and scale to
  [0, 1], then the map of rsatoolbox's :func:`~rsatoolbox.rdm.geotopological_transform`
  with the quantiles of *that* RDM (rsatoolbox pools quantiles over all RDMs of an object).
  Computed with NumPy for the whole stack at once; the tests check it equals rsatoolbox
  called on one-RDM objects. ``(lower, upper) = (0, 1)`` is the rank RDM (pure geometry),
  ``lower == upper`` the thresholded graph (pure topology).
* ``rgdm`` (representational geodesic matrix, the authors' "two-step" variant): the RGTM
  scaled to [0, 1] is a weighted graph; pairs at 1 (beyond the upper quantile) are no
  edges, all-pairs shortest paths are taken (scipy's csgraph), then ranks scaled to [0, 1].

rsatoolbox 0.3.2's ``geotopological_transform`` deviates from the authors' definition in two
more ways, both avoided here: it writes the ramp into the array in place *before* setting
the values above the upper quantile to 1, so ramp values that exceed the upper quantile's
value become 1 too (with upper = 0.3 most of the ramp is lost; exact for upper = 1); and
it overwrites the dissimilarities of the RDMs object it is given (and of the array that
object was built from).

Two pitfalls of the reference implementations are made explicit here (see ``zero_edges``):
networkx drops zero-weight entries, so in rsatoolbox and in the authors' code pairs below
the lower quantile (RGTM = 0, "very close") become non-edges instead of zero-cost edges;
and disconnected pairs have infinite geodesic distance, which here takes the highest rank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroflow.config import fill_defaults, stage_schema

KINDS = ("rdm", "rgtm", "rgdm")
FAMILIES = ("local", "global", "geometry", "topology", "intermediate")
FAMILY_LABELS = {
    "local": "local extractor (mean(l, u) <= 0.2)",
    "global": "global extractor (mean(l, u) >= 0.8)",
    "geometry": "geometry-sensitive (u - l >= 0.8)",
    "topology": "topology-sensitive (l >= 0.4, u <= 0.6)",
    "intermediate": "intermediate (all other (l, u))",
    "plain": "plain RDM (no transform)",
}
ZERO_EDGES = ("keep", "drop")
_TOL = 1e-9


@dataclass(frozen=True)
class Statistic:
    """One representational statistic: the plain RDM, or an RGTM / RGDM at (lower, upper).

    Parameters
    ----------
    kind : {"rdm", "rgtm", "rgdm"}
    lower, upper : float
        Quantile thresholds in [0, 1], ``lower <= upper`` (ignored for ``rdm``).
    """

    kind: str
    lower: float = 0.0
    upper: float = 1.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"statistic kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "rdm":
            object.__setattr__(self, "lower", 0.0)
            object.__setattr__(self, "upper", 1.0)
        check_bounds(self.lower, self.upper)
        object.__setattr__(self, "lower", round(float(self.lower), 6))
        object.__setattr__(self, "upper", round(float(self.upper), 6))

    @property
    def name(self) -> str:
        """``rdm`` or e.g. ``rgtm_l0.45_u0.55``."""
        if self.kind == "rdm":
            return "rdm"
        return f"{self.kind}_l{self.lower:.2f}_u{self.upper:.2f}"

    @property
    def family(self) -> str:
        """``plain`` for the RDM, else the family of (lower, upper)."""
        return "plain" if self.kind == "rdm" else family_of(self.lower, self.upper)

    @property
    def label(self) -> str:
        """Human-readable label for figures."""
        if self.kind == "rdm":
            return "RDM"
        return f"{self.kind.upper()} ({self.lower:.2f}, {self.upper:.2f})"


def statistic_from_config(entry: dict, where: str = "statistics") -> Statistic:
    """Build a :class:`Statistic` from ``{kind, lower, upper}`` (absent bounds: the trsa
    schema's defaults); errors name `where`."""
    if not isinstance(entry, dict) or "kind" not in entry:
        raise ValueError(f"config key {where}: expected a mapping with 'kind', got {entry!r}")
    entry = fill_defaults(dict(entry), stage_schema("trsa")["properties"]["statistics"]["items"])
    try:
        return Statistic(entry["kind"], float(entry["lower"]), float(entry["upper"]))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"config key {where}: {exc}") from exc


def check_bounds(lower: float, upper: float) -> None:
    """Raise ValueError unless ``0 <= lower <= upper <= 1``."""
    if not (0.0 <= lower <= upper <= 1.0):
        raise ValueError(f"need 0 <= lower <= upper <= 1, got lower={lower}, upper={upper}")


def family_of(lower: float, upper: float) -> str:
    """Family of a (lower, upper) pair, after the authors' ``get_rgtm_type``.

    local: mean <= 0.2; global: mean >= 0.8; geometry: ``upper - lower >= 0.8``;
    topology: ``lower >= 0.4`` and ``upper <= 0.6``; otherwise intermediate. The first four
    are mutually exclusive.
    """
    check_bounds(lower, upper)
    mean = (lower + upper) / 2
    if mean <= 0.2 + _TOL:
        return "local"
    if mean >= 0.8 - _TOL:
        return "global"
    if upper - lower >= 0.8 - _TOL:
        return "geometry"
    if lower >= 0.4 - _TOL and upper <= 0.6 + _TOL:
        return "topology"
    return "intermediate"


def lu_grid(resolution: float) -> list[tuple[float, float]]:
    """The authors' (lower, upper) search grid: ``lower`` in [0, 1), ``upper`` in [lower, 1].

    Pairs with ``lower + upper <= 0.01`` or ``>= 1.99`` (everything 0 or everything 1) are
    skipped.

    Parameters
    ----------
    resolution : float
        Step of both thresholds, in (0, 0.5]; 1 / resolution should be an integer.
    """
    if not 0 < resolution <= 0.5:
        raise ValueError(f"grid resolution must be in (0, 0.5], got {resolution}")
    steps = int(round(1 / resolution))
    values = [round(i / steps, 6) for i in range(steps + 1)]
    return [(lo, up) for i, lo in enumerate(values[:-1]) for up in values[i:] if 0.01 < lo + up < 1.99]


def sample_family(
    family: str, n: int, rng: np.random.Generator, decimals: int = 2
) -> list[tuple[float, float]]:
    """Draw `n` distinct (lower, upper) pairs of a family, uniformly (rejection sampling).

    As in the authors' ``run_sample_rgtm``: two uniform numbers, sorted, kept when their
    family matches. Rounded to `decimals`; pairs giving a constant RGTM are rejected.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    out: list[tuple[float, float]] = []
    for _ in range(100000):
        lo, up = np.round(np.sort(rng.uniform(size=2)), decimals)
        pair = (float(lo), float(up))
        if 0.01 < lo + up < 1.99 and family_of(*pair) == family and pair not in out:
            out.append(pair)
            if len(out) == n:
                return out
    raise ValueError(f"could not draw {n} distinct (lower, upper) pairs of family {family!r}")


def _as_stack(vectors, name: str = "RDM vectors") -> tuple[np.ndarray, int]:
    """Return a float ``(n_rdm, n_pairs)`` copy and the number of conditions."""
    arr = np.array(vectors, dtype=float, copy=True)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"{name}: expected shape (n_rdm, n_pairs), got {arr.shape}")
    n_cond = int(round((1 + np.sqrt(1 + 8 * arr.shape[1])) / 2))
    if n_cond * (n_cond - 1) // 2 != arr.shape[1]:
        raise ValueError(f"{name}: {arr.shape[1]} dissimilarities is not n(n-1)/2 for any n")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite dissimilarities")
    return arr, n_cond


def rank_minmax(vectors) -> np.ndarray:
    """Per RDM, ranks (ties averaged) scaled to [0, 1].

    Equal to rsatoolbox's ``minmax_transform(rank_transform(rdms))`` (tested), computed for
    the whole stack at once.

    Parameters
    ----------
    vectors : array_like, shape (n_rdm, n_pairs)

    Returns
    -------
    ndarray, shape (n_rdm, n_pairs)
        A constant RDM (all ranks tied) maps to zeros.
    """
    return rank_minmax_inf(_as_stack(vectors)[0])


def geotopological(vectors, lower: float, upper: float, normalize: bool = True) -> np.ndarray:
    """Geo-topological transform (RGTM) of each RDM with per-RDM quantiles.

    The map of rsatoolbox's :func:`~rsatoolbox.rdm.geotopological_transform`, applied to
    each RDM with its own quantiles (equal to calling rsatoolbox on one-RDM objects, which
    the tests check), vectorised over the stack.

    Parameters
    ----------
    vectors : array_like, shape (n_rdm, n_pairs)
        Dissimilarities (any unit).
    lower, upper : float
        Quantile thresholds, ``0 <= lower <= upper <= 1``.
    normalize : bool
        Rank-transform and scale each RDM to [0, 1] first (the authors' ``gt_transform``);
        pass False when the stack is already :func:`rank_minmax`-ed.

    Returns
    -------
    ndarray, shape (n_rdm, n_pairs)
        Values in [0, 1]: 0 below the lower quantile, 1 above the upper one, linear between.
        Where both quantiles coincide (``lower == upper``, or ties) the map is the step
        ``d > q`` (rsatoolbox would divide by zero there).
    """
    check_bounds(lower, upper)
    arr = rank_minmax(vectors) if normalize else _as_stack(vectors)[0]
    q_lo, q_up = np.quantile(arr, [lower, upper], axis=1, keepdims=True)
    span = q_up - q_lo
    with np.errstate(invalid="ignore", divide="ignore"):
        ramp = (arr - q_lo) / np.where(span > 0, span, 1.0)
    out = np.where(arr < q_lo, 0.0, np.where(arr > q_up, 1.0, ramp))
    return np.where(span > 0, out, (arr > q_up).astype(float))


def geodesic_distances(weights, zero_edges: str = "drop", method: str = "auto") -> np.ndarray:
    """All-pairs shortest paths on the graph of each weight vector (scaled to [0, 1] first).

    Edges of weight 1 after scaling are removed (the authors' "long edges"); infinite
    distances mark disconnected pairs.

    Parameters
    ----------
    weights : array_like, shape (n_rdm, n_pairs)
        Typically an RGTM.
    zero_edges : {"keep", "drop"}
        ``keep``: a weight of 0 is an edge of zero length (the pair is identified).
        ``drop``: a weight of 0 is no edge, as networkx (rsatoolbox, the authors) has it.
    method : {"auto", "pruned", "batched", "scipy"}
        ``pruned``: exact shortest paths on the edges that no shorter path bypasses
        (:mod:`neuroflow.rsa._geodesic`, numba), per RDM; ``batched``: Floyd-Warshall in
        NumPy over the whole stack at once (least overhead for stacks of small RDMs);
        ``auto``: batched for stacks of RDMs of up to 100 conditions, else pruned; ``scipy``:
        scipy.sparse.csgraph.shortest_path per RDM. All give the same distances (tested,
        and against rsatoolbox's networkx Floyd-Warshall).

    Returns
    -------
    ndarray, shape (n_rdm, n_pairs)
        Geodesic distances (``inf`` where disconnected). A constant weight vector gives 0.
    """

    if zero_edges not in ZERO_EDGES:
        raise ValueError(f"zero_edges must be one of {ZERO_EDGES}, got {zero_edges!r}")
    if method not in ("auto", "pruned", "batched", "scipy"):
        raise ValueError(f"method must be auto, pruned, batched or scipy, got {method!r}")
    arr, n_cond = _as_stack(weights, "geodesic weights")
    lo, hi = arr.min(axis=1, keepdims=True), arr.max(axis=1, keepdims=True)
    varies = (hi > lo)[:, 0]
    scaled = (arr[varies] - lo[varies]) / (hi[varies] - lo[varies])
    absent = scaled >= 1.0
    if zero_edges == "drop":
        absent |= scaled <= 0.0
    if method == "auto":
        method = "batched" if n_cond <= 100 and len(scaled) > 1 else "pruned"
    out = np.zeros_like(arr)
    if method == "pruned":
        from neuroflow.rsa._geodesic import stack_paths  # numba: only here

        out[varies] = stack_paths(scaled, absent, n_cond, 8)
        return out
    iu = np.triu_indices(n_cond, k=1)
    graphs = np.full((len(scaled), n_cond, n_cond), np.inf)
    graphs[:, iu[0], iu[1]] = np.where(absent, np.inf, scaled)
    graphs[:, iu[1], iu[0]] = graphs[:, iu[0], iu[1]]
    graphs[:, np.arange(n_cond), np.arange(n_cond)] = 0.0
    if method == "batched":
        for k in range(n_cond):  # Floyd-Warshall, all RDMs at once
            np.minimum(graphs, graphs[:, :, k, None] + graphs[:, None, k, :], out=graphs)
        dist = graphs
    else:
        from scipy.sparse.csgraph import csgraph_from_dense, shortest_path

        dist = np.array(
            [shortest_path(csgraph_from_dense(g, null_value=np.inf), directed=False) for g in graphs]
        )
    out[varies] = dist[:, iu[0], iu[1]]
    return out


def geodesic(weights, zero_edges: str = "drop") -> np.ndarray:
    """RGDM from geo-topological weights: geodesic distances, ranked, scaled to [0, 1].

    Disconnected pairs (infinite distance) share the highest rank.
    """
    return rank_minmax_inf(geodesic_distances(weights, zero_edges))


def rank_minmax_inf(arr: np.ndarray) -> np.ndarray:
    """:func:`rank_minmax` that accepts ``inf`` (ranked above every finite value)."""
    from scipy.stats import rankdata

    arr = np.asarray(arr, dtype=float)
    ranks = rankdata(arr, axis=1, method="average")
    lo, hi = ranks.min(axis=1, keepdims=True), ranks.max(axis=1, keepdims=True)
    return (ranks - lo) / np.where(hi > lo, hi - lo, 1.0)


def apply_statistic(vectors, statistic: Statistic, zero_edges: str = "drop") -> np.ndarray:
    """Transform a stack of RDM vectors into `statistic`.

    Parameters
    ----------
    vectors : array_like, shape (n_rdm, n_pairs)
    statistic : Statistic
    zero_edges : {"keep", "drop"}
        Only for ``rgdm``; see :func:`geodesic_distances`.

    Returns
    -------
    ndarray, shape (n_rdm, n_pairs)
    """
    if statistic.kind == "rdm":
        return _as_stack(vectors)[0]
    gt = geotopological(vectors, statistic.lower, statistic.upper)
    if statistic.kind == "rgtm":
        return gt
    return geodesic(gt, zero_edges)
