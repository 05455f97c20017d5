"""Blocked Gibbs sampler of the bi-clustering model (Wei 2023), one chain.

Model (neurons ``i``, time bins ``t``, neuron clusters ``k``, discrete states ``s``)::

    y[i, t] ~ NB(r_i, lam[i, t])          (mean lam, variance lam + lam**2 / r_i)
    log lam[i, t] = delta_i + mu[z_i, t] + c_i . X[z_i, :, t]
    x_t = [mu[k, t], X[k, :, t]]_k  (stacked, d = K (p + 1))
    x_t = A[xi_t] x_{t-1} + b[xi_t] + eps_t,  eps_t ~ N(0, Q[xi_t]),  x_1 ~ N(0, I)
    xi ~ sticky HDP-HMM (weak limit L):  beta ~ Dir(gamma/L), pi_j ~ Dir(alpha beta + kappa e_j)
    z ~ mixture of finite mixtures: K ~ Geometric(r_K), w ~ Dir_K(gamma_mfm), z_i ~ Cat(w)
    delta_i ~ N(0, sd_delta**2), c_i ~ N(0, sd_c**2 I_p), r_i ~ Gamma(a0, rate h)
    (A_s, b_s, Q_s) ~ MNIW(M0 = [I, 0], K0 = k0 I, nu0 = d + 2, S0 = s0 I)

One sweep: Polya-Gamma augmentation of the count likelihood, single-site Gibbs updates
of the states with the latents integrated out (Gerlach, Carter & Kohn 2000; the
latent-conditional state update alone mixes badly because latents drawn under one
state's dynamics look like that state), forward-filtering backward-sampling (FFBS) of
the latents, FFBS of the states given the latents and conjugate MNIW dynamics,
weak-limit sticky-HDP transition updates with auxiliary table counts, PG-augmented
Bayesian regression for ``(delta_i, c_i)``, CRT augmentation for ``r_i``, the
identifiability constraints (centre, SVD rotation), and neuron reassignment by Neal's
algorithm 8 (one auxiliary component) with MFM weights and Laplace-approximated marginal
likelihoods. Everything is vectorized numpy; randomness flows through one
``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import lfilter
from scipy.special import gammaln, logsumexp

from . import _kernels as _K

LOG2PI = np.log(2 * np.pi)


@dataclass(frozen=True)
class SamplerSettings:
    """Every tunable of the sampler (defaults: the paper's simulation settings).

    Attributes
    ----------
    n_iter, burn_in, thin : int
        Sweeps in total, sweeps discarded at the start, keep every ``thin``-th after.
    n_factors : int
        ``p``, latent factors per neuron cluster (plus one baseline row).
    likelihood : {"nb", "poisson"}
        ``"poisson"`` is approximated by NB with the fixed dispersion ``poisson_r``.
    max_clusters : int
        ``t_max``; 0 means ``n_neurons // 2`` (the paper's default).
    n_states_max : int
        ``L``, the weak-limit truncation of the HDP-HMM.
    mniw_k0, mniw_s0 : float
        MNIW prior of each state's dynamics: ``[A, b] | Q ~ MN([I, 0], Q, (k0 I)^-1)``,
        ``Q ~ IW(d + 2, s0 I)``. The paper uses ``k0 = 1``, ``s0 = 0.01``; with weakly
        observed latents these priors dominate (entries of ``A`` have prior sd
        ``sqrt(Q_ii / k0)`` = 0.1 around the identity, which makes a white-noise state look
        persistent, and ``IW(d + 2, 0.01 I)`` pulls ``Q`` several-fold below the
        simulation's 0.01 I); the defaults 0.01 and 0.1 are weaker in both respects.
    collapsed_states : bool
        Each sweep, update every ``s_t`` from its conditional with the latents integrated
        out (:func:`sample_states_collapsed`) before drawing the latents.
    uncollapsed_states : bool
        Each sweep, also draw the whole state path by FFBS given the sampled latents (the
        paper's move).
    candidate_latent : {"sample", "mean"}
        What stands for a candidate cluster's latent in a neuron's Laplace marginal (the
        neuron's own cluster always without the neuron's pseudo-observations): a draw from
        its per-bin posterior marginals, or their means. The means are shrunk towards zero
        the more, the fewer members a cluster has, which biases reassignment against small
        clusters; on the paper's simulation (seed 1) this let two clusters merge for good
        after 420 sweeps.
    split_merge_every, split_merge_moves : int
        Every ``split_merge_every``-th sweep (0: never), ``split_merge_moves``
        sequentially-allocated split-merge proposals of the neuron labels with the cluster
        latents integrated out (:func:`split_merge_move`). Neal's algorithm 8 alone opens a
        cluster only when a latent drawn from the prior happens to fit a neuron, so two
        merged clusters practically never separate again; the move separates them, but as
        it holds every loading ``c_i`` fixed, a half of a true cluster can fit its own
        latent copy better than the shared one (up to +30 nats on the paper's simulation)
        and it also over-splits. Off by default, as in the authors' code.
    collapsed_dynamics : bool
        After the collapsed state update, Metropolis-Hastings scale moves of every used
        state's ``A_s`` and ``Q_s`` with the latents integrated out
        (:func:`sample_dynamics_collapsed`, proposal sd ``dynamics_mh_sd`` on the log scale).
    frame_moves : int
        Rounds per sweep after the warm-up (0: none, the default) of Metropolis-Hastings
        moves along each cluster's unidentified frame (:func:`frame_proposal`): the factor
        scales ``X_j -> e^u_j X_j``, ``c_ij -> c_ij e^-u_j`` and the shear ``mu -> mu + v .
        X``, ``c_i -> c_i - v``, with the state dynamics carried along; the likelihood is
        unchanged, so only the priors decide. Gibbs updates of ``c | x`` and ``x | c`` move
        along these directions in tiny steps: on the paper's simulation (seed 0, 2 x 2,000
        sweeps) 5 rounds bring the R-hat of the loading norms from 1.38 to 1.09 and their
        smallest ESS from 4 to 19, and that of the log-likelihood from 1.14 to 1.01, but not
        the R-hat of the rate sd (1.19 -> 1.44, ESS 4-7 either way), whose slow direction is
        the state dynamics ``A_s`` with the latents. Off by default: in
        short chains a free latent scale let neuron reassignment (its Laplace marginal
        integrates ``c_i`` against the current latent) merge two true clusters (seed 1, two
        of three 60-sweep chains). ``frame_move_sd`` is the proposal sd of ``u_j``, ``v_j``.
    """

    n_iter: int = 200
    burn_in: int = 50
    thin: int = 1
    n_factors: int = 2
    likelihood: str = "nb"
    poisson_r: float = 1000.0
    max_clusters: int = 0
    mfm_gamma: float = 1.0
    mfm_geometric_p: float = 0.2
    n_states_max: int = 10
    hdp_alpha: float = 5.0
    hdp_gamma: float = 5.0
    hdp_kappa: float = 10.0
    delta_prior_sd: float = 1.0
    loading_prior_sd: float = 1.0
    dispersion_a0: float = 1.0
    dispersion_rate: float = 1.0
    mniw_k0: float = 0.01
    mniw_s0: float = 0.1
    new_cluster_q: float = 0.01
    aux_ar_coef: float = 0.95
    aux_ar_var: float = 0.01
    spline_every: int = 10
    init_clusters: int = 6
    state_warmup: int = 20
    init_states: int = 2
    init_window: int = 10
    collapsed_states: bool = True
    uncollapsed_states: bool = True
    collapsed_dynamics: bool = True
    dynamics_mh_sd: float = 0.3
    dispersion_mh_steps: int = 3
    split_merge_every: int = 0
    candidate_latent: str = "sample"
    split_merge_moves: int = 1
    frame_moves: int = 0
    frame_move_sd: float = 0.2

    @classmethod
    def from_dict(cls, params: dict, where: str = "bicluster.sampler") -> SamplerSettings:
        """Build from a config mapping; unknown keys or bad values raise ValueError naming them."""
        names = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(f"config {where}: unknown key(s) {unknown}; known: {sorted(names)}")
        out = cls(**{k: params[k] for k in params})
        out.check(where)
        return out

    def check(self, where: str = "bicluster.sampler") -> None:
        """Raise ValueError naming the key of the first invalid setting."""
        def bad(key, why):
            raise ValueError(f"config {where}.{key}: {why} (got {getattr(self, key)!r})")

        if self.n_iter < 1:
            bad("n_iter", "must be >= 1")
        if not 0 <= self.burn_in < self.n_iter:
            bad("burn_in", "must be in [0, n_iter)")
        if self.thin < 1:
            bad("thin", "must be >= 1")
        if self.n_factors < 1:
            bad("n_factors", "must be >= 1")
        if self.likelihood not in ("nb", "poisson"):
            bad("likelihood", "must be 'nb' or 'poisson'")
        if self.candidate_latent not in ("sample", "mean"):
            bad("candidate_latent", "must be 'sample' or 'mean'")
        if self.n_states_max < 1:
            bad("n_states_max", "must be >= 1")
        if not 0 < self.mfm_geometric_p < 1:
            bad("mfm_geometric_p", "must be in (0, 1)")
        for key in ("poisson_r", "dynamics_mh_sd", "frame_move_sd", "mfm_gamma", "hdp_alpha",
                    "hdp_gamma", "delta_prior_sd", "loading_prior_sd", "dispersion_a0",
                    "dispersion_rate", "mniw_k0", "mniw_s0", "new_cluster_q", "aux_ar_var"):
            if not getattr(self, key) > 0:
                bad(key, "must be > 0")
        if self.hdp_kappa < 0:
            bad("hdp_kappa", "must be >= 0")
        if self.init_clusters < 1:
            bad("init_clusters", "must be >= 1")
        if self.state_warmup < 0:
            bad("state_warmup", "must be >= 0")
        if not 1 <= self.init_states <= self.n_states_max:
            bad("init_states", "must be in [1, n_states_max]")
        if self.init_window < 1:
            bad("init_window", "must be >= 1")
        if self.dispersion_mh_steps < 0:
            bad("dispersion_mh_steps", "must be >= 0")
        if self.frame_moves < 0:
            bad("frame_moves", "must be >= 0")
        for key in ("split_merge_every", "split_merge_moves"):
            if getattr(self, key) < 0:
                bad(key, "must be >= 0")

    def as_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------------------
# small helpers


def _pg(rng, h, z):
    """Polya-Gamma PG(h, z) draws (``polyagamma`` package), same shape as ``z``."""
    from polyagamma import random_polyagamma

    return random_polyagamma(h=h, z=z, random_state=rng)


def _sym(a):
    return 0.5 * (a + np.swapaxes(a, -1, -2))


def _f(a):
    """C-contiguous float64 view/copy (the compiled kernels' input type)."""
    return np.ascontiguousarray(a, dtype=np.float64)


def _i(a):
    return np.ascontiguousarray(a, dtype=np.int64)


def _chol(a):
    """Cholesky factor with a growing jitter for nearly singular covariances."""
    a = _sym(a)
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        pass
    jitter = 0.0
    scale = max(float(np.mean(np.diag(a))), 1e-12)
    for _ in range(8):
        try:
            return np.linalg.cholesky(a + jitter * np.eye(a.shape[0]))
        except np.linalg.LinAlgError:
            jitter = scale * 1e-10 if jitter == 0 else jitter * 100
    raise np.linalg.LinAlgError("covariance is not positive definite")


def _inv_pd(a):
    """Inverse of a symmetric positive-definite matrix (symmetrized)."""
    return _sym(np.linalg.inv(a))


def _invwishart(rng, nu, scale):
    """Draw from the inverse-Wishart IW(nu, scale) (Bartlett decomposition)."""
    d = scale.shape[0]
    # W ~ Wishart(nu, scale^-1) ; Q = W^-1
    c = _chol(_inv_pd(scale))
    a = np.zeros((d, d))
    a[np.diag_indices(d)] = np.sqrt(rng.chisquare(nu - np.arange(d)))
    a[np.tril_indices(d, -1)] = rng.standard_normal(d * (d - 1) // 2)
    ca = c @ a
    return _inv_pd(ca @ ca.T)


def crt(rng, y, r):
    """Chinese-restaurant-table counts ``L ~ CRT(y, r)`` elementwise (flattened inputs).

    ``L = sum_{j=0}^{y-1} Bernoulli(r / (r + j))``; vectorized over all customers.
    """
    y, r = np.broadcast_arrays(np.asarray(y, dtype=np.int64), np.asarray(r, dtype=float))
    y, r = y.ravel(), r.ravel()
    total = int(y.sum())
    if total == 0:
        return np.zeros(y.shape, dtype=np.int64)
    owner = np.repeat(np.arange(y.size), y)
    starts = np.cumsum(y) - y
    j = np.arange(total) - np.repeat(starts, y)
    rr = r[owner]
    hit = rng.random(total) < rr / (rr + j)
    return np.bincount(owner, weights=hit, minlength=y.size).astype(np.int64)


def nb_loglik(y, psi, r):
    """Negative-binomial log-likelihood of counts ``y`` with log-mean ``psi``, dispersion ``r``.

    ``r`` broadcasts against ``y`` (shape (n_neurons, 1) for per-neuron dispersions).
    """
    log_r_plus_lam = np.logaddexp(np.log(r), psi)
    return (gammaln(y + r) - gammaln(r) - gammaln(y + 1) + r * (np.log(r) - log_r_plus_lam)
            + y * (psi - log_r_plus_lam))


def log_v_mfm(n: int, t_max: int, gamma: float, p_geom: float) -> np.ndarray:
    """``log V_n(t)`` of the MFM (Miller & Harrison 2018) for t = 0..t_max + 1.

    ``V_n(t) = sum_{k >= t} k! / (k - t)! * Gamma(gamma k) / Gamma(gamma k + n) * p_K(k)``
    with ``p_K(k) = p (1 - p)^(k - 1)``; the series is summed far past its 1e-12 tail.
    """
    k = np.arange(1, 5000 + n + t_max, dtype=float)
    log_pk = np.log(p_geom) + (k - 1) * np.log1p(-p_geom)
    out = np.full(t_max + 2, -np.inf)
    for t in range(1, t_max + 2):
        kk = k[k >= t]
        terms = (gammaln(kk + 1) - gammaln(kk - t + 1) + gammaln(gamma * kk)
                 - gammaln(gamma * kk + n) + log_pk[k >= t])
        out[t] = logsumexp(terms)
    out[0] = 0.0
    return out


# ----------------------------------------------------------------------------------------
# latent block: Kalman forward filtering, backward sampling


def ffbs_latent(rng, kappa, omega, loading, A, b, Q, states, smooth=False):
    """Sample ``x_{1:T}`` given Gaussian pseudo-observations and switching dynamics.

    Parameters
    ----------
    kappa, omega : ndarray, shape (n_neurons, n_time)
        Pseudo-observation ``kappa / omega ~ N(loading @ x_t, 1 / omega)`` per neuron.
    loading : ndarray, shape (n_neurons, d)
    A : ndarray, shape (n_states, d, d); b : (n_states, d); Q : (n_states, d, d)
    states : ndarray of int, shape (n_time,)
        ``states[t]`` governs the transition ``x_{t-1} -> x_t`` (``states[0]`` unused).
    smooth : bool
        Also return the Rauch-Tung-Striebel smoothed marginals.

    Returns
    -------
    x : ndarray, shape (n_time, d)
    mean, cov : ndarray, shapes (n_time, d) and (n_time, d, d)
        Only with ``smooth=True``: posterior marginal means and covariances of ``x_t``.
    """
    d = loading.shape[1]
    n_time = kappa.shape[1]
    j_obs = (omega.T[:, :, None] * loading[None]).transpose(0, 2, 1) @ loading   # (T, d, d)
    h_obs = kappa.T @ loading
    noise = rng.standard_normal((n_time, d))
    x, m_s, p_s = _K.ffbs(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states), noise,
                          bool(smooth))
    if smooth:
        return x, m_s, p_s
    return x


def batched_smoother(j_obs, h_obs, A, b, Q, states):
    """Kalman/RTS smoothed marginals for a batch of independent small state-space models.

    Parameters
    ----------
    j_obs : ndarray, shape (B, T, q, q)
        Observation precision contributions per time (``sum_i omega_it a_i a_i^T``).
    h_obs : ndarray, shape (B, T, q)
        Observation information (``sum_i kappa_it a_i``).
    A : ndarray, shape (B, L, q, q); b : (B, L, q); Q : (B, L, q, q)
        Per-model switching dynamics; ``states`` (T,) as in :func:`ffbs_latent`.

    Returns
    -------
    mean : ndarray, shape (B, T, q); cov : ndarray, shape (B, T, q, q)
    """
    return _K.batched_smoother(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states))


# ----------------------------------------------------------------------------------------
# state block: sticky HDP-HMM (weak limit) with affine-AR emissions and MNIW dynamics


def transition_loglik(x, A, b, Q):
    """``log N(x_t; A_s x_{t-1} + b_s, Q_s)`` for t = 1..T-1, shape (n_time - 1, n_states)."""
    x0, x1 = x[:-1], x[1:]
    n_states, d = b.shape
    out = np.empty((x0.shape[0], n_states))
    for s in range(n_states):
        c = _chol(Q[s])
        q_inv = _inv_pd(Q[s])
        res = x1 - x0 @ A[s].T - b[s]
        out[:, s] = (-0.5 * ((res @ q_inv) * res).sum(1) - np.log(np.diag(c)).sum()
                     - 0.5 * d * LOG2PI)
    return out


def ffbs_states(rng, loglik, trans):
    """Sample a state path given per-step log-likelihoods (T', L) and a transition matrix.

    The initial distribution is uniform. Returns int array of length T'.
    """
    n, n_states = loglik.shape
    alpha = np.empty((n, n_states))
    lik = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    a = lik[0] / n_states
    alpha[0] = a / a.sum()
    for t in range(1, n):
        a = (alpha[t - 1] @ trans) * lik[t]
        alpha[t] = a / a.sum()
    u = rng.random(n)
    path = np.empty(n, dtype=np.int64)
    cum = np.cumsum(alpha[-1])
    path[-1] = min(np.searchsorted(cum, u[-1] * cum[-1]), n_states - 1)
    for t in range(n - 2, -1, -1):
        w = alpha[t] * trans[:, path[t + 1]]
        cum = np.cumsum(w)
        path[t] = min(np.searchsorted(cum, u[t] * cum[-1]), n_states - 1)
    return path


def backward_information(j_obs, h_obs, A, b, Q, states):
    """Backward information messages ``p(sites_{t+1:T} | x_t, states_{t+1:T})``.

    Returns ``(lam, theta)`` of shapes (T, d, d) and (T, d) with
    ``p(sites_{t+1:} | x_t) ∝ exp(-x_t' lam_t x_t / 2 + theta_t' x_t)``; the
    normalizing constants (common to every value of ``states[t]``) are dropped.
    """
    return _K.backward_information(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states))


def kalman_loglik(j_obs, h_obs, A, b, Q, states):
    """``log ∫ p(x_{1:T} | states, A, b, Q) prod_t exp(-x_t' J_t x_t / 2 + h_t' x_t) dx``.

    The latents' marginal likelihood of the Gaussian (Polya-Gamma) sites, by the forward
    Kalman filter (``x_1 ~ N(0, I)``); shapes as in :func:`sample_states_collapsed`.
    ``-inf`` when the filter breaks down numerically (e.g. explosive proposed dynamics).
    """
    try:
        with np.errstate(all="ignore"):
            out = _K.kalman_loglik(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states))
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
        return -np.inf
    return float(out) if np.isfinite(out) else -np.inf


def split_merge_move(rng, z, site_j, site_h, blocks, states, log_v, gamma, t_max):
    """One sequentially-allocated split-merge Metropolis-Hastings move of neuron labels.

    Dahl (2003) / Jain & Neal (2004), with every cluster's latent integrated out: the
    marginal likelihood of a set of neurons is the Kalman marginal of their Gaussian
    (Polya-Gamma) sites under the cluster's block of the switching dynamics
    (:func:`kalman_loglik`), and the partition prior is the MFM's,
    ``p(z) ∝ V_N(K) prod_k Gamma(gamma + n_k) / Gamma(gamma)``. Two distinct neurons
    ``i, j`` are drawn; if they share a cluster, its other members are allocated one at a
    time, in random order, to the part of ``i`` or of ``j`` with probability ∝
    ``(n_part + gamma) * predictive`` and the split is accepted with
    ``min(1, p(split) / (p(merged) q(split)))``; otherwise the merge of their clusters is
    accepted with ``min(1, p(merged) q(split) / p(split))``, where ``q(split)`` is the
    probability that the allocation reproduces the current split. Both parts are scored
    under the dynamics block of the cluster of ``i`` (the states are shared by all
    clusters, so a part split off a cluster inherits its dynamics), in both directions,
    so the two moves are each other's reverse; with equal blocks for all clusters the
    move leaves the exact posterior of the partition invariant (tested by enumeration).

    Parameters
    ----------
    z : ndarray of int, shape (N,)
        Labels ``0..K-1``.
    site_j, site_h : ndarray, shapes (N, T, q, q) and (N, T, q)
        Per-neuron Gaussian sites of its cluster's latent (q = p + 1).
    blocks : tuple of ndarray
        ``(A, b, Q)`` per cluster: (K, L, q, q), (K, L, q), (K, L, q, q).
    log_v : ndarray
        ``log V_N(t)`` (:func:`log_v_mfm`).

    Returns
    -------
    (kind, accepted, z_new, detail)
        ``kind`` is ``"split"`` or ``"merge"``. After an accepted split the part of ``j``
        gets the new label ``K``; after an accepted merge the cluster of ``j`` is folded
        into that of ``i`` and the labels above it shift down by one. ``detail`` is the
        cluster of ``i`` and (split) the boolean mask of the new cluster or (merge) the
        removed label.
    """
    n = z.size
    i, j = (int(v) for v in rng.choice(n, 2, replace=False))
    k_i, k_j = int(z[i]), int(z[j])
    n_clusters = int(z.max()) + 1
    split = k_i == k_j
    if split:
        others = np.flatnonzero((z == k_i) & (np.arange(n) != i) & (np.arange(n) != j))
    else:
        others = np.flatnonzero(((z == k_i) | (z == k_j)) & (np.arange(n) != i)
                                & (np.arange(n) != j))
    others = rng.permutation(others)
    if split and n_clusters >= t_max:
        return "split", False, z, (k_i, None)
    block = tuple(blk[k_i] for blk in blocks)

    def lik(jj, hh):                    # (2, T, q, q), (2, T, q) -> both parts' marginals
        return np.array([kalman_loglik(jj[c], hh[c], *block, states) for c in range(2)])

    jp = np.stack([site_j[i], site_j[j]])
    hp = np.stack([site_h[i], site_h[j]])
    cur = lik(jp, hp)
    size = np.array([1.0, 1.0])
    log_q = 0.0
    in_j = np.zeros(n, dtype=bool)
    in_j[j] = True
    for m in others:
        cand = lik(jp + site_j[m][None], hp + site_h[m][None])
        logw = np.log(size + gamma) + cand - cur
        prob_j = 1.0 / (1.0 + np.exp(np.clip(logw[0] - logw[1], -700, 700)))
        if split:
            to_j = rng.random() < prob_j
        else:
            to_j = bool(z[m] == k_j)
        log_q += np.log(prob_j if to_j else 1.0 - prob_j) if 0.0 < prob_j < 1.0 else (
            0.0 if (prob_j == 1.0) == to_j else -np.inf)
        c = int(to_j)
        jp[c] += site_j[m]
        hp[c] += site_h[m]
        cur[c] = cand[c]
        size[c] += 1
        in_j[m] = to_j
    members = np.flatnonzero(z == k_i) if split else np.flatnonzero((z == k_i) | (z == k_j))
    merged = kalman_loglik(site_j[members].sum(0), site_h[members].sum(0), *block, states)
    n_i, n_j = size
    k_split = n_clusters + 1 if split else n_clusters
    log_split_over_merged = (log_v[k_split] - log_v[k_split - 1] + gammaln(gamma + n_i)
                             + gammaln(gamma + n_j) - gammaln(gamma)
                             - gammaln(gamma + n_i + n_j) + cur.sum() - merged)
    if split:
        log_acc = log_split_over_merged - log_q
    else:
        log_acc = log_q - log_split_over_merged
    if not (np.log(rng.random()) < log_acc):
        return ("split" if split else "merge"), False, z, (k_i, None)
    z_new = z.copy()
    if split:
        z_new[in_j] = n_clusters
        return "split", True, z_new, (k_i, in_j)
    z_new[z == k_j] = k_i
    z_new[z_new > k_j] -= 1
    return "merge", True, z_new, (k_i, k_j)


def sample_states_collapsed(rng, j_obs, h_obs, A, b, Q, states, trans, active=None,
                            reverse=False):
    """One sweep of single-site Gibbs updates of the states with the latents integrated out.

    Gerlach, Carter & Kohn (2000) / Fox et al. (2011): given Gaussian sites of the stacked
    latent (``j_obs`` (T, d, d), ``h_obs`` (T, d): the Polya-Gamma pseudo-observations),
    ``p(states[t] | states[-t], sites) ∝ pi(s_{t-1}, s_t) pi(s_t, s_{t+1})
    ∫ N(x_t; A_s m + b_s, A_s P A_s' + Q_s) exp(-x_t' (J_t + lam_t) x_t / 2
    + (h_t + theta_t)' x_t) dx_t`` where ``N(m, P)`` is the forward filter under the
    already updated ``states[:t]`` and ``(lam, theta)`` the backward messages under the old
    ``states[t+1:]``. Avoids the slow mixing of alternating ``x | states`` and
    ``states | x`` (the sampled latents follow whichever dynamics they were drawn under).

    Parameters
    ----------
    states : ndarray of int, shape (T,)
        Current path (``states[t]`` governs ``x_{t-1} -> x_t``; ``states[0]`` mirrors
        ``states[1]``).
    trans : ndarray, shape (L, L)
        Transition matrix; the path's first transition has a uniform initial distribution.
    active : ndarray of int, optional
        Candidate states (default all L); others keep probability 0.
    reverse : bool
        Visit the bins from last to first (forward filter under the old path, backward
        messages under the updated one). A forward pass moves state boundaries later by
        many bins per sweep but earlier by one at most, and vice versa; alternating the
        direction between sweeps lets a boundary travel either way.

    Returns
    -------
    ndarray of int, shape (T,)
    """
    n_time = h_obs.shape[0]
    cand = np.arange(A.shape[0]) if active is None else np.asarray(active, dtype=np.int64)
    log_tr = np.log(np.maximum(trans, 1e-300))
    u = rng.random(n_time)
    return _K.collapsed_state_pass(_f(j_obs), _f(h_obs), _f(A), _f(b), _f(Q), _i(states),
                                   _f(log_tr), _i(cand), u, bool(reverse))




def mniw_log_prior(A, b, Q, k0, s0):
    """Log density (up to a constant) of ``(A, b, Q)`` under the MNIW prior of
    :func:`sample_dynamics`: ``Q ~ IW(d + 2, s0 I)``, ``[A, b] | Q ~ MN([I, 0], Q, (k0 I)^-1)``."""
    d = b.shape[0]
    nu0 = d + 2
    _, logdet = np.linalg.slogdet(Q)
    q_inv = _inv_pd(Q)
    dev = np.hstack([A - np.eye(d), b[:, None]])
    return float(-0.5 * k0 * np.trace(q_inv @ dev @ dev.T) - 0.5 * (d + 1) * logdet
                 - 0.5 * (nu0 + d + 1) * logdet - 0.5 * s0 * np.trace(q_inv))


def sample_dynamics_collapsed(rng, j_obs, h_obs, A, b, Q, states, k0, s0, scale_sd=0.3,
                              n_rounds=1):
    """Metropolis-Hastings scale moves of each used state's dynamics, latents integrated out.

    Target: ``p(A, b, Q | states, sites) ∝ MNIW(A_s, b_s, Q_s) * ∫ p(x | states, A, b, Q)
    prod_t site_t(x_t) dx`` (the Kalman marginal :func:`kalman_loglik`). For every state in
    use, two random-walk proposals on the log scale: ``A_s -> u A_s`` (Jacobian ``u^(d^2)``)
    and ``Q_s -> v Q_s`` (Jacobian ``v^(d (d + 1) / 2)``), ``log u, log v ~ N(0,
    scale_sd^2)``. The conjugate update given sampled latents cannot move a weakly observed
    state's persistence: latents drawn under persistent (or white-noise) dynamics look
    persistent (white), so ``A_s`` given them stays where it is; these moves decide between
    the two on the pseudo-observations themselves. Returns new ``(A, b, Q)`` and the number
    of accepted proposals.
    """
    A, b, Q = A.copy(), b.copy(), Q.copy()
    d = b.shape[1]
    cur = kalman_loglik(j_obs, h_obs, A, b, Q, states)
    used = np.unique(states[1:])
    n_acc = 0
    for _ in range(n_rounds):
        for s in used:
            for what in ("A", "Q"):
                eps = scale_sd * rng.standard_normal()
                u = np.exp(eps)
                A2, Q2 = A.copy(), Q.copy()
                if what == "A":
                    A2[s] = u * A[s]
                    log_jac = d * d * eps
                else:
                    Q2[s] = u * Q[s]
                    log_jac = 0.5 * d * (d + 1) * eps
                new = kalman_loglik(j_obs, h_obs, A2, b, Q2, states)
                log_ratio = (new + mniw_log_prior(A2[s], b[s], Q2[s], k0, s0) + log_jac
                             - cur - mniw_log_prior(A[s], b[s], Q[s], k0, s0))
                if np.log(rng.random()) < log_ratio:
                    A, Q, cur = A2, Q2, new
                    n_acc += 1
    return A, b, Q, n_acc


def change_frame(M, A, b, Q, shift=None):
    """Dynamics ``(A, b, Q)`` (S, d, d), (S, d), (S, d, d) in new latent coordinates
    ``x' = M x + shift``: ``(M A M^-1, M b + shift - A' shift, M Q M^T)``."""
    A_new = M[None] @ A @ np.linalg.inv(M)[None]
    b_new = (M @ b.T).T
    if shift is not None:
        b_new = b_new + shift[None] - np.einsum("sab,b->sa", A_new, shift)
    return A_new, b_new, _sym(M[None] @ Q @ M.T[None])


def frame_proposal(G, k, z, C, x, A, b, Q, states, k0, s0, sd_c):
    """Move cluster ``k``'s latent frame by ``G``; returns ``(log_ratio, C, x, A, b, Q)``.

    ``G`` is a (p + 1, p + 1) matrix with first column ``e_0``: ``x[k] -> G x[k]``, every
    member's loading ``[1, c_i] -> G^-T [1, c_i]`` (so every log rate is unchanged), and the
    dynamics of the used states (``states[1:]``) transformed along, ``A_s -> G A_s G^-1``,
    ``b_s -> G b_s``, ``Q_s -> G Q_s G^T`` (``G`` acting on cluster k's block). Then every
    transition density gains the factor ``|G|^-1``, which the Jacobian of the ``T`` latent
    vectors pays back but once, and ``log_ratio`` is the change of the log posterior plus the
    log Jacobian: the loading priors ``N(0, sd_c^2 I)`` of the members, the ``N(0, I)`` prior
    of ``x_1``, the MNIW priors of the used states, and ``log|G| (1 - n_k + n_used (d +
    2))`` (Jacobians ``|G|^T``, ``|G|^-n_k``, ``|G|^(d + 1)`` per ``Q_s``, ``|G|`` per
    ``b_s``; 1 for ``A_s``). A Metropolis-Hastings move with ``G`` drawn from a family
    closed under inversion with symmetric proposal density (scales ``diag(1, e^u)``, shears
    ``[[1, v], [0, I]]``) accepts with ``min(1, exp(log_ratio))``.
    """
    p1 = G.shape[0]
    d = A.shape[1]
    blk = slice(k * p1, (k + 1) * p1)
    members = np.flatnonzero(z == k)
    used = np.unique(states[1:])
    g_big = np.eye(d)
    g_big[blk, blk] = G
    a = np.concatenate([np.ones((members.size, 1)), C[members]], axis=1)
    c_new = (a @ np.linalg.inv(G))[:, 1:]               # rows (G^-T a_i)^T, first entry 1
    x1, x1_new = x[k, :, 0], G @ x[k, :, 0]
    log_ratio = (-0.5 * ((c_new ** 2).sum() - (C[members] ** 2).sum()) / sd_c ** 2
                 - 0.5 * (x1_new @ x1_new - x1 @ x1))
    A2, b2, Q2 = A.copy(), b.copy(), Q.copy()
    A2[used], b2[used], Q2[used] = change_frame(g_big, A[used], b[used], Q[used])
    for s in used:
        log_ratio += (mniw_log_prior(A2[s], b2[s], Q2[s], k0, s0)
                      - mniw_log_prior(A[s], b[s], Q[s], k0, s0))
    log_ratio += np.linalg.slogdet(G)[1] * (1 - members.size + used.size * (d + 2))
    C2, x2 = C.copy(), x.copy()
    C2[members] = c_new
    x2[k] = G @ x[k]
    return float(log_ratio), C2, x2, A2, b2, Q2


def init_state_sequence(x, n_states, window, rng):
    """Initial state path: k-means on local latent features (as hmmlearn initialises HMMs).

    Features per bin, from moving averages over ``window`` bins: the log latent energy
    ``log ||x_t||^2`` and the log relative step energy ``log(||x_t - x_{t-1}||^2 /
    ||x_t||^2)`` (low for persistent dynamics, about log 2 for white noise),
    standardized. Returns an int array (n_time,) with labels in ``[0, n_states)``.
    """
    from sklearn.cluster import KMeans

    if n_states == 1:
        return np.zeros(x.shape[0], dtype=np.int64)
    energy = (x * x).sum(1)
    step = np.concatenate([[0.0], (np.diff(x, axis=0) ** 2).sum(1)])
    step[0] = step[1]
    kernel = np.ones(window) / window
    log_e = np.log(np.convolve(energy, kernel, mode="same") + 1e-12)
    log_s = np.log(np.convolve(step, kernel, mode="same") + 1e-12)
    feats = np.stack([log_e, log_s - log_e], axis=1)
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-12)
    seed = int(rng.integers(2**31 - 1))
    km = KMeans(n_clusters=n_states, n_init=10, random_state=seed).fit(feats)
    return km.labels_.astype(np.int64)


def init_neuron_labels(y, n_clusters, window):
    """Initial neuron labels: average-linkage clustering of correlation distances.

    Counts are smoothed with a Gaussian kernel (sd ``window`` bins), log1p-transformed
    and correlated across neurons; the tree is cut into ``n_clusters`` groups (over-split
    on purpose: the sampler merges and splits from there).
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.ndimage import gaussian_filter1d
    from scipy.spatial.distance import squareform

    if n_clusters <= 1:
        return np.zeros(y.shape[0], dtype=np.int64)
    sm = np.log1p(gaussian_filter1d(y.astype(float), window, axis=1))
    sm = sm - sm.mean(1, keepdims=True)
    norm = np.linalg.norm(sm, axis=1, keepdims=True)
    corr = (sm / np.maximum(norm, 1e-12)) @ (sm / np.maximum(norm, 1e-12)).T
    dist = np.clip(1.0 - corr, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    return fcluster(tree, t=n_clusters, criterion="maxclust").astype(np.int64) - 1


def sample_dynamics(rng, x, states, n_states, k0, s0):
    """Conjugate MNIW draw of ``(A_s, b_s, Q_s)`` for every state (prior where unused).

    Prior: ``Q ~ IW(d + 2, s0 I)``, ``[A, b] | Q ~ MN([I, 0], Q, (k0 I)^-1)``.
    """
    d = x.shape[1]
    nu0 = d + 2
    m0 = np.hstack([np.eye(d), np.zeros((d, 1))])
    kk0 = k0 * np.eye(d + 1)
    s0m = s0 * np.eye(d)
    xin = np.hstack([x[:-1], np.ones((x.shape[0] - 1, 1))])
    yout = x[1:]
    lab = states[1:]
    A = np.empty((n_states, d, d))
    b = np.empty((n_states, d))
    Q = np.empty((n_states, d, d))
    for s in range(n_states):
        sel = lab == s
        xs, ys = xin[sel], yout[sel]
        kn = kk0 + xs.T @ xs
        kn_inv = _inv_pd(kn)
        mn = (m0 @ kk0 + ys.T @ xs) @ kn_inv
        sn = s0m + ys.T @ ys + m0 @ kk0 @ m0.T - mn @ kn @ mn.T
        q = _invwishart(rng, nu0 + int(sel.sum()), _sym(sn))
        w = mn + _chol(q) @ rng.standard_normal((d, d + 1)) @ _chol(kn_inv).T
        A[s], b[s], Q[s] = w[:, :d], w[:, d], q
    return A, b, Q


def sample_transitions(rng, path, beta, n_states, alpha, gamma, kappa):
    """Sticky HDP-HMM weak-limit update (Fox et al. 2011): returns ``(beta, pi)``.

    Auxiliary table counts ``m_jk ~ CRT(n_jk, alpha beta_k + kappa [j = k])``, override
    variables ``w_j ~ Binomial(m_jj, rho / (rho + beta_j (1 - rho)))``, ``rho = kappa /
    (alpha + kappa)``; ``beta ~ Dir(gamma / L + mbar_.k)``, ``pi_j ~ Dir(alpha beta + kappa
    e_j + n_j)``.
    """
    n = np.zeros((n_states, n_states))
    np.add.at(n, (path[:-1], path[1:]), 1)
    conc = alpha * beta[None, :] + kappa * np.eye(n_states)
    m = crt(rng, n.astype(np.int64), conc).reshape(n_states, n_states).astype(float)
    rho = kappa / (alpha + kappa)
    diag = np.diag(m).astype(np.int64)
    w = rng.binomial(diag, rho / (rho + beta * (1 - rho)))
    mbar = m.copy()
    mbar[np.diag_indices(n_states)] -= w
    beta = rng.dirichlet(gamma / n_states + mbar.sum(0))
    beta = np.maximum(beta, 1e-300)
    pi = np.vstack([rng.dirichlet(np.maximum(alpha * beta + kappa * np.eye(n_states)[j] + n[j],
                                             1e-300)) for j in range(n_states)])
    return beta, pi


# ----------------------------------------------------------------------------------------
# per-neuron blocks


def sample_delta_loading(rng, y, r, z, x, delta, C, sd_delta, sd_c):
    """PG-augmented Bayesian regression of ``(delta_i, c_i)`` for all neurons at once.

    ``x`` has shape (K, p + 1, T) (row 0 = baseline mu). Returns new ``(delta, C)``.
    """
    n_neur, n_time = y.shape
    p = C.shape[1]
    design = np.concatenate([np.ones((n_neur, 1, n_time)), x[z, 1:]], axis=1)  # (N, p+1, T)
    offset = x[z, 0]                                                           # (N, T)
    beta = np.concatenate([delta[:, None], C], axis=1)
    psi = offset + np.einsum("nj,njt->nt", beta, design)
    omega = _pg(rng, y + r, psi - np.log(r))
    kap = (y - r) / 2 + omega * (np.log(r) - offset)
    prec = (design * omega[:, None, :]) @ design.transpose(0, 2, 1)
    prior_prec = np.diag([1 / sd_delta**2] + [1 / sd_c**2] * p)
    prec = prec + prior_prec
    rhs = np.einsum("nat,nt->na", design, kap)
    chol = np.linalg.cholesky(_sym(prec))
    mean = np.linalg.solve(prec, rhs[..., None])[..., 0]
    eps = rng.standard_normal((n_neur, p + 1))
    # x = mean + L^-T eps  has covariance (L L^T)^-1
    draw = mean + np.linalg.solve(np.swapaxes(chol, -1, -2), eps[..., None])[..., 0]
    return draw[:, 0].copy(), draw[:, 1:].copy()


def sample_dispersion(rng, y, psi, r, a0, rate):
    """CRT-augmented Gamma update of NB dispersions ``r_i`` (Zhou & Carin 2015)."""
    n_neur = y.shape[0]
    lt = crt(rng, y, r[:, None]).reshape(y.shape).sum(1)
    lam = np.exp(psi)
    scale_sum = np.log1p(lam / r[:, None]).sum(1)
    return rng.gamma(a0 + lt, 1.0 / (rate + scale_sum), size=n_neur)


def sample_dispersion_mh(rng, y, psi, r, a0, rate, step_sd=0.3, n_steps=3):
    """Random-walk Metropolis on ``log r_i`` (all neurons at once, independent accept steps).

    Target ``prod_t NB(y_it | psi_it, r_i) Gamma(r_i; a0, rate)``; complements the CRT
    update, which moves ``r_i`` slowly when it is large (near-Poisson counts).
    """
    def logp(rr):
        return (nb_loglik(y, psi, rr[:, None]).sum(1) + (a0 - 1) * np.log(rr) - rate * rr
                + np.log(rr))                                # + log r: Jacobian of log scale

    cur = logp(r)
    for _ in range(n_steps):
        prop = r * np.exp(step_sd * rng.standard_normal(r.size))
        new = logp(prop)
        acc = np.log(rng.random(r.size)) < new - cur
        r = np.where(acc, prop, r)
        cur = np.where(acc, new, cur)
    return r


def laplace_log_marginal(y, offset, X, r, sd_c, n_newton=30):
    """Laplace approximation of ``log int NB(y | offset + c.X, r) N(c; 0, sd_c^2 I) dc``.

    Parameters
    ----------
    y : ndarray, shape (T,)
    offset : ndarray, shape (M, T)
        One row per candidate cluster (``delta_i + mu_k``).
    X : ndarray, shape (M, p, T)
        Candidate factors.
    r : float

    Returns
    -------
    logm : ndarray, shape (M,)
        Up to a constant common to all candidates.
    c_hat : ndarray, shape (M, p)
        Posterior modes.
    cov : ndarray, shape (M, p, p)
        Laplace covariances.
    """
    n_cand, p, _ = X.shape
    c = np.zeros((n_cand, p))
    eye = np.eye(p) / sd_c**2
    for _ in range(n_newton):
        psi = offset + np.einsum("mp,mpt->mt", c, X)
        lam = np.exp(np.minimum(psi, 30.0))
        grad_t = r * (y - lam) / (r + lam)
        w = (y + r) * r * lam / (r + lam) ** 2
        grad = np.einsum("mpt,mt->mp", X, grad_t) - c / sd_c**2
        hess = (X * w[:, None, :]) @ X.transpose(0, 2, 1) + eye
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        norm = np.linalg.norm(step, axis=1, keepdims=True)
        step = step * np.minimum(1.0, 3.0 / np.maximum(norm, 1e-300))
        c = c + step
        if norm.max() < 1e-6:
            break
    psi = offset + np.einsum("mp,mpt->mt", c, X)
    lam = np.exp(np.minimum(psi, 30.0))
    w = (y + r) * r * lam / (r + lam) ** 2
    hess = (X * w[:, None, :]) @ X.transpose(0, 2, 1) + eye
    loglik = (y * psi - (y + r) * np.logaddexp(np.log(r), psi)).sum(1)
    logprior = -0.5 * (c * c).sum(1) / sd_c**2
    _, logdet = np.linalg.slogdet(hess)
    logm = loglik + logprior - 0.5 * logdet
    logm = np.where(np.isfinite(logm), logm, -np.inf)
    return logm, c, np.linalg.inv(hess)


def aux_latent(rng, n_rows, n_time, coef, var, spline):
    """A fresh auxiliary cluster latent (rows, T): AR(1) path or random cubic spline, centred."""
    if spline:
        out = np.empty((n_rows, n_time))
        grid = np.arange(n_time)
        for j in range(n_rows):
            for _ in range(20):
                n_knots = int(rng.integers(11, 36))
                knots = np.linspace(0, n_time - 1, n_knots)
                row = CubicSpline(knots, rng.uniform(-0.2, 0.2, n_knots))(grid)
                row -= row.mean()
                if (np.abs(row) > 2).sum() <= 1:
                    break
            out[j] = row
        return out
    noise = rng.standard_normal((n_rows, 2 * n_time)) * np.sqrt(var)
    path = lfilter([1.0], [1.0, -coef], noise, axis=1)[:, n_time:]
    return path - path.mean(axis=1, keepdims=True)


# ----------------------------------------------------------------------------------------
# the chain


class _Chain:
    """Mutable state of one chain; latents ``x`` have shape (K, p + 1, T)."""

    def __init__(self, y, settings: SamplerSettings, rng, init_labels=None):
        self.y = y
        self.s = settings
        self.rng = rng
        n_neur, n_time = y.shape
        self.n_neur, self.n_time = n_neur, n_time
        self.p1 = settings.n_factors + 1
        self.t_max = settings.max_clusters or max(1, n_neur // 2)
        self.L = settings.n_states_max
        self.log_v = log_v_mfm(n_neur, self.t_max, settings.mfm_gamma, settings.mfm_geometric_p)
        k0 = min(settings.init_clusters, self.t_max, n_neur)
        if init_labels is None:
            init_labels = init_neuron_labels(y, k0, settings.init_window)
        self.z = _relabel_first_seen(np.asarray(init_labels))
        k0 = int(self.z.max()) + 1
        self.delta = np.log(y.mean(1) + 0.1)
        self.C = rng.standard_normal((n_neur, settings.n_factors)) * settings.loading_prior_sd
        self.r = (np.full(n_neur, settings.poisson_r) if settings.likelihood == "poisson"
                  else np.full(n_neur, 10.0))
        self.x = np.zeros((k0, self.p1, n_time))
        self.states = np.zeros(n_time, dtype=np.int64)
        self.beta = np.full(self.L, 1.0 / self.L)
        self.pi = np.full((self.L, self.L), 1.0 / self.L)
        d = k0 * self.p1
        self.A = np.repeat(np.eye(d)[None], self.L, 0)
        self.b = np.zeros((self.L, d))
        self.Q = np.repeat(settings.new_cluster_q * np.eye(d)[None], self.L, 0)
        self.iteration = 0

    def start_at(self, delta, C, x, states, A, b, Q, r=None):
        """Start the chain at given values instead of the default initialisation.

        ``delta`` (N,), ``C`` (N, p), ``x`` (K, p + 1, T) for the current labels' K clusters,
        ``states`` (T,), and the dynamics of the first ``A.shape[0]`` states ``A`` (S, d, d),
        ``b`` (S, d), ``Q`` (S, d, d) with ``d = K (p + 1)``; the other weak-limit states
        keep their defaults; ``r`` (N,) optional. The transition matrix is drawn given
        ``states``, and the warm-up is skipped: the next sweep samples states. Used to check
        where the posterior lies, e.g. started at a simulation's truth.
        """
        d = self.K * self.p1
        shapes = {"delta": (np.shape(delta), (self.n_neur,)),
                  "C": (np.shape(C), (self.n_neur, self.p1 - 1)),
                  "x": (np.shape(x), (self.K, self.p1, self.n_time)),
                  "states": (np.shape(states), (self.n_time,)),
                  "A": (np.shape(A)[1:], (d, d)), "b": (np.shape(b)[1:], (d,)),
                  "Q": (np.shape(Q)[1:], (d, d))}
        for name, (got, want) in shapes.items():
            if tuple(got) != want:
                raise ValueError(f"start_at: {name} has shape {tuple(got)}, expected {want}")
        n_given = np.shape(A)[0]
        if np.max(states) >= n_given:
            raise ValueError(f"start_at: states use {int(np.max(states)) + 1} states but "
                             f"dynamics are given for {n_given}")
        self.delta, self.C, self.x = (np.array(delta, float), np.array(C, float),
                                      np.array(x, float))
        self.states = np.array(states, dtype=np.int64)
        self.A[:n_given], self.b[:n_given], self.Q[:n_given] = A, b, Q
        if r is not None:
            self.r = np.array(r, float)
        for _ in range(5):      # transitions from their conditional given the path (the
            # default uniform matrix would scatter the given path on the first state pass)
            self.beta, self.pi = sample_transitions(self.rng, self.states[1:], self.beta,
                                                    self.L, self.s.hdp_alpha,
                                                    self.s.hdp_gamma, self.s.hdp_kappa)
        self.iteration = self.s.state_warmup

    # -- helpers --------------------------------------------------------------------------
    @property
    def K(self):
        return self.x.shape[0]

    def loading(self):
        """(N, d) matrix with ``[1, c_i]`` in the block of neuron i's cluster."""
        out = np.zeros((self.n_neur, self.K * self.p1))
        cols = self.z[:, None] * self.p1 + np.arange(self.p1)[None, :]
        vals = np.concatenate([np.ones((self.n_neur, 1)), self.C], axis=1)
        np.put_along_axis(out, cols, vals, axis=1)
        return out

    def stacked(self):
        return self.x.transpose(2, 0, 1).reshape(self.n_time, -1)

    def log_rate(self):
        xz = self.x[self.z]                                   # (N, p1, T)
        return self.delta[:, None] + xz[:, 0] + np.einsum("np,npt->nt", self.C, xz[:, 1:])

    # -- blocks ---------------------------------------------------------------------------
    def step_latent(self):
        """PG augmentation and FFBS of the stacked latents ``x`` (all clusters jointly).

        The PG sites (``site_kappa``, ``site_omega``: pseudo-observations of
        ``[1, c_i] . x[z_i, :, t]`` with precision ``omega``) are kept for the
        leave-one-out label update.
        """
        r = self.r[:, None]
        psi = self.log_rate()
        omega = _pg(self.rng, self.y + r, psi - np.log(r))
        kap = (self.y - r) / 2 + omega * (np.log(r) - self.delta[:, None])
        loading = self.loading()
        if self.iteration > self.s.state_warmup and self.s.collapsed_states:
            # states | PG sites with the latents integrated out, then latents | states
            j_obs = (omega.T[:, :, None] * loading[None]).transpose(0, 2, 1) @ loading
            h_obs = kap.T @ loading
            self.states = sample_states_collapsed(self.rng, j_obs, h_obs, self.A, self.b,
                                                  self.Q, self.states, self.pi,
                                                  reverse=self.iteration % 2 == 0)
            if self.s.collapsed_dynamics:
                self.A, self.b, self.Q, _ = sample_dynamics_collapsed(
                    self.rng, j_obs, h_obs, self.A, self.b, self.Q, self.states,
                    self.s.mniw_k0, self.s.mniw_s0, self.s.dynamics_mh_sd)
        xs = ffbs_latent(self.rng, kap, omega, loading, self.A, self.b, self.Q,
                         self.states)
        self.x = xs.reshape(self.n_time, self.K, self.p1).transpose(1, 2, 0).copy()
        self.site_kappa, self.site_omega, self.site_delta = kap, omega, self.delta.copy()

    def neuron_sites(self):
        """The last PG sites per neuron as Gaussian factors of its cluster's latent.

        In current coordinates (``delta`` may have moved since the sites were drawn).
        Returns ``(a, kappa, omega, J, h)``: loadings ``[1, c_i]`` (N, p1), site
        ``kappa``/``omega`` (N, T), and ``J`` (N, T, p1, p1), ``h`` (N, T, p1).
        """
        a = np.concatenate([np.ones((self.n_neur, 1)), self.C], axis=1)
        kap = self.site_kappa - self.site_omega * (self.delta - self.site_delta)[:, None]
        om = self.site_omega
        site_j = om[:, :, None, None] * (a[:, :, None] * a[:, None, :])[:, None]
        site_h = kap[:, :, None] * a[:, None, :]
        return a, kap, om, site_j, site_h

    def cluster_marginals(self):
        """Smoothed latent marginals per cluster and leave-one-out marginals per neuron.

        Each cluster's block is smoothed under its own diagonal block of the dynamics
        (cross-cluster coupling ignored), given the PG sites of its members; the
        leave-one-out version of neuron i drops neuron i's site. Batched over
        clusters + neurons. Returns ``(mean, cov)`` of shapes (K + N, T, p1[, p1]).
        """
        p1 = self.p1
        _, _, _, site_j, site_h = self.neuron_sites()
        onehot = np.eye(self.K)[self.z]                                          # (N, K)
        j_cl = np.einsum("nk,ntab->ktab", onehot, site_j)
        h_cl = np.einsum("nk,nta->kta", onehot, site_h)
        j_all = np.concatenate([j_cl, j_cl[self.z] - site_j])
        h_all = np.concatenate([h_cl, h_cl[self.z] - site_h])
        owner = np.concatenate([np.arange(self.K), self.z])
        idx = owner[:, None] * p1 + np.arange(p1)[None]                          # (B, p1)
        A = self.A[:, idx[:, :, None], idx[:, None, :]].transpose(1, 0, 2, 3)
        Q = self.Q[:, idx[:, :, None], idx[:, None, :]].transpose(1, 0, 2, 3)
        b = self.b[:, idx].transpose(1, 0, 2)
        return batched_smoother(j_all, h_all, A, b, Q, self.states)

    def step_states(self):
        xs = self.stacked()
        if self.iteration > self.s.state_warmup and self.s.uncollapsed_states:
            ll = transition_loglik(xs, self.A, self.b, self.Q)
            path = ffbs_states(self.rng, ll, self.pi)
            self.states = np.concatenate([path[:1], path])
        else:   # warm-up: one shared dynamics while the latents and clusters settle
            if self.iteration == self.s.state_warmup:
                self.states = init_state_sequence(xs, self.s.init_states, self.s.init_window,
                                                  self.rng)
        path = self.states[1:]
        self.A, self.b, self.Q = sample_dynamics(self.rng, xs, self.states, self.L,
                                                 self.s.mniw_k0, self.s.mniw_s0)
        if self.iteration == self.s.state_warmup and self.s.init_states > 1:
            self._init_dynamics(xs)
        self.beta, self.pi = sample_transitions(self.rng, path, self.beta, self.L,
                                                self.s.hdp_alpha, self.s.hdp_gamma,
                                                self.s.hdp_kappa)

    def sites_stacked(self):
        """The last PG sites as Gaussian factors of the stacked latent, current frame.

        Returns ``(J, h)`` of shapes (T, d, d) and (T, d) (see :func:`kalman_loglik`).
        """
        loading = self.loading()
        kap = self.site_kappa - self.site_omega * (self.delta - self.site_delta)[:, None]
        om = self.site_omega
        return (om.T[:, :, None] * loading[None]).transpose(0, 2, 1) @ loading, kap.T @ loading

    def _init_dynamics(self, xs):
        """Start each initial state at its better candidate dynamics (burn-in heuristic).

        Latents drawn during the warm-up follow one shared, persistent dynamics, so the
        conjugate draw given them makes every state persistent. For each initial state,
        the conjugate draw competes with a white-noise candidate (``A = 0``, ``b`` and
        ``Q`` the latents' mean and diagonal variance within the state); the combination
        with the larger latent-marginal likelihood of the PG sites is kept.
        """
        j_obs, h_obs = self.sites_stacked()
        used = np.unique(self.states[1:])
        best = (kalman_loglik(j_obs, h_obs, self.A, self.b, self.Q, self.states),
                self.A, self.b, self.Q)
        for mask in range(1, 2 ** used.size):
            A, b, Q = self.A.copy(), self.b.copy(), self.Q.copy()
            for j, s in enumerate(used):
                if mask >> j & 1:
                    sel = xs[1:][self.states[1:] == s]
                    A[s] = 0.0
                    b[s] = sel.mean(0)
                    Q[s] = np.diag(sel.var(0) + 1e-6)
            ll = kalman_loglik(j_obs, h_obs, A, b, Q, self.states)
            if ll > best[0]:
                best = (ll, A, b, Q)
        _, self.A, self.b, self.Q = best

    def step_neuron_params(self):
        self.delta, self.C = sample_delta_loading(
            self.rng, self.y, self.r[:, None], self.z, self.x, self.delta, self.C,
            self.s.delta_prior_sd, self.s.loading_prior_sd)
        if self.s.likelihood == "nb":
            self.r = sample_dispersion(self.rng, self.y, self.log_rate(), self.r,
                                       self.s.dispersion_a0, self.s.dispersion_rate)
            if self.s.dispersion_mh_steps > 0:
                self.r = sample_dispersion_mh(self.rng, self.y, self.log_rate(),
                                              np.clip(self.r, 1e-3, 1e4), self.s.dispersion_a0,
                                              self.s.dispersion_rate,
                                              n_steps=self.s.dispersion_mh_steps)
            self.r = np.clip(self.r, 1e-3, 1e4)

    def apply_constraints(self):
        """Centre each cluster's latent rows (mean -> delta) and SVD-rotate its factors."""
        p1 = self.p1
        d = self.K * p1
        M = np.eye(d)
        shift = np.zeros(d)
        for k in range(self.K):
            members = self.z == k
            xbar = self.x[k].mean(axis=1)
            self.x[k] -= xbar[:, None]
            self.delta[members] += xbar[0] + self.C[members] @ xbar[1:]
            u, sv, vt = np.linalg.svd(self.x[k, 1:].T, full_matrices=False)
            rot = vt                     # new X = vt @ X ; c_new = vt @ c
            self.x[k, 1:] = rot @ self.x[k, 1:]
            self.C[members] = self.C[members] @ rot.T
            blk = slice(k * p1, (k + 1) * p1)
            mk = np.eye(p1)
            mk[1:, 1:] = rot
            M[blk, blk] = mk
            shift[blk] = -mk @ xbar
        self.A, self.b, self.Q = change_frame(M, self.A, self.b, self.Q, shift)

    def step_frame(self):
        """Metropolis-Hastings scale and shear moves of every cluster's latent frame
        (:func:`frame_proposal`), ``frame_moves`` rounds after the warm-up; returns the
        number accepted."""
        p1, sd, n_acc = self.p1, self.s.frame_move_sd, 0
        if self.iteration <= self.s.state_warmup:     # clusters still settling
            return 0
        for _ in range(self.s.frame_moves):
            for k in range(self.K):
                for kind in ("scale", "shear"):
                    G = np.eye(p1)
                    if kind == "scale":
                        G[1:, 1:] = np.diag(np.exp(sd * self.rng.standard_normal(p1 - 1)))
                    else:
                        G[0, 1:] = sd * self.rng.standard_normal(p1 - 1)
                    log_ratio, *new = frame_proposal(
                        G, k, self.z, self.C, self.x, self.A, self.b, self.Q, self.states,
                        self.s.mniw_k0, self.s.mniw_s0, self.s.loading_prior_sd)
                    if np.log(self.rng.random()) < log_ratio:
                        self.C, self.x, self.A, self.b, self.Q = new
                        n_acc += 1
        return n_acc

    def _add_cluster(self, latent):
        self.x = np.concatenate([self.x, latent[None]], axis=0)
        d_old = self.A.shape[1]
        d = d_old + self.p1
        A = np.repeat(np.eye(d)[None], self.L, 0)
        A[:, :d_old, :d_old] = self.A
        Q = np.repeat(self.s.new_cluster_q * np.eye(d)[None], self.L, 0)
        Q[:, :d_old, :d_old] = self.Q
        self.A, self.Q = A, Q
        self.b = np.concatenate([self.b, np.zeros((self.L, self.p1))], axis=1)

    def _remove_cluster(self, k):
        keep = np.ones(self.K * self.p1, dtype=bool)
        keep[k * self.p1:(k + 1) * self.p1] = False
        self.x = np.delete(self.x, k, axis=0)
        self.A = self.A[:, keep][:, :, keep]
        self.Q = self.Q[:, keep][:, :, keep]
        self.b = self.b[:, keep]
        self.z[self.z > k] -= 1

    def _site(self, i):
        """PG site of neuron i in current coordinates: loading a (p1,), kappa, omega (T,)."""
        a = np.concatenate([[1.0], self.C[i]])
        kap = self.site_kappa[i] - self.site_omega[i] * (self.delta[i] - self.site_delta[i])
        return a, kap, self.site_omega[i]

    @staticmethod
    def _update_marginal(mean, cov, a, kap, omega, sign):
        """Add (sign +1) or remove (-1) a Gaussian site from per-time marginals (T, p1)."""
        prec = np.linalg.inv(cov)
        info = (prec @ mean[..., None])[..., 0]
        prec = prec + sign * omega[:, None, None] * np.outer(a, a)[None]
        info = info + sign * kap[:, None] * a[None]
        # guard against loss of positive definiteness from stale sites
        evals, evecs = np.linalg.eigh(_sym(prec))
        evals = np.maximum(evals, 1e-6)
        cov_new = (evecs / evals[:, None, :]) @ np.swapaxes(evecs, -1, -2)
        return (cov_new @ info[..., None])[..., 0], cov_new

    def _candidate(self, mean, cov, cache=None, key=None):
        """A candidate cluster's latent (p1, T) for the Laplace marginal of a neuron.

        ``candidate_latent = "mean"``: the smoothed (or leave-one-out) posterior mean;
        ``"sample"``: a draw from its per-bin posterior marginals ``N(mean_t, cov_t)``.
        The square roots of the covariances are kept in ``cache[key]`` when given (a
        cluster's marginals serve every neuron until its membership changes).
        """
        if self.s.candidate_latent == "mean":
            return mean.T
        root = None if cache is None else cache.get(key)
        if root is None:
            # symmetric square root: leave-one-out covariances can be marginally indefinite
            evals, evecs = np.linalg.eigh(_sym(cov))
            root = evecs * np.sqrt(np.maximum(evals, 0.0))[..., None, :]
            if cache is not None:
                cache[key] = root
        return (mean + (root @ self.rng.standard_normal(mean.shape + (1,)))[..., 0]).T

    def step_assignments(self):
        """Neal's algorithm 8 (m = 1) with MFM weights and Laplace marginals.

        Candidate clusters are represented by their smoothed latent means; the neuron's own
        cluster by its leave-one-out (cavity) means, i.e. with the neuron's PG site removed,
        so that a cluster's latent does not win merely because it was fitted to the neuron.
        """
        s = self.s
        spline = s.spline_every > 0 and self.iteration % s.spline_every == 1
        g = s.mfm_gamma
        mean, cov_all = self.cluster_marginals()
        self.marg_mean, self.marg_cov = mean[:self.K], cov_all[:self.K]
        loo_mean, loo_cov = mean[self.K:], cov_all[self.K:]
        dirty = np.zeros(self.K, dtype=bool)   # membership changed since the smoother ran
        roots = {}                             # cluster -> square roots of its marginal covs
        for i in self.rng.permutation(self.n_neur):
            zi = self.z[i]
            a_i, kap_i, om_i = self._site(i)
            counts = np.bincount(self.z, minlength=self.K)
            counts[zi] -= 1
            singleton = counts[zi] == 0
            if not dirty[zi]:
                # membership unchanged since the smoother ran: exact leave-one-out marginals
                cav_mean, cav_cov = loo_mean[i], loo_cov[i]
            else:
                cav_mean, cav_cov = self._update_marginal(
                    self.marg_mean[zi], self.marg_cov[zi], a_i, kap_i, om_i, -1.0)
            existing = np.flatnonzero(counts > 0)
            n_exist = existing.size
            if singleton:
                aux = cav_mean.T.copy()
                aux_cov = cav_cov
            else:
                aux = aux_latent(self.rng, self.p1, self.n_time, s.aux_ar_coef, s.aux_ar_var,
                                 spline)
                aux_cov = np.repeat(s.new_cluster_q * np.eye(self.p1)[None], self.n_time, 0)
            can_open = n_exist < self.t_max
            cand = [self._candidate(cav_mean, cav_cov) if k == zi
                    else self._candidate(self.marg_mean[k], self.marg_cov[k], roots, k)
                    for k in existing]
            lat = np.stack(cand + ([aux] if can_open else []))          # (M, p1, T)
            offset = self.delta[i] + lat[:, 0]
            logm, c_hat, cov = laplace_log_marginal(self.y[i], offset, lat[:, 1:], self.r[i],
                                                    s.loading_prior_sd)
            logp = np.log(counts[existing] + g) + logm[:n_exist]
            if can_open:
                new = self.log_v[n_exist + 1] - self.log_v[n_exist] + np.log(g) + logm[-1]
                logp = np.append(logp, new)
            prob = np.exp(logp - logp.max())
            prob /= prob.sum()
            choice = int(self.rng.choice(prob.size, p=prob))
            opened = choice == n_exist
            target = zi if (opened and singleton) else (
                self.K if opened else int(existing[choice]))
            if target == zi:
                continue
            self.C[i] = c_hat[choice] + _chol(cov[choice]) @ self.rng.standard_normal(
                c_hat.shape[1])
            a_new = np.concatenate([[1.0], self.C[i]])
            self.marg_mean[zi], self.marg_cov[zi] = cav_mean, cav_cov
            dirty[zi] = True
            roots.clear()           # memberships (and, on open or removal, indices) change
            if opened:
                self._add_cluster(aux)
                mean, cov_t = self._update_marginal(aux.T, aux_cov, a_new, kap_i, om_i, 1.0)
                self.marg_mean = np.concatenate([self.marg_mean, mean[None]])
                self.marg_cov = np.concatenate([self.marg_cov, cov_t[None]])
                dirty = np.append(dirty, True)
            else:
                self.marg_mean[target], self.marg_cov[target] = self._update_marginal(
                    self.marg_mean[target], self.marg_cov[target], a_new, kap_i, om_i, 1.0)
                dirty[target] = True
            self.z[i] = target
            if singleton:
                self._remove_cluster(zi)
                self.marg_mean = np.delete(self.marg_mean, zi, axis=0)
                self.marg_cov = np.delete(self.marg_cov, zi, axis=0)
                dirty = np.delete(dirty, zi)

    def step_split_merge(self):
        """Split-merge proposals of the neuron labels (:func:`split_merge_move`).

        Uses the PG sites of this sweep in the current coordinates; an accepted split gives
        the new cluster a copy of its parent's dynamics block (no cross-coupling) and a
        latent drawn by FFBS from its members' sites under it; an accepted merge drops the
        removed cluster's block.
        """
        s = self.s
        if s.split_merge_every == 0 or self.iteration % s.split_merge_every or self.n_neur < 2:
            return
        p1 = self.p1
        a, kap, om, site_j, site_h = self.neuron_sites()
        for _ in range(s.split_merge_moves):
            idx = np.arange(self.K)[:, None] * p1 + np.arange(p1)[None]
            blocks = (self.A[:, idx[:, :, None], idx[:, None, :]].transpose(1, 0, 2, 3),
                      self.b[:, idx].transpose(1, 0, 2),
                      self.Q[:, idx[:, :, None], idx[:, None, :]].transpose(1, 0, 2, 3))
            kind, accepted, z_new, detail = split_merge_move(
                self.rng, self.z, site_j, site_h, blocks, self.states, self.log_v,
                s.mfm_gamma, self.t_max)
            if not accepted:
                continue
            if kind == "split":
                k_i, mask = detail
                parent = tuple(blk[k_i] for blk in blocks)
                xs = ffbs_latent(self.rng, kap[mask], om[mask], a[mask], *parent, self.states)
                self._add_cluster(xs.T.copy())
                new = slice((self.K - 1) * p1, self.K * p1)
                self.A[:, new, new], self.b[:, new], self.Q[:, new, new] = parent
                self.z = z_new
            else:
                k_i, k_j = detail
                self.z[self.z == k_j] = k_i
                self._remove_cluster(k_j)

    def sweep(self):
        self.iteration += 1
        self.step_neuron_params()
        self.step_latent()
        self.apply_constraints()
        self.step_frame()
        self.step_states()
        self.step_assignments()
        self.step_split_merge()

    def log_likelihood(self):
        r = self.r[:, None]
        return float(nb_loglik(self.y, self.log_rate(), r).sum())


def run_chain(counts, settings: SamplerSettings, random_state=None, progress=None,
              init_labels=None) -> dict:
    """Run one MCMC chain of the bi-clustering model.

    Parameters
    ----------
    counts : ndarray of int, shape (n_neurons, n_time)
        Spike counts per time bin.
    settings : SamplerSettings
    random_state : int, numpy Generator or SeedSequence, optional
    progress : callable, optional
        Called as ``progress(iteration, n_clusters, n_states, log_lik)`` every sweep.

    Returns
    -------
    dict
        ``trace_*`` arrays over all sweeps (``n_clusters``, ``n_states``, ``log_lik``) and
        kept draws after burn-in and thinning: ``z`` (draw, neuron), ``state`` (draw, time),
        ``delta``, ``dispersion``, ``loading_norm``, ``rate_sd`` (sd over time of the
        log rate; unlike ``loading_norm`` invariant to the latent/loading scale)
        (draw, neuron), ``n_clusters``, ``n_states``, ``log_lik``, ``top_state_fraction``
        (share of bins in the most occupied state) (draw,), ``latent`` (draw, slot, factor, time; NaN-padded
        to the largest number of clusters seen), and the posterior mean and sd of the
        log firing rate per bin ``log_rate_mean``, ``log_rate_sd`` (neuron, time).
    """
    y = _check_counts(counts)
    settings.check()
    rng = np.random.default_rng(random_state)
    ch = _Chain(y, settings, rng, init_labels)
    keep = [it for it in range(1, settings.n_iter + 1)
            if it > settings.burn_in and (it - settings.burn_in) % settings.thin == 0]
    n_keep = len(keep)
    n_neur, n_time = y.shape
    out = {
        "trace_n_clusters": np.zeros(settings.n_iter, dtype=np.int64),
        "trace_n_states": np.zeros(settings.n_iter, dtype=np.int64),
        "trace_log_lik": np.zeros(settings.n_iter),
        "z": np.zeros((n_keep, n_neur), dtype=np.int64),
        "state": np.zeros((n_keep, n_time), dtype=np.int64),
        "delta": np.zeros((n_keep, n_neur)),
        "dispersion": np.zeros((n_keep, n_neur)),
        "loading_norm": np.zeros((n_keep, n_neur)),
        "rate_sd": np.zeros((n_keep, n_neur)),
        "top_state_fraction": np.zeros(n_keep),
        "n_clusters": np.zeros(n_keep, dtype=np.int64),
        "n_states": np.zeros(n_keep, dtype=np.int64),
        "log_lik": np.zeros(n_keep),
    }
    latents = []
    rate_sum = np.zeros((n_neur, n_time))
    rate_sq = np.zeros((n_neur, n_time))
    j = 0
    keep_set = set(keep)
    for it in range(1, settings.n_iter + 1):
        ch.sweep()
        ll = ch.log_likelihood()
        n_states = int(np.unique(ch.states).size)
        out["trace_n_clusters"][it - 1] = ch.K
        out["trace_n_states"][it - 1] = n_states
        out["trace_log_lik"][it - 1] = ll
        if progress is not None:
            progress(it, ch.K, n_states, ll)
        if it in keep_set:
            out["z"][j] = _relabel_first_seen(ch.z)
            out["state"][j] = ch.states
            out["delta"][j] = ch.delta
            out["dispersion"][j] = ch.r
            out["loading_norm"][j] = np.linalg.norm(ch.C, axis=1)
            out["top_state_fraction"][j] = np.bincount(ch.states).max() / n_time
            out["n_clusters"][j] = ch.K
            out["n_states"][j] = n_states
            out["log_lik"][j] = ll
            order = _first_seen_order(ch.z)
            latents.append(ch.x[order].astype(np.float32))
            psi = ch.log_rate()
            out["rate_sd"][j] = psi.std(axis=1)
            rate_sum += psi
            rate_sq += psi * psi
            j += 1
    slots = max(lat.shape[0] for lat in latents)
    lat_arr = np.full((n_keep, slots, ch.p1, n_time), np.nan, dtype=np.float32)
    for j, lat in enumerate(latents):
        lat_arr[j, :lat.shape[0]] = lat
    out["latent"] = lat_arr
    out["log_rate_mean"] = rate_sum / n_keep
    out["log_rate_sd"] = np.sqrt(np.maximum(rate_sq / n_keep - out["log_rate_mean"] ** 2, 0))
    return out


def _first_seen_order(z):
    _, first = np.unique(z, return_index=True)
    return np.unique(z)[np.argsort(first)]


def _relabel_first_seen(z):
    order = _first_seen_order(z)
    lut = np.empty(order.max() + 1, dtype=np.int64)
    lut[order] = np.arange(order.size)
    return lut[z]


def _check_counts(counts) -> np.ndarray:
    y = np.asarray(counts)
    if y.ndim != 2:
        raise ValueError(f"counts must be 2-D (neuron, time), got shape {y.shape}")
    if y.shape[0] < 2 or y.shape[1] < 3:
        raise ValueError(f"counts need >= 2 neurons and >= 3 time bins, got shape {y.shape}")
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y != np.round(y)):
        raise ValueError("counts must be finite non-negative integers")
    return y.astype(float)
