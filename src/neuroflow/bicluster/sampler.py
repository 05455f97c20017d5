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

One sweep (:class:`~neuroflow.bicluster.chain.Chain`): Polya-Gamma augmentation of the
count likelihood, single-site Gibbs updates of the states with the latents integrated
out (Gerlach, Carter & Kohn 2000), forward-filtering backward-sampling (FFBS) of the
latents, FFBS of the states given the latents and conjugate MNIW dynamics, weak-limit
sticky-HDP transition updates with auxiliary table counts, PG-augmented Bayesian
regression for ``(delta_i, c_i)``, CRT augmentation for ``r_i``, the identifiability
constraints (centre, SVD rotation), and neuron reassignment by Neal's algorithm 8 (one
auxiliary component) with MFM weights and Laplace-approximated marginal likelihoods.
Randomness flows through one ``numpy.random.Generator``.

The blocks live in :mod:`.numerics`, :mod:`.latent`, :mod:`.states`, :mod:`.dynamics`,
:mod:`.neurons`, :mod:`.assign`, :mod:`.splitmerge` and :mod:`.chain` (compiled loops in
:mod:`._kernels`, :mod:`._linalg`); this module runs a chain and re-exports them.
"""

from __future__ import annotations

import numpy as np

from neuroflow.progress import Progress

from .assign import update_marginal
from .chain import Chain, _first_seen_order, _relabel_first_seen
from .dynamics import (
    change_frame,
    frame_proposal,
    mniw_log_prior,
    sample_dynamics,
    sample_dynamics_collapsed,
)
from .latent import backward_information, batched_smoother, ffbs_latent, kalman_loglik
from .neurons import (
    aux_latent,
    init_neuron_labels,
    laplace_log_marginal,
    sample_delta_loading,
    sample_dispersion,
    sample_dispersion_mh,
)
from .numerics import LOG2PI, _chol, _inv_pd, _invwishart, _pg, crt, log_v_mfm, nb_loglik
from .settings import SamplerSettings, schema_defaults
from .splitmerge import split_merge_move
from .states import (
    ffbs_states,
    init_state_sequence,
    sample_states_collapsed,
    sample_transitions,
    transition_loglik,
)

_Chain = Chain

__all__ = [
    "LOG2PI",
    "Chain",
    "SamplerSettings",
    "aux_latent",
    "backward_information",
    "batched_smoother",
    "change_frame",
    "crt",
    "ffbs_latent",
    "ffbs_states",
    "frame_proposal",
    "init_neuron_labels",
    "init_state_sequence",
    "kalman_loglik",
    "laplace_log_marginal",
    "log_v_mfm",
    "mniw_log_prior",
    "nb_loglik",
    "ChainRun",
    "run_chain",
    "sample_delta_loading",
    "sample_dispersion",
    "sample_dispersion_mh",
    "sample_dynamics",
    "sample_dynamics_collapsed",
    "sample_states_collapsed",
    "sample_transitions",
    "schema_defaults",
    "split_merge_move",
    "transition_loglik",
    "update_marginal",
    "_chol",
    "_inv_pd",
    "_invwishart",
    "_pg",
    "_first_seen_order",
    "_relabel_first_seen",
]

#: Per-draw outputs of :func:`run_chain`: name -> (dtype, per neuron / per bin / scalar).
_DRAWS = {
    "z": (np.int64, "neuron"),
    "state": (np.int64, "time"),
    "delta": (float, "neuron"),
    "dispersion": (float, "neuron"),
    "loading_norm": (float, "neuron"),
    "rate_sd": (float, "neuron"),
    "top_state_fraction": (float, None),
    "n_clusters": (np.int64, None),
    "n_states": (np.int64, None),
    "log_lik": (float, None),
}


def run_chain(
    counts,
    settings: SamplerSettings,
    random_state=None,
    progress=None,
    init_labels=None,
    label: str = "bi-clustering chain",
) -> dict:
    """Run one MCMC chain of the bi-clustering model.

    Parameters
    ----------
    counts : ndarray of int, shape (n_neurons, n_time)
        Spike counts per time bin.
    settings : SamplerSettings
    random_state : int, numpy Generator or SeedSequence, optional
    progress : callable, optional
        Called as ``progress(iteration, n_clusters, n_states, log_lik)`` every sweep.
    label : str
        Names the chain in the progress lines (sweeps done, rate and ETA, every 10 % of the
        sweeps or 30 s; :mod:`neuroflow.progress`).

    Returns
    -------
    dict
        ``trace_*`` arrays over all sweeps (``n_clusters``, ``n_states``, ``log_lik``) and
        kept draws after burn-in and thinning: ``z`` (draw, neuron), ``state`` (draw, time),
        ``delta``, ``dispersion``, ``loading_norm``, ``rate_sd`` (sd over time of the
        log rate; unlike ``loading_norm`` invariant to the latent/loading scale)
        (draw, neuron), ``n_clusters``, ``n_states``, ``log_lik``, ``top_state_fraction``
        (share of bins in the most occupied state) (draw,), ``latent`` (draw, slot, factor,
        time; NaN-padded to the largest number of clusters seen), and the posterior mean
        and sd of the log firing rate per bin ``log_rate_mean``, ``log_rate_sd``
        (neuron, time). A chain run on (:class:`ChainRun`) gives the same arrays as one
        run for the total number of sweeps.
    """
    run = ChainRun(counts, settings, random_state, init_labels, label)
    return run.run(settings.n_iter, progress).result()


class ChainRun:
    """One chain that can be run on: :meth:`run` adds sweeps, :meth:`result` returns the
    arrays of :func:`run_chain` over every sweep so far (burn-in and thinning of the
    settings counted from the first sweep, so a chain run for ``a`` then ``b`` sweeps
    holds the draws of one run for ``a + b``). Picklable: a worker process can run it on
    and send it back (:func:`neuroflow.bicluster.pipeline.run_chains`, run until
    converged)."""

    def __init__(self, counts, settings: SamplerSettings, random_state=None, init_labels=None, label=""):
        y = _check_counts(counts)
        settings.check()
        self.settings, self.label = settings, label or "bi-clustering chain"
        self.chain = Chain(y, settings, np.random.default_rng(random_state), init_labels)
        self.sweeps = 0
        self.draws = {k: [] for k in _DRAWS}
        self.traces = {"n_clusters": [], "n_states": [], "log_lik": []}
        self.latents = []
        self.rate_sum, self.rate_sq = np.zeros(y.shape), np.zeros(y.shape)

    def kept(self, it: int) -> bool:
        st = self.settings
        return it > st.burn_in and (it - st.burn_in) % st.thin == 0

    def run(self, n_sweeps: int, progress=None) -> ChainRun:
        """Run ``n_sweeps`` more sweeps (progress lines as :func:`run_chain`)."""
        ch = self.chain
        meter = Progress(n_sweeps, "sweep", self.label)
        for j in range(1, n_sweeps + 1):
            ch.sweep()
            it = self.sweeps = self.sweeps + 1
            ll = ch.log_likelihood()
            n_states = int(np.unique(ch.states).size)
            self.traces["n_clusters"].append(ch.K)
            self.traces["n_states"].append(n_states)
            self.traces["log_lik"].append(ll)
            meter.update(j, f"{ch.K} neuron clusters, {n_states} states, log-lik {ll:.1f}")
            if progress is not None:
                progress(it, ch.K, n_states, ll)
            if self.kept(it):
                psi = _record(self.draws, ch, ll, n_states)
                self.latents.append(ch.x[_first_seen_order(ch.z)].astype(np.float32))
                self.rate_sum += psi
                self.rate_sq += psi * psi
        return self

    def result(self) -> dict:
        """The arrays of :func:`run_chain` (at least one kept draw needed)."""
        if not self.latents:
            raise ValueError(f"no draw kept after {self.sweeps} sweeps (burn-in {self.settings.burn_in})")
        n_keep = len(self.latents)
        out = {k: np.asarray(v, dtype=_DRAWS[k][0]) for k, v in self.draws.items()}
        out.update(
            trace_n_clusters=np.asarray(self.traces["n_clusters"], dtype=np.int64),
            trace_n_states=np.asarray(self.traces["n_states"], dtype=np.int64),
            trace_log_lik=np.asarray(self.traces["log_lik"], dtype=float),
        )
        slots = max(lat.shape[0] for lat in self.latents)
        p1, n_time = self.latents[0].shape[1:]
        out["latent"] = np.full((n_keep, slots, p1, n_time), np.nan, dtype=np.float32)
        for j, lat in enumerate(self.latents):
            out["latent"][j, : lat.shape[0]] = lat
        out["log_rate_mean"] = self.rate_sum / n_keep
        out["log_rate_sd"] = np.sqrt(np.maximum(self.rate_sq / n_keep - out["log_rate_mean"] ** 2, 0))
        return out


def _record(draws, ch, ll, n_states):
    """Append the chain's current draw to the lists ``draws``; returns its log rates."""
    psi = ch.log_rate()
    draws["z"].append(_relabel_first_seen(ch.z))
    draws["state"].append(ch.states.copy())
    draws["delta"].append(ch.delta.copy())
    draws["dispersion"].append(ch.r.copy())
    draws["loading_norm"].append(np.linalg.norm(ch.C, axis=1))
    draws["rate_sd"].append(psi.std(axis=1))
    draws["top_state_fraction"].append(np.bincount(ch.states).max() / ch.n_time)
    draws["n_clusters"].append(ch.K)
    draws["n_states"].append(n_states)
    draws["log_lik"].append(ll)
    return psi


def _check_counts(counts) -> np.ndarray:
    y = np.asarray(counts)
    if y.ndim != 2:
        raise ValueError(f"counts must be 2-D (neuron, time), got shape {y.shape}")
    if y.shape[0] < 2 or y.shape[1] < 3:
        raise ValueError(f"counts need >= 2 neurons and >= 3 time bins, got shape {y.shape}")
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y != np.round(y)):
        raise ValueError("counts must be finite non-negative integers")
    return y.astype(float)
