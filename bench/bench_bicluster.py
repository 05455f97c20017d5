"""Benchmark of the bi-clustering sampler, side by side with reference libraries.

Prints, from one run:
  1. sampler sweeps per second and peak memory on a 50-neuron x 2,000-bin simulated problem
     (5 clusters x 10 neurons; the issue's size) and on the paper's 30 x 500;
  2. on the paper's simulation (3 clusters x 10 neurons, T = 500, 2 states, NB r = 10),
     per seed, 2 chains with the default settings (K and the number of states NOT given):
     adjusted Rand index of the neuron and state point estimates vs truth; two references
     for the states: an oracle state ARI (the state posterior with every other parameter
     fixed at the truth: not a bound -- the sampler exceeds it on some seeds) and the
     full sampler started at the truth ("from truth": where the posterior itself lies);
     the largest arviz R-hat of the label-invariant continuous parameters and, apart,
     of the summaries of the discrete state; sweeps and time; baselines: scipy average
     linkage of count correlations (true K given) and hmmlearn's PoissonHMM on the counts
     (true number of states given); and the authors' published result on their own
     seed-0 simulation (state ARI 0.82, read from their notebook; see PUBLISHED);
  3. the continuous block (delta_i, c_i | latents): our Polya-Gamma Gibbs block vs PyMC's
     NUTS on the same negative-binomial regression: effective samples per second (arviz)
     and posterior means, as ratios.

The authors' reference code (github weigcdsb/bi_clustering) is not run here: it is not on
PyPI, has no licence, and stands on a bundled GPL copy of pyhsmm-autoregressive and on
pyhsmm 0.1.7 (2017), whose build downloads Eigen at set-up time and whose code imports
``scipy.misc.logsumexp`` (removed from SciPy in 1.3); tried on this machine, it does not
install.

Usage: python bench/bench_bicluster.py [--sweeps N] [--accuracy-sweeps N] [--seeds N]
       [--first-seed N] [--chains N] [--jobs N] [--burn-in FRACTION] [--thin N]
       [--save DIR] [--skip speed accuracy block] [--set KEY=VALUE ...]
The paper's run length on one seed, both chains in parallel:
       python bench/bench_bicluster.py --skip speed block --seeds 1 --accuracy-sweeps 10000 \
           --burn-in 0.25 --thin 5 --jobs 2
(hmmlearn and pymc are optional)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_homogenize import measure  # noqa: E402  (timed run + tracemalloc peak, shared)


def speed(n_sweeps):
    from neuroflow.bicluster.sampler import SamplerSettings, run_chain
    from neuroflow.bicluster.simulate import simulate_bicluster

    # compile (or load from numba's cache) every kernel before timing
    small = simulate_bicluster(n_clusters=2, neurons_per_cluster=3, n_time=40, random_state=0)
    run_chain(small["counts"].values, SamplerSettings(n_iter=4, burn_in=0, state_warmup=1))
    for label, size, sweeps in (("50 neurons x 2000 bins", (5, 10, 2000), n_sweeps),
                                ("30 neurons x 500 bins (paper)", (3, 10, 500), 6 * n_sweeps)):
        ds = simulate_bicluster(n_clusters=size[0], neurons_per_cluster=size[1],
                                n_time=size[2], random_state=0)
        st = SamplerSettings(n_iter=sweeps, burn_in=0, state_warmup=2)
        _, dt, peak = measure(lambda: run_chain(ds["counts"].values, st, random_state=0))
        print(f"[1] {label}: {sweeps / dt:.2f} sweeps/s ({dt / sweeps:.3f} s per sweep), "
              f"peak memory {peak:.0f} MiB")


# The authors' own result on their simulation (github weigcdsb/bi_clustering,
# sim_NB_results.ipynb, seed 0, 10,000 sweeps, 2,500 burn-in): the notebook prints 477
# differing bins between the maxPEAR state estimate with labels swapped and the truth, i.e.
# 23 of 500 bins differ; read off the notebook's two state-ribbon figures, the contingency
# table is [[234, 20], [3, 243]] (the white-noise state absorbs onsets and ends of rotation
# episodes), adjusted Rand index 0.82.
PUBLISHED = {"state_ari": 0.82, "sweeps": 10000,
             "note": "23 of 500 bins differ, white state absorbs episode edges; read from the "
                     "notebook sim_NB_results.ipynb"}

PARAMETERS = ("delta", "log_dispersion", "rate_sd")      # continuous model parameters
SUMMARIES = ("top_state_fraction", "log_lik")            # functions of the whole state


def rhat_table(outs):
    """arviz R-hat of the label-invariant continuous quantities over chains (as the merge rule).

    Returns ``(max R-hat, worst quantity)`` twice: over the continuous parameters (baseline
    delta, log dispersion, sd over time of the log rate, per neuron: what the issue's
    "R-hat of the continuous parameters" means), and over the summaries of the discrete
    state (share of bins in the most occupied state, log-likelihood).
    """
    from neuroflow.bicluster.summarize import diagnostics_table

    cont = {"delta": np.stack([o["delta"] for o in outs]),
            "log_dispersion": np.log(np.stack([o["dispersion"] for o in outs])),
            "rate_sd": np.stack([o["rate_sd"] for o in outs]),
            "top_state_fraction": np.stack([o["top_state_fraction"] for o in outs]),
            "log_lik": np.stack([o["log_lik"] for o in outs])}
    tab = diagnostics_table(cont, [f"n{i}" for i in range(outs[0]["delta"].shape[1])])
    out = []
    for group in (PARAMETERS, SUMMARIES):
        sub = tab[tab["parameter"].isin(group)]
        worst = sub.loc[sub["r_hat"].idxmax()]
        name = worst["parameter"] + (f"[{worst['neuron']}]" if worst["neuron"] != "n/a" else "")
        out += [float(worst["r_hat"]), name]
    return tuple(out)


def _one_chain(y, st, seed, chain):
    from neuroflow.bicluster.pipeline import chain_seed
    from neuroflow.bicluster.sampler import run_chain

    return run_chain(y, st, random_state=chain_seed(seed, chain))


def accuracy(n_sweeps, seeds, n_chains=2, oracle_sweeps=60, overrides=None, jobs=1,
             burn_in_frac=0.5, thin=1, save=None, truth_sweeps=200):
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.ndimage import gaussian_filter1d
    from scipy.spatial.distance import squareform
    from sklearn.metrics import adjusted_rand_score as ari

    from neuroflow.bicluster.sampler import SamplerSettings
    from neuroflow.bicluster.simulate import simulate_bicluster
    from neuroflow.bicluster.summarize import point_estimate

    try:
        from hmmlearn.hmm import PoissonHMM
    except ImportError:
        PoissonHMM = None
    st = SamplerSettings(n_iter=n_sweeps, burn_in=int(n_sweeps * burn_in_frac), thin=thin,
                         **(overrides or {}))
    if overrides:
        print(f"    sampler settings changed from the defaults: {overrides}")
    print(f"[2] paper simulation 30 x 500, {n_chains} chains x {n_sweeps} sweeps per seed "
          f"(burn-in {st.burn_in}, thin {thin}); ours: K and the number of states NOT given, point "
          "estimates over the pooled chains (Binder for neurons, maxPEAR for states); oracle: "
          "state posterior with every other parameter at the truth (an HMM with 0.98 "
          f"self-transitions, {oracle_sweeps} sweeps; a reference, not a bound); from truth: "
          f"the full sampler started at the true parameters, {truth_sweeps} sweeps; "
          "R-hat: max over the label-invariant continuous parameters (delta, log r, sd of the "
          "log rate) and over the state summaries (top-state share, log-lik); baselines: "
          "average linkage (K = 3 given), "
          "hmmlearn PoissonHMM (2 states given)")
    print("    seed | neuron ARI (K) | state ARI (states) | oracle | from truth (neurons / "
          "states) | max R-hat parameters (worst) | max R-hat state summaries (worst) | "
          "sweeps | time | linkage | PoissonHMM")
    rows = []
    for seed in seeds:
        ds = simulate_bicluster(random_state=seed)
        y = ds["counts"].values
        tz, ts = ds["true_cluster"].values, ds["true_state"].values

        def ours():
            if jobs > 1:
                from concurrent.futures import ProcessPoolExecutor

                with ProcessPoolExecutor(min(jobs, n_chains)) as pool:
                    outs = list(pool.map(_one_chain, [y] * n_chains, [st] * n_chains,
                                         [seed] * n_chains, range(n_chains)))
            else:
                outs = [_one_chain(y, st, seed, c) for c in range(n_chains)]
            z_all = np.concatenate([o["z"] for o in outs])
            s_all = np.concatenate([o["state"] for o in outs])
            return outs, point_estimate(z_all)[0], point_estimate(s_all, loss="pear")[0]

        t0 = time.perf_counter()           # timed once (measure() would run it twice)
        outs, z_hat, s_hat = ours()
        t_ours = time.perf_counter() - t0
        rhat, worst, rhat_s, worst_s = (rhat_table(outs) if n_chains > 1
                                        else (np.nan, "n/a", np.nan, "n/a"))
        oracle = oracle_state_ari(ds, seed, oracle_sweeps)
        z_truth, from_truth = truth_start_ari(ds, seed, st, truth_sweeps)

        def agglo():
            sm = np.log1p(gaussian_filter1d(y.astype(float), 10, axis=1))
            tree = linkage(squareform(np.clip(1 - np.corrcoef(sm), 0, 2), checks=False),
                           "average")
            return fcluster(tree, t=3, criterion="maxclust")

        z_ref = agglo()
        if PoissonHMM is not None:
            model = PoissonHMM(n_components=2, n_iter=100, random_state=0)
            model.fit(y.T)
            s_ref = ari(ts, model.predict(y.T))
        else:
            s_ref = np.nan
        if save:
            import pickle

            Path(save).mkdir(parents=True, exist_ok=True)
            with open(Path(save) / f"seed{seed}_{n_chains}x{n_sweeps}.pkl", "wb") as fh:
                pickle.dump({"outs": outs, "settings": st.as_dict()}, fh)
        rows.append((ari(tz, z_hat), ari(ts, s_hat), oracle, z_truth, from_truth, rhat, rhat_s,
                     ari(tz, z_ref), s_ref))
        print(f"    {seed:4d} | {rows[-1][0]:.3f} ({z_hat.max() + 1}) | {rows[-1][1]:.3f} "
              f"({s_hat.max() + 1}) | {oracle:.3f} | {z_truth:.3f} / {from_truth:.3f} | "
              f"{rhat:.3f} ({worst}) | "
              f"{rhat_s:.3f} ({worst_s}) | {n_chains} x {n_sweeps} | {t_ours:.0f} s | "
              f"{rows[-1][7]:.3f} | {s_ref:.3f}", flush=True)
    mean = np.nanmean(np.array(rows), axis=0)
    print(f"    mean | {mean[0]:.3f} | {mean[1]:.3f} | {mean[2]:.3f} | {mean[3]:.3f} / "
          f"{mean[4]:.3f} | {mean[5]:.3f} | {mean[6]:.3f} | | | {mean[7]:.3f} | {mean[8]:.3f}   "
          "(issue: ARIs >= 0.9 each, R-hat < 1.05 for the continuous parameters)")
    print(f"    published (authors' code, their seed-0 simulation, {PUBLISHED['sweeps']} sweeps):"
          f" state ARI {PUBLISHED['state_ari']:.2f} ({PUBLISHED['note']})")


def oracle_state_ari(ds, seed, n_sweeps=60):
    """State ARI of the exact state posterior with every parameter fixed at the truth.

    Loadings, baselines, clusters and dispersion are the simulation's; the dynamics of the
    two states are least-squares fits to the true latents within the true states; only
    latents (FFBS) and states (collapsed single-site Gibbs, alternating directions) are
    sampled, starting at the truth; maxPEAR point estimate of the second half. A reference
    for how much the data say about the states, not a bound: the true process is
    semi-Markov, the transition matrix here is a guess, and the chains are short (the
    sampler beats it on seeds 2 and 3).
    """
    from sklearn.metrics import adjusted_rand_score as ari

    from neuroflow.bicluster import sampler as S
    from neuroflow.bicluster.simulate import fitted_true_dynamics
    from neuroflow.bicluster.summarize import point_estimate

    y = ds["counts"].values.astype(float)
    ts = ds["true_state"].values
    xs, A, b, Q = fitted_true_dynamics(ds)
    d = xs.shape[1]
    p1 = ds["true_latent"].shape[1]
    trans = np.array([[0.98, 0.02], [0.02, 0.98]])
    z = ds["true_cluster"].values
    C, delta, r = ds["true_loading"].values, ds["true_delta"].values, 10.0
    loading = np.zeros((z.size, d))
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
                                           trans, reverse=it % 2 == 1)
        xs = S.ffbs_latent(rng, kap, omega, loading, A, b, Q, states)
        if it >= n_sweeps // 2:
            draws.append(states.copy())
    return ari(ts, point_estimate(np.array(draws), loss="pear")[0])


def truth_start_ari(ds, seed, settings, n_sweeps=200):
    """State ARI of the full sampler started at the truth (a posterior check, not mixing).

    Every block of the sampler runs with its priors, as in the chains above; only the start
    differs: true labels, baselines, loadings, dispersion, latents and states, and the
    least-squares dynamics of the true states. Returns the neuron ARI (Binder) and the state
    ARI (maxPEAR) of the second half. If these fall well below 1, towards what the chains
    from the default start reach, the posterior itself (not a failure to find it) sets them.
    """
    from sklearn.metrics import adjusted_rand_score as ari

    from neuroflow.bicluster import sampler as S
    from neuroflow.bicluster.simulate import fitted_true_dynamics
    from neuroflow.bicluster.summarize import point_estimate

    ts = ds["true_state"].values
    st = S.SamplerSettings(**{**settings.as_dict(), "n_iter": n_sweeps, "burn_in": 0})
    ch = S._Chain(S._check_counts(ds["counts"].values), st, np.random.default_rng([seed, 99]),
                  init_labels=ds["true_cluster"].values)
    _, A, b, Q = fitted_true_dynamics(ds)
    ch.start_at(ds["true_delta"].values, ds["true_loading"].values, ds["true_latent"].values,
                ts, A, b, Q + 1e-6 * np.eye(A.shape[1]),
                r=np.full(ds["counts"].shape[0], ds.attrs["true_dispersion"]))
    draws, labels = [], []
    for it in range(n_sweeps):
        ch.sweep()
        if it >= n_sweeps // 2:
            draws.append(ch.states.copy())
            labels.append(ch.z.copy())
    return (ari(ds["true_cluster"].values, point_estimate(np.array(labels))[0]),
            ari(ts, point_estimate(np.array(draws), loss="pear")[0]))


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
    ap.add_argument("--accuracy-sweeps", type=int, default=200)
    ap.add_argument("--chains", type=int, default=2, help="chains per seed (R-hat needs 2)")
    ap.add_argument("--seeds", type=int, default=3, help="number of simulation seeds")
    ap.add_argument("--first-seed", type=int, default=0, help="first simulation seed")
    ap.add_argument("--skip", nargs="*", default=[], choices=["speed", "accuracy", "block"])
    ap.add_argument("--jobs", type=int, default=1, help="chains run in parallel processes")
    ap.add_argument("--burn-in", type=float, default=0.5,
                    help="burn-in as a fraction of the sweeps (the paper: 0.25)")
    ap.add_argument("--thin", type=int, default=1, help="keep every n-th sweep after burn-in")
    ap.add_argument("--save", metavar="DIR", help="pickle each seed's chain outputs here")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="override sampler settings in [2] (values parsed as YAML)")
    args = ap.parse_args()
    import yaml

    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    if "speed" not in args.skip:
        speed(args.sweeps)
    if "accuracy" not in args.skip:
        accuracy(args.accuracy_sweeps, range(args.first_seed, args.first_seed + args.seeds),
                 args.chains, overrides=overrides, jobs=args.jobs, burn_in_frac=args.burn_in,
                 thin=args.thin, save=args.save)
    if "block" not in args.skip:
        continuous_block()


if __name__ == "__main__":
    main()
