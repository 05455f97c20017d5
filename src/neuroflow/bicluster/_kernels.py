"""Compiled (numba) inner loops of the bi-clustering sampler.

Each kernel is the sequential-in-time loop of one function of the sampler modules (which
keep the documented numpy interface and draw every random number themselves, so that a
chain is reproducible from its seed). Gaussian site scores and filter updates go through
Cholesky factors of the predicted covariance and of ``I + L^T J L``
(:func:`site_score`), falling back to an LU solve of ``I + Sigma J`` when a factor does not
exist numerically; the tests compare the kernels with dense-Gaussian and enumeration
references.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import _linalg as la

#: The compile options of :mod:`._linalg` (no ``fastmath``: compiled and cached kernels
#: give the same bits). numba keys its cache on each function's own source file, so a
#: change of ``OPTS`` must change this file too, or kernels cached under the old options
#: are loaded.
_OPTS = la.OPTS


@njit(**_OPTS)
def _site_score_lu(mu, sig, jj, hh):
    """``log ∫ N(x; mu, sig) exp(-x'Jx/2 + h'x) dx`` by an LU solve (the fallback)."""
    d = mu.shape[0]
    mmat = np.eye(d) + la.mm(sig, jj)
    g = hh - la.mv(jj, mu)
    sol, logdet = la.solve_logdet(mmat, sig)
    return -0.5 * la.quad(mu, jj, mu) + la.dot(hh, mu) - 0.5 * logdet + 0.5 * la.quad(g, sol, g)


@njit(**_OPTS)
def site_score(mu, sig, jj, hh, low, tmp, mfac, rfac, vec, vec2):
    """``log ∫ N(x; mu, sig) exp(-x' jj x / 2 + hh' x) dx`` (the constant (2 pi)^d dropped).

    With ``sig = L L^T`` and ``I + L^T jj L = R R^T``: ``log|I + sig jj| = log|R R^T|`` and
    ``g' (sig^-1 + jj)^-1 g = |R^-1 L^T g|^2``, ``g = hh - jj mu``. Leaves ``L`` in ``low``
    and ``R`` in ``rfac`` for :func:`filter_from_factors`; returns ``(score, ok)`` (``ok``
    False when it fell back to the LU form and the factors are not valid).
    """
    if not la.chol_into(sig, low):
        return _site_score_lu(mu, sig, jj, hh), False
    la.congruence_plus_eye_into(low, jj, tmp, mfac)
    if not la.chol_into(mfac, rfac):
        return _site_score_lu(mu, sig, jj, hh), False
    d = mu.shape[0]
    for i in range(d):  # vec = L^T (hh - jj mu)
        vec2[i] = hh[i] - la.dot(jj[i], mu)
    for i in range(d):
        s = 0.0
        for k in range(i, d):
            s += low[k, i] * vec2[k]
        vec[i] = s
    la.forward_sub(rfac, vec, vec2)
    return (
        -0.5 * la.quad(mu, jj, mu) + la.dot(hh, mu) - 0.5 * la.chol_logdet(rfac) + 0.5 * la.dot(vec2, vec2)
    ), True


@njit(**_OPTS)
def filter_from_factors(mu, low, rfac, vec2, m_out, p_out, xt, vec):
    """Posterior ``(m, P)`` of ``x ~ N(mu, L L^T)`` times the site scored by
    :func:`site_score` (whose factors ``L``, ``R`` and ``R^-1 L^T g`` it reuses):
    ``P = X X^T`` with ``X^T = R^-1 L^T``, ``m = mu + L R^-T (R^-1 L^T g)``."""
    d = mu.shape[0]
    for j in range(d):
        la.forward_sub(rfac, low[j], vec)
        for i in range(d):
            xt[i, j] = vec[i]
    for i in range(d):  # p = xt^T xt (lower triangle, then mirrored)
        for j in range(i + 1):
            p_out[i, j] = 0.0
    for k in range(d):
        for i in range(d):
            xki = xt[k, i]
            for j in range(i + 1):
                p_out[i, j] += xki * xt[k, j]
    for i in range(d):
        for j in range(i):
            p_out[j, i] = p_out[i, j]
    la.backward_sub_t(rfac, vec2, vec)
    for i in range(d):
        s = mu[i]
        for k in range(i + 1):
            s += low[i, k] * vec[k]
        m_out[i] = s


@njit(**_OPTS)
def filter_update(mu, sig, jj, hh):
    """Posterior ``(m, P)`` of ``x ~ N(mu, sig)`` times the site ``exp(-x'jj x/2 + hh'x)``."""
    d = mu.shape[0]
    low, tmp, mfac, rfac, xt = (
        np.empty((d, d)),
        np.empty((d, d)),
        np.empty((d, d)),
        np.empty((d, d)),
        np.empty((d, d)),
    )
    vec, vec2 = np.empty(d), np.empty(d)
    m, p = np.empty(d), np.empty((d, d))
    _, ok = site_score(mu, sig, jj, hh, low, tmp, mfac, rfac, vec, vec2)
    if ok:
        filter_from_factors(mu, low, rfac, vec2, m, p, xt, vec)
        return m, p
    p = la.sym(la.solve(np.eye(d) + la.mm(sig, jj), sig))
    return mu + la.mv(p, hh - la.mv(jj, mu)), p


@njit(**_OPTS)
def predict_into(a, b, q, m, p_low, bmat, mu_out, sig_out):
    """``mu_out = A m + b``, ``sig_out = A P A^T + Q`` with ``P = p_low p_low^T``."""
    la.lower_times_into(a, p_low, bmat)
    la.gram_plus_into(bmat, q, sig_out)
    la.mv_into(a, m, mu_out)
    for i in range(b.shape[0]):
        mu_out[i] += b[i]


@njit(**_OPTS)
def kalman_loglik(j_obs, h_obs, A, b, Q, states):
    """Log marginal likelihood of the Gaussian sites under the switching dynamics."""
    n_time, d = h_obs.shape
    mu, sig, m, p = np.zeros(d), np.eye(d), np.zeros(d), np.eye(d)
    low, tmp, mfac, rfac, xt, p_low = (
        np.empty((d, d)),
        np.empty((d, d)),
        np.empty((d, d)),
        np.empty((d, d)),
        np.empty((d, d)),
        np.empty((d, d)),
    )
    vec, vec2 = np.empty(d), np.empty(d)
    total = 0.0
    for t in range(n_time):
        if t > 0:
            s = states[t]
            la.factor_into(p, p_low)
            predict_into(A[s], b[s], Q[s], m, p_low, tmp, mu, sig)
        score, ok = site_score(mu, sig, j_obs[t], h_obs[t], low, tmp, mfac, rfac, vec, vec2)
        total += score
        if ok:
            filter_from_factors(mu, low, rfac, vec2, m, p, xt, vec)
        else:
            m, p = filter_update(mu, sig, j_obs[t], h_obs[t])
    return total


@njit(**_OPTS)
def q_factors(Q):
    """Cholesky factors of every state's noise covariance (jittered if needed)."""
    out = np.empty_like(Q)
    for s in range(Q.shape[0]):
        out[s] = la.chol_jitter(Q[s])
    return out


@njit(**_OPTS)
def backward_step(jj, hh, a, b, q_low):
    """Message ``p(sites_{t:} | x_{t-1})`` from the site ``(jj, hh)`` at t through
    ``x_t = a x_{t-1} + b + N(0, Q)``, ``Q = q_low q_low^T``: returns ``(lam, theta)``.

    ``lam_mu = J - J S M^-1 S^T J`` with ``M = I + S^T J S = R R^T``, i.e. ``J - V^T V``,
    ``V = R^-1 S^T J``; ``theta_mu = h - V^T R^-1 S^T h``.
    """
    d = b.shape[0]
    tmp = np.empty((d, d))
    mfac = np.empty((d, d))
    rfac = np.empty((d, d))
    la.congruence_plus_eye_into(q_low, jj, tmp, mfac)  # tmp = J S
    if not la.chol_into(mfac, rfac):
        q = la.mm(q_low, q_low.T)
        g = la.solve(np.eye(d) + la.mm(q, jj), q)
        jg = la.mm(jj, g)
        lam_mu = la.sym(jj - la.mm(jg, jj))
        th_mu = hh - la.mv(jg, hh)
    else:
        vmat = np.empty((d, d))  # V = R^-1 (J S)^T
        col = np.empty(d)
        for j in range(d):
            la.forward_sub(rfac, tmp[j], col)
            for i in range(d):
                vmat[i, j] = col[i]
        lam_mu = np.empty((d, d))
        for i in range(d):
            for j in range(i + 1):
                s = jj[i, j]
                for k in range(d):
                    s -= vmat[k, i] * vmat[k, j]
                lam_mu[i, j] = s
                lam_mu[j, i] = s
        sh = np.empty(d)
        for i in range(d):  # S^T h
            s = 0.0
            for k in range(i, d):
                s += q_low[k, i] * hh[k]
            sh[i] = s
        la.forward_sub(rfac, sh, col)
        th_mu = hh.copy()
        for k in range(d):  # th_mu = h - V^T col
            ck = col[k]
            for i in range(d):
                th_mu[i] -= vmat[k, i] * ck
    return _push_back(a, b, lam_mu, th_mu)


@njit(**_OPTS)
def _push_back(a, b, lam_mu, th_mu):
    """``(A^T lam_mu A, A^T (th_mu - lam_mu b))`` for a symmetric ``lam_mu``."""
    d = b.shape[0]
    w = la.mm(lam_mu, a)
    lam = np.empty((d, d))
    for i in range(d):
        for j in range(i + 1):
            s = 0.0
            for k in range(d):
                s += a[k, i] * w[k, j]
            lam[i, j] = s
            lam[j, i] = s
    r = th_mu - la.mv(lam_mu, b)
    theta = np.zeros(d)
    for k in range(d):
        rk = r[k]
        for i in range(d):
            theta[i] += a[k, i] * rk
    return lam, theta


@njit(**_OPTS)
def backward_information(j_obs, h_obs, A, b, Q, states):
    n_time, d = h_obs.shape
    q_low = q_factors(Q)
    lam = np.zeros((n_time, d, d))
    theta = np.zeros((n_time, d))
    for t in range(n_time - 2, -1, -1):
        s = states[t + 1]
        lt, tt = backward_step(j_obs[t + 1] + lam[t + 1], h_obs[t + 1] + theta[t + 1], A[s], b[s], q_low[s])
        lam[t] = lt
        theta[t] = tt
    return lam, theta


#: Candidates whose bound on the log weight falls this far below the best weight found at
#: a bin are not scored: their weight relative to the best, below e^-50, is far below what
#: double precision resolves in the draw (2^-53).
PRUNE_GAP = 50.0


@njit(**_OPTS)
def _draw(score, u):
    w = np.exp(score - score.max())
    cum = np.cumsum(w)
    k = min(np.searchsorted(cum, u * cum[-1]), score.size - 1)
    while w[k] == 0.0 and k < score.size - 1:  # never a pruned (zero-weight) candidate
        k += 1
    return k


@njit(**_OPTS)
def _score_bound(jj, hh, low, vec):
    """``max_x (-x' J x / 2 + h' x) = h' J^-1 h / 2``: an upper bound of every candidate's
    site score (a Gaussian average of ``exp(-x' J x / 2 + h' x)``); +inf when ``J`` has no
    Cholesky factor."""
    if not la.chol_into(jj, low):
        return np.inf
    la.forward_sub(low, hh, vec)
    return 0.5 * la.dot(vec, vec)


@njit(**_OPTS)
def pruned_scores(m, p, jj, hh, A, b, Q, cand, prior, mus, sigs, score, work, vec):
    """Log weights ``score`` of the candidate states at one bin: site score (the
    prediction ``N(A_c m + b_c, A_c P A_c' + Q_c)`` averaged against ``exp(-x' jj x / 2 +
    hh' x)``, :func:`site_score`) plus ``prior`` (transition terms). Candidates are visited
    by decreasing ``prior``; one whose ``prior`` plus :func:`_score_bound` falls
    ``PRUNE_GAP`` below the best weight so far gets weight 0 unscored. Predicted means and
    covariances go to ``mus``, ``sigs``; ``work`` (5, d, d) and ``vec`` (2, d) are scratch.
    Returns the number of candidates scored."""
    p_low = work[4]
    la.factor_into(p, p_low)
    bound = _score_bound(jj, hh, work[0], vec[0])
    order = np.argsort(-prior)
    best = -np.inf
    n_scored = 0
    for j in range(cand.size):
        i = order[j]
        if prior[i] + bound < best - PRUNE_GAP:
            score[i] = -np.inf
            continue
        c = cand[i]
        predict_into(A[c], b[c], Q[c], m, p_low, work[1], mus[i], sigs[i])
        sc, _ = site_score(mus[i], sigs[i], jj, hh, work[0], work[1], work[2], work[3], vec[0], vec[1])
        score[i] = sc + prior[i]
        best = max(best, score[i])
        n_scored += 1
    return n_scored


@njit(**_OPTS)
def _prior(log_tr, cand, left, right):
    """Transition terms ``log pi(left, c) + log pi(c, right)`` (a side < 0: absent)."""
    out = np.zeros(cand.size)
    for i in range(cand.size):
        if left >= 0:
            out[i] += log_tr[left, cand[i]]
        if right >= 0:
            out[i] += log_tr[cand[i], right]
    return out


@njit(**_OPTS)
def collapsed_state_pass(j_obs, h_obs, A, b, Q, states, log_tr, cand, u, reverse):
    """The single-site pass of :func:`.states.sample_states_collapsed` (candidates scored by
    :func:`pruned_scores`)."""
    n_time, d = h_obs.shape
    eye = np.eye(d)
    n_c = cand.size
    mus, sigs, score = np.empty((n_c, d)), np.empty((n_c, d, d)), np.empty(n_c)
    work, vec = np.empty((5, d, d)), np.empty((2, d))
    new = states.copy()
    if not reverse:
        lam, theta = backward_information(j_obs, h_obs, A, b, Q, states)
        p = la.spd_inverse(eye + j_obs[0])
        m = la.mv(p, h_obs[0])
        for t in range(1, n_time):
            prior = _prior(log_tr, cand, new[t - 1] if t > 1 else -1, states[t + 1] if t < n_time - 1 else -1)
            pruned_scores(
                m,
                p,
                j_obs[t] + lam[t],
                h_obs[t] + theta[t],
                A,
                b,
                Q,
                cand,
                prior,
                mus,
                sigs,
                score,
                work,
                vec,
            )
            k = _draw(score, u[t])
            new[t] = cand[k]
            m, p = filter_update(mus[k], sigs[k], j_obs[t], h_obs[t])
    else:
        q_low = q_factors(Q)
        m_f, p_f, _, _, _ = info_filter(j_obs, h_obs, A, b, Q, states)
        lam = np.zeros((d, d))
        theta = np.zeros(d)
        for t in range(n_time - 1, 0, -1):
            jj = j_obs[t] + lam
            hh = h_obs[t] + theta
            prior = _prior(log_tr, cand, states[t - 1] if t > 1 else -1, new[t + 1] if t < n_time - 1 else -1)
            pruned_scores(m_f[t - 1], p_f[t - 1], jj, hh, A, b, Q, cand, prior, mus, sigs, score, work, vec)
            s = cand[_draw(score, u[t])]
            new[t] = s
            lam, theta = backward_step(jj, hh, A[s], b[s], q_low[s])
    new[0] = new[1]
    return new


@njit(**_OPTS)
def info_filter(j_obs, h_obs, A, b, Q, states):
    """Forward filter in information form with the stored predictions the backward passes
    need: filtered means/covariances, predicted means, covariances and precisions."""
    n_time, d = h_obs.shape
    m_f = np.empty((n_time, d))
    p_f = np.empty((n_time, d, d))
    j_pred_all = np.empty((n_time, d, d))
    p_pred_all = np.empty((n_time, d, d))
    pred_all = np.empty((n_time, d))
    low, work, tmp = np.empty((d, d)), np.empty((d, d)), np.empty((d, d))
    vec = np.empty(d)
    for i in range(d):
        for j in range(d):
            tmp[i, j] = j_obs[0, i, j]
        tmp[i, i] += 1.0
    la.spd_inverse_into(tmp, p_f[0], low, work)
    la.mv_into(p_f[0], h_obs[0], m_f[0])
    for t in range(1, n_time):
        s = states[t]
        la.factor_into(p_f[t - 1], low)
        predict_into(A[s], b[s], Q[s], m_f[t - 1], low, tmp, pred_all[t], p_pred_all[t])
        la.spd_inverse_into(p_pred_all[t], j_pred_all[t], low, work)
        # the 1e-6 floor (a N(0, 1e6) bound per bin) keeps unobserved unstable blocks finite
        for i in range(d):
            for j in range(d):
                tmp[i, j] = j_pred_all[t, i, j] + j_obs[t, i, j]
            tmp[i, i] += 1e-6
        la.spd_inverse_into(tmp, p_f[t], low, work)
        la.mv_into(j_pred_all[t], pred_all[t], vec)
        for i in range(d):
            vec[i] += h_obs[t, i]
        la.mv_into(p_f[t], vec, m_f[t])
    return m_f, p_f, pred_all, p_pred_all, j_pred_all


@njit(**_OPTS)
def _cond_cov_into(p_f, gain, w, out):
    """``out = P_f - G W^T`` (symmetric: ``G W^T = P_f A^T J_pred A P_f``), both triangles."""
    d = p_f.shape[0]
    for i in range(d):
        for j in range(i + 1):
            s = p_f[i, j]
            for k in range(d):
                s -= gain[i, k] * w[j, k]
            out[i, j] = s
            out[j, i] = s


@njit(**_OPTS)
def ffbs(j_obs, h_obs, A, b, Q, states, noise, smooth):
    """Forward filter, backward sampler (and RTS smoother) of :func:`.latent.ffbs_latent`."""
    n_time, d = h_obs.shape
    m_f, p_f, pred_all, p_pred_all, j_pred_all = info_filter(j_obs, h_obs, A, b, Q, states)
    x = np.empty((n_time, d))
    x[-1] = m_f[-1] + la.mv(la.chol_jitter(p_f[-1]), noise[-1])
    m_s = m_f.copy()
    p_s = p_f.copy()
    w, gain, cov, low = np.empty((d, d)), np.empty((d, d)), np.empty((d, d)), np.empty((d, d))
    diff, vec = np.empty(d), np.empty(d)
    for t in range(n_time - 2, -1, -1):
        a = A[states[t + 1]]
        la.mm_bt_into(p_f[t], a, w)  # W = P_f A^T
        la.mm_into(w, j_pred_all[t + 1], gain)  # G = W J_pred
        for i in range(d):
            diff[i] = x[t + 1, i] - pred_all[t + 1, i]
        la.mv_into(gain, diff, vec)
        _cond_cov_into(p_f[t], gain, w, cov)  # P_f - G A P_f = P_f - G W^T
        if not la.chol_into(cov, low):
            low[:] = la.chol_jitter(cov)
        for i in range(d):
            s = m_f[t, i] + vec[i]
            for j in range(i + 1):
                s += low[i, j] * noise[t, j]
            x[t, i] = s
        if smooth:
            m_s[t] = m_f[t] + la.mv(gain, m_s[t + 1] - pred_all[t + 1])
            p_s[t] = la.sym(p_f[t] + la.mm(la.mm(gain, p_s[t + 1] - p_pred_all[t + 1]), gain.T))
    return x, m_s, p_s


@njit(**_OPTS)
def _rts_step(p_f, a, j_pred, p_pred, p_next, m_f, pred, m_next, m_out, p_out, w1, w2, vec):
    """One Rauch-Tung-Striebel step: ``G = P_f A^T J_pred``, ``m = m_f + G (m' - pred)``,
    ``P = P_f + G (P' - P_pred) G^T`` (``w1``, ``w2`` scratch)."""
    d = m_f.shape[0]
    la.mm_bt_into(p_f, a, w1)
    la.mm_into(w1, j_pred, w2)  # w2 = gain
    for i in range(d):
        vec[i] = m_next[i] - pred[i]
    la.mv_into(w2, vec, m_out)
    for i in range(d):
        m_out[i] += m_f[i]
    for i in range(d):
        for j in range(d):
            w1[i, j] = p_next[i, j] - p_pred[i, j]
    la.mm_into(w2, w1, p_out)
    la.mm_bt_into(p_out, w2, w1)
    for i in range(d):
        for j in range(d):
            p_out[i, j] = p_f[i, j] + 0.5 * (w1[i, j] + w1[j, i])


@njit(**_OPTS)
def batched_smoother(j_obs, h_obs, A, b, Q, states):
    """Kalman/RTS marginals of :func:`.latent.batched_smoother`, one model at a time."""
    n_b, n_time, q = h_obs.shape
    m_s = np.empty((n_b, n_time, q))
    p_s = np.empty((n_b, n_time, q, q))
    w1, w2, vec = np.empty((q, q)), np.empty((q, q)), np.empty(q)
    for i in range(n_b):
        m_f, p_f, pred_all, p_pred_all, j_pred_all = info_filter(j_obs[i], h_obs[i], A[i], b[i], Q[i], states)
        m_s[i, n_time - 1] = m_f[n_time - 1]
        p_s[i, n_time - 1] = p_f[n_time - 1]
        for t in range(n_time - 2, -1, -1):
            _rts_step(
                p_f[t],
                A[i, states[t + 1]],
                j_pred_all[t + 1],
                p_pred_all[t + 1],
                p_s[i, t + 1],
                m_f[t],
                pred_all[t + 1],
                m_s[i, t + 1],
                m_s[i, t],
                p_s[i, t],
                w1,
                w2,
                vec,
            )
    return m_s, p_s


@njit(**_OPTS)
def sample_marginals(mean, cov, eps, out):
    """``out[:, t] = mean[t] + R_t eps[t]`` with ``R_t R_t^T = cov[t]``: a draw from the
    per-bin marginals ``N(mean_t, cov_t)``; ``R_t`` as in :func:`marginal_roots`."""
    apply_roots(mean, marginal_roots(cov), eps, out)


@njit(**_OPTS)
def marginal_roots(cov):
    """Square roots ``R_t`` (T, q, q) of the per-bin covariances ``cov`` (T, q, q): the
    Cholesky factor, or for a (rounding-)indefinite ``cov_t`` the eigen-root with negative
    eigenvalues set to 0."""
    n_time, q, _ = cov.shape
    roots = np.empty((n_time, q, q))
    for t in range(n_time):
        low = roots[t]
        if not la.chol_into(cov[t], low):  # reads the lower triangle
            evals, evecs = np.linalg.eigh(la.sym(cov[t]))
            for j in range(q):
                sd = np.sqrt(max(evals[j], 0.0))
                for i in range(q):
                    low[i, j] = evecs[i, j] * sd
    return roots


@njit(**_OPTS)
def apply_roots(mean, roots, eps, out):
    """``out[:, t] = mean[t] + roots[t] eps[t]`` (``out`` (q, T))."""
    n_time, q = mean.shape
    for t in range(n_time):
        for i in range(q):
            s = mean[t, i]
            for j in range(q):
                s += roots[t, i, j] * eps[t, j]
            out[i, t] = s
