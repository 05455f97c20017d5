"""Compiled (numba) Kalman/RTS smoother for a batch of small independent state-space
models that share the state path (every cluster and every leave-one-out cluster of the
neuron reassignment step).

The models are the innermost (contiguous) axis of every array, ``(..., q, q, B)``, so each
small-matrix operation is a loop over the batch that the compiler vectorizes; with the
latent size ``q = p + 1`` of 3, looping over the models one at a time spends its time on
loop overhead. The arithmetic is that of :func:`._kernels.batched_smoother` (covariance
prediction, information-form update with the same 1e-6 floor, Rauch-Tung-Striebel
backward pass), which handles the models whose Cholesky factors fail numerically.

Also here: the builders of the Polya-Gamma sites of those models and of the stacked
latent (block-diagonal: each neuron loads on its own cluster's block only), and the
per-neuron negative-binomial log-likelihood sums of the dispersion moves.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._linalg import OPTS

#: The compile options of ``_linalg`` (no ``fastmath``: compiled and cached kernels
#: give the same bits). numba keys its cache on each function's own source file, so a
#: change of ``OPTS`` must change this file too, or kernels cached under the old options
#: are loaded.


@njit(**OPTS)
def cluster_sites(kap, om, a, z, n_clusters):
    """Gaussian sites of every cluster and every leave-one-out cluster, models last.

    ``kap``, ``om`` (N, T): the Polya-Gamma sites per neuron; ``a`` (N, q): loadings ``[1,
    c_i]``; ``z`` (N,) labels in ``[0, n_clusters)``. Model ``k < K`` is cluster k with all
    its members' sites, model ``K + i`` is neuron i's cluster without neuron i's site.
    Returns ``J`` (T, q, q, K + N) and ``h`` (T, q, K + N).
    """
    n_neur, n_time = om.shape
    q = a.shape[1]
    n_b = n_clusters + n_neur
    jj = np.zeros((n_time, q, q, n_b))
    hh = np.zeros((n_time, q, n_b))
    for i in range(n_neur):
        k = z[i]
        for t in range(n_time):
            w = om[i, t]
            v = kap[i, t]
            for r in range(q):
                hh[t, r, k] += v * a[i, r]
                for c in range(q):
                    jj[t, r, c, k] += w * a[i, r] * a[i, c]
    for i in range(n_neur):
        k = z[i]
        m = n_clusters + i
        for t in range(n_time):
            w = om[i, t]
            v = kap[i, t]
            for r in range(q):
                hh[t, r, m] = hh[t, r, k] - v * a[i, r]
                for c in range(q):
                    jj[t, r, c, m] = jj[t, r, c, k] - w * a[i, r] * a[i, c]
    return jj, hh


@njit(**OPTS)
def _bchol(a, low, ok, tmp):
    """Lower Cholesky factors of the batch ``a`` (q, q, B); ``ok[b]`` set False where one
    does not exist (that model's factor is then garbage)."""
    q, _, n_b = a.shape
    for j in range(q):
        for i in range(j, q):
            for b in range(n_b):
                tmp[b] = a[i, j, b]
            for k in range(j):
                for b in range(n_b):
                    tmp[b] -= low[i, k, b] * low[j, k, b]
            if i == j:
                for b in range(n_b):
                    v = tmp[b]
                    if not v > 0.0:
                        ok[b] = False
                        v = 1.0
                    low[j, j, b] = np.sqrt(v)
            else:
                for b in range(n_b):
                    low[i, j, b] = tmp[b] / low[j, j, b]
        for i in range(j):
            for b in range(n_b):
                low[i, j, b] = 0.0


@njit(**OPTS)
def _btri_inv(low, work, tmp):
    """``work = L^-1`` for the batch of lower triangular ``low`` (q, q, B)."""
    q, _, n_b = low.shape
    for j in range(q):  # work = L^-1 (lower)
        for i in range(q):
            for b in range(n_b):
                work[i, j, b] = 0.0
        for b in range(n_b):
            work[j, j, b] = 1.0 / low[j, j, b]
        for i in range(j + 1, q):
            for b in range(n_b):
                tmp[b] = 0.0
            for k in range(j, i):
                for b in range(n_b):
                    tmp[b] -= low[i, k, b] * work[k, j, b]
            for b in range(n_b):
                work[i, j, b] = tmp[b] / low[i, i, b]


@njit(**OPTS)
def _binv(a, out, low, work, ok, tmp):
    """``out = a^-1`` for the batch of symmetric positive-definite ``a`` (q, q, B) through
    Cholesky factors (``low``, ``work`` scratch of the same shape, ``tmp`` (B,))."""
    q, _, n_b = a.shape
    _bchol(a, low, ok, tmp)
    _btri_inv(low, work, tmp)
    for i in range(q):  # out = L^-T L^-1
        for j in range(i + 1):
            for b in range(n_b):
                tmp[b] = 0.0
            for k in range(i, q):
                for b in range(n_b):
                    tmp[b] += work[k, i, b] * work[k, j, b]
            for b in range(n_b):
                out[i, j, b] = tmp[b]
                out[j, i, b] = tmp[b]


@njit(**OPTS)
def _bmm(x, y, out, trans_y):
    """``out = x @ y`` (or ``x @ y^T`` with ``trans_y``) for batches (q, q, B)."""
    q, _, n_b = x.shape
    for i in range(q):
        for j in range(q):
            for b in range(n_b):
                out[i, j, b] = 0.0
            for k in range(q):
                if trans_y:
                    for b in range(n_b):
                        out[i, j, b] += x[i, k, b] * y[j, k, b]
                else:
                    for b in range(n_b):
                        out[i, j, b] += x[i, k, b] * y[k, j, b]


@njit(**OPTS)
def _bmv_add(x, v, add, out):
    """``out = x @ v + add`` for batches x (q, q, B), v and add (q, B)."""
    q, _, n_b = x.shape
    for i in range(q):
        for b in range(n_b):
            out[i, b] = add[i, b]
        for k in range(q):
            for b in range(n_b):
                out[i, b] += x[i, k, b] * v[k, b]


@njit(**OPTS)
def _forward(jj, hh, A, bb, Q, states, ok):
    """Forward pass: filtered means/covariances, predictions and predicted precisions."""
    n_time, q, _, n_b = jj.shape
    m_f = np.empty((n_time, q, n_b))
    p_f = np.empty((n_time, q, q, n_b))
    pred = np.zeros((n_time, q, n_b))
    p_pred = np.zeros((n_time, q, q, n_b))
    j_pred = np.zeros((n_time, q, q, n_b))
    low, work, w1, tmpm = (
        np.empty((q, q, n_b)),
        np.empty((q, q, n_b)),
        np.empty((q, q, n_b)),
        np.empty((q, q, n_b)),
    )
    vec, tmp = np.empty((q, n_b)), np.empty(n_b)
    for t in range(n_time):
        if t == 0:
            for i in range(q):
                for j in range(q):
                    for b in range(n_b):
                        tmpm[i, j, b] = jj[0, i, j, b] + (1.0 if i == j else 0.0)
                for b in range(n_b):
                    vec[i, b] = hh[0, i, b]
        else:
            s = states[t]
            _bmm(A[s], p_f[t - 1], w1, False)
            _bmm(w1, A[s], p_pred[t], True)
            for i in range(q):
                for j in range(i + 1):
                    for b in range(n_b):
                        v = 0.5 * (p_pred[t, i, j, b] + p_pred[t, j, i, b]) + Q[s, i, j, b]
                        p_pred[t, i, j, b] = v
                        p_pred[t, j, i, b] = v
            _bmv_add(A[s], m_f[t - 1], bb[s], pred[t])
            _binv(p_pred[t], j_pred[t], low, work, ok, tmp)
            for i in range(q):
                for j in range(q):
                    for b in range(n_b):
                        tmpm[i, j, b] = j_pred[t, i, j, b] + jj[t, i, j, b] + (1e-6 if i == j else 0.0)
            _bmv_add(j_pred[t], pred[t], hh[t], vec)
        _binv(tmpm, p_f[t], low, work, ok, tmp)
        _bmv_add(p_f[t], vec, np.zeros((q, n_b)), m_f[t])
    return m_f, p_f, pred, p_pred, j_pred


@njit(**OPTS)
def smoother(jj, hh, A, bb, Q, states):
    """Kalman/RTS smoothed marginals of the batch: ``jj`` (T, q, q, B), ``hh`` (T, q, B),
    ``A``, ``Q`` (L, q, q, B), ``bb`` (L, q, B), ``states`` (T,). Returns ``mean`` (B, T, q),
    ``cov`` (B, T, q, q) and ``ok`` (B,): False for a model whose factors failed."""
    n_time, q, _, n_b = jj.shape
    ok = np.ones(n_b, dtype=np.bool_)
    m_f, p_f, pred, p_pred, j_pred = _forward(jj, hh, A, bb, Q, states, ok)
    mean = np.empty((n_b, n_time, q))
    cov = np.empty((n_b, n_time, q, q))
    m_s, p_s = m_f[n_time - 1].copy(), p_f[n_time - 1].copy()
    w1, w2, gain = np.empty((q, q, n_b)), np.empty((q, q, n_b)), np.empty((q, q, n_b))
    vec = np.empty((q, n_b))
    for t in range(n_time - 1, -1, -1):
        if t < n_time - 1:
            s = states[t + 1]
            _bmm(p_f[t], A[s], w1, True)  # P_f A^T
            _bmm(w1, j_pred[t + 1], gain, False)  # G
            for i in range(q):
                for b in range(n_b):
                    vec[i, b] = m_s[i, b] - pred[t + 1, i, b]
            _bmv_add(gain, vec, m_f[t], m_s)
            for i in range(q):
                for j in range(q):
                    for b in range(n_b):
                        w1[i, j, b] = p_s[i, j, b] - p_pred[t + 1, i, j, b]
            _bmm(gain, w1, w2, False)
            _bmm(w2, gain, w1, True)
            for i in range(q):
                for j in range(q):
                    for b in range(n_b):
                        p_s[i, j, b] = p_f[t, i, j, b] + 0.5 * (w1[i, j, b] + w1[j, i, b])
        for b in range(n_b):
            for i in range(q):
                mean[b, t, i] = m_s[i, b]
                for j in range(q):
                    cov[b, t, i, j] = p_s[i, j, b]
    return mean, cov, ok


@njit(**OPTS)
def stacked_sites(kap, om, a, z, n_clusters):
    """Gaussian sites of the stacked latent: ``J_t = sum_i om_it l_i l_i^T``, ``h_t =
    sum_i kap_it l_i`` with ``l_i`` the loading row (``a_i`` in the block of cluster
    ``z_i``). Returns ``J`` (T, d, d) and ``h`` (T, d), ``d = n_clusters q``; only the
    diagonal blocks are non-zero."""
    n_neur, n_time = om.shape
    q = a.shape[1]
    d = n_clusters * q
    jj = np.zeros((n_time, d, d))
    hh = np.zeros((n_time, d))
    for i in range(n_neur):
        o = z[i] * q
        for t in range(n_time):
            w = om[i, t]
            v = kap[i, t]
            for r in range(q):
                hh[t, o + r] += v * a[i, r]
                wr = w * a[i, r]
                for c in range(q):
                    jj[t, o + r, o + c] += wr * a[i, c]
    return jj, hh


@njit(**OPTS)
def nb_loglik_rows(y, psi, r):
    """Per-row sums of :func:`.numerics.nb_loglik` (``r`` (N,), one dispersion per row)."""
    n_neur, n_time = y.shape
    out = np.zeros(n_neur)
    for i in range(n_neur):
        ri = r[i]
        lr = np.log(ri)
        lg_r = math.lgamma(ri)
        acc = 0.0
        for t in range(n_time):
            yy = y[i, t]
            p = psi[i, t]
            lse = max(lr, p) + np.log1p(np.exp(-abs(p - lr)))
            acc += math.lgamma(yy + ri) - lg_r - math.lgamma(yy + 1.0) + ri * (lr - lse) + yy * (p - lse)
        out[i] = acc
    return out
