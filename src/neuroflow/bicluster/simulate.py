"""Seeded generator of the bi-clustering model with the paper's simulation settings.

Wei (2023), simulation section (authors' ``run_simulation_NB.py``): N = 30 neurons in
3 clusters of 10, p = 2 factors, T = 500 bins, ``delta_i ~ N(0, 0.5^2)``, ``c_i ~ N(0,
0.5^2 I)``; the stacked 9-D latent follows a 2-state autoregressive hidden semi-Markov
model: state 0 ``A = 0.01 I`` (near white noise), state 1 ``A = blockdiag_k(1.01 R_k)``
with ``R_k`` a rotation by pi/20 about a random axis; noise ``0.01 I``; state durations
``1 + Poisson(lambda_s)`` with ``lambda_s ~ Gamma(100, rate 2)`` (mean 50 bins); 1,000
steps simulated and the first 500 discarded; the identifiability constraint (centring and
SVD rotation per cluster) applied; counts ``NB(r = 10)``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def _rotation3(rng, angle):
    """3-D rotation by ``angle`` about a random axis (random orthogonal basis)."""
    q, rr = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q @ np.diag(np.sign(np.diag(rr)))
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return q @ rot @ q.T


def _rotation(rng, dim, angle):
    if dim == 3:
        return _rotation3(rng, angle)
    q, rr = np.linalg.qr(rng.standard_normal((dim, dim)))
    q = q @ np.diag(np.sign(np.diag(rr)))
    rot = np.eye(dim)
    c, s = np.cos(angle), np.sin(angle)
    rot[:2, :2] = [[c, -s], [s, c]]
    return q @ rot @ q.T


def simulate_bicluster(
    n_clusters=3,
    neurons_per_cluster=10,
    n_time=500,
    n_factors=2,
    n_states=2,
    dispersion=10.0,
    delta_sd=0.5,
    loading_sd=0.5,
    noise_var=0.01,
    growth=1.01,
    angle=np.pi / 20,
    white_coef=0.01,
    duration_shape=100.0,
    duration_rate=2.0,
    n_discard=500,
    random_state=None,
):
    """Simulate spike counts with known neuron clusters, states and latent dynamics.

    Parameters
    ----------
    n_clusters, neurons_per_cluster : int
        Neuron clusters and their (equal) sizes.
    n_time : int
        Bins kept (after discarding ``n_discard`` initial bins).
    n_factors : int
        ``p``; each cluster's latent has ``p + 1`` rows (baseline + factors).
    n_states : int
        State 0: ``A = white_coef * I``; state s >= 1: ``A = blockdiag(growth * R_k)``
        with ``R_k`` rotations by ``s * angle`` about random axes.
    dispersion : float
        NB ``r`` (``float('inf')`` gives Poisson counts).
    random_state : int or Generator, optional

    Returns
    -------
    xarray.Dataset
        ``counts`` (neuron, time) and the ground truth ``true_cluster`` (neuron),
        ``true_state`` (time), ``true_latent`` (cluster, factor, time), ``true_delta``,
        ``true_loading`` (neuron, loading), ``true_log_rate`` (neuron, time); attrs say
        ``simulated = 1``.
    """
    if min(n_clusters, neurons_per_cluster, n_time, n_factors, n_states) < 1:
        raise ValueError("simulation sizes must all be >= 1")
    rng = np.random.default_rng(random_state)
    p1 = n_factors + 1
    d = n_clusters * p1
    n_neur = n_clusters * neurons_per_cluster
    z = np.repeat(np.arange(n_clusters), neurons_per_cluster)
    delta = rng.normal(0.0, delta_sd, n_neur)
    C = rng.normal(0.0, loading_sd, (n_neur, n_factors))
    A = _transitions(rng, n_states, n_clusters, p1, growth, angle, white_coef)
    total = n_time + n_discard
    states = _semi_markov(rng, n_states, total, duration_shape, duration_rate)
    x = np.zeros((total, d))
    noise = rng.standard_normal((total, d)) * np.sqrt(noise_var)
    for t in range(1, total):
        x[t] = A[states[t]] @ x[t - 1] + noise[t]
    x, states = x[n_discard:], states[n_discard:]
    latent = x.reshape(n_time, n_clusters, p1).transpose(1, 2, 0).copy()
    _constrain(latent, delta, C, z)
    xz = latent[z]
    log_rate = delta[:, None] + xz[:, 0] + np.einsum("np,npt->nt", C, xz[:, 1:])
    counts = _counts(rng, np.exp(log_rate), dispersion)
    truth = {
        "z": z,
        "states": states,
        "latent": latent,
        "delta": delta,
        "C": C,
        "log_rate": log_rate,
        "A": A,
        "dispersion": dispersion,
    }
    return _dataset(counts, truth)


def _transitions(rng, n_states, n_clusters, p1, growth, angle, white_coef):
    """Transition matrices A (n_states, d, d) of the stacked latent (d = n_clusters * p1):
    state 0 ``white_coef * I``, state s the block-diagonal ``growth * R`` of rotations by
    ``s * angle`` (one random axis per cluster and state, drawn in that order)."""
    d = n_clusters * p1
    A = np.zeros((n_states, d, d))
    A[0] = white_coef * np.eye(d)
    for s in range(1, n_states):
        for k in range(n_clusters):
            blk = slice(k * p1, (k + 1) * p1)
            A[s, blk, blk] = growth * _rotation(rng, p1, s * angle)
    return A


def _counts(rng, rate, dispersion):
    """Negative-binomial counts of mean ``rate`` and dispersion r (Poisson for r = inf)."""
    if np.isinf(dispersion):
        return rng.poisson(rate)
    return rng.negative_binomial(dispersion, dispersion / (dispersion + rate))


def _semi_markov(rng, n_states, total, duration_shape, duration_rate):
    """State sequence cycling to a different state after Poisson durations whose means are
    Gamma-distributed per state."""
    lam = rng.gamma(duration_shape, 1.0 / duration_rate, n_states)
    states = np.empty(total, dtype=np.int64)
    t, s = 0, int(rng.integers(n_states))
    while t < total:
        dur = 1 + int(rng.poisson(lam[s]))
        states[t : t + dur] = s
        t += dur
        if n_states > 1:
            s = int(rng.choice([k for k in range(n_states) if k != s]))
    return states


def _constrain(latent, delta, C, z):
    """Identifiability constraint, in place: centre each cluster's latent rows (mean into
    delta) and SVD-rotate its factors (loadings rotated along)."""
    for k in range(latent.shape[0]):
        members = z == k
        xbar = latent[k].mean(axis=1)
        latent[k] -= xbar[:, None]
        delta[members] += xbar[0] + C[members] @ xbar[1:]
        _, _, vt = np.linalg.svd(latent[k, 1:].T, full_matrices=False)
        latent[k, 1:] = vt @ latent[k, 1:]
        C[members] = C[members] @ vt.T


def _dataset(counts, truth):
    z, latent = truth["z"], truth["latent"]
    n_clusters, p1, n_time = latent.shape
    neurons = [f"sim{i:03d}" for i in range(z.size)]
    ds = xr.Dataset(
        {
            "counts": (
                ("neuron", "time"),
                counts.astype(np.int64),
                {"units": "spikes per bin", "long_name": "SIMULATED spike counts"},
            ),
            "true_cluster": ("neuron", z, {"long_name": "simulated neuron cluster"}),
            "true_state": ("time", truth["states"], {"long_name": "simulated discrete state"}),
            "true_latent": (
                ("cluster", "factor", "time"),
                latent,
                {"long_name": "simulated cluster latents (row 0 baseline)"},
            ),
            "true_delta": ("neuron", truth["delta"], {"units": "log(spikes per bin)"}),
            "true_loading": (("neuron", "loading"), truth["C"]),
            "true_log_rate": (("neuron", "time"), truth["log_rate"], {"units": "log(spikes per bin)"}),
            "region": ("neuron", np.array([f"simcluster{k}" for k in z])),
        },
        coords={
            "neuron": neurons,
            "time": np.arange(n_time, dtype=float),
            "cluster": np.arange(n_clusters),
            "factor": np.arange(p1),
            "loading": np.arange(p1 - 1),
        },
        attrs={
            "simulated": 1,
            "bin_width_s": 1.0,
            "time_units": "bin",
            "description": "SIMULATED spike counts from the Wei (2023) bi-clustering model",
            "true_dispersion": float(truth["dispersion"]),
            "true_transition_A": truth["A"].ravel().tolist(),
            "latent_dim": n_clusters * p1,
        },
    )
    ds["time"].attrs["units"] = "bin"
    return ds


def fitted_true_dynamics(ds):
    """Least-squares dynamics of a simulation's true latents within each true state.

    Returns the stacked true latents ``xs`` (T, d) and ``A`` (S, d, d), ``b`` (S, d) and the
    residual covariances ``Q`` (S, d, d) of ``x_t = A_s x_(t-1) + b_s + e_t`` over the bins
    of each state s (the simulation's own A_s after the identifiability rotation, as
    estimated from its one path). For starting a chain at the truth.
    """
    ts = ds["true_state"].values
    xs = ds["true_latent"].values.transpose(2, 0, 1).reshape(ts.size, -1)
    d = xs.shape[1]
    n_states = int(ts.max()) + 1
    A, b, Q = np.zeros((n_states, d, d)), np.zeros((n_states, d)), np.zeros((n_states, d, d))
    for s in range(n_states):
        sel = ts[1:] == s
        X = np.hstack([xs[:-1][sel], np.ones((sel.sum(), 1))])
        W = np.linalg.lstsq(X, xs[1:][sel], rcond=None)[0].T
        res = xs[1:][sel] - X @ W.T
        A[s], b[s], Q[s] = W[:, :d], W[:, d], res.T @ res / sel.sum()
    return xs, A, b, Q
