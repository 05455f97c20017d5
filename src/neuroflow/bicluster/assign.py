"""Neuron reassignment: Neal's algorithm 8 (one auxiliary component) with MFM weights and
Laplace-approximated marginal likelihoods, as a part of the chain (:class:`Assignments` is
mixed into :class:`neuroflow.bicluster.chain.Chain`)."""

from __future__ import annotations

import numpy as np

from . import _kernels as _K
from .neurons import aux_latent, laplace_log_marginal
from .numerics import _chol, _f, _sym


def update_marginal(mean, cov, a, kap, omega, sign):
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


class Assignments:
    """The reassignment step of a chain (needs the chain's state: ``z``, ``C``, ``delta``,
    ``r``, the PG sites of the sweep, the MFM coefficients ``log_v``)."""

    _update_marginal = staticmethod(update_marginal)

    def _site(self, i):
        """PG site of neuron i in current coordinates: loading a (p1,), kappa, omega (T,)."""
        a = np.concatenate([[1.0], self.C[i]])
        kap = self.site_kappa[i] - self.site_omega[i] * (self.delta[i] - self.site_delta[i])
        return a, kap, self.site_omega[i]

    def _candidate(self, mean, cov, k=None):
        """A candidate cluster's latent (p1, T) for the Laplace marginal of a neuron.

        ``candidate_latent = "mean"``: the smoothed (or leave-one-out) posterior mean
        ``mean`` (T, p1); ``"sample"``: a draw from its per-bin posterior marginals
        ``N(mean_t, cov_t)`` (Cholesky roots; an eigen-root clipped at 0 where a
        leave-one-out covariance is marginally indefinite). The roots of cluster ``k``'s
        marginals are kept until its membership changes.
        """
        if self.s.candidate_latent == "mean":
            return mean.T
        eps = self.rng.standard_normal(mean.shape)
        if k is None:
            roots = _K.marginal_roots(_f(cov))
        else:
            if self._roots[k] is None:
                self._roots[k] = _K.marginal_roots(_f(cov))
            roots = self._roots[k]
        out = np.empty(mean.shape[::-1])
        _K.apply_roots(_f(mean), roots, eps, out)
        return out

    def step_assignments(self):
        """Neal's algorithm 8 (m = 1) with MFM weights and Laplace marginals.

        Candidate clusters are represented by latents drawn from their smoothed marginals;
        the neuron's own cluster by its leave-one-out (cavity) marginals, i.e. with the
        neuron's PG site removed, so that a cluster's latent does not win merely because it
        was fitted to the neuron.
        """
        s = self.s
        spline = s.spline_every > 0 and self.iteration % s.spline_every == 1
        mean, cov_all = self.cluster_marginals()
        self.marg_mean, self.marg_cov = mean[: self.K], cov_all[: self.K]
        loo_mean, loo_cov = mean[self.K :], cov_all[self.K :]
        self._dirty = np.zeros(self.K, dtype=bool)  # membership changed since the smoother
        self._roots = [None] * self.K  # square roots of marg_cov, per cluster
        for i in self.rng.permutation(self.n_neur):
            self._reassign(i, loo_mean[i], loo_cov[i], spline)

    def _reassign(self, i, loo_mean, loo_cov, spline):
        """Draw neuron ``i``'s cluster (existing ones or a new one) and move it there."""
        s = self.s
        g = s.mfm_gamma
        zi = self.z[i]
        a_i, kap_i, om_i = self._site(i)
        counts = np.bincount(self.z, minlength=self.K)
        counts[zi] -= 1
        singleton = counts[zi] == 0
        if not self._dirty[zi]:
            # membership unchanged since the smoother ran: exact leave-one-out marginals
            cavity = (loo_mean, loo_cov)
        else:
            cavity = update_marginal(self.marg_mean[zi], self.marg_cov[zi], a_i, kap_i, om_i, -1.0)
        existing = np.flatnonzero(counts > 0)
        n_exist = existing.size
        if singleton:
            aux, aux_cov = cavity[0].T.copy(), cavity[1]
        else:
            aux = aux_latent(self.rng, self.p1, self.n_time, s.aux_ar_coef, s.aux_ar_var, spline)
            aux_cov = np.repeat(s.new_cluster_q * np.eye(self.p1)[None], self.n_time, 0)
        can_open = n_exist < self.t_max
        cand = [
            self._candidate(*cavity) if k == zi else self._candidate(self.marg_mean[k], self.marg_cov[k], k)
            for k in existing
        ]
        lat = np.stack(cand + ([aux] if can_open else []))  # (M, p1, T)
        logm, c_hat, cov = laplace_log_marginal(
            self.y[i], self.delta[i] + lat[:, 0], lat[:, 1:], self.r[i], s.loading_prior_sd
        )
        logp = np.log(counts[existing] + g) + logm[:n_exist]
        if can_open:
            new = self.log_v[n_exist + 1] - self.log_v[n_exist] + np.log(g) + logm[-1]
            logp = np.append(logp, new)
        prob = np.exp(logp - logp.max())
        prob /= prob.sum()
        choice = int(self.rng.choice(prob.size, p=prob))
        opened = choice == n_exist
        target = zi if (opened and singleton) else (self.K if opened else int(existing[choice]))
        if target == zi:
            return
        self.C[i] = c_hat[choice] + _chol(cov[choice]) @ self.rng.standard_normal(c_hat.shape[1])
        self._move(i, target, cavity, (aux, aux_cov) if opened else None, singleton, (kap_i, om_i))

    def _move(self, i, target, cavity, opened, singleton, site):
        """Move neuron ``i`` (new loading already drawn) from its cluster to ``target``
        (``opened``: the new cluster's latent and marginal covariances), updating the
        clusters' marginals by the neuron's site."""
        zi = self.z[i]
        kap_i, om_i = site
        a_new = np.concatenate([[1.0], self.C[i]])
        self.marg_mean[zi], self.marg_cov[zi] = cavity
        self._dirty[zi] = True
        self._roots[zi] = None
        if opened is not None:
            aux, aux_cov = opened
            self._add_cluster(aux)
            mean, cov_t = update_marginal(aux.T, aux_cov, a_new, kap_i, om_i, 1.0)
            self.marg_mean = np.concatenate([self.marg_mean, mean[None]])
            self.marg_cov = np.concatenate([self.marg_cov, cov_t[None]])
            self._dirty = np.append(self._dirty, True)
            self._roots.append(None)
        else:
            self.marg_mean[target], self.marg_cov[target] = update_marginal(
                self.marg_mean[target], self.marg_cov[target], a_new, kap_i, om_i, 1.0
            )
            self._dirty[target] = True
            self._roots[target] = None
        self.z[i] = target
        if singleton:
            self._remove_cluster(zi)
            self.marg_mean = np.delete(self.marg_mean, zi, axis=0)
            self.marg_cov = np.delete(self.marg_cov, zi, axis=0)
            self._dirty = np.delete(self._dirty, zi)
            del self._roots[zi]
