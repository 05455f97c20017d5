"""Benchmark of the bi-clustering sampler, side by side with reference libraries.

Prints, from one run:
  1. sampler sweeps per second and peak memory on a 50-neuron x 2,000-bin simulated problem
     (5 clusters x 10 neurons; the issue's size);
  2. on the paper's simulation (3 clusters x 10 neurons, T = 500, 2 states, NB r = 10),
     over several seeds: our sampler (K and the number of states NOT given) vs scikit-learn
     agglomerative clustering of count correlations (true K given) for the neuron clusters
     and vs hmmlearn's PoissonHMM on the counts (true number of states given) for the
     states: adjusted Rand index, time, peak memory; and (2b) the state ARI of the exact
     state posterior with all parameters fixed at the truth, an upper bound;
  3. the continuous block (delta_i, c_i | latents): our Polya-Gamma Gibbs block vs PyMC's
     NUTS on the same negative-binomial regression: effective samples per second (arviz)
     and posterior means, as ratios.

The authors' reference code (github weigcdsb/bi_clustering) cannot be run here: it has no
licence, and depends on a bundled GPL copy of pyhsmm-autoregressive (Cython, 2016) and
pyhmc; it is therefore not part of this comparison.

Usage: python bench/bench_bicluster.py [--sweeps N] [--accuracy-sweeps N] [--seeds N]
(hmmlearn and pymc are optional)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_homogenize import measure  # noqa: E402  (timed run + tracemalloc peak, shared)


def speed(n_sweeps):
    from neuroflow.bicluster.sampler import SamplerSettings, run_chain
    from neuroflow.bicluster.simulate import simulate_bicluster

    ds = simulate_bicluster(n_clusters=5, neurons_per_cluster=10, n_time=2000, random_state=0)
    st = SamplerSettings(n_iter=n_sweeps, burn_in=0, state_warmup=2)
    _, dt, peak = measure(lambda: run_chain(ds["counts"].values, st, random_state=0))
    print(f"[1] 50 neurons x 2000 bins: {n_sweeps / dt:.2f} sweeps/s "
          f"({dt / n_sweeps:.2f} s per sweep), peak memory {peak:.0f} MiB")


def accuracy(n_sweeps, seeds):
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.ndimage import gaussian_filter1d
    from scipy.spatial.distance import squareform
    from sklearn.metrics import adjusted_rand_score as ari

    from neuroflow.bicluster.sampler import SamplerSettings, run_chain
    from neuroflow.bicluster.simulate import simulate_bicluster
    from neuroflow.bicluster.summarize import point_estimate

    try:
        from hmmlearn.hmm import PoissonHMM
    except ImportError:
        PoissonHMM = None
    st = SamplerSettings(n_iter=n_sweeps, burn_in=n_sweeps // 2, state_warmup=20)
    print(f"[2] paper simulation 30 x 500, {n_sweeps} sweeps, one chain per seed; ours: K and "
          "the number of states NOT given | average linkage (K = 3 given) | hmmlearn "
          "PoissonHMM (2 states given)")
    rows = []
    for seed in seeds:
        ds = simulate_bicluster(random_state=seed)
        y = ds["counts"].values
        tz, ts = ds["true_cluster"].values, ds["true_state"].values

        def ours():
            out = run_chain(y, st, random_state=seed)
            return point_estimate(out["z"])[0], point_estimate(out["state"], loss="pear")[0]

        (z_hat, s_hat), t_ours, m_ours = measure(ours)

        def agglo():
            sm = np.log1p(gaussian_filter1d(y.astype(float), 10, axis=1))
            tree = linkage(squareform(np.clip(1 - np.corrcoef(sm), 0, 2), checks=False),
                           "average")
            return fcluster(tree, t=3, criterion="maxclust")

        z_ref, t_ref, _ = measure(agglo)
        if PoissonHMM is not None:
            def hmm():
                model = PoissonHMM(n_components=2, n_iter=100, random_state=0)
                model.fit(y.T)
                return model.predict(y.T)

            s_ref, t_hmm, _ = measure(hmm)
            s_txt = f"{ari(ts, s_ref):.3f}"
        else:
            s_ref, t_hmm, s_txt = None, np.nan, "n/a (pip install hmmlearn)"
        rows.append((ari(tz, z_hat), ari(ts, s_hat), ari(tz, z_ref),
                     ari(ts, s_ref) if s_ref is not None else np.nan))
        print(f"    seed {seed}: neuron ARI ours {rows[-1][0]:.3f} (K = {z_hat.max() + 1}) | "
              f"linkage {rows[-1][2]:.3f}; state ARI ours {rows[-1][1]:.3f} "
              f"({s_hat.max() + 1} states) | PoissonHMM {s_txt}; time ours {t_ours:.0f} s, "
              f"{m_ours:.0f} MiB | linkage {t_ref:.2f} s | PoissonHMM {t_hmm:.2f} s")
    mean = np.nanmean(np.array(rows), axis=0)
    print(f"    mean over seeds: neuron ARI ours {mean[0]:.3f} | linkage {mean[2]:.3f}; state "
          f"ARI ours {mean[1]:.3f} | PoissonHMM {mean[3]:.3f}  (issue target: >= 0.9 each)")


def oracle_states(seeds, n_sweeps=60):
    """State ARI of the exact state posterior with every parameter fixed at the truth.

    Loadings, baselines, clusters and dispersion are the simulation's; the dynamics of the
    two states are least-squares fits to the true latents within the true states; only
    latents (FFBS) and states (collapsed single-site Gibbs) are sampled, starting at the
    truth. An upper bound for what any sampler of the model can reach on these data.
    """
    from sklearn.metrics import adjusted_rand_score as ari

    from neuroflow.bicluster import sampler as S
    from neuroflow.bicluster.simulate import simulate_bicluster
    from neuroflow.bicluster.summarize import point_estimate

    scores = []
    for seed in seeds:
        ds = simulate_bicluster(random_state=seed)
        y = ds["counts"].values.astype(float)
        ts = ds["true_state"].values
        lat = ds["true_latent"].values
        xs = lat.transpose(2, 0, 1).reshape(ts.size, -1)
        d = xs.shape[1]
        A, b, Q = np.zeros((2, d, d)), np.zeros((2, d)), np.zeros((2, d, d))
        for s in range(2):
            sel = ts[1:] == s
            X = np.hstack([xs[:-1][sel], np.ones((sel.sum(), 1))])
            W = np.linalg.lstsq(X, xs[1:][sel], rcond=None)[0].T
            res = xs[1:][sel] - X @ W.T
            A[s], b[s], Q[s] = W[:, :d], W[:, d], res.T @ res / sel.sum()
        trans = np.array([[0.98, 0.02], [0.02, 0.98]])
        z = ds["true_cluster"].values
        C, delta, r = ds["true_loading"].values, ds["true_delta"].values, 10.0
        loading = np.zeros((z.size, d))
        p1 = lat.shape[1]
        for i, k in enumerate(z):
            loading[i, k * p1:(k + 1) * p1] = np.concatenate([[1.0], C[i]])
        rng = np.random.default_rng(seed)
        states, draws = ts.copy(), []
        for it in range(n_sweeps):
            psi = delta[:, None] + (loading @ xs.T)
            omega = S._pg(rng, y + r, psi - np.log(r))
            kap = (y - r) / 2 + omega * (np.log(r) - delta[:, None])
            j_obs = (omega.T[:, :, None] * loading[None]).transpose(0, 2, 1) @ loading
            states = S.sample_states_collapsed(rng, j_obs, kap.T @ loading, A, b, Q, states,
                                               trans)
            xs = S.ffbs_latent(rng, kap, omega, loading, A, b, Q, states)
            if it >= n_sweeps // 2:
                draws.append(states.copy())
        scores.append(ari(ts, point_estimate(np.array(draws), loss="pear")[0]))
    print("[2b] same seeds, all parameters fixed at the truth (upper bound): state ARI "
          + ", ".join(f"{v:.3f}" for v in scores) + f"; mean {np.mean(scores):.3f}")


def continuous_block():
    import arviz as az

    from neuroflow.bicluster import sampler as S

    try:
        import pymc as pm
    except ImportError:
        print("[3] pymc not installed: continuous-block comparison skipped")
        return
    rng = np.random.default_rng(3)
    n_time, r = 500, 8.0
    X = rng.standard_normal((1, 3, n_time)) * 0.4
    X[0, 0] = 0.0
    lam = np.exp(0.7 + np.array([0.5, -0.4]) @ X[0, 1:])
    y = rng.negative_binomial(r, r / (r + lam))[None].astype(float)

    def ours():
        delta, C = np.zeros(1), np.zeros((1, 2))
        out = []
        for it in range(2000):
            delta, C = S.sample_delta_loading(rng, y, np.full((1, 1), r), np.zeros(1, int), X,
                                              delta, C, 1.0, 1.0)
            if it >= 500:
                out.append([delta[0], *C[0]])
        return np.array(out)

    draws, t_ours, m_ours = measure(ours)

    def ref():
        with pm.Model():
            beta = pm.Normal("beta", 0.0, 1.0, shape=3)
            mu = pm.math.exp(beta[0] + pm.math.dot(beta[1:], X[0, 1:]))
            pm.NegativeBinomial("y", mu=mu, alpha=r, observed=y[0])
            tr = pm.sample(draws=1500, tune=500, chains=1, random_seed=3, progressbar=False,
                           compute_convergence_checks=False)
        return tr.posterior["beta"].values[0]

    ref_draws, t_ref, m_ref = measure(ref)
    ess_ours = min(float(az.ess(draws[None, :, j])) for j in range(3))
    ess_ref = min(float(az.ess(ref_draws[None, :, j])) for j in range(3))
    print("[3] (delta, c) | latents, 500 bins, 1500 kept draws each (PyMC includes compilation)")
    print(f"    ours: {ess_ours / t_ours:.0f} min-ESS/s, {m_ours:.1f} MiB | PyMC NUTS: "
          f"{ess_ref / t_ref:.0f} min-ESS/s, {m_ref:.1f} MiB | ratio "
          f"{(ess_ours / t_ours) / (ess_ref / t_ref):.1f}x")
    print(f"    posterior means ours {np.round(draws.mean(0), 3)} vs PyMC "
          f"{np.round(ref_draws.mean(0), 3)}; max |diff| "
          f"{np.abs(draws.mean(0) - ref_draws.mean(0)).max():.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps", type=int, default=10, help="sweeps for the speed test")
    ap.add_argument("--accuracy-sweeps", type=int, default=150)
    ap.add_argument("--seeds", type=int, default=4, help="simulation seeds 0..n-1")
    args = ap.parse_args()
    speed(args.sweeps)
    accuracy(args.accuracy_sweeps, range(args.seeds))
    oracle_states(range(args.seeds))
    continuous_block()


if __name__ == "__main__":
    main()
