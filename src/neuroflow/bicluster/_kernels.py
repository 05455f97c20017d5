"""Compiled (numba) inner loops of the bi-clustering sampler.

Each kernel is the sequential-in-time loop of one function of :mod:`.sampler` (which keeps
the documented, vectorized-numpy interface and draws every random number itself, so that
a chain is reproducible from its seed). The kernels do the same arithmetic in the same
order; the tests compare them with dense-Gaussian and enumeration references.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_OPTS = {"cache": True, "nogil": True}


@njit(**_OPTS)
def _sym(a):
    return 0.5 * (a + a.T)


@njit(**_OPTS)
def _mm(a, b):
    """``a @ b`` for small 2-D arrays, in loops (BLAS call overhead dominates at d <= 15)."""
    n, k = a.shape
    m = b.shape[1]
    out = np.zeros((n, m))
    for i in range(n):
        for j in range(k):
            aij = a[i, j]
            for c in range(m):
                out[i, c] += aij * b[j, c]
    return out


@njit(**_OPTS)
def _mv(a, x):
    """``a @ x``."""
    n, k = a.shape
    out = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for j in range(k):
            acc += a[i, j] * x[j]
        out[i] = acc
    return out


@njit(**_OPTS)
def _dot(x, y):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    return acc


@njit(**_OPTS)
def _quad(x, a, y):
    """``x @ a @ y``."""
    acc = 0.0
    for i in range(x.shape[0]):
        for j in range(y.shape[0]):
            acc += x[i] * a[i, j] * y[j]
    return acc


@njit(**_OPTS)
def _apat(a, p):
    """``a @ p @ a.T``."""
    return _mm(_mm(a, p), a.T)


@njit(**_OPTS)
def _lu(a):
    """LU factorization with partial pivoting of a small square matrix (in loops: for the
    sizes here, 3-15, LAPACK's per-call overhead dominates). Returns (lu, perm, sign)."""
    n = a.shape[0]
    lu = a.copy()
    perm = np.arange(n)
    sign = 1.0
    for k in range(n):
        piv = k
        big = abs(lu[k, k])
        for r in range(k + 1, n):
            if abs(lu[r, k]) > big:
                big = abs(lu[r, k])
                piv = r
        if piv != k:
            for c in range(n):
                tmp = lu[k, c]
                lu[k, c] = lu[piv, c]
                lu[piv, c] = tmp
            tmp_i = perm[k]
            perm[k] = perm[piv]
            perm[piv] = tmp_i
            sign = -sign
        if lu[k, k] == 0.0:
            raise np.linalg.LinAlgError("singular matrix")
        for r in range(k + 1, n):
            f = lu[r, k] / lu[k, k]
            lu[r, k] = f
            for c in range(k + 1, n):
                lu[r, c] -= f * lu[k, c]
    return lu, perm, sign


@njit(**_OPTS)
def _lu_solve(lu, perm, rhs):
    """Solve with the factors of :func:`_lu`; ``rhs`` (n, m)."""
    n = lu.shape[0]
    m = rhs.shape[1]
    x = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            x[i, j] = rhs[perm[i], j]
    for j in range(m):
        for i in range(n):
            acc = x[i, j]
            for k in range(i):
                acc -= lu[i, k] * x[k, j]
            x[i, j] = acc
        for i in range(n - 1, -1, -1):
            acc = x[i, j]
            for k in range(i + 1, n):
                acc -= lu[i, k] * x[k, j]
            x[i, j] = acc / lu[i, i]
    return x


@njit(**_OPTS)
def _solve_logdet(a, rhs):
    """``(solve(a, rhs), log|det a|)`` for a small square ``a``."""
    lu, perm, _ = _lu(a)
    logdet = 0.0
    for i in range(a.shape[0]):
        logdet += np.log(abs(lu[i, i]))
    return _lu_solve(lu, perm, rhs), logdet


@njit(**_OPTS)
def _solve(a, rhs):
    lu, perm, _ = _lu(a)
    return _lu_solve(lu, perm, rhs)


@njit(**_OPTS)
def _inv(a):
    return _solve(a, np.eye(a.shape[0]))


@njit(**_OPTS)
def _chol(a):
    """Cholesky factor with a growing jitter (as :func:`.sampler._chol`)."""
    a = _sym(a)
    d = a.shape[0]
    jitter = 0.0
    scale = max(np.mean(np.diag(a)), 1e-12)
    c = np.full((d, d), np.nan)
    for _ in range(9):
        ok = True
        try:
            c = np.linalg.cholesky(a + jitter * np.eye(d))
        except Exception:  # noqa: BLE001 -- numba raises a generic LinAlgError
            ok = False
        if ok:
            return c
        jitter = scale * 1e-10 if jitter == 0.0 else jitter * 100.0
    return np.full((d, d), np.nan)


@njit(**_OPTS)
def kalman_loglik(j_obs, h_obs, A, b, Q, states):
    n_time, d = h_obs.shape
    eye = np.eye(d)
    mu = np.zeros(d)
    sig = eye.copy()
    m = mu
    p = sig
    total = 0.0
    for t in range(n_time):
        if t > 0:
            s = states[t]
            mu = _mv(A[s], m) + b[s]
            sig = _sym(_apat(A[s], p) + Q[s])
        jj = j_obs[t]
        hh = h_obs[t]
        mmat = eye + _mm(sig, jj)
        g = hh - _mv(jj, mu)
        sol, logdet = _solve_logdet(mmat, sig)
        total += -0.5 * _quad(mu, jj, mu) + _dot(hh, mu) - 0.5 * logdet + 0.5 * _quad(g, sol, g)
        p = _sym(sol)
        m = mu + _mv(p, g)
    return total


@njit(**_OPTS)
def backward_step(jj, hh, a, b, q):
    eye = np.eye(b.shape[0])
    g = _solve(eye + _mm(q, jj), q)
    jg = _mm(jj, g)
    lam_mu = _sym(jj - _mm(jg, jj))
    th_mu = hh - _mv(jg, hh)
    return _sym(_mm(a.T, _mm(lam_mu, a))), _mv(a.T, th_mu - _mv(lam_mu, b))


@njit(**_OPTS)
def backward_information(j_obs, h_obs, A, b, Q, states):
    n_time, d = h_obs.shape
    lam = np.zeros((n_time, d, d))
    theta = np.zeros((n_time, d))
    for t in range(n_time - 2, -1, -1):
        s = states[t + 1]
        lt, tt = backward_step(j_obs[t + 1] + lam[t + 1], h_obs[t + 1] + theta[t + 1],
                               A[s], b[s], Q[s])
        lam[t] = lt
        theta[t] = tt
    return lam, theta


@njit(**_OPTS)
def _state_scores(m, p, jj, hh, Ac, bc, Qc):
    n_c, d = bc.shape
    eye = np.eye(d)
    score = np.empty(n_c)
    mus = np.empty((n_c, d))
    sigs = np.empty((n_c, d, d))
    for c in range(n_c):
        mu = _mv(Ac[c], m) + bc[c]
        sig = _sym(_apat(Ac[c], p) + Qc[c])
        mmat = eye + _mm(sig, jj)
        g = hh - _mv(jj, mu)
        sol, logdet = _solve_logdet(mmat, sig)
        score[c] = -0.5 * _quad(mu, jj, mu) + _dot(mu, hh) - 0.5 * logdet + 0.5 * _quad(g, sol, g)
        mus[c] = mu
        sigs[c] = sig
    return score, mus, sigs


@njit(**_OPTS)
def _draw(score, u):
    w = np.exp(score - score.max())
    cum = np.cumsum(w)
    k = np.searchsorted(cum, u * cum[-1])
    return min(k, score.size - 1)


@njit(**_OPTS)
def collapsed_state_pass(j_obs, h_obs, A, b, Q, states, log_tr, cand, u, reverse):
    """The single-site pass of :func:`.sampler.sample_states_collapsed`."""
    n_time, d = h_obs.shape
    eye = np.eye(d)
    Ac = A[cand]
    bc = b[cand]
    Qc = Q[cand]
    new = states.copy()
    if not reverse:
        lam, theta = backward_information(j_obs, h_obs, A, b, Q, states)
        p = _sym(_inv(eye + j_obs[0]))
        m = _mv(p, h_obs[0])
        for t in range(1, n_time):
            score, mus, sigs = _state_scores(m, p, j_obs[t] + lam[t], h_obs[t] + theta[t],
                                             Ac, bc, Qc)
            if t > 1:
                score = score + log_tr[new[t - 1]][cand]
            if t < n_time - 1:
                score = score + log_tr[:, states[t + 1]][cand]
            k = _draw(score, u[t])
            new[t] = cand[k]
            s_k = sigs[k]
            p = _sym(_solve(eye + _mm(s_k, j_obs[t]), s_k))
            m = mus[k] + _mv(p, h_obs[t] - _mv(j_obs[t], mus[k]))
    else:
        m_f, p_f, _, _, _ = info_filter(j_obs, h_obs, A, b, Q, states)
        lam = np.zeros((d, d))
        theta = np.zeros(d)
        for t in range(n_time - 1, 0, -1):
            jj = j_obs[t] + lam
            hh = h_obs[t] + theta
            score, _, _ = _state_scores(m_f[t - 1], p_f[t - 1], jj, hh, Ac, bc, Qc)
            if t > 1:
                score = score + log_tr[states[t - 1]][cand]
            if t < n_time - 1:
                score = score + log_tr[:, new[t + 1]][cand]
            s = cand[_draw(score, u[t])]
            new[t] = s
            lam, theta = backward_step(jj, hh, A[s], b[s], Q[s])
    new[0] = new[1]
    return new


@njit(**_OPTS)
def info_filter(j_obs, h_obs, A, b, Q, states):
    """Forward filter in information form with the stored predictions the backward passes
    need: filtered means/covariances, predicted means, covariances and precisions."""
    n_time, d = h_obs.shape
    eye = np.eye(d)
    m_f = np.empty((n_time, d))
    p_f = np.empty((n_time, d, d))
    j_pred_all = np.empty((n_time, d, d))
    p_pred_all = np.empty((n_time, d, d))
    pred_all = np.empty((n_time, d))
    p = _sym(_inv(eye + j_obs[0]))
    m = _mv(p, h_obs[0])
    m_f[0] = m
    p_f[0] = p
    for t in range(1, n_time):
        s = states[t]
        a = A[s]
        m_pred = _mv(a, m) + b[s]
        p_pred = _apat(a, p) + Q[s]
        j_pred = _sym(_inv(p_pred))
        # the 1e-6 floor (a N(0, 1e6) bound per bin) keeps unobserved unstable blocks finite
        p = _sym(_inv(j_pred + j_obs[t] + 1e-6 * eye))
        m = _mv(p, _mv(j_pred, m_pred) + h_obs[t])
        m_f[t] = m
        p_f[t] = p
        j_pred_all[t] = j_pred
        pred_all[t] = m_pred
        p_pred_all[t] = p_pred
    return m_f, p_f, pred_all, p_pred_all, j_pred_all


@njit(**_OPTS)
def ffbs(j_obs, h_obs, A, b, Q, states, noise, smooth):
    """Forward filter, backward sampler (and RTS smoother) of :func:`.sampler.ffbs_latent`."""
    n_time, d = h_obs.shape
    m_f, p_f, pred_all, p_pred_all, j_pred_all = info_filter(j_obs, h_obs, A, b, Q, states)
    x = np.empty((n_time, d))
    x[-1] = m_f[-1] + _mv(_chol(p_f[-1]), noise[-1])
    m_s = m_f.copy()
    p_s = p_f.copy()
    for t in range(n_time - 2, -1, -1):
        a = A[states[t + 1]]
        gain = _mm(_mm(p_f[t], a.T), j_pred_all[t + 1])
        mean = m_f[t] + _mv(gain, x[t + 1] - pred_all[t + 1])
        cov = p_f[t] - _mm(_mm(gain, a), p_f[t])
        x[t] = mean + _mv(_chol(cov), noise[t])
        if smooth:
            m_s[t] = m_f[t] + _mv(gain, m_s[t + 1] - pred_all[t + 1])
            p_s[t] = _sym(p_f[t] + _mm(_mm(gain, p_s[t + 1] - p_pred_all[t + 1]), gain.T))
    return x, m_s, p_s


@njit(**_OPTS)
def batched_smoother(j_obs, h_obs, A, b, Q, states):
    """Kalman/RTS marginals of :func:`.sampler.batched_smoother`, one model at a time."""
    n_b, n_time, q = h_obs.shape
    m_s = np.empty((n_b, n_time, q))
    p_s = np.empty((n_b, n_time, q, q))
    for i in range(n_b):
        m_f, p_f, pred_all, p_pred_all, j_pred_all = info_filter(j_obs[i], h_obs[i], A[i],
                                                                 b[i], Q[i], states)
        m_s[i, n_time - 1] = m_f[n_time - 1]
        p_s[i, n_time - 1] = p_f[n_time - 1]
        for t in range(n_time - 2, -1, -1):
            a = A[i, states[t + 1]]
            gain = _mm(_mm(p_f[t], a.T), j_pred_all[t + 1])
            m_s[i, t] = m_f[t] + _mv(gain, m_s[i, t + 1] - pred_all[t + 1])
            p_s[i, t] = _sym(p_f[t] + _mm(_mm(gain, p_s[i, t + 1] - p_pred_all[t + 1]),
                                          gain.T))
    return m_s, p_s
