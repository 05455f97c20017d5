"""All-pairs shortest paths of one dense weighted graph, exact, on a pruned edge set (numba).

An edge (u, v) of length w can lie on a shortest path only if w equals the geodesic
distance d(u, v); any path gives an upper bound D(u, v) >= d(u, v), so edges with
w > D(u, v) are never needed. Up to 8 relaxation sweeps over each node's k nearest edges,
starting from the direct edges, give such bounds; the edges that survive them (on RDM
graphs a few per node) are then relaxed per source row to the exact distances
(label-correcting, small label first; a row with long improvement chains is redone by
Dijkstra). The work is far below Floyd-Warshall's n^3 (bench/bench_trsa.py compares it
with rsatoolbox's networkx Floyd-Warshall).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_OPTS = {"cache": True, "nogil": True}


@njit(**_OPTS)
def _sift_up(heap, pos, key, i):  # pragma: no cover - compiled
    v = heap[i]
    while i > 0:
        p = (i - 1) // 2
        if key[heap[p]] <= key[v]:
            break
        heap[i] = heap[p]
        pos[heap[i]] = i
        i = p
    heap[i] = v
    pos[v] = i


@njit(**_OPTS)
def _sift_down(heap, pos, key, size):  # pragma: no cover - compiled
    v = heap[0]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and key[heap[c + 1]] < key[heap[c]]:
            c += 1
        if key[heap[c]] >= key[v]:
            break
        heap[i] = heap[c]
        pos[heap[i]] = i
        i = c
    heap[i] = v
    pos[v] = i


@njit(**_OPTS)
def _dijkstra_row(row, s, indptr, indices, weights, heap, pos):  # pragma: no cover
    """Dijkstra from `s` into `row` (indexed binary heap, each node popped once)."""
    row[:] = np.inf
    pos[:] = -1  # -1 never queued, -2 settled
    row[s] = 0.0
    heap[0], pos[s], size = s, 0, 1
    while size > 0:
        u = heap[0]
        pos[u] = -2
        size -= 1
        if size > 0:
            heap[0] = heap[size]
            pos[heap[0]] = 0
            _sift_down(heap, pos, row, size)
        du = row[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if pos[v] == -2:
                continue
            nd = du + weights[e]
            if nd < row[v]:
                row[v] = nd
                if pos[v] == -1:
                    heap[size] = v
                    pos[v] = size
                    size += 1
                _sift_up(heap, pos, row, pos[v])


@njit(**_OPTS)
def _relax_sweeps(dist, heads, tails, weights, sweeps):  # pragma: no cover - compiled
    """In place: dist[h] = min(dist[h], w + dist[t]) for every edge (h, t), at most `sweeps`
    times (alternating directions; stops early once nothing changes). Returns the sweeps."""
    m = len(heads)
    for sweep in range(sweeps):
        changed = False
        for i in range(m):
            e = i if sweep % 2 == 0 else m - 1 - i
            rh, rt, w = dist[heads[e]], dist[tails[e]], weights[e]
            for x in range(dist.shape[0]):
                c = w + rt[x]
                if c < rh[x]:
                    rh[x] = c
                    changed = True
        if not changed:
            return sweep + 1
    return sweeps


@njit(**_OPTS)
def _correct_rows(dist, indptr, indices, weights, cap):  # pragma: no cover - compiled
    """Exact distances from upper bounds: label-correcting per row (small label first).

    A row whose work exceeds `cap` edge scans (long chains of improvements) is redone by
    Dijkstra; once more than half of at least 8 rows needed that, the remaining rows go to
    Dijkstra directly. Returns the number of rows done by Dijkstra.
    """
    n = dist.shape[0]
    queue = np.empty(n, dtype=np.int64)
    inq = np.zeros(n, dtype=np.bool_)
    heap = np.empty(n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    redone = 0
    for s in range(n):
        row = dist[s]
        if redone >= 8 and 2 * redone > s:
            _dijkstra_row(row, s, indptr, indices, weights, heap, pos)
            redone += 1
            continue
        for v in range(n):
            queue[v] = v
            inq[v] = True
        head, count, work = 0, n, 0
        while count > 0 and work <= cap:
            v = queue[head]
            head = head + 1 if head + 1 < n else 0
            count -= 1
            inq[v] = False
            dv = row[v]
            if dv == np.inf:
                continue
            for e in range(indptr[v], indptr[v + 1]):
                u = indices[e]
                nd = dv + weights[e]
                work += 1
                if nd < row[u]:
                    row[u] = nd
                    if not inq[u]:
                        if count > 0 and nd < row[queue[head]]:
                            head = head - 1 if head > 0 else n - 1
                            queue[head] = u
                        else:
                            tail = head + count
                            queue[tail - n if tail >= n else tail] = u
                        inq[u] = True
                        count += 1
        if count > 0:
            _dijkstra_row(row, s, indptr, indices, weights, heap, pos)
            redone += 1
    return redone


@njit(**_OPTS)
def _nearest(graph, k):  # pragma: no cover - compiled
    """Per row, the columns of the k smallest finite entries (-1 where fewer): (n, k)."""
    n = graph.shape[0]
    out = np.full((n, k), -1, dtype=np.int64)
    vals = np.empty(k)
    for i in range(n):
        m = 0
        for j in range(n):
            w = graph[i, j]
            if not np.isfinite(w) or (m == k and w >= vals[m - 1]):
                continue
            p = m if m < k else k - 1  # insertion into the sorted buffer
            while p > 0 and vals[p - 1] > w:
                vals[p] = vals[p - 1]
                out[i, p] = out[i, p - 1]
                p -= 1
            vals[p] = w
            out[i, p] = j
            if m < k:
                m += 1
    return out


@njit(**_OPTS)
def _csr_needed(graph, dist):  # pragma: no cover - compiled
    """CSR arrays of the edges no shorter path bypasses (graph <= dist), both directions."""
    n = graph.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        c = 0
        for j in range(n):
            if (
                i != j
                and np.isfinite(graph[i, j])
                and (graph[i, j] <= dist[i, j] or graph[j, i] <= dist[j, i])
            ):
                c += 1
        indptr[i + 1] = indptr[i] + c
    indices = np.empty(indptr[n], dtype=np.int64)
    weights = np.empty(indptr[n])
    for i in range(n):
        e = indptr[i]
        for j in range(n):
            if (
                i != j
                and np.isfinite(graph[i, j])
                and (graph[i, j] <= dist[i, j] or graph[j, i] <= dist[j, i])
            ):
                indices[e] = j
                weights[e] = graph[i, j]
                e += 1
    return indptr, indices, weights


@njit(**_OPTS)
def _paths(graph, k):  # pragma: no cover - compiled
    """:func:`pruned_shortest_paths` on a graph whose diagonal is inf (modified: none)."""
    n = graph.shape[0]
    dist = graph.copy()
    for i in range(n):
        dist[i, i] = 0.0
    if n < 3:
        return dist
    nearest = _nearest(graph, k)
    m = 0
    heads = np.empty(n * k, dtype=np.int64)
    tails = np.empty(n * k, dtype=np.int64)
    weights = np.empty(n * k)
    for i in range(n):
        for j in range(k):
            if nearest[i, j] >= 0:
                heads[m], tails[m], weights[m] = i, nearest[i, j], graph[i, nearest[i, j]]
                m += 1
    _relax_sweeps(dist, heads[:m], tails[:m], weights[:m], 8)  # upper bounds
    indptr, indices, w = _csr_needed(graph, dist)
    _correct_rows(dist, indptr, indices, w, 2 * len(indices) + n)
    return dist


@njit(**_OPTS)
def stack_paths(scaled, absent, n, k):  # pragma: no cover - compiled
    """Geodesic distances of a stack of RDM graphs given as upper-triangle vectors.

    Parameters
    ----------
    scaled : ndarray, shape (n_rdm, n_pairs)
        Edge lengths (squareform order).
    absent : ndarray of bool, shape (n_rdm, n_pairs)
        Pairs that are no edge.
    n, k : int
        Conditions; nearest neighbours of the bounding subgraph.

    Returns
    -------
    ndarray, shape (n_rdm, n_pairs)
        Distances from the lower-indexed condition of each pair (inf where disconnected).
    """
    out = np.empty_like(scaled)
    graph = np.empty((n, n))
    for r in range(scaled.shape[0]):
        e = 0
        for i in range(n):
            graph[i, i] = np.inf
            for j in range(i + 1, n):
                w = np.inf if absent[r, e] else scaled[r, e]
                graph[i, j] = w
                graph[j, i] = w
                e += 1
        dist = _paths(graph, min(k, n - 1))
        e = 0
        for i in range(n):
            for j in range(i + 1, n):
                out[r, e] = dist[i, j]
                e += 1
    return out


def _csr(graph: np.ndarray, keep: np.ndarray):
    """Symmetric CSR arrays of the edges where `keep` (n, n) is True (zero weights kept)."""
    keep = keep | keep.T
    np.fill_diagonal(keep, False)
    rows, cols = np.nonzero(keep)
    indptr = np.zeros(len(graph) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(graph)), out=indptr[1:])
    return indptr, cols.astype(np.int64), graph[rows, cols]


def pruned_shortest_paths(graph: np.ndarray, k: int = 8) -> np.ndarray:
    """Exact all-pairs shortest paths of an undirected dense graph.

    Parameters
    ----------
    graph : ndarray, shape (n, n)
        Symmetric non-negative edge lengths; ``inf`` where there is no edge (zero lengths
        are edges). The diagonal is ignored.
    k : int
        Nearest neighbours per node whose edges give the first upper bounds.

    Returns
    -------
    ndarray, shape (n, n)
        Geodesic distances (``inf`` where disconnected), 0 on the diagonal; row ``i`` holds
        the distances from node ``i``.
    """
    graph = np.array(graph, dtype=float)
    np.fill_diagonal(graph, np.inf)
    return _paths(graph, min(k, max(len(graph) - 1, 1)))
