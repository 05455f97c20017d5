"""Compiled loops over region pairs where the quantity does not factor into matrix
products: sums of |Im S_ij| and sign(Im S_ij) over realizations, and the amplitude
envelope of one region orthogonalised to another."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def imag_sums(re, im):  # pragma: no cover - compiled
    """sum_k |Im S_ij(k)| and sum_k sign(Im S_ij(k)), S_ij = z_i conj(z_j), every pair.

    re, im : (n, r, K) real and imaginary parts of z. Returns two (n, r, r) arrays (the
    first symmetric, the second antisymmetric).
    """
    n, r, K = re.shape
    sabs = np.zeros((n, r, r))
    ssign = np.zeros((n, r, r))
    for w in range(n):
        for i in range(r):
            for j in range(i + 1, r):
                a = 0.0
                s = 0.0
                for k in range(K):
                    v = im[w, i, k] * re[w, j, k] - re[w, i, k] * im[w, j, k]
                    a += abs(v)
                    if v > 0:
                        s += 1.0
                    elif v < 0:
                        s -= 1.0
                sabs[w, i, j] = a
                sabs[w, j, i] = a
                ssign[w, i, j] = s
                ssign[w, j, i] = -s
    return sabs, ssign


@njit(cache=True)
def orthogonal_envelope_corr(re, im, amp):  # pragma: no cover - compiled
    """c[i, j] = corr_t(|Im(z_i conj(z_j))| / |z_j|, |z_j|) for every ordered pair.

    re, im, amp : (n, r, T) parts and modulus of the analytic signals. Diagonal 0.
    """
    n, r, T = re.shape
    out = np.zeros((n, r, r))
    for w in range(n):
        for j in range(r):
            ma = 0.0
            for t in range(T):
                ma += amp[w, j, t]
            ma /= T
            va = 0.0
            for t in range(T):
                va += (amp[w, j, t] - ma) ** 2
            for i in range(r):
                if i == j:
                    continue
                s1 = 0.0
                s2 = 0.0
                s3 = 0.0
                for t in range(T):
                    v = abs(im[w, i, t] * re[w, j, t] - re[w, i, t] * im[w, j, t]) / max(amp[w, j, t], 1e-300)
                    s1 += v
                    s2 += v * v
                    s3 += v * amp[w, j, t]
                vv = s2 - s1 * s1 / T
                if vv > 0 and va > 0:
                    out[w, i, j] = (s3 - s1 * ma) / np.sqrt(vv * va)
    return out


@njit(cache=True)
def var_pair_spectra(A, Sigma, phase):  # pragma: no cover - compiled
    """Band means of DTF, PDC and spectral Granger causality j -> i of the pairs' VAR(p).

    A : (n, r, r, p, 2, 2) lag matrices of pair [j, i] (variable 0 = target i, 1 = source
    j); Sigma : (n, r, r, 2, 2); phase : (p, F) complex, exp(-2 pi i f k t_r). Returns
    (3, n, r, r); see :func:`neuroflow.fc.operators.autoregressive.var_spectral_measures`.
    """
    n, r = A.shape[0], A.shape[1]
    p, F = phase.shape
    out = np.zeros((3, n, r, r))
    for w in range(n):
        for j in range(r):
            for i in range(r):
                if i == j:
                    continue
                s11, s12, s22 = Sigma[w, j, i, 0, 0], Sigma[w, j, i, 0, 1], Sigma[w, j, i, 1, 1]
                part = s22 - s12 * s12 / s11
                dtf = pdc = sgc = 0.0
                for f in range(F):
                    a11 = 1.0 + 0j
                    a12 = 0j
                    a21 = 0j
                    a22 = 1.0 + 0j
                    for k in range(p):
                        e = phase[k, f]
                        a11 -= A[w, j, i, k, 0, 0] * e
                        a12 -= A[w, j, i, k, 0, 1] * e
                        a21 -= A[w, j, i, k, 1, 0] * e
                        a22 -= A[w, j, i, k, 1, 1] * e
                    det = a11 * a22 - a12 * a21
                    h11 = a22 / det
                    h12 = -a12 / det
                    m11, m12 = abs(h11) ** 2, abs(h12) ** 2
                    dtf += m12 / max(m11 + m12, 1e-300)
                    q12, q22 = abs(a12) ** 2, abs(a22) ** 2
                    pdc += q12 / max(q12 + q22, 1e-300)
                    S11 = m11 * s11 + 2.0 * (h11 * np.conj(h12)).real * s12 + m12 * s22
                    sgc += np.log(S11 / max(S11 - part * m12, 1e-300 * S11))
                out[0, w, j, i] = dtf / F
                out[1, w, j, i] = pdc / F
                out[2, w, j, i] = sgc / F
    return out
