"""Compiled (numba) small dense linear algebra for the sampler's kernels.

The matrices here are small (the stacked latent's d = K (p + 1) is 3-20), where LAPACK's
per-call overhead and temporary arrays dominate; these loops write into caller-owned
buffers. Symmetric positive-definite systems go through Cholesky factors (about half the
work of an LU factorization); a general LU with partial pivoting is the fallback when a
matrix that should be positive definite is not, numerically.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: ``cache=True``: compiled once, reused by every later process (the folder is numba's
#: ``NUMBA_CACHE_DIR``, which the workflow sets; see workflow/rules/bicluster.smk).
#: No ``fastmath``: with fused multiply-add (``contract``) or reassociation allowed, a kernel
#: just compiled and the same kernel loaded from the cache rounded differently (by 1e-7 and
#: 1e-13), so a job that compiled and a job that loaded wrote different bytes
#: (tests/test_bicluster_numba_cache.py, tests/test_bicluster_pipeline.py). numba keys its
#: cache on each function's source file: a change here must also change _kernels.py and
#: _batched.py (their comment on OPTS), or their kernels cached under the old options load.
OPTS = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**OPTS)
def sym(a):
    return 0.5 * (a + a.T)


@njit(**OPTS)
def mm(a, b):
    """``a @ b`` for small 2-D arrays, in loops (BLAS call overhead dominates at d <= 20)."""
    n, k = a.shape
    m = b.shape[1]
    out = np.zeros((n, m))
    for i in range(n):
        for j in range(k):
            aij = a[i, j]
            for c in range(m):
                out[i, c] += aij * b[j, c]
    return out


@njit(**OPTS)
def mv(a, x):
    """``a @ x``."""
    n, k = a.shape
    out = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for j in range(k):
            acc += a[i, j] * x[j]
        out[i] = acc
    return out


@njit(**OPTS)
def mv_into(a, x, out):
    """``out = a @ x``."""
    n, k = a.shape
    for i in range(n):
        acc = 0.0
        for j in range(k):
            acc += a[i, j] * x[j]
        out[i] = acc


@njit(**OPTS)
def dot(x, y):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    return acc


@njit(**OPTS)
def quad(x, a, y):
    """``x @ a @ y``."""
    acc = 0.0
    for i in range(x.shape[0]):
        row = 0.0
        for j in range(y.shape[0]):
            row += a[i, j] * y[j]
        acc += x[i] * row
    return acc


@njit(**OPTS)
def apat(a, p):
    """``a @ p @ a.T``."""
    return mm(mm(a, p), a.T)


@njit(**OPTS)
def chol_into(a, low):
    """Lower Cholesky factor of the symmetric ``a`` into ``low``; False if not positive
    definite (then ``low`` holds garbage). Reads the lower triangle of ``a`` only."""
    n = a.shape[0]
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= low[j, k] * low[j, k]
        if not s > 0.0:
            return False
        ljj = np.sqrt(s)
        low[j, j] = ljj
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= low[i, k] * low[j, k]
            low[i, j] = s / ljj
        for i in range(j):
            low[i, j] = 0.0
    return True


@njit(**OPTS)
def chol_logdet(low):
    """``log det(L L^T)``."""
    out = 0.0
    for i in range(low.shape[0]):
        out += np.log(low[i, i])
    return 2.0 * out


@njit(**OPTS)
def forward_sub(low, b, out):
    """Solve ``L out = b`` (``L`` lower triangular)."""
    n = low.shape[0]
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= low[i, k] * out[k]
        out[i] = s / low[i, i]


@njit(**OPTS)
def backward_sub_t(low, b, out):
    """Solve ``L^T out = b`` (``L`` lower triangular)."""
    n = low.shape[0]
    for i in range(n - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, n):
            s -= low[k, i] * out[k]
        out[i] = s / low[i, i]


@njit(**OPTS)
def chol_inverse_into(low, out, work):
    """``out = (L L^T)^-1`` from the lower factor ``L`` (``work`` (n, n) scratch)."""
    n = low.shape[0]
    # work = L^-1 (lower)
    for j in range(n):
        for i in range(n):
            work[i, j] = 0.0
        work[j, j] = 1.0 / low[j, j]
        for i in range(j + 1, n):
            s = 0.0
            for k in range(j, i):
                s -= low[i, k] * work[k, j]
            work[i, j] = s / low[i, i]
    # out = L^-T L^-1: out[i, j] = sum_k work[k, i] work[k, j]
    for i in range(n):
        for j in range(n):
            out[i, j] = 0.0
    for k in range(n):
        for i in range(k + 1):
            wki = work[k, i]
            for j in range(k + 1):
                out[i, j] += wki * work[k, j]


@njit(**OPTS)
def lower_times_into(a, low, out):
    """``out = a @ L`` (``L`` lower triangular)."""
    n, m = a.shape
    for i in range(n):
        for j in range(m):
            out[i, j] = 0.0
        for k in range(m):
            aik = a[i, k]
            for j in range(k + 1):
                out[i, j] += aik * low[k, j]


@njit(**OPTS)
def gram_plus_into(bmat, q, out):
    """``out = B B^T + q`` (symmetric ``q``), both triangles written."""
    n, m = bmat.shape
    for i in range(n):
        for j in range(i + 1):
            s = q[i, j]
            for k in range(m):
                s += bmat[i, k] * bmat[j, k]
            out[i, j] = s
            out[j, i] = s


@njit(**OPTS)
def congruence_plus_eye_into(low, jmat, tmp, out):
    """``out = I + L^T J L`` (symmetric ``J``; ``tmp`` (n, n) scratch holds ``J L``)."""
    n = low.shape[0]
    lower_times_into(jmat, low, tmp)
    for i in range(n):
        for j in range(n):
            out[i, j] = 0.0
        out[i, i] = 1.0
    for k in range(n):  # out += L^T tmp, L^T[i, k] = L[k, i] (k >= i)
        for i in range(k + 1):
            lki = low[k, i]
            for j in range(n):
                out[i, j] += lki * tmp[k, j]
    for i in range(n):
        for j in range(i):
            v = 0.5 * (out[i, j] + out[j, i])
            out[i, j] = v
            out[j, i] = v


@njit(**OPTS)
def lu(a):
    """LU factorization with partial pivoting of a small square matrix. Returns
    ``(lu, perm, sign)``; raises LinAlgError when singular."""
    n = a.shape[0]
    f = a.copy()
    perm = np.arange(n)
    sign = 1.0
    for k in range(n):
        piv = k
        big = abs(f[k, k])
        for r in range(k + 1, n):
            if abs(f[r, k]) > big:
                big = abs(f[r, k])
                piv = r
        if piv != k:
            for c in range(n):
                tmp = f[k, c]
                f[k, c] = f[piv, c]
                f[piv, c] = tmp
            tmp_i = perm[k]
            perm[k] = perm[piv]
            perm[piv] = tmp_i
            sign = -sign
        if f[k, k] == 0.0:
            raise np.linalg.LinAlgError("singular matrix")
        for r in range(k + 1, n):
            g = f[r, k] / f[k, k]
            f[r, k] = g
            for c in range(k + 1, n):
                f[r, c] -= g * f[k, c]
    return f, perm, sign


@njit(**OPTS)
def lu_solve(f, perm, rhs):
    """Solve with the factors of :func:`lu`; ``rhs`` (n, m)."""
    n = f.shape[0]
    m = rhs.shape[1]
    x = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            x[i, j] = rhs[perm[i], j]
    for j in range(m):
        for i in range(n):
            acc = x[i, j]
            for k in range(i):
                acc -= f[i, k] * x[k, j]
            x[i, j] = acc
        for i in range(n - 1, -1, -1):
            acc = x[i, j]
            for k in range(i + 1, n):
                acc -= f[i, k] * x[k, j]
            x[i, j] = acc / f[i, i]
    return x


@njit(**OPTS)
def solve_logdet(a, rhs):
    """``(solve(a, rhs), log|det a|)`` for a small square ``a`` (LU)."""
    f, perm, _ = lu(a)
    logdet = 0.0
    for i in range(a.shape[0]):
        logdet += np.log(abs(f[i, i]))
    return lu_solve(f, perm, rhs), logdet


@njit(**OPTS)
def solve(a, rhs):
    f, perm, _ = lu(a)
    return lu_solve(f, perm, rhs)


@njit(**OPTS)
def inv(a):
    return solve(a, np.eye(a.shape[0]))


@njit(**OPTS)
def spd_inverse(a):
    """Inverse of a symmetric positive-definite ``a`` (Cholesky; LU if that fails)."""
    n = a.shape[0]
    low = np.empty((n, n))
    out = np.empty((n, n))
    if chol_into(a, low):
        chol_inverse_into(low, out, np.empty((n, n)))
        return out
    return sym(inv(a))


@njit(**OPTS)
def chol_jitter(a):
    """Cholesky factor with a growing jitter for nearly singular covariances (NaN if none)."""
    a = sym(a)
    d = a.shape[0]
    low = np.zeros((d, d))
    if chol_into(a, low):
        return low
    jitter = 0.0
    scale = max(np.mean(np.diag(a)), 1e-12)
    for _ in range(8):
        jitter = scale * 1e-10 if jitter == 0.0 else jitter * 100.0
        if chol_into(a + jitter * np.eye(d), low):
            return low
    return np.full((d, d), np.nan)


@njit(**OPTS)
def mm_into(a, b, out):
    """``out = a @ b``."""
    n, k = a.shape
    m = b.shape[1]
    for i in range(n):
        for c in range(m):
            out[i, c] = 0.0
        for j in range(k):
            aij = a[i, j]
            for c in range(m):
                out[i, c] += aij * b[j, c]


@njit(**OPTS)
def mm_bt_into(a, b, out):
    """``out = a @ b.T``."""
    n, k = a.shape
    m = b.shape[0]
    for i in range(n):
        for c in range(m):
            s = 0.0
            for j in range(k):
                s += a[i, j] * b[c, j]
            out[i, c] = s


@njit(**OPTS)
def spd_inverse_into(a, out, low, work):
    """``out = a^-1`` for a symmetric positive-definite ``a`` (Cholesky; LU if that fails)."""
    if chol_into(a, low):
        chol_inverse_into(low, out, work)
    else:
        out[:] = sym(inv(a))


@njit(**OPTS)
def factor_into(p, low):
    """Cholesky factor of a covariance into ``low``, jittered if needed (NaN if none)."""
    if not chol_into(p, low):
        low[:] = chol_jitter(p)
