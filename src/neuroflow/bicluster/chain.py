"""One chain's state and the steps of one sweep of the bi-clustering sampler.

A sweep (:meth:`Chain.sweep`): NB dispersions (:mod:`.neurons`); one Polya-Gamma draw,
then given it the neuron baselines and loadings, the states with the latents integrated out
and the dynamics moves, and the latents by FFBS (:meth:`Chain.step_latent`); the identifiability
constraints; optional frame moves; the state path, dynamics and transitions given the
latents (:mod:`.states`, :mod:`.dynamics`); neuron reassignment (:mod:`.assign`); optional
split-merge moves (:mod:`.splitmerge`).
"""

from __future__ import annotations

import numpy as np

from ._batched import nb_loglik_rows
from .assign import Assignments
from .dynamics import change_frame, frame_proposal, sample_dynamics, sample_dynamics_collapsed
from .latent import cluster_marginals, ffbs_latent, ffbs_sites, kalman_loglik, stacked_sites
from .neurons import init_neuron_labels, sample_delta_loading, sample_dispersion, sample_dispersion_mh
from .numerics import _pg, log_v_mfm
from .settings import SamplerSettings
from .splitmerge import split_merge_move
from .states import (
    ffbs_states,
    init_state_sequence,
    sample_boundary_shifts,
    sample_states_collapsed,
    sample_transitions,
    transition_loglik,
)


class Chain(Assignments):
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
        self.r = (
            np.full(n_neur, settings.poisson_r) if settings.likelihood == "poisson" else np.full(n_neur, 10.0)
        )
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
        shapes = {
            "delta": (np.shape(delta), (self.n_neur,)),
            "C": (np.shape(C), (self.n_neur, self.p1 - 1)),
            "x": (np.shape(x), (self.K, self.p1, self.n_time)),
            "states": (np.shape(states), (self.n_time,)),
            "A": (np.shape(A)[1:], (d, d)),
            "b": (np.shape(b)[1:], (d,)),
            "Q": (np.shape(Q)[1:], (d, d)),
        }
        for name, (got, want) in shapes.items():
            if tuple(got) != want:
                raise ValueError(f"start_at: {name} has shape {tuple(got)}, expected {want}")
        n_given = np.shape(A)[0]
        if np.max(states) >= n_given:
            raise ValueError(
                f"start_at: states use {int(np.max(states)) + 1} states but dynamics are given for {n_given}"
            )
        self.delta, self.C, self.x = (np.array(delta, float), np.array(C, float), np.array(x, float))
        self.states = np.array(states, dtype=np.int64)
        self.A[:n_given], self.b[:n_given], self.Q[:n_given] = A, b, Q
        if r is not None:
            self.r = np.array(r, float)
        for _ in range(5):  # transitions from their conditional given the path (the
            # default uniform matrix would scatter the given path on the first state pass)
            self.beta, self.pi = sample_transitions(
                self.rng,
                self.states[1:],
                self.beta,
                self.L,
                self.s.hdp_alpha,
                self.s.hdp_gamma,
                self.s.hdp_kappa,
            )
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
        xz = self.x[self.z]  # (N, p1, T)
        return self.delta[:, None] + xz[:, 0] + np.einsum("np,npt->nt", self.C, xz[:, 1:])

    # -- blocks ---------------------------------------------------------------------------
    def step_latent(self):
        """PG augmentation, then ``(delta_i, c_i)``, the states with the latents integrated
        out and the dynamics moves, and FFBS of the stacked latents ``x`` (all clusters
        jointly), all given the same Polya-Gamma draw.

        One draw ``omega | delta, C, x, r`` per sweep serves every block that conditions on
        it (each an exact conditional of the augmented posterior); the dispersions, whose
        update integrates ``omega`` out, move before it (:meth:`step_dispersion`). The PG
        sites (``site_kappa``, ``site_omega``: pseudo-observations of ``[1, c_i] . x[z_i,
        :, t]`` with precision ``omega``) are kept for the leave-one-out label update.
        """
        r = self.r[:, None]
        psi = self.log_rate()
        omega = _pg(self.rng, self.y + r, psi - np.log(r))
        self.delta, self.C = sample_delta_loading(
            self.rng,
            self.y,
            r,
            self.z,
            self.x,
            self.delta,
            self.C,
            self.s.delta_prior_sd,
            self.s.loading_prior_sd,
            omega=omega,
        )
        kap = (self.y - r) / 2 + omega * (np.log(r) - self.delta[:, None])
        a = np.concatenate([np.ones((self.n_neur, 1)), self.C], axis=1)
        j_obs, h_obs = stacked_sites(kap, omega, a, self.z, self.K)
        if self.iteration > self.s.state_warmup and self.s.collapsed_states:
            # states | PG sites with the latents integrated out, then latents | states;
            # each collapsed move sees the sites and the dynamics as they stand here
            model = (j_obs, h_obs, self.A, self.b, self.Q)
            self.states = sample_states_collapsed(
                self.rng, *model, self.states, self.pi, reverse=self.iteration % 2 == 0
            )
            if self.s.boundary_moves:
                self.states, _ = sample_boundary_shifts(
                    self.rng, *model, self.states, self.pi, self.s.boundary_moves, self.s.boundary_max_shift
                )
            if self.s.collapsed_dynamics:
                self.A, self.b, self.Q, _ = sample_dynamics_collapsed(
                    self.rng,
                    *model,
                    self.states,
                    self.s.mniw_k0,
                    self.s.mniw_s0,
                    self.s.dynamics_mh_sd,
                )
        xs = ffbs_sites(self.rng, j_obs, h_obs, self.A, self.b, self.Q, self.states)
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
        clusters + neurons (:func:`.latent.cluster_marginals`). Returns ``(mean, cov)`` of
        shapes (K + N, T, p1[, p1]).
        """
        a = np.concatenate([np.ones((self.n_neur, 1)), self.C], axis=1)
        kap = self.site_kappa - self.site_omega * (self.delta - self.site_delta)[:, None]
        return cluster_marginals(kap, self.site_omega, a, self.z, self.K, self.A, self.b, self.Q, self.states)

    def step_states(self):
        xs = self.stacked()
        if self.iteration > self.s.state_warmup and self.s.uncollapsed_states:
            ll = transition_loglik(xs, self.A, self.b, self.Q)
            path = ffbs_states(self.rng, ll, self.pi)
            self.states = np.concatenate([path[:1], path])
        else:  # warm-up: one shared dynamics while the latents and clusters settle
            if self.iteration == self.s.state_warmup:
                self.states = init_state_sequence(xs, self.s.init_states, self.s.init_window, self.rng)
        path = self.states[1:]
        self.A, self.b, self.Q = sample_dynamics(
            self.rng, xs, self.states, self.L, self.s.mniw_k0, self.s.mniw_s0
        )
        if self.iteration == self.s.state_warmup and self.s.init_states > 1:
            self._init_dynamics(xs)
        self.beta, self.pi = sample_transitions(
            self.rng, path, self.beta, self.L, self.s.hdp_alpha, self.s.hdp_gamma, self.s.hdp_kappa
        )

    def sites_stacked(self):
        """The last PG sites as Gaussian factors of the stacked latent, current frame.

        Returns ``(J, h)`` of shapes (T, d, d) and (T, d) (see :func:`kalman_loglik`).
        """
        a = np.concatenate([np.ones((self.n_neur, 1)), self.C], axis=1)
        kap = self.site_kappa - self.site_omega * (self.delta - self.site_delta)[:, None]
        return stacked_sites(kap, self.site_omega, a, self.z, self.K)

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
        best = (kalman_loglik(j_obs, h_obs, self.A, self.b, self.Q, self.states), self.A, self.b, self.Q)
        for mask in range(1, 2**used.size):
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

    def step_dispersion(self):
        """NB dispersions ``r_i | y, log rates`` (CRT update, then Metropolis steps), with
        the Polya-Gamma variables integrated out: they are drawn afresh right after."""
        if self.s.likelihood == "nb":
            self.r = sample_dispersion(
                self.rng, self.y, self.log_rate(), self.r, self.s.dispersion_a0, self.s.dispersion_rate
            )
            if self.s.dispersion_mh_steps > 0:
                self.r = sample_dispersion_mh(
                    self.rng,
                    self.y,
                    self.log_rate(),
                    np.clip(self.r, 1e-3, 1e4),
                    self.s.dispersion_a0,
                    self.s.dispersion_rate,
                    n_steps=self.s.dispersion_mh_steps,
                )
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
            rot = vt  # new X = vt @ X ; c_new = vt @ c
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
        if self.iteration <= self.s.state_warmup:  # clusters still settling
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
                        G,
                        k,
                        self.z,
                        self.C,
                        self.x,
                        self.A,
                        self.b,
                        self.Q,
                        self.states,
                        self.s.mniw_k0,
                        self.s.mniw_s0,
                        self.s.loading_prior_sd,
                    )
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
        keep[k * self.p1 : (k + 1) * self.p1] = False
        self.x = np.delete(self.x, k, axis=0)
        self.A = self.A[:, keep][:, :, keep]
        self.Q = self.Q[:, keep][:, :, keep]
        self.b = self.b[:, keep]
        self.z[self.z > k] -= 1

    def step_split_merge(self):
        """Split-merge proposals of the neuron labels (:func:`split_merge_move`).

        Uses the PG sites of this sweep in the current coordinates; an accepted split gives
        the new cluster a copy of its parent's dynamics block (no cross-coupling); an
        accepted merge drops the removed cluster's block. The move integrates the latents
        of the clusters involved out, so after it both parts' (or the merged cluster's)
        latents are drawn afresh by FFBS from their members' sites under that block.
        """
        s = self.s
        if s.split_merge_every == 0 or self.iteration % s.split_merge_every or self.n_neur < 2:
            return
        p1 = self.p1
        a, kap, om, site_j, site_h = self.neuron_sites()
        for _ in range(s.split_merge_moves):
            idx = np.arange(self.K)[:, None] * p1 + np.arange(p1)[None]
            blocks = (
                self.A[:, idx[:, :, None], idx[:, None, :]].transpose(1, 0, 2, 3),
                self.b[:, idx].transpose(1, 0, 2),
                self.Q[:, idx[:, :, None], idx[:, None, :]].transpose(1, 0, 2, 3),
            )
            kind, accepted, z_new, detail = split_merge_move(
                self.rng, self.z, site_j, site_h, blocks, self.states, self.log_v, s.mfm_gamma, self.t_max
            )
            if not accepted:
                continue
            k_i = detail[0]
            parent = tuple(blk[k_i] for blk in blocks)
            if kind == "split":
                self._add_cluster(np.zeros((p1, self.n_time)))
                new = slice((self.K - 1) * p1, self.K * p1)
                self.A[:, new, new], self.b[:, new], self.Q[:, new, new] = parent
                self.z = z_new
                self._draw_cluster_latent(self.K - 1, parent, a, kap, om)
            else:
                self.z[self.z == detail[1]] = k_i
                self._remove_cluster(detail[1])
                k_i -= int(detail[1] < k_i)
            self._draw_cluster_latent(k_i, parent, a, kap, om)

    def _draw_cluster_latent(self, k, block, a, kap, om):
        """FFBS of cluster ``k``'s latent from its members' sites under ``block``."""
        mask = self.z == k
        self.x[k] = ffbs_latent(self.rng, kap[mask], om[mask], a[mask], *block, self.states).T

    def sweep(self):
        self.iteration += 1
        self.step_dispersion()
        self.step_latent()
        self.apply_constraints()
        self.step_frame()
        self.step_states()
        self.step_assignments()
        self.step_split_merge()

    def log_likelihood(self):
        return float(nb_loglik_rows(self.y, self.log_rate(), self.r).sum())


def _first_seen_order(z):
    _, first = np.unique(z, return_index=True)
    return np.unique(z)[np.argsort(first)]


def _relabel_first_seen(z):
    order = _first_seen_order(z)
    lut = np.empty(order.max() + 1, dtype=np.int64)
    lut[order] = np.arange(order.size)
    return lut[z]
